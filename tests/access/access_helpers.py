"""Shared pieces of the access and web tests: a two-site copy of the bundled study, and test users."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from earlyphase.protocol.loader import read_study_text

TODAY = date(2015, 3, 1)
PASSWORD = "correct horse battery"
SITES = ("S01", "S02")


def two_site_study(directory: Path) -> Path:
    """The bundled study with two sites (S01, S02), written to ``directory``."""
    text, _origin = read_study_text("nk-hcc-ltx")
    data = yaml.safe_load(text)
    data["sites"] = [{"code": code, "name": f"Site {code}", "country": "GB"} for code in SITES]
    path = directory / "two-site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
