"""mRECIST per-visit response from lesion measurements, as the twin's scans are built and checked.

mRECIST (Lencioni & Llovet, Semin Liver Dis 2010;30:52-60), target lesions only plus new lesions:
- CR: disappearance of any intratumoural arterial enhancement in all target lesions (viable sum 0);
- PR: at least a 30% decrease in the sum of viable target diameters from the baseline sum;
- PD: at least a 20% increase in the sum of viable target diameters over the smallest sum recorded
  since treatment started (the nadir, baseline included), or any new lesion, or unequivocal
  progression of a non-target lesion;
- SD: neither.
"""

from __future__ import annotations

from collections.abc import Sequence

PD_INCREASE = 0.20
PR_DECREASE = 0.30


def visit_response(target_sums: Sequence[float], new_lesion: bool, non_target_progression: bool = False) -> str:
    """Response at the last visit of ``target_sums`` (baseline first, in mm) under mRECIST.

    ``target_sums[0]`` is the baseline sum of viable target diameters; the last entry is the
    visit being classified. Returns 'CR', 'PR', 'SD' or 'PD'.
    """
    if len(target_sums) < 2:
        raise ValueError("need the baseline sum and at least one follow-up sum")
    baseline = target_sums[0]
    current = target_sums[-1]
    nadir = min(target_sums[:-1])
    if new_lesion or non_target_progression:
        return "PD"
    if current >= nadir * (1 + PD_INCREASE) and current > nadir:
        return "PD"
    if current == 0:
        return "CR"
    if current <= baseline * (1 - PR_DECREASE):
        return "PR"
    return "SD"


def first_progression(visit_sums: Sequence[float], new_lesion_flags: Sequence[bool]) -> int | None:
    """Index (into the follow-up visits, 0 = first after baseline) of the first PD, or None.

    ``visit_sums[0]`` is the baseline; ``new_lesion_flags[i]`` belongs to ``visit_sums[i + 1]``.
    """
    for i in range(1, len(visit_sums)):
        if visit_response(visit_sums[: i + 1], new_lesion_flags[i - 1]) == "PD":
            return i - 1
    return None
