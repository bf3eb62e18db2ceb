"""Property tests: no design recommends an eliminated level or skips an untried one, and
decisions are monotone in the number of DLTs at the current level."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign

DESIGNS = [
    BoinDesign(target=0.3),
    BoinDesign(target=0.25, n_earlystop=12, extrasafe=True),
    KeyboardDesign(target=0.3),
    I3plus3Design(target=0.25),
    ThreePlusThreeDesign(),
    ThreePlusThreeDesign(deescalation=False),
    CrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35, 0.5), target=0.25),
    CrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35, 0.5), target=0.25, model="logistic", no_skip=False),
]


@st.composite
def trial_state(draw):
    L = 5
    top = draw(st.integers(0, L - 1))  # levels 1..top+1 tried, contiguous as designs proceed
    n = [draw(st.integers(1, 12)) if i <= top else 0 for i in range(L)]
    y = [draw(st.integers(0, n[i])) for i in range(L)]
    cur = draw(st.integers(0, top))
    design = draw(st.sampled_from(DESIGNS))
    return design, n, y, cur


@settings(max_examples=300, deadline=None)
@given(trial_state())
def test_never_eliminated_never_skipping(state):
    design, n, y, cur = state
    dec = design.decide(n, y, cur + 1, last_cohort_dlt=0)
    if dec.next_level is None:
        assert dec.decision in {"stop"}
        return
    assert dec.next_level not in dec.eliminated
    highest_tried = max(i + 1 for i in range(len(n)) if n[i] > 0)
    assert dec.next_level <= max(highest_tried, cur + 1) + 1
    if dec.next_level > cur + 1 and getattr(design, "no_skip", True):
        assert dec.next_level == cur + 2  # escalation: one level at a time
    if dec.next_level < cur and design.name != "crm":
        # a jump down happens only from a level above an eliminated one, to just below it
        assert cur + 1 in dec.eliminated and dec.next_level + 1 == min(dec.eliminated)
    if dec.decision == "escalate" and getattr(design, "no_skip", True):
        assert dec.next_level == cur + 2


@settings(max_examples=300, deadline=None)
@given(trial_state())
def test_monotone_in_dlt_count(state):
    """More DLTs at the current level never lead to a higher next level. A stop with no MTD
    (safety) ranks lowest; a stop that selects an MTD (sample size reached) is not ranked."""
    design, n, y, cur = state
    seq = []
    for k in range(0, n[cur] + 1):
        yy = list(y)
        yy[cur] = k
        dec = design.decide(n, yy, cur + 1, last_cohort_dlt=0)
        if dec.decision == "stop":
            seq.append(0 if dec.mtd is None else None)
        else:
            seq.append(dec.next_level)
    vals = [v for v in seq if v is not None]
    assert all(a >= b for a, b in zip(vals, vals[1:])), (design.name, n, y, cur, seq)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.sampled_from([0.2, 0.25, 0.3, 0.33]))
def test_interval_tables_monotone(n, target):
    for design in (BoinDesign(target=target), KeyboardDesign(target=target), I3plus3Design(target=target)):
        rule, elim = design.decision_codes(max(n, 1))
        row = rule[n, : n + 1]
        assert np.all(np.diff(row.astype(int)) <= 0)
        e = elim[n, : n + 1]
        assert np.all(np.diff(e.astype(int)) >= 0)


@settings(max_examples=300, deadline=None)
@given(trial_state(), st.sampled_from([0.2, 0.25, 0.3]))
def test_selected_mtd_is_tried_and_not_eliminated(state, target):
    from earlyphase.design import select_mtd

    _, n, y, _ = state
    sel = select_mtd(target, n, y)
    if sel.mtd is not None:
        assert n[sel.mtd - 1] > 0
        assert sel.mtd not in sel.eliminated
    for design in DESIGNS:
        m = int(design.select_many(np.array([n], float), np.array([y], float))[0])
        if m >= 0:
            assert n[m] > 0
