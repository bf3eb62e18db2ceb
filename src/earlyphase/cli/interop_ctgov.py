"""CLI commands: earlyphase interop ctgov results | draft | check (ClinicalTrials.gov, API v2 JSON)."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="ClinicalTrials.gov records (API v2 JSON): results from the database, drafts from a record.",
                  no_args_is_help=True)
SPEC_HELP = ("The registry's OpenAPI spec (ctg-oas-v2.yaml): when given, the output is validated against it "
             "(strict: no key the spec does not list) and nothing is written if it fails.")


@app.command("results")
def results(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    out: str = typer.Option(..., "--out", help="The JSON file to write (replaced if it exists)."),
    spec: str = typer.Option(None, "--spec", metavar="FILE", help=SPEC_HELP),
    record: bool = typer.Option(False, "--record", help="Write a whole record (protocolSection from the study file "
                                                        "and resultsSection), not only the resultsSection."),
    threshold: float = typer.Option(0.0, "--frequency-threshold", metavar="PERCENT",
                                    help="Other (non-serious) adverse events listed from this % in any group (0-5)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The study's results section as ClinicalTrials.gov writes it: participant flow, baseline, outcome measures
    (DLT per level, PFS and OS medians with CIs and the log-rank P), adverse events by organ system and term.
    Counts and summaries only: no patient-level data leave the database."""
    import json

    from earlyphase.interop.ctgov import read_spec, results_from_database, validate
    from earlyphase.interop.files import write_output
    from earlyphase.records import make_engine

    spec_doc = read_spec(spec) if spec else None  # a bad spec is refused before the database is read
    engine = make_engine(db, must_exist=True)
    try:
        document = results_from_database(engine, frequency_threshold=threshold)
    finally:
        engine.dispose()
    data = document.to_record() if record else document.to_dict()
    if spec_doc is not None:
        validate(data, spec_doc, "Study" if record else "ResultsSection", strict=True, source=out)
    write_output(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    summary = {"out": out, "validated": bool(spec_doc), **{k: v for k, v in document.__dict__.items()
                                                            if k in ("study_id", "registry_id", "cutoff")}}
    emit(summary, fmt, text=document.summary() + f"\nWritten: {out}" + (" (validated against the spec)" if spec_doc
                                                                         else ""))


@app.command("draft")
def draft(
    record: str = typer.Option(..., "--record", metavar="FILE", help="A registry record, API v2 JSON (NCT....json)."),
    out: str = typer.Option(..., "--out", help="The study-file draft to write (YAML; replaced if it exists)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """A study-file draft from a record's protocol section (arms as levels, interventions, outcomes as endpoints,
    eligibility, conditions); the Phase I parts the registry does not hold are marked TO COMPLETE."""
    from pathlib import Path

    from earlyphase.interop.ctgov import draft_study, draft_yaml, marked_paths, read_record
    from earlyphase.interop.files import write_output

    data = read_record(record)
    drafted = draft_study(data, source=Path(record).name)
    write_output(out, draft_yaml(drafted))
    marks = marked_paths(drafted)
    result = {"record": record, "out": out, "study_id": drafted["study_id"], "groups": len(drafted["groups"]),
              "criteria": sum(len(v) for v in drafted["eligibility"].values()), "endpoints": len(drafted["endpoints"]),
              "to_complete": marks}
    emit(result, fmt, text=f"{record} -> {out}: {result['groups']} levels, {result['criteria']} criteria, "
                           f"{result['endpoints']} endpoints; {len(marks)} value(s) TO COMPLETE:\n  "
                           + "\n  ".join(marks))


@app.command("check")
def check(
    record: str = typer.Argument(..., metavar="FILE", help="A registry record or results section (JSON)."),
    spec: str = typer.Option(..., "--spec", metavar="FILE", help="The registry's OpenAPI spec (ctg-oas-v2.yaml)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse keys the spec does not list."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Validate a record (or a bare resultsSection) against the registry's OpenAPI spec; exit 1 naming each
    place it breaks."""
    from earlyphase.interop.ctgov import read_record, read_spec, validate

    spec_doc = read_spec(spec)
    data = read_record(record)
    component = "Study" if ("protocolSection" in data or "resultsSection" in data) else "ResultsSection"
    if component == "ResultsSection":
        from earlyphase.interop.ctgov import read_results

        read_results(data, source=record)
    validate(data, spec_doc, component, strict=strict, source=record)
    emit({"record": record, "component": component, "strict": strict, "valid": True}, fmt,
         text=f"{record}: valid {component}{' (strict)' if strict else ''}")
