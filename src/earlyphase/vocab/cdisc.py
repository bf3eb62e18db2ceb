"""CDISC controlled terminology (``cdisc_terminology.yaml``): codelists of submission values, and the map from
the values this project stores to them (``to_submission``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class CdiscCodelist:
    """One codelist: name (e.g. ``SEX``), label, submission values, extensible, sponsor-defined, stored -> value."""

    name: str
    label: str
    values: tuple[str, ...]
    extensible: bool = False
    sponsor: bool = False
    mapping: dict[str, str] = field(default_factory=dict)

    def submission(self, stored: object) -> str:
        """The submission value of a stored value ('' for a missing one); a value with no mapping is upper-cased.

        Raises ``KeyError`` when the result is not in a non-extensible codelist."""
        if stored is None or stored == "":
            return ""
        text = str(stored)
        value = self.mapping.get(text, self.mapping.get(text.lower(), text.upper()))
        if not self.extensible and not self.sponsor and value not in self.values:
            raise KeyError(f"{text!r} has no value in CDISC codelist {self.name} ({', '.join(self.values)})")
        return value


@lru_cache(maxsize=1)
def cdisc_codelists() -> dict[str, CdiscCodelist]:
    """Every CDISC codelist the exports use, by name."""
    import yaml

    from earlyphase.vocab.codelist import codelist

    raw = yaml.safe_load(resources.files("earlyphase.vocab").joinpath("cdisc_terminology.yaml").read_text("utf-8"))
    out = {}
    for name, entry in raw.items():
        mapping = {str(k): str(v) for k, v in (entry.get("from") or {}).items()}
        values = tuple(str(v) for v in entry.get("values", ()))
        if entry.get("from_codelist"):
            bundled = codelist(entry["from_codelist"])
            mapping = {c.code: c.label.upper() for c in bundled.codes}
            values = tuple(mapping.values())
        out[name] = CdiscCodelist(name, entry["label"], values, bool(entry.get("extensible", False)),
                                  bool(entry.get("sponsor", False)), mapping)
    return out


def cdisc_codelist(name: str) -> CdiscCodelist:
    return cdisc_codelists()[name]


def to_submission(codelist_name: str, stored: object) -> str:
    """``stored`` as the submission value of CDISC codelist ``codelist_name``."""
    return cdisc_codelist(codelist_name).submission(stored)
