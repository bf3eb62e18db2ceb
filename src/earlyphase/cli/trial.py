"""CLI commands for running a trial: init, import, export, status, twin, synthetic, demo."""

from __future__ import annotations

from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit


def register(app: typer.Typer) -> None:
    """Add the top-level trial commands to ``app``."""
    app.command("init")(init)
    register_data_commands(app)


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "system"


def _refuse_memory_database(db: str) -> None:
    """An in-memory SQLite database vanishes when ``init`` returns: reporting success would be a lie."""
    from earlyphase.errors import InputError
    from earlyphase.records.database import database_url

    url = database_url(db)
    if url.startswith("sqlite"):
        path = url.split("://", 1)[1].lstrip("/").split("?", 1)[0]
        if path in ("", ":memory:") or "mode=memory" in url:
            raise InputError.single("db", db, "persistent-database",
                                    "an in-memory SQLite database disappears when init ends; give a file path "
                                    "(e.g. trial.db) or a PostgreSQL URL")


def init(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    study: str = typer.Option(..., "--study", help="A study YAML file or the name of a bundled study."),
    user: str = typer.Option(None, "--user", help="Who initialises (kept in the audit trail); default: login name."),
    key_file: str = typer.Option(None, "--key-file", metavar="PATH",
                                 help="The audit key file (created, mode 0600, when missing). Default: "
                                      "EARLYPHASE_AUDIT_KEY(_FILE), else beside a SQLite file or in "
                                      "~/.config/earlyphase/audit/."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Create a trial database: schema, the study protocol (with its SHA-256) and its sites, all audited."""
    from earlyphase.capture import initialise

    _refuse_memory_database(db)
    target = db
    if key_file is not None:
        from pathlib import Path

        from earlyphase.records import make_engine
        from earlyphase.records.audit_key import create_key_file, read_key_file, use_key

        path = Path(key_file).expanduser()
        key = read_key_file(path) if path.exists() else create_key_file(path)
        target = make_engine(db)
        use_key(target, key)
    trial = initialise(target, study, user or _default_user())
    try:
        result = {
            "db": db,
            "study_id": trial.study.study_id,
            "groups": trial.study.group_codes,
            "protocol_version": trial.protocol_version,
            "sites": [s.code for s in trial.study.sites],
            "user": trial.username,
        }
    finally:
        trial.close()
    emit(result, fmt, text=(
        f"initialised {db} with study {result['study_id']} "
        f"(groups {', '.join(result['groups'])}; sites {', '.join(result['sites'])}) as {result['user']}"
    ))


# -- import / export / twin / demo (interop and twin) ------------------------------------------------
def import_command(
    sources: list[str] = typer.Argument(..., help="CSV files named after their table or study form, directories "
                                                  "of them, or .xlsx workbooks (one sheet per table or form)."),
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    reason: str = typer.Option(None, "--reason", help="Why stored records change (needed when a re-imported row "
                                                      "changes a record; kept in the audit trail)."),
    user: str = typer.Option(None, "--user", help="Who imports (kept in the audit trail); default: login name."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding of the CSV files (default: UTF-8, with or "
                                                          "without a byte-order mark; e.g. cp1252, latin-1)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Import CSV/Excel through capture in ONE transaction: new rows entered, changed rows corrected (--reason),
    unchanged rows left alone; every check, audited with the file's SHA-256; one bad row, nothing written."""
    from earlyphase.interop import import_trial

    emit(import_trial(db, sources, username=user or _default_user(), reason=reason, encoding=encoding), fmt)


def status_command(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    as_of: str = typer.Option(None, "--as-of", help="The date to judge overdue forms on (YYYY-MM-DD; default today)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Overdue and due forms of the visit schedule, by site and subject (the expected-forms ledger)."""
    from datetime import date

    from earlyphase.derive import ledger_from_database
    from earlyphase.errors import InputError
    from earlyphase.records import make_engine

    when = None
    if as_of is not None:
        try:
            when = date.fromisoformat(as_of)
        except ValueError:
            raise InputError.single("as_of", as_of, "date", "--as-of must be a date written YYYY-MM-DD") from None
    engine = make_engine(db, must_exist=True)
    try:
        emit(ledger_from_database(engine, when), fmt)
    finally:
        engine.dispose()


def export_command(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    out: str = typer.Option(..., "--out", help="Directory for one CSV per table and manifest.json."),
    identified: bool = typer.Option(False, "--identified", help="Write every column (default: de-identified)."),
    key_file: str = typer.Option(None, "--pseudonym-key", metavar="FILE",
                                 help="File holding the pseudonym key (created, private, when missing): the same key "
                                      "gives the same pseudonyms in every export. Default: $EARLYPHASE_EXPORT_KEY, else "
                                      "a key used once. Not the audit key of 'init --key-file'."),
    free_text: str = typer.Option("scrub", "--free-text", metavar="scrub|drop",
                                  help="De-identified free text: scrubbed by the named scrubber, or dropped."),
    age_band: int = typer.Option(10, "--age-band", metavar="YEARS", help="De-identified: width of the age bands "
                                 "that replace the birth year (1 to 50; wider bands, fewer unique patients)."),
    user: str = typer.Option(None, "--user", help="Who exports (an identified export is audited); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Export one CSV per table, de-identified unless --identified (rule, removed columns and re-identification
    risk in manifest.json); files are private to you (0600)."""
    from earlyphase.interop import export_trial
    from earlyphase.records import make_engine

    engine = make_engine(db, must_exist=True)
    try:
        result = export_trial(engine, out, identified=identified, key_file=key_file, free_text=free_text,
                              age_band_width=age_band, username=user or _default_user())
        from earlyphase.cli.audit import anchor_after

        anchor_after(engine, "export")  # the head this export was read from, kept outside the database
    finally:
        engine.dispose()
    emit(result, fmt)


def twin_command(
    db: str = typer.Option(..., "--db", help="An empty trial database initialised with the seed study."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: the seed that matches the publication)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Load the seed trial's SYNTHETIC digital twin (18 patients) through capture, in one transaction."""
    from earlyphase.twin import DEFAULT_SEED, load_twin

    emit(load_twin(db, DEFAULT_SEED if seed is None else seed), fmt)


def synthetic_command(
    db: str = typer.Option(..., "--db", help="An empty trial database initialised with a bundled study (or one a "
                                             "profile is written for)."),
    profile: str = typer.Option(None, "--profile", help="A synthetic profile: a bundled name or a YAML file "
                                                        "(default: the bundled profile of the database's study)."),
    seed: int = typer.Option(None, "--seed", help="Seed (default: the profile's)."),
    user: str = typer.Option(None, "--user", help="Who loads (kept in the audit trail); default: synthetic-generator."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Load a labelled SYNTHETIC data set of the database's study through capture, in one transaction (the study is
    marked synthetic; the dose-finding design decides each cohort's level)."""
    import sys

    from earlyphase.synthetic import load_synthetic, read_profile
    from earlyphase.synthetic.load import SYNTHETIC_USERNAME

    chosen = read_profile(profile) if profile is not None else None
    if chosen is not None and seed is not None:
        chosen = chosen.model_copy(update={"seed": seed})
    elif seed is not None:
        from earlyphase.capture import stored_study
        from earlyphase.records import make_engine

        engine = make_engine(db)
        try:
            chosen = read_profile(stored_study(engine)[0].study_id).model_copy(update={"seed": seed})
        finally:
            engine.dispose()
    emit(load_synthetic(db, chosen, username=user or SYNTHETIC_USERNAME, progress=sys.stderr.isatty()), fmt)


def demo_command(
    out: str = typer.Option("earlyphase-demo", "--out", help="Directory for trial.db and the summary files."),
    seed: int = typer.Option(None, "--seed", help="Seed of the synthetic data (default: the bundled one; for the seed study, the one that matches the publication)."),
    pdf: Optional[bool] = typer.Option(
        None, "--pdf/--no-pdf", help="Print report.pdf with headless Chromium (default: when Chromium is installed)."
    ),
    study: str = typer.Option(None, "--study", help="A bundled study with synthetic data, e.g. oral-3plus3 or "
                                                     "cart-boin (default: the seed trial and its digital twin)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The main job: a fresh DIR/trial.db with a bundled study and its SYNTHETIC data, its summary and full report."""
    import sys

    from earlyphase.twin.demo import run_demo

    from earlyphase.twin.demo import DEMO_STUDY

    emit(run_demo(out, seed=seed, pdf=pdf, study=study or DEMO_STUDY, progress=sys.stderr.isatty()), fmt)


def register_data_commands(app: typer.Typer) -> None:
    """import, export, status, twin, synthetic, demo (called from ``register``)."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("status")(status_command)
    app.command("twin")(twin_command)
    app.command("synthetic")(synthetic_command)
    app.command("demo")(demo_command)
