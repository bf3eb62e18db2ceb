"""Which regimens are known to be less toxic than which: the partial order of a study's groups.

Groups are listed from the lowest to the highest level, and by default that list is the
toxicity order. When regimens vary in dose and in the number or frequency of
administrations, only some pairs are ordered by construction. A study file states the
known pairs in ``dose_finding.toxicity_order`` ([less toxic, more toxic] group codes)
and/or asks for the pairs its regimens imply (``dose_finding.order_from_regimens``):

    regimen R is no more toxic than S when R has no more administrations than S, given no
    more often (every_days at least S's), and each of R's planned doses is at most S's dose
    at the same administration (step-up doses included); and R and S differ.

Cyclic schedules (cycle_days) and treatment until progression imply no pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from earlyphase.protocol.dosing import Regimen
    from earlyphase.protocol.model import Study


def _planned_doses(regimen: "Regimen") -> list[float] | None:
    count = regimen.administrations
    if count is None or regimen.schedule.cycle_days is not None:
        return None
    return [regimen.planned_dose(k) for k in range(1, count + 1)]


def no_more_toxic(lower: "Regimen", higher: "Regimen") -> bool:
    """True when ``lower`` is, by construction, no more toxic than ``higher`` and differs from it."""
    a, b = _planned_doses(lower), _planned_doses(higher)
    if a is None or b is None or len(a) > len(b):
        return False
    ea = lower.schedule.every_days or 0
    eb = higher.schedule.every_days or 0
    if len(a) > 1 and len(b) > 1 and ea < eb:
        return False
    if any(x > y for x, y in zip(a, b)):
        return False
    return a != b or ea != eb


def toxicity_relations(study: "Study") -> list[tuple[str, str]]:
    """Known (less toxic, more toxic) pairs of group codes; the listed order when the study states none."""
    df = study.dose_finding
    codes = [g.code for g in study.groups]
    if df.toxicity_order is None and not df.order_from_regimens:
        return list(zip(codes, codes[1:]))
    pairs: list[tuple[str, str]] = [tuple(p) for p in (df.toxicity_order or [])]  # type: ignore[misc]
    if df.order_from_regimens:
        for g in study.groups:
            for h in study.groups:
                if g.code != h.code and no_more_toxic(g.regimen, h.regimen) and (g.code, h.code) not in pairs:
                    pairs.append((g.code, h.code))
    return pairs


def level_relations(study: "Study") -> list[tuple[int, int]]:
    """The same pairs as 1-based levels (the design engine's ``partial_order``)."""
    return [(study.level_of(a), study.level_of(b)) for a, b in toxicity_relations(study)]


def find_cycle(codes: list[str], pairs: list[tuple[str, str]]) -> list[str] | None:
    """A cycle among the pairs (as a list of codes), or None."""
    after: dict[str, list[str]] = {c: [] for c in codes}
    for a, b in pairs:
        after.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(c: str) -> list[str] | None:
        state[c] = 1
        path.append(c)
        for d in after.get(c, []):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        state[c] = 2
        path.pop()
        return None

    for c in after:
        if c not in state:
            found = visit(c)
            if found:
                return found
    return None


def regimen_grid(study: "Study") -> dict:
    """The groups laid out as dose (rows, lowest first) x number of administrations (columns);
    groups with step-up doses or without a fixed count are listed apart as ``off_grid``."""
    on, off = [], []
    for g in study.groups:
        r = g.regimen
        if r.is_step_up or r.administrations is None or r.schedule.cycle_days is not None:
            off.append(g.code)
        else:
            on.append(g)
    doses = sorted({g.regimen.dose for g in on})
    counts = sorted({g.regimen.administrations for g in on})
    cells = [[None for _ in counts] for _ in doses]
    for g in on:
        cells[doses.index(g.regimen.dose)][counts.index(g.regimen.administrations)] = g.code
    return {"doses": doses, "administrations": counts, "cells": cells, "off_grid": off}
