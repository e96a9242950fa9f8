"""Bad survival tables give errors naming the file and column; warnings for weak data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.dataset import (
    Covariate,
    DataMapping,
    Endpoint,
    load_veterans,
    parse_covariate_expression,
    prepare_survival_data,
)
from necml.exceptions import DataError

MAPPING = DataMapping(
    endpoints={"os": Endpoint(time="t", event="e")},
    covariates={"x": Covariate(type="continuous"), "b": Covariate(type="binary")},
)


def _good(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "t": rng.exponential(size=n),
            "e": rng.random(n) < 0.7,
            "x": rng.normal(size=n),
            "b": rng.random(n) < 0.5,
        }
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="x"), r"f\.csv: missing column\(s\) 'x'"),
        (lambda f: f.assign(t=-f["t"]), r"f\.csv: column 't', line 2: negative time"),
        (lambda f: f.assign(t=["soon"] * len(f)), r"column 't', line 2: non-numeric time 'soon'"),
        (lambda f: f.assign(e=[2] * len(f)), r"column 'e', line 2: events must be 0/1 or boolean, got 2"),
        (lambda f: f.assign(e=False), r"column 'e' has no events"),
        (lambda f: f.assign(b=["yes"] * len(f)), r"covariate 'b', line 2: binary values must be 0/1"),
    ],
    ids=["missing", "negative", "non-numeric", "bad-event", "no-events", "bad-binary"],
)
def test_bad_tables_raise_naming_file_and_column(change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(DataError, match=message):
        prepare_survival_data(change(_good()), MAPPING, "os", source="f.csv")


def test_a_constant_covariate_is_a_warning_and_its_term_is_na() -> None:
    # R's coxph reports NA for a constant column and estimates the rest; necml follows it
    data = prepare_survival_data(_good().assign(x=1.0), MAPPING, "os", source="f.csv")
    assert any("covariate 'x' is constant" in w for w in data.warnings)


def test_warnings_for_few_events_and_missingness() -> None:
    frame = _good(15)
    frame.loc[:9, "x"] = np.nan
    warnings = prepare_survival_data(frame, MAPPING, "os").warnings
    assert any("events per parameter" in w for w in warnings)
    assert any("'x' is 67% missing" in w for w in warnings)


def test_cutoff_expressions_derive_nullable_binary_columns() -> None:
    name, cut = parse_covariate_expression("nlr>3")
    assert name == "nlr_gt_3" and cut is not None
    frame = _good().assign(nlr=[np.nan, 2.0, 3.0, 4.0] * 10)
    data = prepare_survival_data(frame, MAPPING.with_expressions(["x", "nlr>3"]), "os")
    assert data.X["nlr_gt_3"].iloc[:4].tolist()[1:] == [0.0, 0.0, 1.0] and np.isnan(
        data.X["nlr_gt_3"].iloc[0]
    )


def test_veterans_is_the_published_trial() -> None:
    frame = load_veterans()
    assert len(frame) == 137 and int(frame["os_event"].sum()) == 128
    assert set(frame["celltype"]) == {"squamous", "smallcell", "adeno", "large"}
