"""CLI commands: earlyphase external reconstruct | compare.

``reconstruct`` rebuilds patient-level data from a digitised Kaplan–Meier curve and its numbers-at-risk table
(Guyot 2012) and writes it as CSV (time, event, arm). ``compare`` sets the trial's curves beside rebuilt
external arms. Nothing is written unless the whole command succeeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit, emit_json

app = typer.Typer(help="Published evidence: rebuild patient data from a published Kaplan–Meier curve, and set the "
                       "trial beside it.", no_args_is_help=True)


def _check_out_file(out: Path, suffixes: tuple[str, ...]) -> None:
    from earlyphase.errors import InputError

    if out.is_dir():
        raise InputError.single("out", str(out), "file", "--out names a directory; give a file name such as ipd.csv")
    if not out.parent.exists():
        raise InputError.single("out", str(out), "folder_exists", f"the folder {out.parent} does not exist")
    if out.suffix.lower() not in suffixes:
        raise InputError.single("out", str(out), "suffix", f"--out must end in {' or '.join(suffixes)}")


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it over: a failure leaves nothing half-written."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


@app.command("reconstruct")
def reconstruct_command(
    curve: Path = typer.Option(..., "--curve", metavar="PATH",
                               help="Digitised points (time, survival): a WebPlotDigitizer CSV or any two-column CSV."),
    at_risk: Path = typer.Option(..., "--at-risk", metavar="PATH",
                                 help="Numbers-at-risk table: columns time and n_risk, or the two rows printed under the figure."),
    out: Path = typer.Option(..., "--out", metavar="PATH", help="Where to write the rebuilt patients (CSV: time, event, arm)."),
    events: Optional[int] = typer.Option(None, "--events", metavar="N", help="The published total number of events, if known."),
    arm: str = typer.Option("external", "--arm", metavar="LABEL", help="Arm label written in the arm column."),
    dataset: Optional[str] = typer.Option(None, "--dataset", metavar="NAME",
                                          help="The curve's name in a WebPlotDigitizer export holding several curves."),
    scale: str = typer.Option("auto", "--scale", metavar="auto|percent|proportion",
                              help="Survival scale of the curve file: auto (percent when a value exceeds 1.5), percent or proportion."),
    rise_tolerance: float = typer.Option(0.02, "--rise-tolerance", metavar="NUMBER",
                                         help="Largest rise between points treated as the digitiser's noise (proportion scale)."),
    figure: Optional[Path] = typer.Option(None, "--figure", metavar="PATH",
                                          help="Also draw the rebuilt curve over the digitised points (.png or .svg)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Rebuild patient-level data (time, event) from a published Kaplan–Meier curve (Guyot et al. 2012)."""
    from earlyphase.errors import InputError
    from earlyphase.external import reconstruct_ipd
    from earlyphase.external.readers import read_curve_csv, read_risk_table_csv

    if scale not in ("auto", "percent", "proportion"):
        raise typer.BadParameter("choose auto, percent or proportion", param_hint="--scale")
    if not (0 <= rise_tolerance < 1):
        raise InputError.single("rise_tolerance", rise_tolerance, "range", "--rise-tolerance must be from 0 to below 1")
    if not arm.strip():
        raise InputError.single("arm", arm, "not_empty", "--arm needs a label")
    _check_out_file(out, (".csv",))
    if figure is not None:
        _check_out_file(figure, (".png", ".svg"))
    result = reconstruct_ipd(read_curve_csv(curve, scale=scale, dataset=dataset), read_risk_table_csv(at_risk),
                             total_events=events, arm=arm, rise_tolerance=rise_tolerance)
    figure_bytes = None
    if figure is not None:
        from earlyphase.report.external import reconstruction_figure

        figure_bytes = reconstruction_figure(result, read_curve_csv(curve, scale=scale, dataset=dataset),
                                             figure.suffix.lower().lstrip("."))
    _write_atomically(out, result.to_frame().to_csv(index=False).encode("utf-8"))
    if figure_bytes is not None:
        _write_atomically(figure, figure_bytes)
    if fmt == OutputFormat.json:
        payload = result.to_dict(include_ipd=False)
        payload["out"] = str(out)
        if figure is not None:
            payload["figure"] = str(figure)
        emit_json(payload)
    else:
        emit(result, fmt, text=result.summary() + f"\nwrote {out}" + (f" and {figure}" if figure else ""))


@app.command("compare")
def compare_command(
    db: str = typer.Option(..., "--db", help="Trial database: a SQLite file path or a database URL."),
    endpoint: str = typer.Option(..., "--endpoint", metavar="OS|PFS", help="The endpoint to compare: OS or PFS."),
    ipd: list[Path] = typer.Option(..., "--ipd", metavar="PATH",
                                   help="An external arm's rebuilt patients (CSV: time, event[, arm]); repeat for several."),
    label: Optional[list[str]] = typer.Option(None, "--label", metavar="TEXT",
                                              help="A label for each --ipd, in the same order (default: its arm or file name)."),
    arm: Optional[str] = typer.Option(None, "--arm", metavar="NAME", help="The arm to use from --ipd files holding several."),
    ipd_unit: str = typer.Option("months", "--ipd-unit", metavar="months|weeks|days|years",
                                 help="Time unit of the --ipd files (the published figure's axis)."),
    horizon: Optional[float] = typer.Option(None, "--horizon", metavar="MONTHS",
                                            help="RMST horizon in months (default: the shortest follow-up among the arms)."),
    by_group: bool = typer.Option(False, "--by-group", help="One trial arm per dose group instead of all patients pooled."),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Write the figure (PNG, SVG), comparison.json and comparison.txt here."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The trial's Kaplan–Meier curves beside external arms rebuilt from published curves: medians, RMST, HR, log-rank."""
    from earlyphase.errors import InputError
    from earlyphase.external.compare import UNITS_PER_MONTH, compare_arms, read_ipd_csv, trial_arms

    endpoint = endpoint.strip().upper()
    if endpoint not in ("OS", "PFS"):
        raise typer.BadParameter("choose OS or PFS", param_hint="--endpoint")
    if ipd_unit not in UNITS_PER_MONTH:
        raise typer.BadParameter(f"choose one of {', '.join(UNITS_PER_MONTH)}", param_hint="--ipd-unit")
    labels = list(label or [])
    if labels and len(labels) != len(ipd):
        raise typer.BadParameter(f"give one --label per --ipd ({len(ipd)} files, {len(labels)} labels)",
                                 param_hint="--label")
    if out is not None and out.exists() and not out.is_dir():
        raise InputError.single("out", str(out), "directory", "--out names a file; give a directory")
    external = [read_ipd_csv(p, label=labels[i] if labels else None, arm=arm, unit=ipd_unit) for i, p in enumerate(ipd)]
    ds = _datasets(db)
    from earlyphase.report.words import endpoint_label, time_origin

    names = {"OS": "Overall survival", "PFS": "Progression-free survival"}
    name = endpoint_label(ds.study, endpoint, names[endpoint])
    result = compare_arms(trial_arms(ds.adtte, ds.study, endpoint, by_group=by_group), external, endpoint=name,
                          horizon=horizon, conf_level=ds.study.analysis.conf_level,
                          time_origin_note=f"trial: since {time_origin(ds.study)}")
    written = []
    if out is not None:
        import json

        from earlyphase.jsonable import to_jsonable
        from earlyphase.report.external import comparison_figure

        files = {f"external-{endpoint.lower()}.{k}": comparison_figure(result, name, k) for k in ("png", "svg")}
        files["comparison.json"] = json.dumps(to_jsonable(result.to_dict()), indent=2).encode("utf-8")
        files["comparison.txt"] = (result.summary() + "\n").encode("utf-8")
        out.mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            _write_atomically(out / fname, data)
            written.append(str(out / fname))
    if fmt == OutputFormat.json:
        payload = result.to_dict()
        payload["written"] = written
        emit_json(payload)
    else:
        emit(result, fmt, text=result.summary() + ("\n\nwrote " + ", ".join(written) if written else ""))


def _datasets(db: str):
    """The trial's analysis datasets; a database that is not there is an input error, not a new empty file."""
    from earlyphase.errors import InputError

    if "://" not in db and not Path(db).is_file():
        raise InputError.single("db", db, "file_exists", f"no trial database at {db}")
    from earlyphase.derive import derive_datasets

    return derive_datasets(db)
