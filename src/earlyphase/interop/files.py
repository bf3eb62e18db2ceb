"""Reading one input file and writing one output file for the interop formats, refusing bad paths first.

An input must be a regular, readable file of at most ``MAX_FILE_BYTES`` (a directory, named pipe or device is
refused before it is opened, so nothing blocks). An output is written to a temporary name beside its target and
renamed into place only when complete: a refused or failed write leaves nothing behind and an existing file as
it was.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from earlyphase.errors import InputError
from earlyphase.limits import MAX_FILE_BYTES


def read_input(path: str | os.PathLike, what: str) -> bytes:
    """The bytes of ``path`` (``what`` names the kind of file in messages: "registry record", "ODM file")."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError.single("path", str(path), "readable", f"cannot read the {what} ({exc.strerror})",
                                file=path.name) from None
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode)
                else "a device or socket")
        raise InputError.single("path", str(path), "regular-file", f"this is {kind}, not a {what} file",
                                file=path.name)
    if info.st_size > MAX_FILE_BYTES:
        raise InputError.single("path", str(path), "max-file-size",
                                f"the file has {info.st_size} bytes; a {what} may have at most {MAX_FILE_BYTES}",
                                file=path.name)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError.single("path", str(path), "readable", f"cannot read the {what} ({exc.strerror})",
                                file=path.name) from None


def write_output(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    if path.is_dir():
        raise InputError.single("out", str(path), "file", "is a directory; give the file name to write")
    if not path.parent.is_dir():
        raise InputError.single("out", str(path), "directory", f"the folder {path.parent} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def read_json(path: str | os.PathLike, what: str):
    """Parse a JSON file; a file that is not UTF-8 JSON is refused with the line and column."""
    import json

    data = read_input(path, what)
    name = Path(path).name
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError.single("encoding", f"byte {exc.start}", "utf-8", f"the {what} is not UTF-8 text",
                                file=name) from None
    except json.JSONDecodeError as exc:
        raise InputError.single("json", f"line {exc.lineno} column {exc.colno}", "json",
                                f"the {what} is not valid JSON ({exc.msg})", file=name) from None
    except RecursionError:
        raise InputError.single("json", "nesting", "json", f"the {what} nests too deeply", file=name) from None
