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
