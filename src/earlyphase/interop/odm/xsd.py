"""Validation against the CDISC ODM 1.3.2 XML schema (the XSD that odmlib ships), with lxml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from earlyphase.errors import ConfigurationError, InputError, Problem


def xsd_path() -> Path:
    """The ODM 1.3.2 XSD shipped in the odmlib package (``pip install -e '.[interop]'``)."""
    try:
        import odmlib
    except ImportError:
        raise ConfigurationError("the ODM 1.3.2 XSD comes with the odmlib package: pip install -e '.[interop]'") \
            from None
    path = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
    if not path.is_file():
        raise ConfigurationError(f"odmlib is installed but its ODM 1.3.2 XSD is not at {path}")
    return path


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(xsd_path())))


def schema_errors(document) -> list[str]:
    """Every place an ODM document (bytes or a parsed tree) breaks the XSD, ``line N: message``."""
    from lxml import etree

    tree = etree.fromstring(document) if isinstance(document, (bytes, str)) else document
    schema = _schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate_odm(document, source: str = "ODM") -> None:
    """Raise InputError listing where the document breaks the ODM 1.3.2 XSD (at most 20 places)."""
    errors = schema_errors(document)
    if errors:
        raise InputError([Problem(field=e.split(":", 1)[0], value=None, rule="odm-1.3.2-xsd",
                                  message=e.split(":", 1)[1].strip(), file=source) for e in errors[:20]],
                         summary=f"{len(errors)} place(s) break the ODM 1.3.2 schema")
