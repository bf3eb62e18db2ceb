"""Any Phase I trial: protocol versions, study forms stored typed, dose administrations of any product,
eligibility answers, forms not done; the seed trial's disease fields leave the core tables.

What it changes, with nothing lost (a database made by earlyphase 0.1.0 comes out whole):

- ``protocol_versions`` keeps every protocol text: the stored study file becomes version 1, and its
  conversion to the new study-file format (product and dose unit, regimens with schedules, the disease
  fields as a study form) version 2, now in force (``study.protocol_version``).
- Every patient record gets ``protocol_version``: records made before the upgrade were entered under
  version 1.
- ``patients.transplant_date``, ``recurrence_date``, ``child_pugh``, ``child_pugh_score``, ``afp_ng_ml`` and
  ``weight_kg`` move into ``form_records``/``form_values`` of the study form ``baseline_disease``
  (queries raised on them follow).
- ``infusions`` becomes ``administrations`` (same ids): the dose in cells with its unit, route IV (the
  only route version 1 knew), the cells/kg value as ``amount``/``amount_unit`` with the patient's
  weight that it was checked against; deviations and queries that pointed at infusions follow.
- Adverse-event actions are named for any product (``infusion delayed`` becomes ``dose delayed``).

Every row it changes, moves or removes is written to the audit log as the system user, with a reason
naming this upgrade, so ``earlyphase audit verify`` replays the log to the same data afterwards. It
appends through :func:`earlyphase.records.audit.append_entry` (the one function that knows how an entry
is chained). Version 1 of the protocol was written for the seed trial, so the words of its conversion
(the disease form, fever as an adverse event of special interest) belong to this migration.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REASON = "upgrade 0003 (any Phase I trial)"
AUTOINCREMENT = {"sqlite_autoincrement": True}
VERSIONED = ("patients", "allocations", "adverse_events", "tumour_assessments", "other_therapies", "follow_ups",
             "deaths", "protocol_deviations")
DISEASE_COLUMNS = ("transplant_date", "recurrence_date", "child_pugh", "child_pugh_score", "afp_ng_ml", "weight_kg")
# old column -> (field of the study form, form_values column)
DISEASE_FIELDS = {
    "transplant_date": ("transplant_date", "value_date"),
    "recurrence_date": ("recurrence_date", "value_date"),
    "child_pugh": ("child_pugh_class", "value_text"),
    "child_pugh_score": ("child_pugh_score", "value_int"),
    "afp_ng_ml": ("afp", "value_num"),
    "weight_kg": ("weight", "value_num"),
}
DISEASE_FORM = "baseline_disease"
AE_ACTIONS = {"infusion delayed": "dose delayed", "infusion interrupted": "dose interrupted",
              "infusion discontinued": "dose discontinued"}
QUERY_FIELDS = {"dose_cells": "dose", "dose_cells_per_kg": "amount"}


def _id(table: str) -> list:
    return [sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def _fk(table: str, column: str, parent: str, nullable: bool = False) -> list:
    return [sa.Column(column, sa.Integer(), nullable=nullable),
            sa.ForeignKeyConstraint([column], [f"{parent}.id"], name=f"fk_{table}_{column}_{parent}")]


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=f"uq_{table}_{'_'.join(columns)}")


def _version() -> sa.Column:
    return sa.Column("protocol_version", sa.Integer(), nullable=False)


def _create_tables() -> None:
    op.create_table(
        "protocol_versions", *_id("protocol_versions"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("protocol_yaml", sa.Text(), nullable=False),
        sa.Column("protocol_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(400), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        _unique("protocol_versions", "version"), **AUTOINCREMENT,
    )
    op.create_table(
        "eligibility_answers", *_id("eligibility_answers"), *_fk("eligibility_answers", "patient_id", "patients"),
        sa.Column("criterion", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("answer", sa.Boolean(), nullable=False),
        _version(), _unique("eligibility_answers", "patient_id", "criterion"), **AUTOINCREMENT,
    )
    op.create_table(
        "administrations", *_id("administrations"), *_fk("administrations", "patient_id", "patients"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("cycle_day", sa.Integer(), nullable=True),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=False),
        sa.Column("dose", sa.Float(), nullable=False),
        sa.Column("dose_unit", sa.String(20), nullable=False),
        sa.Column("route", sa.String(10), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("bsa_m2", sa.Float(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("amount_unit", sa.String(20), nullable=True),
        sa.Column("reduction", sa.Integer(), nullable=False),
        sa.Column("modification_reason", sa.Text(), nullable=True),
        sa.Column("lot", sa.String(60), nullable=True),
        sa.Column("deviation", sa.Text(), nullable=True),
        _version(), _unique("administrations", "patient_id", "number"), **AUTOINCREMENT,
    )
    op.create_table(
        "form_records", *_id("form_records"), *_fk("form_records", "patient_id", "patients"),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("visit", sa.String(40), nullable=True),
        sa.Column("instance", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=True),
        sa.Column("core_table", sa.String(40), nullable=True),
        sa.Column("core_id", sa.Integer(), nullable=True),
        _version(), **AUTOINCREMENT,
    )
    op.create_index("ix_form_records_patient_id_form", "form_records", ["patient_id", "form"])
    op.create_table(
        "form_values", *_id("form_values"), *_fk("form_values", "record_id", "form_records"),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_int", sa.BigInteger(), nullable=True),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        _unique("form_values", "record_id", "field", "position"), **AUTOINCREMENT,
    )
    op.create_table(
        "forms_not_done", *_id("forms_not_done"), *_fk("forms_not_done", "patient_id", "patients"),
        sa.Column("visit", sa.String(40), nullable=False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _version(), _unique("forms_not_done", "patient_id", "visit", "form"), **AUTOINCREMENT,
    )


# -- reading and auditing rows -------------------------------------------------------------------------
def _table(conn, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _rows(conn, name: str) -> list[dict]:
    """Every row of ``name`` as JSON data (the form the audit log holds), in id order."""
    from earlyphase.records.audit import canonical_json

    table = _table(conn, name)
    return [json.loads(canonical_json(dict(r))) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def _audit(conn, action: str, table: str, record_id: int, old, new, subject_id, why: str) -> None:
    from earlyphase.records.audit import SYSTEM_USER, append_entry

    append_entry(conn, action=action, table_name=table, record_id=record_id, old_values=old, new_values=new,
                 username=SYSTEM_USER, reason=f"{REASON}: {why}", subject_id=subject_id)


def _sequence(conn, table: str) -> int:
    """The last id handed out for ``table`` (ids of deleted rows included)."""
    if conn.dialect.name == "sqlite":
        found = conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
        return int(found or 0)
    seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    if seq is None:
        return 0
    row = conn.execute(sa.text(f"SELECT last_value, is_called FROM {seq}")).one()
    return int(row[0]) if row[1] else 0


def _set_sequence(conn, table: str, value: int) -> None:
    """Make ``table`` hand out ids after ``value`` (never one used before)."""
    if value <= 0:
        return
    if conn.dialect.name == "sqlite":
        if conn.execute(sa.text("SELECT 1 FROM sqlite_sequence WHERE name = :t"), {"t": table}).first():
            conn.execute(sa.text("UPDATE sqlite_sequence SET seq = :v WHERE name = :t AND seq < :v"),
                         {"t": table, "v": value})
        else:
            conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"), {"t": table, "v": value})
        return
    seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    conn.execute(sa.text("SELECT setval(:s, :v, true)"), {"s": seq, "v": value})


# -- the protocol's conversion ----------------------------------------------------------------------------
def _step_up(steps: list[float] | None, dose: float) -> list[float] | None:
    """Version 1 listed one dose per infusion; version 2 lists the doses before the nominal one holds."""
    if not steps:
        return None
    last = max((i for i, d in enumerate(steps) if float(d) != float(dose)), default=-1)
    return [float(d) for d in steps[: last + 1]] or None


def convert_protocol(old_text: str) -> str:
    """The version-1 study file (cell infusions, disease fields on the patient) in the version-2 format."""
    import yaml

    data = yaml.safe_load(old_text)
    groups = data.get("groups") or []
    products = [g.get("regimen", {}).get("product") for g in groups]
    product_name = next((p for p in products if p), "Study product")
    new_groups = []
    for g in groups:
        r = dict(g.get("regimen") or {})
        dose = float(r.pop("dose_cells"))
        regimen = {"dose": dose,
                   "schedule": {"administrations": int(r.pop("infusions"))}}
        interval = r.pop("interval_days", None)
        if regimen["schedule"]["administrations"] > 1 or interval is not None:
            regimen["schedule"]["every_days"] = int(interval)
        steps = _step_up(r.pop("step_doses_cells", None), dose)
        if steps:
            regimen["step_up_doses"] = steps
        per_kg = r.pop("dose_cells_per_kg", None)
        product = r.pop("product", None)
        note = r.pop("dose_note", None)
        if per_kg is not None:
            note = ((note + " ") if note else "") + f"(nominal {per_kg:g} cells/kg)"
        if product and product != product_name:
            note = ((note + " ") if note else "") + f"(product: {product})"
        for key in ("dose_tolerance_percent", "interval_window_days", "dose_source"):
            if key in r:
                regimen[key] = r.pop(key)
        if note:
            regimen["dose_note"] = note
        new_groups.append({**{k: v for k, v in g.items() if k != "regimen"}, "regimen": regimen})
    out = {k: v for k, v in data.items() if k not in ("groups", "imaging", "analysis", "dose_finding", "endpoints",
                                                       "assumptions")}
    out["product"] = {"name": product_name, "administration": "infusion", "dose_unit": "cells", "route": "IV"}
    out["groups"] = new_groups
    out["forms"] = [_disease_form()]
    out["adverse_events_of_special_interest"] = [
        {"name": "Fever", "terms": ["Fever", "Pyrexia"],
         "description": "Tabulated on its own by earlyphase 0.1.0 for every study; kept by the upgrade."}]
    for key in ("imaging", "analysis", "dose_finding", "endpoints"):
        if key in data:
            out[key] = data[key]
    pfs = ((out.get("analysis") or {}).get("pfs") or {})
    if pfs.get("start") == "first_infusion":
        pfs["start"] = "first_dose"
    out["assumptions"] = list(data.get("assumptions") or []) + [
        "Converted by upgrade 0003 from protocol version 1: doses in cells by intravenous infusion; the disease "
        "fields of version 1's enrolment form are the study form baseline_disease."]
    header = ("# Protocol version 2: version 1 of this study converted by earlyphase's upgrade 0003 (doses and\n"
              "# schedules as regimens of a product, the disease fields as the study form baseline_disease).\n")
    return header + yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=110)


def _disease_form() -> dict:
    return {
        "name": DISEASE_FORM,
        "label": "Disease history and baseline liver function",
        "fields": [
            {"name": "transplant_date", "label": "Date of liver transplantation", "type": "date", "required": True,
             "identifying": True},
            {"name": "recurrence_date", "label": "Date the recurrence was diagnosed", "type": "date", "required": True,
             "identifying": True},
            {"name": "child_pugh_class", "label": "Child-Pugh class", "type": "choice", "codelist": "child_pugh_class",
             "required": True, "adam": {"variable": "CHILDPGH", "label": "Child-Pugh class at baseline"}},
            {"name": "child_pugh_score", "label": "Child-Pugh score", "type": "integer", "range": {"min": 5, "max": 15},
             "adam": {"variable": "CPSCORE", "label": "Child-Pugh score at baseline"}},
            {"name": "afp", "label": "Serum alpha-fetoprotein (AFP)", "type": "decimal", "unit": "ng/mL",
             "range": {"min": 0}, "adam": {"variable": "AFPBL", "label": "Baseline AFP (ng/mL)"}},
            {"name": "weight", "label": "Body weight", "type": "decimal", "unit": "kg", "range": {"min": 20, "max": 300},
             "adam": {"variable": "WEIGHTBL", "label": "Baseline weight (kg)"}},
        ],
        "checks": [
            {"name": "recurrence-after-transplant", "expression": "recurrence_date >= transplant_date",
             "message": "the recurrence is dated before the transplant", "fields": ["recurrence_date"]},
            {"name": "consent-after-recurrence", "expression": "consent_date >= recurrence_date",
             "message": "consent is dated before the recurrence; patients enter the study after their recurrence",
             "fields": ["recurrence_date"]},
            {"name": "child-pugh-consistent",
             "expression": "(child_pugh_class = 'A' and child_pugh_score in [5, 6]) or (child_pugh_class = 'B' and "
                           "child_pugh_score in [7, 8, 9]) or (child_pugh_class = 'C' and child_pugh_score >= 10)",
             "message": "the Child-Pugh score does not match the class (A is 5-6, B is 7-9, C is 10-15)",
             "fields": ["child_pugh_score"]},
        ],
    }


# -- the upgrade -----------------------------------------------------------------------------------------
def upgrade() -> None:
    conn = op.get_bind()
    study = conn.execute(sa.text("SELECT id FROM study")).first()
    if not study and conn.execute(sa.text("SELECT count(*) FROM patients")).scalar():
        # the disease fields move into the study's form, which needs the study: without it they would be lost
        raise RuntimeError("this database holds patients but no study row; the upgrade to revision 0003 needs "
                           "the study to move the disease fields into its form. Restore the study row first.")
    old = {name: _rows(conn, name) for name in VERSIONED + ("infusions", "queries", "study")} if study else {}
    sequences = {name: _sequence(conn, name) for name in VERSIONED + ("infusions",)}

    _create_tables()
    with op.batch_alter_table("study", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("protocol_version", sa.Integer(), nullable=True))
    op.execute("UPDATE study SET protocol_version = 1")
    with op.batch_alter_table("study", table_kwargs=AUTOINCREMENT) as batch:
        batch.alter_column("protocol_version", existing_type=sa.Integer(), nullable=False)
    for name in VERSIONED:
        with op.batch_alter_table(name, table_kwargs=AUTOINCREMENT) as batch:
            batch.add_column(sa.Column("protocol_version", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {name} SET protocol_version = 1")
        with op.batch_alter_table(name, recreate="auto", table_kwargs=AUTOINCREMENT) as batch:
            batch.alter_column("protocol_version", existing_type=sa.Integer(), nullable=False)
    for name, value in sequences.items():
        if name != "infusions":
            _set_sequence(conn, name, value)
    if study:
        _move_data(conn, old, sequences["infusions"])
    # the disease columns leave the patients table only after their values are safe in form_values
    with op.batch_alter_table("patients", table_kwargs=AUTOINCREMENT) as batch:
        for column in DISEASE_COLUMNS:
            batch.drop_column(column)
    _set_sequence(conn, "patients", sequences["patients"])
    op.drop_table("infusions")
    if study:
        _audit_changed_rows(conn, old)


def _move_data(conn, old: dict, infusion_sequence: int) -> None:
    from earlyphase.records.audit import SYSTEM_USER

    subject = {p["id"]: p["subject_id"] for p in old["patients"]}
    patients = {p["id"]: p for p in old["patients"]}
    study_row = old["study"][0]
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    new_text = convert_protocol(study_row["protocol_yaml"])
    versions = _table(conn, "protocol_versions")
    conn.execute(versions.insert(), [
        {"id": 1, "version": 1, "protocol_yaml": study_row["protocol_yaml"],
         "protocol_sha256": study_row["protocol_sha256"], "source": study_row["source"],
         "reason": "the protocol stored by earlyphase 0.1.0 (kept as it was)", "created_by": SYSTEM_USER,
         "created_at": now},
        {"id": 2, "version": 2, "protocol_yaml": new_text,
         "protocol_sha256": hashlib.sha256(new_text.encode("utf-8")).hexdigest(), "source": study_row["source"],
         "reason": f"{REASON}: version 1 converted to the new study-file format", "created_by": SYSTEM_USER,
         "created_at": now},
    ])
    conn.execute(sa.text("UPDATE study SET protocol_yaml = :y, protocol_sha256 = :h, protocol_version = 2 "
                         "WHERE id = :i"),
                 {"y": new_text, "h": hashlib.sha256(new_text.encode("utf-8")).hexdigest(), "i": study_row["id"]})
    for row in _rows(conn, "protocol_versions"):
        _audit(conn, "insert", "protocol_versions", row["id"], None, row, None,
               "every protocol version is kept" if row["version"] == 1 else "protocol converted to version 2")

    # the disease fields: one baseline_disease record per patient, entered under version 1
    records, values = _table(conn, "form_records"), _table(conn, "form_values")
    record_of: dict[int, int] = {}
    for pid, p in patients.items():
        present = {col: p.get(col) for col in DISEASE_COLUMNS if p.get(col) is not None}
        if not present:
            continue
        rid = conn.execute(records.insert().values(patient_id=pid, form=DISEASE_FORM, visit=None, instance=1,
                                                   visit_date=None, core_table=None, core_id=None,
                                                   protocol_version=1).returning(records.c.id)).scalar_one()
        record_of[pid] = rid
        for col, value in present.items():
            field, kind = DISEASE_FIELDS[col]
            typed = _typed(kind, value)
            conn.execute(values.insert().values(record_id=rid, field=field, position=0, confirmed=False,
                                                **{kind: typed}))
    by_record = _group(_rows(conn, "form_values"), "record_id")
    for row in _rows(conn, "form_records"):
        why = "the disease fields moved from the patient to the study form " + DISEASE_FORM
        _audit(conn, "insert", "form_records", row["id"], None, row, subject.get(row["patient_id"]), why)
        for value in by_record.get(row["id"], []):
            _audit(conn, "insert", "form_values", value["id"], None, value, subject.get(row["patient_id"]), why)

    # infusions -> administrations, same ids
    administrations = _table(conn, "administrations")
    for inf in old["infusions"]:
        per_kg = inf.get("dose_cells_per_kg")
        weight = patients.get(inf["patient_id"], {}).get("weight_kg") if per_kg is not None else None
        conn.execute(administrations.insert().values(
            id=inf["id"], patient_id=inf["patient_id"], number=inf["number"], cycle=None, cycle_day=None,
            planned_date=_typed("value_date", inf["planned_date"]), actual_date=_typed("value_date", inf["actual_date"]),
            dose=float(inf["dose_cells"]), dose_unit="cells", route="IV", weight_kg=weight, height_cm=None,
            bsa_m2=None, amount=None if per_kg is None else float(per_kg),
            amount_unit=None if per_kg is None else "cells/kg", reduction=0, modification_reason=None,
            lot=inf.get("lot"), deviation=inf.get("deviation"), protocol_version=1))
    _set_sequence(conn, "administrations", max([infusion_sequence] + [i["id"] for i in old["infusions"]]))
    new_admin = {r["id"]: r for r in _rows(conn, "administrations")}
    for inf in old["infusions"]:
        sid = subject.get(inf["patient_id"])
        _audit(conn, "delete", "infusions", inf["id"], inf, None, sid, "infusions became administrations")
        _audit(conn, "insert", "administrations", inf["id"], None, new_admin[inf["id"]], sid,
               "infusions became administrations (dose in cells, route IV)")

    # records that pointed at infusions or at the moved disease fields
    conn.execute(sa.text("UPDATE protocol_deviations SET source_table = 'administrations' "
                         "WHERE source_table = 'infusions'"))
    for q in old["queries"]:
        if q["table_name"] == "infusions":
            conn.execute(sa.text("UPDATE queries SET table_name = 'administrations', field = :f WHERE id = :i"),
                         {"f": QUERY_FIELDS.get(q["field"], q["field"]), "i": q["id"]})
        elif q["table_name"] == "patients" and q["field"] in DISEASE_FIELDS and q["record_id"] in record_of:
            conn.execute(sa.text("UPDATE queries SET table_name = 'form_records', record_id = :r, field = :f "
                                 "WHERE id = :i"),
                         {"r": record_of[q["record_id"]], "f": DISEASE_FIELDS[q["field"]][0], "i": q["id"]})
    for old_action, new_action in AE_ACTIONS.items():
        conn.execute(sa.text("UPDATE adverse_events SET action = :n WHERE action = :o"), {"n": new_action, "o": old_action})


def _typed(kind: str, value):
    if value is None:
        return None
    if kind == "value_date":
        from datetime import date

        return date.fromisoformat(value) if isinstance(value, str) else value
    if kind == "value_int":
        return int(value)
    if kind == "value_num":
        return float(value)
    return str(value)


def _group(rows: list[dict], key: str) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def _audit_changed_rows(conn, old: dict) -> None:
    """An update entry for every row whose stored values changed (the replay then agrees with the data)."""
    subject = {p["id"]: p["subject_id"] for p in old["patients"]}
    reasons = {
        "study": "protocol version 2 in force",
        "patients": "protocol version recorded; the disease fields moved to the study form " + DISEASE_FORM,
        "queries": "the query follows its record (infusions became administrations; disease fields became a form)",
        "adverse_events": "protocol version recorded; actions named for any product",
        "protocol_deviations": "protocol version recorded; deviations of infusions point at administrations",
    }
    for name in ("study",) + VERSIONED + ("queries",):
        before = {r["id"]: r for r in old[name]}
        for row in _rows(conn, name):
            previous = before.get(row["id"])
            if previous is None or previous == row:
                continue
            sid = row.get("subject_id") if name == "patients" else subject.get(row.get("patient_id"))
            if name == "queries":
                sid = None
            _audit(conn, "update", name, row["id"], previous, row, sid,
                   reasons.get(name, "protocol version recorded"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM patients")).first() is not None:
        raise RuntimeError("downgrading below 0003 would lose data of a trial with patients (study forms, "
                           "protocol versions); restore a backup made before the upgrade instead")
    for name in ("forms_not_done", "form_values", "form_records", "administrations", "eligibility_answers",
                 "protocol_versions"):
        op.drop_table(name)
    op.create_table(
        "infusions", *_id("infusions"), *_fk("infusions", "patient_id", "patients"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=False),
        sa.Column("dose_cells", sa.Float(), nullable=False),
        sa.Column("dose_cells_per_kg", sa.Float(), nullable=True),
        sa.Column("lot", sa.String(60), nullable=True),
        sa.Column("deviation", sa.Text(), nullable=True),
        _unique("infusions", "patient_id", "number"), **AUTOINCREMENT,
    )
    for name in VERSIONED + ("study",):
        with op.batch_alter_table(name, table_kwargs=AUTOINCREMENT) as batch:
            batch.drop_column("protocol_version")
    with op.batch_alter_table("patients", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("child_pugh", sa.String(1), nullable=False))
        batch.add_column(sa.Column("child_pugh_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("afp_ng_ml", sa.Float(), nullable=True))
        batch.add_column(sa.Column("weight_kg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("transplant_date", sa.Date(), nullable=False))
        batch.add_column(sa.Column("recurrence_date", sa.Date(), nullable=False))
