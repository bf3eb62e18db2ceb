"""CDISC ODM 1.3.2: the whole study (metadata, clinical data, audit records, signatures) as one XML file.

- ``export_odm(engine, out, identified=False)``: de-identified for transfer, identified (``Archival="Yes"``) for
  archiving; validated against the ODM 1.3.2 XSD before it is written (rules in :mod:`.export`);
- ``import_odm(target, path, username=...)``: an identified archive back into an empty database, every record and
  the audit trail equal, proved by the chain and the replay before commit (rules in :mod:`.importer`).
"""

from earlyphase.interop.odm.export import OdmExportResult, export_odm
from earlyphase.interop.odm.importer import OdmImportResult, import_odm, read_archive
from earlyphase.interop.odm.xsd import schema_errors, validate_odm, xsd_path

__all__ = ["OdmExportResult", "OdmImportResult", "export_odm", "import_odm", "read_archive", "schema_errors",
           "validate_odm", "xsd_path"]
