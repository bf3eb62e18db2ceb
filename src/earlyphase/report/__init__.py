"""earlyphase.report: the trial report (tables, figures, HTML and PDF) from the analysis datasets.

``report_from_database(db, out_dir, pdf=False)`` does the whole chain; ``build_report(datasets,
out_dir)`` starts from already derived datasets. Tables are plain Jinja2 HTML (not great_tables):
every count and median must carry its own hover title and link to an appendix entry, and the
report must render the same way offline, in print and in CI.
"""

from earlyphase.report.document import ReportResult, build_report, report_from_database

__all__ = ["ReportResult", "build_report", "report_from_database"]
