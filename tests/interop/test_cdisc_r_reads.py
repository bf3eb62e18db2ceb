"""R reads the SAS XPORT v5 files we write as we meant them: foreign::read.xport's values and lookup.xport's
names, types, widths, labels and formats, kept in reference/data/ by reference/make_xpt_reference.R (R 4.2.2,
foreign 0.8.84) from the files reference/write_xpt_for_r.py writes, which this test writes again."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cdisc_files import msg_dir
from earlyphase.interop.cdisc import convert, read_dataset
from earlyphase.interop.cdisc.sas_dates import iso_to_sas_number

REFERENCE = Path(__file__).resolve().parent / "reference" / "data"
DATASETS = ["adam/adsl", "sdtm/dm", "sdtm/ds"]  # as in reference/write_xpt_for_r.py


def _table(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# R version"), "the reference names the R that made it"
    return list(csv.DictReader(lines[1:]))


@pytest.mark.parametrize("stem", DATASETS)
def test_r_reads_our_xpt_with_our_names_labels_widths_and_values(stem, tmp_path):
    name = stem.split("/")[1]
    source = read_dataset(msg_dir() / f"{stem}.json")
    convert(msg_dir() / f"{stem}.json", tmp_path / f"{name}.xpt")
    ours = read_dataset(tmp_path / f"{name}.xpt")

    variables = _table(REFERENCE / f"{name}_variables.csv")
    assert [v["name"] for v in variables] == [c.name for c in ours.columns]
    for row, column in zip(variables, ours.columns):
        assert row["label"] == column.label == source.column(column.name).label
        assert row["type"] == ("numeric" if column.is_numeric else "character"), column.name
        assert int(row["width"]) == (8 if column.is_numeric else column.length), column.name
        expected_format = re.match(r"[A-Z]*", (column.display_format or "").upper()).group(0)
        assert row["format"] == expected_format, column.name

    values = _table(REFERENCE / f"{name}_values.csv")
    assert len(values) == source.records
    for number, (r_row, our_row) in enumerate(zip(values, source.rows), start=1):
        for column, ours_value in zip(source.columns, our_row):
            r_value = r_row[column.name]
            where = f"row {number} {column.name}"
            if not column.is_numeric:
                assert r_value == ours_value, where
            elif ours_value is None:
                assert r_value == "", where
            elif column.target_data_type is not None:
                assert float(r_value) == iso_to_sas_number(ours_value, column.data_type), where
            else:
                assert float(r_value) == float(ours_value), where
