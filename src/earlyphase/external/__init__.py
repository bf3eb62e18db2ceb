"""earlyphase.external: published evidence beside the trial.

* :func:`reconstruct_ipd` rebuilds patient-level data (time, event, arm) from a digitised
  Kaplan–Meier curve and its numbers-at-risk table (Guyot et al. 2012, BMC Med Res Methodol 12:9).
* :mod:`earlyphase.external.readers` reads digitiser exports (WebPlotDigitizer, plain two-column files)
  and risk tables from CSV.
* :mod:`earlyphase.external.compare` sets a trial's curves beside a rebuilt external arm.

Times are in whatever unit the published figure uses (usually months); nothing here converts them.
"""

from earlyphase.external.curve import DigitisedCurve, RiskTable, clean_curve
from earlyphase.external.reconstruct import Reconstruction, reconstruct_ipd

__all__ = ["DigitisedCurve", "RiskTable", "clean_curve", "Reconstruction", "reconstruct_ipd"]
