"""The twin's records as source frames, without a database (fast iteration and unit tests of the report).

The end-to-end tests go through the database instead (``earlyphase demo`` path)."""

from __future__ import annotations

from earlyphase.derive import SourceData, source_frame

# the seed study's own form (its study file) and the generator's keys that feed it
DISEASE_FIELDS = {"transplant_date": ("transplant_date", "value_date"),
                  "recurrence_date": ("recurrence_date", "value_date"),
                  "child_pugh": ("child_pugh_class", "value_text"), "child_pugh_score": ("child_pugh_score", "value_int"),
                  "afp_ng_ml": ("afp", "value_num"), "weight_kg": ("weight", "value_num")}


def twin_source(seed=None):
    from earlyphase.protocol import load_study
    from earlyphase.twin.generate import DEFAULT_SEED, generate_twin

    study = load_study("nk-hcc-ltx")
    study = study.model_copy(update={"synthetic": True})
    twin = generate_twin(study, seed=DEFAULT_SEED if seed is None else seed)
    pid = {p["subject_id"]: i + 1 for i, p in enumerate(twin.patients)}
    rows = {"sites": [{"id": 1, "code": study.sites[0].code, "name": study.sites[0].name}]}
    rows["patients"] = [{**{k: v for k, v in p.items() if k not in ("site", "site_code", *DISEASE_FIELDS)},
                         "id": pid[p["subject_id"]], "site_id": 1, "protocol_version": 1} for p in twin.patients]
    rows["form_records"], rows["form_values"] = [], []
    for p in twin.patients:
        record_id = len(rows["form_records"]) + 1
        rows["form_records"].append({"id": record_id, "patient_id": pid[p["subject_id"]], "form": "baseline_disease",
                                     "visit": "SCR", "instance": 1, "visit_date": p["enrolment_date"],
                                     "protocol_version": 1})
        for key, (field, column) in DISEASE_FIELDS.items():
            if p[key] is not None:
                rows["form_values"].append({"id": len(rows["form_values"]) + 1, "record_id": record_id, "field": field,
                                            "position": 0, column: p[key], "confirmed": False})
    for name in ("allocations", "adverse_events", "other_therapies", "follow_ups", "deaths"):
        rows[name] = [{**{k: v for k, v in r.items() if k != "subject_id"}, "patient_id": pid[r["subject_id"]]}
                      for r in getattr(twin, name)]
    rows["administrations"] = [{**{k: v for k, v in r.items() if k != "subject_id"}, "patient_id": pid[r["subject_id"]],
                                "dose_unit": "cells", "route": "IV"} for r in twin.infusions]
    rows["tumour_assessments"], rows["lesions"] = [], []
    for i, a in enumerate(twin.tumour_assessments, start=1):
        rows["tumour_assessments"].append({**{k: v for k, v in a.items() if k not in ("subject_id", "lesions")},
                                           "id": i, "patient_id": pid[a["subject_id"]]})
        for les in a["lesions"]:
            rows["lesions"].append({**les, "assessment_id": i})
    from earlyphase.derive.source import _columns

    # the generator carries a few extra fields (e.g. scheduled) that the database does not store
    keep = {name: {c for c, _ in _columns(name)} for name in rows}
    tables = {name: source_frame(name, [{k: v for k, v in x.items() if k in keep[name]} for x in r])
              for name, r in rows.items()}
    return SourceData(study=study, tables=tables, synthetic=True, origin=twin.note)
