"""R's own data sets fed to the CLI as R writes them (status 1/2 and 0/1/2, NA, factor labels), against R.

The CSV files and the reference values come from tests/reference/make_reference.R and
make_cox_reference.R (via r_datasets.R); nothing is recoded outside the CLI. Tolerances as the
project states them: 1e-10 relative for Kaplan-Meier, Nelson-Aalen, log-rank and RMST, 1e-8 for Cox.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlyphase.cli import app
from earlyphase.cli.common import run_app

from survival_reference import assert_close, load_reference

DATASETS = Path(__file__).resolve().parents[1] / "reference" / "data" / "datasets"
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "data"


def cli_json(capsys, *args: str) -> dict:
    """Run ``earlyphase survival ...`` through the real door and parse its JSON."""
    code = run_app(app, ["survival", *args, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err + out.out
    return json.loads(out.out)


def data(name: str) -> str:
    return str(DATASETS / name)


def test_lung_status_1_2_km_medians_quantiles_and_print_rule(capsys):
    r = load_reference("rdata_lung")["results"]
    out = cli_json(capsys, "km", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex")
    assert [g["group"] for g in out["groups"]] == ["1", "2"]  # labels as in the data, not "1.0"
    assert any("1/2" in n for n in out["notes"]) and out["n_omitted"] == 0
    rows = [row for g in out["groups"] for row in g["table"]]
    for key in ("time", "n_risk", "survival", "std_err", "lower", "upper"):
        assert_close([row[key] for row in rows], r["km"]["table"][key], f"lung km {key}")
    assert_close([g["n"] for g in out["groups"]], r["km"]["n"])
    assert_close([g["median"] for g in out["groups"]], np.array(r["km"]["quantile"]["quantile"])[:, 1])
    q = cli_json(capsys, "quantile", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex")
    got = np.array([[x["time"] for x in g["quantiles"]] for g in q["groups"]])
    assert_close(got, r["km"]["quantile"]["quantile"], "lung quantiles")
    assert_close(np.array([[x["lower"] for x in g["quantiles"]] for g in q["groups"]]), r["km"]["quantile"]["lower"])
    assert_close(np.array([[x["upper"] for x in g["quantiles"]] for g in q["groups"]]), r["km"]["quantile"]["upper"])
    p = cli_json(capsys, "km", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex",
                 "--median-rule", "print")
    assert_close([g["median"] for g in p["groups"]], r["km"]["print_median"]["median"])


def test_lung_landmarks_with_se_and_past_follow_up_left_out(capsys):
    r = load_reference("rdata_lung")["results"]["landmarks"]
    out = cli_json(capsys, "km", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex",
                   "--times", "100,365,1000,2000")
    rows = [(g["group"], a) for g in out["groups"] for a in g["at"]]
    assert [g for g, _ in rows] == r["group"]  # R leaves out the times after each group's last follow-up
    for key in ("time", "n_risk", "survival", "std_err", "lower", "upper"):
        assert_close([a[key] for _, a in rows], r[key], f"landmark {key}")
    omitted = {g["group"]: [o["time"] for o in g["at_omitted"]] for g in out["groups"]}
    assert omitted["1"] == [2000] and omitted["2"] == [1000, 2000]
    assert "after the last follow-up" in out["groups"][1]["at_omitted"][0]["reason"]


def test_lung_nelson_aalen(capsys):
    r = load_reference("rdata_lung")["results"]["cumhaz"]
    out = cli_json(capsys, "nelson-aalen", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex")
    rows = [row for g in out["groups"] for row in g["table"]]
    assert_close([row["time"] for row in rows], r["time"])
    assert_close([row["cumhaz"] for row in rows], r["cumhaz"])
    assert_close([np.sqrt(row["variance"]) for row in rows], r["std_chaz"])


def test_lung_rmst_extend_as_r(capsys):
    r = load_reference("rdata_lung")["results"]["rmst_extend"]
    code = run_app(app, ["survival", "rmst", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex",
                         "--tau", "1100"])
    err = capsys.readouterr().err
    assert code == 1 and "--extend" in err  # refused by default: the curves end before 1100
    out = cli_json(capsys, "rmst", data("lung.csv"), "--time", "time", "--event", "status", "--group", "sex",
                   "--tau", "1100", "--extend")
    assert_close([g["rmst"] for g in out["groups"]], r["rmst"])
    assert_close([g["se"] for g in out["groups"]], r["se"])
    assert out["extended"] == ["1", "2"]


def test_ovarian_rmst_extend(capsys):
    ref = load_reference("rdata_ovarian_rmst")["results"]
    out = cli_json(capsys, "rmst", data("ovarian.csv"), "--time", "futime", "--event", "fustat", "--group", "rx",
                   "--tau", "1300", "--extend")
    assert_close([g["rmst"] for g in out["groups"]], ref["rmst"])
    assert_close([g["se"] for g in out["groups"]], ref["se"])


def test_lung_concordance_both_orientations(capsys):
    r = load_reference("rdata_lung")["results"]
    out = cli_json(capsys, "concordance", data("lung.csv"), "--time", "time", "--event", "status", "--predictor", "age")
    assert_close(out["concordance"], r["concordance_age"]["concordance"])
    assert_close(out["std_err"], r["concordance_age"]["std_err"])
    assert_close([out[k] for k in ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")], r["concordance_age"]["counts"])
    rev = cli_json(capsys, "concordance", data("lung.csv"), "--time", "time", "--event", "status", "--predictor", "ph.karno",
                   "--reverse")
    assert_close(rev["concordance"], r["concordance_karno_reverse"]["concordance"])
    assert_close(rev["std_err"], r["concordance_karno_reverse"]["std_err"])
    assert rev["n_omitted"] == r["concordance_karno_reverse"]["n_omitted"] == 1


def test_lung_logrank_leaves_out_the_missing_row_and_says_so(capsys):
    r = load_reference("rdata_lung_logrank_ecog")["results"]
    out = cli_json(capsys, "logrank", data("lung.csv"), "--time", "time", "--event", "status", "--group", "ph.ecog")
    assert out["n_omitted"] == r["n_omitted"] == 1
    assert [g["group"] for g in out["groups"]] == r["groups"]
    assert_close([g["observed"] for g in out["groups"]], r["observed"])
    assert_close([g["expected"] for g in out["groups"]], r["expected"])
    assert_close(out["variance"], r["variance"])
    assert_close(out["statistic"], r["statistic"])
    assert_close(out["p_value"], r["p_value"])
    code = run_app(app, ["survival", "logrank", data("lung.csv"), "--time", "time", "--event", "status", "--group",
                         "ph.ecog", "--na-action", "fail"])
    err = capsys.readouterr().err
    assert code == 1 and "row 14" in err  # R's row 14 (1-based) is the one with ph.ecog NA
    text = run_app(app, ["survival", "logrank", data("lung.csv"), "--time", "time", "--event", "status", "--group", "ph.ecog"])
    assert text == 0 and "(1 observation deleted due to missingness)" in capsys.readouterr().out


def test_pbc_event_value_and_missing_treatment(capsys):
    r = load_reference("rdata_pbc")["results"]
    out = cli_json(capsys, "km", data("pbc.csv"), "--time", "time", "--event", "status", "--event-value", "2", "--group", "trt")
    assert out["n_omitted"] == r["logrank"]["n_omitted"] == 106
    assert_close([g["n"] for g in out["groups"]], r["km"]["n"])
    rows = [row for g in out["groups"] for row in g["table"]]
    assert_close([row["survival"] for row in rows], r["km"]["table"]["survival"])
    assert_close([g["median"] for g in out["groups"]], np.array(r["km"]["quantile"]["quantile"])[:, 1])
    lr = cli_json(capsys, "logrank", data("pbc.csv"), "--time", "time", "--event", "status", "--event-value", "2",
                  "--group", "trt")
    assert_close(lr["statistic"], r["logrank"]["statistic"])
    assert_close([g["observed"] for g in lr["groups"]], r["logrank"]["observed"])
    # 0/1/2 without --event-value: refused with a message saying what to do
    code = run_app(app, ["survival", "km", data("pbc.csv"), "--time", "time", "--event", "status"])
    err = capsys.readouterr().err
    assert code == 1 and "--event-value" in err and "Traceback" not in err


def test_trend_follows_numeric_and_given_order(capsys):
    r = load_reference("rdata_trend")["results"]
    fl = cli_json(capsys, "logrank", data("flchain.csv"), "--time", "futime", "--event", "death", "--group", "flc.grp", "--trend")
    assert [g["group"] for g in fl["groups"]] == r["flchain"]["groups"]  # 1, 2, ..., 10: not 1, 10, 2
    assert_close(fl["statistic"], r["flchain"]["statistic"])  # 747.8
    assert_close(fl["trend_u"], r["flchain"]["u"])
    # rotterdam's size is text: refused without an order, R's answer with the factor's levels
    code = run_app(app, ["survival", "logrank", data("rotterdam.csv"), "--time", "dtime", "--event", "death", "--group", "size",
                         "--trend"])
    err = capsys.readouterr().err
    assert code == 1 and "--levels" in err
    ro = cli_json(capsys, "logrank", data("rotterdam.csv"), "--time", "dtime", "--event", "death", "--group", "size",
                  "--trend", "--levels", "<=20,20-50,>50")
    assert [g["group"] for g in ro["groups"]] == r["rotterdam"]["groups"]
    assert_close(ro["statistic"], r["rotterdam"]["statistic"])  # 267.6
    assert_close([g["observed"] for g in ro["groups"]], r["rotterdam"]["observed"])


def test_timefix_on_the_age_scale(capsys):
    ref = load_reference("rdata_flchain_timefix")["results"]
    base = ["km", data("flchain_age.csv"), "--time", "exit_age", "--entry", "age", "--event", "death", "--group", "sex"]
    for key, extra in (("timefix", []), ("no_timefix", ["--no-timefix"])):
        out = cli_json(capsys, *base, *extra)
        rows = [row for g in out["groups"] for row in g["table"]]
        r = ref[key]
        assert len(rows) == len(r["time"]), key
        for col in ("time", "n_risk", "n_event", "survival"):
            assert_close([row[col] for row in rows], r[col], f"{key} {col}")
    assert len(ref["timefix"]["time"]) < len(ref["no_timefix"]["time"])  # R merged some exits


def _cox_reference(name: str) -> dict:
    return json.loads((REFERENCE / f"rdata_cox_{name}.json").read_text())


@pytest.mark.parametrize("name", ["lung_na", "veteran", "retinopathy_cluster", "pbc", "flchain_timefix",
                                  "flchain_no_timefix"])
def test_cox_on_r_datasets(capsys, name):
    ref = _cox_reference(name)
    args = list(ref["cli"])
    if "--time" not in args:
        args = ["--time", "futime" if "retinopathy" in name else "time"] + args
    out = cli_json(capsys, "cox", str(REFERENCE / ref["file"]), *args)
    r = ref["result"]
    assert out["n"] == r["n"][0] and out["events"] == r["nevent"][0] and out["n_omitted"] == r["n_omitted"][0]
    names = [c["name"] for c in out["coefficients"]]
    expected = [n.replace("factor(ph.ecog)", "ph.ecog") for n in r["names"]]
    assert names == expected  # R's names: celltypesmallcell, typeadult, sexf, ph.ecog1 (never ph.ecog1.0)
    np.testing.assert_allclose([c["coef"] for c in out["coefficients"]], r["coef"], rtol=1e-8)
    np.testing.assert_allclose([c["se"] for c in out["coefficients"]], r["se"], rtol=1e-8)
    if r.get("robust_se"):
        np.testing.assert_allclose([c["robust_se"] for c in out["coefficients"]], r["robust_se"], rtol=1e-8)
        np.testing.assert_allclose(out["tests"]["robust_score"]["statistic"], r["robust_score"][0], rtol=1e-8)
    np.testing.assert_allclose(out["loglik"], r["loglik"], rtol=1e-8)
    np.testing.assert_allclose(out["tests"]["wald"]["statistic"], r["wald"][0], rtol=1e-8)
    np.testing.assert_allclose(out["tests"]["score"]["statistic"], r["score"][0], rtol=1e-8)
    np.testing.assert_allclose(out["concordance"], r["concordance"][0], rtol=1e-8)
    np.testing.assert_allclose([c["hr_lower"] for c in out["coefficients"]], r["hr_lower"], rtol=1e-8)


def test_cluster_changes_the_robust_se_as_r(capsys):
    ref = _cox_reference("retinopathy_cluster")
    out = cli_json(capsys, "cox", data("retinopathy.csv"), "--time", "futime", "--event", "status", "--covariates", "type,trt",
                   "--levels", "type=juvenile,adult", "--robust")
    per_row = [c["robust_se"] for c in out["coefficients"]]
    assert not np.allclose(per_row, ref["result"]["robust_se"], rtol=1e-3)  # per-eye sandwich is not R's cluster(id)
