"""CRM: posterior, skeleton calibration, conduct rules.

Sources:
* dfcrm (Cheung) documentation, example of crm(): prior .05 .10 .20 .35 .50 .70, target
  0.2, levels 3 4 4 3 3 4 3 2 2 2 with DLTs 0 0 1 0 0 1 1 0 0 0. dfcrm cannot be installed
  here (no CRAN), so the expected posterior comes from base R integrate() applied to
  dfcrm's documented model: reference/crm_posterior.csv, made by make_reference.R.
* Lee SM, Cheung YK (2009), Model calibration in the continual reassessment method,
  Clinical Trials 6:227-238: getprior(0.05, 0.25, 3, 5) = .0840 .1567 .2500 .3545 .4603
  (as quoted in issue 5), and reference/getprior.csv for other arguments.
* Cheung's book, Table 3.2 (step-by-step example) is reproduced patient by patient in
  test_cheung_table.py from a committed copy of the table.
"""

import numpy as np
import pytest

from earlyphase.design import CrmDesign, getprior
from earlyphase.errors import InputError


def test_getprior_published_values():
    assert np.round(getprior(0.05, 0.25, 3, 5), 4).tolist() == [0.0840, 0.1567, 0.2500, 0.3545, 0.4603]


def test_getprior_matches_r_reference(reference):
    for r in reference("getprior.csv"):
        got = getprior(float(r["halfwidth"]), float(r["target"]), int(r["nu"]), int(r["nlevel"]))
        assert got == pytest.approx([float(v) for v in r["skeleton"].split()], abs=1e-10)


def test_getprior_logistic_puts_target_at_nu_and_increases():
    sk = getprior(0.05, 0.25, 3, 5, model="logistic")
    assert sk[2] == pytest.approx(0.25)
    assert np.all(np.diff(sk) > 0)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_posterior_matches_r_integrate(reference, model):
    for r in reference("crm_posterior.csv"):
        if r["model"] != model:
            continue
        d = CrmDesign(skeleton=tuple(float(v) for v in r["skeleton"].split()), target=float(r["target"]), model=model)
        n = [int(v) for v in r["n"].split()]
        y = [int(v) for v in r["dlt"].split()]
        fit = d.fit(n, y)
        assert fit["posterior_mean_beta"] == pytest.approx(float(r["posterior_mean_beta"]), abs=1e-6), r["id"]
        assert fit["posterior_sd_beta"] == pytest.approx(float(r["posterior_sd_beta"]), abs=1e-6), r["id"]
        assert fit["p_overdose_level1"] == pytest.approx(float(r["p_overdose_level1"]), abs=1e-6), r["id"]
        assert fit["ptox"] == pytest.approx([float(v) for v in r["ptox"].split()], abs=1e-6), r["id"]
        assert fit["model_recommended_level"] == int(r["mtd"])


def test_dfcrm_example_next_dose():
    d = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.2)
    # last patient (level 2) had no DLT; the model recommends level 2 (see reference)
    dec = d.decide([0, 3, 4, 3, 0, 0], [0, 0, 1, 2, 0, 0], 2, last_cohort_dlt=0)
    assert dec.decision == "stay" and dec.next_level == 2


def test_no_skipping_and_no_escalation_after_dlt():
    d = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.3)
    # no DLT in 3 at level 1: the model wants to jump, the rule allows one level
    dec = d.decide([3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], 1)
    assert dec.details["model_recommended_level"] > 2
    assert dec.next_level == 2
    # a DLT in the last cohort blocks escalation
    dec = d.decide([3, 3, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], 2, last_cohort_dlt=1)
    assert dec.details["model_recommended_level"] > 2
    assert dec.next_level == 2
    # skipping allowed, still never beyond the first untried level
    free = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.3, no_skip=False)
    dec = free.decide([3, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], 2)
    assert dec.next_level == 3


def test_safety_stop():
    d = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.2, safety_cutoff=0.9)
    dec = d.decide([3, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0], 1)
    assert dec.decision == "stop" and dec.mtd is None
    off = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.2, safety_cutoff=None)
    assert off.decide([3, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0], 1).decision == "stay"


def test_tite_crm_pending_weight_between_no_dlt_and_excluded():
    sk = (0.05, 0.10, 0.20, 0.35, 0.50, 0.70)
    d = CrmDesign(skeleton=sk, target=0.2)
    full = d.fit([3, 3, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0])["posterior_mean_beta"]
    excluded = d.fit([3, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0])["posterior_mean_beta"]
    half = d.fit([3, 3, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], pending=[[], [0.5, 0.5], [], [], [], []])["posterior_mean_beta"]
    # two pending non-DLT patients count for less than complete ones, more than nothing
    assert excluded < half < full
    dec = d.decide([3, 3, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], 2, pending=[[], [0.5, 0.5], [], [], [], []], tite=True)
    assert dec.decision in {"stay", "de-escalate", "escalate"}


def test_final_selection_never_untried():
    d = CrmDesign(skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target=0.4)
    sel = d.select_many(np.array([[3.0, 3.0, 0, 0, 0, 0]]), np.array([[0.0, 0.0, 0, 0, 0, 0]]))
    assert sel[0] == 1


def test_bad_skeleton():
    with pytest.raises(InputError):
        CrmDesign(skeleton=(0.1, 0.05), target=0.2)


def test_simulation_agrees_with_exact_enumeration():
    import math

    from earlyphase.design.exact import exact_operating_characteristics
    from earlyphase.design.simulate import simulate

    d = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    truth = (0.08, 0.15, 0.3, 0.45, 0.6)
    exact = exact_operating_characteristics(d, truth, cohort_size=3, n_cohorts=5)
    trials = 20_000
    sim = simulate(d, truth, cohort_size=3, n_cohorts=5, trials=trials, seed=21)
    for a, b in zip(exact.selection_percent + (exact.no_selection_percent,), sim.selection_percent + (sim.no_selection_percent,)):
        se = 100 * math.sqrt(max(a / 100 * (1 - a / 100), 1e-6) / trials)
        assert abs(a - b) < 4 * se
