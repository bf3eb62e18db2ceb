"""The dashboards' plots (matplotlib, Agg) as SVG text: enrolment over time by site, adverse events by term
and grade, DLTs by level, open queries by age. Each takes a ``derive.dashboards.Dashboard`` and returns
the SVG document (None when there is nothing to draw)."""

from __future__ import annotations

import io
from datetime import date

from earlyphase.report.figures import PALETTE, _mpl

GRADE_COLOURS = ("#9ecae1", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000")  # grades 1..5, light to dark


def _svg(fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    _mpl().close(fig)
    return out.getvalue()


def enrolment_figure(board) -> str | None:
    """Cumulative patients enrolled over time, one step line per site (and the total)."""
    if not board.enrolments:
        return None
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    by_site: dict[str, list[date]] = {}
    for day, site, _ in board.enrolments:
        by_site.setdefault(site, []).append(date.fromisoformat(day))
    for i, (site, days) in enumerate(sorted(by_site.items())):
        ax.step(days + [board.as_of], list(range(1, len(days) + 1)) + [len(days)], where="post",
                color=PALETTE[i % len(PALETTE)], label=f"{site} ({len(days)})")
    if len(by_site) > 1:
        every = sorted(date.fromisoformat(d) for d, _, _ in board.enrolments)
        ax.step(every + [board.as_of], list(range(1, len(every) + 1)) + [len(every)], where="post", color="#444",
                linestyle="--", label=f"all shown ({len(every)})")
    ax.set_ylabel("patients enrolled")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.autofmt_xdate()
    return _svg(fig)


def adverse_event_figure(board, top: int = 12) -> str | None:
    """Events per term (the ``top`` most frequent), stacked by CTCAE grade."""
    if not board.ae_by_term:
        return None
    plt = _mpl()
    terms = list(board.ae_by_term)[:top][::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(terms) + 0.9))
    left = [0] * len(terms)
    for grade in range(1, 6):
        counts = [board.ae_by_term[t].get(grade, 0) for t in terms]
        if any(counts):
            ax.barh(terms, counts, left=left, color=GRADE_COLOURS[grade - 1], label=f"grade {grade}")
            left = [a + b for a, b in zip(left, counts)]
    ax.set_xlabel("events")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", frameon=False, ncol=5)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def bars_figure(labels: list[str], values: list[int], ylabel: str, colour: str = PALETTE[4]) -> str | None:
    """A plain bar chart (DLTs by level, open queries by age)."""
    if not labels or not any(values):
        return None
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(4.2, 2.3))
    ax.bar(labels, values, color=colour)
    for x, v in enumerate(values):
        ax.annotate(str(v), (x, v), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def dashboard_figures(board) -> dict[str, str | None]:
    """Every dashboard plot, by name."""
    return {
        "enrolment": enrolment_figure(board),
        "adverse_events": adverse_event_figure(board),
        "dlt": bars_figure([f"{g}" for g in board.groups], [board.dlt_by_level[g] for g in board.groups],
                           "DLT events", PALETTE[5]),
        "queries": bars_figure(list(board.query_ages), list(board.query_ages.values()), "open queries"),
    }
