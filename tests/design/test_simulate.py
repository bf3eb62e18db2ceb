"""Simulator: reproducibility, independence from how the work is split, backfill, OCs."""

import numpy as np
import pytest

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.simulate import simulate
from earlyphase.errors import InputError

TRUTH = [0.05, 0.12, 0.25, 0.4, 0.55]


def test_same_seed_same_result_and_different_seed_differs():
    d = BoinDesign(target=0.25)
    a = simulate(d, TRUTH, trials=3000, seed=5, n_cohorts=8)
    b = simulate(d, TRUTH, trials=3000, seed=5, n_cohorts=8)
    c = simulate(d, TRUTH, trials=3000, seed=6, n_cohorts=8)
    assert a.to_dict() == b.to_dict()
    assert a.selection_percent != c.selection_percent


def test_chunks_are_prefixes_of_the_same_stream():
    # 2 chunks of 1000 = the first 2000 trials of 3 chunks of 1000: chunk c's seed does not
    # depend on how many chunks there are
    d = BoinDesign(target=0.25)
    a = simulate(d, TRUTH, trials=2000, seed=9, chunk_size=1000, n_cohorts=8)
    from earlyphase.design.simulate import simulate_chunk

    parts = [simulate_chunk(d, np.array(TRUTH), 3, 8, 1, 0, 1000, 9, 0, c) for c in range(2)]
    sel = sum(p["selected"] for p in parts)
    assert np.allclose(np.array(a.selection_percent), sel[1:] / 2000 * 100)


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_result():
    d = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    local = simulate(d, TRUTH, trials=1200, seed=3, chunk_size=300, n_cohorts=6)
    dask2 = simulate(d, TRUTH, trials=1200, seed=3, chunk_size=300, n_cohorts=6, workers=2)
    assert local.to_dict() == dask2.to_dict()


@pytest.mark.slow
def test_dask_scheduler_address_gives_identical_result():
    from dask.distributed import LocalCluster

    d = BoinDesign(target=0.25)
    local = simulate(d, TRUTH, trials=2000, seed=12, chunk_size=500, n_cohorts=8)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        remote = simulate(d, TRUTH, trials=2000, seed=12, chunk_size=500, n_cohorts=8, scheduler=cluster.scheduler_address)
    assert local.to_dict() == remote.to_dict()
    with pytest.raises(InputError):
        simulate(d, TRUTH, trials=10, seed=1, scheduler="localhost:8786")


def test_several_scenarios_and_summary():
    res = simulate(KeyboardDesign(target=0.25), [TRUTH, [0.25, 0.4, 0.5, 0.6, 0.7]], trials=2000, seed=1)
    assert len(res) == 2
    for r in res:
        assert sum(r.selection_percent) + r.no_selection_percent == pytest.approx(100)
        assert r.mean_total_patients == pytest.approx(sum(r.mean_patients))
        assert "selection %" in r.summary()
        assert set(r.to_dict()) >= {"design", "trials", "selection_percent", "no_selection_percent", "mean_patients",
                                    "mean_dlt", "mean_total_patients", "mean_total_dlt", "early_stop_percent"}
    assert res[1].no_selection_percent > res[0].no_selection_percent


def test_sample_size_limits():
    r = simulate(I3plus3Design(target=0.25), TRUTH, trials=2000, seed=2, cohort_size=3, n_cohorts=10)
    assert r.mean_total_patients <= 30 + 1e-9
    assert r.early_stop_percent >= r.safety_stop_percent


def test_backfill_adds_patients_below_current_level():
    d = BoinDesign(target=0.25)
    plain = simulate(d, TRUTH, trials=2000, seed=4, n_cohorts=8)
    bf = simulate(d, TRUTH, trials=2000, seed=4, n_cohorts=8, backfill_size=2)
    assert bf.mean_total_patients > plain.mean_total_patients
    assert bf.mean_patients[0] + bf.mean_patients[1] > plain.mean_patients[0] + plain.mean_patients[1]
    with pytest.raises(InputError):
        simulate(d, TRUTH, trials=10, seed=1, backfill_size=1, backfill_cap=0)


def test_crm_selects_true_mtd_most_often():
    d = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    r = simulate(d, TRUTH, trials=2000, seed=8, n_cohorts=10)
    assert r.true_mtd == 3
    assert int(np.argmax(r.selection_percent)) + 1 == 3


def test_input_errors():
    with pytest.raises(InputError):
        simulate(BoinDesign(target=0.25), [0.1, 1.5], trials=10, seed=1)
    with pytest.raises(InputError):
        simulate(CrmDesign(skeleton=(0.1, 0.2), target=0.2), [0.1, 0.2, 0.3], trials=10, seed=1)
    with pytest.raises(InputError):
        simulate(BoinDesign(target=0.25), TRUTH, trials=0, seed=1)
