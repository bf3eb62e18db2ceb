"""Digitiser exports and risk tables from the files people have; unreadable files named with their line."""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.external.readers import read_curve_csv, read_risk_table_csv


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_webplotdigitizer_single_dataset_without_header(tmp_path):
    p = _write(tmp_path, "wpd.csv", "0.0123456789, 99.8765\n3.51234, 80.1\n7.9, 61.25\n")
    curve = read_curve_csv(p)
    assert np.allclose(curve.survival, [0.998765, 0.801, 0.6125])  # percent found from the values
    assert np.allclose(curve.time, [0.0123456789, 3.51234, 7.9])


def test_webplotdigitizer_all_datasets_export_picks_the_named_curve(tmp_path):
    text = "Treatment,,Control,\nX,Y,X,Y\n0,1,0,1\n2,0.9,1,0.8\n4,0.7,,\n"
    p = _write(tmp_path, "all.csv", text)
    control = read_curve_csv(p, dataset="Control")
    assert list(control.time) == [0, 1] and list(control.survival) == [1, 0.8]
    assert list(read_curve_csv(p, dataset="Treatment").time) == [0, 2, 4]
    with pytest.raises(InputError) as err:
        read_curve_csv(p)
    assert "Treatment" in str(err.value) and "Control" in str(err.value)
    with pytest.raises(InputError) as err:
        read_curve_csv(p, dataset="Placebo")
    assert err.value.problems[0].field == "dataset"


def test_header_names_choose_columns_and_the_scale_can_be_forced(tmp_path):
    p = _write(tmp_path, "named.csv", "arm,survival,time\nA,1.0,0\nA,0.5,6\n")
    curve = read_curve_csv(p)
    assert list(curve.time) == [0, 6] and list(curve.survival) == [1.0, 0.5]
    q = _write(tmp_path, "low.csv", "time,surv\n0,1\n5,0.9\n")
    assert np.allclose(read_curve_csv(q, scale="percent").survival, [0.01, 0.009])


def test_semicolons_with_decimal_commas(tmp_path):
    p = _write(tmp_path, "eu.csv", "0;100\n2,5;87,5\n5;50\n")
    curve = read_curve_csv(p)
    assert list(curve.time) == [0, 2.5, 5] and list(curve.survival) == [1.0, 0.875, 0.5]


@pytest.mark.parametrize("text, field, row", [
    ("0,1\n2,abc\n", "survival", 2),
    ("time,survival\n0,1\nx,0.5\n", "time", 3),
    ("0,1\n2,130\n", "survival", 2),
])
def test_bad_curve_rows_are_named(tmp_path, text, field, row):
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as err:
        read_curve_csv(p)
    problem = err.value.problems[0]
    assert (problem.field, problem.row) == (field, row) and problem.file == str(p)


def test_missing_empty_and_binary_files(tmp_path):
    for path, rule in ((tmp_path / "nope.csv", "file_exists"), (_write(tmp_path, "e.csv", "\n\n"), "not_empty")):
        with pytest.raises(InputError) as err:
            read_curve_csv(path)
        assert err.value.problems[0].rule == rule
    b = tmp_path / "b.csv"
    b.write_bytes(b"\x00\x01\x02PK")
    with pytest.raises(InputError) as err:
        read_risk_table_csv(b)
    assert err.value.problems[0].rule == "text_file"


def test_risk_table_long_wide_and_headerless(tmp_path):
    long = _write(tmp_path, "long.csv", "interval,trisk,lower,nrisk,Arm\n1,0,,80,X\n2,3,,79,X\n")
    t = read_risk_table_csv(long)
    assert list(t.time) == [0, 3] and list(t.n_risk) == [80, 79]
    wide = _write(tmp_path, "wide.csv", "Months,0,6,12,18\nAt risk,40,31,20,9\n")
    t = read_risk_table_csv(wide)
    assert list(t.time) == [0, 6, 12, 18] and list(t.n_risk) == [40, 31, 20, 9]
    bare = _write(tmp_path, "bare.csv", "0,40\n6,31\n")
    assert list(read_risk_table_csv(bare).n_risk) == [40, 31]


def test_risk_table_problems_are_all_listed(tmp_path):
    p = _write(tmp_path, "r.csv", "time,n_risk\n0,40\n6,x\n3,45\n")
    with pytest.raises(InputError) as err:
        read_risk_table_csv(p)
    assert {(q.field, q.row) for q in err.value.problems} == {("n_risk", 3)}
    q = _write(tmp_path, "r2.csv", "time,n_risk\n0,40\n6,41\n3,30\n")
    with pytest.raises(InputError) as err:
        read_risk_table_csv(q)
    assert {q.rule for q in err.value.problems} == {"not_rising", "increasing"}
    u = _write(tmp_path, "r3.csv", "when,who,what\n0,40,1\n")
    with pytest.raises(InputError) as err:
        read_risk_table_csv(u)
    assert "time and n_risk" in str(err.value)
