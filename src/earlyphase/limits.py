"""The bounds every door holds input to, in one place (docs/conventions.md lists them for users).

A bound exists so that a mistake (a stray keystroke, a file exported wrongly, an option with an
exponent too many) gets a message naming the limit instead of a traceback, a database error that
only one backend raises, or a run that never ends. The numbers are generous for any Phase I trial.

Also here: strict readers of numbers typed as text. Python's ``int``/``float`` accept far more than
a person means by a number (Arabic-Indic digits, ``1_000``, ``nan``, ``inf``); these accept ASCII
digits only, finite values only.
"""

from __future__ import annotations

import math
import re

# -- files read by import ------------------------------------------------------------------------
MAX_FILE_BYTES = 200 * 1024 * 1024  # one CSV or workbook
MAX_ROWS = 200_000  # data rows of one CSV file or sheet
MAX_CELL_CHARS = 32_767  # one cell; Excel's own limit, so anything longer did not come from a spreadsheet
MAX_COLUMNS = 1_000  # columns of one CSV file or sheet

MAX_STUDY_FILE_BYTES = 5 * 1024 * 1024  # a study (protocol) YAML file

# -- numbers stored --------------------------------------------------------------------------------
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # a 32-bit INTEGER column, as PostgreSQL stores it (SQLite allows more)
MAX_ABS_FLOAT = 1e300  # beyond this a "number" is a typing error (and squares overflow)

# -- work a command may be asked for ---------------------------------------------------------------
MAX_SIM_TRIALS = 1_000_000  # simulated trials per scenario
MAX_SAMPLE_SIZE = 10_000  # patients of one simulated trial (--max-n, cohort sizes)
MAX_PERMUTATIONS = 1_000_000  # permutation tests
MAX_BOOTSTRAP = 100_000
MAX_USERNAME_CHARS = 80
MAX_DAYS = 36_500  # a DLT window or time between arrivals in a simulation (a hundred years)
MAX_WORKERS = 256  # local Dask workers
MAX_SCENARIOS = 1_000  # true dose-toxicity scenarios of one simulation call
MAX_LEVELS = 1_000  # dose levels (or regimens) of one design
MAX_EXACT_STATES = 2_000_000  # distinct trial states exact operating characteristics may follow at once

SEED_MAX = 2**32 - 1  # numpy's seed range

# Integer options of the CLI and their ranges: the door refuses anything outside with the range stated.
OPTION_BOUNDS: dict[str, tuple[int, int]] = {
    "--trials": (1, MAX_SIM_TRIALS),
    "--max-n": (1, MAX_SAMPLE_SIZE),
    "--cohort-size": (1, MAX_SAMPLE_SIZE),
    "--n-cohorts": (1, MAX_SAMPLE_SIZE),
    "--n-earlystop": (1, MAX_SAMPLE_SIZE),
    "--chunk-size": (1, MAX_SIM_TRIALS),
    "--workers": (1, MAX_WORKERS),
    "--permutations": (1, MAX_PERMUTATIONS),
    "--seed": (0, SEED_MAX),
    "--start-level": (1, 1_000),
    "--current": (1, 1_000),
    "--levels": (1, 1_000),
    "--prior-mtd": (1, 1_000),
    "--last-dlt": (0, 1_000),
}

_INT_TEXT = re.compile(r"[+-]?[0-9]+(\.0*)?", re.ASCII)
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def ascii_int(text: str) -> int | None:
    """The whole number written in ``text`` (ASCII digits, optional sign, optional ``.0``), else None."""
    text = text.strip()
    if not _INT_TEXT.fullmatch(text):
        return None
    return int(text.split(".")[0])


def ascii_float(text: str) -> float | None:
    """The finite number written in ``text`` (ASCII digits, decimal point, exponent), else None."""
    text = text.strip()
    if not _FLOAT_TEXT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def is_iso_date_text(text: str) -> bool:
    """``YYYY-MM-DD`` in ASCII digits (the calendar is checked by ``date.fromisoformat``)."""
    return bool(_DATE_TEXT.fullmatch(text.strip()))


def in_int_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def control_character(text: str) -> int | None:
    """Index of the first character no text field may hold (NUL and other C0 controls but tab, CR, LF)."""
    for i, ch in enumerate(text):
        if ord(ch) < 32 and ch not in "\t\r\n":
            return i
    return None
