"""The CDISC export on the bundled studies besides the seed trial (oral-3plus3: an oral drug in cycles with 3+3;
cart-boin: CAR-T cells/kg with BOIN and ASTCT grading), each with its synthetic data set (one cycle of treatment,
as tests/e2e does): every file schema-valid, XPT equal to Dataset-JSON, define.xml valid against the XSD, the
study's own fields in SUPPDM and ADSL with the study file's labels."""

from __future__ import annotations

import json

import pytest

from cdisc_files import msg_dir
from earlyphase.interop.cdisc import read_dataset

jsonschema = pytest.importorskip("jsonschema")

STUDIES = ["oral-3plus3", "cart-boin"]


@pytest.fixture(scope="module", params=STUDIES)
def exported(request, tmp_path_factory):
    from earlyphase.capture import initialise, stored_study
    from earlyphase.interop.cdisc.export import export_cdisc
    from earlyphase.records import make_engine
    from earlyphase.synthetic import load_synthetic, read_profile

    name = request.param
    folder = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{folder / 'trial.db'}"
    initialise(url, name, "coordinator1").close()
    load_synthetic(url, read_profile(name).model_copy(update={"max_cycles": 1}))
    engine = make_engine(url)
    try:
        study, _ = stored_study(engine)
        result = export_cdisc(engine, folder / "sub", identified=True, username="coordinator1")
    finally:
        engine.dispose()
    return study, result


def test_every_file_is_schema_valid_and_xpt_equals_json(exported):
    study, result = exported
    schema = json.loads((msg_dir() / "schema" / "dataset.schema.json").read_text(encoding="utf-8"))
    for name, records in result.records.items():
        folder = result.out_dir / ("adam" if name.startswith("AD") else "sdtm")
        document = json.loads((folder / f"{name.lower()}.json").read_text(encoding="utf-8"))
        jsonschema.Draft201909Validator(schema).validate(document)
        as_json, as_xpt = read_dataset(folder / f"{name.lower()}.json"), read_dataset(folder / f"{name.lower()}.xpt")
        assert as_json.records == as_xpt.records == records, name
        assert [(c.name, c.label) for c in as_json.columns] == [(c.name, c.label) for c in as_xpt.columns], name
        for a_row, b_row in zip(as_json.rows, as_xpt.rows):
            for a, b in zip(a_row, b_row):
                assert a == b or (isinstance(a, (int, float)) and float(a) == float(b)), (name, a, b)
    assert result.records["DM"] == result.records["ADSL"] > 0


def test_define_is_valid_and_the_study_fields_keep_their_labels(exported):
    from earlyphase.interop.cdisc.define import bundled_xsd, check_define, xsd_problems

    pytest.importorskip("defineutils")
    study, result = exported
    for folder in ("sdtm", "adam"):
        path = result.out_dir / folder / "define.xml"
        assert xsd_problems(path, bundled_xsd(path)) == []
        check_define(path)
        from lxml import etree

        groups = etree.parse(str(path)).iter("{http://www.cdisc.org/ns/odm/v1.3}ItemGroupDef")
        no_data = {g.get("Name"): g.get("{http://www.cdisc.org/ns/def/v2.1}HasNoData") == "Yes" for g in groups}
        assert no_data == {n: r == 0 for n, r in result.records.items() if n.startswith("AD") == (folder == "adam")}
    adsl = read_dataset(result.out_dir / "adam" / "adsl.json")
    declared = [(f.adam.variable, f.adam.label) for _, f in study.adam_fields()]
    assert declared
    assert all(adsl.column(v).label == label for v, label in declared)
    suppdm = read_dataset(result.out_dir / "sdtm" / "suppdm.json")
    names = {(q, label) for q, label in zip(suppdm.values("QNAM"), suppdm.values("QLABEL"))}
    left_out = json.loads((result.out_dir / "manifest.json").read_text())["not_in_sdtm"]["forms"]
    once = [(f.adam.variable, f.adam.label) for form, f in study.adam_fields()
            if form not in left_out and form in {x.name for x in study.forms}]
    assert set(once) <= names
    for form in left_out:  # named because some patient has it more than once
        assert form in {x.name for x in study.forms}
