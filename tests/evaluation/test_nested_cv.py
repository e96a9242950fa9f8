"""Nested-CV intervals (Bates, Hastie & Tibshirani 2023) that include refitting."""

from __future__ import annotations

import numpy as np
from scipy import stats

import necml
from necml.dataset import contract_mapping, prepare_survival_data
from necml.evaluation import (
    CensoringKM,
    MetricSettings,
    ModelPlan,
    ValidationSettings,
    brier_scores,
    nested_cv_intervals,
    patient_losses,
    validate_model,
)
from necml.models import load_model_config
from tests.conftest import ROOT


def test_patient_losses_average_to_the_brier_score_and_ibs() -> None:
    rng = np.random.default_rng(0)
    t, e = np.round(rng.exponential(10, 50), 1), rng.random(50) < 0.7
    s = MetricSettings(landmarks=(6.0,), tau=12.0, grid_start=1.0, grid_stop=12.0, grid_points=12)
    surv = rng.uniform(0.1, 0.9, (50, s.times.size))
    g = CensoringKM().fit(t, e)
    losses = patient_losses(t, e, surv, s, g)
    column = list(s.times).index(6.0)
    assert np.isclose(losses["brier_6m"].mean(), brier_scores(t, e, surv[:, [column]], np.array([6.0]), g)[0])
    grid_cols = [list(s.times).index(x) for x in s.grid]
    by_time = brier_scores(t, e, surv[:, grid_cols], s.grid, g)
    # IBS = trapezoid of BS(t) over the grid / its length (Graf); the mean of per-patient integrals
    assert np.isclose(losses["ibs"].mean(), np.trapezoid(by_time, s.grid) / (s.grid[-1] - s.grid[0]))


def test_nested_intervals_cover_their_estimate_and_are_never_narrower_than_naive(lcnec) -> None:  # noqa: ANN001
    frame = necml.generate(lcnec, 90, seed=3)
    data = prepare_survival_data(frame, contract_mapping(frame).with_expressions(["arm", "age", "ecog>=2"]), "os")
    config = load_model_config(ROOT / "configs" / "models" / "coxph.yaml")
    plan = ModelPlan(name="coxph", config=config)
    settings = ValidationSettings(scheme="cv", folds=3, repeats=1,
                                  metrics=MetricSettings(landmarks=(6.0,), tau=12.0, grid_start=1.0,
                                                         grid_stop=12.0, grid_points=6))
    shared = np.random.SeedSequence(1)
    cv = validate_model(plan, data, settings, np.random.SeedSequence(2), resample_seed=shared)
    table = nested_cv_intervals(
        plan, data, folds=3, reps=3, settings=settings.metrics,
        cv_estimates=dict(zip(cv.estimates["metric"], cv.estimates["value"], strict=True)),
        seed=np.random.SeedSequence(2), split_seed=shared,
    ).set_index("metric")
    assert table.loc["cindex_harrell", "refit_note"].startswith("undefined: nested CV needs a per-patient loss")
    assert np.isnan(table.loc["cindex_harrell", "refit_ci_low"])
    g = CensoringKM().fit(data.time, data.event)
    for name in ("brier_6m", "ibs"):
        row = table.loc[name]
        assert row.refit_ci_low < row.refit_value < row.refit_ci_high
        assert 1.0 <= row.refit_inflation <= np.sqrt(3)  # the inflation is clipped to [1, K] (variance scale)
        # never narrower than the naive CV interval z * sd(loss) / sqrt(n) of the same losses
        losses = patient_losses(data.time, data.event, cv.validated_survival, settings.metrics, g)[name]
        naive = stats.norm.ppf(0.975) * losses.std(ddof=1) / np.sqrt(len(losses))
        assert (row.refit_ci_high - row.refit_ci_low) / 2 >= 0.5 * naive
