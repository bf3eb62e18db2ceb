"""What a REDCap project XML (CDISC ODM with REDCap's extensions) adds to the dictionary: the project's
name, its arms and events (day offsets, windows, the instruments of each), and its repeating instruments.

The file is read with the standard library's XML parser after refusing any document type declaration,
so no entity is ever expanded (a hostile file cannot grow in memory or reach outside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from earlyphase.errors import InputError

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
RC = "{https://projectredcap.org}"
MAX_PROJECT_BYTES = 200 * 1024 * 1024


@dataclass
class Event:
    """One REDCap event of one arm, with the instruments it holds."""

    unique_name: str
    label: str
    arm: int = 1
    arm_name: str = ""
    day_offset: int = 0
    offset_min: int = 0
    offset_max: int = 0
    forms: list[str] = field(default_factory=list)
    repeating: bool = False


@dataclass
class Project:
    name: str = ""
    events: list[Event] = field(default_factory=list)
    repeating_forms: set[str] = field(default_factory=set)  # instruments that repeat (in any event)


def _int(text: str | None) -> int:
    try:
        return int(float(text)) if text not in (None, "") else 0
    except ValueError:
        return 0


def read_project(path: str | Path) -> Project:
    """The events, arms and repeating instruments of a REDCap project XML (``InputError`` when unreadable)."""
    p = Path(path)
    if not p.is_file():
        raise InputError.single("project", str(p), "exists", "no such file (give the REDCap project XML)")
    data = p.read_bytes()
    if len(data) > MAX_PROJECT_BYTES:
        raise InputError.single("project", p.name, "size", "the project XML is too large", file=p.name)
    if re.search(rb"<!DOCTYPE|<!ENTITY", data[:1_000_000], re.IGNORECASE):
        raise InputError.single("project", p.name, "no-doctype",
                                "the project XML declares a document type or entities; REDCap never does, and "
                                "they are not read", file=p.name)
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InputError.single("project", p.name, "xml", f"the project XML does not parse ({exc})",
                                file=p.name) from None
    if root.tag != f"{ODM}ODM":
        raise InputError.single("project", p.name, "odm", "this is not a REDCap project XML (CDISC ODM 1.3)",
                                file=p.name)
    project = Project()
    name = root.find(f"{ODM}Study/{ODM}GlobalVariables/{ODM}StudyName")
    project.name = (name.text or "").strip() if name is not None else ""
    for ev in root.iter(f"{ODM}StudyEventDef"):
        unique = ev.get(f"{RC}UniqueEventName") or ""
        if not unique:
            continue
        project.events.append(Event(
            unique_name=unique, label=ev.get(f"{RC}EventName") or unique, arm=_int(ev.get(f"{RC}ArmNum")) or 1,
            arm_name=ev.get(f"{RC}ArmName") or "", day_offset=_int(ev.get(f"{RC}DayOffset")),
            offset_min=_int(ev.get(f"{RC}OffsetMin")), offset_max=_int(ev.get(f"{RC}OffsetMax")),
            forms=[ref.get(f"{RC}FormName") or "" for ref in ev.findall(f"{ODM}FormRef")],
            repeating=(ev.get("Repeating") == "Yes")))
    for rep in root.iter(f"{RC}RepeatingInstrument"):
        form = rep.get(f"{RC}RepeatInstrument")
        if form:
            project.repeating_forms.add(form)
    for rep in root.iter(f"{RC}RepeatingEvent"):
        unique = rep.get(f"{RC}UniqueEventName")
        for ev in project.events:
            if ev.unique_name == unique:
                ev.repeating = True
    return project
