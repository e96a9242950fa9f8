"""One argument order, ``(time, event[, risk])``, and a swap that fails loudly instead of silently."""

import numpy as np
import pytest

from necml.dataset import structured_y
from necml.evaluation.metrics import harrell_c
from necml.exceptions import DataError
from necml.km import km_curve
from necml.prognosis import fit_cox_newton


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    time = rng.exponential(10.0, 80).round(1) + 0.1
    event = rng.random(80) < 0.7
    risk = -np.log(time) + rng.normal(0, 1, 80)
    return time, event, risk


def test_structured_y_takes_time_then_event(data):
    time, event, _ = data
    y = structured_y(time, event.astype(int))
    assert y["time"].tolist() == time.tolist()
    assert y["event"].tolist() == event.tolist()


def test_swapped_arguments_raise_instead_of_a_wrong_c(data):
    time, event, risk = data
    assert 0.5 < harrell_c(time, event, risk) < 1.0
    with pytest.raises(DataError, match=r"\(time, event\[, risk\]\)"):
        harrell_c(event.astype(float), time, risk)  # the swap that returned 0.395 instead of 0.630
    with pytest.raises(DataError, match="0/1"):
        structured_y(event, time)
    with pytest.raises(DataError, match="0/1"):
        km_curve(event.astype(float), time)
    with pytest.raises(DataError, match="0/1"):
        fit_cox_newton(risk[:, None], event.astype(float), time)  # X first, then (time, event)


def test_r_event_coding_is_refused_with_the_remedy(data):
    time, event, risk = data
    with pytest.raises(DataError, match="event_values"):
        harrell_c(time, np.where(event, 2, 1), risk)  # R's lung: 1 = censored, 2 = dead
