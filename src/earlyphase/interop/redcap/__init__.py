"""REDCap in and out: ``export_redcap`` (a trial as a REDCap project) and ``import_redcap`` (a REDCap project as
a study-file draft, its records through capture). What maps to what, and what is lost: docs/redcap.md."""

from earlyphase.interop.redcap.dictionary import COLUMNS, read_dictionary
from earlyphase.interop.redcap.export import RedcapExport, export_redcap
from earlyphase.interop.redcap.load import RedcapImport, import_redcap

__all__ = ["COLUMNS", "RedcapExport", "RedcapImport", "export_redcap", "import_redcap", "read_dictionary"]
