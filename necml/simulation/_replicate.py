"""One replicate: draw a cohort from the scenario's mechanism and run every method on it.

Seeds: replicate ``r`` of scenario ``s`` uses ``child_seed(SeedSequence(study.seed), s.key, r)``
(the cohort from its ``"data"`` child, each method from ``("method", name)``), so a replicate's
result depends only on the study seed, the scenario and ``r``: not on which worker ran it, in
which order, or how many workers there were.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from necml.random import child_seed
from necml.simulation._config import StudyConfig
from necml.simulation._mechanism import Mechanism, Scenario, censoring_label, mechanism_for
from necml.simulation._methods import DesignArrays, run_method

__all__ = ["ReplicateResult", "ReplicateTask", "run_replicate", "run_replicates", "scenario_columns", "scenarios"]

_METHOD_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)
#: Methods that take their columns from the replicate's design, built once for all of them.
_SHARED_DESIGN = ("cox", "cox_univariate", "cox_firth")


@dataclass(frozen=True, slots=True)
class ReplicateTask:
    """What a worker needs: the (resolved) study, the scenario and the replicate index."""

    study: StudyConfig
    scenario: Scenario
    replicate: int


@dataclass(frozen=True, slots=True)
class ReplicateResult:
    """A replicate's rows (one per method and estimand) and its compute time."""

    scenario: str
    replicate: int
    rows: list[dict[str, object]]
    seconds: float


def scenarios(study: StudyConfig) -> list[Scenario]:
    """The grid, in a fixed order."""
    data = study.data
    return [
        Scenario(n, scale, censoring_label(level), departure)
        for departure in data.departure_names
        for level in data.censoring
        for scale in data.effect_scale
        for n in data.n
    ]


def scenario_columns(scenario: Scenario) -> dict[str, object]:
    """The grid coordinates a result row carries."""
    return {
        "n": scenario.n,
        "effect_scale": scenario.effect_scale,
        "censoring": scenario.censoring,
        "departure": scenario.departure,
    }


def run_replicate(task: ReplicateTask) -> ReplicateResult:
    """Run one replicate (see the module docstring); method failures become flagged rows.

    Its cohort is drawn alone (:func:`necml.cohort.generate_cohort`). A method that raises gives
    one row with estimand ``*`` and reason ``method raised``; the performance table counts it as
    a failure of every estimand of that method.
    """
    began = time.perf_counter()
    seed = _seed(task)
    mech = mechanism_for(task.study.data, task.scenario)
    frame = mech.sample(task.scenario.n, child_seed(seed, "data"))
    return _result(task, seed, frame, mech, _shared_design(task.study, mech, frame), began)


def run_replicates(tasks: list[ReplicateTask]) -> list[ReplicateResult]:
    """Run replicates, each giving the rows :func:`run_replicate` gives, drawing their cohorts together.

    Consecutive tasks of one scenario are drawn as one stack
    (:func:`necml.cohort.generate_stacked`: each cohort is its own seed's cohort to the bit) and
    their shared design is built once; then each replicate's methods run on its own rows. A
    replicate's ``seconds`` is its methods' time plus its share of the stack's.
    """
    results: list[ReplicateResult] = []
    for _, grouped in itertools.groupby(tasks, key=lambda t: (id(t.study), t.scenario)):
        group = list(grouped)
        began = time.perf_counter()
        study, scenario, n = group[0].study, group[0].scenario, group[0].scenario.n
        seeds = [_seed(task) for task in group]
        mech = mechanism_for(study.data, scenario)
        stacked = mech.sample_stacked(n, [child_seed(seed, "data") for seed in seeds])
        shared = _shared_design(study, mech, stacked)
        share = (time.perf_counter() - began) / len(group)
        for k, (task, seed) in enumerate(zip(group, seeds, strict=True)):
            rows = slice(k * n, (k + 1) * n)
            design = None if shared is None else shared.rows(rows)
            frame = partial(_rows, stacked, rows, n)  # sliced only if a method reads the frame
            results.append(_result(task, seed, frame, mech, design, time.perf_counter() - share))
    return results


def _seed(task: ReplicateTask) -> np.random.SeedSequence:
    return child_seed(np.random.SeedSequence(task.study.seed), task.scenario.key, task.replicate)


def _shared_design(study: StudyConfig, mech: Mechanism, frame: pd.DataFrame) -> DesignArrays | None:
    return DesignArrays.of(frame, mech) if any(m.kind in _SHARED_DESIGN for m in study.methods) else None


Frame = pd.DataFrame | Callable[[], pd.DataFrame]  # a replicate's cohort, or how to slice it from its stack


def _result(
    task: ReplicateTask, seed: np.random.SeedSequence, frame: Frame, mech: Mechanism,
    design: DesignArrays | None, began: float,
) -> ReplicateResult:
    """The replicate's rows, with its grid coordinates, and the seconds since ``began``."""
    scenario = task.scenario
    rows = _run_methods(task.study, scenario, seed, frame, mech, design)
    for row in rows:
        row.update(scenario=scenario.key, **scenario_columns(scenario), replicate=task.replicate)
    return ReplicateResult(scenario.key, task.replicate, rows, time.perf_counter() - began)


def _rows(frame: pd.DataFrame, rows: slice, n: int) -> pd.DataFrame:
    """One replicate's rows of a stacked frame, indexed ``0..n-1`` like a cohort drawn alone
    (a shallow copy: ``reset_index`` would copy every column)."""
    part = frame.iloc[rows].copy(deep=False)
    part.index = pd.RangeIndex(n)
    return part


def _run_methods(
    study: StudyConfig, scenario: Scenario, seed: np.random.SeedSequence, frame: Frame, mech: Mechanism,
    design: DesignArrays | None,
) -> list[dict[str, object]]:
    """Every method's rows on one replicate's cohort (a method that raises gives a failure row)."""
    rows: list[dict[str, object]] = []
    for method in study.methods:
        if callable(frame) and not (design is not None and method.kind in _SHARED_DESIGN):
            frame = frame()  # the first method that reads the cohort slices it, once
        context = {
            "study": study, "scenario": scenario, "seed": child_seed(seed, "method", method.name), "design": design,
        }
        try:
            found = run_method(method, None if callable(frame) else frame, mech, **context)
        except _METHOD_ERRORS as exc:
            found = [
                {"method": method.name, "estimand": "*", "converged": False, "reason": "method raised",
                 "note": f"failed: {type(exc).__name__}: {exc}"}
            ]
        if study.estimands is not None:
            found = [
                r for r in found if r["estimand"] in study.estimands or r["estimand"] in ("cindex_harrell", "ibs", "*")
            ]
        rows += found
    return rows
