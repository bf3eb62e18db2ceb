"""Figures (matplotlib, Agg): Kaplan-Meier with number at risk, swimmer, waterfall, spider.

Every figure function returns a matplotlib Figure; ``save_figure`` writes PNG and SVG.
Times on the axes are months (days / analysis.days_per_month).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from earlyphase.report.axis import TimeAxis, choose_time_axis, nice_step  # noqa: F401  (nice_step: public here too)
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


def row_major(handles: list, ncol: int) -> list:
    """Handles reordered so that a legend of ``ncol`` columns reads left to right, row by row, in their order.

    matplotlib fills a multi-column legend column by column; groups listed A, B, C, D in two columns would
    read "A C / B D" across the rows.
    """
    nrow = math.ceil(len(handles) / ncol) if handles else 0
    rows = [handles[i * ncol:(i + 1) * ncol] for i in range(nrow)]
    return [r[c] for c in range(ncol) for r in rows if c < len(r)]


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
    # NA where R's print.survfit prints NA (a median or a confidence limit the curve never reaches)
    return "NA" if x is None or math.isnan(x) else f"{x:.1f}"


def _break_marks(ax, x: float) -> None:
    """Two short slanted strokes on the x axis at ``x`` (data units): the axis is cut there."""
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transData, ax.transAxes)
    span = ax.get_xlim()[1] - ax.get_xlim()[0]
    for dx in (-0.006 * span, 0.006 * span):
        ax.plot([x + dx - 0.005 * span, x + dx + 0.005 * span], [-0.025, 0.025], color="black", lw=1.0,
                transform=tr, clip_on=False, zorder=5)


def km_figure(ea: "EndpointAnalysis", study: "Study", ylabel: str, axis: TimeAxis | None = None) -> "Figure":
    """Kaplan-Meier curves by group with censor marks, P values, and the number at risk under the axis.

    ``axis`` (default: chosen for the data's bulk) may cut the time axis; a curve that goes on past the cut
    ends in an arrow labelled with its group's longest time (``+`` when censored, as R prints).
    """
    import numpy as np

    plt = _mpl()
    groups = list(ea.groups)
    colors = group_colors(groups, study)
    months = ea.data["AVAL"].to_numpy(dtype=float) / study.analysis.days_per_month
    axis = axis or choose_time_axis(months)
    ticks = list(axis.ticks)
    n_rows = len(groups)
    # layout in inches, top to bottom: legend (P values + medians), plot, x label, number-at-risk table
    legend_h = 0.62 + 0.2 * math.ceil(n_rows / 2)
    plot_h, gap_h = 3.0, 0.55
    table_h = 0.22 * n_rows + 0.3
    note_h = 0.3 if axis.truncated else 0.0
    total_h = legend_h + plot_h + gap_h + table_h + note_h + 0.1
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, total_h))
    # room on the right for the arrows' labels when the axis is cut
    left, width = 0.11, (0.78 if axis.truncated else 0.86)

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
        cens = (c.n_censor > 0) & (c.time <= axis.end)
        if cens.any():
            ax.plot(c.time[cens], c.survival[cens], "+", color=colors[gcode], ms=9, mew=1.6)
        last = float(c.time[-1]) if len(c.time) else 0.0
        if axis.beyond(last):
            s_end = float(y[int(np.searchsorted(x, axis.end, side="right")) - 1])
            censored = bool(c.n_censor[-1] > 0) and not c.n_event[-1] > 0
            ax.annotate(f"{last:.1f}{'+' if censored else ''}", xy=(axis.end, s_end), xycoords="data",
                        xytext=(14, 0), textcoords="offset points", va="center", ha="left", fontsize=7,
                        color=colors[gcode], annotation_clip=False,
                        arrowprops=dict(arrowstyle="<-", color=colors[gcode], lw=1.2, shrinkA=0, shrinkB=0))
    ax.set_xlim(0, axis.end)
    ax.set_ylim(-0.02, 1.03)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_ylabel(ylabel)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.grid(alpha=0.25)
    if axis.truncated:
        _break_marks(ax, axis.end)
    pct = f"{study.analysis.conf_level * 100:g}"
    title = f"Group (n): median months ({pct}% CI)"
    if ea.logrank is not None:
        title = (f"Log-rank P = {_fmt_p(ea.logrank.p_value)} ({len(groups)} groups) · trend P = {_fmt_p(ea.trend.p_value)}"
                 f" · permutation P = {_fmt_p(ea.permutation.permutation_p_value)} "
                 f"({ea.permutation.permutations:,} perm.)\n" + title)
    # the legend sits above the plot, so it can never hide a curve
    ax.legend(handles=row_major(handles, 2), loc="lower left", bbox_to_anchor=(0.0, 1.02, 1.0, 0.1), mode="expand", ncol=2,
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
    if axis.truncated:
        fig.text(left, 0.1 / total_h, axis.short_note(int((months > axis.end).sum())), fontsize=7, style="italic",
                 ha="left", va="bottom")
    return fig


def confirmed_responses(adrs: "pd.DataFrame") -> tuple[dict[str, object], dict[str, object]]:
    """(confirmed, unconfirmed): USUBJID -> date of the first response of a patient whose *confirmed* best
    overall response is CR/PR, and of a patient with a response on one visit that was never confirmed.

    The swimmer plot marks the first kind as a response; a visit-level PR that the best-response derivation
    did not confirm is not a response (its best response is SD or worse) and gets a hollow mark of its own.
    """
    from earlyphase.derive import OBJECTIVE_RESPONSES

    bor = adrs[adrs["PARAMCD"] == "BOR"]
    confirmed = bor[bor["RSPFL"] == "Y"].groupby("USUBJID")["ADT"].min().to_dict()
    visits = adrs[(adrs["PARAMCD"] == "OVRLRESP") & adrs["AVALC"].isin(OBJECTIVE_RESPONSES)]
    visits = visits[~visits["USUBJID"].isin(confirmed)]
    unconfirmed = visits.groupby("USUBJID")["ADT"].min().to_dict()
    return confirmed, unconfirmed


def swimmer_figure(adsl: "pd.DataFrame", adtte: "pd.DataFrame", adrs: "pd.DataFrame", doses: "pd.DataFrame",
                   study: "Study", axis: TimeAxis | None = None) -> "Figure":
    """One bar per patient from start to death or last contact (months), marking each administration,
    the first response of a confirmed responder, progression, death and ongoing follow-up.

    ``axis`` (default: chosen for the data's bulk) may cut the time axis: a longer bar then stops at the cut
    with a break and is labelled with its length and what happened after the cut.
    """
    plt = _mpl()
    dpm = study.analysis.days_per_month
    os_ = adtte[adtte["PARAMCD"] == "OS"].set_index("USUBJID")
    pfs = adtte[adtte["PARAMCD"] == "PFS"].set_index("USUBJID")
    pts = adsl[adsl["USUBJID"].isin(os_.index)].copy()
    pts["_len"] = pts["USUBJID"].map(os_["AVAL"])
    pts["_ord"] = pts["TRT01PN"]
    # bottom-up order for barh: the highest level first, so the first group sits at the top as the legend lists it
    pts = pts.sort_values(["_ord", "_len"], ascending=[False, True]).reset_index(drop=True)
    top_down_groups = list(dict.fromkeys(reversed(pts["TRT01P"].tolist())))
    colors = group_colors(top_down_groups, study)
    axis = axis or choose_time_axis((pts["_len"] / dpm).tolist())
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.24 * len(pts) + 1.5))
    confirmed, unconfirmed = confirmed_responses(adrs)
    inf_by = {u: f for u, f in doses.groupby("USUBJID")}
    # collect every mark first and draw each kind with one call (fewer artists: faster to save)
    kinds = ("inf", "resp", "uresp", "pd", "death")
    marks: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in kinds}
    lengths, alive, cut = [], [], []
    for i, p in pts.iterrows():
        start = os_.loc[p.USUBJID, "STARTDT"]
        length = os_.loc[p.USUBJID, "AVAL"] / dpm
        lengths.append(min(length, axis.end))
        beyond: list[str] = []

        def mark(kind, x, what):
            if axis.beyond(x):
                beyond.append(f"{what} {x:.1f}")
            else:
                marks[kind][0].append(x)
                marks[kind][1].append(i)

        inf = inf_by.get(p.USUBJID)
        if inf is not None:
            xs = ((inf["actual_date"] - start).dt.days / dpm).tolist()
            for x in xs:
                if not axis.beyond(x):
                    marks["inf"][0].append(x)
                    marks["inf"][1].append(i)
        for kind, dates in (("resp", confirmed), ("uresp", unconfirmed)):
            if p.USUBJID in dates:
                mark(kind, (dates[p.USUBJID] - start).days / dpm, "response")
        if p.USUBJID in pfs.index and pfs.loc[p.USUBJID, "CNSR"] == 0 and pfs.loc[p.USUBJID, "RULE"] == "PROGRESSION":
            mark("pd", pfs.loc[p.USUBJID, "AVAL"] / dpm, "progression")
        if os_.loc[p.USUBJID, "CNSR"] == 0:
            mark("death", length, "death")
        elif not axis.beyond(length):
            alive.append((i, length))
        if axis.beyond(length):
            status = "" if os_.loc[p.USUBJID, "CNSR"] == 0 else f"alive {length:.1f}"
            cut.append((i, "; ".join(beyond + ([status] if status else []))))
    ax.barh(range(len(pts)), lengths, color=[colors[g] for g in pts["TRT01P"]], height=0.6, alpha=0.85)
    # the first administration is at 0: drawn above the axis line, and the axis starts a little before 0
    ax.plot(*marks["inf"], "|", color="black", ms=5, mew=0.8, clip_on=False, zorder=4)
    ax.plot(*marks["resp"], "^", color="#009E73", ms=6, mec="black", mew=0.5, zorder=4)
    ax.plot(*marks["uresp"], "^", color="white", ms=6, mec="#009E73", mew=0.9, zorder=4)
    ax.plot(*marks["pd"], "X", color="#D55E00", ms=6, mec="black", mew=0.4, zorder=4)
    ax.plot(*marks["death"], "s", color="black", ms=4.5, zorder=4)
    span = axis.end
    for i, length in alive:
        ax.annotate("", xy=(length + 0.05 * span, i), xytext=(length, i), arrowprops=dict(arrowstyle="->", lw=1.2))
    for i, what in cut:
        # a break across the bar at the cut, then an arrow and what lies beyond it
        ax.plot([span * 0.975, span * 0.99], [i - 0.38, i + 0.38], color="white", lw=2.2, zorder=3)
        ax.annotate(f"{what} →" if what else "→", xy=(span, i), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=7, annotation_clip=False)
    ax.set_xlim(-0.015 * span, span * (1.0 if cut else 1.08))
    ticks = [t for t in axis.ticks if t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    if cut:
        _break_marks(ax, span)
    ax.set_ylim(-0.7, len(pts) - 0.3)
    ax.set_yticks(range(len(pts)))
    ax.set_yticklabels([f"{s} ({g})" for s, g in zip(pts["SUBJID"], pts["TRT01P"])], fontsize=7)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.set_ylabel("Patient (group)")
    ax.grid(axis="x", alpha=0.25)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # the groups in the order the bars show them, top to bottom; the legend sits outside the bars
    handles = [Patch(color=colors[g], label=f"Group {g}") for g in top_down_groups]
    handles += [
        Line2D([], [], marker="|", ls="", color="black", label=administration(study).capitalize()),
        Line2D([], [], marker="^", ls="", color="#009E73", mec="black", label="Response (confirmed CR/PR)"),
    ]
    if marks["uresp"][0]:
        handles.append(Line2D([], [], marker="^", ls="", color="white", mec="#009E73",
                              label="Unconfirmed response"))
    handles += [
        Line2D([], [], marker="X", ls="", color="#D55E00", mec="black", label="Progression"),
        Line2D([], [], marker="s", ls="", color="black", label="Death"),
        Line2D([], [], marker=r"$\rightarrow$", ls="", color="black", label="Alive (ongoing)"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
              borderaxespad=0.0)
    if axis.truncated and cut:
        ax.set_title(axis.short_note(len(cut)), fontsize=7, style="italic", loc="left")
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
    ax.axhline(20, color="#D55E00", ls="--", lw=1, label="+20% from the nadir: progression (above 0, the nadir is the baseline)")
    ax.axhline(-30, color="#009E73", ls="--", lw=1, label="−30%: partial response (from baseline)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(best)))
    ax.set_xticklabels(best["SUBJID"], rotation=90, fontsize=7)
    ax.set_ylabel(f"Best change in target sum (%)\n({study.response_criteria})")
    ax.set_xlabel("Patient")
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[g], label=f"Group {g}") for g in colors] + ax.get_legend_handles_labels()[0]
    ax.legend(handles=row_major(handles, 2), fontsize=7, loc="upper right", ncol=2)
    lo = min(-40.0, float(best["PCHG"].min()) - 10 if len(best) else -40.0)
    hi = max(40.0, float(best["PCHG"].max()) + 10 if len(best) else 40.0)
    ax.set_ylim(lo, hi + 25)
    fig.tight_layout()
    return fig


def progression_thresholds(rows: "pd.DataFrame", criteria: str) -> list[tuple[float, float]]:
    """(day, percent of baseline) where one patient's target sum would count as progression, from each visit on.

    Progression runs from the nadir (the smallest sum so far, baseline included): a sum of at least
    ``1 + PD_INCREASE`` times the nadir (and, except under mRECIST, at least ``PD_ABSOLUTE_MM`` above it).
    ``rows``: the patient's OVRLRESP rows in date order with BASE, TSUM and ADY. Only the stretches where
    the nadir is below baseline are returned: otherwise the threshold is the +20% line from baseline.
    """
    from earlyphase.derive.response import PD_ABSOLUTE_MM, PD_INCREASE

    out: list[tuple[float, float]] = []
    base = float(rows["BASE"].iloc[0])
    if not base > 0:
        return out
    nadir = base
    for ady, tsum in zip(rows["ADY"].astype(float), rows["TSUM"].astype(float)):
        if tsum == tsum:  # not NaN
            nadir = min(nadir, tsum)
        if nadir < base:
            level = (1 + PD_INCREASE) * nadir
            if criteria != "mRECIST":
                level = max(level, nadir + PD_ABSOLUTE_MM)
            out.append((ady, 100.0 * (level - base) / base))
    return out


def spider_figure(adrs: "pd.DataFrame", study: "Study") -> "Figure":
    """Percent change of the target sum from baseline over time, one line per patient, with the two thresholds:
    partial response at -30% from baseline, and progression at +20% from each patient's nadir."""
    from earlyphase.derive.response import PD_INCREASE, PR_DECREASE

    plt = _mpl()
    v = adrs[(adrs["PARAMCD"] == "OVRLRESP") & adrs["PCHG"].notna()].sort_values("ADT")
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 4.0))
    groups = sorted(v["TRT01P"].unique(), key=study.level_of)
    colors = group_colors(groups, study)
    dpm = study.analysis.days_per_month
    criteria = study.response_criteria
    any_nadir = False
    for usubjid, rows in v.groupby("USUBJID"):
        g = rows["TRT01P"].iloc[0]
        x = [0.0] + ((rows["ADY"].astype(float) - 1) / dpm).tolist()
        y = [0.0] + rows["PCHG"].tolist()
        ax.plot(x, y, "-o", color=colors[g], ms=3, lw=1.1, alpha=0.9)
        steps = progression_thresholds(rows, criteria)
        if steps:
            any_nadir = True
            sx = [(d - 1) / dpm for d, _ in steps] + [x[-1]]
            sy = [lvl for _, lvl in steps] + [steps[-1][1]]
            ax.step(sx, sy, where="post", color=colors[g], ls=":", lw=0.9, alpha=0.7)
        pd_rows = rows[rows["PROGFL"] == "Y"]
        if not pd_rows.empty:
            ax.plot((float(pd_rows["ADY"].iloc[0]) - 1) / dpm, pd_rows["PCHG"].iloc[0], "X", color="#D55E00", ms=6,
                    mec="black", mew=0.4, zorder=4)
    up, down = 100 * PD_INCREASE, -100 * PR_DECREASE
    ax.axhline(up, color="#D55E00", ls="--", lw=1)
    ax.axhline(down, color="#009E73", ls="--", lw=1)
    ax.axhline(0, color="black", lw=0.6)
    # each reference line is labelled at its end (outside the data) and named in the legend
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transAxes, ax.transData)
    for level, color in ((up, "#D55E00"), (down, "#009E73")):
        ax.text(1.008, level, f"{level:+g}%".replace("-", "−"), transform=tr, ha="left", va="center", fontsize=7, color=color)
    ax.set_xlabel(f"Months since {time_origin(study)}")
    ax.set_ylabel("Change in target sum from baseline (%)")
    handles = [Line2D([], [], color=colors[g], label=f"Group {g}") for g in groups]
    handles.append(Line2D([], [], marker="X", ls="", color="#D55E00", mec="black", label="Progression"))
    # groups above the plot; the reference lines (longer labels) in one column under it, so nothing overlaps
    ncol = min(len(handles), 5)
    ax.add_artist(ax.legend(handles=row_major(handles, ncol), fontsize=7, loc="lower left",
                            bbox_to_anchor=(0.0, 1.01), ncol=ncol, frameon=False, borderaxespad=0.0))
    refs = [Line2D([], [], color="#009E73", ls="--", label=f"−{-down:g}% from baseline: partial response"),
            Line2D([], [], color="#D55E00", ls="--", label=f"+{up:g}% from baseline: progression while the nadir is the baseline")]
    if any_nadir:
        refs.append(Line2D([], [], color="grey", ls=":", label=f"nadir + {up:g}%: the patient's own progression threshold"))
    ax.legend(handles=refs, fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.17), ncol=1, frameon=False,
              borderaxespad=0.0)
    ax.grid(alpha=0.25)
    # tight_layout sees only the last legend: keep room above the plot for the groups' rows
    rows = math.ceil(len(handles) / ncol)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.1 + 0.17 * rows) / fig.get_figheight()))
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
