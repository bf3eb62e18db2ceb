"""Upgrading a database made by earlyphase 0.1.0: nothing lost, the audit trail still verifies, the report builds.

The fixture (upgrade/v010_twin.json.gz) is every table of a database that the 0.1.0 code (commit d9a574c)
made with the seed study and its twin, plus a correction and two queries; upgrade/make_v010_fixture.py
wrote it (its docstring says how to run it against that code). A committed dump, rather than a checkout
of the old commit inside the test, because CI may clone without history; it is loaded into a database at
revision 0001 (the 0.1.0 schema, made by the migration itself) on both backends, then upgraded.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from earlyphase.records import current_revision, head_revision, make_engine, migrate, read_session, verify_audit

FIXTURE = Path(__file__).parent / "upgrade" / "v010_twin.json.gz"
LOAD_ORDER = ["sites", "study", "users", "patients", "allocations", "infusions", "adverse_events",
              "tumour_assessments", "lesions", "other_therapies", "follow_ups", "deaths", "protocol_deviations",
              "queries", "audit_log"]
DISEASE = {"transplant_date": "transplant_date", "recurrence_date": "recurrence_date", "child_pugh": "child_pugh_class",
           "child_pugh_score": "child_pugh_score", "afp_ng_ml": "afp", "weight_kg": "weight"}


@pytest.fixture(scope="module")
def dump():
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


def _load(engine, dump) -> None:
    """The 0.1.0 database, row for row, in a database at revision 0001."""
    assert migrate(engine, "0001") == "0001"
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            table = meta.tables[name]
            rows = []
            for row in dump[name]:
                typed = {}
                for column, value in row.items():
                    if value is not None and isinstance(table.c[column].type, sa.Date):
                        value = date.fromisoformat(value)
                    typed[column] = value
                rows.append(typed)
            if rows:
                conn.execute(table.insert(), rows)
            if engine.dialect.name == "postgresql" and rows:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT max(id) FROM {name}))"))


@pytest.fixture
def upgraded(db_url, dump):
    engine = make_engine(db_url)
    _load(engine, dump)
    from types import SimpleNamespace

    from earlyphase.records.audit_verify import check_chain

    with read_session(engine) as s:  # the 0.1.0 chain is whole as loaded (its replay needs the 0.1.0 tables)
        # read with the 0.1.0 columns (the model has columns added since) as the plain SHA-256 chain it was
        rows = s.execute(sa.text("SELECT * FROM audit_log ORDER BY id")).mappings().all()
        entries = [SimpleNamespace(**row) for row in rows]
        assert len(entries) == len(dump["audit_log"]) and check_chain(entries, None) == []
    assert migrate(engine) == head_revision() == current_revision(engine)
    yield engine
    engine.dispose()


def _rows(engine, sql):
    with read_session(engine) as s:
        return [dict(r) for r in s.execute(sa.text(sql)).mappings()]


def test_the_upgrade_loses_nothing_and_the_audit_trail_still_verifies(upgraded, dump):
    engine = upgraded
    report = verify_audit(engine)
    assert report.ok, report.summary()
    assert report.entries_checked > len(dump["audit_log"])  # the upgrade audited what it moved
    upgrade_entries = _rows(engine, "SELECT * FROM audit_log WHERE id > %d" % len(dump["audit_log"]))
    *moves, rekeyed = upgrade_entries  # 0003 audits what it moves; 0004 keys the chain (the key is supplied)
    assert all(e["username"] == "system" and e["reason"].startswith("upgrade 0003") for e in moves)
    assert (rekeyed["action"], rekeyed["table_name"]) == ("event", "audit_rekey")
    assert json.loads(rekeyed["new_values"])["entries"] == rekeyed["id"] - 1  # every entry before it

    # protocol: the 0.1.0 text kept as version 1, its conversion in force as version 2
    versions = _rows(engine, "SELECT * FROM protocol_versions ORDER BY version")
    old_study = dump["study"][0]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["protocol_yaml"] == old_study["protocol_yaml"]
    assert versions[0]["protocol_sha256"] == old_study["protocol_sha256"]
    from earlyphase.capture import stored_study

    study, record = stored_study(engine)
    assert record.protocol_version == 2 and record.protocol_sha256 == versions[1]["protocol_sha256"]
    assert study.product.dose_unit == "cells" and study.form_names == ["baseline_disease"]
    assert [g.regimen.administrations for g in study.groups] == [4, 4, 8, 8]
    assert [study.group("D").regimen.planned_dose(k) for k in range(1, 9)] == [1e9, 2.5e9] + [5e9] * 6

    # every record carries the version it was entered under: 1
    for table in ("patients", "allocations", "administrations", "adverse_events", "tumour_assessments",
                  "other_therapies", "follow_ups", "deaths", "protocol_deviations", "form_records"):
        assert {r["protocol_version"] for r in _rows(engine, f"SELECT protocol_version FROM {table}")} == {1}, table

    # the disease columns became the study form, value for value
    values = _rows(engine, "SELECT r.patient_id, v.field, v.value_text, v.value_int, v.value_num, v.value_date "
                           "FROM form_values v JOIN form_records r ON r.id = v.record_id")
    got = {(v["patient_id"], v["field"]): next(x for x in (v["value_text"], v["value_int"], v["value_num"],
                                                            v["value_date"]) if x is not None) for v in values}
    expected = {}
    for p in dump["patients"]:
        for column, field in DISEASE.items():
            if p[column] is not None:
                value = p[column]
                expected[(p["id"], field)] = date.fromisoformat(value) if column.endswith("_date") else value
    assert {k: (v.isoformat() if isinstance(v, date) else v) for k, v in got.items()} == \
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in expected.items()}
    assert "child_pugh" not in {c["name"] for c in sa.inspect(engine).get_columns("patients")}

    # infusions became administrations, same ids, the dose with its unit, cells/kg as the amount
    administrations = {r["id"]: r for r in _rows(engine, "SELECT * FROM administrations")}
    assert set(administrations) == {i["id"] for i in dump["infusions"]}
    weights = {p["id"]: p["weight_kg"] for p in dump["patients"]}
    for inf in dump["infusions"]:
        new = administrations[inf["id"]]
        assert (new["dose"], new["dose_unit"], new["route"], new["number"], new["lot"]) == (
            inf["dose_cells"], "cells", "IV", inf["number"], inf["lot"])
        assert (new["amount"], new["amount_unit"], new["weight_kg"]) == (
            inf["dose_cells_per_kg"], "cells/kg", weights[inf["patient_id"]])
    assert "infusions" not in sa.inspect(engine).get_table_names()

    # deviations and queries follow their records
    assert {d["source_table"] for d in _rows(engine, "SELECT source_table FROM protocol_deviations")} == {"administrations"}
    queries = sorted((q["table_name"], q["field"]) for q in _rows(engine, "SELECT * FROM queries"))
    assert queries == [("administrations", "dose"), ("form_records", "afp")]


def test_an_upgraded_trial_reports_as_before_and_takes_new_data(upgraded, tmp_path):
    from earlyphase.capture import Trial
    from earlyphase.report import report_from_database

    engine = upgraded
    result = report_from_database(engine, tmp_path / "report")
    published = (tmp_path / "report" / "tables" / "published_vs_reproduced.csv").read_text().splitlines()
    assert len(published) == 26 and all(line.endswith(",yes") for line in published[1:]), published
    baseline = (tmp_path / "report" / "tables" / "baseline.csv").read_text()
    assert "Child-Pugh class at baseline" in baseline and "Baseline AFP (ng/mL)" in baseline
    assert result.html.is_file()
    trial = Trial.open(engine, "coordinator", today=date(2026, 2, 1))
    assert trial.protocol_version == 2
    survivor = _rows(engine, "SELECT p.subject_id FROM patients p LEFT JOIN deaths d ON d.patient_id = p.id "
                             "WHERE d.id IS NULL")[0]["subject_id"]
    contact = trial.record_follow_up(survivor, "2026-01-20", "alive")
    assert contact.protocol_version == 2
    trial.correct_record("administrations", 1, {"lot": "SYN-LOT-001-01B"}, "source document updated: vial relabelled")
    assert verify_audit(engine).ok
