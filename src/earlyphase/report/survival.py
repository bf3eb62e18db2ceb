"""Survival analysis of one ADTTE parameter by group: the numbers the report shows.

Times are analysed in months (AVAL days / analysis.days_per_month). Medians and their CIs follow
R's ``survival`` (``quantile.survfit``; CI type from the study, log-log by default); the k-group
log-rank, the log-rank test for trend (scores = the groups' intensity levels 1..k) and a
Monte Carlo permutation P of the log-rank statistic (seeded); Cox hazard ratios against the first
group; landmark survival; median follow-up by reverse Kaplan-Meier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study

PERMUTATIONS = 10_000
PERMUTATION_SEED = 20150101


@dataclass(frozen=True)
class EndpointAnalysis:
    """Everything reported for one endpoint (PFS or OS)."""

    paramcd: str
    label: str
    data: "pd.DataFrame"  # the ADTTE rows analysed (one per patient), group order kept
    groups: tuple[str, ...]  # in intensity order
    km: Any  # KaplanMeier by group
    km_all: Any  # KaplanMeier of everybody
    logrank: Any | None
    trend: Any | None
    permutation: Any | None
    cox: Any | None
    followup: Any | None  # MedianFollowup by group
    followup_all: Any | None
    landmarks_months: tuple[float, ...]
    warnings: tuple[str, ...] = ()

    def curve(self, group: str | None):
        return self.km_all.curves[0] if group is None else self.km[group]

    def median(self, group: str | None) -> tuple[float, float, float]:
        """(median, lower, upper) in months; NaN when not reached."""
        return self.curve(group).median


def analyse_endpoint(adtte: "pd.DataFrame", study: "Study", paramcd: str, label: str) -> EndpointAnalysis | None:
    """Analyse ADTTE parameter ``paramcd``; None when it has no rows."""
    from earlyphase.stats import kaplan_meier, logrank_test, median_followup, permutation_logrank

    a = study.analysis
    data = adtte[adtte["PARAMCD"] == paramcd].copy()
    if data.empty:
        return None
    order = {g: i for i, g in enumerate(study.group_codes)}
    data["_ord"] = data["TRT01P"].map(order)
    data = data.sort_values(["_ord", "AVAL", "USUBJID"]).drop(columns="_ord").reset_index(drop=True)
    groups = tuple(g for g in study.group_codes if (data["TRT01P"] == g).any())
    t = data["AVAL"].to_numpy(dtype=float) / a.days_per_month
    e = 1 - data["CNSR"].to_numpy(dtype=int)
    g = data["TRT01P"].astype(str).to_numpy()
    km = kaplan_meier(t, e, group=g, conf_type=a.conf_type, conf_level=a.conf_level, times=a.landmarks_months)
    km_all = kaplan_meier(t, e, conf_type=a.conf_type, conf_level=a.conf_level, times=a.landmarks_months)
    logrank = trend = perm = cox = fu = None
    warnings: list[str] = []
    if len(groups) >= 2 and e.sum() > 0:
        # the groups in the study's intensity order; the trend scores are their dose levels
        scores = [float(study.level_of(x)) for x in groups]
        logrank = logrank_test(t, e, g, levels=list(groups))
        trend = logrank_test(t, e, g, trend=True, scores=scores, levels=list(groups))
        perm = permutation_logrank(t, e, g, permutations=PERMUTATIONS, seed=PERMUTATION_SEED, exact=False)
        cox = _cox(t, e, g, groups, a.conf_level, warnings)
    try:
        fu = median_followup(t, e, group=g, conf_type=a.conf_type, conf_level=a.conf_level)
        fu_all = median_followup(t, e, conf_type=a.conf_type, conf_level=a.conf_level)
    except Exception as exc:  # everybody had the event: no censoring to estimate follow-up from
        fu = fu_all = None
        warnings.append(f"median follow-up not estimable: {exc}")
    return EndpointAnalysis(
        paramcd=paramcd, label=label, data=data, groups=groups, km=km, km_all=km_all, logrank=logrank, trend=trend,
        permutation=perm, cox=cox, followup=fu, followup_all=fu_all,
        landmarks_months=tuple(a.landmarks_months), warnings=tuple(warnings),
    )


def _cox(t, e, g, groups, conf_level, warnings):
    """Cox model with the first group (lowest intensity) as reference."""
    from earlyphase.stats.cox import cox_ph

    # prefix with the level so the reference is the study's first group whatever the labels sort to
    rank = {x: f"{i:02d}:{x}" for i, x in enumerate(groups)}
    try:
        return cox_ph(t, e, {"group": [rank[x] for x in g]}, conf_level=conf_level, zph=False)
    except Exception as exc:
        warnings.append(f"Cox model not fitted: {exc}")
        return None


def cox_group(name: str) -> str:
    """Group code of a Cox coefficient name such as ``group01:B``."""
    return name.split(":", 1)[1] if ":" in name else name
