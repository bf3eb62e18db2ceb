"""A two-site trial with subjects at each site and one user per role, for the web tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml

from earlyphase.protocol.loader import read_study_text

TODAY = date(2015, 3, 1)
PASSWORD = "correct horse battery"
ELIGIBLE = {"I1": True, "I2": True, "E1": False}
# Subject ids of each site: no response to a user of the other site may hold any of them.
SUBJECTS = {"S01": ("A-101", "A-102"), "S02": ("B-201", "B-202")}


def two_site_study(directory: Path) -> Path:
    text, _origin = read_study_text("nk-hcc-ltx")
    data = yaml.safe_load(text)
    data["sites"] = [{"code": code, "name": f"Site {code}", "country": "GB"} for code in SUBJECTS]
    path = directory / "two-site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(client, username: str, password: str = PASSWORD, code: str | None = None):
    """GET the login form, then POST it with its token; returns the POST's response (not followed)."""
    token = csrf_of(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    if code is not None:
        data["code"] = code
    return client.post("/login", data=data, follow_redirects=False)
