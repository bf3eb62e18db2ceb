"""The trial's survival beside external arms rebuilt from published curves: medians, RMST, Cox HR, log-rank.

Every number here compares patients who were never randomised against each other, so the result carries its
caveats (:data:`CAVEATS`) in its text, its JSON and its figure. Times are months throughout; an external
arm in another unit is converted when read (:func:`read_ipd_csv`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError, Problem

__all__ = ["ComparedArm", "Contrast", "Comparison", "compare_arms", "read_ipd_csv", "trial_arms", "CAVEATS"]

CAVEATS = (
    "Not randomised: the external arm comes from another trial, with its own patients, eligibility, era, "
    "supportive care and assessment schedule; a difference may come from any of these and not from the treatment.",
    "The external arm's patients are rebuilt from a published figure (Guyot et al. 2012): event times are read "
    "from the curve and censoring is placed between the published numbers at risk, so they are approximate.",
    "Confidence intervals and P values treat the rebuilt patients as if observed and ignore the confounding above; "
    "read them as a description, not as evidence of an effect.",
    "Check that both arms count time from a comparable origin (e.g. randomisation against first dose) and define "
    "the endpoint the same way.",
)
SHORT_CAVEAT = ("external arms rebuilt from published curves; differences may reflect patients, era and "
                "definitions, not treatment; intervals and P values are descriptive.")

UNITS_PER_MONTH = {"months": 1.0, "weeks": 365.25 / 12 / 7, "days": 365.25 / 12, "years": 1 / 12}


@dataclass(frozen=True, eq=False)
class ComparedArm:
    """One arm: ``time`` in months, ``event`` 1/0, and whether it is external (rebuilt) or the trial's own."""

    label: str
    time: np.ndarray
    event: np.ndarray
    external: bool
    conf_level: float = 0.95

    @cached_property
    def curve(self):
        from earlyphase.stats import kaplan_meier

        km = kaplan_meier(self.time, self.event, conf_level=self.conf_level)
        return km[km.groups[0]]

    @property
    def n(self) -> int:
        return int(len(self.time))

    @property
    def events(self) -> int:
        return int(self.event.sum())


@dataclass(frozen=True)
class Contrast:
    """A trial arm against an external arm: HR (Cox, trial vs external), log-rank, RMST difference (trial − external)."""

    trial_arm: str
    external_arm: str
    hazard_ratio: float
    hr_lower: float
    hr_upper: float
    hr_p_value: float
    logrank_statistic: float
    logrank_p_value: float
    rmst_trial: float
    rmst_external: float
    rmst_difference: float
    rmst_lower: float
    rmst_upper: float
    rmst_p_value: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class Comparison:
    """The result of :func:`compare_arms`; ``summary()``, ``to_dict()``, ``to_frame()`` as every result."""

    endpoint: str
    arms: tuple[ComparedArm, ...]
    contrasts: tuple[Contrast, ...]
    horizon: float
    horizon_note: str
    conf_level: float
    time_origin_note: str = ""
    caveats: tuple[str, ...] = CAVEATS
    short_caveat: str = SHORT_CAVEAT

    def arm_rows(self) -> list[dict[str, Any]]:
        rows = []
        for a in self.arms:
            med, lo, up = a.curve.median
            rows.append({"arm": a.label, "source": "external (rebuilt)" if a.external else "trial", "n": a.n,
                         "events": a.events, "median": med, "median_lower": lo, "median_upper": up,
                         "last_follow_up": float(a.time.max()) if a.n else float("nan")})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "unit": "months",
            "conf_level": self.conf_level,
            "horizon": self.horizon,
            "horizon_note": self.horizon_note,
            "arms": self.arm_rows(),
            "contrasts": [c.to_dict() for c in self.contrasts],
            "caveats": list(self.caveats),
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.arm_rows())

    def summary(self) -> str:
        pct = f"{self.conf_level * 100:g}%"
        lines = [f"{self.endpoint}: the trial beside external arms (months)", "",
                 f"{'arm':28s} {'source':18s} {'n':>5s} {'events':>6s}  median ({pct} CI)"]
        for r in self.arm_rows():
            lines.append(f"{r['arm'][:28]:28s} {r['source']:18s} {r['n']:5d} {r['events']:6d}  "
                         f"{_f(r['median'])} ({_f(r['median_lower'])} to {_f(r['median_upper'])})")
        lines += ["", f"RMST to {self.horizon:g} months ({self.horizon_note}); HR from a Cox model, trial vs external:"]
        for c in self.contrasts:
            lines.append(f"  {c.trial_arm} vs {c.external_arm}: HR {_f(c.hazard_ratio, 2)} ({_f(c.hr_lower, 2)} to "
                         f"{_f(c.hr_upper, 2)}), log-rank P {_p(c.logrank_p_value)}; RMST {_f(c.rmst_trial)} vs "
                         f"{_f(c.rmst_external)}, difference {_f(c.rmst_difference)} ({_f(c.rmst_lower)} to "
                         f"{_f(c.rmst_upper)})")
            lines += [f"    note: {n}" for n in c.notes]
        lines += ["", "Caveats of a non-randomised comparison:"] + [f"  - {c}" for c in self.caveats]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _f(x: float, digits: int = 1) -> str:
    return "NR" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def compare_arms(trial: Sequence[ComparedArm], external: Sequence[ComparedArm], *, endpoint: str,
                 horizon: float | None = None, conf_level: float = 0.95, time_origin_note: str = "") -> Comparison:
    """Compare every trial arm with every external arm (months).

    ``horizon``: RMST restriction time; by default the shortest last follow-up among the arms (the RMST of a
    curve is unknown after its follow-up ends). A horizon after an arm's last follow-up is refused.
    """
    for name, arms_given in (("trial", trial), ("external", external)):
        if isinstance(arms_given, ComparedArm) or any(not isinstance(a, ComparedArm) for a in arms_given):
            raise InputError.single(name, type(arms_given).__name__, "type",
                                    f"pass {name} as a list of ComparedArm (read_ipd_csv and trial_arms make them)")
    if not trial:
        raise InputError.single("trial", endpoint, "has_patients", f"the trial has no {endpoint} data to compare")
    if not external:
        raise InputError.single("ipd", None, "has_patients", "give at least one external arm")
    labels = [a.label for a in (*trial, *external)]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise InputError.single("label", ", ".join(dup), "unique",
                                "every arm needs its own label (name the external arms with --label)")
    arms = tuple(ComparedArm(a.label, a.time, a.event, a.external, conf_level) for a in (*trial, *external))
    # A curve that has reached 0 is known at every later time; any other is unknown after its last follow-up.
    last = {a.label: float(a.time.max()) for a in arms}
    open_ended = {k: v for k, v in last.items() if next(a for a in arms if a.label == k).curve.survival[-1] > 0}
    if horizon is None:
        if open_ended:
            shortest = min(open_ended, key=open_ended.get)
            horizon, note = open_ended[shortest], f"the shortest follow-up, {shortest}'s"
        else:
            horizon, note = max(last.values()), "the longest follow-up (every curve reached 0)"
    else:
        if not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
            raise InputError.single("horizon", horizon, "positive", "the horizon must be a positive number of months")
        late = [f"{k} ({v:.1f})" for k, v in open_ended.items() if v < horizon]
        if late:
            raise InputError.single(
                "horizon", horizon, "within_follow_up",
                f"the horizon is after the last follow-up of {', '.join(late)} months; the curve is unknown there. "
                f"Choose at most {min(open_ended.values()):.1f} months")
        note = "as asked"
    contrasts = tuple(_contrast(t, e, horizon, conf_level) for t in arms if not t.external for e in arms if e.external)
    return Comparison(endpoint=endpoint, arms=arms, contrasts=contrasts, horizon=float(horizon), horizon_note=note,
                      conf_level=conf_level, time_origin_note=time_origin_note)


def _contrast(t: ComparedArm, e: ComparedArm, horizon: float, conf_level: float) -> Contrast:
    from earlyphase.stats import cox_ph, logrank_test, rmst

    time = np.concatenate([e.time, t.time])
    event = np.concatenate([e.event, t.event])
    is_trial = np.concatenate([np.zeros(e.n), np.ones(t.n)])
    label = np.where(is_trial == 1, "trial", "external")
    notes: list[str] = []
    nan = float("nan")
    hr = (nan, nan, nan, nan)
    lr = (nan, nan)
    if t.events and e.events:
        try:
            fit = cox_ph(time, event, {"trial": is_trial}, conf_level=conf_level, concordance=False, zph=False)
            c = fit.coefficients[0]
            hr = (c.hr, c.hr_lower, c.hr_upper, c.p_value)
        except InputError as exc:
            notes.append(f"Cox model not fitted: {exc.problems[0].message}")
        test = logrank_test(time, event, label, levels=["external", "trial"])
        lr = (test.statistic, test.p_value)
    else:
        notes.append("no hazard ratio or log-rank test: an arm has no events")
    # extend: only a curve that reached 0 can end before the horizon (compare_arms checks), and it stays at 0.
    r = rmst(time, event, horizon, group=label, levels=["external", "trial"], conf_level=conf_level, extend=True)
    d = r.difference
    return Contrast(trial_arm=t.label, external_arm=e.label, hazard_ratio=hr[0], hr_lower=hr[1], hr_upper=hr[2],
                    hr_p_value=hr[3], logrank_statistic=lr[0], logrank_p_value=lr[1],
                    rmst_trial=float(r.estimate[1]), rmst_external=float(r.estimate[0]),
                    rmst_difference=d["estimate"], rmst_lower=d["lower"], rmst_upper=d["upper"],
                    rmst_p_value=d["p_value"], notes=tuple(notes))


def read_ipd_csv(path: str | Path, *, label: str | None = None, arm: str | None = None,
                 unit: str = "months") -> ComparedArm:
    """An external arm from a CSV of rebuilt patients (``time``, ``event``, optional ``arm``), times in ``unit``.

    A file with several arms needs ``arm`` to choose one. The label is ``label``, else the arm's name, else
    the file's name.
    """
    from earlyphase.external.readers import _read_rows

    if unit not in UNITS_PER_MONTH:
        raise InputError.single("unit", unit, "choice", f"the unit must be one of {', '.join(UNITS_PER_MONTH)}")
    rows, source = _read_rows(path, "ipd")
    rows = [r for r in rows if any(r)]
    header = [h.strip().lower() for h in rows[0]]
    if "time" not in header or "event" not in header:
        raise InputError.single("ipd", ", ".join(rows[0]), "columns",
                                "the file needs columns time and event (and arm for several arms), as written by "
                                "earlyphase external reconstruct", file=source, row=1)
    ti, ei = header.index("time"), header.index("event")
    ai = header.index("arm") if "arm" in header else None
    arms = sorted({r[ai] for r in rows[1:] if ai is not None and ai < len(r)})
    if arm is not None and arm not in arms:
        raise InputError.single("arm", arm, "known_arm", f"no such arm in the file; it has: {', '.join(arms) or 'none'}",
                                file=source)
    if arm is None and len(arms) > 1:
        raise InputError.single("arm", None, "choose_one",
                                f"the file holds {len(arms)} arms ({', '.join(arms)}): name the one to use", file=source)
    times, events, problems = [], [], []
    for line, r in enumerate(rows[1:], start=2):
        if arm is not None and (ai >= len(r) or r[ai] != arm):
            continue
        t = _num(r[ti] if ti < len(r) else "")
        ev = (r[ei] if ei < len(r) else "").strip()
        if t is None or t < 0:
            problems.append(Problem("time", r[ti] if ti < len(r) else "", "non_negative",
                                    "time must be a number >= 0", file=source, row=line))
        if ev not in ("0", "1", "0.0", "1.0"):
            problems.append(Problem("event", ev, "zero_one", "event must be 1 (event) or 0 (censored)",
                                    file=source, row=line))
        if len(problems) >= 20:
            break
        if t is not None and ev in ("0", "1", "0.0", "1.0"):
            times.append(t)
            events.append(int(float(ev)))
    if problems:
        raise InputError(problems, summary=f"{len(problems)} problem(s) in the external arm's file (row = line)")
    if not times:
        raise InputError.single("ipd", source, "has_patients", "the file holds no patients", file=source)
    name = label or arm or (arms[0] if arms else Path(path).stem)
    return ComparedArm(name, np.asarray(times) / UNITS_PER_MONTH[unit], np.asarray(events, dtype=int), external=True)


def _num(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def trial_arms(adtte, study, endpoint: str, *, by_group: bool = False) -> list[ComparedArm]:
    """The trial's arms for ``endpoint`` (an ADTTE PARAMCD such as OS or PFS) in months: everyone pooled, or
    one arm per dose group in the study's order (``by_group``)."""
    data = adtte[adtte["PARAMCD"] == endpoint]
    if data.empty:
        have = sorted(set(adtte["PARAMCD"])) if len(adtte) else []
        raise InputError.single("endpoint", endpoint, "known_endpoint",
                                f"the trial has no {endpoint} rows (it has: {', '.join(have) or 'none'})")
    months = data["AVAL"].to_numpy(dtype=float) / study.analysis.days_per_month
    event = 1 - data["CNSR"].to_numpy(dtype=int)
    arms = [ComparedArm(f"{study.study_id} (all)", months, event, external=False)]
    if by_group:
        groups = data["TRT01P"].astype(str).to_numpy()
        arms = [ComparedArm(f"{study.study_id} {g}", months[groups == g], event[groups == g], external=False)
                for g in study.group_codes if (groups == g).any()]
    return arms
