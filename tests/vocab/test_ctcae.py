"""CTCAE: the bundled v5.0 (complete) and v4.03 (subset), the loader of NCI's Excel file, and their agreement.

Where NCI's official file is present (../shared/data/CTCAE_v5.0_2017-11-27.xlsx) the tests read it cell by cell
with openpyxl, independently of earlyphase's loader, and compare every term with the bundled file.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from earlyphase.errors import InputError
from earlyphase.vocab import CTCAE_VERSIONS, bundled_ctcae, is_other_specify, load_ctcae_excel, meddra_soc_codes

REPO = Path(__file__).resolve().parents[2]

# Terms the seed trial and a cell-therapy trial need: every one must be bundled in both versions.
NEEDED = ["Fever", "Chills", "Fatigue", "Infusion related reaction", "Cytokine release syndrome",
          "Alanine aminotransferase increased", "Aspartate aminotransferase increased", "Blood bilirubin increased",
          "Platelet count decreased", "Neutrophil count decreased", "White blood cell decreased",
          "Lymphocyte count decreased", "Anemia", "Rash maculo-papular", "Pruritus", "Nausea", "Vomiting", "Diarrhea",
          "Anorexia", "Headache", "Myalgia", "Arthralgia", "Hypotension", "Hypertension", "Dyspnea", "Cough",
          "Abdominal pain", "Ascites", "Edema limbs", "Insomnia", "Hypoalbuminemia"]


def _text(cell) -> str:
    return re.sub(r"\s+", " ", str(cell).replace("\xa0", " ")).strip()


def _official_rows(path: Path) -> list[dict]:
    """NCI's rows as plain dicts, read straight from the workbook (no earlyphase code involved)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    header = [_text(c) if c is not None else "" for c in rows[0]]
    assert header[:8] == ["MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1", "Grade 2", "Grade 3", "Grade 4",
                          "Grade 5"]
    out = []
    for r in rows[1:]:
        if r[2] is None or not _text(r[2]):
            continue
        out.append({"code": int(r[0]), "soc": _text(r[1]), "term": _text(r[2]),
                    "grades": [None if _text(c) in ("", "-") else _text(c) for c in r[3:8]]})
    return out


@pytest.mark.parametrize("version", CTCAE_VERSIONS)
def test_bundled_terms_cover_cell_therapy(version):
    d = bundled_ctcae(version)
    assert len(d) >= 40
    for term in NEEDED:
        assert term in d, term
    for t in d:
        assert t.grades and set(t.grades) <= {1, 2, 3, 4, 5} and t.soc and t.version == version
        assert t.soc_code == meddra_soc_codes()[t.soc]


def test_v5_is_complete_and_v403_a_subset():
    v5, v4 = bundled_ctcae("5.0"), bundled_ctcae("4.03")
    assert v5.complete and len(v5) == 837 and v5.source == "bundled"
    assert not v4.complete and len(v4) == 69
    assert "subset" in v4.describe() and "837 terms" in v5.describe()
    # 26 system organ classes, each with exactly one "Other, specify" term
    others = [t for t in v5 if t.is_other_specify]
    assert len(v5.socs) == 26 and len(others) == 26 and {t.soc for t in others} == set(v5.socs)
    for t in others:
        assert v5.other_specify(t.soc) is t and t.meddra_code == t.soc_code


def test_grade_texts_and_missing_grades():
    d = bundled_ctcae("5.0")
    nausea = d.lookup("Nausea")
    assert nausea.grades == (1, 2, 3) and nausea.grade_text(4) is None and nausea.grade_text(5) is None
    assert nausea.grade_text(1).startswith("Loss of appetite")
    assert d.lookup("Fever").grade_text(5) == "Death"
    assert d.lookup("Alopecia").grades == (1, 2)
    assert d.lookup("Febrile neutropenia").grades == (3, 4, 5)
    assert d.lookup("Fever").definition.startswith("A disorder characterized by")
    assert d.by_meddra_code(10016558).term == "Fever"
    data = d.lookup("Cytokine release syndrome").to_dict()
    assert data["grade_texts"]["5"] == "Death" and data["soc_code"] == 10021428 and data["other_specify"] is False


def test_other_specify_terms():
    d = bundled_ctcae("5.0")
    gi = d.lookup("gastrointestinal disorders - other, specify")
    assert gi.is_other_specify and gi.soc == "Gastrointestinal disorders" and gi.grades == (1, 2, 3, 4, 5)
    # NCI's own spelling of one SOC's term is kept as it is
    assert d.other_specify("Musculoskeletal and connective tissue disorders").term == \
        "Musculoskeletal and connective tissue disorder - Other, specify"
    assert d.lookup("Eye disorders - Other, specify").grades == (1, 2, 3, 4)
    assert is_other_specify("Vascular disorders - Other, specify") and not is_other_specify("Fever")
    assert d.other_specify("no such soc") is None


def test_lookup_ignores_case_and_spacing():
    d = bundled_ctcae("5.0")
    assert d.lookup("  rash   MACULO-papular ").term == "Rash maculo-papular"
    assert d.get("no such term") is None
    with pytest.raises(KeyError):
        d.lookup("no such term")
    assert "Fever" in d.suggestions("Fevre")


def test_versions_differ_where_nci_changed_them():
    v4, v5 = bundled_ctcae("4.03"), bundled_ctcae("5.0")
    # CTCAE v5.0 added grade 2 hyponatremia and grade 3 sepsis, and moved infusion related reaction.
    assert v4.lookup("Hyponatremia").grades == (1, 3, 4, 5) and v5.lookup("Hyponatremia").grades == (1, 2, 3, 4, 5)
    assert v4.lookup("Sepsis").grades == (4, 5) and v5.lookup("Sepsis").grades == (3, 4, 5)
    assert v4.lookup("Infusion related reaction").soc == "General disorders and administration site conditions"
    assert v5.lookup("Infusion related reaction").soc == "Injury, poisoning and procedural complications"


def test_unknown_version():
    with pytest.raises(ValueError):
        bundled_ctcae("3.0")


def test_bundled_v5_is_nci_file_term_for_term(ctcae_v5_xlsx):
    official = _official_rows(ctcae_v5_xlsx)
    bundled = bundled_ctcae("5.0")
    assert len(official) == len(bundled) == 837
    assert [r["term"] for r in official] == [t.term for t in bundled]  # same terms, in NCI's order
    for row, t in zip(official, bundled):
        assert (t.meddra_code, t.soc) == (row["code"], row["soc"]), t.term
        assert list(t.grade_texts) == row["grades"], t.term
        assert t.grades == tuple(g for g in range(1, 6) if row["grades"][g - 1] is not None), t.term


@pytest.mark.parametrize("term, grade, text", [
    # spot checks typed from NCI's document, compared with the cells read from NCI's file
    ("Platelet count decreased", 4, "<25,000/mm3; <25.0 x 10e9 /L"),
    ("Neutrophil count decreased", 3, "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"),
    ("Fever", 1, "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)"),
])
def test_spot_checks_against_nci_file(ctcae_v5_xlsx, term, grade, text):
    row = next(r for r in _official_rows(ctcae_v5_xlsx) if r["term"] == term)
    assert row["grades"][grade - 1] == text
    assert bundled_ctcae("5.0").lookup(term).grade_text(grade) == text


def test_converted_files_are_reproducible_by_the_script(ctcae_v5_xlsx):
    spec = importlib.util.spec_from_file_location("build_ctcae", REPO / "scripts" / "build_ctcae.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    files = script.build(ctcae_v5_xlsx)
    assert len(files) == 2
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} differs: run scripts/build_ctcae.py"
    assert script.main([str(ctcae_v5_xlsx), "--check"]) == 0


def test_soc_codes_come_from_other_specify_rows(ctcae_v5_xlsx):
    official = _official_rows(ctcae_v5_xlsx)
    from_file = {r["soc"]: r["code"] for r in official if r["term"].endswith(" - Other, specify")}
    assert meddra_soc_codes() == from_file and len(from_file) == 26


def test_loader_reads_official_v5(ctcae_v5_xlsx):
    full = load_ctcae_excel(ctcae_v5_xlsx)
    assert full.version == "5.0" and full.complete
    assert len(full) == 837
    assert full.lookup("Fever").grades == (1, 2, 3, 4, 5)
    assert full.lookup("Nausea").grades == (1, 2, 3)
    assert full.lookup("Platelet count decreased").soc == "Investigations"
    assert full.lookup("Fever").meddra_code == 10016558
    assert [t.to_dict() for t in full] == [t.to_dict() for t in bundled_ctcae("5.0")]


def test_bundled_403_uses_v5_meddra_codes_and_names(ctcae_v5_xlsx):
    # Term names and MedDRA codes carried from v4.03 to v5.0 unchanged for the bundled terms.
    full = load_ctcae_excel(ctcae_v5_xlsx)
    for t in bundled_ctcae("4.03"):
        assert full.lookup(t.term).meddra_code == t.meddra_code


def test_loader_rejects_other_files(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Name", "Value"])
    wb.active.append(["a", 1])
    path = tmp_path / "not_ctcae.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as info:
        load_ctcae_excel(path)
    assert info.value.problems[0].rule == "ctcae-columns"
    with pytest.raises(InputError):
        load_ctcae_excel(tmp_path / "missing.xlsx")
    text_file = tmp_path / "CTCAE_v5.0.xlsx"
    text_file.write_text("not a workbook")
    with pytest.raises(InputError) as info:
        load_ctcae_excel(text_file)
    assert info.value.problems[0].rule == "ctcae-excel"


def test_loader_reads_a_small_file_in_nci_layout(tmp_path):
    # The layout of NCI's file (grade headers with non-breaking spaces, '-' for a missing grade).
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "CTCAE v5.0 Clean Copy"
    ws.append(["MedDRA Code", "MedDRA SOC", "CTCAE Term"] + [f"Grade {g} \xa0\xa0" for g in range(1, 6)]
              + ["Definition"])
    ws.append([10028813, "Gastrointestinal disorders", "Nausea", "a", "b\nc", "c", " -", " -", "d"])
    ws.append([10001760, "Skin and subcutaneous tissue disorders", "Alopecia", "a", "b", "-", "-", None, " -"])
    path = tmp_path / "CTCAE_v5.0_small.xlsx"
    wb.save(path)
    d = load_ctcae_excel(path)
    assert d.version == "5.0"
    assert d.lookup("nausea").grades == (1, 2, 3) and d.lookup("Alopecia").grades == (1, 2)
    assert d.lookup("nausea").grade_text(2) == "b c" and d.lookup("Alopecia").definition is None
    # no "Other, specify" rows in this file: SOC codes come from the bundled table
    assert d.lookup("nausea").soc_code == meddra_soc_codes()["Gastrointestinal disorders"]
