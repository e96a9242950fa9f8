"""One replicate: draw a cohort from the scenario's mechanism and run every method on it.

Seeds: replicate ``r`` of scenario ``s`` uses ``child_seed(SeedSequence(study.seed), s.key, r)``
(the cohort from its ``"data"`` child, each method from ``("method", name)``), so a replicate's
result depends only on the study seed, the scenario and ``r``: not on which worker ran it, in
which order, or how many workers there were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from necml.random import child_seed
from necml.simulation._config import StudyConfig
from necml.simulation._mechanism import Scenario, censoring_label, mechanism_for
from necml.simulation._methods import run_method

__all__ = ["ReplicateResult", "ReplicateTask", "run_replicate", "scenario_columns", "scenarios"]

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

    A method that raises gives one row with estimand ``*`` and reason ``method raised``; the
    performance table counts it as a failure of every estimand of that method.
    """
    start = time.perf_counter()
    study, scenario = task.study, task.scenario
    seed = child_seed(np.random.SeedSequence(study.seed), scenario.key, task.replicate)
    mech = mechanism_for(study.data, scenario)
    frame = mech.sample(scenario.n, child_seed(seed, "data"))
    design = mech.design(frame) if any(m.kind in _SHARED_DESIGN for m in study.methods) else None
    rows: list[dict[str, object]] = []
    for method in study.methods:
        context = {
            "study": study, "scenario": scenario, "seed": child_seed(seed, "method", method.name), "design": design,
        }
        try:
            found = run_method(method, frame, mech, **context)
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
    for row in rows:
        row.update(scenario=scenario.key, **scenario_columns(scenario), replicate=task.replicate)
    return ReplicateResult(scenario.key, task.replicate, rows, time.perf_counter() - start)
