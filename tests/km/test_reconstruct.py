"""Guyot's reconstruction: accuracy on real IPD (veterans), the last interval, repairs, and bad files refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_veterans_lung_cancer
from typer.testing import CliRunner

from necml.cli import app
from necml.exceptions import DataError
from necml.km import (
    at_risk_table,
    check_at_risk,
    check_points,
    compare_curves,
    km_curve,
    km_steps,
    reconstruct_ipd,
    rmst,
)
from necml.prognosis import fit_cox_newton


@pytest.fixture(scope="module")
def veterans() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_veterans_lung_cancer()
    return y["Survival_in_days"] / 30.44, y["Status"], (X["Treatment"] == "test").to_numpy()


def _arm(time: np.ndarray, event: np.ndarray, total: bool) -> pd.DataFrame:
    table = at_risk_table(time, np.arange(0, time.max(), 3.0))
    return reconstruct_ipd(km_steps(time, event), table, total_events=int(event.sum()) if total else None).ipd


@pytest.mark.parametrize("total", [False, True], ids=["no-total", "total-events"])
def test_veterans_arms_reconstructed_within_guyot_accuracy(veterans, total: bool) -> None:  # noqa: ANN001
    time, event, arm = veterans
    parts = []
    for m in (~arm, arm):
        ipd = _arm(time[m], event[m], total)
        assert len(ipd) == m.sum()
        assert abs(int(ipd["event"].sum()) - int(event[m].sum())) <= 1
        truth, got = km_curve(time[m], event[m]), km_curve(ipd["time"].to_numpy(), ipd["event"].to_numpy())
        assert abs(rmst(got, 18.0) - rmst(truth, 18.0)) < 0.2  # months: Guyot et al.'s reported accuracy
        parts.append(ipd.assign(arm=float(m is arm)))
    rec = pd.concat(parts)
    hr_rec = fit_cox_newton(rec[["arm"]].to_numpy(), rec["time"].to_numpy(), rec["event"].to_numpy()).coef[0]
    hr_true = fit_cox_newton(arm[:, None].astype(float), time, event).coef[0]
    assert abs(hr_rec - hr_true) < 0.05


def test_last_interval_closes_on_the_printed_total_of_events() -> None:
    pts = pd.DataFrame({"time": [0, 1, 2, 3, 4, 5], "survival": [1, 0.9, 0.8, 0.6, 0.5, 0.4]})
    risk = pd.DataFrame({"time": [0, 2], "n_at_risk": [20, 16]})
    free = reconstruct_ipd(pts, risk)
    assert any("average rate" in n for n in free.notes)
    fixed = reconstruct_ipd(pts, risk, total_events=8)
    assert int(fixed.ipd["event"].sum()) == 8 and len(fixed.ipd) == 20
    assert fixed.events_per_interval["reconstructed_at_risk"].tolist() == [20, 16]


def test_digitising_noise_is_repaired_and_noted() -> None:
    pts = pd.DataFrame({"time": [0.0, 1, 2, 3], "survival": [1.0, 0.8, 0.82, 0.5]})
    r = reconstruct_ipd(pts, pd.DataFrame({"time": [0, 2], "n_at_risk": [10, 8]}))
    assert any("monotonicity repaired" in n for n in r.notes)
    got = km_curve(r.ipd["time"].to_numpy(), r.ipd["event"].to_numpy())
    assert (np.diff(got[1]) <= 0).all()


def test_compare_curves_area_and_rmst() -> None:
    a, b = (np.array([1.0]), np.array([0.5])), (np.array([2.0]), np.array([0.5]))
    got = compare_curves(a, b, tau=3.0, landmarks=(1.5,))
    assert got == pytest.approx({"area_between": 0.5, "rmst_difference": -0.5, "s_1.5_difference": -0.5})


@pytest.mark.parametrize(
    ("frame", "match"),
    [(pd.DataFrame({"time": [0, 1, 2], "survival": [1.0, 0.5, 0.9]}),
      r"column 'survival', line 4: a Kaplan-Meier curve cannot increase, but it rises to 0.9"),
     (pd.DataFrame({"time": [0, -1], "survival": [1.0, 0.5]}), r"column 'time', line 3: must be a number >= 0"),
     (pd.DataFrame({"t": [0], "survival": [1.0]}), r"column\(s\) 'time' not found"),
     (pd.DataFrame({"time": [0, 1], "survival": [1.0, 250]}), r"column 'survival', line 3: must be a number in")],
    ids=["increases", "negative-time", "missing-column", "out-of-range"],
)
def test_bad_points_are_refused(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(DataError, match=match):
        check_points(frame, source="P.csv")


@pytest.mark.parametrize(
    ("frame", "match"),
    [(pd.DataFrame({"time": [0, 3, 6], "n_at_risk": [20, 15, 17]}),
      r"column 'n_at_risk', line 4: numbers at risk cannot grow, but 17 at time 6 follows 15"),
     (pd.DataFrame({"time": [0, 3, 3], "n_at_risk": [20, 15, 10]}), r"column 'time', line 4: times must increase"),
     (pd.DataFrame({"time": [0, 3], "n_at_risk": [20, 1.5]}), r"line 3: must be a whole number")],
    ids=["grows", "time-repeats", "fraction"],
)
def test_bad_at_risk_tables_are_refused(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(DataError, match=match):
        check_at_risk(frame, source="R.csv")


def test_cli_reconstructs_arms_and_prognostic_analyses_them(veterans, tmp_path: Path) -> None:  # noqa: ANN001
    time, event, arm = veterans
    out = tmp_path / "ipd.csv"
    runner = CliRunner()
    for label, m in (("standard", ~arm), ("test", arm)):
        km_steps(time[m], event[m]).to_csv(tmp_path / f"{label}_p.csv", index=False)
        at_risk_table(time[m], np.arange(0, 30, 3.0)).to_csv(tmp_path / f"{label}_r.csv", index=False)
        done = runner.invoke(app, ["km", "reconstruct", "--points", str(tmp_path / f"{label}_p.csv"), "--at-risk",
                                   str(tmp_path / f"{label}_r.csv"), "--events", str(int(event[m].sum())),
                                   "--arm", label, "--append", "--out", str(out)])
        assert done.exit_code == 0, done.output
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["time", "event", "arm"] and len(ipd) == 137
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("endpoints: {os: {time: time, event: event}}\ncovariates: {arm: {type: categorical}}\n")
    done = runner.invoke(app, ["prognostic", str(out), "--mapping", str(mapping), "--by", "arm", "--out",
                               str(tmp_path / "prog")])
    assert done.exit_code == 0, done.output


def test_cli_refuses_an_increasing_curve_with_exit_2_and_no_output(tmp_path: Path) -> None:
    pd.DataFrame({"time": [0, 1, 2], "survival": [1.0, 0.5, 0.9]}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"time": [0], "n_at_risk": [10]}).to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "ipd.csv"
    done = CliRunner().invoke(app, ["km", "reconstruct", "--points", str(tmp_path / "p.csv"), "--at-risk",
                                    str(tmp_path / "r.csv"), "--out", str(out)])
    assert done.exit_code == 2 and "p.csv: column 'survival', line 4" in done.output
    assert not out.exists()
