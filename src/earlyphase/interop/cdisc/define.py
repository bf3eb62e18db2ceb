"""Define-XML 2.1: the metadata of the datasets an export wrote (one ``define.xml`` per standard folder, as a
submission's tabulation and analysis folders each carry their own), and a reader that checks one.

Written with lxml (odmlib 0.2.1 was not evaluated in depth: it ships no XSD, and the elements needed are few):
each dataset (ItemGroupDef: name, label, class, structure, keys, the file it is in), each
variable (ItemDef: name, label, type, length, display format, origin, codelist), each codelist used (CodeList:
the CDISC submission values of :mod:`earlyphase.vocab.cdisc`). Types: text -> ``text``, whole numbers ->
``integer``, other numbers -> ``float``, SAS numeric dates -> ``integer`` with their display format, ISO 8601
text -> ``date``/``datetime``. The codelists carry no NCI concept codes (not kept in this project), so they are
written as the sponsor's codelists, without a CDISC/NCI standard reference.

``check_define(path)`` reads a define.xml back: well-formed XML, an ODM root with the Define-XML 2.1 namespace,
every reference (ItemRef -> ItemDef, CodeListRef -> CodeList, def:ArchiveLocationID -> def:leaf, def:StandardOID
-> def:Standard) resolved, OIDs unique, names and labels within XPORT v5 limits; every problem named.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlyphase.errors import InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive.spec import DatasetSpec
    from earlyphase.interop.cdisc.dataset import Dataset
    from earlyphase.protocol import Study

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
STANDARDS = {"SDTM": ("SDTMIG", "3.4", "Tabulation"), "ADaM": ("ADaMIG", "1.3", "Analysis")}
# The origin a spec names -> Define-XML 2.1's def:Origin Type and Source.
ORIGIN_SOURCE = {"Collected": "Investigator", "Derived": "Sponsor", "Assigned": "Sponsor", "Protocol": "Sponsor"}
MAX_PROBLEMS = 20


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _description(parent, text: str):
    from lxml import etree

    description = etree.SubElement(parent, _o("Description"))
    translated = etree.SubElement(description, _o("TranslatedText"))
    translated.set(f"{{{XML_NS}}}lang", "en")
    translated.text = text
    return description


def _data_type(column) -> str:
    if column.target_data_type is not None:
        return "integer"
    return {"string": "text", "date": "date", "datetime": "datetime", "integer": "integer", "float": "float",
            "double": "float", "decimal": "float", "time": "time"}.get(column.data_type, "text")


def _digits(values: list[Any]) -> int:
    return max([len(str(abs(int(v)))) + (v < 0) for v in values if v is not None] + [1])


def define_tree(study: "Study", standard: str, datasets: list[tuple["DatasetSpec", "Dataset"]], file_kind: str,
                identified: bool):
    """The define.xml of one standard's datasets as an lxml tree (``file_kind``: the file each leaf points at)."""
    from lxml import etree

    from earlyphase.vocab.cdisc import cdisc_codelists

    name, version, purpose = STANDARDS[standard]
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "")
    root = etree.Element(_o("ODM"), nsmap=NSMAP)
    root.set("FileType", "Snapshot")
    root.set("FileOID", f"DEF.{study.study_id}.{standard}")
    root.set("ODMVersion", "1.3.2")
    root.set("CreationDateTime", now)
    root.set("Originator", "earlyphase")
    root.set("SourceSystem", "earlyphase")
    root.set(_d("Context"), "Submission")
    study_el = etree.SubElement(root, _o("Study"), OID=f"STUDY.{study.study_id}")
    globals_el = etree.SubElement(study_el, _o("GlobalVariables"))
    etree.SubElement(globals_el, _o("StudyName")).text = study.study_id
    etree.SubElement(globals_el, _o("StudyDescription")).text = study.title if hasattr(study, "title") and \
        study.title else study.study_id
    etree.SubElement(globals_el, _o("ProtocolName")).text = study.study_id
    mdv = etree.SubElement(study_el, _o("MetaDataVersion"), OID=f"MDV.{study.study_id}.{standard}",
                           Name=f"{study.study_id} {standard}")
    mdv.set("Description", f"{standard} datasets of {study.study_id} "
                           f"({'identified' if identified else 'de-identified'})")
    mdv.set(_d("DefineVersion"), "2.1.0")
    standards = etree.SubElement(mdv, _d("Standards"))
    standard_oid = f"STD.{name}"
    etree.SubElement(standards, _d("Standard"), OID=standard_oid, Name=name, Type="IG", Version=version,
                     Status="Final")

    lists = cdisc_codelists()
    items: dict[str, tuple[Any, Any, list[Any]]] = {}
    used_lists: list[str] = []
    leaves = []
    for spec, dataset in datasets:
        group = etree.SubElement(mdv, _o("ItemGroupDef"), OID=dataset.item_group_oid or f"IG.{dataset.name}",
                                 Name=dataset.name, Repeating="No" if spec.structure.startswith("One record per "
                                                                                               "subject") else "Yes",
                                 IsReferenceData="No", SASDatasetName=dataset.name, Purpose=purpose)
        if standard == "SDTM":
            group.set("Domain", dataset.name[4:] if dataset.name.startswith("SUPP") else dataset.name)
        group.set(_d("Structure"), spec.structure)
        if not dataset.records:  # written (empty) so every spec'd dataset is there; flagged as Define-XML asks
            group.set(_d("HasNoData"), "Yes")
        group.set(_d("StandardOID"), standard_oid)
        group.set(_d("ArchiveLocationID"), f"LF.{dataset.name}")
        _description(group, dataset.label)
        for order, column in enumerate(dataset.columns, start=1):
            oid = column.item_oid or f"IT.{dataset.name}.{column.name}"
            ref = etree.SubElement(group, _o("ItemRef"), ItemOID=oid, OrderNumber=str(order),
                                   Mandatory="Yes" if column.name in spec.keys else "No")
            if column.key_sequence:
                ref.set("KeySequence", str(column.key_sequence))
            items[oid] = (column, _spec_variable(spec, column.name), dataset.values(column.name))
        class_el = etree.SubElement(group, _d("Class"))
        class_el.set("Name", spec.dataset_class)
        file_name = f"{dataset.name.lower()}.{file_kind}"
        leaves.append((f"LF.{dataset.name}", file_name))
        leaf = etree.SubElement(group, _d("leaf"), ID=f"LF.{dataset.name}")
        leaf.set(f"{{{XLINK_NS}}}href", file_name)
        etree.SubElement(leaf, _d("title")).text = file_name
    for oid, (column, variable, values) in items.items():
        data_type = _data_type(column)
        item = etree.SubElement(mdv, _o("ItemDef"), OID=oid, Name=column.name, DataType=data_type)
        if data_type == "text":
            item.set("Length", str(column.length or 1))
        elif data_type == "integer" and column.target_data_type is None:
            item.set("Length", str(_digits(values)))
        item.set("SASFieldName", column.name)
        if column.display_format:
            item.set(_d("DisplayFormat"), column.display_format)
        _description(item, column.label)
        codelist = variable.codelist if variable is not None else None
        if codelist in lists:
            etree.SubElement(item, _o("CodeListRef"), CodeListOID=f"CL.{codelist}")
            if codelist not in used_lists:
                used_lists.append(codelist)
        origin = variable.origin if variable is not None else "Derived"
        origin_el = etree.SubElement(item, _d("Origin"), Type=origin)
        if origin in ORIGIN_SOURCE:
            origin_el.set("Source", ORIGIN_SOURCE[origin])
        if origin == "Predecessor":
            _description(origin_el, f"ADSL.{column.name}")
    for name_ in used_lists:
        codelist = lists[name_]
        cl = etree.SubElement(mdv, _o("CodeList"), OID=f"CL.{name_}", Name=codelist.label, DataType="text")
        for order, value in enumerate(codelist.values, start=1):
            etree.SubElement(cl, _o("EnumeratedItem"), CodedValue=value, OrderNumber=str(order))
    return etree.ElementTree(root)


def _spec_variable(spec: "DatasetSpec", name: str):
    try:
        return spec.variable(name)
    except KeyError:
        return None  # a de-identified study day (origin: Derived)


def write_define(path: Path, study: "Study", standard: str, datasets: list[tuple["DatasetSpec", "Dataset"]],
                 file_kind: str, identified: bool) -> Path:
    """Write the define.xml of one standard's datasets (UTF-8, indented)."""
    tree = define_tree(study, standard, datasets, file_kind, identified)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return path


# -- reading one back -------------------------------------------------------------------------------------------

def _problem(path: Path, where: str, value: Any, rule: str, message: str) -> Problem:
    return Problem(where, value, rule, message, file=str(path))


def check_define(path: str | Path) -> dict[str, Any]:
    """Read a Define-XML 2.1 file and check its structure and references; returns a summary (datasets, variables,
    codelists). Raises InputError naming every problem (up to 20)."""
    from lxml import etree

    path = Path(path)
    if not path.is_file():
        raise InputError.single("file", str(path), "file", "does not exist or is not a file", file=str(path))
    try:
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise InputError.single("file", str(path), "xml", f"is not well-formed XML: {exc}", file=str(path)) from None
    root = tree.getroot()
    problems: list[Problem] = []
    if root.tag != _o("ODM"):
        raise InputError.single("file", root.tag, "define", "the root element must be ODM in the ODM 1.3 namespace; "
                                "not a Define-XML file", file=str(path))
    mdv = root.find(f"{_o('Study')}/{_o('MetaDataVersion')}")
    if mdv is None:
        raise InputError.single("file", str(path), "define", "has no Study/MetaDataVersion", file=str(path))
    if mdv.get(_d("DefineVersion")) != "2.1.0":
        problems.append(_problem(path, "MetaDataVersion/@def:DefineVersion", mdv.get(_d("DefineVersion")),
                                 "define-version", "must be 2.1.0 (a Define-XML 2.1 file)"))
    oids: dict[str, str] = {}
    for element in mdv.iter():
        oid = element.get("OID")
        if oid is not None and isinstance(element.tag, str):
            if oid in oids:
                problems.append(_problem(path, etree.QName(element).localname, oid, "unique-oid",
                                         "this OID is used twice"))
            oids[oid] = etree.QName(element).localname
    item_defs = {e.get("OID"): e for e in mdv.findall(_o("ItemDef"))}
    codelists = {e.get("OID") for e in mdv.findall(_o("CodeList"))}
    leaves = {e.get("ID") for e in mdv.iter(_d("leaf"))}
    standards = {e.get("OID") for e in mdv.iter(_d("Standard"))}
    groups = mdv.findall(_o("ItemGroupDef"))
    if not groups:
        problems.append(_problem(path, "MetaDataVersion", None, "datasets", "describes no dataset (no ItemGroupDef)"))
    for group in groups:
        where = f"ItemGroupDef {group.get('Name')}"
        for attribute in ("OID", "Name", "Repeating", "Purpose", _d("Structure")):
            if not group.get(attribute):
                problems.append(_problem(path, where, None, "required",
                                         f"has no {etree.QName(attribute).localname if '{' in attribute else attribute}"))
        no_data = group.get(_d("HasNoData")) == "Yes"  # a dataset with no records has no file
        if group.get(_d("ArchiveLocationID")) not in leaves and not (no_data and not group.get(_d("ArchiveLocationID"))):
            problems.append(_problem(path, where, group.get(_d("ArchiveLocationID")), "reference",
                                     "def:ArchiveLocationID names no def:leaf"))
        if group.get(_d("StandardOID")) is not None and group.get(_d("StandardOID")) not in standards:
            problems.append(_problem(path, where, group.get(_d("StandardOID")), "reference",
                                     "def:StandardOID names no def:Standard"))
        name = group.get("Name") or ""
        if not (1 <= len(name) <= 8 and name.replace("_", "").isalnum()):
            problems.append(_problem(path, where, name, "xpt-v5-name", "a dataset name is 1-8 letters or digits"))
        for ref in group.findall(_o("ItemRef")):
            if ref.get("ItemOID") not in item_defs:
                problems.append(_problem(path, where, ref.get("ItemOID"), "reference", "ItemRef names no ItemDef"))
    for value_list in mdv.iter(_d("ValueListDef")):
        for ref in value_list.findall(_o("ItemRef")):
            if ref.get("ItemOID") not in item_defs:
                problems.append(_problem(path, f"def:ValueListDef {value_list.get('OID')}", ref.get("ItemOID"),
                                         "reference", "ItemRef names no ItemDef"))
    # Dataset variables (referenced by an ItemGroupDef) must fit XPORT v5; value-level items need not.
    variables = {ref.get("ItemOID") for group in groups for ref in group.findall(_o("ItemRef"))}
    for oid, item in item_defs.items():
        where = f"ItemDef {oid}"
        name = item.get("Name") or ""
        if oid in variables and not (1 <= len(name) <= 8):
            problems.append(_problem(path, where, name, "xpt-v5-name", "a variable name is 1-8 characters"))
        if item.get("DataType") not in ("text", "integer", "float", "date", "datetime", "time", "partialDate",
                                        "partialTime", "partialDatetime", "incompleteDatetime", "durationDatetime",
                                        "intervalDatetime", "string", "boolean", "double", "hexBinary",
                                        "base64Binary", "hexFloat", "base64Float", "URI"):
            problems.append(_problem(path, where, item.get("DataType"), "data-type", "is not an ODM data type"))
        if item.get("DataType") == "text" and not (item.get("Length") or "").isdigit():
            problems.append(_problem(path, where, item.get("Length"), "length", "a text variable needs a Length"))
        elif item.get("DataType") == "text" and not 1 <= int(item.get("Length")) <= 200:
            problems.append(_problem(path, where, item.get("Length"), "xpt-v5-length",
                                     "a text variable is 1-200 bytes long"))
        label = item.findtext(f"{_o('Description')}/{_o('TranslatedText')}") or ""
        if oid in variables and not 1 <= len(label) <= 40:
            problems.append(_problem(path, where, label, "xpt-v5-label", "a variable label is 1-40 characters"))
        for ref in item.findall(_o("CodeListRef")):
            if ref.get("CodeListOID") not in codelists:
                problems.append(_problem(path, where, ref.get("CodeListOID"), "reference",
                                         "CodeListRef names no CodeList"))
    if problems:
        raise InputError(problems[:MAX_PROBLEMS], summary=f"{path} is not a valid Define-XML 2.1 file "
                                                          f"({len(problems)} problem(s))")
    return {"file": str(path), "datasets": [g.get("Name") for g in groups], "variables": len(item_defs),
            "codelists": len(codelists)}


ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"


def bundled_xsd(path: str | Path | None = None) -> Path | None:
    """The Define-XML 2.1 XSD shipped by the ``defineutils`` package (a test dependency), when it is installed;
    for a define.xml that declares Analysis Results Metadata, ARM 1.0's schema (which includes Define-XML 2.1)."""
    try:
        import defineutils
    except ImportError:
        return None
    schemas = Path(defineutils.__file__).parent / "validate" / "schema"
    schema = schemas / "cdisc-define-2.1" / "define2-1-0.xsd"
    if path is not None and Path(path).is_file():
        with Path(path).open("rb") as handle:
            if ARM_NS.encode() in handle.read(4096):
                schema = schemas / "cdisc-arm-1.0" / "arm1-0-0.xsd"
    return schema if schema.is_file() else None


def xsd_problems(path: str | Path, schema_file: str | Path) -> list[str]:
    """Validate against the Define-XML 2.1 XSD in ``schema_file`` (define2-1-0.xsd); the errors, one line each."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(schema_file)))
    document = etree.parse(str(path))
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
