"""earlyphase.interop: the outside world's formats.

- ``export_trial(engine, out_dir, identified=False)``: one CSV per table + ``manifest.json``,
  de-identified by default (rule in :mod:`earlyphase.interop.export`);
- ``import_trial(target, path, username=...)``: CSV file(s) or an Excel workbook, every row through
  capture, all in one transaction (rules in :mod:`earlyphase.interop.importer`).
"""

from earlyphase.interop.export import DEIDENTIFICATION_RULE, ExportResult, export_trial, study_day
from earlyphase.interop.importer import ImportResult, import_trial, read_sources

__all__ = ["DEIDENTIFICATION_RULE", "ExportResult", "ImportResult", "export_trial", "import_trial", "read_sources",
           "study_day"]
