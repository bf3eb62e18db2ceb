"""The trial beside external arms: numbers agree with earlyphase.stats, caveats always stated, bad input refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from earlyphase.cli import app
from earlyphase.cli.common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, run_app
from earlyphase.errors import InputError
from earlyphase.external.compare import CAVEATS, ComparedArm, compare_arms, read_ipd_csv
from earlyphase.stats import cox_ph, logrank_test, rmst


def _arm(label, seed, n, median, external):
    rng = np.random.default_rng(seed)
    t = rng.exponential(median / np.log(2), n)
    c = rng.uniform(10, 30, n)
    return ComparedArm(label, np.minimum(t, c), (t <= c).astype(int), external=external)


def test_numbers_are_those_of_the_stats_package():
    trial, ext = _arm("trial", 1, 18, 15.0, False), _arm("control", 2, 120, 9.0, True)
    result = compare_arms([trial], [ext], endpoint="OS", horizon=9.0)
    (c,) = result.contrasts
    time = np.concatenate([ext.time, trial.time])
    event = np.concatenate([ext.event, trial.event])
    x = np.r_[np.zeros(ext.n), np.ones(trial.n)]
    cox = cox_ph(time, event, {"x": x}).coefficients[0]
    assert c.hazard_ratio == pytest.approx(cox.hr) and c.hr_lower == pytest.approx(cox.hr_lower)
    assert c.logrank_p_value == pytest.approx(logrank_test(time, event, x).p_value)
    r = rmst(time, event, 9.0, group=x)
    assert c.rmst_difference == pytest.approx(r.difference["estimate"])
    assert c.rmst_trial == pytest.approx(r.estimate[1]) and c.rmst_external == pytest.approx(r.estimate[0])
    assert c.hazard_ratio < 1  # the trial arm was simulated with the longer median


def test_caveats_travel_with_every_output():
    result = compare_arms([_arm("trial", 1, 18, 15.0, False)], [_arm("control", 2, 60, 9.0, True)], endpoint="OS")
    text = result.summary()
    assert "Not randomised" in text and all(c in text for c in CAVEATS)
    d = json.loads(json.dumps(result.to_dict(), default=float))
    assert d["caveats"] == list(CAVEATS) and d["unit"] == "months"
    assert set(result.to_frame().source) == {"trial", "external (rebuilt)"}


def test_default_horizon_is_the_shortest_open_follow_up():
    trial, ext = _arm("trial", 1, 18, 15.0, False), _arm("control", 2, 60, 9.0, True)
    result = compare_arms([trial], [ext], endpoint="OS")
    open_ended = [a.time.max() for a in (trial, ext) if a.curve.survival[-1] > 0]
    assert result.horizon == pytest.approx(min(open_ended))
    with pytest.raises(InputError) as err:
        compare_arms([trial], [ext], endpoint="OS", horizon=500.0)
    assert err.value.problems[0].rule == "within_follow_up" and "Choose at most" in str(err.value)


def test_a_curve_at_zero_is_known_after_its_last_death():
    dead = ComparedArm("small", np.array([2.0, 4.0, 5.0]), np.array([1, 1, 1]), external=False)
    ext = _arm("control", 2, 60, 9.0, True)
    result = compare_arms([dead], [ext], endpoint="OS", horizon=8.0)
    assert result.contrasts[0].rmst_trial == pytest.approx((2 * 1 + 2 * (2 / 3) + 1 * (1 / 3)))


def test_same_labels_and_empty_sides_are_refused():
    a = _arm("x", 1, 10, 5.0, False)
    with pytest.raises(InputError):
        compare_arms(a, [_arm("y", 2, 10, 5.0, True)], endpoint="OS")
    with pytest.raises(InputError):
        compare_arms([a], [(np.ones(3), np.ones(3))], endpoint="OS")
    with pytest.raises(InputError):
        compare_arms([a], [_arm("x", 2, 10, 5.0, True)], endpoint="OS")
    with pytest.raises(InputError):
        compare_arms([a], [], endpoint="OS")


def test_ipd_files(tmp_path):
    p = tmp_path / "two.csv"
    p.write_text("time,event,arm\n1.5,1,A\n2,0,A\n4,1,B\n")
    with pytest.raises(InputError) as err:
        read_ipd_csv(p)
    assert "A, B" in str(err.value)
    a = read_ipd_csv(p, arm="A")
    assert a.label == "A" and list(a.time) == [1.5, 2.0] and a.external
    w = tmp_path / "weeks.csv"
    w.write_text("time,event\n52.17857,1\n")
    assert read_ipd_csv(w, unit="weeks", label="c").time[0] == pytest.approx(12.0, abs=1e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,event\n1,1\n-2,1\n3,yes\n")
    with pytest.raises(InputError) as err:
        read_ipd_csv(bad)
    assert {(q.field, q.row) for q in err.value.problems} == {("time", 3), ("event", 4)}
    cols = tmp_path / "cols.csv"
    cols.write_text("t,s\n1,1\n")
    with pytest.raises(InputError) as err:
        read_ipd_csv(cols)
    assert "time and event" in str(err.value)


def test_cli_compare_writes_figure_json_and_text(trial_db, external_ipd, tmp_path, capsys):
    out = tmp_path / "cmp"
    code = run_app(app, ["external", "compare", "--db", str(trial_db), "--endpoint", "OS", "--ipd", str(external_ipd),
                         "--label", "published control", "--horizon", "12", "--out", str(out), "--format", "json"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    payload = json.loads(captured.out)
    assert [a["source"] for a in payload["arms"]] == ["trial", "external (rebuilt)"]
    assert payload["arms"][0]["n"] == 18 and payload["arms"][1]["n"] == 80
    assert payload["horizon"] == 12 and payload["caveats"]
    assert {p.name for p in out.iterdir()} == {"external-os.png", "external-os.svg", "comparison.json", "comparison.txt"}
    assert "Not randomised" in (out / "external-os.svg").read_text()
    assert (out / "external-os.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_compare_by_group_has_one_contrast_per_group(trial_db, external_ipd, capsys):
    code = run_app(app, ["external", "compare", "--db", str(trial_db), "--endpoint", "pfs", "--ipd", str(external_ipd),
                         "--by-group", "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert len(payload["contrasts"]) == 4 and payload["written"] == []


@pytest.mark.parametrize("case", ["no db", "horizon", "bad ipd", "labels", "endpoint", "out is file"])
def test_cli_compare_bad_input(trial_db, external_ipd, tmp_path, capsys, case):
    args = ["external", "compare", "--db", str(trial_db), "--endpoint", "OS", "--ipd", str(external_ipd),
            "--out", str(tmp_path / "cmp")]
    expected = EXIT_INPUT
    if case == "no db":
        args[3] = str(tmp_path / "none.db")
    elif case == "horizon":
        args += ["--horizon", "400"]
    elif case == "bad ipd":
        bad = tmp_path / "bad.csv"
        bad.write_text("time,event\n1,2\n")
        args[7] = str(bad)
    elif case == "labels":
        args += ["--label", "a", "--label", "b"]
        expected = EXIT_USAGE
    elif case == "endpoint":
        args[5] = "DFS"
        expected = EXIT_USAGE
    elif case == "out is file":
        f = tmp_path / "file.txt"
        f.write_text("x")
        args[9] = str(f)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = run_app(app, args + ["--format", "json"])
    captured = capsys.readouterr()
    assert code == expected, captured
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    assert json.loads(captured.out)["exit_code"] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "none.db").exists()


def test_cli_compare_takes_several_external_arms(trial_db, external_ipd, tmp_path, capsys):
    weeks = tmp_path / "weeks.csv"
    import pandas as pd

    f = pd.read_csv(external_ipd)
    f["time"] = f["time"] * (365.25 / 12 / 7)
    f.to_csv(weeks, index=False)
    code = run_app(app, ["external", "compare", "--db", str(trial_db), "--endpoint", "OS", "--ipd", str(external_ipd),
                         "--label", "in months", "--ipd", str(weeks), "--label", "in weeks", "--ipd-unit", "months",
                         "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert [c["external_arm"] for c in payload["contrasts"]] == ["in months", "in weeks"]
    # the same patients in weeks, read as months, live 4.35 times longer: the unit matters and is the user's to give
    assert payload["arms"][2]["last_follow_up"] == pytest.approx(payload["arms"][1]["last_follow_up"] * 365.25 / 12 / 7)
    code = run_app(app, ["external", "compare", "--db", str(trial_db), "--endpoint", "OS", "--ipd", str(weeks),
                         "--ipd-unit", "weeks", "--label", "converted", "--format", "json"])
    converted = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert converted["arms"][1]["last_follow_up"] == pytest.approx(payload["arms"][1]["last_follow_up"])
