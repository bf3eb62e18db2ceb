"""CLI commands: earlyphase design ... (boundaries, next-dose, select-mtd, simulate, table, optimise).

Parses options, calls earlyphase.design, prints. No logic of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, db_from_environment, emit, emit_json
from earlyphase.errors import InputError

app = typer.Typer(help="Dose finding: decisions, decision tables, MTD selection and simulation.", no_args_is_help=True)

DESIGN_HELP = "3+3, boin, crm, mtpi2 (= keyboard), i3+3, pocrm (with --partial-order or --orderings), boin-grid (with --grid RxC), or table (with --table FILE)."


def _floats(name: str, text: Optional[str]) -> Optional[list[float]]:
    if text is None:
        return None
    from earlyphase.limits import ascii_float

    values = [ascii_float(v) for v in text.replace(" ", "").split(",") if v != ""]
    if any(v is None for v in values):
        raise typer.BadParameter(f"--{name} takes finite numbers separated by commas, e.g. 0.05,0.1,0.2 (got {text!r})",
                                 param_hint=f"--{name}")
    return values


def _ints(name: str, text: str) -> list[int]:
    from earlyphase.limits import MAX_SAMPLE_SIZE

    vals = _floats(name, text) or []
    if any(v != int(v) or not 0 <= v <= MAX_SAMPLE_SIZE for v in vals):
        raise typer.BadParameter(f"--{name} takes whole numbers from 0 to {MAX_SAMPLE_SIZE} separated by commas, "
                                 f"e.g. 3,6,3 (got {text!r})", param_hint=f"--{name}")
    return [int(v) for v in vals]


def _pending(specs: Optional[list[str]], n_levels: int) -> Optional[list[list[float]]]:
    if not specs:
        return None
    out: list[list[float]] = [[] for _ in range(n_levels)]
    for spec in specs:
        try:
            lev, frac = spec.split(":")
            out[int(lev) - 1].append(float(frac))
        except (ValueError, IndexError):
            raise typer.BadParameter(f"--pending takes LEVEL:FRACTION (1-based level, follow-up fraction of the DLT window), "
                                     f"e.g. 2:0.5; levels 1..{n_levels} (got {spec!r})", param_hint="--pending") from None
    return out


def _build_design(design: str, target: Optional[float], *, skeleton=None, model=None, prior_mtd=None, halfwidth=None,
                  n_levels=None, prior_sd=None, safety_cutoff=None, allow_skip=False, allow_escalation_after_dlt=False,
                  n_earlystop=None, extrasafe=None, cutoff_eli=None, offset=None, no_deescalation=False, bound_mtd=None,
                  p_saf=None, p_tox=None, margin_low=None, margin_high=None, table=None, partial_order=None, orderings=None,
                  grid=None):
    from earlyphase.design import getprior, make_design

    key = design.strip().lower()
    _refuse_foreign_options(key, table=table, partial_order=partial_order, orderings=orderings, grid=grid)
    if key == "table":
        from earlyphase.design.table import read_decision_table

        if table is None:
            raise typer.BadParameter("--design table needs --table FILE (CSV with n, y, decision)", param_hint="--table")
        if target is None:
            raise typer.BadParameter("give --target (used to select the MTD)", param_hint="--target")
        opts = {k: v for k, v in dict(n_earlystop=n_earlystop, extrasafe=extrasafe, cutoff_eli=cutoff_eli, offset=offset).items() if v is not None}
        return read_decision_table(table, target, **opts)
    opts = dict(n_earlystop=n_earlystop, extrasafe=extrasafe, cutoff_eli=cutoff_eli, offset=offset)
    if key == "crm":
        sk = _floats("skeleton", skeleton)
        if sk is None:
            if prior_mtd is None or halfwidth is None or target is None:
                raise typer.BadParameter("CRM needs --skeleton p1,p2,... or --prior-mtd, --halfwidth and --levels to build one "
                                         "(Lee & Cheung)", param_hint="--skeleton")
            levels = n_levels
            if levels is None:
                raise typer.BadParameter("give --levels (number of dose levels) with --prior-mtd/--halfwidth", param_hint="--levels")
            sk = list(getprior(halfwidth, target, prior_mtd, levels, model=model or "empiric"))
        return make_design("crm", target, skeleton=sk, model=model, prior_sd=prior_sd,
                           safety_cutoff=(None if safety_cutoff is not None and safety_cutoff >= 1 else safety_cutoff),
                           no_skip=not allow_skip, no_escalation_after_dlt=not allow_escalation_after_dlt, n_earlystop=n_earlystop)
    if key in ("boin-grid", "boingrid"):
        rows, sep, cols = (grid or "").lower().partition("x")
        if not sep or not rows.strip().isdigit() or not cols.strip().isdigit():
            raise typer.BadParameter("give the grid as ROWSxCOLS (doses x schedules), e.g. 2x2", param_hint="--grid")
        return make_design("boin-grid", target, n_rows=int(rows), n_cols=int(cols), cutoff_eli=cutoff_eli,
                           n_earlystop=n_earlystop, p_saf=p_saf, p_tox=p_tox)
    if key == "pocrm":
        sk = _floats("skeleton", skeleton)
        if sk is None:
            raise typer.BadParameter("POCRM needs --skeleton p1,p2,... (prior DLT probability by rank)", param_hint="--skeleton")
        return make_design("pocrm", target, skeleton=sk, model=model, prior_sd=prior_sd,
                           safety_cutoff=(None if safety_cutoff is not None and safety_cutoff >= 1 else safety_cutoff),
                           no_skip=not allow_skip, no_escalation_after_dlt=not allow_escalation_after_dlt, n_earlystop=n_earlystop,
                           partial_order=_pairs(partial_order), orderings=_orderings(orderings))
    if key in ("3+3", "3plus3"):
        return make_design("3+3", None, deescalation=not no_deescalation)
    if key == "boin":
        opts.update(bound_mtd=bound_mtd, p_saf=p_saf, p_tox=p_tox)
    elif key in ("mtpi2", "mtpi-2", "keyboard", "i3+3", "i3plus3"):
        opts.update(margin_low=margin_low, margin_high=margin_high)
    return make_design(design, target, **opts)


# Options that only one design reads: given with another design they would be silently ignored, so a
# run would simulate something other than what was asked for. Refuse them, naming the design they need.
_FOREIGN = {
    "table": ("--table", ("table",)),
    "partial_order": ("--partial-order", ("pocrm",)),
    "orderings": ("--orderings", ("pocrm",)),
    "grid": ("--grid", ("boin-grid", "boingrid")),
}


def _refuse_foreign_options(key: str, **given) -> None:
    for name, value in given.items():
        flag, owners = _FOREIGN[name]
        if value is not None and key not in owners:
            raise typer.BadParameter(f"{flag} applies only with --design {owners[0]}, not --design {key}; "
                                     f"drop {flag} or use --design {owners[0]}", param_hint=flag)


def _pairs(text: Optional[str]):
    """'1<2,2<3,4<3' -> [(1, 2), (2, 3), (4, 3)]."""
    if text is None:
        return None
    out = []
    for part in text.split(","):
        a, sep, b = part.partition("<")
        if not sep or not a.strip().isdigit() or not b.strip().isdigit():
            raise typer.BadParameter(f"write each relation as a<b with regimen numbers, e.g. 1<2,2<3,4<3 (got {part!r})",
                                     param_hint="--partial-order")
        out.append((int(a), int(b)))
    return out


def _orderings(text: Optional[str]):
    """'1,2,4,3;1,4,2,3' -> [[1, 2, 4, 3], [1, 4, 2, 3]]."""
    if text is None:
        return None
    out = []
    for part in text.split(";"):
        items = [v.strip() for v in part.split(",")]
        if not all(v.isdigit() for v in items):
            raise typer.BadParameter(f"write each ordering as regimen numbers, e.g. 1,2,4,3;1,4,2,3 (got {part!r})",
                                     param_hint="--orderings")
        out.append([int(v) for v in items])
    return out


# Options shared by several commands (Typer needs them declared per command).
_target = typer.Option(None, "--target", help="Target DLT rate, e.g. 0.3.")
_design = typer.Option("boin", "--design", help=DESIGN_HELP)
_skeleton = typer.Option(None, "--skeleton", help="CRM: prior DLT probabilities per level, comma-separated.")
_model = typer.Option(None, "--model", help="CRM working model: empiric (default) or logistic.")
_prior_mtd = typer.Option(None, "--prior-mtd", help="CRM: 1-based level guessed to be the MTD (builds the skeleton with --halfwidth).")
_halfwidth = typer.Option(None, "--halfwidth", help="CRM: half-width of the indifference interval (Lee & Cheung), e.g. 0.05.")
_levels = typer.Option(None, "--levels", help="CRM: number of levels when building the skeleton.")
_prior_sd = typer.Option(None, "--prior-sd", help="CRM: prior sd of beta (default sqrt(1.34)).")
_safety = typer.Option(None, "--safety-cutoff", help="CRM: stop when P(DLT rate at level 1 > target) exceeds this (default 0.9; 1 = off).")
_allow_skip = typer.Option(False, "--allow-skip", help="CRM: allow escalating more than one level (never past the first untried level).")
_allow_after_dlt = typer.Option(False, "--allow-escalation-after-dlt", help="CRM: allow escalating right after a cohort with a DLT.")
_earlystop = typer.Option(None, "--n-earlystop", help="Stop when the current level has this many patients and the decision is to stay.")
_extrasafe = typer.Option(None, "--extrasafe/--no-extrasafe", help="Stricter stopping rule at level 1 (BOIN-type designs).")
_cutoff = typer.Option(None, "--cutoff-eli", help="Elimination cutoff on P(DLT rate > target) (default 0.95).")
_offset = typer.Option(None, "--offset", help="Extra-safe offset (default 0.05).")
_no_deesc = typer.Option(False, "--no-deescalation", help="3+3 without de-escalation: stop at the first level with 2+ DLTs.")
_bound = typer.Option(None, "--bound-mtd/--no-bound-mtd", help="BOIN: the selected MTD's estimate must be below lambda_d.")
_p_saf = typer.Option(None, "--p-saf", help="BOIN: highest DLT rate deemed too low (default 0.6 target).")
_p_tox = typer.Option(None, "--p-tox", help="BOIN: lowest DLT rate deemed too toxic (default 1.4 target).")
_m_low = typer.Option(None, "--margin-low", help="mTPI-2 / i3+3: lower margin of the target interval (default 0.05).")
_m_high = typer.Option(None, "--margin-high", help="mTPI-2 / i3+3: upper margin of the target interval (default 0.05).")
_table = typer.Option(None, "--table", help="User decision table (CSV: n, y, decision) for --design table.")


@app.command("boundaries")
def boundaries(
    design: str = _design,
    target: float = typer.Option(..., "--target", help="Target DLT rate, e.g. 0.3."),
    max_n: int = typer.Option(12, "--max-n", help="Largest number of patients per level to tabulate."),
    p_saf: Optional[float] = _p_saf,
    p_tox: Optional[float] = _p_tox,
    cutoff_eli: Optional[float] = _cutoff,
    margin_low: Optional[float] = _m_low,
    margin_high: Optional[float] = _m_high,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Escalation / de-escalation / elimination boundaries for n = 1..max-n."""
    from earlyphase.design.boin import boin_boundaries, boundary_rows

    if design.strip().lower() == "boin":
        kw = {k: v for k, v in dict(p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli).items() if v is not None}
        emit(boin_boundaries(target, max_n, **kw), fmt)
        return
    d = _build_design(design, target, cutoff_eli=cutoff_eli, margin_low=margin_low, margin_high=margin_high)
    if not hasattr(d, "decision_codes"):
        raise InputError.single("design", design, "interval design", "Boundaries exist for boin, mtpi2 and i3+3.")
    rows = boundary_rows(d, max_n)
    if fmt == OutputFormat.json:
        emit_json({"lambda_e": None, "lambda_d": None, "table": rows, "design": d.name, "target": target})
    else:
        from earlyphase.design.table import decision_table

        typer.echo(decision_table(d, max_n).summary())


# Options that shape the design: with --db they come from the study file unless --design overrides it.
_DESIGN_OPTIONS = ("target", "skeleton", "model", "prior_mtd", "halfwidth", "levels", "prior_sd", "safety_cutoff",
                   "allow_skip", "allow_escalation_after_dlt", "n_earlystop", "extrasafe", "cutoff_eli", "offset",
                   "no_deescalation", "p_saf", "p_tox", "margin_low", "margin_high", "table", "tite")
# study file parameter -> (option of _build_design, how its value reads there)
_FROM_STUDY = {
    "target": ("target", float), "skeleton": ("skeleton", lambda v: ",".join(repr(float(x)) for x in v)),
    "model": ("model", str), "prior_sd": ("prior_sd", float), "safety_cutoff": ("safety_cutoff", float),
    "no_skip": ("allow_skip", lambda v: not v), "no_escalation_after_dlt": ("allow_escalation_after_dlt", lambda v: not v),
    "n_earlystop": ("n_earlystop", int), "extrasafe": ("extrasafe", bool), "cutoff_eli": ("cutoff_eli", float),
    "offset": ("offset", float), "p_saf": ("p_saf", float), "p_tox": ("p_tox", float),
    "margin_low": ("margin_low", float), "margin_high": ("margin_high", float),
    "deescalation": ("no_deescalation", lambda v: not v),
}
_CANONICAL = {"3plus3": "3+3", "keyboard": "mtpi2", "mtpi-2": "mtpi2", "i3plus3": "i3+3"}


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and getattr(source, "name", "") == "COMMANDLINE"


@app.command("next-dose")
def next_dose_cmd(
    ctx: typer.Context,
    design: Optional[str] = typer.Option(None, "--design", help=DESIGN_HELP + " Default: boin for counts given on the "
                                         "command line; with --db the study file's design (naming another one is an "
                                         "override, marked in the output)."),
    target: Optional[float] = _target,
    current: Optional[int] = typer.Option(None, "--current", help="1-based level of the last cohort."),
    n: Optional[str] = typer.Option(None, "--n", help="Patients per level, comma-separated (level 1 first)."),
    dlt: Optional[str] = typer.Option(None, "--dlt", help="Patients with a DLT per level, comma-separated."),
    last_dlt: Optional[int] = typer.Option(None, "--last-dlt", help="DLTs in the last cohort (CRM: no escalation right after a DLT)."),
    pending: Optional[list[str]] = typer.Option(None, "--pending", help="A patient still in the DLT window: LEVEL:FRACTION of the window followed. Repeat."),
    tite: bool = typer.Option(False, "--tite", help="Weight pending patients by follow-up (BOIN, CRM) instead of waiting."),
    db: Optional[str] = typer.Option(None, "--db", help="Read the counts from the trial database at this URL (live trial)."),
    study: Optional[str] = typer.Option(None, "--study", help="With --db: the study identifier (when the database holds several)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="With --db: see the trial as of this date (YYYY-MM-DD; "
                                        "default today): enrolments, allocations, doses, adverse events and withdrawals "
                                        "dated up to it; DLT windows judged on it."),
    as_recorded: bool = typer.Option(False, "--as-recorded", help="With --db: also see only what had been entered by "
                                     "the end of the --as-of date (audit log, UTC), with the values recorded then."),
    skeleton: Optional[str] = _skeleton,
    model: Optional[str] = _model,
    prior_mtd: Optional[int] = _prior_mtd,
    halfwidth: Optional[float] = _halfwidth,
    levels: Optional[int] = _levels,
    prior_sd: Optional[float] = _prior_sd,
    safety_cutoff: Optional[float] = _safety,
    allow_skip: bool = _allow_skip,
    allow_escalation_after_dlt: bool = _allow_after_dlt,
    n_earlystop: Optional[int] = _earlystop,
    extrasafe: Optional[bool] = _extrasafe,
    cutoff_eli: Optional[float] = _cutoff,
    offset: Optional[float] = _offset,
    no_deescalation: bool = _no_deesc,
    p_saf: Optional[float] = _p_saf,
    p_tox: Optional[float] = _p_tox,
    margin_low: Optional[float] = _m_low,
    margin_high: Optional[float] = _m_high,
    table: Optional[Path] = _table,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Recommend the next dose level from per-level counts, or for a live trial (--db) by the study's own design."""
    options = dict(target=target, skeleton=skeleton, model=model, prior_mtd=prior_mtd, halfwidth=halfwidth, levels=levels,
                   prior_sd=prior_sd, safety_cutoff=safety_cutoff, allow_skip=allow_skip,
                   allow_escalation_after_dlt=allow_escalation_after_dlt, n_earlystop=n_earlystop, extrasafe=extrasafe,
                   cutoff_eli=cutoff_eli, offset=offset, no_deescalation=no_deescalation, p_saf=p_saf, p_tox=p_tox,
                   margin_low=margin_low, margin_high=margin_high, table=table)
    if db is not None and (n is not None or dlt is not None) and db_from_environment(ctx):
        db = None  # counts given on the command line win over EARLYPHASE_DB
    if db is not None:
        _next_dose_live(ctx, db, study, as_of, as_recorded, design, current, last_dlt, tite, options, fmt)
        return
    if n is None or dlt is None or current is None:
        raise typer.BadParameter("give --current, --n and --dlt (or --db URL for a live trial)", param_hint="--current/--n/--dlt")
    n_list, dlt_list, cur = _ints("n", n), _ints("dlt", dlt), current
    lvl_count = len(n_list)
    pend = _pending(pending, lvl_count)
    options["levels"] = levels or lvl_count
    d = _build_design(design or "boin", options.pop("target"), n_levels=options.pop("levels"), **options)
    result = d.decide(n_list, dlt_list, cur, last_cohort_dlt=last_dlt, pending=pend, tite=tite)
    emit(result, fmt)


def _next_dose_live(ctx, db, study, as_of, as_recorded, design, current, last_dlt, tite, options, fmt) -> None:
    """next-dose --db: the study file's design decides; --design NAME overrides it (marked as such)."""
    from datetime import date

    from earlyphase.design.live import counts_from_database
    from earlyphase.design.live_recommendation import recommend, study_design

    try:
        when = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise typer.BadParameter(f"--as-of takes a calendar date like 2015-03-01 (got {as_of!r})", param_hint="--as-of") from None
    given = [name for name in _DESIGN_OPTIONS if _given(ctx, name)]
    if design is None and given:
        flag = "--" + given[0].replace("_", "-")
        raise typer.BadParameter(f"with --db the study file's design and its parameters decide; {flag} would change "
                                 "them. To see what another design or parameter would recommend, name the design "
                                 "with --design as well (the output marks it as an override).", param_hint=flag)
    counts = counts_from_database(db, study=study, as_of=when, as_recorded=as_recorded)
    if current is not None or last_dlt is not None:
        import dataclasses

        counts = dataclasses.replace(counts, current_level=current if current is not None else counts.current_level,
                                     last_cohort_dlt=last_dlt if last_dlt is not None else counts.last_cohort_dlt)
    protocol = counts.protocol
    if design is None:
        chosen, choice = study_design(protocol)
    else:
        from earlyphase.protocol.model import DESIGN_PARAMETERS

        key = design.strip().lower()
        key = _CANONICAL.get(key, key)
        takes = set(DESIGN_PARAMETERS.get(key, ())) | ({"target"} if key != "3+3" else set())
        study_values = {"target": float(protocol.dose_finding.target_dlt_rate), **protocol.dose_finding.parameters.given()}
        merged = dict(options)
        for name, value in study_values.items():
            option, convert = _FROM_STUDY[name]
            if name in takes and not _given(ctx, option):
                merged[option] = convert(value)
        merged["levels"] = merged.get("levels") or len(counts.n)
        override = _build_design(design, merged.pop("target"), n_levels=merged.pop("levels"), **merged)
        chosen, choice = study_design(protocol, override=override, override_tite=tite if _given(ctx, "tite") else None)
    rec = recommend(counts, chosen, choice)
    if fmt == OutputFormat.json:
        emit_json(rec.to_dict())
        return
    typer.echo(rec.summary())


@app.command("select-mtd")
def select_mtd_cmd(
    target: float = typer.Option(..., "--target", help="Target DLT rate, e.g. 0.3."),
    n: str = typer.Option(..., "--n", help="Patients per level, comma-separated."),
    dlt: str = typer.Option(..., "--dlt", help="Patients with a DLT per level, comma-separated."),
    cutoff_eli: float = typer.Option(0.95, "--cutoff-eli", help="Elimination cutoff (default 0.95)."),
    extrasafe: bool = typer.Option(False, "--extrasafe/--no-extrasafe", help="Stricter rule at level 1."),
    offset: float = typer.Option(0.05, "--offset", help="Extra-safe offset."),
    bound_mtd: bool = typer.Option(False, "--bound-mtd/--no-bound-mtd", help="Selected MTD's estimate must be below lambda_d."),
    p_tox: Optional[float] = _p_tox,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Select the MTD at the end of a trial (isotonic regression, BOIN's rule)."""
    from earlyphase.design import select_mtd

    emit(select_mtd(target, _ints("n", n), _ints("dlt", dlt), cutoff_eli=cutoff_eli, extrasafe=extrasafe, offset=offset,
                    bound_mtd=bound_mtd, p_tox=p_tox), fmt)


@app.command("simulate")
def simulate_cmd(
    design: str = _design,
    target: Optional[float] = _target,
    truth: list[str] = typer.Option(..., "--truth", help="True DLT probabilities per level, comma-separated. Repeat for several scenarios."),
    cohort_size: int = typer.Option(3, "--cohort-size", help="Patients per cohort."),
    n_cohorts: int = typer.Option(10, "--n-cohorts", help="Maximum number of cohorts per trial."),
    trials: int = typer.Option(10000, "--trials", help="Number of simulated trials per scenario."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (printed in the result when not given)."),
    start_level: int = typer.Option(1, "--start-level", help="1-based starting level."),
    backfill: int = typer.Option(0, "--backfill", help="Backfill patients per cohort at a cleared level below the current one (with --interval: at most this many per trial, enrolled while the trial waits)."),
    backfill_cap: Optional[int] = typer.Option(None, "--backfill-cap", help="With --backfill: no more backfill at a level once it has this many patients."),
    chunk_size: int = typer.Option(5000, "--chunk-size", help="Trials per chunk (part of the seed's meaning: keep it fixed to reproduce)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://host:port."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Run on a local Dask cluster with this many worker processes."),
    skeleton: Optional[str] = _skeleton,
    model: Optional[str] = _model,
    prior_mtd: Optional[int] = _prior_mtd,
    halfwidth: Optional[float] = _halfwidth,
    prior_sd: Optional[float] = _prior_sd,
    safety_cutoff: Optional[float] = _safety,
    allow_skip: bool = _allow_skip,
    allow_escalation_after_dlt: bool = _allow_after_dlt,
    n_earlystop: Optional[int] = _earlystop,
    extrasafe: Optional[bool] = _extrasafe,
    cutoff_eli: Optional[float] = _cutoff,
    offset: Optional[float] = _offset,
    no_deescalation: bool = _no_deesc,
    bound_mtd: Optional[bool] = _bound,
    p_saf: Optional[float] = _p_saf,
    p_tox: Optional[float] = _p_tox,
    margin_low: Optional[float] = _m_low,
    margin_high: Optional[float] = _m_high,
    table: Optional[Path] = _table,
    partial_order: Optional[str] = typer.Option(None, "--partial-order", help="POCRM: toxicity relations between regimens, e.g. 1<2,2<3,4<3 (every ordering keeping them is used)."),
    orderings: Optional[str] = typer.Option(None, "--orderings", help="POCRM: the orderings to consider, e.g. 1,2,4,3;1,4,2,3 (instead of --partial-order)."),
    grid: Optional[str] = typer.Option(None, "--grid", help="boin-grid: ROWSxCOLS (doses x schedules); --truth lists the cells row by row."),
    interval: Optional[float] = typer.Option(None, "--interval", help="Days between arrivals: simulate staggered accrual with DLT windows (time to event)."),
    arrival: str = typer.Option("fixed", "--arrival", help="With --interval: 'fixed' (every interval days) or 'poisson' (exponential gaps of that mean)."),
    window: float = typer.Option(28.0, "--window", help="With --interval: DLT window in days."),
    dlt_onset: str = typer.Option("1,1", "--dlt-onset", help="With --interval: DLT onset within the window ~ window x Beta(a,b); give a,b (1,1 uniform; 4,1 late)."),
    tite: Optional[bool] = typer.Option(None, "--tite/--no-tite", help="With --interval: weight pending patients by follow-up (TITE-CRM, TITE-BOIN; default for CRM and BOIN)."),
    pending_rule: str = typer.Option("wait", "--pending-rule", help="With --interval, designs without TITE: 'wait' while pending outcomes could change the decision, or 'suspend' until every window is complete."),
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Simulate operating characteristics for one or more true scenarios (with --interval: staggered accrual,
    pending patients and trial duration)."""
    from earlyphase.design.simulate import simulate

    from earlyphase.limits import MAX_SAMPLE_SIZE

    if cohort_size * n_cohorts + backfill * n_cohorts > MAX_SAMPLE_SIZE:
        raise typer.BadParameter(f"a simulated trial may enrol at most {MAX_SAMPLE_SIZE} patients; --cohort-size "
                                 f"{cohort_size} (+ --backfill {backfill}) x --n-cohorts {n_cohorts} is more",
                                 param_hint="--n-cohorts")
    scenarios = [_floats("truth", t) for t in truth]
    d = _build_design(design, target, skeleton=skeleton, model=model, prior_mtd=prior_mtd, halfwidth=halfwidth,
                      n_levels=len(scenarios[0]), prior_sd=prior_sd, safety_cutoff=safety_cutoff, allow_skip=allow_skip,
                      allow_escalation_after_dlt=allow_escalation_after_dlt, n_earlystop=n_earlystop, extrasafe=extrasafe,
                      cutoff_eli=cutoff_eli, offset=offset, no_deescalation=no_deescalation, bound_mtd=bound_mtd,
                      p_saf=p_saf, p_tox=p_tox, margin_low=margin_low, margin_high=margin_high, table=table,
                      partial_order=partial_order, orderings=orderings, grid=grid)
    show = sys.stderr.isatty() if progress is None else progress
    truth_arg = scenarios if len(scenarios) > 1 else scenarios[0]
    try:
        if interval is not None:
            from earlyphase.design.time_to_event import simulate_time_to_event

            onset = _floats("dlt-onset", dlt_onset)
            res = simulate_time_to_event(d, truth_arg, window=window, arrival=arrival, interval=interval,
                                         dlt_time=tuple(onset), tite=tite, pending_rule=pending_rule,
                                         cohort_size=cohort_size, n_cohorts=n_cohorts, backfill_max=backfill,
                                         backfill_cap=backfill_cap, trials=trials, seed=seed, start_level=start_level,
                                         chunk_size=chunk_size, progress=show, scheduler=scheduler, workers=workers)
        else:
            res = simulate(d, truth_arg, cohort_size=cohort_size, n_cohorts=n_cohorts,
                           trials=trials, seed=seed, start_level=start_level, backfill_size=backfill,
                           backfill_cap=backfill_cap, chunk_size=chunk_size,
                           progress=show, scheduler=scheduler, workers=workers)
    except OSError as exc:
        if scheduler is None:
            raise
        from earlyphase.errors import InputError

        raise InputError.single("scheduler", scheduler, "reachable",
                                f"no Dask scheduler answers at this address ({' '.join(str(exc).split())}); start one "
                                "(dask scheduler) or check --scheduler tcp://host:port") from None
    if isinstance(res, list):
        if fmt == OutputFormat.json:
            emit_json({"design": d.name, "trials": trials, "scenarios": [r.to_dict() for r in res]})
        else:
            typer.echo("\n\n".join(r.summary() for r in res))
        return
    emit(res, fmt)


@app.command("table")
def table_cmd(
    design: str = _design,
    target: Optional[float] = _target,
    max_n: int = typer.Option(12, "--max-n", help="Largest number of patients per level."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write the table as CSV (n, y, decision) to this file."),
    png_path: Optional[Path] = typer.Option(None, "--png", help="Draw the table as a figure (PNG) to this file."),
    cutoff_eli: Optional[float] = _cutoff,
    margin_low: Optional[float] = _m_low,
    margin_high: Optional[float] = _m_high,
    p_saf: Optional[float] = _p_saf,
    p_tox: Optional[float] = _p_tox,
    no_deescalation: bool = _no_deesc,
    table: Optional[Path] = _table,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """The full decision table (E / S / D / DU) for n = 1..max-n, as text, JSON, CSV or PNG."""
    from earlyphase.design.table import decision_table

    d = _build_design(design, target, cutoff_eli=cutoff_eli, margin_low=margin_low, margin_high=margin_high,
                      p_saf=p_saf, p_tox=p_tox, no_deescalation=no_deescalation, table=table)
    t = decision_table(d, max_n)
    if csv_path is not None:
        csv_path.write_text(t.to_csv())
    if png_path is not None:
        t.plot(png_path)
    emit(t, fmt)


@app.command("optimise")
def optimise_cmd(
    tox: str = typer.Option(..., "--tox", help="True DLT probabilities per level, comma-separated."),
    eff: str = typer.Option(..., "--eff", help="True response probabilities per level, comma-separated."),
    target: float = typer.Option(0.35, "--target", help="Highest acceptable DLT rate (phi_T)."),
    efficacy_min: float = typer.Option(0.25, "--efficacy-min", help="Lowest acceptable response rate (phi_E)."),
    u2: float = typer.Option(40.0, "--u2", help="Utility of neither response nor DLT (0-100)."),
    u3: float = typer.Option(60.0, "--u3", help="Utility of response with DLT (0-100)."),
    cohort_size: int = typer.Option(3, "--cohort-size", help="Patients per cohort in the escalation stage."),
    n_cohorts: int = typer.Option(12, "--n-cohorts", help="Cohorts in the escalation stage."),
    stage2_n: int = typer.Option(0, "--stage2-n", help="Patients per level in the randomised stage (0: no stage)."),
    stage2_levels: int = typer.Option(2, "--stage2-levels", help="Levels randomised: the OBD and the admissible ones below it."),
    margin: float = typer.Option(5.0, "--margin", help="Choose the lowest level within this many utility points of the best."),
    trials: int = typer.Option(5000, "--trials", help="Number of simulated trials."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (printed in the result when not given)."),
    start_level: int = typer.Option(1, "--start-level", help="1-based starting level."),
    chunk_size: int = typer.Option(5000, "--chunk-size", help="Trials per chunk (part of the seed's meaning)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://host:port."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Run on a local Dask cluster with this many worker processes."),
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Dose optimisation: simulate BOIN12 (toxicity and response, utility-based OBD) and an optional randomised stage."""
    from earlyphase.design.boin12 import Boin12Design
    from earlyphase.design.optimise import simulate_dose_optimisation

    d = Boin12Design(target=target, efficacy_min=efficacy_min, u2=u2, u3=u3)
    show = sys.stderr.isatty() if progress is None else progress
    res = simulate_dose_optimisation(d, _floats("tox", tox), _floats("eff", eff), cohort_size=cohort_size, n_cohorts=n_cohorts,
                                     trials=trials, seed=seed, start_level=start_level, stage2_levels=stage2_levels,
                                     stage2_n=stage2_n, margin=margin, chunk_size=chunk_size, progress=show,
                                     scheduler=scheduler, workers=workers)
    emit(res, fmt)


def _recommendation_for(db: str, on) -> dict | str:
    """What the study's design recommended on ``on``, to keep beside a decision (text when it has none)."""
    from earlyphase.design.live import counts_from_database
    from earlyphase.design.live_recommendation import recommend, study_design
    from earlyphase.errors import InputError as _InputError

    counts = counts_from_database(db, as_of=on)
    try:
        chosen, choice = study_design(counts.protocol)
    except _InputError as exc:
        return f"none: {exc.problems[0].message}" if getattr(exc, "problems", None) else "none"
    rec = recommend(counts, chosen, choice)
    out = rec.decision.to_dict()
    out["design_choice"] = choice.to_dict()
    out["counts"] = {k: v for k, v in counts.to_dict().items() if k in ("as_of", "n", "dlt", "pending", "current_level")}
    nxt = rec.decision.next_level
    out["summary_line"] = (f"{choice.design} (study file), as of {on}: {rec.decision.decision}"
                           + (f" to level {nxt}" if nxt is not None and rec.decision.decision != "stay" else "")
                           + (f" at level {nxt}" if nxt is not None and rec.decision.decision == "stay" else "")
                           + f"; {rec.decision.reason}")
    return out


CODE_OPTION = typer.Option(None, "--code", help="The investigator's current second-factor (TOTP) code (asked for when not given).")


def _reauthenticate(trial, code: str | None):
    """Password and TOTP code re-entered before a seal (capture checks the audited proof). The password is
    never an argument: asked for (hidden), or the first line of a piped standard input (then the code, if
    not given with --code)."""
    import getpass

    from earlyphase.access import reauthenticate

    piped = not sys.stdin.isatty()
    password = sys.stdin.readline().rstrip("\r\n") if piped else getpass.getpass("Password: ")
    if code is None:
        code = sys.stdin.readline().strip() if piped else typer.prompt("Second-factor code")
    return reauthenticate(trial.engine, trial.username, password, code)


@app.command("decide")
def decide_cmd(
    db: Optional[str] = typer.Option(None, "--db", envvar="EARLYPHASE_DB", help="The trial database URL."),
    when: str = typer.Option(..., "--date", help="Date of the decision (YYYY-MM-DD)."),
    decision: str = typer.Option(..., "--decision", help="escalate, stay, de-escalate, expand or stop."),
    level: Optional[str] = typer.Option(None, "--level", help="Group code of the level it concerns (none for stop)."),
    rationale: str = typer.Option(..., "--rationale", help="Why: the data and the reasoning."),
    decided_by: str = typer.Option(..., "--decided-by", help="Who decided: a person or the committee and its members."),
    investigator: Optional[str] = typer.Option(None, "--investigator", help="User who seals it (default: --user)."),
    user: Optional[str] = typer.Option(None, "--user", help="Who records it (kept in the audit trail); default: login name."),
    seal: bool = typer.Option(False, "--seal", help="Seal it at once (only when --user is the investigator)."),
    code: Optional[str] = CODE_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Record a dose-escalation decision beside the design's recommendation of that date (then seal it)."""
    from datetime import date

    from earlyphase.capture import Trial, dose_decisions, open_levels
    from earlyphase.cli.trial import _default_user
    from earlyphase.records import read_session

    if db is None:
        raise typer.BadParameter("give the trial database with --db URL (or set EARLYPHASE_DB)", param_hint="--db")
    try:
        on = date.fromisoformat(when)
    except ValueError:
        raise typer.BadParameter(f"--date takes a calendar date like 2015-03-01 (got {when!r})", param_hint="--date") from None
    recommendation = _recommendation_for(db, on)
    trial = Trial.open(db, user or _default_user())
    try:
        record = trial.record_dose_decision(on, decision, level, rationale, decided_by, investigator=investigator,
                                            recommendation=recommendation)
        if seal:
            trial.sign_dose_decision(record.id, _reauthenticate(trial, code))
        with read_session(trial.engine) as s:
            view = next(v for v in dose_decisions(s, trial.study) if v.id == record.id)
            state = open_levels(s, trial.study)
    finally:
        trial.close()
    if fmt == OutputFormat.json:
        emit_json({"decision": view.to_dict(), "open_levels": state.highest, "open_by": state.by.id if state.by else None})
        return
    typer.echo(_decision_text(view))
    if view.seal == "unsealed":
        typer.echo(f"Not sealed yet: {view.investigator} seals it with "
                   f"`earlyphase design seal {view.id} --db ... --user {view.investigator}`; until then it opens nothing.")
    typer.echo("Now: " + state.describe(trial.study.group_codes))


@app.command("seal")
def seal_cmd(
    decision_id: int = typer.Argument(..., help="The decision's number (see `design decisions`)."),
    db: Optional[str] = typer.Option(None, "--db", envvar="EARLYPHASE_DB", help="The trial database URL."),
    user: Optional[str] = typer.Option(None, "--user", help="The investigator the decision names; default: login name."),
    code: Optional[str] = CODE_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
):
    """Seal a recorded dose-escalation decision as its investigator (binds a hash of its content)."""
    from earlyphase.capture import Trial, dose_decisions
    from earlyphase.cli.trial import _default_user
    from earlyphase.records import read_session

    if db is None:
        raise typer.BadParameter("give the trial database with --db URL (or set EARLYPHASE_DB)", param_hint="--db")
    trial = Trial.open(db, user or _default_user())
    try:
        trial.sign_dose_decision(decision_id, _reauthenticate(trial, code))
        with read_session(trial.engine) as s:
            view = next(v for v in dose_decisions(s, trial.study) if v.id == decision_id)
    finally:
        trial.close()
    if fmt == OutputFormat.json:
        emit_json(view.to_dict())
    else:
        typer.echo(_decision_text(view))


@app.command("decisions")
def decisions_cmd(
    db: Optional[str] = typer.Option(None, "--db", envvar="EARLYPHASE_DB", help="The trial database URL."),
    fmt: OutputFormat = FORMAT_OPTION,
):
    """List the dose-escalation decisions, their seals, and the levels open now."""
    from earlyphase.capture import dose_decisions, fold_decisions
    from earlyphase.capture.setup import _engine, stored_study
    from earlyphase.records import read_session

    if db is None:
        raise typer.BadParameter("give the trial database with --db URL (or set EARLYPHASE_DB)", param_hint="--db")
    engine = _engine(db, must_exist=True)
    try:
        study, _ = stored_study(engine)
        with read_session(engine) as s:
            views = dose_decisions(s, study)
    finally:
        engine.dispose()
    state = fold_decisions(views, study.group_codes)
    if fmt == OutputFormat.json:
        emit_json({"study_id": study.study_id, "decisions": [v.to_dict() for v in views], "open_levels": state.highest,
                   "open_by": state.by.id if state.by else None, "now": state.describe(study.group_codes)})
        return
    if not views:
        typer.echo(f"Study {study.study_id}: no dose-escalation decision recorded.")
    for v in views:
        typer.echo(_decision_text(v))
        typer.echo("")
    typer.echo("Now: " + state.describe(study.group_codes))


def _decision_text(v) -> str:
    change = (f"opens {v.level_opened}" if v.level_opened else
              f"closes {v.level_closed} and above" if v.level_closed else "opens or closes nothing")
    seal = {"sealed": f"sealed by {v.signed_by} at {v.signed_at}", "unsealed": f"NOT SEALED (awaits {v.investigator})",
            "broken": "SEAL BROKEN: the content changed after sealing"}[v.seal]
    return "\n".join([
        f"Decision {v.id} of {v.decision_date}: {v.decision}" + (f" (group {v.group})" if v.group else "") + f"; {change}",
        f"  Decided by: {v.decided_by}; {seal}",
        f"  Rationale: {v.rationale}",
        f"  Beside the design's recommendation: {v.recommendation_text or 'none recorded'}",
    ])
