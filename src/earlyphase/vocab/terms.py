"""Controlled terminology besides CTCAE: attribution, responses, outcomes, enumerations, units.

Values are stored as written here (lower case words, or the usual abbreviations).
"""

from __future__ import annotations

# Attribution of an AE to the study product (the NCI 5-point scale).
ATTRIBUTIONS = ("unrelated", "unlikely", "possible", "probable", "definite")
# "Related" in safety tables means at least possibly related.
RELATED_ATTRIBUTIONS = frozenset({"possible", "probable", "definite"})


def is_related(attribution: str) -> bool:
    """True for possible / probable / definite."""
    return attribution.strip().lower() in RELATED_ATTRIBUTIONS


# Per-visit and best overall response (RECIST 1.1, Eisenhauer 2009; mRECIST, Lencioni & Llovet 2010).
RESPONSE_CATEGORIES = {
    "RECIST 1.1": ("CR", "PR", "SD", "PD", "NE"),
    "mRECIST": ("CR", "PR", "SD", "PD", "NE"),
}
RESPONSE_LABELS = {
    "CR": "complete response",
    "PR": "partial response",
    "SD": "stable disease",
    "PD": "progressive disease",
    "NE": "not evaluable",
}
RESPONSE_CRITERIA = tuple(RESPONSE_CATEGORIES)

AE_OUTCOMES = ("recovered", "recovering", "not recovered", "recovered with sequelae", "fatal", "unknown")
# Outcomes that mean the event has ended (a resolution date is expected).
AE_ENDED_OUTCOMES = frozenset({"recovered", "recovered with sequelae", "fatal"})
AE_ACTIONS = (
    "none", "infusion delayed", "infusion interrupted", "dose reduced", "infusion discontinued",
    "treatment discontinued", "not applicable",
)

SEXES = ("M", "F")
CHILD_PUGH_CLASSES = ("A", "B", "C")
# Child-Pugh score ranges of each class (Pugh 1973): A 5-6, B 7-9, C 10-15.
CHILD_PUGH_SCORES = {"A": range(5, 7), "B": range(7, 10), "C": range(10, 16)}
ECOG_GRADES = (0, 1, 2, 3, 4)  # 5 = dead is not a baseline status

MODALITIES = ("CT", "MRI", "PET-CT", "ultrasound", "X-ray")
LESION_KINDS = ("target", "non-target", "new")
NON_TARGET_STATUSES = ("present", "absent", "unequivocal progression")

THERAPY_KINDS = (
    "sorafenib", "lenvatinib", "regorafenib", "cabozantinib", "ramucirumab", "immunotherapy",
    "chemotherapy", "TACE", "TARE", "HAIC", "RFA", "microwave ablation", "resection", "radiotherapy",
    "SBRT", "other",
)

FOLLOW_UP_STATUSES = ("alive", "dead")
DEATH_CAUSES = ("disease progression", "adverse event", "other", "unknown")
DEVIATION_CATEGORIES = ("dose", "schedule", "eligibility", "assessment", "other")
PATIENT_STATUSES = ("enrolled", "withdrawn")

# Units the database stores (what a number means wherever it appears).
UNITS = {
    "dose_cells": "cells per infusion",
    "dose_cells_per_kg": "cells/kg per infusion",
    "afp_ng_ml": "ng/mL",
    "weight_kg": "kg",
    "viable_diameter_mm": "mm",
    "interval_days": "days",
    "dlt_window_days": "days",
}


def match_choice(value: object, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice equal to ``value`` ignoring case and surrounding spaces, or None."""
    if not isinstance(value, str):
        return None
    wanted = " ".join(value.split()).casefold()
    for c in choices:
        if c.casefold() == wanted:
            return c
    return None
