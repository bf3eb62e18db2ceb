"""A tiny trial built row by row (source frames), shared by the derive and report tests."""

from __future__ import annotations

from datetime import date, timedelta

from earlyphase.derive import SourceData, source_frame
from earlyphase.protocol import load_study

def study_with(**pfs):
    """The bundled seed study with some analysis.pfs settings changed (and an optional cut-off)."""
    study = load_study("nk-hcc-ltx")
    cutoff = pfs.pop("data_cutoff", None)
    criteria = pfs.pop("response_criteria", None)
    analysis = study.analysis.model_copy(update={"pfs": study.analysis.pfs.model_copy(update=pfs), "data_cutoff": cutoff})
    update = {"analysis": analysis}
    if criteria:
        update["response_criteria"] = criteria
    return study.model_copy(update=update)


class TrialBuilder:
    """Add patients, administrations, scans (target sums), AEs...; ``source()`` gives SourceData."""

    def __init__(self):
        self.rows = {name: [] for name in (
            "sites", "patients", "allocations", "administrations", "adverse_events", "tumour_assessments", "lesions",
            "other_therapies", "follow_ups", "deaths")}
        self.rows["sites"].append({"id": 1, "code": "S1", "name": "Site 1"})
        self._ids = {}

    def _id(self, table):
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def patient(self, subject, group="A", start=date(2015, 1, 10), infusions=4, interval=14, dose=5e9, **extra):
        pid = self._id("patients")
        self.rows["patients"].append({
            "id": pid, "subject_id": subject, "site_id": 1, "sex": "M", "birth_year": 1960, "ecog": 0,
            "consent_date": start - timedelta(days=10), "enrolment_date": start - timedelta(days=7),
            "status": "enrolled", **extra})
        self.rows["allocations"].append({"id": self._id("allocations"), "patient_id": pid, "group_code": group,
                                         "allocation_date": start - timedelta(days=5)})
        for k in range(infusions):
            d = start + timedelta(days=interval * k)
            self.rows["administrations"].append({"id": self._id("administrations"), "patient_id": pid,
                                                 "number": k + 1, "planned_date": d, "actual_date": d, "dose": dose,
                                                 "dose_unit": "cells", "route": "IV"})
        return pid

    def scan(self, pid, when, targets=None, new=False, nontarget=None, baseline=False, investigator=None,
             nodes=None, nontarget_nodes=None, new_lesions=None):
        """targets: {label: diameter mm, or None when not measured}; nontarget: {label: status};
        nodes: {label: short axis mm} (target lymph nodes); nontarget_nodes: {label: (status, short axis or None)};
        new: one new lesion NEW1 of 12 mm; new_lesions: {label: diameter mm, or a status for an unmeasured one}."""
        aid = self._id("tumour_assessments")
        self.rows["tumour_assessments"].append({"id": aid, "patient_id": pid, "assessment_date": when,
                                                "modality": "MRI", "baseline": baseline,
                                                "investigator_response": investigator})

        def add(**row):
            self.rows["lesions"].append({"id": self._id("lesions"), "assessment_id": aid, **row})

        for label, mm in (targets or {}).items():
            add(lesion_label=label, kind="target", viable_diameter_mm=mm)
        for label, mm in (nodes or {}).items():
            add(lesion_label=label, kind="target", node=True, short_axis_mm=mm)
        for label, status in (nontarget or {}).items():
            add(lesion_label=label, kind="non-target", status=status)
        for label, (status, mm) in (nontarget_nodes or {}).items():
            add(lesion_label=label, kind="non-target", status=status, node=True, short_axis_mm=mm)
        if new:
            add(lesion_label="NEW1", kind="new", viable_diameter_mm=12.0)
        for label, value in (new_lesions or {}).items():
            if isinstance(value, str):
                add(lesion_label=label, kind="new", status=value)
            else:
                add(lesion_label=label, kind="new", viable_diameter_mm=value)
        return aid

    def ae(self, pid, term="Fever", grade=1, onset="2015-01-10", resolution=None, attribution="possible",
           soc="General disorders and administration site conditions", dlt=False):
        aid = self._id("adverse_events")
        self.rows["adverse_events"].append({
            "id": aid, "patient_id": pid, "term": term, "soc": soc, "ctcae_version": "5.0", "grade": grade,
            "serious": False, "attribution": attribution, "onset": onset, "resolution": resolution,
            "outcome": "recovered", "action": "none", "dlt": dlt})
        return aid

    def death(self, pid, when, cause="disease progression"):
        self.rows["deaths"].append({"id": self._id("deaths"), "patient_id": pid, "death_date": when, "cause": cause})

    def follow_up(self, pid, when, status="alive"):
        self.rows["follow_ups"].append({"id": self._id("follow_ups"), "patient_id": pid, "contact_date": when,
                                        "status": status})

    def therapy(self, pid, when, therapy="sorafenib", new_anticancer=True):
        self.rows["other_therapies"].append({"id": self._id("other_therapies"), "patient_id": pid,
                                             "therapy": therapy, "start_date": when,
                                             "new_anticancer": new_anticancer})

    def source(self, study=None):
        tables = {name: source_frame(name, rows) for name, rows in self.rows.items()}
        return SourceData(study=study or study_with(), tables=tables)
