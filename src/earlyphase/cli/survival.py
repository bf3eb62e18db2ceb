"""CLI commands: earlyphase survival ... (km, quantile, nelson-aalen, logrank, rmst, cox, concordance).

DATA is a CSV file or Parquet (a file or a directory of files). The input conventions are R's and
are stated once, in docs/conventions.md: group levels in numeric order for numbers, alphabetical
for text, or as ``--levels`` says (the first is the reference); rows with a missing value left out
and counted (``--na-action omit``, the default here); events 0/1, or 1/2 as R's Surv, or
``--event-value``; ADaM's CNSR through ``--censor``; ``--timefix`` on, as R. ``km`` and ``logrank``
reduce Parquet data to risk-set counts out of core with DuckDB (same results as in memory) unless a
per-subject option (--entry, permutations) needs rows.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit
from earlyphase.errors import InputError

app = typer.Typer(help="Survival analysis on a CSV or Parquet file: Kaplan–Meier, quantiles, Nelson–Aalen, "
                       "log-rank family, RMST, Cox, concordance.", no_args_is_help=True)

# Options shared by the commands (Typer needs them declared per command).
_data = typer.Argument(..., help="CSV or Parquet file (or a directory of Parquet files).", metavar="DATA")
_time = typer.Option(..., "--time", metavar="COLUMN", help="Column of follow-up (exit) times, in the file's unit.")
_event = typer.Option(None, "--event", metavar="COLUMN",
                      help="Column of event flags: 1 event, 0 censored; 1/2 is read as R does (2 = event).")
_censor = typer.Option(None, "--censor", metavar="COLUMN",
                       help="Instead of --event: a censoring flag such as ADaM's CNSR (0 = event, 1 or more = censored).")
_event_value = typer.Option(None, "--event-value", metavar="VALUE",
                            help="The --event value that means an event (e.g. 2 for a 0/1/2 status); every other value is censored.")
_group = typer.Option(None, "--group", metavar="COLUMN", help="Column of group labels (one curve each).")
_levels = typer.Option(None, "--levels", metavar="A,B,C",
                       help="The group levels in order, comma-separated: the first is the reference and the trend order.")
_na = typer.Option("omit", "--na-action", metavar="omit|fail",
                   help="omit (default, as R): leave out rows with a missing value and say how many; fail: stop at the first.")
_timefix = typer.Option(True, "--timefix/--no-timefix", help="Merge times equal up to rounding (1.5e-8), as R does by default.")
_where = typer.Option(None, "--where", metavar="COLUMN=VALUE",
                      help="Analyse only rows where COLUMN equals VALUE (e.g. PARAMCD=OS). Repeat for several.")
_entry = typer.Option(None, "--entry", metavar="COLUMN", help="Column of delayed-entry times (left truncation).")
_conf_type = typer.Option("log-log", "--conf-type", metavar="TYPE", help="log-log (default), log (R's default) or plain.")
_conf_level = typer.Option(0.95, "--conf-level", metavar="LEVEL", help="Confidence level, e.g. 0.95.")


def _float_list(name: str, text: Optional[str]) -> Optional[list[float]]:
    if text is None or text.strip() == "":
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise typer.BadParameter(f"--{name} takes numbers separated by commas, e.g. 6,12 (got {text!r})", param_hint=f"--{name}") from None


def _text_list(text: Optional[str]) -> Optional[list[str]]:
    if text is None or text.strip() == "":
        return None
    return [v.strip() for v in text.split(",") if v.strip() != ""]


def _where_pairs(where: Optional[list[str]]) -> list[tuple[str, str]]:
    pairs = []
    for item in where or []:
        if "=" not in item:
            raise typer.BadParameter(f"--where takes COLUMN=VALUE, e.g. PARAMCD=OS (got {item!r})", param_hint="--where")
        col, value = item.split("=", 1)
        pairs.append((col.strip(), value.strip()))
    return pairs


def _is_censoring_flag(name: str) -> bool:
    """ADaM's censoring variable: CNSR, or a name ending in CNSR (PFSCNSR, OS_CNSR)."""
    return name.strip().upper().endswith("CNSR")


class _Input:
    """The columns of one survival command, read and checked once."""

    def __init__(self, data: Path, time: str, event: Optional[str], censor: Optional[str], event_value: Optional[str],
                 where: Optional[list[str]], na_action: str, columns: dict[str, Optional[str]]):
        if (event is None) == (censor is None):
            raise typer.BadParameter("give --event COLUMN (1 = event, 0 = censored) or --censor COLUMN (ADaM's CNSR: "
                                     "0 = event), one of them", param_hint="--event / --censor")
        if censor is not None and event_value is not None:
            raise typer.BadParameter("--event-value goes with --event; with --censor the event is the value 0",
                                     param_hint="--event-value")
        if event is not None and event_value is None and _is_censoring_flag(event):
            raise typer.BadParameter(
                f"{event!r} is ADaM's censoring flag (0 = event, 1 = censored), the opposite of an event flag: "
                f"use --censor {event} (or --event {event} --event-value 0)", param_hint="--event")
        self.path = Path(data)
        self.time_column = time
        self.event_column = event or censor
        self.event_value: Any = 0 if censor is not None else event_value
        self.na_action = na_action
        self.where = _where_pairs(where)
        self.columns = {k: v for k, v in columns.items() if v}
        from earlyphase.cli.survival_data import is_parquet

        self.parquet = is_parquet(self.path)

    def read(self) -> dict[str, Any]:
        """Arrays: time (float), event (numbers or text), and every named column (raw; see survival_data)."""
        from earlyphase.cli.survival_data import as_numbers, as_values, read_columns

        names = [self.time_column, self.event_column] + list(self.columns.values())
        header = self._header()
        adam_parameters = "PARAMCD" in header and "PARAMCD" not in [c for c, _ in self.where]
        raw = read_columns(self.path, names + (["PARAMCD"] if adam_parameters else []), self.where)
        if adam_parameters:
            found = sorted({v for v in (raw["PARAMCD"].tolist() if hasattr(raw["PARAMCD"], "tolist") else raw["PARAMCD"]) if v is not None})
            if len(found) > 1:
                raise InputError.single(
                    "PARAMCD", ", ".join(found), "one parameter",
                    f"the file holds several ADaM parameters ({', '.join(found)}); analyse one at a time with "
                    f"--where PARAMCD={found[0]}.", file=str(self.path))
        self.rows = list(raw["__row__"])
        with self.located():
            out = {"time": as_numbers(self.time_column, raw[self.time_column], self.path),
                   "event": as_values(raw[self.event_column])}
        for key, col in self.columns.items():
            if key in ("entry", "weights", "score"):
                with self.located():
                    out[key] = as_numbers(col, raw[col], self.path)
            else:
                values = raw[col]
                out[key] = values if not isinstance(values, list) else _labels(values)
        return out

    @contextmanager
    def located(self) -> Iterator[None]:
        """Errors about row r of the data read: name the file's data row and its line (header = line 1)."""
        try:
            yield
        except InputError as exc:
            names = {"time": self.time_column, "event": self.event_column, **self.columns}
            raise _locate(exc, self.path, getattr(self, "rows", None), names) from None

    def _header(self) -> list[str]:
        if self.parquet:
            from earlyphase.cli.survival_data import require_extra

            ds = require_extra("pyarrow.dataset", "parquet", "Reading Parquet")
            return list(ds.dataset(str(self.path), format="parquet").schema.names)
        import csv

        with self.path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), []) or []

    def options(self, timefix: bool) -> dict[str, Any]:
        return {"event_value": self.event_value, "na_action": self.na_action, "timefix": timefix}


def _locate(exc: InputError, path: Path, rows: Optional[list[int]], names: Optional[dict[str, str]] = None) -> InputError:
    import re

    from earlyphase.errors import Problem

    def file_row(r: Optional[int]) -> Optional[int]:
        if r is None:
            return None
        return rows[r - 1] if rows and 1 <= r <= len(rows) else r

    def text(message: str) -> str:
        return re.sub(r"\brow (\d+)", lambda m: f"row {file_row(int(m.group(1)))} (line {file_row(int(m.group(1))) + 1} of {path.name})",
                      message)

    names = names or {}

    def column(p: Problem) -> tuple[str, str]:
        # the stats layer names its arguments (group, strata, ...); the person knows the file's columns
        col = names.get(p.field)
        if col is None or col == p.field:
            return p.field, p.message
        message = col + p.message[len(p.field):] if p.message.startswith(p.field + " ") else p.message
        return col, message

    problems = []
    for p in exc.problems:
        field, message = column(p)
        problems.append(Problem(field, p.value, p.rule, text(message) if p.row is not None or "row " in message else message,
                                p.file or (str(path) if p.row is not None else None), file_row(p.row)))
    new = type(exc).__new__(type(exc))
    InputError.__init__(new, problems, exc.summary)
    return new


def _labels(values: list):
    import numpy as np

    return np.array(values, dtype=object)


def _risk_set(inp: _Input, group: Optional[str], strata: Optional[str], levels: Optional[list[str]], timefix: bool,
              entry: Optional[str] = None):
    """Risk set from DATA: out of core for Parquet (without entry), in memory otherwise."""
    from earlyphase.stats import RiskSet, build_risk_set

    if inp.parquet and entry is None and not inp.where:
        from dataclasses import replace

        from earlyphase.cli.survival_data import reduce_to_counts

        c = reduce_to_counts(inp.path, inp.time_column, inp.event_column, group=group, strata=strata,
                             event_value=inp.event_value, na_action=inp.na_action)
        rs = RiskSet.from_counts(c["time"], c["n_event"], c["n_censor"], group=c.get("group"), strata=c.get("strata"),
                                 levels=levels, timefix=timefix, n_omitted=c["n_omitted"])
        return replace(rs, notes=tuple(c["notes"]) + rs.notes)
    cols = inp.read()
    with inp.located():
        return build_risk_set(cols["time"], cols["event"], group=cols.get("group"), strata=cols.get("strata"),
                              entry=cols.get("entry"), levels=levels, name_time=inp.time_column, name_event=inp.event_column,
                              **inp.options(timefix))


@app.command("km")
def km_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value, group: Optional[str] = _group, levels: Optional[str] = _levels,
    entry: Optional[str] = _entry, conf_type: str = _conf_type, conf_level: float = _conf_level,
    times: Optional[str] = typer.Option(None, "--times", metavar="T1,T2", help="Landmark times, comma-separated, e.g. 6,12: "
                                        "survival, its standard error and CI there (a time after the last follow-up is left out, as R)."),
    extend: bool = typer.Option(False, "--extend", help="Report landmarks after the last follow-up too (the last value, n at risk 0; R's extend = TRUE)."),
    median_rule: str = typer.Option("quantile", "--median-rule", metavar="RULE",
                                    help="quantile (default, R's quantile.survfit) or print (R's print.survfit); they differ only when a curve ends at 0.5."),
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Kaplan–Meier curves, medians with CI, and survival with its standard error at landmark times."""
    from earlyphase.stats import kaplan_meier_from_risk_set

    inp = _Input(data, time, event, censor, event_value, where, na_action, {"group": group, "entry": entry})
    rs = _risk_set(inp, group, None, _text_list(levels), timefix, entry)
    emit(kaplan_meier_from_risk_set(rs, conf_type=conf_type, conf_level=conf_level, times=_float_list("times", times),
                                    median_rule=median_rule, extend=extend), fmt)


@app.command("quantile")
def quantile_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value, group: Optional[str] = _group, levels: Optional[str] = _levels,
    entry: Optional[str] = _entry,
    probs: str = typer.Option("0.25,0.5,0.75", "--probs", metavar="P1,P2", help="Probabilities of an event by then, comma-separated (0.5 = median)."),
    conf_type: str = _conf_type, conf_level: float = _conf_level,
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Survival-time quantiles with confidence limits, as R's quantile(survfit(...), probs)."""
    from earlyphase.stats import kaplan_meier_from_risk_set

    inp = _Input(data, time, event, censor, event_value, where, na_action, {"group": group, "entry": entry})
    rs = _risk_set(inp, group, None, _text_list(levels), timefix, entry)
    km = kaplan_meier_from_risk_set(rs, conf_type=conf_type, conf_level=conf_level)
    emit(km.quantile_table(_float_list("probs", probs) or [0.5]), fmt)


@app.command("nelson-aalen")
def nelson_aalen_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value, group: Optional[str] = _group, levels: Optional[str] = _levels,
    entry: Optional[str] = _entry, na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Nelson–Aalen cumulative hazard and its standard error per group (R's survfit cumhaz, std.chaz)."""
    from earlyphase.stats import nelson_aalen_from_risk_set

    inp = _Input(data, time, event, censor, event_value, where, na_action, {"group": group, "entry": entry})
    emit(nelson_aalen_from_risk_set(_risk_set(inp, group, None, _text_list(levels), timefix, entry)), fmt)


@app.command("logrank")
def logrank_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value,
    group: str = typer.Option(..., "--group", metavar="COLUMN", help="Column of group labels."),
    levels: Optional[str] = _levels,
    strata: Optional[str] = typer.Option(None, "--strata", metavar="COLUMN", help="Column of stratum labels."),
    weights: str = typer.Option("logrank", "--weights", metavar="NAME", help="logrank, gehan, tarone-ware, peto or fh."),
    rho: Optional[float] = typer.Option(None, "--rho", metavar="RHO", help="Fleming-Harrington rho (with --weights fh)."),
    gamma: Optional[float] = typer.Option(None, "--gamma", metavar="GAMMA", help="Fleming-Harrington gamma (with --weights fh)."),
    trend: bool = typer.Option(False, "--trend", help="Test for trend over the ordered groups (text labels need --levels or --scores)."),
    scores: Optional[str] = typer.Option(None, "--scores", metavar="S1,S2", help="Trend scores, one per group in level order, e.g. 1,2,3,4."),
    permutations: Optional[int] = typer.Option(None, "--permutations", metavar="N", help="Monte-Carlo permutations for a permutation p-value."),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="SEED", help="Seed of the permutation generator."),
    exact: bool = typer.Option(False, "--exact", help="Enumerate every allocation of the group labels."),
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Log-rank family test (weights, strata, trend), with an optional permutation p-value."""
    from earlyphase.stats import logrank_from_risk_set, permutation_logrank

    score_list = _float_list("scores", scores)
    if score_list is not None and not trend:
        raise typer.BadParameter("--scores is used only with --trend", param_hint="--scores")
    if exact and permutations is not None:
        raise typer.BadParameter("choose --exact or --permutations N, not both", param_hint="--exact")
    inp = _Input(data, time, event, censor, event_value, where, na_action, {"group": group, "strata": strata})
    if exact or permutations is not None:
        cols = inp.read()
        with inp.located():
            result = permutation_logrank(
                cols["time"], cols["event"], cols["group"], strata=cols.get("strata"), weights=weights, rho=rho, gamma=gamma,
                trend=trend, scores=score_list, permutations=permutations or 10_000, seed=seed, exact=True if exact else False,
                levels=_text_list(levels), **inp.options(timefix),
            )
    else:
        rs = _risk_set(inp, group, strata, _text_list(levels), timefix)
        result = logrank_from_risk_set(rs, weights=weights, rho=rho, gamma=gamma, trend=trend, scores=score_list)
    emit(result, fmt)


@app.command("rmst")
def rmst_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value,
    tau: float = typer.Option(..., "--tau", metavar="TAU", help="Restriction time (same unit as --time)."),
    group: Optional[str] = _group, levels: Optional[str] = _levels,
    extend: bool = typer.Option(False, "--extend", help="Allow tau after a group's last follow-up: carry its last value forward, as R's rmean."),
    conf_level: float = _conf_level,
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restricted mean survival time to tau per group; difference and ratio for two groups (second vs first level)."""
    from earlyphase.stats import rmst_from_risk_set

    inp = _Input(data, time, event, censor, event_value, where, na_action, {"group": group})
    rs = _risk_set(inp, group, None, _text_list(levels), timefix)
    emit(rmst_from_risk_set(rs, tau=tau, conf_level=conf_level, extend=extend), fmt)


def _covariate_levels(specs: Optional[list[str]], names: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for spec in specs or []:
        if "=" not in spec:
            raise typer.BadParameter(f"--levels takes COVARIATE=A,B,C for cox (got {spec!r})", param_hint="--levels")
        name, values = spec.split("=", 1)
        name = name.strip()
        if name not in names:
            raise typer.BadParameter(f"--levels names {name!r}, which is not among --covariates ({', '.join(names)})",
                                     param_hint="--levels")
        out[name] = _text_list(values) or []
    return out


@app.command("cox")
def cox_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value,
    covariates: str = typer.Option(..., "--covariates", metavar="A,B", help="Covariate columns, comma-separated, e.g. age,sex. "
                                   "Columns of numbers stay numeric; any other column is categorical "
                                   "(treatment contrasts, names like sexmale, as R)."),
    categorical: Optional[str] = typer.Option(None, "--categorical", metavar="A,B", help="Covariates to treat as categorical even if "
                                              "they hold numbers (e.g. an ECOG score 0-3), comma-separated."),
    levels: Optional[list[str]] = typer.Option(None, "--levels", metavar="COVARIATE=A,B,C", help="Levels of a categorical covariate in "
                                               "order, the first the reference (e.g. celltype=squamous,smallcell,adeno,large). Repeat."),
    strata: Optional[str] = typer.Option(None, "--strata", metavar="COLUMN", help="Column of stratum labels (one baseline hazard each)."),
    cluster: Optional[str] = typer.Option(None, "--cluster", metavar="COLUMN", help="Column of cluster ids (e.g. patient for two eyes): "
                                          "grouped robust variance, as R's cluster(id)."),
    ties: str = typer.Option("efron", "--ties", metavar="METHOD", help="efron (default, as R) or breslow."),
    robust: bool = typer.Option(False, "--robust", help="Sandwich (robust) standard errors, as R's robust=TRUE."),
    weights: Optional[str] = typer.Option(None, "--weights", metavar="COLUMN", help="Column of positive case weights."),
    entry: Optional[str] = _entry,
    conf_level: float = typer.Option(0.95, "--conf-level", metavar="LEVEL", help="Confidence level of the hazard-ratio intervals."),
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Cox proportional hazards model: hazard ratios, tests, concordance and cox.zph (KM transform).

    JSON: n, events, ties, coefficients (name, coef, se, robust_se, hr, hr_lower, hr_upper, z, p_value),
    loglik (null model, fitted: both real values), tests (likelihood_ratio, wald, score), concordance, zph,
    n_clusters, n_omitted (rows left out for a missing value), notes.
    """
    import numpy as np

    from earlyphase.cli.survival_data import as_values
    from earlyphase.stats import cox_ph

    names = [c.strip() for c in covariates.split(",") if c.strip()]
    if not names:
        raise typer.BadParameter("--covariates needs at least one column name", param_hint="--covariates")
    forced = [c.strip() for c in (categorical or "").split(",") if c.strip()]
    for c in forced:
        if c not in names:
            raise typer.BadParameter(f"--categorical names {c!r}, which is not among --covariates ({', '.join(names)})",
                                     param_hint="--categorical")
    cov_levels = _covariate_levels(levels, names)
    columns = {"strata": strata, "cluster": cluster, "weights": weights, "entry": entry, **{f"cov:{n}": n for n in names}}
    inp = _Input(data, time, event, censor, event_value, where, na_action, columns)
    cols = inp.read()
    covs = {}
    for n in names:
        raw = cols[f"cov:{n}"]
        values = as_values(list(raw)) if isinstance(raw, np.ndarray) and raw.dtype == object else raw
        if (n in forced or n in cov_levels) and isinstance(values, np.ndarray) and values.dtype.kind == "f":
            values = np.asarray(raw, dtype=object)  # categorical: keep the labels as written ("1", not "1.0")
        covs[n] = values
    with inp.located():
        result = cox_ph(cols["time"], cols["event"], covs, strata=cols.get("strata"), ties=ties, robust=robust,
                        weights=cols.get("weights"), entry=cols.get("entry"), conf_level=conf_level, cluster=cols.get("cluster"),
                        levels=cov_levels or None, **inp.options(timefix))
    emit(result, fmt)


@app.command("concordance")
def concordance_command(
    data: Path = _data, time: str = _time, event: Optional[str] = _event, censor: Optional[str] = _censor,
    event_value: Optional[str] = _event_value,
    predictor: str = typer.Option(..., "--predictor", metavar="COLUMN", help="Column of the numeric predictor or risk score."),
    reverse: bool = typer.Option(False, "--reverse", help="A higher value means a shorter survival (a risk score, as coxph's "
                                 "linear predictor); by default a higher value means a longer survival, as R's concordance()."),
    strata: Optional[str] = typer.Option(None, "--strata", metavar="COLUMN", help="Column of strata: pairs only within a stratum."),
    weights: Optional[str] = typer.Option(None, "--weights", metavar="COLUMN", help="Column of case weights."),
    na_action: str = _na, timefix: bool = _timefix, where: Optional[list[str]] = _where, fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Harrell's concordance of a predictor with survival and its standard error, as R's concordance()."""
    from earlyphase.stats import concordance_index

    inp = _Input(data, time, event, censor, event_value, where, na_action,
                 {"score": predictor, "strata": strata, "weights": weights})
    cols = inp.read()
    score = cols["score"] if reverse else -cols["score"]
    with inp.located():
        result = concordance_index(cols["time"], cols["event"], score, strata=cols.get("strata"), weights=cols.get("weights"),
                                   **inp.options(timefix))
    emit(result, fmt)
