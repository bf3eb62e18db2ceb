"""The `earlyphase survival km|logrank|rmst` JSON contract, and out-of-core Parquet = in memory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.stats import kaplan_meier, logrank_test

from survival_reference import assert_close, load_reference

runner = CliRunner()


def run_json(*args):
    res = runner.invoke(app, ["survival", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(5)
    n = 1200
    df = pd.DataFrame({
        "t": np.round(rng.exponential(10, n), 1), "e": (rng.random(n) < 0.7).astype(int),
        "arm": rng.choice(["A", "B", "C", "D"], n), "site": rng.choice(["s1", "s2"], n),
    })
    csv = tmp_path / "d.csv"
    df.to_csv(csv, index=False)
    pq = tmp_path / "pq"
    pq.mkdir()
    for i in range(3):  # a multi-file Parquet directory
        df.iloc[i * 400:(i + 1) * 400].to_parquet(pq / f"part{i}.parquet")
    return df, csv, pq


def test_km_contract_and_parquet_directory_equals_memory(files):
    df, csv, pq = files
    a = run_json("km", str(csv), "--time", "t", "--event", "e", "--group", "arm", "--times", "6,12")
    b = run_json("km", str(pq), "--time", "t", "--event", "e", "--group", "arm", "--times", "6,12")
    assert a == b
    assert set(a) == {"conf_type", "conf_level", "median_rule", "n_omitted", "notes", "groups"} and a["conf_type"] == "log-log"
    assert a["median_rule"] == "quantile" and a["n_omitted"] == 0 and a["notes"] == []
    g = a["groups"][0]
    assert set(g) == {"group", "n", "events", "median", "median_lower", "median_upper", "table", "at", "at_omitted"}
    assert set(g["table"][0]) == {"time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"}
    assert set(g["at"][0]) == {"time", "n_risk", "survival", "std_err", "lower", "upper"}
    km = kaplan_meier(df.t, df.e, group=df.arm)
    assert [x["median"] for x in a["groups"]] == [c.median[0] for c in km.curves]
    assert sum(x["n"] for x in a["groups"]) == len(df)


def test_logrank_parquet_equals_memory(files):
    df, csv, pq = files
    args = ["--time", "t", "--event", "e", "--group", "arm", "--strata", "site", "--weights", "fh", "--rho", "1", "--gamma", "0.5"]
    a = run_json("logrank", str(csv), *args)
    b = run_json("logrank", str(pq), *args)
    assert a == b
    ref = logrank_test(df.t, df.e, df.arm, strata=df.site, weights="fh", rho=1, gamma=0.5)
    assert a["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert {"test", "statistic", "df", "p_value", "groups", "variance"} <= set(a)


def test_logrank_trend_and_permutation(files):
    df, csv, _ = files
    out = run_json("logrank", str(csv), "--time", "t", "--event", "e", "--group", "arm", "--trend", "--scores", "1,2,3,5",
                   "--permutations", "500", "--seed", "3")
    assert out["df"] == 1 and out["scores"] == [1, 2, 3, 5]
    assert 0 < out["permutation_p_value"] <= 1 and out["permutation_se"] > 0


def test_km_single_group_named_all_matches_r(tmp_path):
    ref = load_reference("km_flat_half")
    d = ref["data"]
    path = tmp_path / "x.csv"
    pd.DataFrame({"time": d["time"], "status": d["event"]}).to_csv(path, index=False)
    out = run_json("km", str(path), "--time", "time", "--event", "status", "--conf-type", "log")
    r = ref["results"]["log_0.95"]
    assert out["groups"][0]["group"] == "all"
    assert_close([row["survival"] for row in out["groups"][0]["table"]], r["table"]["survival"])
    assert_close(out["groups"][0]["median"], r["quantile"]["quantile"][0][1])


def test_rmst_contract(files):
    _, csv, _ = files
    out = run_json("rmst", str(csv), "--time", "t", "--event", "e", "--group", "site", "--tau", "20")
    assert out["tau"] == 20 and len(out["groups"]) == 2
    assert {"estimate", "lower", "upper"} <= set(out["difference"]) and {"estimate", "lower", "upper"} <= set(out["ratio"])


def test_errors_exit_1_and_name_the_column(files, tmp_path):
    _, csv, pq = files
    from earlyphase.cli.common import run_app

    assert run_app(app, ["survival", "km", str(csv), "--time", "t", "--event", "missing_col"]) == 1
    bad = pd.DataFrame({"t": [1.0, -2.0, 3.0], "e": [1, 0, 2], "g": ["a", "b", "a"]})
    bad.to_parquet(tmp_path / "bad.parquet")
    from earlyphase.cli.survival_data import reduce_to_counts
    from earlyphase.errors import InputError

    with pytest.raises(InputError) as exc:
        reduce_to_counts(tmp_path / "bad.parquet", "t", "e", group="g")
    assert {p.field for p in exc.value.problems} == {"t", "e"}


def test_logrank_exact_and_km_entry(tmp_path):
    df = pd.DataFrame({
        "t": [1.0, 2.0, 2.0, 3.5, 4.0, 5.0, 6.0, 6.0, 7.5], "e": [1, 1, 0, 1, 1, 0, 1, 1, 0],
        "g": ["A", "A", "B", "B", "B", "C", "C", "C", "A"], "x": [0, 0, 1, 1, 0, 2, 0, 3, 0],
    })
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    out = run_json("logrank", str(path), "--time", "t", "--event", "e", "--group", "g", "--exact")
    from earlyphase.stats import permutation_logrank

    ref = permutation_logrank(df.t, df.e, df.g, exact=True)
    assert out["exact"] is True and out["permutations"] == 1680
    assert out["permutation_p_value"] == ref.permutation_p_value
    km = run_json("km", str(path), "--time", "t", "--event", "e", "--entry", "x")
    at_risk = [row["n_risk"] for row in km["groups"][0]["table"]]
    assert at_risk == kaplan_meier(df.t, df.e, entry=df.x).curves[0].n_risk.tolist()
