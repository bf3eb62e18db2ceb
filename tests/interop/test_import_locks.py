"""An import goes through capture, so a lock refuses it like any other write: nothing is written, and the
message names the lock."""

from __future__ import annotations

from test_import_door import USER, _files, _one_patient, _refused, _trial

from earlyphase.access import add_user
from earlyphase.capture import Trial
from earlyphase.records import make_engine


def test_an_import_into_a_locked_database_is_refused_naming_the_lock(tmp_path, db_url):
    url = _trial(db_url)
    engine = make_engine(url)
    add_user(engine, "dana", "correct horse battery", roles=["data_manager@ALL"], actor=USER)
    lock = Trial.open(engine, "dana").lock_data("database", "final analysis")
    engine.dispose()
    error = _refused(url, _files(tmp_path / "in", _one_patient()))
    assert [p.rule for p in error.problems] == ["locked"]
    assert f"the whole database is locked (lock {lock.id}, by dana" in str(error)
    engine = make_engine(url)
    Trial.open(engine, "dana").unlock_data(lock.id, "a late site's data arrived")
    engine.dispose()
    from earlyphase.interop import import_trial

    assert import_trial(url, tmp_path / "in", username=USER) is not None
