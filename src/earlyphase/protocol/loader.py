"""Read a study file (YAML) into a validated ``Study``; bundled studies are found by name.

Every problem in a bad file is reported at once, each with its path in the file
(e.g. ``groups[2].regimen.schedule``), the value found and the rule broken.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from earlyphase.errors import Problem, StudyFileError
from earlyphase.limits import MAX_STUDY_FILE_BYTES, control_character
from earlyphase.protocol.model import Study
from earlyphase.textfile import decode_text

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
    if not path.exists():
        raise StudyFileError.single(
            "study",
            text_source,
            "exists",
            f"no study file at {path} and no bundled study of that name (bundled: {', '.join(bundled_studies())})",
        )
    if not path.is_file():  # a directory, FIFO or device: opening a FIFO would wait forever
        raise StudyFileError.single("study", text_source, "regular-file",
                                    "this is not a regular file; give the study's YAML file", file=str(path))
    size = path.stat().st_size
    if size > MAX_STUDY_FILE_BYTES:
        raise StudyFileError.single("study", text_source, "max-file-size",
                                    f"the file has {size} bytes; a study file may have at most {MAX_STUDY_FILE_BYTES}",
                                    file=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StudyFileError.single("study", text_source, "readable", f"cannot read the file ({exc.strerror})",
                                    file=str(path)) from None
    return decode_text(data, str(path), error=StudyFileError), str(path)


def load_study(source: str | Path) -> Study:
    """Load and validate a study from a bundled name (see ``bundled_studies``) or a YAML file path."""
    text, origin = read_study_text(source)
    return parse_study(text, origin)


def parse_study(text: str, origin: str = "<study>") -> Study:
    """Validate YAML text as a study; raise ``StudyFileError`` listing every problem."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise StudyFileError.single(str(exc.key), exc.key, "unique-key",
                                    f"the key {exc.key!r} appears twice (lines {exc.first} and {exc.line}); YAML would "
                                    "silently keep the last: keep one", file=origin) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise StudyFileError.single("(yaml)", where, "yaml-syntax", f"the file is not valid YAML: {exc}", file=origin)
    if not isinstance(data, dict):
        raise StudyFileError.single(
            "(top level)", type(data).__name__, "mapping", "a study file must be a mapping of keys to values", file=origin
        )
    odd = _unusable_values(data)
    if odd:
        raise StudyFileError([Problem(field=path or "(top level)", value=value, rule=rule, message=message,
                                              file=origin) for path, value, rule, message in odd],
                             summary=f"study file {origin} is invalid")
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        raise StudyFileError(_problems(exc, data, origin), summary=f"study file {origin} is invalid") from None


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, path: str, first: int, line: int):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.path, self.first, self.line = key, path, first, line


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML keeps the last, silently),
    and leaving a date that does not exist (2015-02-30) as text, for the study's own check to name."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.get(key)
                except TypeError:  # an unhashable key: the base loader reports it
                    continue
                if seen is not None:
                    raise _DuplicateKey(key, "", seen, key_node.start_mark.line + 1)
                first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _unusable_values(data: Any, path: str = "") -> list[tuple[str, Any, str, str]]:
    """Values no study may hold, wherever they are: infinite or NaN numbers, text with control characters."""
    out: list[tuple[str, Any, str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _unusable_values(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _unusable_values(value, f"{path}[{i}]")
    elif isinstance(data, float) and not math.isfinite(data):
        out.append((path, str(data), "finite-number", "must be a finite number (.inf and .nan are not doses or limits)"))
    elif isinstance(data, str) and control_character(data) is not None:
        at = control_character(data)
        out.append((path, data, "control-character",
                    f"holds a control character (code {ord(data[at])}) at position {at + 1}; remove it"))
    return out


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
        message, rule = _explain(err, data)
        problems.append(Problem(field=path or "(top level)", value=value, rule=rule, message=message, file=origin))
    return problems


def _shown(value: Any) -> Any:
    return f"<{type(value).__name__}>" if isinstance(value, (dict, list)) else value


def _lookup_path(data: Any, path: str) -> Any:
    import re

    parts: list[Any] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return _lookup(data, tuple(parts))


def _explain(err: dict, data: Any) -> tuple[str, str]:
    """A sentence for one pydantic error: unknown keys get a did-you-mean from the model's field names."""
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind in ("extra_forbidden", "missing") and loc:
        fields = _field_names(loc[:-1])
        key = str(loc[-1])
        if kind == "extra_forbidden":
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6) if fields else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = f" (keys allowed here: {', '.join(fields)})" if fields else ""
            return f"unknown key {key!r}{hint}{allowed}", kind
        parent = _lookup(data, loc[:-1])
        written = [str(k) for k in parent] if isinstance(parent, dict) else []
        unknown = [k for k in written if k not in fields]
        close = difflib.get_close_matches(key, unknown, n=1, cutoff=0.6)
        hint = f"; the file has {close[0]!r}: a misspelling of {key!r}?" if close else ""
        return f"the required key {key!r} is missing{hint}", kind
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message, kind


def _field_names(loc: tuple[Any, ...]) -> list[str]:
    """Field names (and aliases) of the model found at ``loc`` inside a Study, or [] when unknown."""
    model: Any = Study
    for part in loc:
        model = _inner_model(model, part)
        if model is None:
            return []
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


def _inner_model(current: Any, part: Any) -> Any:
    """The model one step down from ``current`` (a model class or a type) along ``part``."""
    from pydantic import BaseModel

    target = current
    if isinstance(current, type) and issubclass(current, BaseModel):
        if isinstance(part, int):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            matches = [f for f in current.model_fields.values() if f.alias == str(part)]
            if not matches:
                return None
            field = matches[0]
        target = field.annotation
    elif isinstance(part, int) or isinstance(part, str):
        target = _element_type(current, part)
    return _unwrap_model(target)


def _element_type(tp: Any, part: Any) -> Any:
    args = typing.get_args(_strip_optional(tp))
    origin = typing.get_origin(_strip_optional(tp))
    if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = typing.get_args(tp)
    if args and type(None) in args and typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def _unwrap_model(tp: Any) -> Any:
    """A model class, a container type to step into later, or None."""
    from pydantic import BaseModel

    if tp is None:
        return None
    tp = _strip_optional(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if typing.get_origin(tp) in (list, tuple, set, frozenset, dict):
        return tp
    return None


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
