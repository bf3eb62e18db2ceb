"""Read and write a CDISC dataset file by its extension, refusing bad paths before any work is done.

A file is written to a temporary name beside its target and renamed into place only when complete, so a
refused or failed write leaves nothing behind (and an existing file untouched).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from earlyphase.errors import InputError
from earlyphase.interop.cdisc.dataset import Dataset

EXTENSIONS = (".xpt", ".json")


def _refuse(path: Path, rule: str, message: str) -> InputError:
    return InputError.single("path", str(path), rule, message, file=str(path))


def file_kind(path: str | os.PathLike) -> str:
    """``"xpt"`` or ``"json"`` from the file's extension; anything else is refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise _refuse(Path(path), "extension", "a CDISC dataset file must end in .xpt (SAS XPORT v5) or .json "
                                               "(Dataset-JSON 1.1)")
    return suffix[1:]


def read_dataset(path: str | os.PathLike) -> Dataset:
    """Read an ``.xpt`` or ``.json`` dataset file; refuses a missing file, a directory or a malformed file."""
    path = Path(path)
    kind = file_kind(path)
    if path.is_dir():
        raise _refuse(path, "file", "is a directory; give a dataset file")
    if not path.exists():
        raise _refuse(path, "file", "does not exist")
    if kind == "xpt":
        from earlyphase.interop.cdisc.xpt import read_xpt

        return read_xpt(path)
    from earlyphase.interop.cdisc.dataset_json import read_dataset_json

    return read_dataset_json(path)


def write_dataset(dataset: Dataset, path: str | os.PathLike) -> Path:
    """Write ``dataset`` as ``.xpt`` or ``.json`` (by extension); all checks run before the file appears."""
    path = Path(path)
    kind = file_kind(path)
    if path.is_dir():
        raise _refuse(path, "file", "is a directory; give the file name to write")
    if not path.parent.is_dir():
        raise _refuse(path, "directory", f"the folder {path.parent} does not exist")
    if kind == "xpt":
        from earlyphase.interop.cdisc.xpt import write_xpt as writer
    else:
        from earlyphase.interop.cdisc.dataset_json import write_dataset_json as writer
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        writer(dataset, Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def convert(source: str | os.PathLike, target: str | os.PathLike) -> Dataset:
    """Read ``source`` and write it as ``target`` (xpt <-> json, or the same format again); returns the dataset."""
    file_kind(target)  # a bad target is refused before the source is read
    if Path(source).resolve() == Path(target).resolve():
        raise _refuse(Path(target), "target", "is the source file itself; give another file name")
    dataset = read_dataset(source)
    write_dataset(dataset, target)
    return dataset
