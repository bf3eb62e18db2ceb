"""Kaplan–Meier survival curves, as R's ``survfit(Surv(time, event) ~ group)``.

Standard errors are Greenwood's. Confidence intervals are ``log-log`` by default (the SAS and
clinical-trial convention); **R's default is ``log``**, so pass ``conf_type="log"`` to reproduce
``survfit()`` output as printed by R with default arguments. Times are in the caller's unit.

* Quantiles and their limits follow ``quantile.survfit``. The median follows ``median_rule``:
  ``"quantile"`` (default, ``quantile.survfit``) or ``"print"`` (``print.survfit`` and
  ``summary(fit)$table``). They differ only when the curve ends exactly at 0.5 (times 1, 2 dead and
  3, 4 censored: quantile.survfit gives 3, the midpoint of the flat end; print.survfit gives 2).
* Survival at landmark times and the number at risk #(T >= t) follow ``summary(survfit, times =
  ...)``: a landmark after a group's last follow-up time is not estimated (R leaves it out; here it
  is NaN in :meth:`SurvivalCurve.at`, left out of ``to_dict()["at"]`` and listed with the reason in
  ``at_omitted``), unless ``extend=True`` (R's ``extend = TRUE``: the last value carried forward,
  n at risk 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.confint import CONF_TYPES, survival_confint
from earlyphase.stats.quantiles import MEDIAN_RULES, curve_quantile, print_median
from earlyphase.stats.riskset import RiskSet, build_risk_set
from earlyphase.stats.cases import omitted_line
from earlyphase.stats.validation import check_choice, check_conf_level

__all__ = ["SurvivalCurve", "SurvivalQuantiles", "KaplanMeier", "kaplan_meier", "kaplan_meier_from_risk_set", "median_followup"]


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "NA"
    return f"{x:.{digits}g}"


@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """One group's Kaplan–Meier curve, one row per distinct exit time (event or censoring).

    ``std_err`` is the standard error of S(t) (as ``summary(survfit)``); ``se_log`` that of log S(t)
    (as ``survfit()$std.err``). ``lower``/``upper`` are NaN where R gives NA.
    """

    group: str
    n: int
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    se_log: np.ndarray
    conf_type: str
    conf_level: float
    median_rule: str = "quantile"

    @cached_property
    def _limits(self) -> tuple[np.ndarray, np.ndarray]:
        # Computed on first use: large curves often need only S(t) and its SE.
        return survival_confint(self.survival, self.se_log, self.conf_type, self.conf_level)

    @property
    def lower(self) -> np.ndarray:
        """Lower pointwise confidence limit of S(t) (NaN where R gives NA)."""
        return self._limits[0]

    @property
    def upper(self) -> np.ndarray:
        """Upper pointwise confidence limit of S(t) (NaN where R gives NA)."""
        return self._limits[1]

    @property
    def events(self) -> int:
        return int(self.n_event.sum())

    @cached_property
    def std_err(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.survival * self.se_log

    def quantile(self, p: float) -> tuple[float, float, float]:
        """(time, lower, upper) at which the curve reaches 1 - p, as R's ``quantile.survfit``."""
        if not (0.0 <= float(p) <= 1.0):
            raise InputError.single("p", p, "0 <= p <= 1", "a quantile probability must be between 0 and 1.")
        return curve_quantile(self.time, self.survival, self.lower, self.upper, float(p))

    @cached_property
    def median(self) -> tuple[float, float, float]:
        """(median, lower, upper) by this curve's ``median_rule``; NaN when not reached."""
        if self.median_rule == "print":
            return print_median(self.time, self.survival, self.lower, self.upper)
        return self.quantile(0.5)

    @property
    def last_time(self) -> float:
        """The last follow-up time (event or censoring) of the curve."""
        return float(self.time[-1]) if len(self.time) else float("nan")

    def at(self, times: Sequence[float], extend: bool = False) -> dict[str, np.ndarray]:
        """Survival at landmark ``times``: n_risk #(T >= t), survival, std_err, lower, upper, beyond.

        Before the first exit S = 1. A time after the last follow-up is ``beyond`` the curve: its
        survival, std_err and limits are NaN and n_risk 0 (R's ``summary(fit, times)`` leaves it
        out), unless ``extend`` (R's ``extend = TRUE``: S keeps its last value, n_risk 0). A curve
        that has reached 0 is known to stay at 0, so its later times are not ``beyond`` (R leaves
        those out too; here they report S = 0).
        """
        ts = np.asarray(times, dtype=np.float64)
        if ts.ndim == 0:
            ts = ts.reshape(1)
        if not np.isfinite(ts).all() or (ts < 0).any():
            raise InputError.single("times", ts.tolist(), "finite >= 0", "landmark times must be finite and not negative.")
        j = np.searchsorted(self.time, ts, side="right") - 1  # last exit at or before t
        nxt = np.searchsorted(self.time, ts, side="left")  # first exit at or after t
        before = j < 0
        jj = np.clip(j, 0, None)
        surv = np.where(before, 1.0, self.survival[jj])
        std = np.where(before, 0.0, self.std_err[jj])
        # Before the first exit R reports the limits as 1 whatever the interval type.
        lower = np.where(before, 1.0, self.lower[jj])
        upper = np.where(before, 1.0, self.upper[jj])
        n_risk = np.where(nxt < len(self.time), self.n_risk[np.clip(nxt, 0, len(self.time) - 1)], 0)
        reached_zero = len(self.survival) > 0 and self.survival[-1] == 0
        beyond = (ts > self.last_time) & (not reached_zero)
        if not extend and beyond.any():
            surv, std, lower, upper = (np.where(beyond, np.nan, a) for a in (surv, std, lower, upper))
        return {"time": ts, "n_risk": n_risk.astype(np.int64), "survival": surv, "std_err": std, "lower": lower,
                "upper": upper, "beyond": beyond}


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """Kaplan–Meier curves of one or more groups (levels in sorted order)."""

    curves: tuple[SurvivalCurve, ...]
    conf_type: str
    conf_level: float
    times: tuple[float, ...] = ()
    extend: bool = False
    median_rule: str = "quantile"
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    @property
    def groups(self) -> list[str]:
        return [c.group for c in self.curves]

    def __getitem__(self, group: str) -> SurvivalCurve:
        for c in self.curves:
            if c.group == group:
                return c
        raise KeyError(group)

    def quantiles(self, probs: Sequence[float] = (0.25, 0.5, 0.75)) -> dict[str, list[tuple[float, float, float]]]:
        return {c.group: [c.quantile(p) for p in probs] for c in self.curves}

    def quantile_table(self, probs: Sequence[float] = (0.25, 0.5, 0.75)) -> "SurvivalQuantiles":
        """Quantiles with confidence limits per group, as R's ``quantile(fit, probs)`` (a result object)."""
        ps = tuple(float(p) for p in probs)
        if not ps or any(not (0.0 <= p <= 1.0) for p in ps):
            raise InputError.single("probs", list(ps), "0 <= p <= 1", "quantile probabilities must be between 0 and 1.")
        rows = [[c.quantile(p) for p in ps] for c in self.curves]
        return SurvivalQuantiles(tuple(self.groups), ps, np.array([[q[0] for q in r] for r in rows]),
                                 np.array([[q[1] for q in r] for r in rows]), np.array([[q[2] for q in r] for r in rows]),
                                 self.conf_type, self.conf_level, self.n_omitted, self.notes)

    def to_dict(self) -> dict[str, Any]:
        groups = []
        for c in self.curves:
            med, lo, up = c.median
            at = c.at(self.times, self.extend) if self.times else None
            shown = np.ones(len(self.times), dtype=bool) if at is None or self.extend else ~at["beyond"]
            groups.append(
                {
                    "group": c.group, "n": c.n, "events": c.events,
                    "median": med, "median_lower": lo, "median_upper": up,
                    "table": [
                        {"time": t, "n_risk": r, "n_event": d, "n_censor": cc, "survival": s, "std_err": se, "lower": l, "upper": u}
                        for t, r, d, cc, s, se, l, u in zip(
                            c.time.tolist(), c.n_risk.tolist(), c.n_event.tolist(), c.n_censor.tolist(),
                            c.survival.tolist(), c.std_err.tolist(), c.lower.tolist(), c.upper.tolist(),
                        )
                    ],
                    "at": [] if at is None else [
                        {"time": t, "n_risk": r, "survival": s, "std_err": se, "lower": l, "upper": u}
                        for t, r, s, se, l, u, keep in zip(
                            at["time"].tolist(), at["n_risk"].tolist(), at["survival"].tolist(),
                            at["std_err"].tolist(), at["lower"].tolist(), at["upper"].tolist(), shown.tolist(),
                        ) if keep
                    ],
                    "at_omitted": [] if at is None else [
                        {"time": t, "reason": f"after the last follow-up time ({_fmt(c.last_time, 6)})"}
                        for t, keep in zip(at["time"].tolist(), shown.tolist()) if not keep
                    ],
                }
            )
        return {"conf_type": self.conf_type, "conf_level": self.conf_level, "median_rule": self.median_rule,
                "n_omitted": self.n_omitted, "notes": list(self.notes), "groups": groups}

    def to_frame(self):
        import pandas as pd

        frames = []
        for c in self.curves:
            frames.append(pd.DataFrame({
                "group": c.group, "time": c.time, "n_risk": c.n_risk, "n_event": c.n_event,
                "n_censor": c.n_censor, "survival": c.survival, "std_err": c.std_err,
                "lower": c.lower, "upper": c.upper,
            }))
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        pct = f"{self.conf_level * 100:g}"
        rule = "quantile.survfit" if self.median_rule == "quantile" else "print.survfit"
        lines = [f"Kaplan-Meier estimate ({self.conf_type} {pct}% CI; R's survfit default is log; median as {rule})"]
        omitted = omitted_line(self.n_omitted)
        if omitted:
            lines.append(omitted)
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("")
        head = f"{'group':>10} {'n':>6} {'events':>7} {'median':>9} {pct + '% LCL':>9} {pct + '% UCL':>9}"
        lines.append(head)
        for c in self.curves:
            m, lo, up = c.median
            lines.append(f"{c.group:>10} {c.n:>6} {c.events:>7} {_fmt(m):>9} {_fmt(lo):>9} {_fmt(up):>9}")
        for c in self.curves:
            lines += ["", f"group={c.group}", f"{'time':>10} {'n.risk':>7} {'n.event':>8} {'n.censor':>9} {'survival':>9} {'std.err':>8} {'lower':>8} {'upper':>8}"]
            for i in range(len(c.time)):
                lines.append(
                    f"{_fmt(c.time[i], 6):>10} {c.n_risk[i]:>7} {c.n_event[i]:>8} {c.n_censor[i]:>9} "
                    f"{_fmt(c.survival[i]):>9} {_fmt(c.std_err[i]):>8} {_fmt(c.lower[i]):>8} {_fmt(c.upper[i]):>8}"
                )
            if self.times:
                a = c.at(self.times, self.extend)
                lines.append(f"  at landmark times:")
                for t, r, s, se, l, u, b in zip(a["time"], a["n_risk"], a["survival"], a["std_err"], a["lower"], a["upper"], a["beyond"]):
                    if b and not self.extend:
                        lines.append(f"  t={_fmt(t, 6)}: not estimated, after the last follow-up time ({_fmt(c.last_time, 6)})")
                    else:
                        lines.append(f"  t={_fmt(t, 6)}: n.risk={r} survival={_fmt(s)} std.err={_fmt(se)} ({_fmt(l)}, {_fmt(u)})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class SurvivalQuantiles:
    """Survival-time quantiles per group (rows) and probability (columns), with confidence limits.

    The p-quantile is the time by which a fraction p has had the event (S(t) = 1 - p), as R's
    ``quantile.survfit``; NaN (R's NA) when not reached.
    """

    groups: tuple[str, ...]
    probs: tuple[float, ...]
    quantile: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_type: str
    conf_level: float
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "conf_type": self.conf_type, "conf_level": self.conf_level, "probs": list(self.probs),
            "n_omitted": self.n_omitted, "notes": list(self.notes),
            "groups": [
                {"group": g, "quantiles": [{"p": p, "time": float(q), "lower": float(lo), "upper": float(up)}
                                           for p, q, lo, up in zip(self.probs, self.quantile[i], self.lower[i], self.upper[i])]}
                for i, g in enumerate(self.groups)
            ],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"group": g["group"], **q} for g in self.to_dict()["groups"] for q in g["quantiles"]])

    def summary(self) -> str:
        pct = f"{self.conf_level * 100:g}%"
        lines = [f"Survival-time quantiles ({self.conf_type} {pct} CI, as R's quantile.survfit)"]
        lines += [x for x in [omitted_line(self.n_omitted)] if x] + [f"  note: {n}" for n in self.notes]
        width = max(10, *(len(g) for g in self.groups))
        lines.append(f"{'group':>{width}} {'p':>6} {'time':>10} {'lower':>10} {'upper':>10}")
        for i, g in enumerate(self.groups):
            for j, p in enumerate(self.probs):
                lines.append(f"{g:>{width}} {p:>6g} {_fmt(self.quantile[i, j]):>10} {_fmt(self.lower[i, j]):>10} {_fmt(self.upper[i, j]):>10}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _curve(group: str, n: int, t, r, d, c, conf_type: str, conf_level: float, median_rule: str = "quantile") -> SurvivalCurve:
    # Few temporaries on purpose (memory at 10^7 rows): two float arrays become S and SE(log S).
    work = r.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.divide(d, work)
        zero_risk = not (r > 0).all()  # only with zero case weights: nobody at risk, nothing happens
        if zero_risk:
            hazard[d == 0] = 0.0
        # Greenwood: var(log S) = sum d / (n (n - d)); infinite once everyone at risk has died (as R).
        np.subtract(work, d, out=work)
        np.divide(hazard, work, out=work)
        if zero_risk:
            work[d == 0] = 0.0
        np.cumsum(work, out=work)
        se_log = np.sqrt(work, out=work)
        np.subtract(1.0, hazard, out=hazard)
        surv = np.cumprod(hazard, out=hazard)
    return SurvivalCurve(group, int(n), t, r, d, c, surv, se_log, conf_type, conf_level, median_rule)


def kaplan_meier_from_risk_set(
    risk_set: RiskSet,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    times: Sequence[float] | None = None,
    median_rule: str = "quantile",
    extend: bool = False,
) -> KaplanMeier:
    """Kaplan–Meier curves for every group of a :class:`RiskSet` (strata must be a single level)."""
    conf_type = check_choice(conf_type, CONF_TYPES, "conf_type")
    median_rule = check_choice(median_rule, MEDIAN_RULES, "median_rule")
    conf_level = check_conf_level(conf_level)
    if risk_set.n_strata != 1:
        raise InputError.single("strata", list(risk_set.strata_levels), "one stratum", "Kaplan-Meier curves are per group; combine strata into the group.")
    curves = []
    for g, label in enumerate(risk_set.group_levels):
        t, r, d, c = risk_set.cell(g, 0)
        if len(t) == 0:
            raise InputError.single("group", label, "non-empty", f"group {label!r} has no subjects.")
        curves.append(_curve(label, int(risk_set.n_subjects[0, g]), t, r, d, c, conf_type, conf_level, median_rule))
    ts: tuple[float, ...] = ()
    if times is not None:
        ts = tuple(float(x) for x in np.atleast_1d(np.asarray(times, dtype=np.float64)))
        if any((not np.isfinite(x)) or x < 0 for x in ts):
            raise InputError.single("times", list(ts), "finite >= 0", "landmark times must be finite and not negative.")
    return KaplanMeier(tuple(curves), conf_type, conf_level, ts, bool(extend), median_rule,
                       risk_set.n_omitted, risk_set.notes)


def kaplan_meier(
    time: Any,
    event: Any,
    group: Any = None,
    entry: Any = None,
    weights: Any = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    times: Sequence[float] | None = None,
    *,
    levels: Sequence[Any] | None = None,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = True,
    median_rule: str = "quantile",
    extend: bool = False,
) -> KaplanMeier:
    """Kaplan–Meier estimate per group.

    ``time``: exit times (>= 0); ``event``: 1 event / 0 censored (or 1/2, or ``event_value``);
    ``group``: labels, ordered as R's factor (``levels`` to choose); ``entry``: delayed-entry times
    (left truncation) or None; ``weights``: integer case weights; ``conf_type``: ``"log-log"``
    (default; R's default is ``"log"``), ``"log"`` or ``"plain"``; ``conf_level``: e.g. 0.95;
    ``times``: landmark times for :meth:`SurvivalCurve.at` / ``to_dict()["at"]`` (after the last
    follow-up: left out, unless ``extend``); ``median_rule``: ``"quantile"`` or ``"print"``;
    ``na_action``: ``"fail"`` or ``"omit"``; ``timefix``: merge times equal up to rounding, as R.
    See :mod:`earlyphase.stats.cases` and :mod:`earlyphase.stats.labels` for the conventions.
    """
    conf_type = check_choice(conf_type, CONF_TYPES, "conf_type")
    conf_level = check_conf_level(conf_level)
    rs = build_risk_set(time, event, group=group, entry=entry, weights=weights, levels=levels, event_value=event_value,
                        na_action=na_action, timefix=timefix)
    return kaplan_meier_from_risk_set(rs, conf_type, conf_level, times, median_rule, extend)


@dataclass(frozen=True)
class MedianFollowup:
    """Median follow-up by the reverse Kaplan–Meier method (censoring treated as the event)."""

    groups: tuple[str, ...]
    median: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    conf_type: str
    conf_level: float
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "conf_type": self.conf_type, "conf_level": self.conf_level, "n_omitted": self.n_omitted, "notes": list(self.notes),
            "groups": [{"group": g, "median": m, "lower": lo, "upper": up} for g, m, lo, up in zip(self.groups, self.median, self.lower, self.upper)],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.to_dict()["groups"])

    def summary(self) -> str:
        lines = ["Median follow-up (reverse Kaplan-Meier)"] + [x for x in [omitted_line(self.n_omitted)] if x]
        for g, m, lo, up in zip(self.groups, self.median, self.lower, self.upper):
            lines.append(f"  {g}: {_fmt(m)} ({_fmt(lo)}, {_fmt(up)})")
        return "\n".join(lines)


def median_followup(time: Any, event: Any, group: Any = None, conf_type: str = "log-log", conf_level: float = 0.95,
                    *, levels: Sequence[Any] | None = None, event_value: Any = None, na_action: str = "fail",
                    timefix: bool = True) -> MedianFollowup:
    """Reverse-KM median follow-up: the KM median of the censoring times (events become censorings).

    Same as R's ``quantile(survfit(Surv(time, 1 - event) ~ group), 0.5)``.
    """
    from earlyphase.stats.cases import prepare_cases
    from earlyphase.stats.validation import check_time_event

    cases = prepare_cases(time, event, {"group": group}, event_value=event_value, na_action=na_action, timefix=timefix)
    with cases.input_rows():
        t, e = check_time_event(cases.time, cases.event)
        km = kaplan_meier(t, 1 - e, group=cases.columns["group"], conf_type=conf_type, conf_level=conf_level,
                          levels=levels, timefix=False)
    meds = [c.median for c in km.curves]
    return MedianFollowup(
        tuple(km.groups), tuple(m[0] for m in meds), tuple(m[1] for m in meds), tuple(m[2] for m in meds),
        km.conf_type, km.conf_level, cases.n_omitted, cases.notes,
    )
