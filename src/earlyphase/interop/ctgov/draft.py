"""A registry record's protocol section as a study-file draft, and our study as a protocol section.

``draft_study(record)`` reads a ClinicalTrials.gov record (API v2 JSON: the whole study, or its
``protocolSection``) and writes what the registry knows as a study file (YAML): identifiers, title, sponsor,
phase, sites (locations), the product (first drug or biological intervention), one dose level per arm (label
and ``registry_arm``), eligibility (the criteria text split into inclusion and exclusion items, plus the age and
sex limits), and endpoints (primary, secondary and other outcomes; PFS and OS recognised by name). Conditions and
keywords have no key of their own in a study file: they are kept in ``assumptions``.

What a registry record does not hold and a Phase I study file needs is marked ``TO COMPLETE: ...`` (each value
says what belongs there): the dose unit and route, each level's dose and schedule, the DLT window, and the level
order. A marked draft does not load as a study until a person completes every mark: loading it names each one.

``protocol_section(study)`` is the reverse, for registering our own study (arms, interventions, outcomes,
eligibility, conditions); drafting from it gives back our levels, criteria and endpoints.
"""

from __future__ import annotations

import re
from typing import Any

from earlyphase.errors import InputError

TO_COMPLETE = "TO COMPLETE"
_PHASES = {"EARLY_PHASE1": "I", "PHASE1": "I", "PHASE2": "II", "PHASE3": "III", "PHASE4": "IV"}
_PRODUCT_TYPES = ("DRUG", "BIOLOGICAL", "GENETIC", "COMBINATION_PRODUCT")
_HEADINGS = re.compile(r"^\s*(inclusion|exclusion)\s+criteria\s*:?\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[*\-\u2022]|\d+[.)])\s+")


def _mark(what: str) -> str:
    return f"{TO_COMPLETE}: {what}"


def _protocol(record: Any, source: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InputError.single("record", type(record).__name__, "object", "a registry record is a JSON object",
                                file=source)
    section = record.get("protocolSection", record)
    if not isinstance(section, dict) or not isinstance(section.get("identificationModule"), dict):
        raise InputError.single("protocolSection.identificationModule", None, "required",
                                "the record has no protocol section with an identification module", file=source)
    return section


def _get(section: dict, path: str, kind: type, source: str, default: Any = None) -> Any:
    node: Any = section
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    if not isinstance(node, kind):
        raise InputError.single(f"protocolSection.{path}", node if isinstance(node, (str, int, float)) else
                                type(node).__name__, "type", f"must be {kind.__name__}", file=source)
    return node


def split_criteria(text: str) -> tuple[list[str], list[str]]:
    """Inclusion and exclusion items of the registry's eligibility text (``Inclusion Criteria:`` then bullets).

    A paragraph that is not a bullet belongs to the item before it (it qualifies it); text before any heading is
    read as inclusion."""
    lists: dict[str, list[str]] = {"inclusion": [], "exclusion": []}
    current = "inclusion"
    new_item = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            new_item = True
            continue
        heading = _HEADINGS.match(line)
        if heading:
            current, new_item = heading.group(1).lower(), True
            continue
        bullet = _BULLET.match(line)
        body = line[bullet.end():].strip() if bullet else line
        body = body.replace("\\>", ">").replace("\\<", "<")  # the registry escapes Markdown comparison signs
        items = lists[current]
        if bullet or not items:
            items.append(body)
        else:
            items[-1] = f"{items[-1]} {body}"
        new_item = False
    return lists["inclusion"], lists["exclusion"]


def _code(label: str, taken: set[str], index: int) -> str:
    code = re.sub(r"[^A-Za-z0-9_\-]", "", label.replace(" ", "-"))[:10] or f"L{index}"
    if code in taken:
        code = f"L{index}"
    taken.add(code)
    return code


def draft_study(record: Any, source: str = "record") -> dict[str, Any]:
    """The study-file draft (a dict, YAML-ready) of a registry record; see the module docstring."""
    p = _protocol(record, source)
    nct = _get(p, "identificationModule.nctId", str, source)
    org_id = _get(p, "identificationModule.orgStudyIdInfo.id", str, source)
    raw_id = org_id or nct or "study"
    study_id = re.sub(r"[^A-Za-z0-9_.\-]", "-", raw_id).strip("-")[:40] or "study"
    title = _get(p, "identificationModule.officialTitle", str, source) or \
        _get(p, "identificationModule.briefTitle", str, source) or _mark("the protocol's full title")
    sponsor = _get(p, "sponsorCollaboratorsModule.leadSponsor.name", str, source) or _mark("the sponsor")
    phases = [_PHASES.get(x, x) for x in _get(p, "designModule.phases", list, source, [])]
    draft: dict[str, Any] = {"study_id": study_id, "title": title}
    if nct and re.fullmatch(r"NCT\d{8}", nct):
        draft["registry_id"] = nct
    draft["sponsor"] = sponsor
    draft["phase"] = "/".join(phases) if phases else _mark("the trial phase, e.g. I")
    draft["dlt_window_days"] = _mark("days from the first dose in which a DLT counts")
    sites = []
    for i, loc in enumerate(_get(p, "contactsLocationsModule.locations", list, source, []), start=1):
        if not isinstance(loc, dict):
            continue
        name = ", ".join(str(loc[k]) for k in ("facility", "city") if loc.get(k)) or f"Site {i}"
        sites.append({"code": f"S{i:03d}", "name": name[:200]})
    draft["sites"] = sites or [{"code": _mark("a short site code"), "name": _mark("the site's name")}]
    interventions = [x for x in _get(p, "armsInterventionsModule.interventions", list, source, [])
                     if isinstance(x, dict)]
    product = next((x for x in interventions if x.get("type") in _PRODUCT_TYPES), interventions[0]
                   if interventions else {})
    draft["product"] = {"name": product.get("name") or _mark("the study product's name"),
                        "dose_unit": _mark("the unit of every dose, e.g. mg or mg/kg"),
                        "route": _mark("the route, e.g. IV or PO")}
    groups, taken = [], set()
    arms = [a for a in _get(p, "armsInterventionsModule.armGroups", list, source, []) if isinstance(a, dict)]
    for i, arm in enumerate(arms, start=1):
        label = str(arm.get("label") or f"Arm {i}")
        groups.append({"code": _code(label, taken, i), "label": label, "registry_arm": label,
                       "regimen": {"dose": _mark(f"the dose of {label}, in the dose unit"),
                                   "schedule": _mark("the schedule, e.g. {cycle_days: 21, dosing_days: '1-21'}")}})
    draft["groups"] = groups or [{"code": "L1", "label": _mark("the first dose level"),
                                  "regimen": {"dose": _mark("the dose"), "schedule": _mark("the schedule")}}]
    inclusion, exclusion = split_criteria(_get(p, "eligibilityModule.eligibilityCriteria", str, source, ""))
    limits = [f"{what} {value}" for what, value in
              (("Age at least", _get(p, "eligibilityModule.minimumAge", str, source)),
               ("Age at most", _get(p, "eligibilityModule.maximumAge", str, source))) if value]
    sex = _get(p, "eligibilityModule.sex", str, source)
    if sex and sex != "ALL":
        limits.append(f"Sex: {sex.lower()}")
    inclusion += [x for x in limits if x not in inclusion]
    draft["eligibility"] = {"inclusion": [{"code": f"I{i}", "text": t} for i, t in enumerate(inclusion, 1)],
                            "exclusion": [{"code": f"E{i}", "text": t} for i, t in enumerate(exclusion, 1)]}
    endpoints = []
    for key, kind in (("primaryOutcomes", "primary"), ("secondaryOutcomes", "secondary"),
                      ("otherOutcomes", "exploratory")):
        for outcome in _get(p, f"outcomesModule.{key}", list, source, []):
            if not isinstance(outcome, dict) or not outcome.get("measure"):
                continue
            text = str(outcome.get("description") or outcome["measure"])
            if outcome.get("timeFrame"):
                text += f" Time frame: {outcome['timeFrame']}."
            endpoint = {"name": str(outcome["measure"]), "kind": kind, "description": text}
            paramcd = _paramcd(endpoint["name"])
            if paramcd and all(e.get("paramcd") != paramcd for e in endpoints):
                endpoint["paramcd"] = paramcd
            endpoints.append(endpoint)
    draft["endpoints"] = endpoints
    assumptions = [f"Drafted from ClinicalTrials.gov record {nct or raw_id}: every '{TO_COMPLETE}' value is a Phase "
                   "I part the registry does not hold; complete each, and check the levels are listed lowest "
                   "intensity first."]
    conditions = _get(p, "conditionsModule.conditions", list, source, [])
    if conditions:
        assumptions.append("Conditions (registry): " + "; ".join(map(str, conditions)) + ".")
    keywords = _get(p, "conditionsModule.keywords", list, source, [])
    if keywords:
        assumptions.append("Keywords (registry): " + "; ".join(map(str, keywords)) + ".")
    draft["assumptions"] = assumptions
    return draft


def _paramcd(name: str) -> str | None:
    low = name.lower()
    if "progression-free survival" in low or "progression free survival" in low or re.search(r"\bpfs\b", low):
        return "PFS"
    if "overall survival" in low or re.search(r"\bos\b", low):
        return "OS"
    return None


def draft_yaml(draft: dict[str, Any]) -> str:
    """The draft as YAML, headed by how to complete it."""
    import yaml

    marks = sum(1 for _ in _marks(draft))
    head = (f"# Study-file draft from a ClinicalTrials.gov record: {marks} value(s) marked '{TO_COMPLETE}' are the\n"
            "# Phase I parts the registry does not hold. Complete each, then check it: earlyphase study check FILE\n")
    return head + yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=110)


def _marks(node: Any, path: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _marks(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _marks(v, f"{path}[{i}]")
    elif isinstance(node, str) and node.startswith(TO_COMPLETE):
        yield path


def marked_paths(draft: dict[str, Any]) -> list[str]:
    """Where the draft still holds a ``TO COMPLETE`` mark (``groups[0].regimen.dose``, ...)."""
    return list(_marks(draft))


# ------------------------------------------------------------------------------------------- our study -> registry
def protocol_section(study: Any) -> dict[str, Any]:
    """Our study as a registry ``protocolSection`` (identification, sponsor, conditions, design, arms and
    interventions, outcomes, eligibility, locations)."""
    product = study.product
    arms = [{"label": g.registry_arm or g.label, "type": "EXPERIMENTAL", "description": g.label,
             "interventionNames": [f"Drug: {product.short_name or product.name}"]} for g in study.groups]
    criteria = "Inclusion Criteria:\n\n" + "\n".join(f"* {c.text}" for c in study.eligibility.inclusion)
    if study.eligibility.exclusion:
        criteria += "\n\nExclusion Criteria:\n\n" + "\n".join(f"* {c.text}" for c in study.eligibility.exclusion)
    outcomes: dict[str, list] = {}
    key = {"primary": "primaryOutcomes", "secondary": "secondaryOutcomes", "exploratory": "otherOutcomes"}
    for e in study.endpoints:
        outcomes.setdefault(key[e.kind], []).append({"measure": e.name, "description": e.description,
                                                     "timeFrame": "To the data cut-off"})
    phases = {"I": ["PHASE1"], "I/II": ["PHASE1", "PHASE2"], "II": ["PHASE2"]}.get(study.phase, ["PHASE1"])
    conditions = [a.split(":", 1)[1].strip().rstrip(".") for a in study.assumptions
                  if a.startswith("Conditions (registry):")]
    identification: dict[str, Any] = {"orgStudyIdInfo": {"id": study.study_id}, "briefTitle": study.title[:300],
                                      "officialTitle": study.title}
    if study.registry_id:
        identification = {"nctId": study.registry_id, **identification}
    return {
        "identificationModule": identification,
        "sponsorCollaboratorsModule": {"leadSponsor": {"name": study.sponsor}},
        "conditionsModule": {"conditions": conditions or [study.title]},
        "designModule": {"studyType": "INTERVENTIONAL", "phases": phases,
                         "designInfo": {"allocation": "NON_RANDOMIZED", "interventionModel": "SEQUENTIAL",
                                        "primaryPurpose": "TREATMENT", "maskingInfo": {"masking": "NONE"}}},
        "armsInterventionsModule": {"armGroups": arms, "interventions": [
            {"type": "DRUG", "name": product.short_name or product.name, "description": product.name,
             "armGroupLabels": [a["label"] for a in arms]}]},
        "outcomesModule": outcomes,
        "eligibilityModule": {"eligibilityCriteria": criteria, "sex": "ALL"},
        "contactsLocationsModule": {"locations": [{"facility": s.name} for s in study.sites]},
    }
