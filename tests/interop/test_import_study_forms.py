"""The import door for a study's own forms: every field type, range, show-if and repeat on good and bad rows.

A bad row is named by file, row, column, value and rule; the import writes nothing (all or nothing). The
study: tests/capture/data/forms-study.yaml (a screening form with every field type, a repeating labs form).
"""

from __future__ import annotations

from known_users import add_users
import csv
import json
from pathlib import Path

import pytest

from earlyphase.cli import app
from earlyphase.cli.common import run_app

STUDY = Path(__file__).resolve().parents[1] / "capture" / "data" / "forms-study.yaml"
SCREENING = dict(subject_id="F01", smoker="yes", pack_years="20", diagnosis_date="2019-11", histology="adeno",
                 histology_other="", symptoms="cough|pain", local_ecog="1", lesion_count="3",
                 biopsy_date="2020-02-20", notes="no remarks")
LABS = [dict(subject_id="F01", visit="LAB-1", instance="1", lab_date="2020-03-10", hb="12.5", fasting="no"),
        dict(subject_id="F01", visit="LAB-1", instance="2", lab_date="2020-03-11", hb="12.1", fasting="yes")]


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _site_files(folder: Path, screening: dict, labs: list[dict] | None = None) -> Path:
    folder.mkdir()
    _write(folder / "patients.csv", [dict(subject_id="F01", site="S1", sex="F", birth_year="1970", ecog="1",
                                          consent_date="2020-03-01")])
    _write(folder / "eligibility_answers.csv", [dict(subject_id="F01", criterion="I1", answer="yes"),
                                                dict(subject_id="F01", criterion="E1", answer="no")])
    _write(folder / "screening.csv", [screening])
    if labs:
        _write(folder / "labs.csv", labs)
    return folder


@pytest.fixture
def db(tmp_path, capsys):
    path = tmp_path / "trial.db"
    assert run_app(app, ["init", "--db", str(path), "--study", str(STUDY), "--user", "dm"]) == 0
    add_users(path, "site")
    capsys.readouterr()
    return str(path)


def _import(capsys, db: str, folder: Path, *extra: str) -> tuple[int, str, str]:
    code = run_app(app, ["import", "--db", db, str(folder), "--user", "site", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _patients(db: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from patients").fetchone()[0] + \
            conn.execute("select count(*) from form_records").fetchone()[0]


def test_good_rows_of_every_field_type_import(db, tmp_path, capsys):
    code, out, err = _import(capsys, db, _site_files(tmp_path / "in", SCREENING, LABS), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["written"] == {"patients": 1, "screening": 1, "labs": 2}


# the import reads each cell as its field's type first (rules type-*), then capture checks the values
@pytest.mark.parametrize("change, column, value, rule", [
    ({"smoker": "perhaps"}, "smoker", "perhaps", "type-bool"),                         # yes/no
    ({"pack_years": "twenty"}, "pack_years", "twenty", "type-float"),                    # decimal
    ({"pack_years": "250"}, "pack_years", "250", "range"),                           # hard range
    ({"pack_years": "150"}, "pack_years", "150", "soft-range"),                      # soft range, not confirmed
    ({"diagnosis_date": "2019-13"}, "diagnosis_date", "2019-13", "partial-date"),    # partial date
    ({"histology": "oat cell"}, "histology", "oat cell", "code"),                    # single choice
    ({"symptoms": "cough|itch"}, "symptoms", "itch", "code"),                        # multiple choice
    ({"lesion_count": "2.5"}, "lesion_count", "2.5", "type-int"),                     # integer
    ({"biopsy_date": "2020-02-30"}, "biopsy_date", "2020-02-30", "type-date"),            # date
    ({"histology": "other"}, "histology_other", "", "required"),                     # show-if shown: required
    ({"histology_other": "sarcomatoid"}, "histology_other", "sarcomatoid", "hidden-field"),  # show-if hidden
    ({"histology": "other", "histology_other": "x" * 41}, "histology_other", "x" * 41, "max-length"),  # text
    ({"biopsy_date": "2020-03-05"}, "biopsy_date", "2020-03-05", "biopsy-before-consent"),  # form check
])
def test_a_bad_value_is_named_and_nothing_is_written(db, tmp_path, capsys, change, column, value, rule):
    code, _, err = _import(capsys, db, _site_files(tmp_path / "in", {**SCREENING, **change}, LABS))
    assert code == 1
    assert "screening.csv, row 2" in err and column in err and f"[{rule}]" in err, err
    if value:
        assert value in err
    assert "Traceback" not in err
    assert _patients(db) == 0


def test_a_confirmed_soft_range_value_imports(db, tmp_path, capsys):
    row = {**SCREENING, "pack_years": "150", "confirm_warnings": "yes"}
    code, _, err = _import(capsys, db, _site_files(tmp_path / "in", row, LABS))
    assert code == 0, err


@pytest.mark.parametrize("labs, words", [
    ([LABS[0], {**LABS[1], "instance": "1"}], "[duplicate-row]"),   # the same repeat twice in one file
    ([LABS[0], {**LABS[1], "visit": "LAB"}], "[visit-occurrence]"),  # a repeating visit needs its occurrence
    ([LABS[0], {**LABS[1], "hb": "31"}], "[range]"),
    ([LABS[0], {**LABS[1], "lab_date": ""}], "[required]"),
])
def test_bad_repeats_are_refused(db, tmp_path, capsys, labs, words):
    code, _, err = _import(capsys, db, _site_files(tmp_path / "in", SCREENING, labs))
    assert code == 1 and "labs.csv" in err and words in err, err
    assert _patients(db) == 0
