"""The twin's records as source frames, without a database (fast iteration and unit tests of the report).

The end-to-end tests go through the database instead (``earlyphase demo`` path)."""

from __future__ import annotations

from earlyphase.derive import SourceData, source_frame


def twin_source(seed=None):
    from earlyphase.protocol import load_study
    from earlyphase.twin.generate import DEFAULT_SEED, generate_twin

    study = load_study("nk-hcc-ltx")
    study = study.model_copy(update={"synthetic": True})
    twin = generate_twin(study, seed=DEFAULT_SEED if seed is None else seed)
    pid = {p["subject_id"]: i + 1 for i, p in enumerate(twin.patients)}
    rows = {"sites": [{"id": 1, "code": study.sites[0].code, "name": study.sites[0].name}]}
    rows["patients"] = [{**{k: v for k, v in p.items() if k not in ("site", "site_code")}, "id": pid[p["subject_id"]], "site_id": 1}
                        for p in twin.patients]
    for name in ("allocations", "infusions", "adverse_events", "other_therapies", "follow_ups", "deaths"):
        rows[name] = [{**{k: v for k, v in r.items() if k != "subject_id"}, "patient_id": pid[r["subject_id"]]}
                      for r in getattr(twin, name)]
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
