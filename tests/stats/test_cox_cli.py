"""`earlyphase survival cox` JSON contract, CSV and Parquet, checked against the R reference files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
runner = CliRunner()


def _reference(name: str) -> dict:
    return json.loads((DATA / f"cox_{name}.json").read_text())


def _frame(ref: dict) -> pd.DataFrame:
    return pd.DataFrame(ref["data"])


def _run(*args: str):
    return runner.invoke(app, ["survival", "cox", *args])


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_json_contract_matches_r(tmp_path, suffix):
    ref = _reference("lung_efron")
    path = tmp_path / f"lung.{suffix}"
    frame = _frame(ref)
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    res = _run(str(path), "--time", "time", "--event", "event", "--covariates", "age,sex,ecog,wt.loss",
               "--categorical", "ecog", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    r = ref["result"]
    assert out["n"] == len(frame) and out["events"] == int(frame["event"].sum()) and out["ties"] == "efron"
    assert [c["name"] for c in out["coefficients"]] == r["names"]
    np.testing.assert_allclose([c["coef"] for c in out["coefficients"]], r["coef"], rtol=1e-8)
    np.testing.assert_allclose([c["se"] for c in out["coefficients"]], r["se"], rtol=1e-8)
    assert all(c["robust_se"] is None for c in out["coefficients"])
    np.testing.assert_allclose(out["loglik"], r["loglik"], rtol=1e-8)
    for key in ["likelihood_ratio", "wald", "score"]:
        np.testing.assert_allclose(out["tests"][key]["statistic"], r[key][0], rtol=1e-8)
        assert out["tests"][key]["df"] == r[key][1]
    np.testing.assert_allclose(out["concordance"], r["concordance"], rtol=1e-8)
    assert [z["term"] for z in out["zph"]] == r["zph_terms"]
    np.testing.assert_allclose([z["chisq"] for z in out["zph"]], r["zph_chisq"], rtol=1e-8)


def test_strata_breslow_robust_options(tmp_path):
    ref = _reference("lung_robust_breslow_strata")
    path = tmp_path / "lung.csv"
    _frame(ref).to_csv(path, index=False)
    res = _run(str(path), "--time", "time", "--event", "event", "--covariates", "age,wt.loss",
               "--strata", "site", "--ties", "breslow", "--robust", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    r = ref["result"]
    assert out["ties"] == "breslow"
    np.testing.assert_allclose([c["coef"] for c in out["coefficients"]], r["coef"], rtol=1e-8)
    np.testing.assert_allclose([c["robust_se"] for c in out["coefficients"]], r["robust_se"], rtol=1e-8)
    np.testing.assert_allclose(out["tests"]["wald"]["statistic"], r["wald"][0], rtol=1e-8)


def test_weights_and_seed_sized_groups(tmp_path):
    ref = _reference("weights_efron")
    path = tmp_path / "w.csv"
    _frame(ref).to_csv(path, index=False)
    res = _run(str(path), "--time", "time", "--event", "event", "--covariates", "x1,x2,trt", "--weights", "wt",
               "--format", "json")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose([c["coef"] for c in json.loads(res.stdout)["coefficients"]], ref["result"]["coef"], rtol=1e-8)

    seed = _reference("seed_efron")
    path = tmp_path / "seed.csv"
    _frame(seed).to_csv(path, index=False)
    res = _run(str(path), "--time", "time", "--event", "event", "--covariates", "group,age")
    assert res.exit_code == 0, res.output
    assert "groupB" in res.stdout and "Concordance=" in res.stdout and "GLOBAL" in res.stdout


def _exit_code_and_stderr(capsys, *args: str) -> tuple[int, str]:
    """Run through the real door (run_app): our errors become exit 1 and a message, usage errors exit 2."""
    from earlyphase.cli.common import run_app

    code = run_app(app, ["survival", "cox", *args])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_errors_exit_with_a_message(tmp_path, capsys):
    ref = _reference("seed_efron")
    path = tmp_path / "seed.csv"
    _frame(ref).to_csv(path, index=False)
    base = [str(path), "--time", "time", "--event", "event"]
    code, text = _exit_code_and_stderr(capsys, *base, "--covariates", "group,height")
    assert code == 1 and "height" in text and "not in" in text
    code, text = _exit_code_and_stderr(capsys, *base, "--covariates", "age", "--ties", "exact")
    assert code == 1 and "ties" in text and "efron" in text
    code, text = _exit_code_and_stderr(capsys, *base, "--covariates", "age", "--categorical", "group")
    assert code == 2 and "categorical" in text  # options that do not go together: a usage error
    code, _ = _exit_code_and_stderr(capsys, *base)
    assert code == 2  # usage: --covariates is required
