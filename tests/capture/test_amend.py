"""Protocol versions: every version kept with its SHA-256 and who/when; records carry the version they were
entered under; an amendment may grow the study but not orphan or mistype what is stored."""

from __future__ import annotations

from known_users import add_users
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from capture_helpers import TODAY, counts, open_level
from earlyphase.capture import initialise
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session, verify_audit
from earlyphase.records.tables import AuditEntry, FormRecord, Patient, ProtocolVersion, StudyRecord

STUDY = Path(__file__).parent / "data" / "forms-study.yaml"
PERSON = dict(site="S1", sex="F", birth_year=1970, ecog=1, consent_date="2020-03-01",
              eligibility={"I1": True, "E1": False})
SCREENING = dict(smoker="no", histology="adeno", lesion_count=3, biopsy_date="2020-02-20")


@pytest.fixture
def trial(engine):
    trial = initialise(engine, STUDY, "tester", today=TODAY)
    trial.enrol_patient("F01", **PERSON)
    trial.record_form("F01", "screening", SCREENING)
    trial.record_form("F01", "labs", {"lab_date": "2020-03-02", "hb": 12.0})
    return trial


def amended(tmp_path, change) -> Path:
    data = yaml.safe_load(STUDY.read_text())
    change(data)
    path = tmp_path / "amended.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def form(data, name):
    return next(f for f in data["forms"] if f["name"] == name)


def field(data, form_name, name):
    return next(f for f in form(data, form_name)["fields"] if f["name"] == name)


def test_a_growing_amendment_is_version_2_and_new_records_carry_it(trial, tmp_path):
    def grow(d):
        form(d, "labs")["fields"].append({"name": "platelets", "label": "Platelets", "type": "decimal",
                                          "unit": "10^9/L"})
        field(d, "labs", "hb")["range"] = {"min": 0, "max": 35}  # wider
        field(d, "screening", "histology")["codes"].append({"code": "smallcell", "label": "Small cell"})
        d["forms"].append({"name": "vitals", "label": "Vital signs", "repeating": True,
                           "fields": [{"name": "pulse", "label": "Pulse", "type": "integer", "range": {"min": 20}}]})
        d["sites"].append({"code": "S2", "name": "Site two"})
    row = trial.amend_protocol(amended(tmp_path, grow), "protocol amendment: amendment 1, platelets and vital signs")
    assert (row.version, row.created_by, row.reason) == (2, "tester", "protocol amendment: amendment 1, platelets and vital signs")
    assert trial.protocol_version == 2 and "vitals" in trial.study.form_names
    trial.enrol_patient("F02", **{**PERSON, "site": "S2"})  # the new site exists
    trial.record_form("F01", "labs", {"lab_date": "2020-03-09", "hb": 33, "platelets": 210}, confirm_warnings=True)
    with read_session(trial.engine) as s:
        versions = list(s.execute(select(ProtocolVersion).order_by(ProtocolVersion.version)).scalars())
        study = s.execute(select(StudyRecord)).scalar_one()
        patients = {p.subject_id: p.protocol_version for p in s.execute(select(Patient)).scalars()}
        labs = [r.protocol_version for r in s.execute(select(FormRecord).where(FormRecord.form == "labs")
                                                      .order_by(FormRecord.id)).scalars()]
        entry = s.execute(select(AuditEntry).where(AuditEntry.table_name == "study",
                                                   AuditEntry.action == "update")).scalar_one()
    assert [v.version for v in versions] == [1, 2] and versions[0].protocol_yaml == STUDY.read_text()
    assert study.protocol_version == 2 and study.protocol_sha256 == versions[1].protocol_sha256
    assert patients == {"F01": 1, "F02": 2} and labs == [1, 2]
    assert entry.reason.startswith("protocol version 2") and json.loads(entry.new_values)["protocol_version"] == 2
    assert verify_audit(trial.engine).ok


@pytest.mark.parametrize("change, words", [
    (lambda d: d["forms"].remove(form(d, "labs")) or d["visits"].pop(), "form labs has 1 records and cannot be removed"),
    (lambda d: form(d, "screening")["fields"].remove(field(d, "screening", "lesion_count")),
     "field lesion_count holds 1 values"),
    (lambda d: field(d, "labs", "hb").update(type="integer"), "its type cannot become integer"),
    (lambda d: field(d, "labs", "hb").update(unit="g/L"), "its unit cannot become g/L"),
    (lambda d: field(d, "labs", "hb").update(range={"min": 0, "max": 11}) or field(d, "labs", "hb").pop("soft_range"),
     "would leave some outside it"),
    (lambda d: field(d, "screening", "histology")["codes"].pop(0), "use the code(s) adeno"),
    (lambda d: form(d, "labs")["fields"].append({"name": "ldh", "label": "LDH", "type": "decimal", "required": True}),
     "add it as an optional field"),
    (lambda d: d.update(study_id="another-study"), "keeps its study_id"),
    (lambda d: d["sites"].clear() or d["sites"].append({"code": "S9", "name": "Other"}), "site S1 has patients"),
])
def test_an_amendment_that_would_orphan_or_mistype_data_is_refused(trial, tmp_path, change, words):
    before = counts(trial.engine)
    with pytest.raises(CheckFailed) as info:
        trial.amend_protocol(amended(tmp_path, change), "protocol amendment: incompatible change")
    assert any(words in p.message and p.rule == "compatible-amendment" for p in info.value.problems), info.value
    assert counts(trial.engine) == before and trial.protocol_version == 1


def test_levels_and_dose_unit_are_kept_once_used(trial, tmp_path):
    open_level(trial, "L2", "2020-03-03")
    trial.allocate_patient("F01", "L2", "2020-03-03")
    trial.record_administration("F01", None, "2020-03-04", 3, cycle=1, cycle_day=1, weight_kg=60)
    for change, words in [
        (lambda d: d["groups"].pop(1), "level L2 has allocated patients"),
        (lambda d: d["product"].update(dose_unit="mg"), "doses are recorded in mg/kg"),
    ]:
        with pytest.raises(CheckFailed) as info:
            trial.amend_protocol(amended(tmp_path, change), "protocol amendment: incompatible change")
        assert words in str(info.value)


def test_the_same_protocol_is_not_an_amendment(trial):
    with pytest.raises(CheckFailed) as info:
        trial.amend_protocol(STUDY, "protocol amendment: the same file again")
    assert [p.rule for p in info.value.problems] == ["changed-protocol"]
    with pytest.raises(CheckFailed) as info:
        trial.amend_protocol(STUDY, "")
    assert "required" in [p.rule for p in info.value.problems]


def test_study_amend_command(trial, tmp_path, capsys):
    from earlyphase.cli import app
    from earlyphase.cli.common import run_app

    path = amended(tmp_path, lambda d: d["sites"].append({"code": "S3", "name": "Site three"}))
    url = trial.engine.url.render_as_string(hide_password=False)
    add_users(trial, "dm")
    code = run_app(app, ["study", "amend", "--db", url, "--study", str(path), "--reason", "protocol amendment: new site S3", "--user", "dm",
                         "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["protocol_version"] == 2 and out["reason"] == "protocol amendment: new site S3"
    code = run_app(app, ["study", "amend", "--db", url, "--study", str(path), "--reason", "protocol amendment: the same file again"])
    assert code == 1 and "nothing to amend" in capsys.readouterr().err


def test_an_amendment_reason_without_a_category_is_refused(trial, tmp_path):
    path = amended(tmp_path, lambda d: d["sites"].append({"code": "S4", "name": "Site four"}))
    with pytest.raises(CheckFailed) as info:
        trial.amend_protocol(path, "new site four added")
    assert [p.rule for p in info.value.problems] == ["reason-category"]
    assert "protocol amendment" in str(info.value) and trial.protocol_version == 1
