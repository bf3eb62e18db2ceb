"""Our bundled studies out to REDCap and back: the identified export imports into a fresh database (initialised
with the same study) to the same content, every stored value compared through the identified CSV export;
the de-identified export holds no subject id, identifying field or date, and is refused as data.

Dose-escalation decisions are not patient records and are not in a REDCap project: for the dose-finding
studies the investigator's sealed decisions are recorded again in the fresh database (through capture)
before the records come in, as they would be in a trial moving its data."""

from __future__ import annotations

from known_users import add_users
import csv
from pathlib import Path

import pytest

from earlyphase.errors import InputError

USER = "coordinator1"
STUDIES = ["nk-hcc-ltx", "oral-3plus3", "cart-boin"]
# protocol_versions records when each database took its study; dose_decisions are re-recorded (sealed again)
NOT_COMPARED = {"protocol_versions.csv", "dose_decisions.csv"}


def _build(study: str, path: Path) -> str:
    from earlyphase.capture import initialise

    url = f"sqlite:///{path}"
    initialise(url, study, USER).close()
    if study == "nk-hcc-ltx":
        from earlyphase.twin import load_twin

        load_twin(url, username=USER)  # the demo database: the seed trial's digital twin
    else:
        from earlyphase.synthetic import load_synthetic

        load_synthetic(url)
    return url


@pytest.fixture(scope="module", params=STUDIES)
def source(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    return request.param, _build(request.param, folder / "trial.db"), folder


def _export_csv(url: str, out: Path) -> dict[str, bytes]:
    from earlyphase.interop import export_trial
    from earlyphase.records import make_engine

    engine = make_engine(url)
    try:
        export_trial(engine, out, identified=True)
    finally:
        engine.dispose()
    return {p.name: _without_record_id(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.csv"))
            if p.name not in NOT_COMPARED}


def _without_record_id(text: str) -> list[list[str]]:
    """The file's rows; a study form's ``id`` (the database's surrogate key of form_records, numbered in the order
    records were entered, which an import by table cannot repeat) is left out; every value is kept."""
    rows = list(csv.reader(text.splitlines()))
    if rows and rows[0][:4] == ["subject_id", "id", "visit", "instance"]:
        rows = [r[:1] + r[2:] for r in rows]
    return rows


def _replay_decisions(source_url: str, target_url: str) -> int:
    from sqlalchemy import select

    from earlyphase.capture import Trial
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import DoseDecision

    engine = make_engine(source_url)
    with read_session(engine) as session:
        decisions = list(session.execute(select(DoseDecision).order_by(DoseDecision.id)).scalars())
        decisions = [(d.decision_date, d.decision, d.group_code, d.rationale, d.decided_by, d.investigator,
                      d.recommendation_text) for d in decisions]
    engine.dispose()
    for when, decision, level, rationale, decided_by, investigator, recommendation in decisions:
        add_users(target_url, investigator)  # the decision's investigator is a known user of the new database
        trial = Trial.open(target_url, investigator)
        try:
            with trial.batch() as batch:
                batch.record_dose_decision(when, decision, level, rationale, decided_by, investigator=investigator,
                                           recommendation=recommendation, seal=True)
        finally:
            trial.close()
    return len(decisions)


def test_identified_export_reimports_into_a_fresh_database_identically(source, tmp_path):
    from earlyphase.capture import initialise
    from earlyphase.interop.redcap import export_redcap, import_redcap, read_dictionary
    from earlyphase.records import make_engine

    study, url, _ = source
    engine = make_engine(url)
    try:
        exported = export_redcap(engine, tmp_path / "redcap", identified=True, username=USER)
    finally:
        engine.dispose()
    assert not exported.skipped_rows
    fields = read_dictionary(tmp_path / "redcap" / "data_dictionary.csv")
    assert len(fields) == exported.fields and fields[0].name == "record_id"
    with (tmp_path / "redcap" / "records.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == exported.rows and len({r["record_id"] for r in rows}) == exported.records
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    initialise(fresh, study, USER).close()
    _replay_decisions(url, fresh)
    result = import_redcap(tmp_path / "redcap" / "data_dictionary.csv", tmp_path / "redcap" / "records.csv", db=fresh,
                           out=tmp_path / "draft.yaml", username=USER)
    assert result.own_export and result.written["patients"] == exported.records
    first, second = _export_csv(url, tmp_path / "a"), _export_csv(fresh, tmp_path / "b")
    assert set(first) == set(second) and "patients.csv" in first and "adverse_events.csv" in first
    for name in first:
        assert first[name] == second[name], name
    rows_compared = sum(len(v) - 1 for v in first.values())
    assert rows_compared > 300


def test_deidentified_export_holds_no_identifier_and_is_refused_as_data(source, tmp_path):
    from earlyphase.interop.redcap import export_redcap, import_redcap, read_dictionary
    from earlyphase.records import make_engine

    study, url, _ = source
    engine = make_engine(url)
    try:
        export_redcap(engine, tmp_path / "deid", username=USER)
        from earlyphase.records import read_session
        from sqlalchemy import select

        from earlyphase.records.tables import Patient

        with read_session(engine) as session:
            subjects = list(session.execute(select(Patient.subject_id, Patient.consent_date)).all())
    finally:
        engine.dispose()
    fields = read_dictionary(tmp_path / "deid" / "data_dictionary.csv")
    names = {f.name for f in fields}
    assert not {"pt_initials", "pt_hospital_number", "pt_birth_year", "pt_consent_date"} & names
    assert "pt_age_band" in names and "pt_consent_date_study_day" in names
    text = (tmp_path / "deid" / "records.csv").read_text(encoding="utf-8")
    with (tmp_path / "deid" / "records.csv").open(newline="", encoding="utf-8") as handle:
        patient_rows = [r for r in csv.DictReader(handle) if r["patients_complete"] == "2"]
    assert len(patient_rows) == len(subjects)
    cells = {v for r in patient_rows for v in r.values()}
    for subject, consent in subjects:
        # no subject id anywhere; no consent date among the patients' values (a study form's date field that
        # the study does not mark identifying is kept as a date, by the export rule of docs/privacy.md)
        assert subject not in text and consent.isoformat() not in cells
    with pytest.raises(InputError) as err:
        import_redcap(tmp_path / "deid" / "data_dictionary.csv", tmp_path / "deid" / "records.csv",
                      db=f"sqlite:///{tmp_path / 'x.db'}", username=USER)
    assert err.value.problems[0].rule == "identified-export" and not (tmp_path / "x.db").exists()


def test_exported_dictionary_keeps_choices_ranges_units_and_branching(source, tmp_path):
    from earlyphase.capture import stored_study
    from earlyphase.interop.redcap import export_redcap, read_dictionary
    from earlyphase.records import make_engine

    study_name, url, _ = source
    engine = make_engine(url)
    try:
        export_redcap(engine, tmp_path / "out", identified=True, username=USER)
        study, _ = stored_study(engine)
    finally:
        engine.dispose()
    by_annotation = {f.annotation.split(" (")[0]: f for f in read_dictionary(tmp_path / "out" / "data_dictionary.csv")}
    checked = 0
    for form in study.forms:
        for f in form.fields:
            exported = by_annotation[f"earlyphase: {form.name}.{f.name}"]
            assert exported.form == form.name and exported.label == f.label
            if f.type in ("choice", "multiple_choice"):
                assert exported.choices == study.codes_of(f)
                assert exported.type == ("checkbox" if f.type == "multiple_choice" else "radio")
            if f.type in ("integer", "decimal") and f.range is not None and f.range.max is not None:
                assert float(exported.maximum) == f.range.max
            if f.unit:
                assert exported.note.startswith(f"Unit: {f.unit}.")
            if f.show_if and "not translated" not in exported.annotation:
                assert exported.branching
            assert exported.identifier == f.identifying and exported.required == f.required
            checked += 1
    assert checked >= 5
    events = (tmp_path / "out" / "events.csv").read_text(encoding="utf-8")
    for visit in study.visits:
        assert f"{visit.code.lower()}_arm_1" in events
