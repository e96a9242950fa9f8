"""The R bridge itself: a hand-checkable survival quantity comes back at full precision."""

import numpy as np
import pandas as pd

from tests.conformance.rscript import run_r


def test_r_kaplan_meier_round_trip() -> None:
    # KM by hand: 4 at risk, a death at 1 -> 3/4; a censoring at 2; a death at 3 of 2 at risk -> 3/8
    data = pd.DataFrame({"time": [1.0, 2.0, 3.0, 4.0], "status": [1, 0, 1, 0]})
    got = run_r(
        """
        d <- input("data")
        fit <- survfit(Surv(time, status) ~ 1, data = d)
        output(list(surv = summary(fit, times = 3.5)$surv))
        """,
        data=data,
    )
    assert np.isclose(got["surv"], 3 / 8, rtol=0, atol=1e-15)
