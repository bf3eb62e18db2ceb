"""Validate a document against a component schema of the registry's OpenAPI spec (API v2), with jsonschema.

The spec (``ctg-oas-v2.yaml``, OpenAPI 3.0) is not shipped with the package: the caller names the file. Its
``components.schemas`` become the ``$defs`` of one JSON Schema (draft 2020-12) and every
``#/components/schemas/X`` reference is rewritten to ``#/$defs/X``; OpenAPI's ``nullable`` becomes a ``null``
type. The spec leaves its objects open (any extra key passes); ``strict=True`` closes every object that lists
its properties (``additionalProperties: false``), so a misspelt key fails too: what we write is checked strict.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from earlyphase.errors import InputError, Problem

_REF_PREFIX = "#/components/schemas/"


def _convert(node: Any, strict: bool) -> Any:
    if isinstance(node, list):
        return [_convert(v, strict) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
            out[key] = "#/$defs/" + value[len(_REF_PREFIX):]
        elif key in ("nullable", "example", "discriminator", "xml", "externalDocs", "deprecated"):
            continue
        else:
            out[key] = _convert(value, strict)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if strict and out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def json_schema(spec: dict[str, Any], component: str, *, strict: bool = False) -> dict[str, Any]:
    """The JSON Schema of ``component`` (e.g. ``ResultsSection``, ``Study``) from a parsed OpenAPI 3.0 spec."""
    schemas = spec.get("components", {}).get("schemas", {})
    if component not in schemas:
        raise InputError.single("component", component, "known-schema",
                                f"the spec has no component schema {component!r}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": f"#/$defs/{component}",
            "$defs": _convert(copy.deepcopy(schemas), strict)}


def read_spec(path: str | Path) -> dict[str, Any]:
    """The OpenAPI spec file (YAML or JSON) as a dict."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        spec = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError.single("spec", str(path), "readable-spec", f"cannot read the OpenAPI spec: {exc}") from None
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        raise InputError.single("spec", str(path), "openapi-3", "is not an OpenAPI 3 document")
    return spec


def schema_errors(document: Any, spec: dict[str, Any], component: str, *, strict: bool = False,
                  limit: int = 20) -> list[str]:
    """Every place ``document`` breaks the component's schema, as ``path: message`` lines (empty when valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json_schema(spec, component, strict=strict))
    out = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        out.append(f"{component}{where}: {error.message}")
        if len(out) >= limit:
            break
    return out


def validate(document: Any, spec: dict[str, Any], component: str, *, strict: bool = False,
             source: str | None = None) -> None:
    """Raise InputError listing where ``document`` breaks the component schema; nothing when it is valid."""
    errors = schema_errors(document, spec, component, strict=strict)
    if errors:
        raise InputError([Problem(field=e.split(":", 1)[0], value=None, rule="ctgov-schema",
                                  message=e.split(":", 1)[1].strip(), file=source) for e in errors],
                         summary=f"{len(errors)} place(s) break the registry's {component} schema")
