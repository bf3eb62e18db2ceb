"""ClinicalTrials.gov (API v2): the results section from the database, records read and validated against the
registry's OpenAPI spec, and a registry record's protocol section as a study-file draft.

- ``results_from_database(engine)`` -> :class:`ResultsDocument` (rules in :mod:`earlyphase.interop.ctgov.results`);
- ``read_results(data)`` / ``read_record(path)``: a record's ``resultsSection`` as objects (model.py);
- ``draft_study(record)`` and ``protocol_section(study)`` (draft.py);
- ``validate(document, spec, component)`` with the spec the caller names (schema.py).
"""

from earlyphase.interop.ctgov.draft import draft_study, draft_yaml, marked_paths, protocol_section
from earlyphase.interop.ctgov.model import ResultsSection, read_results
from earlyphase.interop.ctgov.results import ResultsDocument, build_results, results_from_database
from earlyphase.interop.ctgov.schema import json_schema, read_spec, schema_errors, validate

__all__ = ["ResultsDocument", "ResultsSection", "build_results", "draft_study", "draft_yaml", "json_schema",
           "marked_paths", "protocol_section", "read_record", "read_results", "read_spec", "results_from_database",
           "schema_errors", "validate"]


def read_record(path) -> dict:
    """A registry record (API v2 JSON) from a file, its results section (if any) checked by :func:`read_results`."""
    from pathlib import Path

    from earlyphase.errors import InputError
    from earlyphase.interop.files import read_json

    data = read_json(path, "registry record")
    name = Path(path).name
    if not isinstance(data, dict):
        raise InputError.single("record", type(data).__name__, "object", "a registry record is a JSON object",
                                file=name)
    if "resultsSection" in data:
        read_results(data["resultsSection"], source=name)
    return data
