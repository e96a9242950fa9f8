"""The estimators validation reports: pairs inside folds, shared splits, centred comparisons.

Each test here failed before the fix it guards: pooled out-of-fold C ranked one fold's model
against another's; each model had its own CV folds; bootstrap comparisons paired the corrected
difference with the interval of the apparent one.
"""

from __future__ import annotations

import numpy as np
import pytest

import necml
from necml.dataset import contract_mapping, prepare_survival_data
from necml.evaluation import (
    MetricSettings,
    ModelPlan,
    ValidationSettings,
    bootstrap_draws,
    metric_table,
    paired_comparisons,
    validate_model,
)
from necml.evaluation.validation._pooling import pooled_metrics
from necml.models import load_model_config
from tests.conftest import ROOT

COVARIATES = ["arm", "age", "ecog>=2", "nlr", "ldh"]


def _data(lcnec, n: int, seed: int):  # noqa: ANN001, ANN202
    frame = necml.generate(lcnec, n, seed=seed)
    return prepare_survival_data(frame, contract_mapping(frame).with_expressions(COVARIATES), "os")


def _plan(name: str) -> ModelPlan:
    config = load_model_config(ROOT / "configs" / "models" / f"{name}.yaml")
    fixed = {**config.fixed, "n_estimators": 30} if "n_estimators" in config.fixed else config.fixed
    return ModelPlan(name=name, config=config.model_copy(update={"fixed": fixed}), n_trials=0)


def _brute_harrell(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> tuple[float, float]:
    """Concordant (+ ties / 2) and comparable pairs by the definition, pair by pair."""
    agree = comparable = 0.0
    for i in range(time.size):
        if not event[i]:
            continue
        for j in range(time.size):
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                comparable += 1
                agree += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return agree, comparable


def test_pooled_c_counts_only_pairs_inside_a_test_fold() -> None:
    rng = np.random.default_rng(5)
    n = 40
    time = np.round(rng.exponential(10, n))
    event = rng.random(n) < 0.7
    folds = np.arange(n) % 2
    # fold 1's model reports risks on another scale: cross-fold pairs would be meaningless
    risk = -time + rng.normal(0, 3, n) + 100.0 * folds
    settings = MetricSettings(landmarks=(6.0,), tau=20.0, grid_start=1.0, grid_stop=15.0, grid_points=5)
    surv = np.full((n, settings.times.size), 0.5)
    values, _ = pooled_metrics(time, event, risk, surv, folds, settings)
    parts = [_brute_harrell(time[folds == k], event[folds == k], risk[folds == k]) for k in (0, 1)]
    expected = sum(a for a, _ in parts) / sum(c for _, c in parts)  # sum_k agree_k / sum_k comparable_k
    assert values["cindex_harrell"] == pytest.approx(expected, abs=1e-12)
    every_pair = np.divide(*_brute_harrell(time, event, risk))
    assert abs(values["cindex_harrell"] - every_pair) > 0.01  # the old estimator is another number


def test_every_model_of_a_run_gets_the_same_splits(lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 60, 1)
    settings = ValidationSettings(scheme="cv", folds=3, repeats=2)
    shared = np.random.SeedSequence(77)
    results = [
        validate_model(_plan(name), data, settings, np.random.SeedSequence(i), resample_seed=shared)
        for i, name in enumerate(["coxph", "rsf"])
    ]
    assert np.array_equal(results[0].folds, results[1].folds)
    assert (results[0].folds >= 0).all()


def test_bootstrap_comparison_lies_inside_its_own_interval(lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 80, 2)
    settings = ValidationSettings(scheme="bootstrap", bootstrap=8)
    shared = np.random.SeedSequence(3)
    results = {
        name: validate_model(_plan(name), data, settings, np.random.SeedSequence(i), resample_seed=shared)
        for i, name in enumerate(["coxph", "rsf"])
    }
    draws = bootstrap_draws(results, data, settings.metrics, resamples=60, seed=np.random.SeedSequence(4))
    table = metric_table(results, draws)
    comparisons = paired_comparisons(draws, table)
    # RSF's apparent C is far more optimistic than Cox's, so an apparent-difference interval misses
    optimism = {k: r.estimates.set_index("metric").loc["cindex_harrell", "optimism"] for k, r in results.items()}
    assert optimism["rsf"] - optimism["coxph"] > 0.05
    for row in comparisons.itertuples():
        assert row.ci_low <= row.difference <= row.ci_high, row
    c = table[table["metric"] == "cindex_harrell"]
    assert ((c["ci_low"] <= c["value"]) & (c["value"] <= c["ci_high"])).all()
    assert set(table["interval"]) == {"percentile, patients resampled with the fitted models held fixed"}


def test_bootstrap_calibration_uses_out_of_bag_predictions(lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 60, 4)
    result = validate_model(_plan("rsf"), data, ValidationSettings(scheme="bootstrap", bootstrap=6),
                            np.random.SeedSequence(0))
    assert result.oob_survival is not None
    assert result.validated_survival is result.oob_survival
    assert not np.allclose(result.oob_survival, result.survival[0], equal_nan=True)


def test_cv_estimator_labels(lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 60, 6)
    result = validate_model(_plan("coxph"), data, ValidationSettings(scheme="cv", folds=3, repeats=1),
                            np.random.SeedSequence(0))
    assert "within test folds" in result.estimator("cindex_harrell")
    assert "pooled out-of-fold" in result.estimator("ibs")


def test_plus632_out_of_bag_term_pools_pair_counts_over_bootstraps(lcnec) -> None:  # noqa: ANN001
    from necml.evaluation import fit_model
    from necml.random import child_seed

    data = _data(lcnec, 31, 8)
    plan, seed, shared, b_count = _plan("coxph"), np.random.SeedSequence(5), np.random.SeedSequence(6), 6
    result = validate_model(plan, data, ValidationSettings(scheme="bootstrap", bootstrap=b_count), seed,
                            resample_seed=shared)
    # redo the bootstraps by hand: the same samples, the same fits, pairs counted one by one
    rng = np.random.default_rng(child_seed(shared, "resample"))
    agree = comparable = 0.0
    per_bootstrap = []
    for b in range(b_count):
        boot = rng.integers(0, 31, 31)
        oob = np.setdiff1d(np.arange(31), boot)
        fit = fit_model(plan, data.subset(boot), child_seed(seed, "fit", b), study=f"b{b}")
        a, c = _brute_harrell(data.time[oob], data.event[oob], fit.model.predict(data.X.iloc[oob]))
        agree, comparable = agree + a, comparable + c
        per_bootstrap.append(a / c if c else np.nan)
    row = result.estimates.set_index("metric").loc["cindex_harrell"]
    assert row["oob"] == pytest.approx(agree / comparable, abs=1e-12)  # sum of counts / sum of counts
    assert abs(row["oob"] - np.nanmean(per_bootstrap)) > 1e-6  # not the mean of ~11-patient C's
