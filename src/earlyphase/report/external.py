"""Figures of published evidence: a rebuilt curve over its digitised points, and the trial beside external arms."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Sequence

from earlyphase.report.figures import FIGURE_WIDTH_IN, PALETTE, _mpl, nice_step, number_at_risk

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.external.compare import Comparison
    from earlyphase.external.curve import DigitisedCurve
    from earlyphase.external.reconstruct import Reconstruction

__all__ = ["reconstruction_figure", "comparison_figure", "comparison_plot", "figure_bytes", "external_evidence_items"]

EXTERNAL_STYLES = (("#555555", "--"), ("#000000", ":"), ("#888888", "-."), ("#333333", (0, (5, 1, 1, 1, 1, 1))))


def figure_bytes(fig, kind: str) -> bytes:
    """The figure as PNG (150 dpi) or SVG bytes; the figure is closed."""
    plt = _mpl()
    buf = io.BytesIO()
    fig.savefig(buf, format=kind, **({"dpi": 150} if kind == "png" else {}))
    plt.close(fig)
    return buf.getvalue()


def _ticks(max_t: float) -> list[float]:
    step = nice_step(max_t)
    ticks = [i * step for i in range(int(math.floor(max_t / step)) + 1)]
    if ticks[-1] < max_t:
        ticks.append(ticks[-1] + step)
    return ticks


def reconstruction_figure(result: "Reconstruction", curve: "DigitisedCurve", kind: str = "png") -> bytes:
    """The rebuilt Kaplan–Meier curve over the digitised points, with published and rebuilt numbers at risk."""
    from earlyphase.stats import kaplan_meier

    plt = _mpl()
    km = kaplan_meier(result.time, result.event)
    c = km[km.groups[0]]
    fit = result.fit
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, 5.0))
    ax = fig.add_axes([0.11, 0.33, 0.86, 0.58])
    ax.plot(curve.time, curve.survival, "o", ms=2.5, color="#D55E00", alpha=0.6, label="digitised points")
    ax.step([0.0, *c.time.tolist()], [1.0, *c.survival.tolist()], where="post", color="#0072B2", lw=1.5,
            label=f"rebuilt ({result.n} patients, {result.events} events)")
    cens = c.n_censor > 0
    ax.plot(c.time[cens], c.survival[cens], "+", color="#0072B2", ms=6)
    max_t = float(max(curve.time.max(), c.time.max()))
    ticks = [t for t in fit.at_risk_time if t <= max_t * 1.05] or _ticks(max_t)
    ax.set_xlim(0, max(ticks[-1], max_t))
    ax.set_ylim(-0.02, 1.03)
    ax.set_ylabel("Survival")
    ax.set_xlabel("Time (the figure's unit)")
    ax.grid(alpha=0.25)
    ax.set_title(f"{result.arm}: largest gap {fit.largest_gap:.3f}, mean gap {fit.mean_gap:.4f}", fontsize=9)
    ax.legend(loc="lower left", frameon=False)
    tab = fig.add_axes([0.11, 0.03, 0.86, 0.16], sharex=ax)
    tab.axis("off")
    tab.set_ylim(1.6, -1.2)
    tab.text(0.0, -0.9, "Number at risk", ha="left", fontsize=8, fontweight="bold", transform=tab.get_yaxis_transform())
    for row, (name, values) in enumerate((("published", fit.at_risk_published), ("rebuilt", fit.at_risk_rebuilt))):
        tab.text(-0.03, row, name, ha="right", va="center", fontsize=8, transform=tab.get_yaxis_transform())
        for t, n in zip(fit.at_risk_time, values):
            if t <= ax.get_xlim()[1]:
                tab.text(t, row, str(int(n)), ha="center", va="center", fontsize=7)
    return figure_bytes(fig, kind)


def comparison_figure(comparison: "Comparison", ylabel: str, kind: str = "png") -> bytes:
    """:func:`comparison_plot` as PNG or SVG bytes."""
    return figure_bytes(comparison_plot(comparison, ylabel), kind)


def comparison_plot(comparison: "Comparison", ylabel: str):
    """Kaplan–Meier curves of the trial's arms (solid) and the external arms (dashed), medians in the legend,
    numbers at risk under the axis, and the non-randomised caveat printed on the figure (a matplotlib Figure)."""
    plt = _mpl()
    from earlyphase.report.axis import _ticks_to, choose_time_axis

    arms = list(comparison.arms)
    # Each arm's own axis (the report's rule: a few long survivors do not squeeze the rest); the widest wins.
    end, ticks = _ticks_to(max(choose_time_axis(a.time.tolist()).end for a in arms))
    ticks = list(ticks)
    beyond = [f"{a.label} {int((a.time > end).sum())}" for a in arms if (a.time > end).any()]
    n_rows = len(arms)
    legend_h = 0.35 + 0.2 * n_rows
    plot_h, gap_h = 3.2, 0.5
    table_h = 0.24 * n_rows + 0.3
    note_h = 0.5
    total_h = legend_h + plot_h + gap_h + table_h + note_h
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, total_h))
    left, width = 0.25, 0.72

    def box(top_in, h_in):
        return [left, 1 - (top_in + h_in) / total_h, width, h_in / total_h]

    ax = fig.add_axes(box(legend_h, plot_h))
    handles = []
    trial_i = ext_i = 0
    colors = {}
    for arm in arms:
        if arm.external:  # greys and dashes, each external arm its own
            color, style = EXTERNAL_STYLES[ext_i % len(EXTERNAL_STYLES)]
            ext_i += 1
        else:
            color, style = PALETTE[trial_i % len(PALETTE)], "-"
            trial_i += 1
        colors[arm.label] = color
        c = arm.curve
        med, lo, up = c.median
        label = (f"{arm.label} (n={c.n}{', rebuilt' if arm.external else ''}): median "
                 f"{_fmt(med)} ({_fmt(lo)}–{_fmt(up)})")
        (h,) = ax.step([0.0, *c.time.tolist()], [1.0, *c.survival.tolist()], where="post", color=color, lw=1.7,
                       ls=style, label=label)
        handles.append(h)
        cens = c.n_censor > 0
        if cens.any() and not arm.external:  # a rebuilt arm's censoring times are placed, not observed
            ax.plot(c.time[cens], c.survival[cens], "+", color=color, ms=8, mew=1.4)
    ax.set_xlim(0, ticks[-1])
    ax.set_ylim(-0.02, 1.03)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_ylabel(ylabel)
    ax.set_xlabel(f"Months ({comparison.time_origin_note})" if comparison.time_origin_note else "Months")
    ax.grid(alpha=0.25)
    # the legend spans the figure's width above the plot, so it never hides a curve nor runs off the page
    lx = (0.02 - left) / width
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(lx, 1.02, 1.0 - lx, 0.1), mode="expand", ncol=1,
              frameon=False, title=f"Arm (n; rebuilt = from a published curve): median months ({comparison.conf_level * 100:g}% CI)", title_fontsize=8,
              fontsize=8, borderaxespad=0.0)
    tab = fig.add_axes(box(legend_h + plot_h + gap_h, table_h), sharex=ax)
    tab.set_ylim(n_rows - 0.5, -1.2)
    tab.axis("off")
    # x in the table's axes units, so the heading starts at the figure's left edge
    tab.text((0.01 - left) / width, -1.0, "Number at risk", ha="left", va="center", fontsize=8, fontweight="bold",
             transform=tab.get_yaxis_transform())
    for i, arm in enumerate(arms):
        for tk, n in zip(ticks, number_at_risk(arm.time.tolist(), ticks)):
            tab.text(tk, i, str(n), ha="center", va="center", fontsize=8, color=colors[arm.label])
        tab.text(-0.03, i, _short(arm.label), ha="right", va="center", fontsize=7.5, color=colors[arm.label],
                 fontweight="bold", transform=tab.get_yaxis_transform())
    cut = (f"Time axis ends at {end:g} months; patients followed longer: {', '.join(beyond)}. " if beyond else "")
    import textwrap

    fig.text(0.02, 0.01, textwrap.fill(cut + "Not randomised: " + comparison.short_caveat, 125), fontsize=7,
             style="italic", ha="left", va="bottom")
    return fig


def _fmt(x: float, digits: int = 1) -> str:
    return "NR" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _short(label: str, width: int = 24) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def external_evidence_items(ds) -> list[tuple[str, str, str, object, object]]:
    """The report's external-evidence section from the study file's ``external_evidence`` curves.

    One (figure key, title, caption, matplotlib figure, table) per endpoint that has published curves and trial
    data. Each curve is rebuilt (Guyot 2012) and compared with all the trial's patients; a curve that cannot be
    rebuilt, or a horizon past the follow-up, becomes a note of the table instead of stopping the report.
    """
    from earlyphase.errors import InputError
    from earlyphase.external import DigitisedCurve, RiskTable, reconstruct_ipd
    from earlyphase.external.compare import UNITS_PER_MONTH, ComparedArm, compare_arms, trial_arms
    from earlyphase.report.trace import Cell, TraceTable, text
    from earlyphase.report.words import endpoint_label, time_origin

    study = ds.study
    evidence = study.external_evidence
    names = {"OS": "Overall survival", "PFS": "Progression-free survival"}
    out = []
    for paramcd in ("PFS", "OS"):
        curves = [c for c in evidence.curves if c.endpoint == paramcd]
        if not curves or not (ds.adtte["PARAMCD"] == paramcd).any():
            continue
        label = endpoint_label(study, paramcd, names[paramcd])
        notes: list[str] = []
        external, fits = [], {}
        for c in curves:
            try:
                rebuilt = reconstruct_ipd(
                    DigitisedCurve.from_points(c.curve.time, c.curve.survival, scale=c.curve.scale),
                    RiskTable.from_rows(c.at_risk.time, c.at_risk.n_risk), total_events=c.total_events, arm=c.label)
            except InputError as exc:
                notes.append(f"{c.label} could not be rebuilt: {exc.problems[0].message}.")
                continue
            months = rebuilt.time / UNITS_PER_MONTH[c.time_unit]
            external.append(ComparedArm(c.label, months, rebuilt.event, external=True))
            f = rebuilt.fit
            fits[c.label] = (f"{c.label}: {c.source}; rebuilt from {f.n_points} digitised points as {rebuilt.n} "
                             f"patients and {rebuilt.events} events"
                             + (f" (published {c.total_events})" if c.total_events is not None else "")
                             + f"; largest gap to the published curve {f.largest_gap:.3f}, numbers at risk within "
                             f"{f.largest_at_risk_gap} of the table.")
        if not external:
            continue
        trial = trial_arms(ds.adtte, study, paramcd)
        origin = f"trial: since {time_origin(study)}"
        try:
            comp = compare_arms(trial, external, endpoint=label, horizon=evidence.rmst_horizon_months,
                                conf_level=study.analysis.conf_level, time_origin_note=origin)
        except InputError as exc:
            notes.append(f"RMST horizon {evidence.rmst_horizon_months:g} months not used: {exc.problems[0].message}.")
            comp = compare_arms(trial, external, endpoint=label, conf_level=study.analysis.conf_level,
                                time_origin_note=origin)
        data = ds.adtte[ds.adtte["PARAMCD"] == paramcd]
        everyone = {u: (f"ADTTE {paramcd}",) for u in data["USUBJID"]}
        events = {u: (f"ADTTE {paramcd}",) for u, c in zip(data["USUBJID"], data["CNSR"]) if int(c) == 0}
        by_ext = {c.external_arm: c for c in comp.contrasts}
        pct = f"{comp.conf_level * 100:g}% CI"
        rows = []
        for arm in comp.arms:
            med, lo, up = arm.curve.median
            c = by_ext.get(arm.label)
            r = (c.rmst_trial if c else next(iter(by_ext.values())).rmst_trial) if not arm.external else c.rmst_external
            row = [text(arm.label), text("published, rebuilt" if arm.external else "this trial"),
                   Cell(str(arm.n), everyone) if not arm.external else text(arm.n, "right"),
                   Cell(str(arm.events), events) if not arm.external else text(arm.events, "right"),
                   text(f"{_fmt(med)} ({_fmt(lo)}–{_fmt(up)})", "right"), text(f"{r:.1f}", "right")]
            if c is None:
                row += [text("", "right")] * 3
            else:
                row += [text(f"{c.rmst_difference:.1f} ({c.rmst_lower:.1f} to {c.rmst_upper:.1f})", "right"),
                        text(f"{_fmt(c.hazard_ratio, 2)} ({_fmt(c.hr_lower, 2)}–{_fmt(c.hr_upper, 2)})", "right"),
                        text(_p(c.logrank_p_value), "right")]
            rows.append(row)
        table = TraceTable(
            key=f"external_{paramcd.lower()}",
            title=f"{label}: the trial beside published curves",
            columns=["Arm", "Source", "n", "Events", f"Median, months ({pct})",
                     f"RMST to {comp.horizon:.1f} months", f"Trial − published RMST ({pct})",
                     f"HR trial vs published ({pct})", "Log-rank P"],
            rows=rows,
            notes=[f"RMST horizon: {comp.horizon:.1f} months ({comp.horizon_note}).", *fits.values(), *notes,
                   *comp.caveats],
        )
        caption = (f"{label}: all the trial's patients (solid, months since {time_origin(study)}) beside published "
                   "arms rebuilt from their Kaplan–Meier figures (dashed, months from each trial's own origin). "
                   "Not randomised: read it as context, not as a comparison of treatments.")
        out.append((f"external_{paramcd.lower()}", f"{label} beside published curves", caption,
                    comparison_plot(comp, f"{label} (probability)"), table))
    return out


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
