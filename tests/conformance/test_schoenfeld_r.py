"""``necml.prognosis.scaled_schoenfeld`` against R's ``cox.zph(fit, transform = "identity")``.

R fits ``coxph(Surv(time, status) ~ ., data = d)`` (Efron ties) and returns its coefficients,
``zph$x`` (the death times) and ``zph$y`` (the scaled Schoenfeld residuals the residual plot
shows); necml is given R's coefficients and must give R's residuals to 1e-6 (absolute, on
residuals of order 1). Tied deaths share one averaged risk-set mean in both, so their rows
are compared in a common order (by time, then by the residual values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.prognosis import scaled_schoenfeld
from tests.conformance.rscript import require_r, run_r

_SCRIPT = """
out <- list()
for (name in c("n31", "n300_tied")) {
  d <- input(name)
  fit <- coxph(Surv(time, status) ~ ., data = d, ties = "efron")
  z <- cox.zph(fit, transform = "identity", terms = FALSE)
  out[[name]] <- list(beta = unname(coef(fit)), x = unname(z$x), y = unname(as.matrix(z$y)))
}
output(out)
"""
CASES = {"n31": (31, False, 1), "n300_tied": (300, True, 3)}  # name: (n, tied times, seed)


def _data(n: int, tied: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, size=n)])
    time = rng.exponential(np.exp(-0.5 * x[:, 0] - 0.4 * x[:, 1]))
    time = np.ceil(time * 4) / 4 if tied else time
    status = (rng.uniform(size=n) < 0.8).astype(int)
    return pd.DataFrame({"time": time, "status": status, "a": x[:, 0], "b": x[:, 1]})


def _sorted(times: np.ndarray, y: np.ndarray) -> np.ndarray:
    order = np.lexsort([*np.round(y, 8).T[::-1], times])  # lexsort: the last key is the primary one
    return np.column_stack([times[order], y[order]])


@pytest.fixture(scope="module")
def r_results() -> dict:
    require_r()
    return run_r(_SCRIPT, **{name: _data(*case) for name, case in CASES.items()})


@pytest.mark.parametrize("name", list(CASES))
def test_scaled_schoenfeld_matches_r(name: str, r_results: dict) -> None:
    frame, r = _data(*CASES[name]), r_results[name]
    x = frame[["a", "b"]].to_numpy(float)
    times, resid = scaled_schoenfeld(x, frame["time"].to_numpy(), frame["status"].to_numpy(bool),
                                     np.asarray(r["beta"], dtype=float))
    r_y = np.asarray(r["y"], dtype=float).reshape(len(r["x"]), -1)
    np.testing.assert_allclose(_sorted(times, resid), _sorted(np.asarray(r["x"], float), r_y), atol=1e-6)
