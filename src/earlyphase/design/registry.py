"""Build a design from its name and options, and the one-call next-dose decision."""

from __future__ import annotations

from typing import Any, Sequence

from earlyphase.design._common import Decision, api_door
from earlyphase.design.base import Design
from earlyphase.errors import InputError

DESIGN_NAMES = ("3+3", "boin", "crm", "mtpi2", "keyboard", "i3+3", "pocrm", "boin-grid")


@api_door
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
    elif key == "pocrm":
        return _make_pocrm(target, opts)
    elif key in ("boin-grid", "boingrid"):
        from earlyphase.design.boin_grid import BoinGridDesign

        cls = BoinGridDesign
        allowed = {"n_rows", "n_cols", "cutoff_eli", "n_earlystop", "p_saf", "p_tox"}
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


def _make_pocrm(target, opts: dict[str, Any]) -> Design:
    """POCRM from a skeleton and either ``orderings`` (each a list of 1-based regimens, least
    toxic first) or ``partial_order`` (pairs (a, b), 1-based: a is less toxic than b)."""
    from earlyphase.design.pocrm import PocrmDesign, linear_extensions

    allowed = {"skeleton", "orderings", "partial_order", "ordering_prior", "model", "intercept", "prior_sd", "no_skip",
               "no_escalation_after_dlt", "safety_cutoff", "safety_min_n", "n_earlystop"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise InputError.single(unknown[0], opts[unknown[0]], "known-option",
                                f"Option {unknown[0]!r} does not apply to the pocrm design; it takes: {', '.join(sorted(allowed))}.")
    if target is None:
        raise InputError.single("target", None, "required", "The pocrm design needs a target DLT rate.")
    if "skeleton" not in opts:
        raise InputError.single("skeleton", None, "required", "POCRM needs a skeleton (prior DLT probability by rank).")
    sk = tuple(opts.pop("skeleton"))
    orderings = opts.pop("orderings", None)
    partial = opts.pop("partial_order", None)
    if (orderings is None) == (partial is None):
        raise InputError.single("partial_order", partial, "one-of-orderings-or-partial-order",
                                "Give either the partial order of toxicity (pairs a<b) or the orderings to consider.")
    K = len(sk)
    try:
        if partial is not None:
            pairs = [(int(a) - 1, int(b) - 1) for a, b in partial]
            try:
                order0 = linear_extensions(K, pairs)
            except InputError as e:  # say it with the user's 1-based regimen numbers
                p = e.problems[0]
                raise InputError.single("partial_order", [list(x) for x in partial], p.rule, p.message) from None
        else:
            order0 = [tuple(int(r) - 1 for r in o) for o in orderings]
    except (TypeError, ValueError):
        raise InputError.single("partial_order" if partial is not None else "orderings", partial or orderings, "regimen-numbers",
                                "Regimens are named by their 1-based position.") from None
    return PocrmDesign(orderings=tuple(order0), skeleton=sk, target=target, **opts)


@api_door
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
