"""Age bands: what a de-identified output shows instead of a birth year or an exact age."""

from __future__ import annotations

DEFAULT_BAND_WIDTH = 10
TOP_AGE = 90  # every age from here on is one band ("90+"), as the HIPAA safe harbour asks


def age_from_birth_year(birth_year: int | None, on_year: int | None) -> int | None:
    """Age in whole years in ``on_year`` (the birthday within the year is not known: may be one too many)."""
    if birth_year is None or on_year is None:
        return None
    return on_year - birth_year


def age_band(age: float | int | None, width: int = DEFAULT_BAND_WIDTH) -> str | None:
    """``"50-59"`` for 54 with width 10; ``"90+"`` from 90 on; None for no age."""
    if age is None or age != age:  # NaN
        return None
    if width < 1:
        raise ValueError("an age band is at least 1 year wide")
    age = int(age)
    if age >= TOP_AGE:
        return f"{TOP_AGE}+"
    low = (age // width) * width
    high = min(low + width - 1, TOP_AGE - 1)
    return f"{low}-{high}"
