"""earlyphase.vocab: controlled terminology (CTCAE terms and grades, attribution, responses, units)."""

from earlyphase.vocab.ctcae import (
    ALL_GRADES,
    CTCAE_VERSIONS,
    CtcaeDictionary,
    CtcaeTerm,
    bundled_ctcae,
    load_ctcae_excel,
)
from earlyphase.vocab.terms import (
    AE_ACTIONS,
    AE_ENDED_OUTCOMES,
    AE_OUTCOMES,
    ATTRIBUTIONS,
    CHILD_PUGH_CLASSES,
    CHILD_PUGH_SCORES,
    DEATH_CAUSES,
    DEVIATION_CATEGORIES,
    ECOG_GRADES,
    FOLLOW_UP_STATUSES,
    LESION_KINDS,
    MODALITIES,
    NON_TARGET_STATUSES,
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

__all__ = [
    "AE_ACTIONS", "AE_ENDED_OUTCOMES", "AE_OUTCOMES", "ALL_GRADES", "ATTRIBUTIONS", "CHILD_PUGH_CLASSES",
    "CHILD_PUGH_SCORES", "CTCAE_VERSIONS", "CtcaeDictionary", "CtcaeTerm", "DEATH_CAUSES", "DEVIATION_CATEGORIES",
    "ECOG_GRADES", "FOLLOW_UP_STATUSES", "LESION_KINDS", "MODALITIES", "NON_TARGET_STATUSES", "PATIENT_STATUSES",
    "RELATED_ATTRIBUTIONS", "RESPONSE_CATEGORIES", "RESPONSE_CRITERIA", "RESPONSE_LABELS", "SEXES", "THERAPY_KINDS",
    "UNITS", "bundled_ctcae", "is_related", "load_ctcae_excel", "match_choice",
]
