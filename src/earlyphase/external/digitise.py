"""Draw patient data as a published figure shows it, then read it back as a digitiser would.

Used to validate the reconstruction on data whose truth is known: the Kaplan–Meier curve of the patients
becomes points at the top and the foot of every step (and at the end of follow-up), rounded to the plotting
resolution, and the numbers at risk are printed every ``risk_every`` time units, as under a journal figure.
"""

from __future__ import annotations

import numpy as np

from earlyphase.external.curve import DigitisedCurve, RiskTable
from earlyphase.stats import kaplan_meier

__all__ = ["digitise_km"]


def digitise_km(time, event, *, risk_every: float, time_resolution: float = 0.05,
                survival_resolution: float = 0.001) -> tuple[DigitisedCurve, RiskTable]:
    """The digitised curve and risk table a reader would take from the KM figure of (time, event).

    ``time_resolution`` and ``survival_resolution``: the grid the digitiser's points fall on (a pixel of
    the figure in each axis' unit). ``risk_every``: spacing of the risk-table times, from 0.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    km = kaplan_meier(time, event)
    c = km[km.groups[0]]
    jumps = c.n_event > 0
    jt, js = c.time[jumps], c.survival[jumps]
    before = np.concatenate([[1.0], js[:-1]])
    last = float(time.max())
    t = np.concatenate([np.ravel(np.column_stack([jt, jt])), [last]])
    s = np.concatenate([np.ravel(np.column_stack([before, js])), [js[-1] if len(js) else 1.0]])
    t = np.round(t / time_resolution) * time_resolution
    s = np.round(s / survival_resolution) * survival_resolution
    table_t = np.arange(0.0, last + 1e-9, risk_every)
    table_n = np.array([(time >= x).sum() for x in table_t], dtype=int)
    return DigitisedCurve.from_points(t, s), RiskTable.from_rows(table_t, table_n)
