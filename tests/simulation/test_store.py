"""The replicate store: a chunk is committed at once, and a replicate stored before is not stored again."""

from __future__ import annotations

from pathlib import Path

import pytest

from necml.exceptions import DataError
from necml.simulation._replicate import ReplicateResult
from necml.simulation._store import ReplicateStore


def _result(replicate: int, estimate: float) -> ReplicateResult:
    return ReplicateResult("n31", replicate, [{"method": "cox", "estimand": "x", "estimate": estimate}], 0.5)


def test_a_chunk_counts_only_its_new_replicates_and_keeps_the_first_copy(tmp_path: Path) -> None:
    store = ReplicateStore(tmp_path / "store.sqlite", "hash")
    assert store.add([_result(0, 1.0), _result(1, 2.0)]) == 2
    assert store.add([_result(1, 99.0), _result(2, 3.0)]) == 1  # replicate 1 was stored before
    store.close()
    reopened = ReplicateStore(tmp_path / "store.sqlite", "hash")  # committed: a new connection sees it
    assert reopened.done() == {("n31", 0), ("n31", 1), ("n31", 2)}
    assert reopened.frame()["estimate"].tolist() == [1.0, 2.0, 3.0]
    assert reopened.seconds() == 1.5
    reopened.close()
    with pytest.raises(DataError, match="different study"):
        ReplicateStore(tmp_path / "store.sqlite", "another hash")
