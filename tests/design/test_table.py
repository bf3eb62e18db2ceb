"""Decision tables: text, CSV, figure, and user-supplied tables.

Keyboard / mTPI-2 is checked against its definition (Yan, Mandrekar & Yuan 2017): the
key of width 0.1 with the largest Beta(1 + y, 1 + n - y) mass, computed here by direct
numerical integration of the density rather than the CDF used in the code.
"""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import beta as beta_dist

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.simulate import simulate
from earlyphase.design.table import decision_table, read_decision_table
from earlyphase.errors import InputError


def test_boin_table_matches_boundaries():
    from earlyphase.design import boin_boundaries

    t = decision_table(BoinDesign(target=0.3), 12)
    b = boin_boundaries(0.3, 12)
    for row, letters in zip(b.rows, t.letters):
        assert letters[row["escalate_if_at_most"]] == "E"
        assert letters[row["deescalate_if_at_least"]] in {"D", "DU"}
        if row["eliminate_if_at_least"] is not None:
            assert letters[row["eliminate_if_at_least"]] == "DU"


def test_keyboard_against_definition():
    target = 0.25
    d = KeyboardDesign(target=target)
    rule, _ = d.decision_codes(12)
    keys = [(0.2 - 0.1 * k, 0.3 - 0.1 * k) for k in (2, 1)] + [(0.2, 0.3)] + [(0.3 + 0.1 * k, 0.4 + 0.1 * k) for k in range(7)]
    for n in range(1, 13):
        for y in range(n + 1):
            mass = [integrate.quad(lambda x: beta_dist.pdf(x, 1 + y, 1 + n - y), a, b)[0] for a, b in keys]
            best = int(np.argmax(mass))
            expected = 1 if best < 2 else (0 if best == 2 else -1)
            assert rule[n, y] == expected or (expected != -1 and rule[n, y] == -1 and beta_dist.sf(target, y + 1, n - y + 1) > 0.95)


def test_i3plus3_rules():
    d = I3plus3Design(target=0.25)
    t = decision_table(d, 9)
    # 1/3 = 0.333 above [0.20, 0.30] and 0/3 below it: stay; 2/6 likewise
    assert t.letters[2][1] == "S"
    assert t.letters[5][2] == "S"
    # 2/3: (2-1)/3 = 0.333 not below the interval: de-escalate
    assert t.letters[2][2] == "D"
    assert t.letters[3][1] == "S"  # 1/4 = 0.25 inside


def test_text_csv_png(tmp_path):
    t = decision_table(BoinDesign(target=0.25), 10)
    assert "DLTs \\ patients" in t.summary()
    csv_text = t.to_csv()
    assert csv_text.splitlines()[0] == "n,y,decision"
    assert len(csv_text.splitlines()) == 1 + sum(n + 1 for n in range(1, 11))
    png = tmp_path / "table.png"
    t.plot(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert decision_table(ThreePlusThreeDesign(), 6).letters[2] == ("E", "S", "DU", "DU")
    with pytest.raises(InputError):
        decision_table(CrmDesign(skeleton=(0.1, 0.2), target=0.2))


def test_user_table_round_trip_behaves_like_source(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(decision_table(BoinDesign(target=0.3), 30).to_csv())
    user = read_decision_table(path, 0.3)
    assert user.decide([3, 6, 0], [0, 1, 0], 2).decision == "escalate"
    a = simulate(user, [0.1, 0.2, 0.3, 0.45], trials=2000, seed=1, n_cohorts=8)
    b = simulate(BoinDesign(target=0.3), [0.1, 0.2, 0.3, 0.45], trials=2000, seed=1, n_cohorts=8)
    assert a.selection_percent == b.selection_percent


def test_user_table_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("n,y,decision\n1,0,E\n1,1,X\n")
    with pytest.raises(InputError) as err:
        read_decision_table(bad, 0.3)
    assert err.value.problems[0].row == 3
    gap = tmp_path / "gap.csv"
    gap.write_text("n,y,decision\n1,0,E\n2,0,E\n2,1,S\n2,2,D\n")
    with pytest.raises(InputError):
        read_decision_table(gap, 0.3)
