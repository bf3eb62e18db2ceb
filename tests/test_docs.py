"""The study-file reference is generated from the models and committed; it must be up to date, and every
key must say what it means."""

from __future__ import annotations

import importlib.util
import typing
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("make_study_file_docs", ROOT / "scripts" / "make_study_file_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_study_file_reference_is_what_the_script_writes():
    committed = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), "run: python scripts/make_study_file_docs.py"


def _models(annotation) -> list[type[BaseModel]]:
    found = [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def test_every_key_of_the_study_file_is_described():
    from earlyphase.protocol import Study

    missing, seen, queue = [], set(), [Study]
    while queue:
        model = queue.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if not (field.description or "").strip():
                missing.append(f"{model.__name__}.{name}")
            queue += _models(field.annotation)
    assert missing == []
    text = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    assert all(f"## {m.__name__}" in text for m in seen)


def test_the_data_model_document_names_every_table():
    from earlyphase.records.tables import DATA_TABLES

    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for model in DATA_TABLES:
        assert f"`{model.__tablename__}`" in text, model.__tablename__


def test_the_readme_study_file_example_is_a_valid_study():
    import re

    from earlyphase.protocol import parse_study

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing a study file", 1)[1]
    text = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    study = parse_study(text, "README.md")
    assert study.product.dose_unit == "mg/kg" and study.form("labs").repeating
    assert study.visits[0].anchor == "cycle_start"


def test_the_readme_keeps_its_two_first_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = [line for line in readme.split("```", 2)[1].splitlines() if line.strip()]
    assert first == ["python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/earlyphase demo",
                     "bash scripts/test.sh"]
