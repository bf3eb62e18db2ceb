"""earlyphase.design: dose-finding rules and a vectorised simulator of their operating characteristics.

Designs are pure rules over per-level counts (patients, DLTs; level 1 = lowest dose):
3+3, BOIN, CRM, mTPI-2 (Keyboard), i3+3 and user-supplied decision tables.
"""

from earlyphase.design._common import Decision
from earlyphase.design.boin import BoinDesign, Boundaries, boin_boundaries, boin_lambdas
from earlyphase.design.crm import CrmDesign, getprior
from earlyphase.design.i3plus3 import I3plus3Design
from earlyphase.design.interval import TableDesign
from earlyphase.design.isotonic import MtdSelection, select_mtd
from earlyphase.design.keyboard import KeyboardDesign
from earlyphase.design.registry import make_design, next_dose
from earlyphase.design.three_plus_three import ThreePlusThreeDesign

__all__ = [
    "BoinDesign", "Boundaries", "CrmDesign", "Decision", "I3plus3Design", "KeyboardDesign", "MtdSelection",
    "TableDesign", "ThreePlusThreeDesign", "boin_boundaries", "boin_lambdas", "getprior", "make_design",
    "next_dose", "select_mtd",
]
