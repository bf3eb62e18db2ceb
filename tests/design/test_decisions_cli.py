"""design decide / seal / decisions, and next-dose within the levels sealed decisions leave open."""

from known_users import add_users
import json
from datetime import date

from signing_helpers import PASSWORD, investigator_account
from typer.testing import CliRunner

from earlyphase.access.totp import totp_now
from earlyphase.capture import initialise
from earlyphase.cli import app
from earlyphase.design import BoinDesign
from earlyphase.design._common import Decision
from earlyphase.design.live_recommendation import within_open_levels

from .live_helpers import study_file, treat


def run(*args):
    return CliRunner().invoke(app, ["design", *args])


def trial_db(tmp_path):
    path = tmp_path / "t.db"
    t = initialise(str(path), str(study_file(tmp_path, "boin")), "coordinator", today=date(2015, 9, 1))
    for s in ("P01", "P02", "P03"):
        treat(t, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15"], 2.5e9)
    add_users(t, "dr.li")
    t.close()
    return f"sqlite:///{path}"


def test_decide_seal_and_list(tmp_path):
    db = trial_db(tmp_path)
    nxt = json.loads(run("next-dose", "--db", db, "--as-of", "2015-02-20", "--format", "json").stdout)
    assert nxt["decision"] == "escalate" and nxt["next_level"] == 2 and nxt["requires_decision"] is True
    assert "level 2 is not open yet" in nxt["reason"]
    res = run("decide", "--db", db, "--date", "2015-02-20", "--decision", "escalate", "--level", "B",
              "--rationale", "0/3 DLT at A", "--decided-by", "Safety review committee", "--investigator", "dr.li",
              "--user", "coordinator")
    assert res.exit_code == 0, res.output
    assert "NOT SEALED (awaits dr.li)" in res.stdout and "boin (study file), as of 2015-02-20: escalate to level 2" in res.stdout
    refused = CliRunner().invoke(app, ["design", "seal", "1", "--db", db, "--user", "coordinator", "--code", "000000"],
                                 input="x\n")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    from earlyphase.records import make_engine

    engine = make_engine(db)
    secret = investigator_account(engine, "dr.li")
    engine.dispose()
    wrong = CliRunner().invoke(app, ["design", "seal", "1", "--db", db, "--user", "dr.li", "--code", totp_now(secret)],
                               input="not it\n")
    assert wrong.exit_code == 1 and "is not right" in wrong.output
    # the password is never an argument: read from standard input (a prompt on a terminal), then the code
    sealed = CliRunner().invoke(app, ["design", "seal", "1", "--db", db, "--user", "dr.li", "--format", "json"],
                                input=f"{PASSWORD}\n{totp_now(secret)}\n")
    assert sealed.exit_code == 0, sealed.output
    assert json.loads(sealed.stdout)["seal"] == "sealed"
    listing = json.loads(run("decisions", "--db", db, "--format", "json").stdout)
    assert listing["open_levels"] == 2 and listing["open_by"] == 1
    (d,) = listing["decisions"]
    assert d["level_opened"] == "B" and d["recommendation"]["decision"] == "escalate"
    assert d["recommendation"]["counts"]["n"] == [3, 0, 0, 0]
    text = run("decisions", "--db", db).stdout
    assert "Decision 1 of 2015-02-20: escalate (group B); opens B" in text and "sealed by dr.li" in text
    again = json.loads(run("next-dose", "--db", db, "--as-of", "2015-02-21", "--format", "json").stdout)
    assert again["requires_decision"] is False and again["counts"]["open_levels"] == 2


def test_decide_refuses_bad_input(tmp_path):
    db = trial_db(tmp_path)
    res = run("decide", "--db", db, "--date", "2015-02-20", "--decision", "escalate", "--level", "C",
              "--rationale", "x", "--decided-by", "y", "--user", "dr.li")
    assert res.exit_code == 1 and "one-level-up" in res.output and "Traceback" not in res.output
    res = run("decide", "--db", db, "--date", "20 Feb", "--decision", "escalate", "--level", "B",
              "--rationale", "x", "--decided-by", "y")
    assert res.exit_code == 2 and "--date" in res.output
    assert json.loads(run("decisions", "--db", db, "--format", "json").stdout)["decisions"] == []


def test_seal_at_once_and_stop(tmp_path):
    import time

    from earlyphase.access.totp import STEP_SECONDS
    from earlyphase.records import make_engine

    db = trial_db(tmp_path)
    engine = make_engine(db)
    secret = investigator_account(engine, "dr.li")
    engine.dispose()
    for step, args in enumerate((["--decision", "escalate", "--level", "B"], ["--decision", "stop"])):
        code = totp_now(secret, at=time.time() + (step - 1) * STEP_SECONDS)  # each code is accepted once
        res = CliRunner().invoke(app, ["design", "decide", "--db", db, "--date", "2015-02-20", *args, "--rationale", "r",
                                       "--decided-by", "dr.li", "--user", "dr.li", "--seal", "--code", code],
                                 input=f"{PASSWORD}\n")
        assert res.exit_code == 0, res.output
    out = json.loads(run("next-dose", "--db", db, "--as-of", "2015-02-21", "--format", "json").stdout)
    assert out["decision"] == "stop" and out["next_level"] is None and "stopped" in out["reason"]


def decision(word, current, nxt):
    return Decision(design="d", decision=word, current_level=current, next_level=nxt, eliminated=(), reason="r")


def test_within_open_levels():
    assert within_open_levels(decision("escalate", 2, 3), None).next_level == 3  # fixed allocation: untouched
    up = within_open_levels(decision("escalate", 2, 3), 2, 5, "decision 5 leaves levels 1 to 2 open")
    assert up.next_level == 3 and up.details["requires_decision"] is True
    capped = within_open_levels(decision("stay", 3, 3), 2, 7)
    assert (capped.decision, capped.next_level) == ("de-escalate", 2) and "level 3 is not open" in capped.reason
    stopped = within_open_levels(decision("stay", 1, 1), 0, 9)
    assert stopped.decision == "stop" and stopped.next_level is None
    inside = within_open_levels(BoinDesign(target=0.3).decide([3, 3], [0, 2], 2), 2)
    assert (inside.decision, inside.next_level) == ("de-escalate", 1)
