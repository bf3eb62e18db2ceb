"""Cheung (2011), Table 3.2: a Bayesian CRM trial reproduced patient by patient.

The committed copy of the table (reference/cheung_2011_table_3_2.csv, with its source) gives
each patient's level, tolerance u, DLT and the posterior mean of beta after their outcome.
We replay the trial from the tolerances alone: the DLT comes from u < truth[level], the
posterior from CrmDesign (logistic model, intercept 3, prior variance 1.34), and the next
level is the model's recommendation (closest plug-in DLT probability to the target; the
book's example needs no skipping restriction). Every level, DLT and beta-hat must agree.
"""

import numpy as np
import pytest

from earlyphase.design import CrmDesign

TRUTH = (0.02, 0.04, 0.10, 0.25, 0.50)


def _design():
    return CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.40, 0.55), target=0.25, model="logistic", intercept=3.0,
                     prior_sd=np.sqrt(1.34), no_skip=False, no_escalation_after_dlt=False, safety_cutoff=None)


def test_table_3_2_reproduced_patient_by_patient(reference):
    rows = reference("cheung_2011_table_3_2.csv")
    assert len(rows) == 20
    design = _design()
    n = np.zeros(5)
    y = np.zeros(5)
    level = 3  # the example starts at level 3
    for row in rows:
        who = f"patient {row['patient']}"
        assert level == int(row["level"]), who
        dlt = int(float(row["tolerance"]) < TRUTH[level - 1])
        assert dlt == int(row["dlt"]), who
        n[level - 1] += 1
        y[level - 1] += dlt
        fit = design.fit(n, y)
        assert fit["posterior_mean_beta"] == pytest.approx(float(row["beta_hat"]), abs=0.005), who
        level = fit["model_recommended_level"]


def test_table_3_2_prior_variance_matters(reference):
    """The check above can fail: with another prior variance beta-hat leaves the tolerance."""
    rows = reference("cheung_2011_table_3_2.csv")
    design = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.40, 0.55), target=0.25, model="logistic", prior_sd=1.0,
                       no_skip=False, no_escalation_after_dlt=False, safety_cutoff=None)
    fit = design.fit([0, 0, 1, 0, 0], [0, 0, 0, 0, 0])
    assert abs(fit["posterior_mean_beta"] - float(rows[0]["beta_hat"])) > 0.005
