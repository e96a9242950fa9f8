"""``necml simulate STUDY --find-n TERM``: :func:`necml.simulation._find_n.find_n` on a study's mechanism.

The scenario is the study's first grid point other than n (first effect scale and censoring
level, no departure); the method is the study's first that reports the term (or the one named).
Each replicate is a replicate of the study (its seeding, methods and failure rules): replicate
id ``j`` at size ``n`` is replicate ``j`` of scenario ``n<n>_...``, so a search is reproducible.
Results: ``find_n.csv`` (``term, target, n, ci_low, ci_high`` and the method, the measure,
Schoenfeld's n and the replicates used) and ``find_n_evaluations.csv`` (n, rejected, per replicate).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from necml.exceptions import SpecError
from necml.random import child_seed
from necml.simulation._config import StudyConfig
from necml.simulation._execute import execute
from necml.simulation._find_n import FindNResult, _scale_nodes, find_n, schoenfeld_n
from necml.simulation._mechanism import Scenario, censoring_label, mechanism_for
from necml.simulation._replicate import ReplicateResult, ReplicateTask

__all__ = ["find_n_directory", "find_study_n", "study_schoenfeld_n"]


def _method_for(config: StudyConfig, term: str, method: str | None) -> str:
    if method is not None:
        if method not in [m.name for m in config.methods]:
            raise SpecError(f"study {config.name!r}: --method {method!r} is not one of its methods")
        return method
    for m in config.methods:
        if m.kind in ("cox", "cox_univariate", "cox_firth", "python") and (m.terms is None or term in m.terms):
            return m.name
    raise SpecError(f"study {config.name!r}: no method of the study reports {term!r}")


def find_n_directory(
    config: StudyConfig, term: str, *, method: str | None = None, target: float = 0.8, assurance: float | None = None
) -> str:
    """The output folder name of one search: ``<study>_find_n_<term>_<method>[_power<p>][_assurance<sd>]``.

    Every search (term, method, target, power or assurance) has its own folder, so a second
    search never overwrites the first one's ``find_n.csv``.
    """
    name = f"{config.name}_find_n_{term}_{_method_for(config, term, method)}"
    if target != 0.8:
        name += f"_power{target:g}"
    return name if assurance is None else f"{name}_assurance{assurance:g}"


def _base_scenario(config: StudyConfig) -> Scenario:
    data = config.data
    return Scenario(0, data.effect_scale[0], censoring_label(data.censoring[0]), "none")


def _rejections(config: StudyConfig, term: str, base: Scenario, assurance: float | None, workers: int,
                scheduler: str | None):  # noqa: ANN202 - returns the Rejections callable
    truth = mechanism_for(config.data, base).truth[term]
    if assurance is not None and not (np.isfinite(truth) and truth != 0):
        raise SpecError(f"--assurance needs a term with a non-zero true log-HR; {term!r} has {truth}")
    nodes, weights = _scale_nodes(truth, assurance) if assurance is not None else (None, None)

    def scenario(n: int, j: int) -> Scenario:
        if nodes is None:
            return replace(base, n=n)
        rng = np.random.default_rng(child_seed(np.random.SeedSequence(config.seed), "assurance", j))
        return replace(base, n=n, effect_scale=round(float(rng.choice(nodes, p=weights)) * base.effect_scale, 6))

    def rejections(sizes: list[int], ids: list[int]) -> np.ndarray:
        tasks = [ReplicateTask(config, scenario(n, j), j) for n, j in zip(sizes, ids, strict=True)]
        found: dict[tuple[str, int], float] = {}

        def received(results: list[ReplicateResult]) -> None:
            for result in results:
                row = next((r for r in result.rows if r["estimand"] == term), None)
                ok = row is not None and bool(row["converged"]) and np.isfinite(float(row["p"]))
                found[(result.scenario, result.replicate)] = float(ok and float(row["p"]) < config.alpha)

        execute(tasks, workers=workers, scheduler=scheduler, on_results=received)
        return np.array([found.get((t.scenario.key, t.replicate), 0.0) for t in tasks])

    return rejections


def study_schoenfeld_n(config: StudyConfig, term: str, *, power: float, size: int = 20000) -> float:
    """Schoenfeld's n for ``term`` (treated as binary: its share of 1s) at the base scenario; NaN otherwise."""
    base = _base_scenario(config)
    mech = mechanism_for(config.data, base)
    frame = mech.sample(size, child_seed(np.random.SeedSequence(config.seed), "schoenfeld"))
    x = mech.design(frame, [term])[term].dropna().to_numpy(float)
    _, event = mech.survival(frame)
    truth = mech.truth[term]
    if not set(np.unique(x)) <= {0.0, 1.0} or not np.isfinite(truth) or truth == 0:
        return float("nan")
    return schoenfeld_n(truth, float(x.mean()), float(event.mean()), alpha=config.alpha, power=power)


def find_study_n(
    config: StudyConfig,
    term: str,
    *,
    target: float = 0.8,
    method: str | None = None,
    assurance: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    per_round: int = 400,
    rounds: int = 5,
    out: Path | None = None,
) -> tuple[FindNResult, pd.DataFrame]:
    """The n the study's analysis needs for ``target`` power (or assurance, with a prior SD) on ``term``.

    Returns the result and the ``find_n.csv`` table (one row); with ``out`` both CSV files are
    written there.
    """
    name = _method_for(config, term, method)
    study = config.model_copy(update={"methods": [m for m in config.methods if m.name == name], "estimands": [term]})
    base = _base_scenario(study)
    if term not in mechanism_for(study.data, base).truth:
        raise SpecError(f"study {config.name!r}: unknown term {term!r}")
    sizes = study.data.n
    result = find_n(
        _rejections(study, term, base, assurance, workers, scheduler),
        term=term, target=target, n_min=max(10, min(sizes) // 2), n_max=8 * max(sizes),
        per_round=per_round, rounds=rounds,
    )
    table = pd.DataFrame([result.row() | {
        "method": name,
        "measure": "assurance" if assurance is not None else "power_all",
        "prior_sd": assurance if assurance is not None else np.nan,
        "schoenfeld_n": study_schoenfeld_n(study, term, power=target),
        "replicates": len(result.evaluations),
    }])
    if out is not None:
        from necml.dataset import atomic_write

        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "find_n.csv", lambda tmp: table.to_csv(tmp, index=False))
        atomic_write(out / "find_n_evaluations.csv", lambda tmp: result.evaluations.to_csv(tmp, index=False))
    return result, table
