"""Build a design from its name and options, and the one-call next-dose decision."""

from __future__ import annotations

from typing import Any, Sequence

from earlyphase.design._common import Decision
from earlyphase.design.base import Design
from earlyphase.errors import InputError

DESIGN_NAMES = ("3+3", "boin", "crm", "mtpi2", "keyboard", "i3+3")


def make_design(name: str, target: float | None = None, **options: Any) -> Design:
    """A design by name: "3+3", "boin", "crm", "mtpi2" (alias "keyboard") or "i3+3".

    ``target`` is the target DLT rate (not used by 3+3). Options are the design's fields
    (e.g. ``skeleton`` for CRM, ``n_earlystop``, ``extrasafe``); options set to None are
    left at their defaults.
    """
    from earlyphase.design.boin import BoinDesign
    from earlyphase.design.crm import CrmDesign
    from earlyphase.design.i3plus3 import I3plus3Design
    from earlyphase.design.keyboard import KeyboardDesign
    from earlyphase.design.three_plus_three import ThreePlusThreeDesign

    key = str(name).strip().lower().replace("_", "").replace(" ", "")
    opts = {k: v for k, v in options.items() if v is not None}
    if key in ("3+3", "3plus3", "threeplusthree"):
        cls: type = ThreePlusThreeDesign
        allowed = {"deescalation"}
    elif key in ("boin",):
        cls = BoinDesign
        allowed = {"cutoff_eli", "extrasafe", "offset", "n_earlystop", "p_saf", "p_tox", "bound_mtd"}
    elif key in ("mtpi2", "mtpi-2", "keyboard"):
        cls = KeyboardDesign
        allowed = {"cutoff_eli", "extrasafe", "offset", "n_earlystop", "margin_low", "margin_high"}
    elif key in ("i3+3", "i3plus3"):
        cls = I3plus3Design
        allowed = {"cutoff_eli", "extrasafe", "offset", "n_earlystop", "margin_low", "margin_high"}
    elif key == "crm":
        cls = CrmDesign
        allowed = {"skeleton", "model", "intercept", "prior_sd", "no_skip", "no_escalation_after_dlt", "safety_cutoff",
                   "safety_min_n", "n_earlystop", "panel_width", "gauss_points"}
        if "skeleton" not in opts:
            raise InputError.single("skeleton", None, "required", "CRM needs a skeleton (prior DLT probability per level).")
        opts["skeleton"] = tuple(opts["skeleton"])
    else:
        raise InputError.single("design", name, "known-design", "Choose one of: " + ", ".join(DESIGN_NAMES) + ".")
    unknown = set(opts) - allowed
    if unknown:
        raise InputError.single(
            sorted(unknown)[0], opts[sorted(unknown)[0]], "known-option",
            f"Option {sorted(unknown)[0]!r} does not apply to the {name} design; it takes: {', '.join(sorted(allowed)) or 'no options'}.",
        )
    if cls is not ThreePlusThreeDesign:
        if target is None:
            raise InputError.single("target", None, "required", f"The {name} design needs a target DLT rate.")
        opts["target"] = target
    return cls(**opts)


def next_dose(
    design: str | Design,
    n: Sequence[int],
    dlt: Sequence[int],
    current: int,
    *,
    target: float | None = None,
    last_cohort_dlt: int | None = None,
    pending: Sequence[Sequence[float]] | None = None,
    tite: bool = False,
    **options: Any,
) -> Decision:
    """Next-dose decision from per-level counts (see ``Design.decide``)."""
    d = design if isinstance(design, Design) else make_design(design, target, **options)
    return d.decide(n, dlt, current, last_cohort_dlt=last_cohort_dlt, pending=pending, tite=tite)
