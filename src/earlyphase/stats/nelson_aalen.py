"""Nelson–Aalen cumulative hazard, as R's ``survfit(..., stype = 2, ctype = 1)``: H(t) = sum d/n,
variance sum d/n^2 (``std.chaz`` squared). Times in the caller's unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.riskset import RiskSet, build_risk_set

__all__ = ["NelsonAalen", "nelson_aalen", "nelson_aalen_from_risk_set"]


@dataclass(frozen=True, eq=False)
class NelsonAalen:
    """Per group: distinct exit times, n at risk, events, cumulative hazard and its variance."""

    groups: tuple[str, ...]
    time: tuple[np.ndarray, ...]
    n_risk: tuple[np.ndarray, ...]
    n_event: tuple[np.ndarray, ...]
    cumhaz: tuple[np.ndarray, ...]
    variance: tuple[np.ndarray, ...]
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    def std_err(self, group_index: int = 0) -> np.ndarray:
        return np.sqrt(self.variance[group_index])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_omitted": self.n_omitted,
            "notes": list(self.notes),
            "groups": [
                {"group": g, "table": [
                    {"time": t, "n_risk": r, "n_event": d, "cumhaz": h, "variance": v}
                    for t, r, d, h, v in zip(ts.tolist(), rs.tolist(), ds.tolist(), hs.tolist(), vs.tolist())
                ]}
                for g, ts, rs, ds, hs, vs in zip(self.groups, self.time, self.n_risk, self.n_event, self.cumhaz, self.variance)
            ]
        }

    def to_frame(self):
        import pandas as pd

        return pd.concat([
            pd.DataFrame({"group": g, "time": t, "n_risk": r, "n_event": d, "cumhaz": h, "variance": v})
            for g, t, r, d, h, v in zip(self.groups, self.time, self.n_risk, self.n_event, self.cumhaz, self.variance)
        ], ignore_index=True)

    def summary(self) -> str:
        from earlyphase.stats.cases import omitted_line

        lines = ["Nelson-Aalen cumulative hazard"] + [x for x in [omitted_line(self.n_omitted)] if x]
        lines += [f"  note: {n}" for n in self.notes]
        for g, t, r, d, h, v in zip(self.groups, self.time, self.n_risk, self.n_event, self.cumhaz, self.variance):
            lines.append(f"group={g}")
            lines.append(f"{'time':>10} {'n.risk':>7} {'n.event':>8} {'cumhaz':>9} {'std.err':>9}")
            for i in range(len(t)):
                lines.append(f"{t[i]:>10.6g} {r[i]:>7} {d[i]:>8} {h[i]:>9.4g} {np.sqrt(v[i]):>9.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def nelson_aalen_from_risk_set(risk_set: RiskSet) -> NelsonAalen:
    if risk_set.n_strata != 1:
        raise InputError.single("strata", list(risk_set.strata_levels), "one stratum", "cumulative hazards are per group; combine strata into the group.")
    out = {k: [] for k in ("time", "n_risk", "n_event", "cumhaz", "variance")}
    for g in range(risk_set.n_groups):
        t, r, d, _ = risk_set.cell(g, 0)
        rf = r.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = np.where(d == 0, 0.0, d / rf)
            inc2 = np.where(d == 0, 0.0, d / (rf * rf))
        out["time"].append(t)
        out["n_risk"].append(r)
        out["n_event"].append(d)
        out["cumhaz"].append(np.cumsum(inc))
        out["variance"].append(np.cumsum(inc2))
    return NelsonAalen(tuple(risk_set.group_levels), *(tuple(out[k]) for k in ("time", "n_risk", "n_event", "cumhaz", "variance")),
                       n_omitted=risk_set.n_omitted, notes=risk_set.notes)


def nelson_aalen(time: Any, event: Any, group: Any = None, entry: Any = None, weights: Any = None, *,
                 levels: Any = None, event_value: Any = None, na_action: str = "fail", timefix: bool = True) -> NelsonAalen:
    """Nelson–Aalen estimate per group (``entry``: delayed entry; ``weights``: integer case weights;
    ``levels``, ``event_value``, ``na_action``, ``timefix`` as :func:`earlyphase.stats.kaplan_meier`)."""
    return nelson_aalen_from_risk_set(build_risk_set(time, event, group=group, entry=entry, weights=weights, levels=levels,
                                                     event_value=event_value, na_action=na_action, timefix=timefix))
