"""The report document: analysis datasets -> tables, figures, methods -> one self-contained HTML (and PDF).

Output layout of ``out_dir``: ``report.html`` (figures embedded as SVG data URIs, CSS inline,
no network), ``report.pdf`` (with ``pdf=True``), ``figures/`` (PNG and SVG), ``tables/`` (CSV),
``adam/`` (adsl.csv, adae.csv, adrs.csv, adtte.csv).
"""

from __future__ import annotations

import base64
import html
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive import AnalysisDatasets


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    caption: str
    svg: bytes


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and what it holds."""

    out_dir: Path
    html: Path
    pdf: Path | None
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]
    datasets: tuple[Path, ...]
    seconds: dict[str, float] = field(default_factory=dict)
    mode: str = "identified"  # or "de-identified" (earlyphase.report.deidentify)

    def summary(self) -> str:
        lines = [f"Report written to {self.html} ({self.mode.upper() if self.mode == 'identified' else self.mode}; "
                 f"rules in {self.out_dir / 'manifest.json'})"]
        if self.pdf:
            lines.append(f"PDF: {self.pdf}")
        lines.append(f"{len(self.figures)} figure files in {self.out_dir / 'figures'}, {len(self.tables)} tables in "
                     f"{self.out_dir / 'tables'}, analysis datasets in {self.out_dir / 'adam'}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir), "html": str(self.html), "pdf": str(self.pdf) if self.pdf else None,
            "figures": [str(p) for p in self.figures], "tables": [str(p) for p in self.tables],
            "datasets": [str(p) for p in self.datasets], "seconds": self.seconds, "mode": self.mode,
        }


def software_versions() -> dict[str, str]:
    import matplotlib
    import numpy
    import pandas
    import scipy

    import earlyphase

    return {"earlyphase": earlyphase.__version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "pandas": pandas.__version__, "scipy": scipy.__version__, "matplotlib": matplotlib.__version__}


def report_from_database(db: Any, out_dir: str | Path, pdf: bool = False,
                         time_axis: str | float | None = None, *, identified: bool = False,
                         key_file: str | Path | None = None, small_cells: int | None = None,
                         username: str | None = None, progress: Any = None) -> ReportResult:
    """Read the trial database (engine, URL or SQLite path), derive the datasets, write the report.

    ``time_axis`` ("bulk", "full" or months) overrides the study file's ``analysis.time_axis``.
    De-identified unless ``identified=True`` (see :mod:`earlyphase.report.deidentify`): pseudonyms under
    the key of ``key_file`` (or ``$EARLYPHASE_EXPORT_KEY``, else a key used once), counts below
    ``small_cells`` (default 3) suppressed. ``username``: who builds it (the build is an audited event).
    ``progress``: called with the name of each step as it ends (``datasets``, ``statistics``, ``tables``,
    ``figures``, ``html``, ``pdf``, ``audited``), for a progress display.
    """
    from earlyphase.derive import derive_datasets
    from earlyphase.derive.deidentify import pseudonymise_datasets
    from earlyphase.report.deidentify import ReportPrivacy

    privacy = _privacy(identified, key_file, small_cells)
    t0 = time.perf_counter()
    ds = derive_datasets(db)
    if not identified:
        ds = pseudonymise_datasets(ds, privacy.pseudonyms)
    if progress:
        progress("datasets")
    result = build_report(ds, out_dir, pdf=pdf, time_axis=time_axis, privacy=privacy, progress=progress)
    _audit_build(db, result, privacy, username)
    if progress:
        progress("audited")
    result.seconds["derive"] = time.perf_counter() - t0 - sum(result.seconds.values())
    return result


def _audit_build(db: Any, result: ReportResult, privacy, username: str | None) -> None:
    """A report build is an audited event (its mode, where it went, the HTML's SHA-256). When it cannot be
    audited, the report is taken back: no patient data leaves the database without a trace.

    (The one place the report layer writes through records: the audit log's own API, not trial data.)
    """
    import getpass
    import hashlib

    from earlyphase.records import make_engine, transaction
    from earlyphase.records.audit import write_event

    engine = db if hasattr(db, "connect") else make_engine(str(db), must_exist=True)
    try:
        with transaction(engine) as session:
            try:
                who = username or getpass.getuser()
            except Exception:  # no login name (some containers)
                who = "system"
            write_event(session, "report_build", who, {
                "mode": result.mode, "out_dir": str(result.out_dir.resolve()),
                "html_sha256": hashlib.sha256(result.html.read_bytes()).hexdigest(),
                "small_cells": None if privacy.identified else privacy.small_cells})
    except BaseException as exc:
        out = result.out_dir
        for path in [result.html, result.pdf, *result.figures, *result.tables, *result.datasets,
                     out / "adam" / "README.txt", out / "manifest.json"]:
            if path is not None:
                Path(path).unlink(missing_ok=True)
        from sqlalchemy.exc import DBAPIError

        from earlyphase.errors import ConfigurationError

        if isinstance(exc, DBAPIError):  # an old schema without the audit tables, a read-only database...
            first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
            raise ConfigurationError(
                f"the report was not kept: its audit event could not be written ({first}). Is the database at the "
                "newest schema with its audit key? The report's files were removed") from None
        raise
    finally:
        if engine is not db:
            engine.dispose()


def _privacy(identified: bool, key_file, small_cells):
    """The report's mode, checked before any work (a bad key or threshold writes nothing)."""
    from earlyphase.errors import InputError
    from earlyphase.privacy import DEFAULT_SMALL_CELL, pseudonymiser_from
    from earlyphase.report.deidentify import ReportPrivacy

    k = DEFAULT_SMALL_CELL if small_cells is None else small_cells
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise InputError.single("small_cells", small_cells, "range",
                                "the small-cell threshold is a whole number of patients from 1 (no suppression) to 100")
    if identified:
        return ReportPrivacy(identified=True, small_cells=k)
    return ReportPrivacy(identified=False, pseudonyms=pseudonymiser_from(key_file), small_cells=k)


def build_report(ds: "AnalysisDatasets", out_dir: str | Path, pdf: bool = False,
                 time_axis: str | float | None = None, privacy=None, progress: Any = None) -> ReportResult:
    """Write the whole report for the analysis datasets ``ds`` into ``out_dir``.

    ``time_axis`` ("bulk", "full" or months) overrides the study file's ``analysis.time_axis``.
    ``privacy`` (:class:`earlyphase.report.deidentify.ReportPrivacy`): the mode; None writes ``ds`` as given,
    labelled identified (``report_from_database`` pseudonymises the datasets first for the de-identified mode).
    Files and folders written are private to the user (0600 / 0700).
    """
    from earlyphase.privacy.files import private_output
    from earlyphase.report.deidentify import ReportPrivacy

    privacy = privacy or ReportPrivacy(identified=True)
    with private_output(out_dir):
        return _build_report(ds, out_dir, pdf, time_axis, privacy, progress)


def _build_report(ds: "AnalysisDatasets", out_dir: str | Path, pdf: bool, time_axis: str | float | None,
                  privacy, progress: Any = None) -> ReportResult:
    from earlyphase.report import figures as F
    from earlyphase.report import tables as T
    from earlyphase.report.axis import choose_time_axis
    from earlyphase.report.graded import graded_form_tables
    from earlyphase.report.methods import methods_paragraphs
    from earlyphase.report.publication import published_vs_reproduced
    from earlyphase.report.survival import analyse_endpoint
    from earlyphase.report.words import administration, endpoint_label, in_sentence, time_origin

    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now
        if progress:
            progress(name)

    out = Path(out_dir)
    for sub in ("figures", "tables", "adam"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    if pdf:  # fail before doing the work when the PDF tool is missing
        from earlyphase.report.pdf import find_chromium

        find_chromium()
    from earlyphase.report.deidentify import write_adam, write_manifest

    dataset_paths = tuple(write_adam(ds, out / "adam", privacy).values())
    analyses = [a for a in (
        analyse_endpoint(ds.adtte, ds.study, "PFS", endpoint_label(ds.study, "PFS", "Progression-free survival")),
        analyse_endpoint(ds.adtte, ds.study, "OS", endpoint_label(ds.study, "OS", "Overall survival")))
        if a is not None]
    lap("statistics")

    sections: list[tuple[str, str, list]] = []  # (anchor, heading, items: TraceTable | Figure | str)
    safety = [T.ae_overview_table(ds), T.ae_soc_term_table(ds), T.ae_soc_term_table(ds, related=True),
              T.ae_max_grade_table(ds), T.ae_max_grade_table(ds, related=True), T.dlt_table(ds),
              *T.special_interest_tables(ds), *graded_form_tables(ds)]
    response = [T.best_response_table(ds)]
    df = ds.study.dose_finding
    if df.toxicity_order is not None or df.order_from_regimens:  # dose x schedule declared: the grid panel
        grid_table = T.dose_schedule_table(ds)
        if grid_table is not None:
            response.append(grid_table)
    survival = [T.median_table(analyses, ds), T.landmark_table(analyses, ds), T.cox_table(analyses, ds),
                T.followup_table(analyses, ds)] if analyses else []
    survival = [t for t in survival if t.rows]  # a table is never a header without rows
    lap("tables")

    figs: dict[str, Figure] = {}

    def add_fig(key, title, caption, fig):
        data = F.save_figure(fig, out / "figures", key)
        figs[key] = Figure(key, title, caption, data["svg"])

    ylabels = {ea.paramcd: f"{ea.label} (probability)" for ea in analyses}
    axis_setting = ds.study.analysis.time_axis if time_axis is None else time_axis
    axes = {}  # one axis per endpoint; the swimmer plot shares overall survival's
    for ea in analyses:
        months = ea.data["AVAL"].to_numpy(dtype=float) / ds.study.analysis.days_per_month
        axis = axes[ea.paramcd] = choose_time_axis(months, axis_setting)
        note = (" " + axis.note(int((months > axis.end).sum()))) if axis.truncated else ""
        add_fig(f"km_{ea.paramcd.lower()}", f"Kaplan-Meier: {in_sentence(ea.label)} by group",
                f"{ea.label} by group (months since {time_origin(ds.study)}). "
                "+ = censored. Legend: median (95% CI) per group. Number at risk = patients with time ≥ the tick."
                + note, F.km_figure(ea, ds.study, ylabels.get(ea.paramcd, "Survival probability"), axis))
    v = ds.adrs[(ds.adrs["PARAMCD"] == "OVRLRESP") & ds.adrs["PCHG"].notna()]
    if not v.empty:
        add_fig("waterfall", "Waterfall: best change in target lesions",
                "Best (smallest) change of the target sum from baseline per patient, coloured by group.",
                F.waterfall_figure(ds.adrs, ds.study))
        add_fig("spider", "Spider: change in target lesions over time",
                "Change of the target sum from baseline at each assessment; X = progression. Dashed lines: −30% "
                "from baseline (partial response) and +20% (progression while the nadir is the baseline). "
                "Progression is measured from the nadir, the smallest sum so far: once a patient's sum falls below "
                "baseline, the dotted line in the patient's colour is that patient's threshold (nadir + 20%"
                + ("" if ds.study.response_criteria == "mRECIST" else " and at least 5 mm") + ").",
                F.spider_figure(ds.adrs, ds.study))
    if analyses and (ds.adtte["PARAMCD"] == "OS").any():
        doses = ds.source.tables["administrations"].copy()
        doses["USUBJID"] = doses["patient_id"].map(ds.adsl.set_index("SRCSEQ")["USUBJID"])
        add_fig("swimmer", "Swimmer plot: each patient's course",
                f"Bar from {time_origin(ds.study)} to death or last contact; ticks = "
                f"{administration(ds.study, plural=True)}; ▲ first response of a patient whose confirmed best "
                "overall response is CR or PR (△ a response not confirmed); X progression; ■ death; → alive at "
                "cut-off.", F.swimmer_figure(ds.adsl, ds.adtte, ds.adrs, doses, ds.study, axes.get("OS")))
    external_items: list = []
    if ds.study.external_evidence.curves:
        from earlyphase.report.external import external_evidence_items

        for key, title, caption, fig, table in external_evidence_items(ds):
            add_fig(key, title, caption, fig)
            external_items += [figs[key], table]
    lap("figures")

    pub = published_vs_reproduced(ds, analyses) if ds.synthetic else None
    sections.append(("disposition", "Disposition", [T.disposition_table(ds)]))
    sections.append(("baseline", "Baseline characteristics", [T.baseline_table(ds)]))
    sections.append(("exposure", "Exposure", [T.exposure_table(ds)]))
    from earlyphase.report.decisions import decisions_table

    decisions = decisions_table(ds, identified=privacy.identified)
    if decisions is not None:
        sections.append(("decisions", "Dose-escalation decisions", [decisions]))
    sections.append(("safety", "Safety", safety))
    sections.append(("response", "Tumour response", response + [figs[k] for k in ("waterfall", "spider") if k in figs]))
    surv_items: list = [figs[k] for k in ("km_pfs", "km_os") if k in figs] + survival
    if "swimmer" in figs:
        surv_items.append(figs["swimmer"])
    sections.append(("survival", " and ".join(ea.label for ea in analyses) or "Survival", surv_items))
    if external_items:
        sections.append(("external", "External evidence (not randomised)", external_items))
    if pub is not None:
        sections.append(("published", "Published versus reproduced (digital twin)", [pub]))

    sections = privacy.apply(sections)  # de-identified: small counts suppressed, no patient row ids
    table_paths = []
    all_tables = [item for _, _, items in sections for item in items if hasattr(item, "rows")]
    for t in all_tables:
        p = out / "tables" / f"{t.key}.csv"
        t.write_csv(p)
        table_paths.append(p)
    html_text = render_html(ds, sections, analyses, privacy.methods(methods_paragraphs(ds)), all_tables, privacy)
    html_path = out / "report.html"
    html_path.write_text(html_text, encoding="utf-8")
    lap("html")
    pdf_path = None
    if pdf:
        from earlyphase.report.pdf import html_to_pdf

        pdf_path = html_to_pdf(html_path, out / "report.pdf")
        lap("pdf")
    fig_paths = tuple(sorted((out / "figures").glob("*.*")))
    written = [html_path, *([pdf_path] if pdf_path else []), *fig_paths, *table_paths, *dataset_paths,
               out / "adam" / "README.txt"]
    write_manifest(out, privacy.manifest(ds, written, out))
    return ReportResult(out, html_path, pdf_path, fig_paths, tuple(table_paths), dataset_paths, seconds,
                        mode="identified" if privacy.identified else "de-identified")


def _key_results(ds, analyses) -> list:
    """Headline sentences (HTML); every median links to the median table and names its patients on hover."""
    import math

    from markupsafe import Markup, escape

    from earlyphase.report.words import in_sentence

    out = []
    f = lambda x: "NA" if math.isnan(x) else f"{x:.1f}"  # noqa: E731  (NA as R prints it)
    for ea in analyses:
        parts = []
        for g in [None] + list(ea.groups):
            m, lo, up = ea.median(g)
            users = sorted(ea.data["USUBJID"] if g is None else ea.data.loc[ea.data["TRT01P"] == g, "USUBJID"])
            title = f"{len(users)} patient(s): " + ", ".join(users)
            parts.append(Markup('{} <a class="trace" href="#table-medians" title="{}">{} ({}–{})</a>').format(
                "all" if g is None else g, title, f(m), f(lo), f(up)))
        p = (f"; log-rank P = {ea.logrank.p_value:.4f}, trend P = {ea.trend.p_value:.4f}"
             if ea.logrank is not None else "")
        out.append(Markup("Median {}, months (95% CI): ").format(in_sentence(ea.label)) + Markup(", ").join(parts)
                   + escape(p) + Markup("."))
    return out


# in print, a table of at most this many rows moves to the next page whole; a longer one flows on with its header
SHORT_TABLE_ROWS = 8


def synthetic_kind(ds) -> str:
    """What the synthetic data are: a twin of a publication (when the study has one bundled) or a data set
    generated from a seeded profile."""
    from earlyphase.report.publication import load_publication

    if load_publication(ds.study.study_id) is not None:
        return "a digital twin generated to be consistent with the published abstract"
    return "generated from a seeded profile of the study: invented patients, no real person"


def render_html(ds, sections, analyses, methods, all_tables, privacy=None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("earlyphase.report", "templates"), autoescape=select_autoescape(["html"]))
    tmpl = env.get_template("report.html")
    from earlyphase.report.appendix import compact_ids, display_id, number_lines, patient_records

    # the appendix: one line per table row (patients of each column), then each patient's records once;
    # every traced cell keeps its own anchor there, so no link is dead on screen or in the PDF
    lines = number_lines(all_tables)
    patients = patient_records(all_tables)
    short = {p.subject: display_id(p.subject, ds.study.study_id) for p in patients}
    anchor_map: dict[str, str] = {}
    rendered_sections = []
    n_table = n_fig = 0
    for anchor, heading, items in sections:
        blocks = []
        for item in items:
            if hasattr(item, "rows"):
                n_table += 1
                blocks.append({"kind": "table", "number": n_table, "title": item.title, "key": item.key,
                               "short": len(item.rows) <= SHORT_TABLE_ROWS,
                               "html": Markup(item.to_html(anchor_map))})
            else:
                n_fig += 1
                uri = "data:image/svg+xml;base64," + base64.b64encode(item.svg).decode("ascii")
                blocks.append({"kind": "figure", "number": n_fig, "title": item.title, "key": item.key,
                               "caption": item.caption, "src": uri,
                               # Kaplan-Meier figures are tall (curves + number at risk): printed a little
                               # smaller, two of them and a table share fewer pages
                               "css": "block tall" if item.key.startswith("km_") else "block"})
        rendered_sections.append({"anchor": anchor, "heading": heading, "blocks": blocks})
    s = ds.study
    return tmpl.render(
        study=s, ds=ds, sections=rendered_sections, methods=methods, lines=lines, patients=patients, short=short,
        ids=lambda subjects: compact_ids([short.get(u, u) for u in subjects]),
        versions=software_versions(), generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        key_results=_key_results(ds, analyses), synthetic=ds.synthetic, synthetic_kind=synthetic_kind(ds),
        privacy_label=privacy.label if privacy is not None else None,
        # de-identified: the calendar cut-off with each patient's cut-off study day would give their dates back
        cutoff=ds.cutoff if privacy is None or privacy.identified else "(date withheld: de-identified report)",
        identified=privacy is None or privacy.identified,
        groups=[(g.code, g.label) for g in s.groups],
    )
