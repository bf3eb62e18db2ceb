"""Outputs private to the user who wrote them: folders 0700, files 0600.

Exports, reports and the demo hold patient data (even de-identified data is not for every account on the
machine). ``private_output(out_dir)`` is a context manager: while it is open, new files and folders are
created private (umask 077), and on leaving, every file it wrote under ``out_dir`` (new, or rewritten in
place) is set to 0600 and every folder it made (``out_dir`` itself too, if it made it) to 0700. What was
there before and was not touched is left as it is: pointing ``--out`` at a folder of your own never
changes your other files.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

FILE_MODE = 0o600
DIR_MODE = 0o700


def _snapshot(out: Path) -> dict[Path, int]:
    """Every path under ``out`` (and ``out``) -> its modification time in ns."""
    if not out.exists():
        return {}
    found = {}
    for path in [out, *out.rglob("*")]:
        try:
            found[path] = path.lstat().st_mtime_ns
        except OSError:  # removed meanwhile
            continue
    return found


@contextmanager
def private_output(out_dir: str | Path) -> Iterator[Path]:
    out = Path(out_dir)
    before = _snapshot(out)
    old = os.umask(0o077)
    try:
        yield out
    finally:
        os.umask(old)
        make_private(out, before)


def make_private(out: Path, before: dict[Path, int] | None = None) -> None:
    """Files under ``out`` to 0600 and folders to 0700, except those in ``before`` that did not change."""
    before = before or {}
    for path, mtime in _snapshot(out).items():
        if path.is_symlink():
            continue
        if path.is_dir():
            if path not in before:
                path.chmod(DIR_MODE)
        elif path.is_file() and before.get(path) != mtime:
            path.chmod(FILE_MODE)
