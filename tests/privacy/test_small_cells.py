"""Complementary suppression of small cells: no row or column is left with one suppressed count."""

from __future__ import annotations

import pytest

from earlyphase.privacy import complementary_cells


def _single_hidden_lines(counts, hidden):
    bad = []
    for i, row in enumerate(counts):
        members = [(i, j) for j, v in enumerate(row) if v is not None]
        if sum(c in hidden for c in members) == 1 and len(members) > 1:
            bad.append(("row", i))
    for j in range(max(len(r) for r in counts)):
        members = [(i, j) for i in range(len(counts)) if j < len(counts[i]) and counts[i][j] is not None]
        if sum(c in hidden for c in members) == 1 and len(members) > 1:
            bad.append(("column", j))
    return bad


def test_one_small_cell_in_a_row_with_a_total_gets_a_partner():
    # groups A, B, C and the row total: A = 2 alone would be 9 - (4 + 3)
    counts = [[2, 4, 3, 9], [5, 6, 7, 18]]
    hidden = {(0, 0)}
    assert _single_hidden_lines(counts, hidden)  # the check could fail
    extra = complementary_cells(counts, hidden)
    assert (0, 2) in extra  # the smallest other count of the row
    assert not _single_hidden_lines(counts, hidden | extra)


def test_zeros_are_complements_only_when_nothing_else_is_left():
    assert complementary_cells([[1, 0, 5]], {(0, 0)}) == {(0, 2)}
    assert complementary_cells([[1, 0]], {(0, 0)}) == {(0, 1)}


def test_a_lone_count_cannot_be_protected_and_is_left():
    assert complementary_cells([[1, None, None]], {(0, 0)}) == set()


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_end_with_no_single_suppressed_count(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 8, size=(rng.integers(1, 7), rng.integers(1, 6))).tolist()
    hidden = {(i, j) for i, row in enumerate(counts) for j, v in enumerate(row) if 0 < v < 3}
    extra = complementary_cells(counts, hidden)
    assert not extra & hidden
    assert not _single_hidden_lines(counts, hidden | extra)
