"""earlyphase.vocab: controlled terminology as data files plus small loaders.

CTCAE (v5.0 complete, v4.03 subset, NCI's Excel files) with synonym-aware suggestions; ASTCT grading of
CRS and ICANS from the recorded signs, and their form definitions; attribution, response categories,
outcomes; dose units and body surface area formulas; codelists a study may name (data files).
"""

from earlyphase.vocab.astct import AstctGrade, grade_crs, grade_icans, ice_score
from earlyphase.vocab.ctcae import (
    ALL_GRADES,
    CTCAE_VERSIONS,
    CtcaeDictionary,
    CtcaeTerm,
    bundled_ctcae,
    is_other_specify,
    load_ctcae_excel,
    meddra_soc_codes,
)
from earlyphase.vocab.form_definitions import BUNDLED_FORMS, FormDefinition, bundled_form, parse_form
from earlyphase.vocab.terms import (
    AE_ACTIONS,
    AE_ENDED_OUTCOMES,
    AE_OUTCOMES,
    ATTRIBUTIONS,
    BEST_RESPONSE_ORDER,
    DEATH_CAUSES,
    DEVIATION_CATEGORIES,
    DISEASE_CONTROL,
    ECOG_GRADES,
    FOLLOW_UP_STATUSES,
    LESION_KINDS,
    MODALITIES,
    NON_TARGET_STATUSES,
    OBJECTIVE_RESPONSES,
    PATIENT_STATUSES,
    RELATED_ATTRIBUTIONS,
    RESPONSE_CATEGORIES,
    RESPONSE_CRITERIA,
    RESPONSE_LABELS,
    SEXES,
    THERAPY_KINDS,
    UNITS,
    is_related,
    match_choice,
)
from earlyphase.vocab.codelist import Code, Codelist, bundled_codelists, codelist
from earlyphase.vocab.units import BSA_FORMULAS, DoseUnit, body_surface_area, convert_dose, dose_unit, dose_units

__all__ = [
    "AE_ACTIONS", "AE_ENDED_OUTCOMES", "AE_OUTCOMES", "ALL_GRADES", "ATTRIBUTIONS", "AstctGrade",
    "BEST_RESPONSE_ORDER", "BSA_FORMULAS", "BUNDLED_FORMS", "CTCAE_VERSIONS", "Code", "Codelist", "CtcaeDictionary",
    "CtcaeTerm", "DEATH_CAUSES", "DEVIATION_CATEGORIES", "DISEASE_CONTROL", "DoseUnit", "ECOG_GRADES",
    "FOLLOW_UP_STATUSES", "FormDefinition", "LESION_KINDS", "MODALITIES", "NON_TARGET_STATUSES",
    "OBJECTIVE_RESPONSES", "PATIENT_STATUSES", "RELATED_ATTRIBUTIONS", "RESPONSE_CATEGORIES", "RESPONSE_CRITERIA",
    "RESPONSE_LABELS", "SEXES", "THERAPY_KINDS", "UNITS", "body_surface_area", "bundled_codelists", "bundled_ctcae",
    "bundled_form", "codelist", "convert_dose", "dose_unit", "dose_units", "grade_crs", "grade_icans", "ice_score",
    "is_other_specify", "is_related", "load_ctcae_excel", "match_choice", "meddra_soc_codes", "parse_form",
]
