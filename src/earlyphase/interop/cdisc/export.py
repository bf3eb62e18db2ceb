"""Export a trial database as CDISC files for a submission: ADaM (ADSL, ADAE, ADRS, ADTTE) and SDTM (DM, EX, AE,
DS, SV, TU, TR, RS, SUPPDM, SUPPAE) as SAS XPORT v5 and/or Dataset-JSON 1.1 in ``sdtm/`` and ``adam/``, each folder
with a Define-XML 2.1 ``define.xml`` describing what it holds (its leaves point at the XPT files when both formats
are written), and ``manifest.json`` (files, records, SHA-256, mode, rule).

Every variable's label, type and longest length come from the specs in :mod:`earlyphase.derive.spec` (data files);
the length written is that of the longest value present (as reviewers ask), refused if it is over the spec's.

De-identified unless ``identified=True`` (the rule of :mod:`earlyphase.derive.deidentify`, as in the report's
``adam/``): USUBJID and SUBJID are keyed pseudonyms; every date becomes the study day (``--DTC``/``...DT`` ->
``--DY``/``...DY``: day 1 is the first dose, or enrolment if never dosed; no day 0); AGE becomes the age band
AGEGR1; long text variables go through the named scrubber. An identified export is an audited event.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from earlyphase.derive.spec import DatasetSpec, VariableSpec, dataset_spec, study_day_variable
from earlyphase.errors import ConfigurationError, InputError, Problem
from earlyphase.interop.cdisc.dataset import Column, Dataset

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sqlalchemy import Engine

FORMATS = ("xpt", "json", "both")
MANIFEST_NAME = "manifest.json"
DEFINE_NAME = "define.xml"
DEIDENTIFICATION_RULE = (
    "USUBJID and SUBJID are keyed pseudonyms (P-...); every date is a study day (--DY/...DY: day 1 is the "
    "patient's first dose, or enrolment if never dosed; the day before is -1, there is no day 0) and the dates "
    "themselves are removed; AGE is replaced by the 10-year age band AGEGR1 (SUPPDM in SDTM); database row ids of "
    "patients are removed; long text (terms, reasons, causes, locations, SUPPQUAL values) goes through the "
    "named scrubber (subject ids, hospital numbers, initials, names, dates).")
# A dataset's XPORT file name is its name in lower case (what reviewers' tools expect).
SAS_DATE = {"date": ("date", "DATE9."), "datetime": ("datetime", "DATETIME20.")}


@dataclass
class CdiscExport:
    """What an export wrote: the folder, the mode, records per dataset, the files and the manifest."""

    out_dir: Path
    identified: bool
    records: dict[str, int]
    files: list[str]
    manifest: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        mode = "IDENTIFIED (site subject ids and calendar dates)" if self.identified else "de-identified"
        lines = [f"CDISC export to {self.out_dir} ({mode})"]
        for name, count in self.records.items():
            lines.append(f"  {name:<8} {count:6d} records")
        lines.append(f"  files: {', '.join(self.files)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "identified": self.identified, "records": dict(self.records),
                "files": list(self.files)}


# -- one frame -> one dataset ---------------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _converter(spec: VariableSpec) -> Callable[[Any], Any]:
    if spec.is_text:
        return _text
    if spec.type == "integer":
        return lambda v: None if _missing(v) else int(v)
    if spec.type == "float":
        return lambda v: None if _missing(v) or not math.isfinite(float(v)) else float(v)
    if spec.type == "date":
        return lambda v: None if _missing(v) else v.date().isoformat() if hasattr(v, "date") else str(v)[:10]
    return lambda v: None if _missing(v) else v.to_pydatetime().replace(microsecond=0).isoformat() \
        if hasattr(v, "to_pydatetime") else str(v)


def _variable_of(spec: DatasetSpec, name: str) -> VariableSpec:
    """The spec of a frame column; a de-identified study day takes its label from the date it replaces."""
    try:
        return spec.variable(name)
    except KeyError:
        pass
    if name.endswith("DY"):
        for suffix in ("DT", "DTM", "DTC"):
            try:
                return study_day_variable(spec.variable(name[:-2] + suffix), name)
            except KeyError:
                continue
    raise ConfigurationError(f"{spec.name} column {name} has no row in derive/specs/{spec.name.lower()}.csv; "
                             "add its label, type and length there")


def frame_to_dataset(frame: "pd.DataFrame", spec: DatasetSpec, metadata: dict[str, Any] | None = None) -> Dataset:
    """The frame as a dataset with the spec's labels and types; text lengths are the longest value present.

    Refused (nothing written) when a text value is longer than the spec allows."""
    columns: list[Column] = []
    values: list[list[Any]] = []
    problems: list[Problem] = []
    keys = {name: i + 1 for i, name in enumerate(spec.keys)}
    for name in frame.columns:
        variable = _variable_of(spec, name)
        convert = _converter(variable)
        column_values = [convert(v) for v in frame[name].tolist()]
        length = None
        if variable.is_text:
            length = max([len(v.encode("utf-8")) for v in column_values] + [1])
            limit = variable.length or 200
            if length > limit:
                longest = max(column_values, key=lambda v: len(v.encode("utf-8")))
                problems.append(Problem(f"{spec.name}.{name}", longest, "length",
                                        f"is {length} bytes, longer than the {limit} derive/specs allows"))
        data_type, target, display = "string", None, None
        if variable.type in SAS_DATE:
            data_type, display = SAS_DATE[variable.type]
            target = "integer"
        elif variable.type == "isodate":
            data_type = "date"
        elif variable.type == "isodatetime":
            data_type = "datetime"
        elif variable.type in ("integer", "float"):
            data_type = variable.type
        columns.append(Column(name, variable.label, data_type, length=length, item_oid=f"IT.{spec.name}.{name}",
                              target_data_type=target, display_format=display, key_sequence=keys.get(name)))
        values.append(column_values)
    if problems:
        raise InputError(problems, summary=f"{spec.name} cannot be exported")
    rows = [list(row) for row in zip(*values)] if values else []
    return Dataset(spec.name, spec.label, columns, rows, item_group_oid=f"IG.{spec.name}",
                   metadata=dict(metadata or {}))


# -- the database -> frames ---------------------------------------------------------------------------------------

def _adam_frames(ds, identified: bool, pseudonyms) -> dict[str, "pd.DataFrame"]:
    from earlyphase.derive.deidentify import adam_reference_dates, deidentified_frame, pseudonymise_datasets

    names = ("adsl", "adae", "adrs", "adtte")
    if identified:
        return {n.upper(): getattr(ds, n) for n in names}
    refs = adam_reference_dates(pseudonymise_datasets(ds, pseudonyms))
    pseudo = pseudonymise_datasets(ds, pseudonyms)
    return {n.upper(): deidentified_frame(getattr(pseudo, n), refs) for n in names}


def _sdtm_frames(ds, identified: bool, pseudonyms) -> dict[str, "pd.DataFrame"]:
    from earlyphase.derive.sdtm import deidentify_sdtm, derive_sdtm, public

    frames = derive_sdtm(ds)
    return public(frames if identified else deidentify_sdtm(frames, pseudonyms))


def _scrub_free_text(frames: dict[str, "pd.DataFrame"], ds, pseudonyms, study) -> dict[str, "pd.DataFrame"]:
    """De-identified: every long text variable (a spec length of 200: terms, reasons, causes, locations, SUPPQUAL
    values) through the named scrubber, which replaces the site's subject ids, hospital numbers and initials the
    database knows, and what looks like a name, a date or an identifying number."""
    from earlyphase.privacy import KnownIdentifiers, scrub_text

    patients = ds.source.tables["patients"]
    known = KnownIdentifiers(
        subjects={str(s): pseudonyms.subject(str(s)) for s in patients["subject_id"]},
        numbers=frozenset(str(n) for n in patients["hospital_number"] if isinstance(n, str) and n),
        initials=frozenset(i.strip() for i in patients["initials"] if isinstance(i, str) and len(i.strip()) >= 2))
    out = {}
    for name, frame in frames.items():
        spec = dataset_spec(name, study)
        frame = frame.copy()
        for column in frame.columns:
            try:
                variable = spec.variable(column)
            except KeyError:
                continue
            if variable.type == "text" and (variable.length or 0) >= 200:
                frame[column] = [scrub_text(v, known).text if isinstance(v, str) and v else v for v in frame[column]]
        out[name] = frame
    return out


def _formats(fmt: str) -> tuple[str, ...]:
    if fmt not in FORMATS:
        raise InputError.single("format", fmt, "choice", f"--format of the files is one of: {', '.join(FORMATS)}")
    return ("xpt", "json") if fmt == "both" else (fmt,)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_cdisc(engine: "Engine", out_dir: str | Path, *, sdtm: bool = True, adam: bool = True,
                 file_format: str = "both", identified: bool = False, key_file: str | Path | None = None,
                 username: str | None = None, progress: bool = False) -> CdiscExport:
    """Write the study's SDTM and/or ADaM datasets, ``define.xml`` and ``manifest.json`` into ``out_dir``.

    Every dataset is built and checked (XPORT v5 limits included) before the first file is written, so a refused
    export leaves nothing behind. ``file_format``: ``xpt``, ``json`` or ``both``."""
    from earlyphase.capture import stored_study
    from earlyphase.derive import derive_datasets
    from earlyphase.interop.cdisc.define import write_define
    from earlyphase.interop.cdisc.files import write_dataset
    from earlyphase.interop.cdisc.xpt import check_v5
    from earlyphase.privacy import pseudonymiser_from
    from earlyphase.privacy.files import private_output

    kinds = _formats(file_format)
    if not sdtm and not adam:
        raise InputError.single("datasets", "none", "choice", "export SDTM (--sdtm), ADaM (--adam) or both")
    study, _ = stored_study(engine)  # a clear error for a database that was never initialised
    pseudonyms = None if identified else pseudonymiser_from(key_file)
    ds = derive_datasets(engine)
    frames: dict[str, "pd.DataFrame"] = {}
    if sdtm:
        frames.update(_sdtm_frames(ds, identified, pseudonyms))
    if adam:
        frames.update(_adam_frames(ds, identified, pseudonyms))
    if not identified:
        frames = _scrub_free_text(frames, ds, pseudonyms, study)
    metadata = {"studyOID": study.study_id, "originator": "earlyphase", "metaDataRef": DEFINE_NAME,  # beside the file, in its folder
                "sourceSystem": {"name": "earlyphase", "version": _version()}}
    datasets = []
    for name, frame in frames.items():
        spec = dataset_spec(name, study)
        dataset = frame_to_dataset(frame, spec, dict(metadata, metaDataVersionOID=f"MDV.{spec.standard}"))
        if "xpt" in kinds:
            check_v5(dataset)
        datasets.append((spec, dataset))
    out = Path(out_dir)
    written: list[Path] = []
    with private_output(out):
        out.mkdir(parents=True, exist_ok=True)
        steps = [(spec, dataset, kind) for spec, dataset in datasets for kind in kinds]
        bar = _bar(len(steps), progress)
        try:
            for spec, dataset, kind in steps:
                folder = out / spec.standard.lower()
                folder.mkdir(exist_ok=True)
                written.append(write_dataset(dataset, folder / f"{dataset.name.lower()}.{kind}"))
                bar.update(1)
            for standard in ("SDTM", "ADaM"):
                chosen = [(s, d) for s, d in datasets if s.standard == standard]
                if chosen:
                    written.append(write_define(out / standard.lower() / DEFINE_NAME, study, standard, chosen,
                                                kinds[0], identified))
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        manifest = {
            "format": "earlyphase CDISC export",
            "study": study.study_id,
            "mode": "identified" if identified else "de-identified",
            "label": ("IDENTIFIED: site subject ids and calendar dates; keep it as you keep the trial database"
                      if identified else "DE-IDENTIFIED (see deidentification)"),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "software": f"earlyphase {_version()}",
            "synthetic": bool(ds.synthetic),
            "data_cutoff": ds.cutoff.isoformat() if identified and ds.cutoff else None,
            "datasets": {d.name: {"standard": s.standard, "label": d.label, "records": d.records,
                                  "variables": len(d.columns)} for s, d in datasets},
            "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in written},
        }
        if sdtm:
            from earlyphase.derive.sdtm import forms_not_in_sdtm

            manifest["not_in_sdtm"] = {
                "forms": forms_not_in_sdtm(ds),
                "why": "study forms recorded more than once per patient: SUPPDM holds one value per subject and "
                       "qualifier, and no custom domain is written"}
        if not identified:
            manifest["deidentification"] = {"rule": DEIDENTIFICATION_RULE,
                                            "pseudonym_key": pseudonyms.source if pseudonyms else None}
        manifest_path = out / MANIFEST_NAME
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        written.append(manifest_path)
    result = CdiscExport(out, identified, {d.name: d.records for _, d in datasets},
                         [str(p.relative_to(out)) for p in written], manifest)
    if identified:
        _audit(engine, out, written, username)
    return result


def _version() -> str:
    from earlyphase.records.audit import software_version

    return software_version()


def _bar(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="CDISC files", unit="file", disable=not show, leave=False)


def _audit(engine: "Engine", out: Path, written: list[Path], username: str | None) -> None:
    """An identified export is an audited event; when it cannot be audited, its files are taken back."""
    from earlyphase.interop.export import _explain_audit_failure, login_name
    from earlyphase.records import transaction
    from earlyphase.records.audit import write_event

    try:
        with transaction(engine) as session:
            write_event(session, "identified_export", username or login_name(), {
                "kind": "cdisc", "out_dir": str(out.resolve()), "files": len(written),
                "manifest_sha256": _sha256(out / MANIFEST_NAME)})
    except BaseException as exc:
        for path in written:
            path.unlink(missing_ok=True)
        _explain_audit_failure(exc, "CDISC export")
        raise
