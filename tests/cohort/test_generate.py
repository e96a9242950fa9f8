"""Generator properties: determinism, exact sizes, PFS <= OS, column contract."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import necml
from necml.cohort import generate_cohort
from necml.spec import CONTRACT_VARIABLES, spec_from_dict

from ..conftest import COHORTS, ROOT

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_same_seed_same_frame(lcnec) -> None:
    pd.testing.assert_frame_equal(generate_cohort(lcnec, 200, seed=5),
                                  generate_cohort(lcnec, 200, seed=5))


def test_different_seed_different_frame(lcnec) -> None:
    a = generate_cohort(lcnec, 200, seed=5)
    b = generate_cohort(lcnec, 200, seed=6)
    assert not np.allclose(a["age"], b["age"])


def test_seed_sequence_accepted(lcnec) -> None:
    pd.testing.assert_frame_equal(
        generate_cohort(lcnec, 50, seed=np.random.SeedSequence(9)),
        generate_cohort(lcnec, 50, seed=9),
    )


def test_same_output_in_another_process(lcnec) -> None:
    """Another process with another hash seed draws the identical cohort. The environment is
    passed on: OpenBLAS picks its kernel from the CPU unless ``OPENBLAS_CORETYPE`` says otherwise,
    and two kernels may differ in the last bit of a matrix product (docs/conventions.md)."""
    code = (
        "import necml, hashlib;"
        "df = necml.generate('configs/cohorts/lcnec_stage4_2025.yaml', 300, 11);"
        "print(hashlib.sha256(df.to_csv(index=False).encode()).hexdigest())"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       check=True, env={**os.environ, "PYTHONHASHSEED": h}).stdout
        for h in ("0", "123")
    }
    here = generate_cohort(lcnec, 300, seed=11).to_csv(index=False)
    import hashlib
    outs.add(hashlib.sha256(here.encode()).hexdigest() + "\n")
    assert len(outs) == 1


@pytest.mark.parametrize(("n", "expected"), [(31, {"chemo": 17, "ici_chemo": 14}),
                                             (62, {"chemo": 34, "ici_chemo": 28}),
                                             (1, {"chemo": 1, "ici_chemo": 0})])
def test_exact_arm_sizes(lcnec, n: int, expected: dict) -> None:
    counts = generate_cohort(lcnec, n, seed=1)["arm"].value_counts().to_dict()
    assert counts == expected


def test_random_allocation_varies(lcnec) -> None:
    sizes = {int((generate_cohort(lcnec, 31, seed=s, allocation="random")["arm"] == "chemo").sum())
             for s in range(8)}
    assert len(sizes) > 1


def test_column_contract(lcnec, epnec) -> None:
    for spec in (lcnec, epnec):
        df = generate_cohort(spec, 40, seed=2)
        assert list(df.columns[:9]) == ["patient_id", "arm", *CONTRACT_VARIABLES]
        assert list(df.columns[-5:]) == ["pfs_months", "pfs_event", "os_months", "os_event",
                                         "best_response"]
        assert set(df["sex"].dropna()) <= {"male", "female"}
        assert str(df["ecog"].dtype) == "Int64"
        assert df["pfs_event"].dtype == bool


def test_missingness_is_na_not_sentinel(epnec) -> None:
    df = generate_cohort(epnec, 4000, seed=3)
    ep = df[df["arm"] == "ep"]
    assert ep["ecog"].isna().mean() == pytest.approx(0.071, abs=0.02)
    assert ep["ki67"].isna().mean() == pytest.approx(0.238, abs=0.03)
    assert (df["ki67"].dropna() >= 20).all()


@FAST
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_pfs_never_after_os_and_invariants(lcnec, n: int, seed: int) -> None:
    df = generate_cohort(lcnec, n, seed=seed)
    assert len(df) == n
    assert (df["pfs_months"] <= df["os_months"]).all()
    assert (df["pfs_months"] > 0).all()
    # an OS event implies a PFS event (death ends progression-free survival)
    assert (df["pfs_event"] | ~df["os_event"]).all()
    # administrative censoring never exceeds the accrual-to-cut-off span
    assert df["os_months"].max() <= 72.0


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_pfs_never_after_os_epnec(epnec, seed: int) -> None:
    df = generate_cohort(epnec, 300, seed=seed)
    assert (df["pfs_months"] <= df["os_months"]).all()


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_n_refused(lcnec, bad) -> None:
    with pytest.raises(ValueError, match="n must be a positive integer"):
        generate_cohort(lcnec, bad, seed=1)


def test_bad_seed_refused(lcnec) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        generate_cohort(lcnec, 10, seed=-1)


def test_adding_an_independent_variable_changes_nothing_else(lcnec) -> None:
    raw = lcnec.model_dump(mode="json")
    raw["variables"]["albumin"] = {
        "kind": "continuous", "bounds": [10, 60], "bounds_source": "assumed: test",
        "arms": {a: {"dist": "normal", "mean": 38, "sd": 5, "source": "assumed: test"}
                 for a in raw["arms"]},
    }
    bigger = spec_from_dict(raw)
    a = generate_cohort(lcnec, 500, seed=4)
    b = generate_cohort(bigger, 500, seed=4)
    pd.testing.assert_frame_equal(a, b.drop(columns="albumin"))


def test_generate_accepts_a_path() -> None:
    df = necml.generate(COHORTS / "lcnec_stage4_2025.yaml", 31, 1)
    assert len(df) == 31
