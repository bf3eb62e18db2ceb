"""Read a study file (YAML) into a validated ``Study``; bundled studies are found by name.

Every problem in a bad file is reported at once, each with its path in the file
(e.g. ``groups[2].regimen.schedule``), the value found and the rule broken.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from earlyphase.errors import Problem, StudyFileError
from earlyphase.protocol.model import Study

_BUNDLED_PACKAGE = "earlyphase.protocol.studies"


def bundled_studies() -> list[str]:
    """Names of the study files shipped with earlyphase (the seed trial's, and any other bundled)."""
    files = resources.files(_BUNDLED_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in files.iterdir() if p.name.endswith(".yaml"))


def read_study_text(source: str | Path) -> tuple[str, str]:
    """Return ``(yaml_text, origin)`` for a bundled name or a file path."""
    text_source = str(source)
    if text_source in bundled_studies():
        resource = resources.files(_BUNDLED_PACKAGE) / f"{text_source}.yaml"
        return resource.read_text(encoding="utf-8"), f"bundled:{text_source}"
    path = Path(text_source)
    if not path.is_file():
        raise StudyFileError.single(
            "study",
            text_source,
            "exists",
            f"no study file at {path} and no bundled study of that name (bundled: {', '.join(bundled_studies())})",
        )
    return path.read_text(encoding="utf-8"), str(path)


def load_study(source: str | Path) -> Study:
    """Load and validate a study from a bundled name (see ``bundled_studies``) or a YAML file path."""
    text, origin = read_study_text(source)
    return parse_study(text, origin)


def parse_study(text: str, origin: str = "<study>") -> Study:
    """Validate YAML text as a study; raise ``StudyFileError`` listing every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise StudyFileError.single("(yaml)", where, "yaml-syntax", f"the file is not valid YAML: {exc}", file=origin)
    if not isinstance(data, dict):
        raise StudyFileError.single(
            "(top level)", type(data).__name__, "mapping", "a study file must be a mapping of keys to values", file=origin
        )
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        raise StudyFileError(_problems(exc, data, origin), summary=f"study file {origin} is invalid") from None


def study_fingerprint(text: str) -> str:
    """SHA-256 of the study text: stored with the database so a changed protocol is noticed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _problems(exc: ValidationError, data: Any, origin: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        if not err["loc"] and err["type"] == "value_error":
            # the study's cross-section checks: one "path: message" line per problem
            text = str(err["msg"]).removeprefix("Value error, ")
            for line in text.splitlines():
                path, _, message = line.partition(": ")
                problems.append(Problem(field=path, value=_shown(_lookup_path(data, path)), rule="study-consistent",
                                        message=message or line, file=origin))
            continue
        path = _format_loc(err["loc"])
        value = None if err["type"] == "missing" else err.get("input", _lookup(data, err["loc"]))
        if isinstance(value, (dict, list)):
            value = f"<{type(value).__name__}>"
        problems.append(Problem(field=path or "(top level)", value=value, rule=err["type"], message=err["msg"], file=origin))
    return problems


def _shown(value: Any) -> Any:
    return f"<{type(value).__name__}>" if isinstance(value, (dict, list)) else value


def _lookup_path(data: Any, path: str) -> Any:
    import re

    parts: list[Any] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return _lookup(data, tuple(parts))


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
