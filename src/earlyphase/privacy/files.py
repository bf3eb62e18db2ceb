"""Outputs private to the user who wrote them: folders 0700, files 0600.

Exports, reports and the demo hold patient data (even de-identified data is not for every account on the
machine). ``private_output(out_dir)`` is a context manager: while it is open, new files and folders are
created private (umask 077), and on leaving, every file and folder it made under ``out_dir`` (and
``out_dir`` itself, if it made it) is set to 0600 / 0700 explicitly. Folders that were already there are
left as they are; files written into them are private all the same.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

FILE_MODE = 0o600
DIR_MODE = 0o700


def _existing(out: Path) -> set[Path]:
    if not out.exists():
        return set()
    return {out, *out.rglob("*")}


@contextmanager
def private_output(out_dir: str | Path) -> Iterator[Path]:
    out = Path(out_dir)
    before_dirs = {p for p in _existing(out) if p.is_dir()}
    old = os.umask(0o077)
    try:
        yield out
    finally:
        os.umask(old)
        make_private(out, keep_dirs=before_dirs)


def make_private(out: Path, keep_dirs: set[Path] = frozenset()) -> None:
    """Files under ``out`` to 0600, folders to 0700, except folders in ``keep_dirs`` (there before)."""
    if not out.exists():
        return
    for path in [out, *out.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            if path not in keep_dirs:
                path.chmod(DIR_MODE)
        elif path.is_file():
            path.chmod(FILE_MODE)
