"""Published numbers (a data file per publication) set against the numbers reproduced from the data.

The files live in ``earlyphase/report/publications/<study_id>.yaml``: the citation and, for every
number in the abstract, its value and the ``measure`` that recomputes it. Agreement rules:
medians and counts agree when equal at the published precision; a P value agrees when it is
within a factor of 1.4 of the published one (the twin's acceptance rule; small-sample P values
move a lot with a single day) and on the same side of 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Sequence

from earlyphase.report.trace import Cell, TraceTable, text

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive import AnalysisDatasets
    from earlyphase.report.survival import EndpointAnalysis

P_VALUE_FACTOR = 1.4


@dataclass(frozen=True)
class Publication:
    study_id: str
    citation: str
    doi: str | None
    numbers: tuple[dict[str, Any], ...]


def load_publication(study_id: str) -> Publication | None:
    """The bundled publication file of ``study_id``, or None."""
    import yaml

    res = resources.files("earlyphase.report") / "publications" / f"{study_id}.yaml"
    if not res.is_file():
        return None
    data = yaml.safe_load(res.read_text(encoding="utf-8"))
    return Publication(data["study_id"], " ".join(str(data["citation"]).split()), data.get("doi"), tuple(data["numbers"]))


def _reproduce(spec: dict, ds: "AnalysisDatasets", analyses: dict[str, "EndpointAnalysis"]) -> tuple[Any, dict]:
    """(value, evidence) for one published number."""
    adsl = ds.adsl
    m = spec["measure"]
    allp = {u: (f"patients#{int(s)}",) for u, s in zip(adsl["USUBJID"], adsl["SRCSEQ"])}
    if m == "n_enrolled":
        return int((adsl["ENRLFL"] == "Y").sum()), allp
    if m == "first_enrolment" or m == "last_enrolment":
        pts = ds.source.tables["patients"]
        d = pts["enrolment_date"].min() if m == "first_enrolment" else pts["enrolment_date"].max()
        return d.date().isoformat(), {}
    if m == "n_group":
        rows = adsl[adsl["TRT01P"] == spec["group"]]
        return int(len(rows)), {u: (f"patients#{int(s)}",) for u, s in zip(rows["USUBJID"], rows["SRCSEQ"])}
    if m == "planned_administrations":
        return int(ds.study.group(spec["group"]).regimen.administrations), {}
    if m == "max_followup_years":
        os_ = analyses.get("OS")
        if os_ is None:
            return None, {}
        i = os_.data["AVAL"].idxmax()
        r = os_.data.loc[i]
        return round(float(r["AVAL"]) / 365.25, 1), {r["USUBJID"]: (f"OS {int(r['AVAL'])} days",)}
    if m == "most_common_ae":
        ae = ds.adae[ds.adae["TRTEMFL"] == "Y"]
        if ae.empty:
            return None, {}
        top = ae.groupby(["AEDECOD", "ATOXGR"]).size().sort_values(ascending=False).index[0]
        rows = ae[(ae["AEDECOD"] == top[0]) & (ae["ATOXGR"] == top[1])]
        ev = {}
        for u, s in zip(rows["USUBJID"], rows["SRCSEQ"]):
            ev.setdefault(u, []).append(f"adverse_events#{int(s)}")
        return f"Grade {top[1]} {top[0].lower()} ({len(rows)} episodes)", {k: tuple(v) for k, v in ev.items()}
    if m == "resolved_within_hours":
        terms = [str(t).casefold() for t in spec["terms"]]
        hours = float(spec.get("hours", 24))
        ae = ds.adae[(ds.adae["TRTEMFL"] == "Y") & ds.adae["AEDECOD"].str.casefold().isin(terms)]
        timed = ae[ae["ADURH"].notna()]
        if timed.empty:
            return None, {}
        med = float(timed["ADURH"].median())
        within = int((timed["ADURH"] <= hours).sum())
        return f"{'yes' if med <= hours else 'no'} (median {med:.1f} h; {within}/{len(timed)} within {hours:g} h)", {}
    if m == "median":
        ea = analyses.get(spec["endpoint"])
        if ea is None:
            return None, {}
        g = spec.get("group")
        if g is not None and g not in ea.groups:
            return None, {}
        return float(ea.median(g)[0]), {}
    if m == "logrank_p":
        ea = analyses.get(spec["endpoint"])
        return (None if ea is None or ea.logrank is None else float(ea.logrank.p_value)), {}
    raise ValueError(f"unknown measure {m!r} in the publication file")


def agrees(spec: dict, value: Any) -> bool | None:
    """Whether a reproduced value agrees with the published one (None: cannot tell)."""
    pub = spec["value"]
    if value is None:
        return False
    m = spec["measure"]
    if m == "logrank_p":
        return (pub / P_VALUE_FACTOR <= value <= pub * P_VALUE_FACTOR) and ((value < 0.05) == (pub < 0.05))
    if m == "median":
        return not math.isnan(value) and round(value, spec.get("digits", 1)) == round(float(pub), spec.get("digits", 1))
    if m == "max_followup_years":
        return round(value) == pub
    if m in ("most_common_ae",):
        accepted = [str(a).lower() for a in spec.get("accept", [pub])]
        return any(str(value).lower().startswith(a) for a in accepted)
    if m == "resolved_within_hours":
        return str(value).startswith(str(pub))
    return str(value) == str(pub)


def published_vs_reproduced(ds: "AnalysisDatasets", analyses: Sequence["EndpointAnalysis"]) -> TraceTable | None:
    pub = load_publication(ds.study.study_id)
    if pub is None:
        return None
    by = {a.paramcd: a for a in analyses}
    rows = []
    for spec in pub.numbers:
        value, ev = _reproduce(spec, ds, by)
        if spec["measure"] in ("median", "logrank_p"):
            ea = by.get(spec["endpoint"])
            if ea is not None:
                g = spec.get("group")
                from earlyphase.report.tables import _tte_evidence

                users = ea.data["USUBJID"] if g is None else ea.data.loc[ea.data["TRT01P"] == g, "USUBJID"]
                ev = _tte_evidence(ea, users)
        digits = spec.get("digits")
        shown = "—" if value is None else (f"{value:.{digits}f}" if digits is not None and isinstance(value, float) else str(value))
        ok = agrees(spec, value)
        rows.append([text(spec["label"]), text(str(spec["value"]), "right"),
                     Cell(shown, ev) if ev else text(shown, "right"),
                     text("yes" if ok else "NO", "center")])
    return TraceTable(
        "published_vs_reproduced", "Published versus reproduced: every number of the abstract",
        ["Number", "Published", "Reproduced", "Agrees"], rows,
        notes=[f"Published: {pub.citation}",
               "Medians agree when equal at the published precision; P values when within a factor of "
               f"{P_VALUE_FACTOR} and on the same side of 0.05."],
    )
