"""The CLI's JSON contract for earlyphase design ... (issue 5)."""

import json

import pytest
from typer.testing import CliRunner

from earlyphase.cli import app

runner = CliRunner()


def run_json(*args):
    res = runner.invoke(app, ["design", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_boundaries_contract():
    out = run_json("boundaries", "--design", "boin", "--target", "0.3", "--max-n", "12")
    assert set(out) >= {"lambda_e", "lambda_d", "table"}
    assert len(out["table"]) == 12
    assert set(out["table"][0]) == {"n", "escalate_if_at_most", "deescalate_if_at_least", "eliminate_if_at_least"}
    assert out["table"][0]["eliminate_if_at_least"] is None
    assert out["table"][2] == {"n": 3, "escalate_if_at_most": 0, "deescalate_if_at_least": 2, "eliminate_if_at_least": 3}


@pytest.mark.parametrize("design,extra", [("boin", []), ("3+3", []), ("mtpi2", []), ("i3+3", []),
                                          ("crm", ["--skeleton", "0.1,0.2,0.3"])])
def test_next_dose_contract(design, extra):
    out = run_json("next-dose", "--design", design, "--target", "0.3", "--current", "3", "--n", "3,6,3",
                   "--dlt", "0,1,2", *extra)
    assert set(out) >= {"decision", "next_level", "eliminated", "reason"}
    assert out["decision"] in {"escalate", "stay", "de-escalate", "stop"}
    assert isinstance(out["eliminated"], list)


def test_next_dose_boin_values():
    out = run_json("next-dose", "--design", "boin", "--target", "0.3", "--current", "3", "--n", "3,6,3", "--dlt", "0,1,2")
    assert out["decision"] == "de-escalate" and out["next_level"] == 2


def test_select_mtd_contract():
    out = run_json("select-mtd", "--target", "0.3", "--n", "3,3,15,9,0", "--dlt", "0,0,4,4,0")
    assert out["mtd"] == 3
    assert [None if v is None else round(v, 2) for v in out["isotonic_estimates"]] == [0.02, 0.02, 0.27, 0.45, None]


def test_simulate_contract_and_reproducible():
    args = ["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.05,0.1,0.2,0.3,0.45",
            "--cohort-size", "3", "--n-cohorts", "12", "--trials", "500", "--seed", "7"]
    a = run_json(*args)
    b = run_json(*args)
    assert a == b
    for key in ("design", "trials", "selection_percent", "no_selection_percent", "mean_patients", "mean_dlt",
                "mean_total_patients", "mean_total_dlt", "early_stop_percent"):
        assert key in a
    assert a["trials"] == 500 and len(a["selection_percent"]) == 5


def test_simulate_crm_with_getprior_skeleton():
    out = run_json("simulate", "--design", "crm", "--target", "0.25", "--prior-mtd", "3", "--halfwidth", "0.05",
                   "--truth", "0.05,0.1,0.25,0.4,0.5", "--trials", "300", "--seed", "1")
    assert out["design"] == "crm"


def test_table_command_writes_csv_and_png(tmp_path):
    csv_path, png_path = tmp_path / "t.csv", tmp_path / "t.png"
    res = runner.invoke(app, ["design", "table", "--design", "i3+3", "--target", "0.25", "--max-n", "6",
                              "--csv", str(csv_path), "--png", str(png_path)])
    assert res.exit_code == 0, res.output
    assert csv_path.read_text().startswith("n,y,decision")
    assert png_path.stat().st_size > 1000


def test_input_errors_exit_1():
    from earlyphase.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["design", "next-dose", "--design", "boin", "--target", "0.3", "--current", "4", "--n", "3,3", "--dlt", "0,0"])
    assert ex.value.code == 1
    with pytest.raises(SystemExit) as ex:
        main(["design", "next-dose", "--design", "nope", "--target", "0.3", "--current", "1", "--n", "3", "--dlt", "0"])
    assert ex.value.code == 1


def test_simulate_time_to_event_contract():
    out = run_json("simulate", "--design", "boin", "--target", "0.25", "--truth", "0.05,0.12,0.25,0.4,0.55",
                   "--trials", "300", "--seed", "2", "--interval", "7", "--arrival", "poisson", "--window", "28",
                   "--dlt-onset", "2,1", "--cohort-size", "3", "--n-cohorts", "8")
    assert out["tite"] is True and out["arrival"] == "poisson" and out["window_days"] == 28
    assert out["mean_duration_days"] > 7 * 23
    assert out["dlt_time_beta"] == [2.0, 1.0]
    three = run_json("simulate", "--design", "3+3", "--truth", "0.05,0.12,0.25,0.4,0.55", "--trials", "200",
                     "--seed", "2", "--interval", "7", "--pending-rule", "suspend")
    assert three["tite"] is False and three["pending_rule"] == "suspend" and three["mean_suspended_days"] > 0


@pytest.mark.parametrize("args", [["--arrival", "weekly"], ["--window", "-3"], ["--tite"], ["--pending-rule", "skip"],
                                  ["--backfill", "-2"]])
def test_simulate_time_to_event_bad_options(args):
    res = runner.invoke(app, ["design", "simulate", "--design", "3+3", "--truth", "0.1,0.2,0.3", "--trials", "20",
                              "--interval", "7", *args])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output


def test_simulate_backfill_with_cap_for_3_plus_3():
    out = run_json("simulate", "--design", "3+3", "--truth", "0.05,0.1,0.2,0.3,0.45", "--trials", "300", "--seed", "1",
                   "--backfill", "2", "--backfill-cap", "9")
    assert out["backfill_cap"] == 9 and out["mean_backfill_patients"] > 0
    res = runner.invoke(app, ["design", "simulate", "--design", "boin", "--target", "0.25", "--truth", "0.1,0.2",
                              "--trials", "10", "--backfill", "1", "--backfill-cap", "0"])
    assert res.exit_code == 1 and "backfill_cap" in res.output


def test_optimise_contract():
    out = run_json("optimise", "--tox", "0.05,0.1,0.15,0.3,0.45", "--eff", "0.1,0.3,0.5,0.55,0.6", "--trials", "300",
                   "--seed", "1", "--stage2-n", "6")
    assert out["design"] == "boin12" and out["true_obd"] == 3 and out["stage2_n"] == 6
    assert len(out["selection_percent"]) == 5 and out["benchmark_utility"] == pytest.approx(70.5)
    for bad in (["--eff", "0.1"], ["--u3", "-1"], ["--stage2-levels", "1"]):
        res = runner.invoke(app, ["design", "optimise", "--tox", "0.1,0.2", "--eff", "0.2,0.3", "--trials", "5", *bad])
        assert res.exit_code == 1 and "Traceback" not in res.output


_EXTRA = {"simulate": ["--truth", "0.1,0.2,0.3", "--trials", "10"], "table": ["--max-n", "6"],
          "next-dose": ["--current", "1", "--n", "3,0,0", "--dlt", "0,0,0"]}


@pytest.mark.parametrize("command,flag,value", [
    *[(c, "--table", "rules.csv") for c in _EXTRA],
    *[("simulate", f, v) for f, v in (("--grid", "2x2"), ("--partial-order", "1<2"), ("--orderings", "1,2,3"))],
])
def test_an_option_of_another_design_is_refused_not_ignored(tmp_path, command, flag, value):
    if flag == "--table":
        value = str(tmp_path / value)
        (tmp_path / "rules.csv").write_text("n,y,decision\n1,0,E\n1,1,D\n")
    res = runner.invoke(app, ["design", command, "--design", "boin", "--target", "0.25", *_EXTRA[command], flag, value])
    assert res.exit_code == 2, res.output
    assert flag in res.output and "applies only with --design" in res.output
