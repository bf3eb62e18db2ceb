"""No word of one study in the code: the seed trial's words live in its study file (and in the twin that
imitates it, and in the upgrade that converted its old tables), never in the package's Python or templates."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "earlyphase"
# Where the seed trial's words may stay: its digital twin, the migrations that converted past schemas, and the
# published terminologies (CTCAE, ASTCT consensus grading, their synonyms), where "Fever" is a term of the standard
# every study shares, not a word of one study.
EXEMPT = (PACKAGE / "twin", PACKAGE / "records" / "migrations" / "versions", PACKAGE / "vocab")
# The seed study's product, disease, disease scores and lab test, its notable adverse event, the therapy
# its patients received afterwards, and its study id.
WORDS = re.compile(r"hepatocellular|\bhcc\b|transplant|child[\s_\-–]?pugh|\bafp|fever|pyrexia|sorafenib|\bltx\b",
                   re.IGNORECASE)
NK = re.compile(r"\bNK\b")  # case-sensitive: the product (natural killer cells), not "nk" inside words


def _files() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*") if p.suffix in (".py", ".html", ".mako", ".j2")]
    return [p for p in files if not any(p.is_relative_to(d) for d in EXEMPT)]


def test_the_rule_sees_the_code():
    names = {p.relative_to(PACKAGE).as_posix() for p in _files()}
    assert {"capture/patients.py", "report/tables.py", "report/templates/report.html", "derive/adsl.py"} <= names
    assert not any(n.startswith("twin/") for n in names)


def test_no_seed_study_word_in_the_package_code():
    offenders = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if WORDS.search(line) or NK.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()[:100]}")
    assert offenders == [], "seed-study words belong in the study file:\n" + "\n".join(offenders)


def test_the_rule_would_catch_them():
    for line in ("child_pugh = 'A'", "Child–Pugh class", "afp_ng_ml", "FEVER_TERMS", "NK-cell infusion",
                 "post-transplant", "nk-hcc-ltx", "Pyrexia"):
        assert WORDS.search(line) or NK.search(line), line
    for line in ("link", "Ranking", "thank", "safe", "rank"):
        assert not (WORDS.search(line) or NK.search(line)), line
