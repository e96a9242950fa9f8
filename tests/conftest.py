"""Shared fixtures: the shipped specifications and a fixed statistical seed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from necml.spec import CohortSpec, load_spec

ROOT = Path(__file__).resolve().parents[1]
COHORTS = ROOT / "configs" / "cohorts"
SHIPPED = sorted(p.name for p in COHORTS.glob("*.yaml"))


@pytest.fixture(scope="session")
def lcnec() -> CohortSpec:
    return load_spec(COHORTS / "lcnec_stage4_2025.yaml")


@pytest.fixture(scope="session")
def epnec() -> CohortSpec:
    return load_spec(COHORTS / "epnec_atezolizumab_2025.yaml")


@pytest.fixture(scope="session")
def stat_seed() -> int:
    """Seed of the statistical tests: fixed, or rotated with NECML_TEST_SEED (e.g. nightly)."""
    return int(os.environ.get("NECML_TEST_SEED", "20251120"))
