"""The model zoo: sklearn contract of the XGBoost estimators, one interface for all six models."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as checks
from sklearn.utils.validation import check_is_fitted
from sksurv.util import Surv

from necml.dataset import contract_mapping, prepare_survival_data
from necml.models import MODELS, XGBAFTSurvival, XGBCoxSurvival, make_model, survival_at

XGB = [XGBCoxSurvival, XGBAFTSurvival]
DATA_FREE_CHECKS = [
    checks.check_no_attributes_set_in_init,
    checks.check_parameters_default_constructible,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_estimator_repr,
    checks.check_estimator_cloneable,
    checks.check_do_not_raise_errors_in_init_or_set_params,
]


def _xy(seed: int, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = rng.exponential(np.exp(-X[:, 0]))
    return X, Surv.from_arrays(rng.random(n) < 0.7, t)


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("cls", XGB, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(cls, check) -> None:  # noqa: ANN001
    check(cls.__name__, cls())


@pytest.mark.parametrize("cls", XGB, ids=lambda c: c.__name__)
def test_clone_pickle_refit_and_tags(cls, stat_seed: int) -> None:  # noqa: ANN001
    X, y = _xy(stat_seed)
    est = cls(n_estimators=10, random_state=3)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(est)
    first = est.fit(X, y).predict(X)
    assert est.n_features_in_ == 3 and est.get_params()["n_estimators"] == 10
    np.testing.assert_array_equal(clone(est).fit(X, y).predict(X), first)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), first)
    est.set_params(n_estimators=20)
    assert est.fit(X, y).predict(X).shape == (80,) and est.n_estimators == 20
    from sklearn.utils import get_tags

    assert get_tags(est).target_tags.required is True


def test_aft_risk_is_minus_predicted_time_and_curves_are_survival(stat_seed: int) -> None:
    X, y = _xy(stat_seed)
    est = XGBAFTSurvival(n_estimators=30, random_state=0).fit(X, y)
    surv = est.predict_survival_at(X, np.array([0.1, 0.5, 1.0, 5.0]))
    assert ((surv >= 0) & (surv <= 1)).all() and (np.diff(surv, axis=1) <= 0).all()
    # S at the predicted (median-type) time exp(mu) is 1/2 for the symmetric normal error
    at_pred = est.predict_survival_at(X[:1], -est.predict(X[:1]))
    assert at_pred[0, 0] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_fits_and_predicts_valid_survival(name: str, lcnec) -> None:  # noqa: ANN001
    import necml

    frame = necml.generate(lcnec, 120, seed=1)
    mapping = contract_mapping(frame).with_expressions(
        ["arm", "age", "sex", "ecog>=2", "ldh", "met_liver"]
    )
    data = prepare_survival_data(frame, mapping, "os")
    params = {"n_estimators": 20} if name in {"rsf", "gbs", "xgb_cox", "xgb_aft"} else {}
    model = make_model(name, data.X, data.types, params=params, random_state=0).fit(data.X, data.y)
    risk = model.predict(data.X)
    surv = survival_at(model, data.X, np.array([0.0, 3.0, 6.0, 12.0, 200.0]))
    assert risk.shape == (120,) and np.isfinite(risk).all()
    assert ((surv >= 0) & (surv <= 1)).all() and (np.diff(surv, axis=1) <= 1e-12).all()
    again = make_model(name, data.X, data.types, params=params, random_state=0).fit(data.X, data.y)
    np.testing.assert_array_equal(again.predict(data.X), risk)
