"""The words the report and the CLI use for a study, all taken from its study file.

The product's short name, the noun for one administration (infusion, dose, injection), the dose
unit, the response criteria and the endpoints' names: nothing about one study is written in code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.protocol import Study


def administration(study: "Study", plural: bool = False) -> str:
    """'infusion' / 'infusions' (the study's noun for one administration)."""
    return study.product.nouns if plural else study.product.noun


def product_administrations(study: "Study") -> str:
    """e.g. 'CAR-T cell infusions' or 'ABX-101 doses'."""
    return f"{study.product.label} {study.product.nouns}"


def time_origin(study: "Study", article: bool = False) -> str:
    """What times run from: 'first infusion' (or 'the first ABX-101 infusion' with ``article``), or 'allocation'."""
    if study.analysis.pfs.start == "allocation":
        return "allocation"
    if article:
        return f"the first {study.product.label} {study.product.noun}"
    return f"first {study.product.noun}"


def endpoint_label(study: "Study", paramcd: str, default: str) -> str:
    """The study's name for the analysis parameter (PFS or OS), else ``default``."""
    for endpoint in study.endpoints:
        if endpoint.paramcd == paramcd:
            return endpoint.name
    return default


def unit_label(study: "Study") -> str:
    return study.product.dose_unit


def in_sentence(name: str) -> str:
    """A study's name for something as it reads inside a sentence: 'Overall survival' -> 'overall survival',
    but acronyms and names the study wrote in capitals stay ('RECIST 1.1', 'CAR-T', 'PFS')."""
    words = name.split(" ")
    if words and words[0][:1].isupper() and words[0][1:] == words[0][1:].lower():
        words[0] = words[0][:1].lower() + words[0][1:]
    return " ".join(words)
