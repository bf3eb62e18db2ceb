"""earlyphase.stats: the numeric survival core. Arrays in, frozen result objects out.

Every result has ``summary()`` (R-like text), ``to_dict()`` (JSON-safe) and ``to_frame()`` (pandas).
Bad input raises :class:`earlyphase.errors.InputError` naming the argument and the rule.

Input conventions follow R's survival package (see docs/conventions.md): factor levels
(:mod:`earlyphase.stats.labels`), missing values, event coding and timefix
(:mod:`earlyphase.stats.cases`). Nothing here imports scipy or pandas until a result is turned
into a DataFrame.
"""

# Modules whose name is also a function's name are imported here, so that the function always wins
# over the submodule attribute; the rest are imported on first use (PEP 562): a small call that needs
# the Kaplan-Meier estimate does not pay for importing the Cox model, concordance or permutations.
from earlyphase.stats.riskset import RiskSet, build_risk_set
from earlyphase.stats.kaplan_meier import (
    KaplanMeier,
    SurvivalCurve,
    SurvivalQuantiles,
    kaplan_meier,
    kaplan_meier_from_risk_set,
    median_followup,
)
from earlyphase.stats.nelson_aalen import NelsonAalen, nelson_aalen, nelson_aalen_from_risk_set
from earlyphase.stats.rmst import RMSTResult, rmst, rmst_from_risk_set

_WHERE = {
    "LogrankResult": "logrank", "logrank_from_risk_set": "logrank", "logrank_test": "logrank",
    "count_allocations": "permutation", "permutation_logrank": "permutation",
    "CoxResult": "cox", "cox_ph": "cox",
    "ConcordanceResult": "concordance", "concordance_index": "concordance",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'earlyphase.stats' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"earlyphase.stats.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_WHERE))


__all__ = [
    "RiskSet",
    "build_risk_set",
    "KaplanMeier",
    "SurvivalCurve",
    "SurvivalQuantiles",
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
