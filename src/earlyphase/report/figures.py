"""Figures (matplotlib, Agg): Kaplan-Meier with number at risk, swimmer, waterfall, spider.

Every figure function returns a matplotlib Figure; ``save_figure`` writes PNG and SVG.
Times on the axes are months (days / analysis.days_per_month).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from earlyphase.report.words import administration, time_origin

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from earlyphase.protocol import Study
    from earlyphase.report.survival import EndpointAnalysis

# colour-blind-safe (Okabe-Ito), one per group in intensity order
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")
FIGURE_WIDTH_IN = 7.0  # fits an A4/Letter page with 2 cm margins at 100%


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
        "svg.fonttype": "none",  # keep text as text in SVG (searchable, small)
        "font.family": "DejaVu Sans",
    })
    return plt


def group_colors(groups: Sequence[str], study: "Study") -> dict[str, str]:
    return {g: PALETTE[(study.level_of(g) - 1) % len(PALETTE)] for g in groups}


def nice_step(max_time: float, target_ticks: int = 10) -> float:
    """A readable tick step in months (1, 2, 3, 6, 12, 24, ...) giving about ``target_ticks`` ticks."""
    for step in (0.5, 1, 2, 3, 6, 12, 24, 36, 48, 60):
        if max_time / step <= target_ticks:
            return float(step)
    return float(12 * math.ceil(max_time / (12 * target_ticks)))


def number_at_risk(times: Sequence[float], ticks: Sequence[float]) -> list[int]:
    """Patients still at risk at each tick: #(T >= t), the count R's survival prints."""
    return [int(sum(1 for x in times if x >= t)) for t in ticks]


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.4f}" if p < 0.001 else f"{p:.3f}"


def _fmt_m(x: float) -> str:
    return "NR" if x is None or math.isnan(x) else f"{x:.1f}"


def km_figure(ea: "EndpointAnalysis", study: "Study", ylabel: str) -> "Figure":
    """Kaplan-Meier curves by group with censor marks, P values, and the number at risk under the axis."""
    plt = _mpl()
    groups = list(ea.groups)
    colors = group_colors(groups, study)
    months = ea.data["AVAL"].to_numpy(dtype=float) / study.analysis.days_per_month
    max_t = float(months.max()) if len(months) else 1.0
    step = nice_step(max_t)
    ticks = [i * step for i in range(int(math.floor(max_t / step)) + 1)]
    if ticks[-1] < max_t:
        ticks.append(ticks[-1] + step)
    n_rows = len(groups)
    # layout in inches, top to bottom: legend (P values + medians), plot, x label, number-at-risk table
    legend_h = 0.62 + 0.2 * math.ceil(n_rows / 2)
    plot_h, gap_h = 3.2, 0.55
    table_h = 0.26 * n_rows + 0.3
    total_h = legend_h + plot_h + gap_h + table_h + 0.1
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, total_h))
    left, width = 0.11, 0.86

    def box(top_in, h_in):
        return [left, 1 - (top_in + h_in) / total_h, width, h_in / total_h]

    ax = fig.add_axes(box(legend_h, plot_h))
    handles = []
    for gcode in groups:
        c = ea.km[gcode]
        x = [0.0] + c.time.tolist()
        y = [1.0] + c.survival.tolist()
        med, lo, up = c.median
        label = f"{gcode} (n={c.n}): {_fmt_m(med)} ({_fmt_m(lo)}–{_fmt_m(up)})"
        (h,) = ax.step(x, y, where="post", color=colors[gcode], lw=1.8, label=label)
        handles.append(h)
        cens = c.n_censor > 0
        if cens.any():
            ax.plot(c.time[cens], c.survival[cens], "+", color=colors[gcode], ms=9, mew=1.6)
    ax.set_xlim(0, ticks[-1])
    ax.set_ylim(-0.02, 1.03)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_ylabel(ylabel)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.grid(alpha=0.25)
    pct = f"{study.analysis.conf_level * 100:g}"
    title = f"Group (n): median months ({pct}% CI)"
    if ea.logrank is not None:
        title = (f"Log-rank P = {_fmt_p(ea.logrank.p_value)} ({len(groups)} groups) · trend P = {_fmt_p(ea.trend.p_value)}"
                 f" · permutation P = {_fmt_p(ea.permutation.permutation_p_value)} "
                 f"({ea.permutation.permutations:,} perm.)\n" + title)
    # the legend sits above the plot, so it can never hide a curve
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02, 1.0, 0.1), mode="expand", ncol=2,
              frameon=False, title=title, title_fontsize=8, fontsize=8, borderaxespad=0.0)
    # number at risk: a second axes with the same x scale, one count per tick, right under the tick
    tab = fig.add_axes(box(legend_h + plot_h + gap_h, table_h), sharex=ax)
    tab.set_ylim(n_rows - 0.5, -1.2)
    tab.axis("off")
    tab.text(0.0, -1.0, "Number at risk", ha="left", va="center", fontsize=8, fontweight="bold",
             transform=tab.get_yaxis_transform())
    for i, gcode in enumerate(groups):
        times = ea.data.loc[ea.data["TRT01P"] == gcode, "AVAL"].to_numpy(dtype=float) / study.analysis.days_per_month
        for tk, n in zip(ticks, number_at_risk(times, ticks)):
            tab.text(tk, i, str(n), ha="center", va="center", fontsize=8, color=colors[gcode])
        tab.text(-0.035, i, gcode, ha="right", va="center", fontsize=8, color=colors[gcode], fontweight="bold",
                 transform=tab.get_yaxis_transform())
    return fig


def swimmer_figure(adsl: "pd.DataFrame", adtte: "pd.DataFrame", adrs: "pd.DataFrame", doses: "pd.DataFrame",
                   study: "Study") -> "Figure":
    """One bar per patient from start to death or last contact (months), marking each administration,
    first response, progression, death and ongoing follow-up."""
    import numpy as np
    import pandas as pd

    plt = _mpl()
    dpm = study.analysis.days_per_month
    os_ = adtte[adtte["PARAMCD"] == "OS"].set_index("USUBJID")
    pfs = adtte[adtte["PARAMCD"] == "PFS"].set_index("USUBJID")
    pts = adsl[adsl["USUBJID"].isin(os_.index)].copy()
    pts["_len"] = pts["USUBJID"].map(os_["AVAL"])
    pts["_ord"] = pts["TRT01PN"]
    pts = pts.sort_values(["_ord", "_len"], ascending=[False, True]).reset_index(drop=True)
    colors = group_colors(list(dict.fromkeys(pts["TRT01P"])), study)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.24 * len(pts) + 1.5))
    from earlyphase.derive import OBJECTIVE_RESPONSES

    resp = adrs[(adrs["PARAMCD"] == "OVRLRESP") & adrs["AVALC"].isin(OBJECTIVE_RESPONSES)]
    first_resp = resp.groupby("USUBJID")["ADT"].min()
    inf_by = {u: f for u, f in doses.groupby("USUBJID")}
    # collect every mark first and draw each kind with one call (fewer artists: faster to save)
    marks: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("inf", "resp", "pd", "death")}
    lengths, alive = [], []
    for i, p in pts.iterrows():
        start = os_.loc[p.USUBJID, "STARTDT"]
        length = os_.loc[p.USUBJID, "AVAL"] / dpm
        lengths.append(length)
        inf = inf_by.get(p.USUBJID)
        if inf is not None:
            xs = ((inf["actual_date"] - start).dt.days / dpm).tolist()
            marks["inf"][0].extend(xs)
            marks["inf"][1].extend([i] * len(xs))
        if p.USUBJID in first_resp.index:
            marks["resp"][0].append((first_resp[p.USUBJID] - start).days / dpm)
            marks["resp"][1].append(i)
        if p.USUBJID in pfs.index and pfs.loc[p.USUBJID, "CNSR"] == 0 and pfs.loc[p.USUBJID, "RULE"] == "PROGRESSION":
            marks["pd"][0].append(pfs.loc[p.USUBJID, "AVAL"] / dpm)
            marks["pd"][1].append(i)
        if os_.loc[p.USUBJID, "CNSR"] == 0:
            marks["death"][0].append(length)
            marks["death"][1].append(i)
        else:
            alive.append((i, length))
    ax.barh(range(len(pts)), lengths, color=[colors[g] for g in pts["TRT01P"]], height=0.6, alpha=0.85)
    ax.plot(*marks["inf"], "|", color="black", ms=5, mew=0.8)
    ax.plot(*marks["resp"], "^", color="#009E73", ms=6, mec="black", mew=0.5)
    ax.plot(*marks["pd"], "X", color="#D55E00", ms=6, mec="black", mew=0.4)
    ax.plot(*marks["death"], "s", color="black", ms=4.5)
    span = max(lengths) if lengths else 1.0
    for i, length in alive:
        ax.annotate("", xy=(length + 0.05 * span, i), xytext=(length, i), arrowprops=dict(arrowstyle="->", lw=1.2))
    ax.set_xlim(0, span * 1.08)
    ax.set_yticks(range(len(pts)))
    ax.set_yticklabels([f"{s} ({g})" for s, g in zip(pts["SUBJID"], pts["TRT01P"])], fontsize=7)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.set_ylabel("Patient (group)")
    ax.grid(axis="x", alpha=0.25)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[g], label=f"Group {g}") for g in colors]
    handles += [
        Line2D([], [], marker="|", ls="", color="black", label=administration(study).capitalize()),
        Line2D([], [], marker="^", ls="", color="#009E73", mec="black", label="First response (CR/PR)"),
        Line2D([], [], marker="X", ls="", color="#D55E00", mec="black", label="Progression"),
        Line2D([], [], marker="s", ls="", color="black", label="Death"),
        Line2D([], [], marker=r"$\rightarrow$", ls="", color="black", label="Alive (ongoing)"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=7, ncol=2, frameon=True)
    fig.tight_layout()
    return fig


def waterfall_figure(adrs: "pd.DataFrame", study: "Study") -> "Figure":
    """Best (smallest) percent change of the target sum from baseline per patient, sorted."""
    plt = _mpl()
    v = adrs[(adrs["PARAMCD"] == "OVRLRESP") & adrs["PCHG"].notna()]
    best = v.groupby(["USUBJID", "SUBJID", "TRT01P"], as_index=False)["PCHG"].min().sort_values("PCHG", ascending=False)
    colors = group_colors(list(dict.fromkeys(sorted(best["TRT01P"], key=study.level_of))), study)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.4))
    ax.bar(range(len(best)), best["PCHG"], color=[colors[g] for g in best["TRT01P"]], edgecolor="black", lw=0.4)
    ax.axhline(20, color="#D55E00", ls="--", lw=1, label="+20% (progression threshold, vs nadir)")
    ax.axhline(-30, color="#009E73", ls="--", lw=1, label="−30% (partial response)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(best)))
    ax.set_xticklabels(best["SUBJID"], rotation=90, fontsize=7)
    ax.set_ylabel(f"Best change in target sum (%)\n({study.response_criteria})")
    ax.set_xlabel("Patient")
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[g], label=f"Group {g}") for g in colors] + ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, loc="upper right", ncol=2)
    lo = min(-40.0, float(best["PCHG"].min()) - 10 if len(best) else -40.0)
    hi = max(40.0, float(best["PCHG"].max()) + 10 if len(best) else 40.0)
    ax.set_ylim(lo, hi + 25)
    fig.tight_layout()
    return fig


def spider_figure(adrs: "pd.DataFrame", study: "Study") -> "Figure":
    """Percent change of the target sum from baseline over time, one line per patient."""
    plt = _mpl()
    v = adrs[(adrs["PARAMCD"] == "OVRLRESP") & adrs["PCHG"].notna()].sort_values("ADT")
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.4))
    groups = sorted(v["TRT01P"].unique(), key=study.level_of)
    colors = group_colors(groups, study)
    dpm = study.analysis.days_per_month
    for usubjid, rows in v.groupby("USUBJID"):
        g = rows["TRT01P"].iloc[0]
        x = [0.0] + ((rows["ADY"].astype(float) - 1) / dpm).tolist()
        y = [0.0] + rows["PCHG"].tolist()
        ax.plot(x, y, "-o", color=colors[g], ms=3, lw=1.1, alpha=0.9)
        pd_rows = rows[rows["PROGFL"] == "Y"]
        if not pd_rows.empty:
            ax.plot((float(pd_rows["ADY"].iloc[0]) - 1) / dpm, pd_rows["PCHG"].iloc[0], "X", color="#D55E00", ms=6,
                    mec="black", mew=0.4)
    ax.axhline(20, color="#D55E00", ls="--", lw=1)
    ax.axhline(-30, color="#009E73", ls="--", lw=1)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.set_ylabel("Change in target sum from baseline (%)")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[g], label=f"Group {g}") for g in groups]
    handles.append(Line2D([], [], marker="X", ls="", color="#D55E00", mec="black", label="Progression"))
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=len(handles),
              frameon=False, borderaxespad=0.0)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def save_figure(fig: "Figure", directory, name: str) -> dict[str, bytes]:
    """Write ``name``.png (150 dpi) and ``name``.svg into ``directory``; return their bytes."""
    import io
    from pathlib import Path

    plt = _mpl()
    out = {}
    # fast PNG compression: the files are small anyway, and encoding was a visible share of the time
    for ext, kw in (("png", {"dpi": 150, "pil_kwargs": {"compress_level": 1}}), ("svg", {})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, **kw)
        data = buf.getvalue()
        (Path(directory) / f"{name}.{ext}").write_bytes(data)
        out[ext] = data
    plt.close(fig)
    return out
