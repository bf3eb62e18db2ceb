"""Property tests of the live recommendation: whatever the counts, the pending patients and the sealed
decisions, it is never an eliminated level, never above what the sealed decisions allow, and never skips
an untested level; and the chain of decisions always leaves a consistent set of open levels."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from earlyphase.capture.decisions import DecisionView, fold_decisions
from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.live_recommendation import within_open_levels

L = 5
CODES = ["A", "B", "C", "D", "E"]
DESIGNS = [
    BoinDesign(target=0.3),
    BoinDesign(target=0.25, n_earlystop=9, extrasafe=True),
    KeyboardDesign(target=0.3),
    I3plus3Design(target=0.25),
    ThreePlusThreeDesign(),
    ThreePlusThreeDesign(deescalation=False),
    CrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35, 0.5), target=0.25),
]


@st.composite
def live_state(draw):
    """Counts at levels up to the highest ever opened, the current level among them, some pending patients,
    and the highest level open now (0 after a stop; below the highest ever after a de-escalation)."""
    ever = draw(st.integers(1, L))
    open_now = draw(st.integers(0, ever))
    top = draw(st.integers(0, ever - 1))  # levels 1..top+1 tried
    n = [draw(st.integers(1, 9)) if i <= top else 0 for i in range(L)]
    y = [draw(st.integers(0, n[i])) for i in range(L)]
    cur = draw(st.integers(0, top))
    pending = [[] for _ in range(L)]
    for i in range(top + 1):
        k = draw(st.integers(0, min(2, n[i] - y[i])))
        pending[i] = [draw(st.floats(0.0, 0.95)) for _ in range(k)]
    design = draw(st.sampled_from(DESIGNS))
    tite = design.supports_tite and draw(st.booleans())
    return design, n, y, cur, pending, open_now, tite


@settings(max_examples=250, deadline=None)
@given(live_state())
def test_live_recommendation_is_admissible(state):
    design, n, y, cur, pending, open_now, tite = state
    raw = design.decide(n, y, cur + 1, last_cohort_dlt=0, pending=pending, tite=tite)
    dec = within_open_levels(raw, open_now, 1, "test")
    if dec.next_level is None:
        assert dec.decision in ("stop", "wait")
        return
    nxt = dec.next_level
    assert nxt not in dec.eliminated and nxt not in raw.eliminated  # never an eliminated level
    highest_tried = max(i + 1 for i in range(L) if n[i] > 0)
    assert nxt <= highest_tried + 1 and nxt <= cur + 2  # never skips an untested level
    assert open_now >= 1  # after a stop there is no next level
    if nxt > open_now:  # above the sealed decisions only as the one level a new decision must open
        assert nxt == open_now + 1 and dec.decision == "escalate" and dec.details["requires_decision"] is True
    else:
        assert dec.details["requires_decision"] is False


@st.composite
def decision_chain(draw):
    """Sealed decisions as capture accepts them (escalate one level up, de-escalate below, stay at an open
    level, expand an opened one, stop), built step by step from the folded state."""
    views, day = [], date(2015, 1, 1)
    for i in range(draw(st.integers(0, 8))):
        state = fold_decisions(views, CODES)
        options = []
        if not state.stopped:
            if state.highest < L:
                options.append(("escalate", state.highest + 1))
            if state.highest > 1:
                options.append(("de-escalate", draw(st.integers(1, state.highest - 1))))
            if state.highest >= 1:
                options.append(("stay", draw(st.integers(1, state.highest))))
            options.append(("stop", None))
        options.append(("expand", draw(st.integers(1, state.highest_ever))))
        word, level = draw(st.sampled_from(options))
        opened = CODES[level - 1] if word in ("escalate", "expand") else None
        closed = CODES[level] if word == "de-escalate" else (CODES[0] if word == "stop" else None)
        day += timedelta(days=draw(st.integers(0, 20)))
        views.append(DecisionView(
            id=i + 1, decision_date=day, decision=word, group=CODES[level - 1] if level else None, level=level,
            level_opened=opened, level_closed=closed, rationale="r", decided_by="x", investigator="x",
            recommendation_text=None, recommendation=None, signed_by="x", signed_at="t",
            seal=draw(st.sampled_from(["sealed", "sealed", "sealed", "unsealed"]))))
    return views


@settings(max_examples=200, deadline=None)
@given(decision_chain())
def test_open_levels_follow_the_sealed_decisions(views):
    state = fold_decisions(views, CODES)
    sealed = [v for v in views if v.seal == "sealed"]
    assert 0 <= state.highest <= state.highest_ever <= L
    if not sealed:
        assert (state.highest, state.by) == (1, None)
        return
    last = sealed[-1]
    assert state.by is last and state.stopped == (last.decision == "stop")
    if last.level_opened:
        assert state.highest == CODES.index(last.level_opened) + 1
    if last.level_closed:
        assert state.highest == CODES.index(last.level_closed)
    # on a date before the first sealed decision only the protocol's level 1 is open
    assert fold_decisions(views, CODES, on=sealed[0].decision_date - timedelta(days=1)).highest == 1
