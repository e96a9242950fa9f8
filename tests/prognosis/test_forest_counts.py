"""Forest-plot n/events are counted on the complete cases the multivariate fit used."""

from __future__ import annotations

import numpy as np
import pandas as pd

from necml.dataset import VETERANS_MAPPING, DataMapping, load_veterans, prepare_survival_data
from necml.prognosis import forest_rows, plot_forest, prognostic_analysis

# 12 patients; age is missing for patients 2 and 7, so the complete cases are the other 10
FRAME = pd.DataFrame({
    "arm": ["A", "A", "A", "A", "A", "A", "B", "B", "B", "B", "B", "B"],
    "male": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    "age": [50, 60, np.nan, 70, 55, 65, 52, np.nan, 58, 62, 67, 49],
    "months": [3.0, 5, 7, 9, 11, 2, 4, 6, 8, 10, 12, 14],
    "died": [1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0],
})
MAPPING = DataMapping.model_validate({
    "endpoints": {"os": {"time": "months", "event": "died"}},
    "covariates": {"arm": {"type": "categorical", "reference": "A"}, "male": {"type": "binary"},
                   "age": {"type": "continuous"}},
})
# By hand, on patients 0, 1, 3, 4, 5, 6, 8, 9, 10, 11 (events: 0, 1, 4, 5, 8, 10):
#   arm A: 0, 1, 3, 4, 5 -> 5 patients, events 0, 1, 4, 5 -> 4
#   arm B: 6, 8, 9, 10, 11 -> 5 patients, events 8, 10 -> 2
#   male = 1: 0, 4, 6, 8, 10 -> 5 patients, events 0, 4, 8, 10 -> 4
#   age (observed, complete): 10 patients, 6 events
# (On all 12 patients arm A would be 6/5, arm B 6/3 and male 6/5.)
EXPECTED = {"A (ref.)": (5, 4), "B": (5, 2), "male": (5, 4), "age": (10, 6)}
TABLE = pd.DataFrame({"term": ["arm[B]", "male", "age"], "hr": [0.5, 1.2, 1.01], "ci_low": [0.2, 0.5, 0.95],
                      "ci_high": [1.3, 2.9, 1.07], "p": [0.15, 0.7, 0.74]})


def test_forest_rows_count_the_complete_cases() -> None:
    data = prepare_survival_data(FRAME, MAPPING, "os")
    rows = forest_rows(TABLE, data).set_index("label")
    assert rows.loc["arm", "kind"] == "header" and np.isnan(rows.loc["arm", "n"])
    assert {label: (int(rows.loc[label, "n"]), int(rows.loc[label, "events"])) for label in EXPECTED} == EXPECTED


def test_forest_plot_prints_the_complete_case_counts_and_says_so() -> None:
    data = prepare_survival_data(FRAME, MAPPING, "os")
    fig = plot_forest(TABLE, data=data)
    texts = [t.get_text() for t in fig.findobj(lambda a: a.get_gid() == "n-events")]
    assert texts == ["5/4", "5/2", "5/4", "10/6"]
    (note,) = [t.get_text() for t in fig.findobj(lambda a: a.get_gid() == "n-events-note")]
    assert note == "n/events: complete cases,\n10 of 12 patients"


def test_without_missing_values_there_is_no_note() -> None:
    data = prepare_survival_data(FRAME.assign(age=FRAME["age"].fillna(60)), MAPPING, "os")
    fig = plot_forest(TABLE, data=data)
    assert not fig.findobj(lambda a: a.get_gid() == "n-events-note")
    assert [t.get_text() for t in fig.findobj(lambda a: a.get_gid() == "n-events")] == ["6/5", "6/3", "6/5", "12/8"]


def test_level_counts_add_up_to_the_multivariate_fit() -> None:
    frame = load_veterans()
    frame.loc[[0, 10, 40, 90], "karnofsky"] = np.nan
    frame.loc[[5, 10], "age"] = np.nan
    result = prognostic_analysis(frame, VETERANS_MAPPING, "os")
    rows = forest_rows(result.multivariate, result.data)
    n, events = int(result.multivariate["n"].iloc[0]), int(result.multivariate["events"].iloc[0])
    assert (n, events) == result.multivariate_counts and n == 137 - 5
    for covariate in ("treatment", "celltype"):
        start = rows.index[rows["label"] == covariate][0] + 1
        levels = rows.iloc[start:][rows.iloc[start:]["kind"].isin(["ref", "level"])]
        levels = levels.iloc[: frame[covariate].nunique()]
        assert (int(levels["n"].sum()), int(levels["events"].sum())) == (n, events), covariate
    assert tuple(rows.loc[rows["label"] == "karnofsky", ["n", "events"]].iloc[0]) == (n, events)
