"""The study file: the bundled seed study loads, and bad files report every problem with its path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from earlyphase.errors import StudyFileError
from earlyphase.protocol import bundled_studies, load_study, parse_study, read_study_text

SRC = Path(__file__).resolve().parents[2] / "src" / "earlyphase"


def seed_dict() -> dict:
    text, _ = read_study_text("nk-hcc-ltx")
    return yaml.safe_load(text)


def test_seed_study_is_bundled_and_valid():
    assert "nk-hcc-ltx" in bundled_studies()
    study = load_study("nk-hcc-ltx")
    assert study.registry_id == "NCT02399735"
    assert study.sponsor == "Sun Yat-sen University"
    assert study.group_codes == ["A", "B", "C", "D"]
    assert [g.planned_n for g in study.groups] == [3, 5, 6, 4]
    assert [study.level_of(c) for c in "ABCD"] == [1, 2, 3, 4]
    arms = [g.registry_arm for g in study.groups]
    assert arms[:3] == ["Low Dose NK x4", "Normal Dose NK x4", "Normal Dose NK x8"]


def test_unknown_doses_are_labelled_assumed_and_known_ones_published():
    study = load_study("nk-hcc-ltx")
    sources = {g.code: g.regimen.dose_source for g in study.groups}
    assert sources == {"A": "assumed", "B": "published", "C": "published", "D": "assumed"}
    assert len(study.assumptions) >= 2
    # The pilot's normal dose: 5e9 cells every 14 days.
    assert study.group("B").regimen.dose == 5e9 and study.product.dose_unit == "cells"
    assert study.group("B").regimen.schedule.every_days == 14


def test_step_up_regimen_gives_a_dose_per_administration():
    reg = load_study("nk-hcc-ltx").group("D").regimen
    assert reg.is_step_up
    doses = [reg.planned_dose(k) for k in range(1, reg.administrations + 1)]
    assert doses == [1e9, 2.5e9] + [5e9] * 6
    assert reg.cumulative_dose == pytest.approx(sum(doses))
    with pytest.raises(ValueError):
        reg.planned_dose(reg.administrations + 1)


def test_flat_regimen_dose_is_the_same_each_administration():
    reg = load_study("nk-hcc-ltx").group("C").regimen
    assert {reg.planned_dose(k) for k in range(1, 9)} == {reg.dose}
    assert reg.cumulative_dose == 8 * reg.dose


def test_every_problem_is_listed_with_its_path():
    data = seed_dict()
    data["dlt_window_days"] = 0
    data["groups"][1]["regimen"]["schedule"]["administrations"] = -2
    data["groups"][3]["regimen"]["step_up_doses"] = [1e9] * 9
    data["registry_id"] = "NCT123"
    del data["sponsor"]
    with pytest.raises(StudyFileError) as info:
        parse_study(yaml.safe_dump(data), "bad.yaml")
    fields = {p.field for p in info.value.problems}
    assert {"dlt_window_days", "groups[1].regimen.schedule.administrations", "registry_id", "sponsor"} <= fields
    assert any(p.field.startswith("groups[3].regimen") and "step_up_doses lists 9 doses" in p.message
               for p in info.value.problems)
    assert all(p.file == "bad.yaml" for p in info.value.problems)
    by_field = {p.field: p for p in info.value.problems}
    assert by_field["groups[1].regimen.schedule.administrations"].value == -2
    assert by_field["sponsor"].value is None


def test_typo_in_a_key_is_rejected_not_ignored():
    data = seed_dict()
    data["groups"][0]["regimen"]["dose_cels"] = 1e9
    with pytest.raises(StudyFileError) as info:
        parse_study(yaml.safe_dump(data))
    assert [p.field for p in info.value.problems] == ["groups[0].regimen.dose_cels"]
    assert info.value.problems[0].rule == "extra_forbidden"


def test_duplicate_group_codes_are_rejected():
    data = seed_dict()
    data["groups"][1]["code"] = "A"
    with pytest.raises(StudyFileError, match="repeated: A"):
        parse_study(yaml.safe_dump(data))


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(StudyFileError) as info:
        parse_study("study_id: x\ngroups: [\n", "broken.yaml")
    assert info.value.problems[0].rule == "yaml-syntax"
    assert "line" in str(info.value.problems[0].value)


def test_missing_file_says_what_exists(tmp_path):
    with pytest.raises(StudyFileError, match="nk-hcc-ltx"):
        load_study(tmp_path / "nope.yaml")


def test_a_study_file_on_disk_loads(tmp_path):
    path = tmp_path / "other.yaml"
    data = seed_dict()
    data["study_id"] = "other-cell-therapy"
    data["registry_id"] = None
    path.write_text(yaml.safe_dump(data))
    assert load_study(path).study_id == "other-cell-therapy"


def test_assumed_doses_live_only_in_the_study_file():
    # The low dose and group D's steps are protocol parameters: they must never appear in code.
    pattern = re.compile(r"\b(2\.5e9|2\.5 ?\* ?1e9|2500000000|2_500_000_000)\b")
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
