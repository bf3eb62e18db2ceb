"""CLI commands: earlyphase survival ... (km, logrank, rmst; cox lives beside them).

DATA is a CSV file or Parquet (a file or a directory of files). Group values are read as strings;
their sorted order defines the reference level and the default trend scores. Times are in the
file's own unit. ``km`` and ``logrank`` reduce Parquet data to risk-set counts out of core with
DuckDB (same results as in memory) unless a per-subject option (--entry, permutations) needs rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit
from earlyphase.errors import InputError

app = typer.Typer(help="Survival analysis on a CSV or Parquet file: Kaplan–Meier, log-rank family, RMST, Cox.", no_args_is_help=True)


def _float_list(name: str, text: Optional[str]) -> Optional[list[float]]:
    if text is None or text.strip() == "":
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise InputError.single(name, text, "comma-separated numbers", f"--{name} takes numbers separated by commas, e.g. 6,12.") from None


def _risk_set(data: Path, time: str, event: str, group: Optional[str], strata: Optional[str], entry: Optional[str] = None):
    """Risk set from DATA: out of core for Parquet (without entry), in memory otherwise."""
    from earlyphase.cli.survival_data import is_parquet, load_columns, reduce_to_counts
    from earlyphase.stats import RiskSet, build_risk_set

    if is_parquet(data) and entry is None:
        c = reduce_to_counts(data, time, event, group=group, strata=strata)
        return RiskSet.from_counts(c["time"], c["n_event"], c["n_censor"], group=c.get("group"), strata=c.get("strata"))
    numeric = {"time": time, "event": event}
    if entry:
        numeric["entry"] = entry
    cols = load_columns(data, numeric, {"group": group, "strata": strata})
    return build_risk_set(cols["time"], cols["event"], group=cols.get("group"), strata=cols.get("strata"), entry=cols.get("entry"),
                          name_time=time, name_event=event)


@app.command("km")
def km_command(
    data: Path = typer.Argument(..., help="CSV or Parquet file (or directory of Parquet files)."),
    time: str = typer.Option(..., "--time", help="Column of follow-up times (file's unit)."),
    event: str = typer.Option(..., "--event", help="Column of event flags: 1 event, 0 censored."),
    group: Optional[str] = typer.Option(None, "--group", help="Column of group labels (one curve each)."),
    entry: Optional[str] = typer.Option(None, "--entry", help="Column of delayed-entry times (left truncation)."),
    conf_type: str = typer.Option("log-log", "--conf-type", help="log-log (default), log (R's default) or plain."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level, e.g. 0.95."),
    times: Optional[str] = typer.Option(None, "--times", help="Landmark times, comma-separated, e.g. 6,12."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Kaplan–Meier curves, medians with CI, and survival at landmark times."""
    from earlyphase.stats import kaplan_meier_from_risk_set

    rs = _risk_set(data, time, event, group, None, entry)
    result = kaplan_meier_from_risk_set(rs, conf_type=conf_type, conf_level=conf_level, times=_float_list("times", times))
    emit(result, fmt)


@app.command("logrank")
def logrank_command(
    data: Path = typer.Argument(..., help="CSV or Parquet file (or directory of Parquet files)."),
    time: str = typer.Option(..., "--time", help="Column of follow-up times."),
    event: str = typer.Option(..., "--event", help="Column of event flags: 1 event, 0 censored."),
    group: str = typer.Option(..., "--group", help="Column of group labels (sorted order = score order)."),
    strata: Optional[str] = typer.Option(None, "--strata", help="Column of stratum labels."),
    weights: str = typer.Option("logrank", "--weights", help="logrank, gehan, tarone-ware, peto or fh."),
    rho: Optional[float] = typer.Option(None, "--rho", help="Fleming-Harrington rho (with --weights fh)."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Fleming-Harrington gamma (with --weights fh)."),
    trend: bool = typer.Option(False, "--trend", help="Test for trend over the ordered groups."),
    scores: Optional[str] = typer.Option(None, "--scores", help="Trend scores per group in sorted order, e.g. 1,2,3,4."),
    permutations: Optional[int] = typer.Option(None, "--permutations", help="Monte-Carlo permutations for a permutation p-value."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the permutation generator."),
    exact: bool = typer.Option(False, "--exact", help="Enumerate every allocation of the group labels."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Log-rank family test (weights, strata, trend), with an optional permutation p-value."""
    from earlyphase.stats import logrank_from_risk_set, permutation_logrank

    score_list = _float_list("scores", scores)
    if score_list is not None and not trend:
        raise InputError.single("scores", scores, "only with --trend", "--scores is used only with --trend.")
    if exact and permutations is not None:
        raise InputError.single("exact", True, "either --exact or --permutations", "choose --exact or --permutations N, not both.")
    if exact or permutations is not None:
        from earlyphase.cli.survival_data import load_columns

        cols = load_columns(data, {"time": time, "event": event}, {"group": group, "strata": strata})
        result = permutation_logrank(
            cols["time"], cols["event"], cols["group"], strata=cols.get("strata"), weights=weights, rho=rho, gamma=gamma,
            trend=trend, scores=score_list, permutations=permutations or 10_000, seed=seed, exact=True if exact else False,
        )
    else:
        rs = _risk_set(data, time, event, group, strata)
        result = logrank_from_risk_set(rs, weights=weights, rho=rho, gamma=gamma, trend=trend, scores=score_list)
    emit(result, fmt)


@app.command("rmst")
def rmst_command(
    data: Path = typer.Argument(..., help="CSV or Parquet file (or directory of Parquet files)."),
    time: str = typer.Option(..., "--time", help="Column of follow-up times."),
    event: str = typer.Option(..., "--event", help="Column of event flags: 1 event, 0 censored."),
    tau: float = typer.Option(..., "--tau", help="Restriction time (same unit as --time)."),
    group: Optional[str] = typer.Option(None, "--group", help="Column of group labels."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level, e.g. 0.95."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restricted mean survival time to tau per group; difference and ratio for two groups."""
    from earlyphase.stats import rmst_from_risk_set

    rs = _risk_set(data, time, event, group, None)
    emit(rmst_from_risk_set(rs, tau=tau, conf_level=conf_level), fmt)


@app.command("cox")
def cox_command(
    data: Path = typer.Argument(..., help="CSV or Parquet file (or directory of Parquet files)."),
    time: str = typer.Option(..., "--time", help="Column of follow-up (exit) times."),
    event: str = typer.Option(..., "--event", help="Column of event flags: 1 event, 0 censored."),
    covariates: str = typer.Option(..., "--covariates", help="Covariate columns, comma-separated, e.g. age,group. "
                                   "Columns of numbers stay numeric; any other column is categorical "
                                   "(treatment contrasts, first sorted level = reference, names like groupB)."),
    categorical: Optional[str] = typer.Option(None, "--categorical", help="Covariates to treat as categorical even if "
                                              "they hold numbers (e.g. an ECOG score 0-3), comma-separated."),
    strata: Optional[str] = typer.Option(None, "--strata", help="Column of stratum labels (one baseline hazard each)."),
    ties: str = typer.Option("efron", "--ties", help="efron (default, as R) or breslow."),
    robust: bool = typer.Option(False, "--robust", help="Sandwich (robust) standard errors, as R's robust=TRUE."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Column of positive case weights."),
    entry: Optional[str] = typer.Option(None, "--entry", help="Column of delayed-entry times (left truncation)."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level of the hazard-ratio intervals."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Cox proportional hazards model: hazard ratios, tests, concordance and cox.zph (KM transform).

    JSON: n, events, ties, coefficients (name, coef, se, robust_se, hr, hr_lower, hr_upper, z, p_value),
    loglik (null model, fitted: both real values), tests (likelihood_ratio, wald, score), concordance, zph.
    """
    import pandas as pd

    from earlyphase.cli.survival_data import load_columns
    from earlyphase.stats import cox_ph

    names = [c.strip() for c in covariates.split(",") if c.strip()]
    if not names:
        raise InputError.single("covariates", covariates, "at least one column", "--covariates needs at least one column name.")
    numeric = {"time": time, "event": event}
    if weights:
        numeric["weights"] = weights
    if entry:
        numeric["entry"] = entry
    forced = [c.strip() for c in (categorical or "").split(",") if c.strip()]
    for c in forced:
        if c not in names:
            raise InputError.single("categorical", c, "one of --covariates",
                                    f"--categorical names {c!r}, which is not among --covariates ({', '.join(names)}).")
    cols = load_columns(data, numeric, {"strata": strata, **{f"cov:{n}": n for n in names}})
    covs = {}
    for n in names:
        text = cols[f"cov:{n}"]
        as_number = pd.to_numeric(pd.Series(text), errors="coerce")
        numeric_column = n not in forced and bool(as_number.notna().all())
        covs[n] = as_number.to_numpy(dtype=float) if numeric_column else text
    result = cox_ph(cols["time"], cols["event"], covs, strata=cols.get("strata"), ties=ties, robust=robust,
                    weights=cols.get("weights"), entry=cols.get("entry"), conf_level=conf_level)
    emit(result, fmt)
