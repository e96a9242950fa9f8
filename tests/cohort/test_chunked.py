"""Chunked generation is the whole-cohort draw: the same frame for any chunk size, streamed to Parquet
or not."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from necml.cohort import generate_cohort, iter_cohort, with_censoring, with_departures
from necml.dataset import read_cohort, read_metadata, write_cohort, write_cohort_chunks
from necml.spec import DelayedEffect, load_spec

from ..conftest import COHORTS, SHIPPED

SOURCE = "assumed: test scenario"


@cache
def _variants(name: str):  # noqa: ANN202
    spec = load_spec(COHORTS / name)
    delayed = with_departures(
        spec, [DelayedEffect(kind="delayed_effect", arm=spec.arm_names[1], delay=2.0, source=SOURCE)], "delay2"
    )
    return {"published": spec, "delayed": delayed, "uncensored": with_censoring(spec, "os", "none")}


@pytest.mark.parametrize("allocation", ["exact", "random"])
@pytest.mark.parametrize("variant", ["published", "delayed", "uncensored"])
@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(("chunk_size", "n"), [(1, 12), (7, 60), (128, 500)])
def test_any_chunk_size_gives_the_whole_cohort_draw(
    name: str, variant: str, allocation: str, chunk_size: int, n: int
) -> None:
    spec = _variants(name)[variant]
    whole = generate_cohort(spec, n, seed=11, allocation=allocation, chunk_size=n)  # one chunk: today's layout
    chunked = generate_cohort(spec, n, seed=11, allocation=allocation, chunk_size=chunk_size)
    pd.testing.assert_frame_equal(chunked, whole)
    parts = list(iter_cohort(spec, n, seed=11, allocation=allocation, chunk_size=chunk_size))
    assert [len(p) for p in parts[:-1]] == [chunk_size] * (len(parts) - 1)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_streamed_parquet_equals_the_in_memory_file(tmp_path: Path, lcnec) -> None:  # noqa: ANN001
    meta = {"seed": 4, "n": 3000}
    write_cohort(generate_cohort(lcnec, 3000, seed=4), tmp_path / "whole.parquet", meta)
    path, rows = write_cohort_chunks(iter_cohort(lcnec, 3000, seed=4, chunk_size=512), tmp_path / "s.parquet", meta)
    assert rows == 3000
    pd.testing.assert_frame_equal(read_cohort(path), read_cohort(tmp_path / "whole.parquet"))
    assert read_metadata(path) == meta


def test_a_failing_chunk_leaves_no_file(tmp_path: Path, lcnec) -> None:  # noqa: ANN001
    def failing():  # noqa: ANN202
        yield from iter_cohort(lcnec, 100, seed=1, chunk_size=50)
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        write_cohort_chunks(failing(), tmp_path / "x.parquet", {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_chunk_size_must_be_a_positive_integer(lcnec, bad: object) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        iter_cohort(lcnec, 10, seed=1, chunk_size=bad)
