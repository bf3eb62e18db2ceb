"""The main job: a fresh SQLite trial database holding a bundled study and its synthetic data, summarised.

``run_demo(out_dir, study=...)`` does, in order:

1. prepare ``out_dir`` and a fresh ``out_dir/trial.db`` (an existing demo database, i.e. one whose
   study is marked synthetic, is replaced; any other file there is refused, never overwritten);
2. initialise it with the bundled study (default: the seed study ``nk-hcc-ltx``; capture: schema,
   protocol, sites, audited);
3. load its synthetic data through capture in one transaction: the seed study's digital twin
   (``load_twin``), or another bundled study's labelled synthetic data set (``earlyphase.synthetic``);
4. verify the audit trail (hash chain and replay);
5. summarise (``summarise_trial``) and write ``summary.txt`` and ``summary.json``;
6. write the full report (``earlyphase.report``): report.html, figures/, tables/, adam/, and
   report.pdf when headless Chromium is available (``pdf=None``, the default) or asked for (``pdf=True``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earlyphase.errors import InputError
from earlyphase.jsonable import to_jsonable
from earlyphase.twin.generate import DEFAULT_SEED
from earlyphase.twin.summary import SYNTHETIC_BANNER, TrialSummary

DEFAULT_DEMO_DIR = "earlyphase-demo"
DEMO_STUDY = "nk-hcc-ltx"
DEMO_USER = "demo"


@dataclass(frozen=True)
class DemoResult:
    """What the demo made: the directory, the database, the files written and the summary."""

    out_dir: Path
    database: Path
    seed: int
    replaced: bool
    audit_ok: bool
    files: list[Path]
    summary_result: Any  # TrialSummary (the seed study) or StudySummary (any other)
    extra: dict[str, Any] = field(default_factory=dict)
    study_id: str = DEMO_STUDY

    def summary(self) -> str:
        lines = [self.summary_result.summary(), ""]
        verb = "replaced" if self.replaced else "created"
        what = "twin seed" if self.study_id == DEMO_STUDY else "synthetic data seed"
        lines.append(f"Database {verb}: {self.database} (SQLite; {what} {self.seed}; audit trail "
                     f"{'verified' if self.audit_ok else 'HAS FINDINGS: run earlyphase audit verify'})")
        if "report" in self.extra:
            lines.append(f"Report: {self.extra['report']}")
        if self.extra.get("pdf"):
            lines.append(f"PDF: {self.extra['pdf']}")
        elif self.extra.get("pdf_note"):
            lines.append(f"PDF: not written ({self.extra['pdf_note']})")
        lines.append("Files: " + ", ".join(str(p) for p in self.files))
        if self.extra.get("accounts"):
            lines.append("Accounts (no password yet): " + ", ".join(self.extra["accounts"]))
            lines.append(f"Give one a password (and a signer its TOTP secret): {self.extra['password_command']}; "
                         "then earlyphase serve --db " + str(self.database))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "synthetic": True,
            "study_id": self.study_id,
            "banner": getattr(self.summary_result, "banner", None) or SYNTHETIC_BANNER,
            "out_dir": str(self.out_dir),
            "database": str(self.database),
            "seed": self.seed,
            "replaced": self.replaced,
            "audit_ok": self.audit_ok,
            "files": [str(p) for p in self.files],
            "summary": self.summary_result.to_dict(),
            **self.extra,
        }


def _is_demo_database(path: Path) -> bool:
    """True when ``path`` is an earlyphase database whose study is marked synthetic (a previous demo)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT synthetic FROM study").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def _fresh_database(out_dir: Path) -> tuple[Path, bool]:
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "trial.db"
    if not db.exists():
        return db, False
    if not _is_demo_database(db):
        raise InputError.single(
            "out", str(db), "fresh-demo-database",
            f"{db} exists and is not an earlyphase demo database (synthetic twin); the demo never overwrites "
            "other data. Choose another --out directory or remove the file yourself",
        )
    # The old demo's audit anchors go with it: they vouch for a log this fresh database never had.
    # (Its key file stays and keys the new one.)
    for suffix in ("", "-wal", "-shm", "-journal", ".audit-anchors"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db, True


def demo_studies() -> list[str]:
    """The bundled studies the demo runs: the seed study, and every bundled study with a synthetic profile."""
    from earlyphase.protocol import bundled_studies
    from earlyphase.synthetic import bundled_profiles

    return [DEMO_STUDY] + [s for s in bundled_studies() if s != DEMO_STUDY and s in bundled_profiles()]


def run_demo(out_dir: str | Path = DEFAULT_DEMO_DIR, *, seed: int | None = None, pdf: bool | None = None,
             study: str = DEMO_STUDY, progress: bool = False) -> DemoResult:
    """Build the demo of bundled ``study`` in ``out_dir`` (see the module docstring for the steps) and
    return what was made.

    ``seed``: the twin's seed (seed study) or the synthetic profile's (other studies); default: the
    bundled one. ``pdf``: True prints report.pdf (fails clearly without Chromium), False never does, None
    does it when Chromium is installed and otherwise says how to get it.
    """
    from earlyphase.privacy.files import private_output

    if study not in demo_studies():
        raise InputError.single("study", study, "demo-study",
                                f"the demo runs the bundled studies {', '.join(demo_studies())}; for another study "
                                "use earlyphase init and import")
    out = Path(out_dir).expanduser().resolve()
    with private_output(out):  # the database, summary and report: readable by the user only
        return _run_demo(out, seed, pdf, study, progress)


def _run_demo(out: Path, seed: int | None, pdf: bool | None, study: str, progress: bool) -> DemoResult:
    from earlyphase.capture import initialise
    from earlyphase.records import verify_audit

    db, replaced = _fresh_database(out)
    trial = initialise(db, study, DEMO_USER)
    engine = trial.engine
    try:
        if study == DEMO_STUDY:
            from earlyphase.twin.load import load_twin
            from earlyphase.twin.summary import summarise_trial

            seed = DEFAULT_SEED if seed is None else seed
            load_twin(engine, seed)
            result = summarise_trial(engine)
        else:
            from earlyphase.synthetic import load_synthetic, read_profile
            from earlyphase.synthetic.summary import summarise_study

            profile = read_profile(study)
            if seed is not None:
                profile = profile.model_copy(update={"seed": seed})
            seed = profile.seed
            loaded = load_synthetic(engine, profile, progress=progress)
            result = summarise_study(engine, loaded.to_dict()["decisions"], banner=profile.note)
        accounts = demo_accounts(engine, trial.study)
        audit = verify_audit(engine)
        files = _write_summary(out, result)
        report_files, extra = _write_report(engine, out, pdf)
        files += report_files
    finally:
        trial.close()
    extra["accounts"] = accounts
    extra["password_command"] = f"earlyphase user reset-password NAME --db {db} --user {DEMO_USER}"
    return DemoResult(out, db, seed, replaced, bool(audit.ok), files, result, extra, study)


def demo_accounts(engine, study) -> list[str]:
    """The demo's people, each an account with roles and NO password (none is ever written down): the demo
    user is the admin; each site has a coordinator and an investigator; a data manager, statistician,
    safety reviewer and sponsor hold their roles at every site. A person gets a password (and, for a
    signer, the TOTP secret) with ``earlyphase user reset-password NAME --db ... --user demo``."""
    from earlyphase.access import add_account

    people = [(DEMO_USER, "admin@ALL")]
    for site in study.sites:
        tag = site.code.lower()
        people += [(f"coord-{tag}", f"coordinator@{site.code}"), (f"pi-{tag}", f"investigator@{site.code}")]
    people += [("dm", "data_manager@ALL"), ("stat", "statistician@ALL"), ("safety", "safety_reviewer@ALL"),
               ("sponsor", "sponsor@ALL")]
    for name, role in people:
        add_account(engine, name, actor=DEMO_USER, roles=[role], reason="demo account")
    return [f"{name} ({role})" for name, role in people]


def _write_summary(out: Path, result: Any) -> list[Path]:
    text_path = out / "summary.txt"
    json_path = out / "summary.json"
    text_path.write_text(result.summary() + "\n", encoding="utf-8")
    json_path.write_text(json.dumps(to_jsonable(result.to_dict()), indent=2) + "\n", encoding="utf-8")
    return [text_path, json_path]


def _write_report(engine, out: Path, pdf: bool | None) -> tuple[list[Path], dict[str, Any]]:
    """The full report (``earlyphase.report``): report.html, figures/, tables/, adam/ and maybe report.pdf.

    Returns the files (the report first, then the PDF if any, then the analysis datasets) and the
    report's paths for the summary.
    """
    from earlyphase.errors import ConfigurationError
    from earlyphase.report import report_from_database
    from earlyphase.report.pdf import find_chromium

    note = None
    if pdf is None:
        try:
            find_chromium()
            pdf = True
        except ConfigurationError:
            pdf = False
            note = "headless Chromium is not installed; install it (Debian: apt-get install chromium) for report.pdf"
    # the twin is synthetic (no real person in it) and the demo shows every patient-level feature: its report is
    # the identified one, labelled so on its first page and in manifest.json
    result = report_from_database(engine, out, pdf=pdf, identified=True, username=DEMO_USER)
    extra: dict[str, Any] = {"report": str(result.html), "pdf": str(result.pdf) if result.pdf else None}
    if note:
        extra["pdf_note"] = note
    files = [result.html, *([result.pdf] if result.pdf else []), *result.datasets]
    return files, extra
