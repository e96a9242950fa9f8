"""A user's file as it comes: time units, event codes, R's column names, integer-coded factors.

No R needed here; ``test_lung_end_to_end.py`` checks the same paths against R on ``lung``.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from necml.cli import app
from necml.dataset import DAYS_PER_MONTH, DataMapping, Endpoint, parse_covariate_expression, prepare_survival_data
from necml.dataset._tables import csv_line, row_name
from necml.exceptions import DataError
from necml.pipeline._config import ModelEntry, PipelineConfig, model_config_path
from tests.conftest import ROOT

runner = CliRunner()

LONG_FORM = """
endpoints:
  os: {time: {column: time, unit: days}, event: {column: status, event_values: [2]}}
covariates:
  age: {type: continuous}
  sex: {type: categorical, reference: 1}
  ph.ecog: {type: continuous}
  wt.loss: {type: continuous}
"""


def _mapping(text: str) -> DataMapping:
    return DataMapping.model_validate(yaml.safe_load(text))


def _lung_like(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A table coded as R's ``lung``: days, status 1/2, sex 1/2, dotted names, missing values."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(1, 3, n)
    ecog = rng.integers(0, 3, n).astype(float)
    ecog[3] = np.nan
    loss = rng.normal(10, 8, n).round()
    loss[[5, 9, 11]] = np.nan
    time = np.ceil(rng.exponential(300 * np.where(sex == 2, 1.5, 1.0) / (1 + 0.4 * np.nan_to_num(ecog)), n)) + 5
    return pd.DataFrame({
        "inst": rng.integers(1, 5, n), "time": np.minimum(time, 1000),
        "status": np.where((rng.random(n) < 0.75) & (time < 1000), 2, 1),
        "age": rng.integers(40, 80, n), "sex": sex, "ph.ecog": ecog, "wt.loss": loss,
    })


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "months_per_unit"), [("days", 1 / DAYS_PER_MONTH), ("weeks", 7 / DAYS_PER_MONTH),
                                                      ("months", 1.0), ("years", 12.0)])
def test_times_are_converted_once_to_months(unit: str, months_per_unit: float) -> None:
    frame = _lung_like()
    mapping = _mapping(LONG_FORM.replace("unit: days", f"unit: {unit}"))
    data = prepare_survival_data(frame, mapping, "os", source="lung.csv")
    np.testing.assert_allclose(data.time, frame["time"].to_numpy(float) * months_per_unit, rtol=1e-15)
    assert data.time_unit == unit
    assert mapping.endpoint("os").months_per_unit == months_per_unit


def test_a_month_is_365_25_over_12_days() -> None:
    mapping = _mapping(LONG_FORM)
    frame = _lung_like().assign(time=lambda f: f["time"].where(f.index != 0, 365.25))
    data = prepare_survival_data(frame, mapping, "os")
    assert data.time[0] == pytest.approx(12.0, rel=1e-15)


def test_short_forms_keep_working() -> None:
    short = _mapping("endpoints: {os: {time: months, event: died}}\ncovariates: {age: {type: continuous}}")
    assert short.endpoint("os") == Endpoint(time="months", event="died")
    assert short.endpoint("os").unit == "months" and short.endpoint("os").event_values is None
    frame = pd.DataFrame({"months": [3.0, 5.5, 8.0, 12.0], "died": [1, 0, 1, 1], "age": [50, 60, 70, 65]})
    data = prepare_survival_data(frame, short, "os")
    np.testing.assert_array_equal(data.time, frame["months"])
    assert data.event.tolist() == [True, False, True, True]


def test_implausible_follow_up_for_the_unit_is_a_warning_naming_column_and_maximum() -> None:
    frame = _lung_like()
    as_months = _mapping(LONG_FORM.replace(", unit: days", ""))  # lung's days read as months
    warned = prepare_survival_data(frame, as_months, "os").warnings
    longest = f"{frame['time'].max():g}"
    assert any("column 'time'" in w and f"longest follow-up is {longest} months" in w and "unit: days" in w
               for w in warned), warned
    short_days = frame.assign(time=frame["time"] / 30)  # months read as days
    warned = prepare_survival_data(short_days, _mapping(LONG_FORM), "os").warnings
    assert any("column 'time'" in w and "implausibly short" in w for w in warned), warned
    assert not [w for w in prepare_survival_data(frame, _mapping(LONG_FORM), "os").warnings if "follow-up" in w]


def test_a_bad_unit_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"unit\n.*'days', 'weeks', 'months' or 'years'"):
        _mapping(LONG_FORM.replace("unit: days", "unit: hours"))
    with pytest.raises(ValueError, match="time. takes .column: NAME, unit"):
        _mapping(LONG_FORM.replace("unit: days", "units: days"))


# --- event coding ------------------------------------------------------------------------------


def _events(values: list, event: str) -> np.ndarray:
    mapping = _mapping(f"endpoints: {{os: {{time: t, event: {event}}}}}\ncovariates: {{}}")
    frame = pd.DataFrame({"t": np.arange(1.0, len(values) + 1), "e": values})
    return prepare_survival_data(frame, mapping, "os", source="f.csv").event


@pytest.mark.parametrize(("values", "event", "expected"), [
    ([1, 2, 2, 1], "{column: e, event_values: [2]}", [False, True, True, False]),  # R's 1/2
    (["yes", "no", "Yes", "no"], "{column: e, event_values: [yes]}", [True, False, True, False]),  # YAML's yes: True
    (["dead", "alive", "alive", "Dead"], "{column: e, event_values: [dead]}", [True, False, False, True]),
    ([2.0, 1.0, 2.0, 1.0], "{column: e, event_values: [2]}", [True, False, True, False]),
    ([3, 1, 2, 0], "{column: e, event_values: [2, 3], censored_values: [0, 1]}", [True, False, True, False]),
    ([1, 0, 1, 1], "e", [True, False, True, True]),  # the short form: 0/1
])
def test_event_values(values: list, event: str, expected: list[bool]) -> None:
    assert _events(values, event).tolist() == expected


def test_a_third_code_is_an_error_naming_value_column_and_file_line() -> None:
    with pytest.raises(DataError, match=r"f\.csv: column 'e', line 5: value 3 is a third code: event_values \[2\] "
                                        r"are events and 1, .*censored_values: \[1, 3\]`; otherwise correct the file"):
        _events([1, 2, 2, 3, 1], "{column: e, event_values: [2]}")
    with pytest.raises(DataError, match=r"column 'e', line 4: value 9 is neither an event \(2\) nor censored \(1\)"):
        _events([1, 2, 9, 1], "{column: e, event_values: [2], censored_values: [1]}")


def test_event_coding_errors_and_warnings() -> None:
    with pytest.raises(DataError, match=r"column 'e', line 3: events must be 0/1 or boolean, got 2; R's 1/2 coding "
                                        r"\(2 = event\)\? say so: `event: \{column: e, event_values: \[2\]\}`"):
        _events([1, 2, 1], "e")
    with pytest.raises(DataError, match=r"column 'e', line 3: the event status is missing \(1 missing in all\)"):
        _events([2, np.nan, 1], "{column: e, event_values: [2]}")
    with pytest.raises(DataError, match=r"no value is an event: event_values \['2'\] never occur"):
        _events([0, 1, 1], "{column: e, event_values: ['2']}")
    with pytest.raises(ValueError, match="both event_values and censored_values"):
        _mapping("endpoints: {os: {time: t, event: {column: e, event_values: [2], censored_values: [2.0]}}}\n"
                 "covariates: {}")
    mapping = _mapping("endpoints: {os: {time: t, event: {column: e, event_values: [1]}}}\ncovariates: {}")
    frame = pd.DataFrame({"t": [1.0, 2.0, 3.0], "e": [1, 2, 2]})
    assert any("R's coding" in w for w in prepare_survival_data(frame, mapping, "os").warnings)


# --- file lines --------------------------------------------------------------------------------


def test_errors_name_the_csv_line_as_an_editor_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    # header = line 1; a blank line (which pandas skips) and a quoted value over two lines still count
    path.write_text('t,e,note\n1,1,a\n\n2,0,"two\nlines"\n-3,1,c\n4,0,d\n')
    frame = pd.read_csv(path)
    assert len(frame) == 4 and [csv_line(path, i) for i in range(4)] == [2, 4, 6, 7]
    mapping = _mapping("endpoints: {os: {time: t, event: e}}\ncovariates: {}")
    with pytest.raises(DataError, match=rf"{path}: column 't', line 6: negative time -3"):
        prepare_survival_data(frame, mapping, "os", source=str(path))
    assert row_name("data.parquet", 0) == "row 1" and row_name("missing.csv", 0) == "line 2"


def test_the_cli_names_the_line_of_a_bad_value(tmp_path: Path) -> None:
    frame = _lung_like()
    frame.loc[7, "status"] = 3
    frame.to_csv(tmp_path / "lung.csv", index=False)
    (tmp_path / "m.yaml").write_text(LONG_FORM)
    done = runner.invoke(app, ["prognostic", str(tmp_path / "lung.csv"), "--mapping", str(tmp_path / "m.yaml"),
                               "--out", str(tmp_path / "out")])
    assert done.exit_code == 2, done.output
    assert "column 'status', line 9: value 3 is a third code" in " ".join(done.output.split())
    assert not (tmp_path / "out").exists()


# --- R's names and integer-coded factors ------------------------------------------------------


def test_r_column_names_in_covariates_and_cut_offs() -> None:
    assert parse_covariate_expression("ph.ecog>=2") == ("ph.ecog_ge_2", parse_covariate_expression("ph.ecog>=2")[1])
    name, cut = parse_covariate_expression(" wt.loss > 5 ")
    assert name == "wt.loss_gt_5" and cut is not None and cut.variable == "wt.loss"
    assert parse_covariate_expression("ph.ecog") == ("ph.ecog", None)
    with pytest.raises(DataError, match="cannot read covariate"):
        parse_covariate_expression("age>")
    mapping = _mapping(LONG_FORM).with_expressions(["age", "sex", "ph.ecog>=2", "wt.loss"])
    data = prepare_survival_data(_lung_like(), mapping, "os")
    assert list(data.X.columns) == ["age", "sex", "ph.ecog_ge_2", "wt.loss"]
    assert np.isnan(data.X["ph.ecog_ge_2"].iloc[3])


def test_integer_coded_categoricals() -> None:
    mapping = _mapping(LONG_FORM)
    assert mapping.covariates["sex"].reference == "1"
    data = prepare_survival_data(_lung_like(), mapping, "os")
    assert list(data.X["sex"].cat.categories) == ["1", "2"]
    # a float column (missing values) codes the same levels; levels sort as R's factor() sorts numbers
    as_factor = _mapping(LONG_FORM.replace("ph.ecog: {type: continuous}", "ph.ecog: {type: categorical, reference: 0}"))
    frame = _lung_like().assign(inst=lambda f: np.where(f.index % 7 == 0, 10, f["inst"]))
    data = prepare_survival_data(frame, as_factor, "os")
    assert list(data.X["ph.ecog"].cat.categories) == ["0", "1", "2"]
    inst = _mapping(LONG_FORM + "  inst: {type: categorical}\n")
    assert list(prepare_survival_data(frame, inst, "os").X["inst"].cat.categories) == ["1", "2", "3", "4", "10"]
    with pytest.raises(DataError, match=r"covariate 'sex': reference level '3' not among 1, 2"):
        prepare_survival_data(frame, _mapping(LONG_FORM.replace("reference: 1", "reference: 3")), "os")


def test_a_fitted_pipeline_takes_integer_codes_as_their_levels() -> None:
    from necml.models._preprocess import make_preprocessor

    data = prepare_survival_data(_lung_like(), _mapping(LONG_FORM), "os")
    pre = make_preprocessor(data.X, data.types).fit(data.X)
    as_read_back = data.X.assign(sex=data.X["sex"].astype(int))  # what read_csv gives for an input example
    np.testing.assert_array_equal(pre.transform(as_read_back), pre.transform(data.X))


# --- counts ------------------------------------------------------------------------------------


def test_counts_say_who_the_multivariate_fit_used_and_who_it_left_out(tmp_path: Path) -> None:
    from necml.prognosis import prognostic_analysis

    frame = _lung_like()
    result = prognostic_analysis(frame, _mapping(LONG_FORM), "os", source="lung.csv")
    complete = frame[["age", "sex", "ph.ecog", "wt.loss"]].notna().all(axis=1)
    n, events = int(complete.sum()), int((frame.loc[complete, "status"] == 2).sum())
    assert result.multivariate_counts == (n, events) == (116, int(result.multivariate["events"].iloc[0]))
    assert result.events_per_parameter == pytest.approx(events / 4)
    assert result.data.exclusion_note() == "4 of 120 patients excluded for missing values (wt.loss 3, ph.ecog 1)"
    assert "The multivariate Cox model uses 116 patients" in result.counts_text()
    assert "converted from days" in result.counts_text()


# --- model configs from any folder ------------------------------------------------------------


def test_shipped_model_configs_are_the_repository_ones() -> None:
    packaged = ROOT / "necml" / "models" / "configs"
    names = sorted(p.name for p in (ROOT / "configs" / "models").glob("*.yaml"))
    assert names == sorted(p.name for p in packaged.glob("*.yaml"))
    assert all(filecmp.cmp(ROOT / "configs" / "models" / n, packaged / n, shallow=False) for n in names)


def test_model_configs_resolve_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    packaged = ROOT / "necml" / "models" / "configs" / "coxph.yaml"
    assert model_config_path(ModelEntry(model="coxph"), tmp_path) == packaged
    assert model_config_path(ModelEntry(config="configs/models/coxph.yaml"), tmp_path) == packaged
    own = tmp_path / "models" / "coxph.yaml"
    own.parent.mkdir()
    own.write_text(packaged.read_text())
    assert model_config_path(ModelEntry(config="models/coxph.yaml"), tmp_path) == Path("models/coxph.yaml")
    with pytest.raises(ValueError, match="unknown model 'cox'; necml ships coxnet, coxph"):
        ModelEntry(model="cox")
    with pytest.raises(ValueError, match="exactly one of `config`"):
        PipelineConfig.model_validate({"name": "x", "data": {"dataset": "veterans"},
                                       "models": [{"config": "a.yaml", "model": "coxph"}]})


def test_run_mapping_needs_data(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(LONG_FORM)
    done = runner.invoke(app, ["run", "--mapping", str(tmp_path / "m.yaml"), "--no-track"])
    assert done.exit_code == 2 and "give the file with --data FILE" in done.output
    done = runner.invoke(app, ["run", "--no-track"])
    assert done.exit_code == 2 and "--data FILE --mapping M.yaml" in done.output


def test_the_default_pipeline_is_named_after_the_file() -> None:
    from necml.pipeline._config import DEFAULT_MODELS, default_pipeline

    config = default_pipeline("/data/My Lung (2024).csv", "pfs")
    assert config.name == "My_Lung_2024" and config.endpoint == "pfs"
    assert [m.model for m in config.models] == list(DEFAULT_MODELS)
