"""The validation protocol: no leakage, a ledger instead of crashes, seeded reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

import necml
from necml.dataset import contract_mapping, prepare_survival_data
from necml.evaluation import (
    MetricSettings,
    ModelPlan,
    ValidationSettings,
    compute_metrics,
    resolve_settings,
    validate_model,
)
from necml.models import MODELS, load_model_config
from tests.conftest import ROOT

COVARIATES = ["arm", "age", "sex", "ecog>=2", "nlr", "ldh", "met_liver"]


def _data(lcnec, n: int, seed: int, *, shuffle: bool = False):  # noqa: ANN001, ANN202
    frame = necml.generate(lcnec, n, seed=seed)
    if shuffle:  # no signal: outcomes permuted against covariates
        order = np.random.default_rng(seed).permutation(n)
        frame[["os_months", "os_event"]] = frame[["os_months", "os_event"]].to_numpy()[order]
    return prepare_survival_data(frame, contract_mapping(frame).with_expressions(COVARIATES), "os")


def _plan(name: str, trials: int) -> ModelPlan:
    config = load_model_config(ROOT / "configs" / "models" / f"{name}.yaml")
    fixed = {**config.fixed, "n_estimators": 40} if "n_estimators" in config.fixed else config.fixed
    return ModelPlan(name=name, config=config.model_copy(update={"fixed": fixed}), n_trials=trials)


@pytest.mark.parametrize("name", list(MODELS))
def test_no_leakage_shuffled_outcomes_give_chance_c_after_tuning(
    name: str, lcnec, stat_seed: int
) -> None:  # noqa: ANN001
    data = _data(lcnec, 400, stat_seed, shuffle=True)
    settings = ValidationSettings(scheme="cv", folds=5, repeats=2)
    result = validate_model(_plan(name, 2), data, settings, np.random.SeedSequence(stat_seed))
    c = result.estimates.set_index("metric").loc["cindex_harrell", "value"]
    assert abs(c - 0.5) < 0.05, c


def test_tiny_folds_record_undefined_metrics_instead_of_crashing(lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 31, 3)
    settings = ValidationSettings(scheme="cv", folds=5, repeats=3)
    result = validate_model(_plan("coxph", 0), data, settings, np.random.SeedSequence(0))
    folds = result.resamples[result.resamples["fold"] >= 0]
    assert len(folds) == 3 * 5 * len(
        settings.metrics.names()
    )  # every fold, every metric: none dropped
    undefined = folds[folds["value"].isna()]
    assert (undefined["note"].str.startswith("undefined: ")).all()


def test_metric_policy_marks_times_beyond_follow_up_undefined() -> None:
    t, e = np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, False, True])
    settings = MetricSettings(
        landmarks=(2.5, 10.0), tau=24.0, grid_start=1.0, grid_stop=24.0, grid_points=24
    )
    surv = np.full((4, settings.times.size), 0.5)
    m = compute_metrics(t, e, t, e, np.array([4.0, 3.0, 2.0, 1.0]), surv, settings)
    assert np.isnan(m.values["auc_10m"]) and "outside test follow-up" in m.notes["auc_10m"]
    # a test set never gets its own tau or grid: what it cannot support is undefined, with the reason
    assert m.values["cindex_harrell"] == 1.0 and np.isnan(m.values["cindex_uno_tau24"])
    assert "before tau" in m.notes["cindex_uno_tau24"] and np.isnan(m.values["ibs"])
    # tau and the grid are fixed once per data set, from all patients, and the clipping is said
    resolved, notes = resolve_settings(settings, t, e)
    assert resolved.tau <= 4.0 and resolved.grid.max() <= 4.0 and notes
    m = compute_metrics(t, e, t, e, np.array([4.0, 3.0, 2.0, 1.0]), np.full((4, resolved.times.size), 0.5), resolved)
    assert np.isfinite(m.values["ibs"]) and np.isfinite(m.values[f"cindex_uno_tau{resolved.tau:g}"])


@pytest.mark.parametrize("scheme", ["cv", "bootstrap"])
def test_same_seed_same_result_with_tuning(scheme: str, lcnec) -> None:  # noqa: ANN001
    data = _data(lcnec, 60, 5)
    settings = ValidationSettings(scheme=scheme, folds=3, repeats=1, bootstrap=4)
    runs = [
        validate_model(_plan("rsf", 2), data, settings, np.random.SeedSequence(9)) for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].risk, runs[1].risk)
    assert runs[0].estimates.equals(runs[1].estimates)


def test_holdout_refused_for_small_samples(lcnec) -> None:  # noqa: ANN001
    with pytest.raises(
        necml.exceptions.DataError, match="held-out split needs at least 1000 patients, got 31"
    ):
        validate_model(
            _plan("coxph", 0),
            _data(lcnec, 31, 1),
            ValidationSettings(scheme="holdout"),
            np.random.SeedSequence(0),
        )
