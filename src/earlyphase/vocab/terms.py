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


# Response criteria a study may choose: RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247), mRECIST
# (Lencioni & Llovet, Semin Liver Dis 2010;30:52-60) and iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-e152).
# RESPONSE_CATEGORIES: the per-visit responses an investigator may record under each.
RESPONSE_CATEGORIES = {
    "RECIST 1.1": ("CR", "PR", "SD", "PD", "NE"),
    "mRECIST": ("CR", "PR", "SD", "PD", "NE"),
    "iRECIST": ("iCR", "iPR", "iSD", "iUPD", "iCPD", "NE"),
}
# Best overall response categories of each, best first (the order of ADRS's AVAL).
BEST_RESPONSE_ORDER = {
    "RECIST 1.1": ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"),
    "mRECIST": ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"),
    "iRECIST": ("iCR", "iPR", "iSD", "NON-iCR/NON-iUPD", "iUPD", "iCPD", "NE"),
}
RESPONSE_LABELS = {
    "CR": "complete response",
    "PR": "partial response",
    "SD": "stable disease",
    "PD": "progressive disease",
    "NON-CR/NON-PD": "non-CR/non-PD (non-target disease only)",
    "NE": "not evaluable",
    "iCR": "complete response (iRECIST)",
    "iPR": "partial response (iRECIST)",
    "iSD": "stable disease (iRECIST)",
    "iUPD": "unconfirmed progressive disease (iRECIST)",
    "iCPD": "confirmed progressive disease (iRECIST)",
    "NON-iCR/NON-iUPD": "non-iCR/non-iUPD (non-target disease only)",
}
OBJECTIVE_RESPONSES = frozenset({"CR", "PR", "iCR", "iPR"})
DISEASE_CONTROL = OBJECTIVE_RESPONSES | {"SD", "NON-CR/NON-PD", "iSD", "NON-iCR/NON-iUPD"}
RESPONSE_CRITERIA = tuple(RESPONSE_CATEGORIES)

AE_OUTCOMES = ("recovered", "recovering", "not recovered", "recovered with sequelae", "fatal", "unknown")
# Outcomes that mean the event has ended (a resolution date is expected).
AE_ENDED_OUTCOMES = frozenset({"recovered", "recovered with sequelae", "fatal"})
# Action taken with the study product because of the event (any product and route).
AE_ACTIONS = (
    "none", "dose delayed", "dose interrupted", "dose reduced", "dose discontinued",
    "treatment discontinued", "not applicable",
)

SEXES = ("M", "F")
ECOG_GRADES = (0, 1, 2, 3, 4)  # 5 = dead is not a baseline status

MODALITIES = ("CT", "MRI", "PET-CT", "ultrasound", "X-ray")
LESION_KINDS = ("target", "non-target", "new")
# "increased": grown since the last assessment, short of unequivocal progression; recorded only under iRECIST,
# where it confirms an unconfirmed progression (Seymour 2017). A lymph node under 10 mm short axis is "absent".
NON_TARGET_STATUSES = ("present", "absent", "increased", "unequivocal progression")

def _therapy_kinds() -> tuple[str, ...]:
    from earlyphase.vocab.codelist import codelist

    return codelist("anticancer_therapy").values


# Kinds of other anticancer therapy (the codelist file ``codelists/anticancer_therapy.yaml``).
THERAPY_KINDS = _therapy_kinds()

FOLLOW_UP_STATUSES = ("alive", "dead")
DEATH_CAUSES = ("disease progression", "adverse event", "other", "unknown")
DEVIATION_CATEGORIES = ("dose", "schedule", "eligibility", "assessment", "other")
PATIENT_STATUSES = ("enrolled", "withdrawn")

# Units of the core columns (what a number means wherever it appears). A dose's unit is stored beside it
# (administrations.dose_unit), from the study's product.dose_unit.
UNITS = {
    "weight_kg": "kg",
    "height_cm": "cm",
    "bsa_m2": "m2",
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
