"""A study for the data-entry tests: the two-site study with one more form holding every field type."""

from __future__ import annotations

from pathlib import Path

import yaml
from web_helpers import two_site_study

# A repeating form expected at screening: every type of field, a unit, a hard and a soft range, a show-if,
# a partial date, choices and a warning check.
VITALS = {
    "name": "vitals",
    "label": "Vital signs",
    "repeating": True,
    "date_field": "taken_on",
    "fields": [
        {"name": "taken_on", "label": "Date taken", "type": "date", "required": True},
        {"name": "temperature", "label": "Temperature", "type": "decimal", "unit": "C",
         "range": {"min": 30, "max": 45}, "soft_range": {"min": 35, "max": 38.5}},
        {"name": "pulse", "label": "Pulse", "type": "integer", "unit": "/min", "range": {"min": 20, "max": 250},
         "soft_range": {"min": 40, "max": 120}},
        {"name": "position", "label": "Position", "type": "choice", "required": True,
         "codes": [{"code": "sitting", "label": "Sitting"}, {"code": "supine", "label": "Supine"}]},
        {"name": "symptoms", "label": "Symptoms", "type": "multiple_choice",
         "codes": [{"code": "chills", "label": "Chills"}, {"code": "rigors", "label": "Rigors"},
                   {"code": "rash", "label": "Rash"}]},
        {"name": "abnormal", "label": "Clinically significant abnormality", "type": "yesno", "required": True},
        {"name": "abnormal_text", "label": "Describe the abnormality", "type": "text", "max_length": 200,
         "show_if": "abnormal = 'Y'", "required": True},
        {"name": "last_illness", "label": "Last intercurrent illness", "type": "partial_date"},
        {"name": "note", "label": "Note", "type": "text", "max_length": 500},
    ],
}


def entry_study(directory: Path) -> Path:
    path = two_site_study(directory)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["forms"].append(VITALS)
    for visit in data["visits"]:
        if visit["code"] == "SCR":
            visit["forms"].append("vitals")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
