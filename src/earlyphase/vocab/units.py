"""Dose units (a data file, ``units.yaml``) and body surface area by a named formula.

A dose is a value in one of these units. Units of one *quantity* (mass, cells, activity, ...)
convert into each other: an absolute amount (``mg``) is the dose per kg times the weight used
(``mg/kg``), or the dose per m² times the body surface area (``mg/m2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable


@dataclass(frozen=True)
class DoseUnit:
    """One dose unit: its code (``mg/kg``), label, the quantity it counts, its scale to that
    quantity's reference unit, and its body-size basis (None, ``kg`` or ``m2``)."""

    code: str
    label: str
    quantity: str
    scale: float
    per: str | None

    @property
    def absolute(self) -> "str":
        """The quantity's name with no body-size basis (what a total amount is counted in)."""
        return self.quantity

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "quantity": self.quantity, "scale": self.scale,
                "per": self.per}


@lru_cache(maxsize=1)
def dose_units() -> dict[str, DoseUnit]:
    """Every dose unit of ``units.yaml``, by code."""
    import yaml

    data = yaml.safe_load((resources.files("earlyphase.vocab") / "units.yaml").read_text(encoding="utf-8"))
    return {u["code"]: DoseUnit(u["code"], u["label"], u["quantity"], float(u["scale"]), u.get("per"))
            for u in data["units"]}


def dose_unit(code: str) -> DoseUnit:
    """The unit ``code`` (``KeyError`` when unknown)."""
    return dose_units()[code]


def convert_dose(value: float, from_unit: str, to_unit: str, *, weight_kg: float | None = None,
                 bsa_m2: float | None = None) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (same quantity), using the body size given.

    Raises ``ValueError`` when the units count different quantities or a needed body size is missing.
    """
    a, b = dose_unit(from_unit), dose_unit(to_unit)
    if a.quantity != b.quantity:
        raise ValueError(f"{from_unit} ({a.quantity}) and {to_unit} ({b.quantity}) count different things")
    absolute = value * a.scale * _size(a.per, weight_kg, bsa_m2)
    return absolute / b.scale / _size(b.per, weight_kg, bsa_m2)


def _size(per: str | None, weight_kg: float | None, bsa_m2: float | None) -> float:
    if per is None:
        return 1.0
    size = weight_kg if per == "kg" else bsa_m2
    if size is None or not size > 0:
        raise ValueError("the " + ("weight (kg)" if per == "kg" else "body surface area (m2)") + " is needed")
    return float(size)


# Body surface area in m2 from height in cm and weight in kg.
def _mosteller(h: float, w: float) -> float:
    # Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.
    return math.sqrt(h * w / 3600.0)


def _dubois(h: float, w: float) -> float:
    # Du Bois D, Du Bois EF. Arch Intern Med 1916;17:863-71.
    return 0.007184 * w ** 0.425 * h ** 0.725


def _haycock(h: float, w: float) -> float:
    # Haycock GB et al. J Pediatr 1978;93:62-6.
    return 0.024265 * w ** 0.5378 * h ** 0.3964


def _gehan_george(h: float, w: float) -> float:
    # Gehan EA, George SL. Cancer Chemother Rep 1970;54:225-35.
    return 0.0235 * w ** 0.51456 * h ** 0.42246


def _boyd(h: float, w: float) -> float:
    # Boyd E. The growth of the surface area of the human body. 1935 (weight in grams in the formula).
    grams = w * 1000.0
    return 0.0003207 * h ** 0.3 * grams ** (0.7285 - 0.0188 * math.log10(grams))


BSA_FORMULAS: dict[str, Callable[[float, float], float]] = {
    "mosteller": _mosteller,
    "dubois": _dubois,
    "haycock": _haycock,
    "gehan-george": _gehan_george,
    "boyd": _boyd,
}


def body_surface_area(height_cm: float, weight_kg: float, formula: str = "mosteller") -> float:
    """Body surface area in m² by ``formula`` (one of ``BSA_FORMULAS``)."""
    if formula not in BSA_FORMULAS:
        raise ValueError(f"unknown BSA formula {formula!r}; known: {', '.join(BSA_FORMULAS)}")
    if not (height_cm > 0 and weight_kg > 0):
        raise ValueError("height and weight must be positive")
    return BSA_FORMULAS[formula](float(height_cm), float(weight_kg))
