"""CTCAE: the bundled terms, the loader of NCI's Excel file, and their agreement."""

from __future__ import annotations

import pytest

from earlyphase.errors import InputError
from earlyphase.vocab import CTCAE_VERSIONS, bundled_ctcae, load_ctcae_excel

# Terms the brief and the seed trial need: every one must be bundled in both versions.
NEEDED = ["Fever", "Chills", "Fatigue", "Infusion related reaction", "Cytokine release syndrome",
          "Alanine aminotransferase increased", "Aspartate aminotransferase increased", "Blood bilirubin increased",
          "Platelet count decreased", "Neutrophil count decreased", "White blood cell decreased",
          "Lymphocyte count decreased", "Anemia", "Rash maculo-papular", "Pruritus", "Nausea", "Vomiting", "Diarrhea",
          "Anorexia", "Headache", "Myalgia", "Arthralgia", "Hypotension", "Hypertension", "Dyspnea", "Cough",
          "Abdominal pain", "Ascites", "Edema limbs", "Insomnia", "Hypoalbuminemia"]


@pytest.mark.parametrize("version", CTCAE_VERSIONS)
def test_bundled_terms_cover_cell_therapy(version):
    d = bundled_ctcae(version)
    assert len(d) >= 40
    for term in NEEDED:
        assert term in d, term
    for t in d:
        assert t.grades and set(t.grades) <= {1, 2, 3, 4, 5} and t.soc and t.version == version


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


def test_loader_reads_official_v5(ctcae_v5_xlsx):
    full = load_ctcae_excel(ctcae_v5_xlsx)
    assert full.version == "5.0"
    assert len(full) > 800  # NCI v5.0 has 837 term rows
    # The facts the brief names, read from NCI's own file.
    assert full.lookup("Fever").grades == (1, 2, 3, 4, 5)
    assert full.lookup("Nausea").grades == (1, 2, 3)
    assert full.lookup("Alopecia").grades == (1, 2)
    assert full.lookup("Platelet count decreased").grades == (1, 2, 3, 4)
    assert full.lookup("Febrile neutropenia").grades == (3, 4, 5)
    assert full.lookup("Platelet count decreased").soc == "Investigations"
    assert full.lookup("Fever").meddra_code == 10016558


def test_bundled_v5_agrees_with_official_file(ctcae_v5_xlsx):
    full = load_ctcae_excel(ctcae_v5_xlsx)
    disagreements = []
    for t in bundled_ctcae("5.0"):
        official = full.get(t.term)
        if official is None:
            disagreements.append(f"{t.term}: not in NCI's file")
        elif (official.soc, official.grades, official.meddra_code) != (t.soc, t.grades, t.meddra_code):
            disagreements.append(f"{t.term}: bundled {t.soc} {t.grades} {t.meddra_code}, "
                                 f"NCI {official.soc} {official.grades} {official.meddra_code}")
    assert disagreements == []


def test_bundled_403_uses_v5_meddra_codes_and_names(ctcae_v5_xlsx):
    # Term names and MedDRA codes carried from v4.03 to v5.0 unchanged for the bundled terms.
    full = load_ctcae_excel(ctcae_v5_xlsx)
    for t in bundled_ctcae("4.03"):
        assert full.lookup(t.term).meddra_code == t.meddra_code


def test_loader_rejects_other_spreadsheets(tmp_path):
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


def test_loader_reads_a_small_file_in_nci_layout(tmp_path):
    # The layout of NCI's file (grade headers with non-breaking spaces, '-' for a missing grade).
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "CTCAE v5.0 Clean Copy"
    ws.append(["MedDRA Code", "MedDRA SOC", "CTCAE Term"] + [f"Grade {g} \xa0\xa0" for g in range(1, 6)]
              + ["Definition"])
    ws.append([10028813, "Gastrointestinal disorders", "Nausea", "a", "b", "c", " -", " -", "d"])
    ws.append([10001760, "Skin and subcutaneous tissue disorders", "Alopecia", "a", "b", "-", "-", None, "d"])
    path = tmp_path / "CTCAE_v5.0_small.xlsx"
    wb.save(path)
    d = load_ctcae_excel(path)
    assert d.version == "5.0"
    assert d.lookup("nausea").grades == (1, 2, 3) and d.lookup("Alopecia").grades == (1, 2)
