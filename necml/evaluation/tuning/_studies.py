"""Optuna studies in durable storage: seeded, resumable, safe for several processes.

A :class:`StudyStore` names where studies live: nowhere (in memory, the default), an Optuna
journal file (``*.journal`` or any other path; Optuna's recommendation for several processes on
one machine) or an RDB URL (``postgresql://``, ``mysql://``, ``sqlite://``; several machines).

Reproducibility. Before each trial the TPE sampler is rebuilt with a seed derived from the study
seed and the number of trials already finished, so the parameters a trial gets depend only on the
seed and the finished history, not on a sampler's internal state. A study interrupted after k
trials and resumed therefore proposes exactly what an uninterrupted one would have.

Resuming. :func:`run_trials` tops a study up to ``n_trials`` finished (complete or pruned) trials.
A trial left RUNNING by a killed process is marked FAIL first; this is only right when one process
owns the study, which holds for the pipeline's per-resample studies (tuning is sequential within a
resample). Processes sharing a study use :func:`run_worker_trials`, which never touches other
processes' trials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from necml.random import child_seed, int_seed

__all__ = [
    "TPE_SETTINGS",
    "StudyStore",
    "open_study",
    "run_trials",
    "run_worker_trials",
    "sampler_description",
    "search_kind",
    "startup_trials",
    "trials_table",
]

#: TPE settings, fixed explicitly (optuna 5 changed several defaults) and logged with each run.
#: ``n_startup_trials`` is the most random start-up trials; a study of ``n`` trials uses
#: :func:`startup_trials` (half of them, at least 1, at most this), so a small budget still
#: gets model-based proposals instead of being random search under TPE's name.
TPE_SETTINGS: dict[str, object] = {
    "n_startup_trials": 10,
    "n_ei_candidates": 24,
    "multivariate": True,
    "group": False,
    "constant_liar": True,
}

_RDB_SCHEMES = ("postgresql", "mysql", "sqlite", "oracle", "mssql")
_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyStore:
    """Where tuning studies are kept.

    Parameters
    ----------
    location : str, optional
        A journal-file path or an RDB URL; None keeps studies in memory.
    prefix : str, default=""
        Prepended to every study name (a pipeline uses its name, seed and config digest).
    resume : bool, default=False
        Continue existing studies; without it an existing study of the same name is an error.
    """

    location: str | None = None
    prefix: str = ""
    resume: bool = False

    @property
    def durable(self) -> bool:
        return self.location is not None


@lru_cache(maxsize=8)
def _storage(location: str) -> optuna.storages.BaseStorage:
    if location.split(":", 1)[0].split("+", 1)[0] in _RDB_SCHEMES and "://" in location:
        return optuna.storages.RDBStorage(location)
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(location)
    return optuna.storages.journal.JournalStorage(backend)


def startup_trials(n_trials: int) -> int:
    """Random start-up trials of a TPE study of ``n_trials``: ``ceil(n/2)``, between 1 and 10.

    Examples
    --------
    >>> [startup_trials(n) for n in (1, 3, 4, 20, 50)]
    [1, 2, 2, 10, 10]
    """
    return int(min(int(TPE_SETTINGS["n_startup_trials"]), max(1, -(-n_trials // 2))))


def search_kind(n_trials: int) -> str:
    """What a budget of ``n_trials`` is: random search when no trial is model-based."""
    start = startup_trials(n_trials)
    if n_trials <= start:
        return f"random search ({n_trials} trials)"
    return f"TPE ({start} random start-up trials, then {n_trials - start} model-based)"


def _sampler(seed: np.random.SeedSequence, *keys: str | int, n_trials: int | None = None) -> optuna.samplers.TPESampler:
    settings = dict(TPE_SETTINGS)
    if n_trials is not None:
        settings["n_startup_trials"] = startup_trials(n_trials)
    return optuna.samplers.TPESampler(seed=int_seed(child_seed(seed, "sampler", *keys)), **settings)


def open_study(store: StudyStore, name: str, seed: np.random.SeedSequence) -> optuna.Study:
    """Create (or, with ``store.resume`` or a shared worker study, load) a maximising study."""
    storage = _storage(store.location) if store.location else None
    full = f"{store.prefix}{name}"
    try:
        return optuna.create_study(
            study_name=full if storage is not None else None,
            storage=storage,
            direction="maximize",
            sampler=_sampler(seed, 0),
            load_if_exists=store.resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise optuna.exceptions.DuplicatedStudyError(
            f"study {full!r} already exists in {store.location}: pass --resume to continue it"
        ) from None


def _one_trial(study: optuna.Study, objective: Callable[[optuna.Trial], float]) -> None:
    trial = study.ask()
    try:
        value = objective(trial)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    else:
        study.tell(trial, value)


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    seed: np.random.SeedSequence,
) -> None:
    """Top ``study`` up to ``n_trials`` finished trials, sequentially (one process owns it)."""
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
    while (done := len(study.get_trials(deepcopy=False, states=_FINISHED))) < n_trials:
        study.sampler = _sampler(seed, done, n_trials=n_trials)
        _one_trial(study, objective)


def run_worker_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    seed: np.random.SeedSequence,
    worker: int,
) -> None:
    """Run exactly ``n_trials`` trials of a study that other processes may tune at the same time."""
    for i in range(n_trials):
        study.sampler = _sampler(seed, "worker", worker, i, n_trials=n_trials)
        _one_trial(study, objective)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, duration (s) and ``param_*`` columns."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else float("nan")
        )
        rows.append(
            {
                "study": study.study_name,
                "number": t.number,
                "state": t.state.name,
                "value": t.value if t.value is not None else float("nan"),
                "duration_s": duration,
                **{f"param_{k}": v for k, v in t.params.items()},
            }
        )
    return pd.DataFrame(rows)


def sampler_description() -> dict[str, object]:
    """The sampler and its settings, as logged with a run."""
    return {
        "sampler": "TPESampler",
        "optuna": optuna.__version__,
        **TPE_SETTINGS,
        "n_startup_trials": "ceil(n_trials / 2), between 1 and 10 (startup_trials)",
        "seeding": "reseeded per trial from the study seed and the finished-trial count",
    }
