"""ClinicalTrials.gov: the results section from the database (validated against the registry's OpenAPI spec,
counted again here from the tables), the real record read in and written back equal, and protocol sections as
study-file drafts (the real record's, and one built from each bundled study)."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from ctgov_files import build_study_db, ctgov_dir, record, row_counts_and_audit_head, spec
from earlyphase.cli import app
from earlyphase.cli.common import run_app

STUDIES = ["nk-hcc-ltx", "oral-3plus3", "cart-boin"]


@pytest.fixture(scope="module", params=STUDIES)
def study_db(request, tmp_path_factory):
    return request.param, build_study_db(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def the_spec():
    return spec()


def _results(url):
    from earlyphase.derive import derive_datasets
    from earlyphase.interop.ctgov import build_results

    ds = derive_datasets(url)
    return ds, build_results(ds)


def _by_group(stats, key="numSubjects"):
    return {s["groupId"]: s[key] for s in stats}


def test_results_validate_strictly_and_read_back_equal(study_db, the_spec):
    from earlyphase.interop.ctgov import read_results, schema_errors

    _, url = study_db
    _, document = _results(url)
    data = document.to_dict()
    assert schema_errors(data, the_spec, "ResultsSection", strict=True) == []
    assert schema_errors(document.to_record(), the_spec, "Study", strict=True) == []
    assert read_results(json.loads(json.dumps(data))).to_dict() == data
    assert set(data) == {"participantFlowModule", "baselineCharacteristicsModule", "outcomeMeasuresModule",
                         "adverseEventsModule"}


def test_participant_flow_counts_match_the_tables(study_db):
    from sqlalchemy import select

    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import Allocation

    name, url = study_db
    ds, document = _results(url)
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            allocated = [r.group_code for r in session.execute(select(Allocation)).scalars()]
    finally:
        engine.dispose()
    flow = document.to_dict()["participantFlowModule"]
    titles = {g["id"]: g["title"] for g in flow["groups"]}
    label = {g.registry_arm or g.label: g.code for g in ds.study.groups}
    period = flow["periods"][0]
    milestones = {m["type"]: _by_group(m["achievements"]) for m in period["milestones"]}
    started = {label[titles[k]]: int(v) for k, v in milestones["STARTED"].items()}
    assert started == {g: allocated.count(g) for g in set(allocated)}
    for gid in titles:
        assert int(milestones["COMPLETED"][gid]) + int(milestones["NOT COMPLETED"][gid]) == \
            int(milestones["STARTED"][gid])
        dropped = sum(int(_by_group(d["reasons"])[gid]) for d in period.get("dropWithdraws", []))
        assert dropped == int(milestones["NOT COMPLETED"][gid])
    # every count is written as the registry types it: a string of digits
    assert all(isinstance(v, str) and v.isdigit() for m in milestones.values() for v in m.values())


def test_baseline_total_is_the_sum_of_the_groups(study_db):
    _, url = study_db
    _, document = _results(url)
    baseline = document.to_dict()["baselineCharacteristicsModule"]
    total = baseline["groups"][-1]["id"]
    assert baseline["groups"][-1]["title"] == "Total"
    denoms = _by_group(baseline["denoms"][0]["counts"], "value")
    assert int(denoms[total]) == sum(int(v) for k, v in denoms.items() if k != total)
    sex = next(m for m in baseline["measures"] if m["title"] == "Sex: Female, Male")
    for category in sex["classes"][0]["categories"]:
        values = _by_group(category["measurements"], "value")
        assert int(values[total]) == sum(int(v) for k, v in values.items() if k != total)
    women_and_men = [_by_group(c["measurements"], "value") for c in sex["classes"][0]["categories"]]
    assert sum(int(c[total]) for c in women_and_men) == int(denoms[total])


def test_adverse_events_count_each_treatment_emergent_event_once(study_db):
    name, url = study_db
    ds, document = _results(url)
    module = document.to_dict()["adverseEventsModule"]
    assert module["frequencyThreshold"] == "0" and module["timeFrame"]
    ae = ds.adae[(ds.adae["TRTEMFL"] == "Y") & (ds.adae["SAFFL"] == "Y")]
    listed = module.get("seriousEvents", []) + module.get("otherEvents", [])
    assert sum(s["numEvents"] for e in listed for s in e["stats"]) == len(ae)
    assert {(e["organSystem"], e["term"]) for e in listed} == set(zip(ae["AEBODSYS"], ae["AEDECOD"]))
    at_risk = {g["id"]: g["otherNumAtRisk"] for g in module["eventGroups"]}
    assert sum(at_risk.values()) == int((ds.adsl["SAFFL"] == "Y").sum())
    for event in listed:
        assert event["sourceVocabulary"] == f"CTCAE v{ds.study.ctcae_version}"
        for s in event["stats"]:
            assert isinstance(s["numAffected"], int) and 0 <= s["numAffected"] <= s["numEvents"]
            assert s["numAtRisk"] == at_risk[s["groupId"]]
    deaths = sum(g["deathsNumAffected"] for g in module["eventGroups"])
    assert deaths == int(((ds.adsl["SAFFL"] == "Y") & (ds.adsl["DTHFL"] == "Y")).sum())


def test_outcomes_dlt_per_level_and_survival_medians_as_the_report_gives_them(study_db):
    from earlyphase.report.survival import analyse_endpoint

    name, url = study_db
    ds, document = _results(url)
    outcomes = document.to_dict()["outcomeMeasuresModule"]["outcomeMeasures"]
    dlt = outcomes[0]
    assert dlt["paramType"] == "COUNT_OF_PARTICIPANTS" and "Dose-limiting" in dlt["title"]
    window = ds.adae[(ds.adae["AEDLTFL"] == "Y") & (ds.adae["DLTWINFL"] == "Y") & (ds.adae["SAFFL"] == "Y")]
    counted = sum(int(m["value"]) for m in dlt["classes"][0]["categories"][0]["measurements"])
    assert counted == window["USUBJID"].nunique()
    survival = {o["title"].split(" (")[0]: o for o in outcomes[1:]}
    assert set(survival) == {"Progression-free Survival", "Overall Survival"}
    for title, paramcd in (("Progression-free Survival", "PFS"), ("Overall Survival", "OS")):
        outcome = survival[title]
        reference = analyse_endpoint(ds.adtte, ds.study, paramcd, title)
        ids = {g["id"]: g["title"] for g in outcome["groups"]}
        code = {g.registry_arm or g.label: g.code for g in ds.study.groups}
        for m in outcome["classes"][0]["categories"][0]["measurements"]:
            median, lower, upper = reference.median(code[ids[m["groupId"]]])
            for got, want in ((m["value"], median), (m.get("lowerLimit"), lower), (m.get("upperLimit"), upper)):
                assert got == ("NA" if not math.isfinite(want) else f"{want:.2f}")
            if "NA" in (m["value"], m.get("lowerLimit"), m.get("upperLimit")):
                assert m["comment"]  # the registry asks why a value is NA
        if reference.logrank is not None:
            analysis = outcome["analyses"][0]
            assert analysis["statisticalMethod"] == "Log Rank"
            p = reference.logrank.p_value
            assert analysis["pValue"] == ("<0.001" if p < 0.001 else f"{p:.3f}")


def test_the_cli_writes_a_validated_record_and_changes_nothing(study_db, tmp_path, capsys):
    name, url = study_db
    before = row_counts_and_audit_head(url)
    out = tmp_path / "results.json"
    code = run_app(app, ["interop", "ctgov", "results", "--db", url, "--out", str(out), "--record",
                         "--spec", str(ctgov_dir() / "ctg-oas-v2.yaml"), "--format", "json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["validated"] is True and summary["study_id"] == name
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["hasResults"] is True and written["protocolSection"]["armsInterventionsModule"]["armGroups"]
    assert row_counts_and_audit_head(url) == before


# ------------------------------------------------------------------------------------------- the real record
def test_the_real_record_validates_and_its_results_read_back_equal(the_spec):
    from earlyphase.interop.ctgov import read_results, schema_errors

    data = record()
    assert schema_errors(data, the_spec, "Study") == []
    # the results section uses only keys the spec lists; the protocol section carries one the spec does not
    assert schema_errors(data["resultsSection"], the_spec, "ResultsSection", strict=True) == []
    strict = schema_errors(data, the_spec, "Study", strict=True)
    assert len(strict) == 1 and "locations_nested" in strict[0]
    section = read_results(data["resultsSection"])
    assert section.to_dict() == data["resultsSection"]
    # the objects hold the registry's values, typed as the schema types them
    flow = section.participantFlowModule.periods[0].milestones[0]
    assert flow.type == "STARTED" and [a.numSubjects for a in flow.achievements] == ["2896", "2900"]
    assert section.adverseEventsModule.eventGroups[0].seriousNumAtRisk == 2841


def test_the_real_record_drafts_a_study_with_the_phase_one_parts_marked(tmp_path, capsys):
    from earlyphase.errors import StudyFileError
    from earlyphase.interop.ctgov import marked_paths
    from earlyphase.protocol.loader import parse_study

    out = tmp_path / "study.yaml"
    code = run_app(app, ["interop", "ctgov", "draft", "--record", str(ctgov_dir() / "NCT02513394.json"),
                         "--out", str(out), "--format", "json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    text = out.read_text(encoding="utf-8")
    draft = yaml.safe_load(text)
    protocol = record()["protocolSection"]
    assert draft["registry_id"] == "NCT02513394"
    assert [g["registry_arm"] for g in draft["groups"]] == [a["label"] for a in
                                                            protocol["armsInterventionsModule"]["armGroups"]]
    outcomes = protocol["outcomesModule"]
    assert [e["name"] for e in draft["endpoints"]] == [o["measure"] for key in ("primaryOutcomes", "secondaryOutcomes",
                                                                                 "otherOutcomes")
                                                      for o in outcomes.get(key, [])]
    criteria = protocol["eligibilityModule"]["eligibilityCriteria"]
    exclusion_text = criteria.split("Exclusion Criteria:")[1]
    assert len(draft["eligibility"]["exclusion"]) == sum(1 for line in exclusion_text.splitlines()
                                                         if line.strip().startswith("* "))
    assert draft["product"]["name"] == "Palbociclib"
    assert any("Breast Cancer" in a for a in draft["assumptions"])
    marks = marked_paths(draft)
    assert summary["to_complete"] == marks
    assert {"dlt_window_days", "product.dose_unit", "groups[0].regimen.dose", "groups[1].regimen.schedule"} <= set(marks)
    with pytest.raises(StudyFileError) as refused:
        parse_study(text)
    named = {p.field for p in refused.value.problems}
    assert named == set(marks)


def _complete(draft, study):
    """Fill the marks of a draft made from our own study with that study's values."""
    draft["dlt_window_days"] = study.dlt_window_days
    draft["product"].update(dose_unit=study.product.dose_unit, route=study.product.route)
    for g, ours in zip(draft["groups"], study.groups):
        g["code"] = ours.code
        g["regimen"] = json.loads(ours.regimen.model_dump_json(exclude_none=True))
    draft["sites"] = [{"code": s.code, "name": s.name} for s in study.sites]
    return draft


@pytest.mark.parametrize("name", STUDIES)
def test_a_record_built_from_our_study_drafts_back_to_its_levels_criteria_and_endpoints(name, the_spec):
    from earlyphase.interop.ctgov import draft_study, marked_paths, protocol_section, schema_errors
    from earlyphase.protocol import load_study
    from earlyphase.protocol.loader import parse_study

    study = load_study(name)
    section = protocol_section(study)
    assert schema_errors(section, the_spec, "ProtocolSection", strict=True) == []
    draft = draft_study({"protocolSection": section})
    assert set(marked_paths(draft)) >= {"dlt_window_days", "product.dose_unit", "groups[0].regimen.dose"}
    completed = parse_study(yaml.safe_dump(_complete(draft, study), sort_keys=False))
    assert [g.label for g in completed.groups] == [g.registry_arm or g.label for g in study.groups]
    assert [c.text for c in completed.eligibility.inclusion] == [c.text for c in study.eligibility.inclusion]
    assert [c.text for c in completed.eligibility.exclusion] == [c.text for c in study.eligibility.exclusion]
    assert [(e.name, e.kind) for e in completed.endpoints] == [(e.name, e.kind) for e in study.endpoints]
    assert [e.paramcd for e in completed.endpoints if e.paramcd] == [e.paramcd for e in study.endpoints if e.paramcd]
    assert completed.registry_id == study.registry_id and completed.title == study.title
