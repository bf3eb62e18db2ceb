"""The study's forms as analysis-ready frames, and the baseline values ADSL takes from them.

``form_frame`` turns the typed rows of ``form_records``/``form_values`` into one row per record
and one column per field, in the field's type (integer, float, datetime64 dates, bool, text codes;
a multiple-choice field as its codes joined by ``|``). ``extension_frame`` does the same for the
fields a study adds to a core form, keyed by the core record's id.

Baseline (ADSL) value of a field that names an ADaM variable: the value of the patient's record
dated last on or before the first dose (records are dated by the form's date field, else their visit
date); without a dated record, the value of the first record entered; with values dated only after the
first dose, none. Patients never dosed take their last dated record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import FormField, Study

RECORD_COLUMNS = ["patient_id", "SRCSEQ", "visit", "instance", "visit_date", "protocol_version"]


def _value_column(field: "FormField") -> str:
    return {"integer": "value_int", "decimal": "value_num", "date": "value_date", "yesno": "value_bool"}.get(
        field.type, "value_text")


def _typed_column(values, field: "FormField"):
    import pandas as pd

    if field.type == "integer":
        return pd.to_numeric(values).astype("Int64")
    if field.type == "decimal":
        return pd.to_numeric(values).astype(float)
    if field.type == "date":
        return pd.to_datetime(values).astype("datetime64[ns]")
    if field.type == "yesno":
        return values.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else bool(v)).astype("boolean")
    return values.astype(object).where(values.notna(), None)


def _wide(records: "pd.DataFrame", values: "pd.DataFrame", fields: list["FormField"]) -> "pd.DataFrame":
    import pandas as pd

    out = records.rename(columns={"id": "SRCSEQ"}).reset_index(drop=True)
    if "visit_date" in out:
        out["visit_date"] = pd.to_datetime(out["visit_date"]).astype("datetime64[ns]")
    mine = values[values["record_id"].isin(out["SRCSEQ"])] if not values.empty else values
    for f in fields:
        rows = mine[mine["field"] == f.name] if not mine.empty else mine
        column = _value_column(f)
        if rows.empty:
            series = pd.Series([None] * len(out), index=out.index, dtype=object)
        elif f.type == "multiple_choice":
            joined = rows.sort_values("position").groupby("record_id")[column].agg(lambda c: "|".join(map(str, c)))
            series = out["SRCSEQ"].map(joined)
        else:
            series = out["SRCSEQ"].map(rows.set_index("record_id")[column])
        out[f.name] = _typed_column(series, f)
    return out


def form_frame(tables: Mapping[str, "pd.DataFrame"], study: "Study", name: str) -> "pd.DataFrame":
    """Study form ``name``: one row per record (``patient_id``, ``SRCSEQ`` = form_records.id, visit,
    instance, visit_date, protocol_version), one column per field, in record order."""
    from earlyphase.derive.source import source_frame

    form = study.form(name)
    records = tables.get("form_records", source_frame("form_records"))
    values = tables.get("form_values", source_frame("form_values"))
    mine = records[(records["form"] == name) & records["core_table"].isna()] if not records.empty else records
    mine = mine.sort_values("id")[["id", "patient_id", "visit", "instance", "visit_date", "protocol_version"]]
    return _wide(mine, values, form.fields)


def extension_frame(tables: Mapping[str, "pd.DataFrame"], study: "Study", core_form: str) -> "pd.DataFrame":
    """The fields a study adds to ``core_form``: one row per core record (``core_table``, ``core_id``)."""
    from earlyphase.derive.source import source_frame

    extension = study.extension(core_form)
    records = tables.get("form_records", source_frame("form_records"))
    values = tables.get("form_values", source_frame("form_values"))
    mine = records[(records["form"] == core_form) & records["core_table"].notna()] if not records.empty else records
    mine = mine.sort_values("id")[["id", "patient_id", "core_table", "core_id", "protocol_version"]]
    return _wide(mine, values, extension.fields if extension is not None else [])


def baseline_values(tables: Mapping[str, "pd.DataFrame"], study: "Study",
                    first_dose: Mapping[int, "pd.Timestamp"]) -> dict[str, dict[int, object]]:
    """ADaM variable -> {patient id -> baseline value} for every field the study maps to ADSL."""
    import pandas as pd

    out: dict[str, dict[int, object]] = {}
    frames: dict[str, pd.DataFrame] = {}
    for form_name, field in study.adam_fields():
        if form_name not in frames:
            try:
                study.form(form_name)
                frames[form_name] = form_frame(tables, study, form_name)
                date_field = study.form(form_name).date_field
            except KeyError:  # a core form's added field
                frame = extension_frame(tables, study, form_name)
                frames[form_name] = frame.assign(visit_date=pd.NaT)
                date_field = None
            frame = frames[form_name]
            frame["_DATE"] = frame[date_field] if date_field else frame["visit_date"]
        frame = frames[form_name]
        values: dict[int, object] = {}
        for pid, rows in frame[frame[field.name].notna()].groupby("patient_id"):
            values[int(pid)] = _pick(rows, field.name, first_dose.get(int(pid)))
        out[field.adam.variable] = values
    return out


def _pick(rows: "pd.DataFrame", column: str, first_dose) -> object:
    import pandas as pd

    dated = rows[rows["_DATE"].notna()].sort_values(["_DATE", "SRCSEQ"])
    if not dated.empty:
        if first_dose is not None and pd.notna(first_dose):
            before = dated[dated["_DATE"] <= first_dose]
            if not before.empty:
                return before[column].iloc[-1]
            undated = rows[rows["_DATE"].isna()]
            return undated[column].iloc[0] if not undated.empty else None  # only values after the first dose
        return dated[column].iloc[-1]
    return rows.sort_values("SRCSEQ")[column].iloc[0]
