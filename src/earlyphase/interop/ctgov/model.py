"""The results section of a ClinicalTrials.gov record (API v2 ``resultsSection``) as frozen objects.

Each class mirrors one component schema of the registry's OpenAPI spec, field for field; attribute names are the
registry's own camelCase keys, so a reader of the spec finds each field here under the same name. Every field is
optional (the registry omits what a record does not hold) and ``None`` means absent: ``to_dict`` writes back
exactly the keys that were read, so a record read in and written out is equal to itself. Counts are typed as the
schema types them: participant-flow, baseline and outcome values are strings (``"12"``, ``"NA"``); adverse-event
counts are integers.

``read_results(data, source)`` refuses what the spec does not allow, naming the path of the offending key
(``resultsSection.participantFlowModule.periods[0].milestones[1].achievements[0].numSubjects``) and the rule.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Optional

from earlyphase.errors import InputError


class Node:
    """A registry object: dataclass fields named as the registry's keys, None = absent."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = _out(value)
        return out


def _out(value: Any) -> Any:
    if isinstance(value, Node):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_out(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------- flow
@dataclass(frozen=True)
class FlowGroup(Node):
    id: Optional[str] = None
    title: Optional[str] = None
    description: Optional[str] = None


@dataclass(frozen=True)
class FlowStats(Node):
    groupId: Optional[str] = None
    comment: Optional[str] = None
    numSubjects: Optional[str] = None
    numUnits: Optional[str] = None


@dataclass(frozen=True)
class FlowMilestone(Node):
    type: Optional[str] = None
    comment: Optional[str] = None
    achievements: Optional[tuple[FlowStats, ...]] = None


@dataclass(frozen=True)
class DropWithdraw(Node):
    type: Optional[str] = None
    comment: Optional[str] = None
    reasons: Optional[tuple[FlowStats, ...]] = None


@dataclass(frozen=True)
class FlowPeriod(Node):
    title: Optional[str] = None
    milestones: Optional[tuple[FlowMilestone, ...]] = None
    dropWithdraws: Optional[tuple[DropWithdraw, ...]] = None


@dataclass(frozen=True)
class ParticipantFlowModule(Node):
    preAssignmentDetails: Optional[str] = None
    recruitmentDetails: Optional[str] = None
    typeUnitsAnalyzed: Optional[str] = None
    groups: Optional[tuple[FlowGroup, ...]] = None
    periods: Optional[tuple[FlowPeriod, ...]] = None


# ------------------------------------------------------------------------------------------- measures
@dataclass(frozen=True)
class MeasureGroup(Node):
    id: Optional[str] = None
    title: Optional[str] = None
    description: Optional[str] = None


@dataclass(frozen=True)
class DenomCount(Node):
    groupId: Optional[str] = None
    value: Optional[str] = None


@dataclass(frozen=True)
class Denom(Node):
    units: Optional[str] = None
    counts: Optional[tuple[DenomCount, ...]] = None


@dataclass(frozen=True)
class Measurement(Node):
    groupId: Optional[str] = None
    value: Optional[str] = None
    spread: Optional[str] = None
    lowerLimit: Optional[str] = None
    upperLimit: Optional[str] = None
    comment: Optional[str] = None


@dataclass(frozen=True)
class MeasureCategory(Node):
    title: Optional[str] = None
    measurements: Optional[tuple[Measurement, ...]] = None


@dataclass(frozen=True)
class MeasureClass(Node):
    title: Optional[str] = None
    denoms: Optional[tuple[Denom, ...]] = None
    categories: Optional[tuple[MeasureCategory, ...]] = None


@dataclass(frozen=True)
class BaselineMeasure(Node):
    title: Optional[str] = None
    description: Optional[str] = None
    populationDescription: Optional[str] = None
    paramType: Optional[str] = None
    dispersionType: Optional[str] = None
    unitOfMeasure: Optional[str] = None
    calculatePct: Optional[bool] = None
    denomUnitsSelected: Optional[str] = None
    denoms: Optional[tuple[Denom, ...]] = None
    classes: Optional[tuple[MeasureClass, ...]] = None


@dataclass(frozen=True)
class BaselineCharacteristicsModule(Node):
    populationDescription: Optional[str] = None
    typeUnitsAnalyzed: Optional[str] = None
    groups: Optional[tuple[MeasureGroup, ...]] = None
    denoms: Optional[tuple[Denom, ...]] = None
    measures: Optional[tuple[BaselineMeasure, ...]] = None


@dataclass(frozen=True)
class MeasureAnalysis(Node):
    paramType: Optional[str] = None
    paramValue: Optional[str] = None
    dispersionType: Optional[str] = None
    dispersionValue: Optional[str] = None
    statisticalMethod: Optional[str] = None
    statisticalComment: Optional[str] = None
    pValue: Optional[str] = None
    pValueComment: Optional[str] = None
    ciNumSides: Optional[str] = None
    ciPctValue: Optional[str] = None
    ciLowerLimit: Optional[str] = None
    ciUpperLimit: Optional[str] = None
    ciLowerLimitComment: Optional[str] = None
    ciUpperLimitComment: Optional[str] = None
    estimateComment: Optional[str] = None
    testedNonInferiority: Optional[bool] = None
    nonInferiorityType: Optional[str] = None
    nonInferiorityComment: Optional[str] = None
    otherAnalysisDescription: Optional[str] = None
    groupDescription: Optional[str] = None
    groupIds: Optional[tuple[str, ...]] = None


@dataclass(frozen=True)
class OutcomeMeasure(Node):
    type: Optional[str] = None
    title: Optional[str] = None
    description: Optional[str] = None
    populationDescription: Optional[str] = None
    reportingStatus: Optional[str] = None
    anticipatedPostingDate: Optional[str] = None
    paramType: Optional[str] = None
    dispersionType: Optional[str] = None
    unitOfMeasure: Optional[str] = None
    calculatePct: Optional[bool] = None
    timeFrame: Optional[str] = None
    typeUnitsAnalyzed: Optional[str] = None
    denomUnitsSelected: Optional[str] = None
    groups: Optional[tuple[MeasureGroup, ...]] = None
    denoms: Optional[tuple[Denom, ...]] = None
    classes: Optional[tuple[MeasureClass, ...]] = None
    analyses: Optional[tuple[MeasureAnalysis, ...]] = None


@dataclass(frozen=True)
class OutcomeMeasuresModule(Node):
    outcomeMeasures: Optional[tuple[OutcomeMeasure, ...]] = None


# ------------------------------------------------------------------------------------------- adverse events
@dataclass(frozen=True)
class EventGroup(Node):
    id: Optional[str] = None
    title: Optional[str] = None
    description: Optional[str] = None
    deathsNumAffected: Optional[int] = None
    deathsNumAtRisk: Optional[int] = None
    seriousNumAffected: Optional[int] = None
    seriousNumAtRisk: Optional[int] = None
    otherNumAffected: Optional[int] = None
    otherNumAtRisk: Optional[int] = None


@dataclass(frozen=True)
class EventStats(Node):
    groupId: Optional[str] = None
    numEvents: Optional[int] = None
    numAffected: Optional[int] = None
    numAtRisk: Optional[int] = None


@dataclass(frozen=True)
class AdverseEvent(Node):
    term: Optional[str] = None
    organSystem: Optional[str] = None
    sourceVocabulary: Optional[str] = None
    assessmentType: Optional[str] = None
    notes: Optional[str] = None
    stats: Optional[tuple[EventStats, ...]] = None


@dataclass(frozen=True)
class AdverseEventsModule(Node):
    frequencyThreshold: Optional[str] = None
    timeFrame: Optional[str] = None
    description: Optional[str] = None
    allCauseMortalityComment: Optional[str] = None
    eventGroups: Optional[tuple[EventGroup, ...]] = None
    seriousEvents: Optional[tuple[AdverseEvent, ...]] = None
    otherEvents: Optional[tuple[AdverseEvent, ...]] = None


@dataclass(frozen=True)
class ResultsSection(Node):
    participantFlowModule: Optional[ParticipantFlowModule] = None
    baselineCharacteristicsModule: Optional[BaselineCharacteristicsModule] = None
    outcomeMeasuresModule: Optional[OutcomeMeasuresModule] = None
    adverseEventsModule: Optional[AdverseEventsModule] = None
    # point of contact and agreements: a sponsor's to write, not the database's; read and written back as is
    moreInfoModule: Optional[dict] = None


# ------------------------------------------------------------------------------------------- reading
# participant counts the registry types as strings, written as digits (a measurement's value may be "NA" instead)
_COUNT_STRINGS = {"numSubjects", "numUnits"}
_SCALARS = {str: "a string", int: "an integer", bool: "true or false", dict: "an object"}


def _fail(source: str, path: str, value: Any, rule: str, message: str) -> InputError:
    shown = value if isinstance(value, (str, int, float, bool)) or value is None else type(value).__name__
    return InputError.single(path, shown, rule, message, file=source)


def _read(cls: type, data: Any, path: str, source: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(source, path, data, "type", f"must be an object ({cls.__name__})")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in names]
    if unknown:
        raise _fail(source, f"{path}.{unknown[0]}", data[unknown[0]], "known-key",
                    f"{cls.__name__} has no key {unknown[0]!r} in the registry's API v2")
    values = {k: _value(hints[k], v, f"{path}.{k}", source) for k, v in data.items()}
    return cls(**values)


def _value(hint: Any, value: Any, path: str, source: str) -> Any:
    inner = [a for a in typing.get_args(hint) if a is not type(None)][0]  # Optional[X] -> X
    if value is None:
        raise _fail(source, path, value, "not-null", "is null; leave the key out instead")
    if typing.get_origin(inner) is tuple:
        item = typing.get_args(inner)[0]
        if not isinstance(value, list):
            raise _fail(source, path, value, "type", "must be a list")
        return tuple(_value(Optional[item], v, f"{path}[{i}]", source) for i, v in enumerate(value))
    if isinstance(inner, type) and issubclass(inner, Node):
        return _read(inner, value, path, source)
    # bool is an int in Python: a count written true is still refused
    if not isinstance(value, inner) or (inner is int and isinstance(value, bool)):
        raise _fail(source, path, value, "type", f"must be {_SCALARS[inner]}")
    if inner is int and value < 0:
        raise _fail(source, path, value, "non-negative", "a count cannot be negative")
    if path.rsplit(".", 1)[-1] in _COUNT_STRINGS and not value.isdigit():
        raise _fail(source, path, value, "count", "a number of participants is written as digits, e.g. \"12\"")
    return value


def read_results(data: Any, source: str = "resultsSection") -> ResultsSection:
    """A ``resultsSection`` object (parsed JSON) as a :class:`ResultsSection`; InputError naming the path if not."""
    return _read(ResultsSection, data, "resultsSection", source)
