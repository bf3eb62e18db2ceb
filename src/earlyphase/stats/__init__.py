"""earlyphase.stats: the numeric survival core. Arrays in, frozen result objects out.

Every result has ``summary()`` (R-like text), ``to_dict()`` (JSON-safe) and ``to_frame()`` (pandas).
Bad input raises :class:`earlyphase.errors.InputError` naming the argument and the rule.

Input conventions follow R's survival package (see docs/conventions.md): factor levels
(:mod:`earlyphase.stats.labels`), missing values, event coding and timefix
(:mod:`earlyphase.stats.cases`). Nothing here imports scipy or pandas until a result is turned
into a DataFrame.
"""

from earlyphase.stats.riskset import RiskSet, build_risk_set
from earlyphase.stats.kaplan_meier import (
    KaplanMeier,
    SurvivalCurve,
    kaplan_meier,
    kaplan_meier_from_risk_set,
    median_followup,
)
from earlyphase.stats.nelson_aalen import NelsonAalen, nelson_aalen, nelson_aalen_from_risk_set
from earlyphase.stats.logrank import LogrankResult, logrank_from_risk_set, logrank_test
from earlyphase.stats.permutation import count_allocations, permutation_logrank
from earlyphase.stats.rmst import RMSTResult, rmst, rmst_from_risk_set
from earlyphase.stats.cox import CoxResult, cox_ph
from earlyphase.stats.concordance import ConcordanceResult, concordance_index

__all__ = [
    "RiskSet",
    "build_risk_set",
    "KaplanMeier",
    "SurvivalCurve",
    "kaplan_meier",
    "kaplan_meier_from_risk_set",
    "median_followup",
    "NelsonAalen",
    "nelson_aalen",
    "nelson_aalen_from_risk_set",
    "LogrankResult",
    "logrank_test",
    "logrank_from_risk_set",
    "permutation_logrank",
    "count_allocations",
    "RMSTResult",
    "rmst",
    "rmst_from_risk_set",
    "CoxResult",
    "cox_ph",
    "ConcordanceResult",
    "concordance_index",
]
