"""One subject's ledger, read with only that subject's rows, equals that subject's part of the whole ledger.

The casebook page reads one subject's rows instead of the whole trial's; this holds it to the same answer on
the twin (visits, progression from the response assessments, deaths, forms not done) at several dates.
"""

from __future__ import annotations

from datetime import date

import pytest


@pytest.mark.parametrize("as_of", [date(2015, 9, 1), date(2016, 6, 1), date(2019, 1, 1)])
def test_one_subjects_ledger_equals_its_part_of_the_whole(twin_db, as_of):
    from earlyphase.derive.ledger import ledger_from_database
    from earlyphase.derive.source import read_source
    from earlyphase.records import make_engine

    engine = make_engine(twin_db)
    whole = ledger_from_database(engine, as_of)
    subjects = sorted(read_source(engine).tables["patients"]["subject_id"])
    assert len(subjects) == 18
    compared = 0
    for subject in subjects:
        own = ledger_from_database(engine, as_of, subject).entries
        assert own == tuple(e for e in whole.entries if e.subject_id == subject), subject
        compared += len(own)
    assert compared == len(whole.entries) > 0


def test_an_unknown_subject_has_an_empty_ledger(twin_db):
    from earlyphase.derive.ledger import ledger_from_database
    from earlyphase.records import make_engine

    assert ledger_from_database(make_engine(twin_db), date(2019, 1, 1), "NO-SUCH").entries == ()
