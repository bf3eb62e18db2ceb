"""The study-file door: files that once gave a traceback or were silently misread are refused by name (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from earlyphase.errors import InputError, StudyFileError
from earlyphase.protocol import load_study, read_study_text

SEED, _ = read_study_text("nk-hcc-ltx")


def _file(tmp_path: Path, text: str | bytes, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _refused(path: Path) -> StudyFileError:
    with pytest.raises(StudyFileError) as caught:
        load_study(path)
    return caught.value


def test_an_impossible_date_names_its_key(tmp_path):
    assert "enrolment_end: 2017-03-29" in SEED
    error = _refused(_file(tmp_path, SEED.replace("enrolment_end: 2017-03-29", "enrolment_end: 2015-02-30")))
    assert [(p.field, p.value) for p in error.problems] == [("enrolment_end", "2015-02-30")]


def test_a_latin1_file_is_refused_naming_the_byte(tmp_path):
    text = SEED.replace("name: Sun Yat-sen University (single centre)", "name: Université")
    data = text.encode("latin-1")
    (problem,) = _refused(_file(tmp_path, data)).problems
    offset = data.index(b"\xe9")
    assert problem.rule == "utf-8" and f"byte {offset} (line {text[:text.index('Université')].count(chr(10)) + 1})" in \
        problem.message


def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path):
    assert load_study(_file(tmp_path, b"\xef\xbb\xbf" + SEED.encode("utf-8"))).study_id == "nk-hcc-ltx"


@pytest.mark.parametrize("written", [".inf", "-.inf", ".nan", ".NaN"])
def test_infinite_or_nan_doses_are_refused(tmp_path, written):
    (problem,) = _refused(_file(tmp_path, SEED.replace("dose: 2.5e9", f"dose: {written}", 1))).problems
    assert (problem.field, problem.rule) == ("groups[0].regimen.dose", "finite-number")


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path):
    text = SEED.replace("dlt_window_days: 28", "dlt_window_days: 28\ndlt_window_days: 21")
    (problem,) = _refused(_file(tmp_path, text)).problems
    line = text[:text.index("dlt_window_days")].count("\n") + 1
    assert (problem.field, problem.rule) == ("dlt_window_days", "unique-key")
    assert f"lines {line} and {line + 1}" in problem.message


def test_a_nested_key_written_twice_is_refused(tmp_path):
    text = SEED.replace("  - code: SYSU\n", "  - code: SYSU\n    code: XYZ\n")
    assert text != SEED
    (problem,) = _refused(_file(tmp_path, text)).problems
    assert (problem.field, problem.rule) == ("code", "unique-key")


def test_a_nul_in_text_is_refused(tmp_path):
    text = SEED.replace("sponsor: Sun Yat-sen University", 'sponsor: "Sun\\0Yat-sen"')
    (problem,) = _refused(_file(tmp_path, text)).problems
    assert (problem.field, problem.rule) == ("sponsor", "control-character")


def test_a_site_name_longer_than_its_column_is_refused_by_the_study_file(tmp_path):
    text = SEED.replace("name: Sun Yat-sen University (single centre)", "name: " + "N" * 201)
    (problem,) = _refused(_file(tmp_path, text)).problems
    assert problem.field == "sites[0].name"


def test_a_directory_or_fifo_as_the_study_file_is_refused(tmp_path):
    (problem,) = _refused(tmp_path).problems
    assert problem.rule == "regular-file"
    if not hasattr(os, "mkfifo"):
        return
    fifo = tmp_path / "study.yaml"
    os.mkfifo(fifo)
    code = "import sys\nfrom earlyphase.cli import main\nsys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "init", "--db", f"sqlite:///{tmp_path / 't.db'}", "--study",
                           str(fifo), "--user", "c1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_ctcae_file_that_is_not_a_workbook_is_refused_at_init(tmp_path):
    from earlyphase.capture import initialise

    text = SEED.replace('ctcae_version: "5.0"', 'ctcae_version: "5.0"\nctcae_file: /etc/passwd')
    with pytest.raises(InputError) as caught:
        initialise(f"sqlite:///{tmp_path / 't.db'}", str(_file(tmp_path, text)), "c1").close()
    assert caught.value.problems[0].field == "ctcae_file"


def test_the_database_refuses_the_same_lengths_on_both_backends(engine):
    """The net under capture's checks: SQLite would keep 300 characters in VARCHAR(200); neither backend may."""
    from earlyphase.records import transaction
    from earlyphase.records.tables import SiteRecord

    with pytest.raises(InputError) as caught:
        with transaction(engine) as session:
            session.add(SiteRecord(code="X1", name="N" * 300, country="GB"))
            session.flush()
    (problem,) = caught.value.problems
    assert (problem.field, problem.rule) == ("sites.name", "max-length")
    with pytest.raises(InputError) as caught:
        with transaction(engine) as session:
            session.add(SiteRecord(code="X\x002", name="N", country="GB"))
            session.flush()
    assert caught.value.problems[0].rule == "control-character"
