"""Codelists as data files (``vocab/codelists/*.yaml``): the codes a choice field may take.

A study's choice field names a codelist (``codelist: ecog``) or lists its own codes;
a study file may also define codelists of its own. Each file holds ``name``, ``label`` and
``codes`` (a list of ``{code, label}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Code:
    """One code of a codelist: the stored value and the label people read."""

    code: str
    label: str


@dataclass(frozen=True)
class Codelist:
    name: str
    label: str
    codes: tuple[Code, ...]
    source: str = "bundled"

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.codes)

    def label_of(self, code: str) -> str | None:
        for c in self.codes:
            if c.code == code:
                return c.label
        return None

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "codes": [{"code": c.code, "label": c.label} for c in self.codes]}


@lru_cache(maxsize=1)
def bundled_codelists() -> dict[str, Codelist]:
    """Every codelist shipped in ``earlyphase/vocab/codelists``, by name."""
    import yaml

    out: dict[str, Codelist] = {}
    folder = resources.files("earlyphase.vocab") / "codelists"
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(item.read_text(encoding="utf-8"))
        codes = tuple(Code(str(c["code"]), str(c["label"])) for c in data["codes"])
        out[data["name"]] = Codelist(data["name"], data["label"], codes, f"bundled:{item.name}")
    return out


def codelist(name: str) -> Codelist:
    """The bundled codelist ``name`` (``KeyError`` when there is none)."""
    return bundled_codelists()[name]
