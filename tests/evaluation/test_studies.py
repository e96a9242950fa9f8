"""Durable Optuna studies: concurrent workers on one journal file; an interrupted tuning resumes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import optuna
import pytest

from necml.evaluation import StudyStore, fit_model, open_study, run_worker_trials, tuning_objective
from necml.evaluation.tuning._studies import run_trials
from necml.models import ModelConfig, load_model_config
from tests.conftest import ROOT


def _plan_and_data():  # noqa: ANN202
    from necml.dataset import prepare_survival_data, resolve_data
    from necml.evaluation import ModelPlan

    frame, mapping, source = resolve_data("veterans", None)
    data = prepare_survival_data(frame, mapping, "os", source=source)
    config: ModelConfig = load_model_config(ROOT / "configs/models/coxnet.yaml")
    return ModelPlan(name="coxnet", config=config, n_trials=8, inner_folds=3), data


def _worker(location: str, worker: int, n_trials: int) -> None:
    plan, data = _plan_and_data()
    seed = np.random.SeedSequence(7)
    study = open_study(StudyStore(location=location, resume=True), "shared", seed)
    run_worker_trials(study, tuning_objective(plan, data, seed), n_trials, seed, worker)


def test_two_processes_tune_one_journal_study(tmp_path: Path) -> None:
    journal = str(tmp_path / "optuna.journal")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(journal, w, 6)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=300)
        assert process.exitcode == 0
    storage = optuna.storages.journal.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    numbers = [t.number for t in trials]
    assert len(trials) == 12
    assert sorted(numbers) == list(range(12))  # no duplicate, no gap
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in trials)


class _Interrupt(Exception):
    pass


def test_interrupted_tuning_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    plan, data = _plan_and_data()
    seed = np.random.SeedSequence(11)
    whole = fit_model(plan, data, seed, study="s")  # in memory, never interrupted

    store = StudyStore(location=str(tmp_path / "optuna.journal"), prefix="p/")
    objective = tuning_objective(plan, data, seed)
    calls = {"n": 0}

    def dies_at_trial_4(trial: optuna.Trial) -> float:
        calls["n"] += 1
        if calls["n"] == 4:
            raise _Interrupt  # as if the process were killed mid-trial
        return objective(trial)

    study = open_study(store, "coxnet/s", seed)
    with pytest.raises(_Interrupt):
        run_trials(study, dies_at_trial_4, plan.n_trials, seed)
    assert len([t for t in study.trials if t.state.is_finished()]) == 4  # 3 done + the failed one
    study.ask()  # and one left RUNNING, as by a process killed with SIGKILL

    with pytest.raises(optuna.exceptions.DuplicatedStudyError, match="--resume"):
        open_study(store, "coxnet/s", seed)
    from dataclasses import replace

    resumed = fit_model(replace(plan, store=replace(store, resume=True)), data, seed, study="s")
    assert resumed.params == whole.params
    assert resumed.best_inner_c == whole.best_inner_c
    assert (resumed.trials["state"] == "FAIL").sum() == 2  # the interrupted and the stale trial
    done = resumed.trials[resumed.trials["state"] != "FAIL"].reset_index(drop=True)
    assert len(done) == plan.n_trials
    params = [c for c in whole.trials if c.startswith("param_")]
    np.testing.assert_array_equal(done[params].to_numpy(), whole.trials[params].to_numpy())
    np.testing.assert_array_equal(done["value"].to_numpy(), whole.trials["value"].to_numpy())
