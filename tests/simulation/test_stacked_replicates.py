"""Replicates drawn as a stack give every row that each replicate gives with its cohort drawn alone
(`run_replicate`: `generate_cohort`, not the stacked draw)."""

from __future__ import annotations

import math

from necml.simulation import ReplicateTask, resolve_study, scenarios
from necml.simulation._replicate import run_replicate, run_replicates
from tests.conftest import ROOT
from tests.simulation.conftest import small_study


def _same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_a_stack_of_replicates_gives_each_replicates_own_rows() -> None:
    study = resolve_study(small_study(
        methods=[{"name": "cox", "kind": "cox"}, {"name": "uni", "kind": "cox_univariate", "terms": ["nlr_gt_3"]},
                 {"name": "firth", "kind": "cox_firth", "terms": ["nlr_gt_3", "arm_atezo_ep"]}],
        data={**small_study().data.model_dump(), "n": [31], "effect_scale": [1.0, 0.5]},
    ), ROOT)
    grid = scenarios(study)
    # two scenarios interleaved: a stack never mixes scenarios
    tasks = [ReplicateTask(study, grid[k % 2], r) for r in range(8) for k in range(2)]
    tasks.sort(key=lambda t: t.scenario.key)
    stacked = run_replicates(tasks)
    assert [(r.scenario, r.replicate) for r in stacked] == [(t.scenario.key, t.replicate) for t in tasks]
    for task, found in zip(tasks, stacked, strict=True):
        alone = run_replicate(task)
        assert len(found.rows) == len(alone.rows) > 0
        for mine, theirs in zip(found.rows, alone.rows, strict=True):
            assert mine.keys() == theirs.keys()
            assert all(_same(mine[k], theirs[k]) for k in mine), (task.replicate, mine, theirs)
