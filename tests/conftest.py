"""Shared fixtures: the shipped specifications and a fixed statistical seed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Fitted mechanisms are cached on disk (necml.cohort._store): one directory per test session, shared
# with the CLI subprocesses the tests start, never the user's ~/.cache.
os.environ.setdefault("NECML_CACHE_DIR", tempfile.mkdtemp(prefix="necml-test-cache-"))

import necml.tracking  # noqa: F401 - sets necml's MLflow environment before any test imports mlflow
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


@pytest.fixture(autouse=True, scope="session")
def _hermetic_tracking(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A run that tracks without naming a store lands in a temporary one, never in the repo."""
    store = tmp_path_factory.mktemp("default-store") / "mlflow.db"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}"
    yield
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
