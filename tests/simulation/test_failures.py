"""Failure accounting: a raised method and every reason are counted, for every estimand of the method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from necml.simulation import FAILURE_REASONS, MethodConfig, StudyConfig, failure_reasons, performance_table, run_method
from tests.simulation.conftest import small_study


def _row(replicate: int, estimand: str, *, estimate: float = 0.5, p: float = 0.01, converged: bool = True,
         reason: str = "") -> dict[str, object]:
    return {
        "scenario": "n40_scale1", "n": 40, "effect_scale": 1.0, "censoring": "published", "departure": "none",
        "replicate": replicate, "method": "cox", "estimand": estimand, "estimate": estimate, "se": 0.2,
        "ci_low": estimate - 0.4, "ci_high": estimate + 0.4, "p": p, "converged": converged,
        "truth": 0.5 if estimand == "a" else 0.0, "note": "", "reason": reason,
    }


def _hand_built() -> pd.DataFrame:
    """4 replicates of a method with estimands a and b: 2 fine, 1 separated fit, 1 where the method raised."""
    rows = [_row(0, "a"), _row(0, "b", p=0.5), _row(1, "a", p=0.2), _row(1, "b", p=0.01)]
    rows += [_row(2, e, estimate=np.nan, p=np.nan, converged=False, reason="monotone likelihood") for e in "ab"]
    raised = {k: v for k, v in _row(3, "*").items() if k in ("scenario", "n", "effect_scale", "censoring",
                                                             "departure", "replicate", "method")}
    rows.append(raised | {"estimand": "*", "converged": False, "reason": "method raised", "note": "failed: boom"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("estimand", ["a", "b"])
def test_a_raised_replicate_counts_as_a_failure_of_every_estimand(estimand: str) -> None:
    perf = performance_table(_hand_built(), 0.05)
    got = perf[perf["estimand"] == estimand].set_index("measure")
    assert got.loc["failures", "estimate"] == 0.5
    assert got.loc["failed_monotone_likelihood", "estimate"] == 0.25
    assert got.loc["failed_method_raised", "estimate"] == 0.25
    assert np.isclose(got.loc["failures", "mcse"], np.sqrt(0.5 * 0.5 / 4))
    assert got.loc["power_all", "estimate"] == 0.25  # 1 rejection of 4 replicates, not of 3
    assert got.loc["power", "estimate"] == 0.5
    assert (got["replicates"] == 4).all()
    assert "*" not in set(perf["estimand"])


def test_failure_reasons_table_lists_the_shares() -> None:
    table = failure_reasons(performance_table(_hand_built(), 0.05))
    assert set(table["reason"]) == {"monotone likelihood", "method raised"}
    assert np.allclose(table["share"], 0.25)


@dataclass(frozen=True)
class _Stub:
    """The parts of a mechanism a Cox method uses."""

    truth: dict[str, float]

    def survival(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return frame["time"].to_numpy(float), frame["event"].to_numpy(bool)

    def design(self, frame: pd.DataFrame, terms: list[str] | None = None) -> pd.DataFrame:
        return frame[terms or list(self.truth)]


def _cohort(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.integers(0, 2, n).astype(float)
    time = rng.exponential(np.exp(-0.5 * x))
    return pd.DataFrame({"x": x, "g": g, "flat": 1.0, "time": time, "event": rng.random(n) < 0.8})


STUB = _Stub({"x": 0.5, "g": 0.0, "flat": 0.0})
STUDY = StudyConfig.model_validate(small_study().model_dump() | {"estimands": ["x", "g", "flat"]})


@pytest.mark.parametrize("kind", ["cox", "cox_firth"])
def test_a_constant_column_fails_the_prespecified_model(kind: str) -> None:
    rows = run_method(MethodConfig(name="m", kind=kind), _cohort(0), STUB, study=STUDY)
    assert {r["reason"] for r in rows} == {"constant column"}
    assert not any(r["converged"] for r in rows)
    assert all("flat" in str(r["note"]) for r in rows)


@pytest.mark.parametrize("kind", ["cox", "cox_firth"])
def test_drop_constant_drops_the_term_and_records_it(kind: str) -> None:
    rows = {r["estimand"]: r for r in run_method(MethodConfig(name="m", kind=kind, drop_constant=True), _cohort(0),
                                                 STUB, study=STUDY)}
    assert rows["flat"]["reason"] == "constant column" and not rows["flat"]["converged"]
    assert rows["x"]["converged"] and rows["x"]["note"] == "dropped constant: flat"
    assert 0.1 < rows["x"]["estimate"] < 0.9 and rows["x"]["ci_low"] < rows["x"]["estimate"] < rows["x"]["ci_high"]


def test_separation_fails_cox_with_its_reason_and_firth_estimates_it() -> None:
    frame = _cohort(1)
    frame.loc[frame["g"] == 1, "event"] = False  # no event in g = 1: monotone likelihood
    method = {"drop_constant": True}
    cox = run_method(MethodConfig(name="c", kind="cox", **method), frame, STUB, study=STUDY)
    assert {r["reason"] for r in cox if r["estimand"] != "flat"} == {"monotone likelihood"}
    assert all("g" in str(r["note"]) for r in cox if r["estimand"] != "flat")
    firth = {r["estimand"]: r for r in run_method(MethodConfig(name="f", kind="cox_firth", **method), frame, STUB,
                                                  study=STUDY)}
    assert firth["g"]["converged"] and firth["g"]["estimate"] < -1.5
    assert firth["g"]["ci_low"] < firth["g"]["estimate"] < firth["g"]["ci_high"] < 0  # profile likelihood, asymmetric
    assert 0 < firth["g"]["p"] < 0.05


def test_the_reasons_are_the_documented_ones() -> None:
    assert FAILURE_REASONS[0] == "constant column" and "method raised" in FAILURE_REASONS
