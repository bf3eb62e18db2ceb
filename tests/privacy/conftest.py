"""The demo twin with free text a coordinator might really type, and queries by two users."""

from __future__ import annotations

from known_users import add_users
import pytest

from privacy_helpers import ANSWERER, USER


@pytest.fixture(scope="session")
def twin_db(tmp_path_factory):
    """A SQLite trial holding the twin, plus a deviation, a withdrawal and two queries written in free text."""
    from earlyphase.capture import Trial, initialise
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("privacy") / "trial.db"
    url = f"sqlite:///{path}"
    initialise(url, "nk-hcc-ltx", USER).close()
    load_twin(url, username=USER)
    with Trial.open(url, USER) as trial:
        trial.record_protocol_deviation(
            "SYN-003", "2015-06-01", "other",
            "SYN-003 (Mr Peter Grainger, DOB 12/03/1951, MRN 4432190) phoned from 0161 496 0000 on 2015-06-01; "
            "email p.grainger@example.com. His wife Margaret will drive him.")
        q = trial.raise_query("adverse_events", 3, "Onset 2015-01-20 or 20 Jan 2015? Ask Dr Okafor.", field="onset")
        first = q.id
    add_users(url, ANSWERER)
    with Trial.open(url, ANSWERER) as trial:
        trial.answer_query(first, "checked with jsmith: 2015-01-20 is right")
    return url
