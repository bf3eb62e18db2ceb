"""Tumour response rules as pure functions: one visit's response, iRECIST's confirmation of progression, and the
best overall response. ``derive_adrs`` applies them to the lesion records; each result names the rule it used.

Criteria (chosen per study, ``response_criteria``):

- **RECIST 1.1** (Eisenhauer et al., Eur J Cancer 2009;45:228-247). Target sum: longest diameters, except a lymph
  node, measured by its short axis (section 3.2, "lymph nodes"). PD: sum >= 120% of the nadir (smallest sum so far,
  baseline included) AND >= 5 mm above it; unequivocal progression of non-target disease; a new lesion. CR: every
  non-nodal target gone and every target node < 10 mm short axis (so the sum need not be 0), every non-target lesion
  gone and every non-target node non-pathological (< 10 mm). PR: sum <= 70% of the baseline sum. A visit where a
  baseline target is not measured is NE unless progression is shown (a partial sum already at PD, a new lesion or
  unequivocal non-target progression). Targets CR with non-target disease present, or a non-target lesion not
  assessed, is PR (RECIST 1.1 Table 1). Non-target disease only: CR, NON-CR/NON-PD, PD (Table 2).
- **mRECIST** (Lencioni & Llovet 2010): as RECIST 1.1 with viable (arterially enhancing) diameters and without the
  5 mm absolute rule (PD: >= 20% over the nadir).
- **iRECIST** (Seymour et al., Lancet Oncol 2017;18:e143-e152): RECIST 1.1 at each visit, with i-categories (iCR,
  iPR, iSD, NON-iCR/NON-iUPD). The first RECIST progression is iUPD (unconfirmed). It is confirmed as iCPD at the
  next assessment at least 4 weeks (``confirm_days``) later (the paper asks for 4-8 weeks) when there is further
  progression (Table 2): the target sum >= 5 mm above its value at iUPD (increases add up across assessments) when
  targets drove iUPD; any further increase of non-target disease (status "increased": grown since the last
  assessment, which need not be unequivocal) when non-target disease drove it; an additional new lesion, or the new
  lesions' sum >= 5 mm above its value at iUPD (any increase for non-measured new lesions); or RECIST progression in
  a category that did not drive iUPD. Assessments less than 4 weeks after iUPD neither confirm nor reset it (iRECIST
  working group FAQ: they are disregarded). Without further progression the response remains iUPD while new lesions
  persist, the target sum is still at RECIST progression or non-target disease is still recorded as unequivocal
  progression (no change since the last assessment); once target and non-target disease are no longer progressing
  and no new lesion remains, the iUPD is reset: the visit is iSD, iPR or iCR and a later progression is a new iUPD,
  to be confirmed again. NE visits leave an iUPD pending. The date of progression is the date of the iUPD that was
  confirmed.

Best overall response (``best_overall_response``; RECIST 1.1 section 4.4 and Table 3; iRECIST Table 3): the best
response from the start up to the first progression (PD; iCPD under iRECIST). CR and PR need confirmation: a later
assessment at least ``confirm_days`` (28) days after the first showing CR (for CR) or CR/PR (for PR). Rule for an NE
visit in between: confirmation comes from the next *evaluable* assessment; up to ``max_ne`` (1) NE assessments between
the response and its confirmation are skipped (the default of pharmaverse admiralonco's ``max_nr_ne``), while any
other assessment in between (SD, PD, iUPD) ends the chance of confirmation. An evaluable assessment showing the
response less than ``confirm_days`` after it neither confirms nor breaks it. An unconfirmed CR/PR counts as SD when
it is at least ``sd_min_days`` (42) after the start, as SD does; otherwise the patient is NE (or PD if progression
follows). Under iRECIST an iUPD still unconfirmed at the last assessment is the best response only when nothing
better qualifies (iRECIST Table 3, example 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple, Sequence

# the response categories of each criteria (terminology lives in vocab; derive hands it on to the report)
from earlyphase.vocab import BEST_RESPONSE_ORDER, DISEASE_CONTROL, OBJECTIVE_RESPONSES  # noqa: F401

CRITERIA = ("RECIST 1.1", "mRECIST", "iRECIST")
PD_INCREASE = 0.20  # over the nadir
PR_DECREASE = 0.30  # from the baseline sum
PD_ABSOLUTE_MM = 5.0  # RECIST 1.1 and iRECIST, not mRECIST
NODE_NORMAL_MM = 10.0  # a lymph node under 10 mm short axis is non-pathological
CONFIRM_INCREASE_MM = 5.0  # iRECIST: further growth that confirms iUPD

# RECIST category -> iRECIST category (progression is handled by the iUPD/iCPD logic)
_I_CATEGORY = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "NON-CR/NON-PD": "NON-iCR/NON-iUPD", "NE": "NE"}


@dataclass(frozen=True)
class VisitResponse:
    """One visit's overall response, the target sum behind it, why (``reason``) and the named rule (``rule``).

    ``progression`` lists the lesion categories that meet progression at this visit ("target", "non-target",
    "new"); ``confirms`` (iRECIST) is set on an iCPD visit: the index of the iUPD visit it confirms.
    """

    response: str
    target_sum: float | None
    reason: str
    rule: str = ""
    progression: tuple[str, ...] = ()
    confirms: int | None = None


@dataclass(frozen=True)
class LesionMeasure:
    """One lesion at one visit as derive reads it: ``size_mm`` is the longest (viable, for mRECIST) diameter, or
    for a lymph node (``node``) its short axis; ``status`` for non-target and unmeasured new lesions."""

    label: str
    kind: str  # target / non-target / new
    size_mm: float | None = None
    node: bool = False
    status: str | None = None


@dataclass(frozen=True)
class VisitFindings:
    """The lesion categories of one visit, summarised the way the response rules read them (sizes in mm)."""

    target_sum: float | None  # None without target lesions at baseline
    targets_missing: bool = False  # a baseline target was not measured
    targets_normal: bool = False  # every non-nodal target gone and every target node < 10 mm (RECIST CR)
    nontarget_status: tuple[str, ...] = ()  # each non-target lesion's status (a normal node counts as "absent")
    nontarget_missing: bool = False  # a baseline non-target lesion was not assessed
    new_labels: frozenset[str] = frozenset()  # new lesions present at this visit
    new_sum: float = 0.0  # sum of the measured new lesions present
    new_growing: bool = False  # an unmeasured new lesion marked increased / unequivocal progression

    @property
    def new_lesion(self) -> bool:
        return bool(self.new_labels)

    @property
    def nontarget_increased(self) -> bool:
        """A non-target lesion grown since the last assessment ("increased", iRECIST)."""
        return "increased" in self.nontarget_status


def summarise_visit(baseline: Sequence[LesionMeasure], visit: Sequence[LesionMeasure]) -> VisitFindings:
    """The findings of ``visit`` against the lesions chosen at ``baseline`` (targets and non-targets by label)."""
    base_targets = [b for b in baseline if b.kind == "target"]
    base_nontargets = [b.label for b in baseline if b.kind == "non-target"]
    targets = {m.label: m for m in visit if m.kind == "target"}
    measured = [targets[b.label].size_mm for b in base_targets
                if b.label in targets and targets[b.label].size_mm is not None]
    missing = len(measured) < len(base_targets)
    total = float(sum(measured)) if base_targets else None
    normal = bool(base_targets) and not missing and all(
        (m.size_mm < NODE_NORMAL_MM) if m.node else (m.size_mm == 0)
        for m in (targets[b.label] for b in base_targets))
    nontargets = [m for m in visit if m.kind == "non-target"]
    statuses = tuple(_nontarget_status(m) for m in nontargets)
    seen = {m.label for m in nontargets}
    new = [m for m in visit if m.kind == "new" and _present(m)]
    return VisitFindings(
        target_sum=total, targets_missing=missing, targets_normal=normal, nontarget_status=statuses,
        nontarget_missing=any(label not in seen for label in base_nontargets),
        new_labels=frozenset(m.label for m in new), new_sum=float(sum(m.size_mm or 0.0 for m in new)),
        new_growing=any(m.size_mm is None and _status(m) in ("increased", "unequivocal progression") for m in new),
    )


def _status(m: LesionMeasure) -> str:
    return str(m.status or "").strip().lower()


def _nontarget_status(m: LesionMeasure) -> str:
    # RECIST 1.1: a lymph node under 10 mm short axis is non-pathological, i.e. gone as a lesion
    if m.node and m.size_mm is not None and m.size_mm < NODE_NORMAL_MM and _status(m) in ("", "present", "absent"):
        return "absent"
    return _status(m) or "present"


def _present(m: LesionMeasure) -> bool:
    """A new lesion still there (not recorded as gone: status absent, size 0, or a node back under 10 mm)."""
    if _status(m) == "absent":
        return False
    if m.size_mm is not None:
        return m.size_mm >= NODE_NORMAL_MM if m.node else m.size_mm > 0
    return True


def visit_response(
    *,
    criteria: str,
    baseline_sum: float | None,
    nadir: float | None,
    target_sum: float | None,
    targets_missing: bool,
    nontarget_status: Sequence[str],
    new_lesion: bool,
    targets_normal: bool | None = None,
    nontarget_missing: bool = False,
) -> VisitResponse:
    """Overall response at one visit by RECIST 1.1 / mRECIST (iRECIST visits start from the RECIST 1.1 answer).

    Sums in mm (None without target lesions at baseline). ``nontarget_status``: each non-target lesion's status.
    ``targets_normal``: every non-nodal target gone and every target node < 10 mm (default: the sum is 0).
    ``nontarget_missing``: a baseline non-target lesion was not assessed at this visit.
    """
    if criteria not in CRITERIA:
        raise ValueError(f"unknown response criteria {criteria!r}; known: {', '.join(CRITERIA)}")
    statuses = [str(s or "").strip().lower() for s in nontarget_status]
    has_targets = baseline_sum is not None
    progression = []
    reasons = []
    target_pd = False
    if has_targets and target_sum is not None and nadir is not None:
        rise = target_sum - nadir
        needs_5mm = criteria != "mRECIST"
        if target_sum >= (1 + PD_INCREASE) * nadir and rise > 0 and (rise >= PD_ABSOLUTE_MM or not needs_5mm):
            target_pd = True
            progression.append("target")
            partial = " (measured targets only)" if targets_missing else ""
            reasons.append(f"target sum {target_sum:g} mm{partial} >= 120% of nadir {nadir:g} mm"
                           + (" and >= 5 mm above it" if needs_5mm else ""))
    if any(s.startswith("unequivocal") for s in statuses):
        progression.append("non-target")
        reasons.append("unequivocal progression of non-target disease")
    if new_lesion:
        progression.append("new")
        reasons.append("new lesion")
    if progression:
        rule = {"target": "TARGET_SUM_PD", "non-target": "NONTARGET_UNEQUIVOCAL_PD", "new": "NEW_LESION"}[progression[0]]
        if target_pd and targets_missing:
            rule = "PARTIAL_TARGET_SUM_PD"
        return VisitResponse("PD", target_sum, "; ".join(reasons), rule, tuple(progression))
    if has_targets and targets_missing:
        return VisitResponse("NE", target_sum, "a baseline target lesion was not measured", "TARGET_NOT_MEASURED")
    nt_all_absent = all(s == "absent" for s in statuses)
    if not has_targets:
        if not statuses:
            return VisitResponse("NE", None, "no target or non-target lesion assessed", "NOTHING_ASSESSED")
        if nontarget_missing:
            return VisitResponse("NE", None, "a baseline non-target lesion was not assessed", "NONTARGET_NOT_ASSESSED")
        if nt_all_absent:
            return VisitResponse("CR", None, "all non-target lesions gone (nodes < 10 mm)", "NONTARGET_CR")
        return VisitResponse("NON-CR/NON-PD", None, "non-target disease present, no progression", "NONTARGET_NON_CR")
    normal = targets_normal if targets_normal is not None else target_sum == 0
    if normal:
        if nt_all_absent and not nontarget_missing:
            what = ("all target lesions gone" if target_sum == 0
                    else f"targets gone, target nodes < 10 mm (sum {target_sum:g} mm)")
            return VisitResponse("CR", target_sum, f"{what} and no non-target disease", "ALL_GONE_CR")
        why = "a non-target lesion not assessed" if nontarget_missing else "non-target disease present"
        return VisitResponse("PR", target_sum, f"target lesions gone, {why}", "TARGET_CR_NONTARGET_PRESENT")
    if baseline_sum and target_sum is not None and target_sum <= (1 - PR_DECREASE) * baseline_sum:
        return VisitResponse("PR", target_sum, f"target sum {target_sum:g} mm <= 70% of baseline {baseline_sum:g} mm",
                             "TARGET_SUM_PR")
    return VisitResponse("SD", target_sum, "neither 30% decrease from baseline nor progression", "TARGET_SUM_SD")


def findings_response(criteria: str, baseline_sum: float | None, nadir: float | None,
                      findings: VisitFindings) -> VisitResponse:
    """``visit_response`` for summarised findings (the RECIST 1.1 answer for iRECIST)."""
    return visit_response(
        criteria="RECIST 1.1" if criteria == "iRECIST" else criteria, baseline_sum=baseline_sum, nadir=nadir,
        target_sum=findings.target_sum, targets_missing=findings.targets_missing,
        nontarget_status=findings.nontarget_status, new_lesion=findings.new_lesion,
        targets_normal=findings.targets_normal if findings.target_sum is not None else None,
        nontarget_missing=findings.nontarget_missing,
    )


# -- iRECIST ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IrecistVisit:
    """One post-baseline visit for ``irecist_responses``: its date and either lesion findings or the
    investigator's recorded response (for a visit without lesion records)."""

    when: date
    findings: VisitFindings | None = None
    investigator: str | None = None


@dataclass
class _Pending:
    index: int
    when: date
    categories: tuple[str, ...]
    target_sum: float | None
    new_sum: float
    new_labels: frozenset[str] = field(default_factory=frozenset)


def irecist_responses(visits: Sequence[IrecistVisit], baseline_sum: float | None,
                      confirm_days: int = 28) -> list[VisitResponse]:
    """iRECIST response of each visit (in date order), following the module docstring's rules."""
    out: list[VisitResponse] = []
    nadir = baseline_sum
    pending: _Pending | None = None
    confirmed = False
    for i, visit in enumerate(visits):
        f = visit.findings
        if confirmed:
            out.append(VisitResponse("iCPD", f.target_sum if f else None, "progression already confirmed (iCPD)",
                                     "AFTER_ICPD"))
            continue
        if f is None:
            response, pending, confirmed = _investigator_visit(i, visit, pending, confirm_days)
            out.append(response)
            continue
        base = findings_response("iRECIST", baseline_sum, nadir, f)
        if not f.targets_missing and f.target_sum is not None and nadir is not None:
            nadir = min(nadir, f.target_sum)
        if pending is None:
            if base.response == "PD":
                pending = _Pending(i, visit.when, base.progression, f.target_sum, f.new_sum, f.new_labels)
                out.append(replace(base, response="iUPD", rule="IUPD",
                                   reason=f"{base.reason}: unconfirmed progression (iUPD), to be confirmed"))
            else:
                out.append(replace(base, response=_I_CATEGORY[base.response]))
            continue
        days = (visit.when - pending.when).days
        if days < confirm_days:
            out.append(VisitResponse("iUPD", f.target_sum, f"{days} days after iUPD, less than {confirm_days}: "
                                     "neither confirms nor resets it", "IUPD_TOO_EARLY"))
            continue
        why = _further_progression(pending, f, base)
        if why:
            out.append(VisitResponse("iCPD", f.target_sum, f"iUPD of {pending.when} confirmed: {why}", "ICPD",
                                     base.progression, confirms=pending.index))
            confirmed = True
            continue
        if base.response == "NE":
            out.append(replace(base, reason=f"{base.reason}; iUPD of {pending.when} still unconfirmed"))
            continue
        if base.response == "PD":  # persisting new lesions or a target sum still at progression, no further growth
            out.append(VisitResponse("iUPD", f.target_sum, f"no further progression since the iUPD of {pending.when} "
                                     f"({base.reason}): remains iUPD", "IUPD_REMAINS", base.progression))
            continue
        pending = None
        out.append(replace(base, response=_I_CATEGORY[base.response], rule="IUPD_RESET",
                           reason=f"{base.reason}; iUPD not confirmed and reset"))
    return out


def _further_progression(p: _Pending, f: VisitFindings, base: VisitResponse) -> str | None:
    """Why this visit confirms the pending iUPD (iRECIST Table 2), or None."""
    if "target" in p.categories and not f.targets_missing and f.target_sum is not None and p.target_sum is not None \
            and f.target_sum - p.target_sum >= CONFIRM_INCREASE_MM:
        return f"target sum {f.target_sum:g} mm, >= 5 mm above {p.target_sum:g} mm at iUPD"
    if "non-target" in p.categories and f.nontarget_increased:
        return "further increase of non-target disease"
    added = f.new_labels - p.new_labels
    if added:
        return f"additional new lesion(s) {', '.join(sorted(added))}"
    if p.new_labels and f.new_sum - p.new_sum >= CONFIRM_INCREASE_MM:
        return f"new lesions' sum {f.new_sum:g} mm, >= 5 mm above {p.new_sum:g} mm at iUPD"
    if p.new_labels and f.new_growing:
        return "new non-measured lesions increased"
    fresh = [c for c in base.progression if c not in p.categories and c != "new"]
    if fresh:
        return f"progression now also in {' and '.join(fresh)} disease ({base.reason})"
    return None


def _investigator_visit(i: int, visit: IrecistVisit, pending: _Pending | None,
                        confirm_days: int) -> tuple[VisitResponse, _Pending | None, bool]:
    """A visit without lesion records: the investigator's iRECIST response, read with the same confirmation rules."""
    said = (visit.investigator or "NE").strip()
    src = "investigator response (no lesion measurements)"
    if said == "iUPD" and pending is None:
        return VisitResponse("iUPD", None, src, "INVESTIGATOR_IUPD"), _Pending(i, visit.when, (), None, 0.0), False
    if said == "iCPD" and pending is not None and (visit.when - pending.when).days >= confirm_days:
        return VisitResponse("iCPD", None, f"{src}: confirms the iUPD of {pending.when}", "INVESTIGATOR_ICPD",
                             confirms=pending.index), pending, True
    if said == "iCPD" and pending is None:  # confirmed at once by the investigator: progression dated here
        return VisitResponse("iCPD", None, src, "INVESTIGATOR_ICPD", confirms=i), None, True
    if pending is not None and said in ("iCR", "iPR", "iSD"):
        return VisitResponse(said, None, f"{src}; iUPD reset", "IUPD_RESET"), None, False
    if pending is not None:
        return VisitResponse("iUPD" if said != "NE" else "NE", None, f"{src}; iUPD of {pending.when} unconfirmed",
                             "INVESTIGATOR"), pending, False
    return VisitResponse(said, None, src, "INVESTIGATOR"), pending, False


# -- best overall response -----------------------------------------------------------------------------
class BestResponse(NamedTuple):
    """Best overall response: the category, the index of the visit showing it (None when no visit does), the
    index of the confirming visit (CR/PR), and the named rule."""

    response: str
    index: int | None
    confirm_index: int | None
    rule: str


def best_overall_response(
    visits: Sequence[tuple[date, str]],
    start: date,
    confirm_days: int = 28,
    sd_min_days: int = 42,
    *,
    criteria: str = "RECIST 1.1",
    max_ne: int = 1,
    confirm_responses: bool = True,
) -> BestResponse:
    """Best overall response from per-visit responses ``visits`` = (date, response) in date order.

    ``confirm_responses=False`` takes a single CR/PR as it is (as randomised trials may; iRECIST Table 3).
    See the module docstring for the rules; the result's ``rule`` names the one applied.
    """
    irecist = criteria == "iRECIST"
    cr, pr, sd, non = ("iCR", "iPR", "iSD", "NON-iCR/NON-iUPD") if irecist else ("CR", "PR", "SD", "NON-CR/NON-PD")
    final = "iCPD" if irecist else "PD"
    upto: list[tuple[date, str]] = []
    for v in visits:
        upto.append(v)
        if v[1] == final:
            break
    order = _order(criteria)
    cands: list[tuple[str, int | None, int | None, str]] = []
    for i, (d, r) in enumerate(upto):
        if r == cr:
            conf = _confirmation(upto, i, (cr,), confirm_days, max_ne) if confirm_responses else i
            if conf is not None:
                cands.append((cr, i, None if conf == i else conf, _confirm_rule(upto, i, conf, "CR")))
                continue
        if r in (cr, pr):
            conf = _confirmation(upto, i, (cr, pr), confirm_days, max_ne) if confirm_responses else i
            if conf is not None:
                cands.append((pr, i, None if conf == i else conf, _confirm_rule(upto, i, conf, "PR")))
                continue
        if r in (cr, pr, sd, non):
            if (d - start).days >= sd_min_days:
                rule = "SD_MIN_DURATION" if r in (sd, non) else f"UNCONFIRMED_{'CR' if r == cr else 'PR'}_AS_SD"
                cands.append((non if r == non else sd, i, None, rule))
        elif r == final:
            cands.append((final, i, None, "PROGRESSION"))
    if irecist:
        last_upd = max((i for i, (_, r) in enumerate(upto) if r == "iUPD"), default=None)
        if last_upd is not None and all(r in ("iUPD", "NE") for _, r in upto[last_upd:]):
            first = last_upd
            while first > 0 and upto[first - 1][1] in ("iUPD", "NE"):
                first -= 1
            first = next(i for i in range(first, last_upd + 1) if upto[i][1] == "iUPD")
            cands.append(("iUPD", first, None, "IUPD_UNCONFIRMED"))
    if not cands:
        rule = "NO_EVALUABLE_VISIT" if all(r == "NE" for _, r in upto) else "SD_TOO_EARLY"
        return BestResponse("NE", None, None, rule)
    best = min(cands, key=lambda c: (order[c[0]], c[1] if c[1] is not None else -1))
    return BestResponse(*best)


def _order(criteria: str) -> dict[str, int]:
    return {r: i for i, r in enumerate(BEST_RESPONSE_ORDER[criteria])}


def _confirmation(visits: Sequence[tuple[date, str]], i: int, confirming: tuple[str, ...], confirm_days: int,
                  max_ne: int) -> int | None:
    """Index of the visit confirming the response at ``i``, or None (module docstring, NE rule)."""
    d0 = visits[i][0]
    ne_seen = 0
    for j in range(i + 1, len(visits)):
        d, r = visits[j]
        if r == "NE":
            ne_seen += 1
            if ne_seen > max_ne:
                return None
            continue
        if r not in confirming:
            return None
        if (d - d0).days >= confirm_days:
            return j
    return None


def _confirm_rule(visits: Sequence[tuple[date, str]], i: int, conf: int, what: str) -> str:
    if conf == i:
        return f"{what}_UNCONFIRMED_ACCEPTED"
    skipped = any(r == "NE" for _, r in visits[i + 1:conf])
    return f"CONFIRMED_{what}" + ("_AFTER_NE" if skipped else "")
