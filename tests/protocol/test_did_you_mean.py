"""Study-file errors speak plainly and suggest the key that was meant (driven by the model's field names)."""

from __future__ import annotations

import pytest
import yaml

from earlyphase.errors import StudyFileError
from earlyphase.protocol import parse_study, read_study_text


def _bundled() -> dict:
    text, _ = read_study_text("nk-hcc-ltx")
    return yaml.safe_load(text)


def test_mistyped_keys_get_a_did_you_mean_at_every_depth():
    data = _bundled()
    data["sties"] = data.pop("sites")
    regimen = data["groups"][1]["regimen"]
    regimen["dose_sorce"] = regimen.pop("dose_source")
    with pytest.raises(StudyFileError) as exc:
        parse_study(yaml.safe_dump(data), "my-study.yaml")
    by_field = {p.field: p for p in exc.value.problems}
    assert "did you mean 'sites'?" in by_field["sties"].message
    assert "did you mean 'dose_source'?" in by_field["groups[1].regimen.dose_sorce"].message
    assert by_field["sties"].rule == "extra_forbidden" and by_field["sites"].rule == "missing"  # pydantic's rule names kept
    assert "a misspelling of 'sites'" in by_field["sites"].message
    assert all(p.file == "my-study.yaml" for p in exc.value.problems)


def test_an_unknown_key_with_nothing_close_lists_the_allowed_keys():
    data = _bundled()
    data["zzz_totally_new"] = 1
    with pytest.raises(StudyFileError) as exc:
        parse_study(yaml.safe_dump(data))
    (problem,) = exc.value.problems
    assert "did you mean" not in problem.message and "keys allowed here" in problem.message and "study_id" in problem.message
