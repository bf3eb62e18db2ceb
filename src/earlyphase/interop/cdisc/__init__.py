"""CDISC dataset files: SAS XPORT v5 (``.xpt``) and Dataset-JSON 1.1 (``.json``), read and written.

Both formats are read into one :class:`~earlyphase.interop.cdisc.dataset.Dataset` (name, label, columns with
labels, types and lengths, rows of plain Python values), so either can be written from the other:

- ``read_dataset(path)`` / ``write_dataset(dataset, path)``: by the file's extension;
- ``convert(source, target)``: read one, write the other; nothing is written if the source is refused.
"""

from earlyphase.interop.cdisc.dataset import Column, Dataset
from earlyphase.interop.cdisc.files import convert, read_dataset, write_dataset

__all__ = ["Column", "Dataset", "convert", "read_dataset", "write_dataset"]
