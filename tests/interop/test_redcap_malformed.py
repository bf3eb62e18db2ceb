"""The REDCap door meets bad input: each malformed dictionary, records file or project XML (generated here from
a good one) gets an error naming the file, the row or record, the field, the value and the rule; the CLI exits
1 with one message and no traceback; and the database is unchanged (every row, the audit log's head too)."""

from __future__ import annotations

import csv
import io

import pytest

from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.errors import InputError
from earlyphase.interop.redcap.dictionary import COLUMNS
from redcap_files import db_content

USER = "coordinator1"
GOOD = [
    ["record_id", "visit_form", "", "text", "Record ID"] + [""] * 13,
    ["sex_code", "visit_form", "", "radio", "Sex", "0, Female | 1, Male"] + [""] * 12,
    ["pregnant", "visit_form", "", "yesno", "Pregnant?", "", "", "", "", "", "", "[sex_code] = '0'"] + [""] * 6,
    ["weight", "visit_form", "", "text", "Weight", "", "Unit: kg.", "number", "30", "250"] + [""] * 8,
    ["symptoms", "visit_form", "", "checkbox", "Symptoms", "1, Cough | 2, Rash"] + [""] * 12,
    ["seen_on", "visit_form", "", "text", "Seen on", "", "", "date_ymd"] + [""] * 10,
]
RECORDS = [["record_id", "redcap_event_name", "sex_code", "pregnant", "weight", "symptoms___1", "symptoms___2",
            "seen_on", "visit_form_complete"],
           ["P1", "week_1_arm_1", "0", "1", "70.5", "1", "0", "2021-03-04", "2"],
           ["P2", "week_1_arm_1", "1", "", "81", "0", "1", "2021-03-05", "1"]]
PROJECT = """<?xml version="1.0" encoding="UTF-8" ?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org" ODMVersion="1.3.1">
<Study OID="Project.T"><GlobalVariables><StudyName>Malformed base</StudyName></GlobalVariables>
<MetaDataVersion OID="M" Name="M">
<StudyEventDef OID="Event.week_1_arm_1" Name="Week 1" Type="Common" Repeating="No" redcap:EventName="Week 1"
  redcap:UniqueEventName="week_1_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm 1" redcap:DayOffset="7"
  redcap:OffsetMin="1" redcap:OffsetMax="2">
  <FormRef FormOID="Form.visit_form" OrderNumber="1" Mandatory="No" redcap:FormName="visit_form"/>
</StudyEventDef>
</MetaDataVersion></Study></ODM>
"""


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _dictionary(rows=None) -> str:
    return _csv([list(COLUMNS)] + [list(r) for r in (rows or GOOD)])


def _with(index: int, column: str, value: str):
    rows = [list(r) for r in GOOD]
    rows[index][COLUMNS.index(column)] = value
    return _dictionary(rows)


def _records(change=None) -> str:
    rows = [list(r) for r in RECORDS]
    if change:
        change(rows)
    return _csv(rows)


def _set(row: int, column: str, value: str):
    def change(rows):
        rows[row][rows[0].index(column)] = value
    return change


def _new(column: str, value: str):
    """Row 2 as a new form of patient P3 (enrolled, no form yet) with one bad value: capture's checks refuse it."""
    def change(rows):
        rows[2][0] = "P3"
        rows[2][rows[0].index(column)] = value
    return change


# (id, dictionary text or bytes, records text or bytes, project text, (file, field, rule) the first problem names)
CASES = [
    ("unknown-field-type", _with(1, "Field Type", "radiobutton"), None, None, ("dictionary.csv", "sex_code", "field-type")),
    ("wrong-columns", _csv([list(COLUMNS[:-1])] + [r[:-1] for r in GOOD]), None, None,
     ("dictionary.csv", "header", "redcap-columns")),
    ("renamed-column", _csv([["Variable"] + list(COLUMNS[1:])] + GOOD), None, None,
     ("dictionary.csv", "header", "redcap-columns")),
    ("short-row", _dictionary(GOOD[:2] + [GOOD[2][:10]]), None, None, ("dictionary.csv", "(row)", "column-count")),
    ("choice-without-label", _with(1, "Choices, Calculations, OR Slider Labels", "0 Female | 1, Male"), None, None,
     ("dictionary.csv", "sex_code", "choices")),
    ("choice-code-repeated", _with(1, "Choices, Calculations, OR Slider Labels", "0, Female | 0, Male"), None, None,
     ("dictionary.csv", "sex_code", "choices")),
    ("choices-missing", _with(4, "Choices, Calculations, OR Slider Labels", ""), None, None,
     ("dictionary.csv", "symptoms", "choices")),
    ("choices-on-text", _with(3, "Choices, Calculations, OR Slider Labels", "1, One"), None, None,
     ("dictionary.csv", "weight", "choices")),
    ("branching-does-not-parse", _with(2, "Branching Logic (Show field only if...)", "[sex_code] = = '0'"), None, None,
     ("dictionary", "pregnant", "branching-logic")),
    ("branching-unknown-field", _with(2, "Branching Logic (Show field only if...)", "[gender] = '0'"), None, None,
     ("dictionary", "pregnant", "branching-logic")),
    ("branching-checkbox-test-on-radio", _with(2, "Branching Logic (Show field only if...)", "[sex_code(0)] = '1'"),
     None, None, ("dictionary", "pregnant", "branching-logic")),
    ("variable-repeated", _dictionary(GOOD + [GOOD[3]]), None, None, ("dictionary.csv", "weight", "unique-variable")),
    ("variable-upper-case", _with(3, "Variable / Field Name", "Weight"), None, None,
     ("dictionary.csv", "Weight", "variable-name")),
    ("unknown-validation", _with(3, "Text Validation Type OR Show Slider Number", "decimal"), None, None,
     ("dictionary.csv", "weight", "validation")),
    ("validation-on-radio", _with(1, "Text Validation Type OR Show Slider Number", "integer"), None, None,
     ("dictionary.csv", "sex_code", "validation")),
    ("min-above-max", _with(3, "Text Validation Min", "300"), None, None, ("dictionary.csv", "weight", "validation-bounds")),
    ("min-not-a-number", _with(3, "Text Validation Min", "heavy"), None, None,
     ("dictionary.csv", "weight", "validation-bounds")),
    ("identifier-flag", _with(3, "Identifier?", "yes"), None, None, ("dictionary.csv", "weight", "flag-y")),
    ("form-split", _dictionary(GOOD[:2] + [["other", "second_form", "", "text", "Other"] + [""] * 13] + GOOD[2:]), None,
     None, ("dictionary.csv", "pregnant", "form-contiguous")),
    ("empty-dictionary", "", None, None, ("dictionary.csv", "header", "header")),
    ("nul-in-dictionary", _dictionary().replace("Weight", "We\x00ight"), None, None, ("dictionary.csv", "file", "no-nul")),
    ("dictionary-cp1252", _dictionary().replace("Weight", "Gewicht \u00e4").encode("cp1252"), None, None,
     ("dictionary.csv", "file", "utf-8")),
    ("dictionary-utf16", _dictionary().encode("utf-16"), None, None, ("dictionary.csv", "file", "utf-8")),
    ("records-unknown-column", None, _records(lambda r: r[0].__setitem__(4, "weight_kg")), None,
     ("records.csv", "weight_kg", "known-column")),
    ("records-record-id-not-first", None, _records(lambda r: [row.insert(0, row.pop(2)) for row in r]), None,
     ("records.csv", "sex_code", "record-id-first")),
    ("orphan-event", None, _records(_set(2, "redcap_event_name", "week_9_arm_1")), PROJECT,
     ("records.csv[record P2, event week_9_arm_1]", "redcap_event_name", "event-known")),
    ("orphan-record", None, _records(_set(2, "record_id", "P9")), None,
     ("records.csv[record P9, event week_1_arm_1]", "subject_id", None)),
    ("blank-record-id", None, _records(_set(2, "record_id", "")), None,
     ("records.csv[record ?, event week_1_arm_1]", "record_id", "record-id")),
    ("checkbox-not-0-1", None, _records(_set(1, "symptoms___2", "2")), None,
     ("records.csv[record P1, event week_1_arm_1]", "symptoms___2", "checkbox-0-1")),
    ("form-status-5", None, _records(_set(1, "visit_form_complete", "5")), None,
     ("records.csv[record P1, event week_1_arm_1]", "visit_form_complete", "form-status")),
    ("repeat-instance-text", None, _records(lambda r: ([row.extend(v) for row, v in zip(
        r, [["redcap_repeat_instrument", "redcap_repeat_instance"], ["visit_form", "first"], ["", ""]])])), None,
     ("records.csv[record P1, event week_1_arm_1]", "redcap_repeat_instance", "repeat-instance")),
    ("value-not-a-code", None, _records(_new("sex_code", "7")), None,
     ("records.csv[record P3, event week_1_arm_1]", "sex_code", "code")),
    ("value-not-a-number", None, _records(_new("weight", "heavy")), None,
     ("records.csv[record P3, event week_1_arm_1]", "weight", "type-float")),
    ("value-not-a-date", None, _records(_new("seen_on", "04/03/2021")), None,
     ("records.csv[record P3, event week_1_arm_1]", "seen_on", "type-date")),
    ("hidden-field-given", None, _records(_new("pregnant", "1")), None,
     ("records.csv[record P3, event week_1_arm_1]", "pregnant", "hidden-field")),
    ("records-empty", None, "", None, ("records.csv", "header", "header")),
    ("records-latin1", None, _records(_set(1, "record_id", "P\u00e91")).encode("latin-1"), None,
     ("records.csv", "file", "utf-8")),
    ("records-short-row", None, _records(lambda r: r[2].pop()), None, ("records.csv", "(row)", "row-length")),
    ("project-doctype", None, None, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><ODM/>',
     ("project.xml", "project", "no-doctype")),
    ("project-not-xml", None, None, "<ODM><Study>", ("project.xml", "project", "xml")),
    ("project-not-odm", None, None, "<?xml version='1.0'?><html/>", ("project.xml", "project", "odm")),
]


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A database made from the good base project (two records in), every case is tried against."""
    from earlyphase.interop.redcap import import_redcap

    folder = tmp_path_factory.mktemp("base")
    (folder / "dictionary.csv").write_text(_dictionary(), encoding="utf-8")
    (folder / "records.csv").write_text(_records(), encoding="utf-8")
    (folder / "project.xml").write_text(PROJECT, encoding="utf-8")
    (folder / "patients.csv").write_text("subject_id,site,sex,birth_year,ecog,consent_date\n"
                                         "P1,SITE1,F,1980,0,2021-01-04\nP2,SITE1,M,1975,1,2021-01-05\n"
                                         "P3,SITE1,M,1971,0,2021-01-06\n", encoding="utf-8")
    url = f"sqlite:///{folder / 'trial.db'}"
    import_redcap(folder / "dictionary.csv", folder / "records.csv", project=folder / "project.xml", db=url,
                  patients=folder / "patients.csv", username=USER)
    return folder, url


def test_there_are_at_least_fifteen_cases():
    assert len(CASES) >= 15 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_refused_and_nothing_changes(case, trial, tmp_path, capsys):
    from earlyphase.interop.redcap import import_redcap

    name, dictionary, records, project, (file, field, rule) = case
    base, url = trial
    for target, content, default in (("dictionary.csv", dictionary, base / "dictionary.csv"),
                                     ("records.csv", records, base / "records.csv"),
                                     ("project.xml", project, base / "project.xml")):
        path = tmp_path / target
        if content is None:
            path.write_bytes(default.read_bytes())
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = db_content(url)
    with pytest.raises(InputError) as err:
        import_redcap(tmp_path / "dictionary.csv", tmp_path / "records.csv", project=tmp_path / "project.xml", db=url,
                      out=tmp_path / "draft.yaml", username=USER)
    first = err.value.problems[0]
    assert (first.file, first.field) == (file, field), str(err.value)
    if rule is not None:
        assert first.rule == rule, str(err.value)
    else:
        assert "P9" in first.message, str(err.value)  # the unknown patient is named
    assert db_content(url) == before and not (tmp_path / "draft.yaml").exists()
    capsys.readouterr()
    code = run_app(app, ["interop", "redcap", "import", "--dictionary", str(tmp_path / "dictionary.csv"), "--records",
                         str(tmp_path / "records.csv"), "--project", str(tmp_path / "project.xml"), "--db", url,
                         "--out", str(tmp_path / "draft.yaml"), "--user", USER])
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.err + printed.out and field in printed.err
    assert db_content(url) == before
