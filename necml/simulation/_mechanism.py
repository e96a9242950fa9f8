"""A scenario's data-generating mechanism: the (effect-scaled) spec, its truth and its design.

Effect scaling multiplies every true log hazard ratio of both endpoints (covariate effects and
treatment) by ``effect_scale`` (0: the null; 1: as published); the baselines are re-calibrated
so the published medians still hold. The analysis design is built from the spec's own terms by
the generator's function (:func:`necml.cohort.terms_frame`), plus one indicator per
experimental arm (``arm_<name>``), so each coefficient's truth is known exactly.

Truth. For OS, the spec's log-HRs are the exact conditional effects. For PFS they are the
effects of the progression hazard; where the death hazard exceeds it the generator clips the
progression hazard (its share is in the fidelity report), so the PFS truth is approximate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from necml.cohort import CohortModel, fit_cohort_model, generate_cohort, terms_frame
from necml.exceptions import SpecError
from necml.random import child_seed
from necml.spec import CohortSpec, load_spec

__all__ = ["Mechanism", "Scenario", "mechanism_for", "scaled_spec"]


@dataclass(frozen=True, slots=True, order=True)
class Scenario:
    """One point of the grid."""

    n: int
    effect_scale: float

    @property
    def key(self) -> str:
        return f"n{self.n}_scale{self.effect_scale:g}"


def scaled_spec(spec: CohortSpec, scale: float) -> CohortSpec:
    """``spec`` with every hazard ratio raised to ``scale`` (published CIs and p dropped)."""
    if scale == 1.0:
        return spec
    raw = spec.model_dump(mode="python", by_alias=True)
    for endpoint in raw["outcomes"].values():
        for ratio in [*endpoint.get("effects", []), *endpoint.get("treatment", {}).values()]:
            ratio["hr"] = float(ratio["hr"]) ** scale
            ratio["ci"], ratio["p"] = None, None
    raw["name"] = f"{spec.name}_scale{scale:g}".replace(".", "p")
    return CohortSpec.model_validate(raw)


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A scenario's fitted mechanism and the true value of every estimand."""

    spec: CohortSpec
    model: CohortModel
    endpoint: str
    truth: dict[str, float]  # term name -> true conditional log-HR

    @property
    def term_names(self) -> list[str]:
        return list(self.truth)

    def design(self, frame: pd.DataFrame, terms: list[str] | None = None) -> pd.DataFrame:
        """The analysis covariates (all terms by default) of a cohort, missing values as NaN."""
        wanted = terms or self.term_names
        unknown = sorted(set(wanted) - set(self.truth))
        if unknown:
            raise SpecError(f"{self.spec.name}: unknown term(s) {unknown}; the spec has {self.term_names}")
        effects = [e.term for e in self.spec.outcomes[self.endpoint].effects]
        columns = terms_frame(frame, effects, self.spec)
        arm = frame["arm"].astype(str)
        for name in self.model.treatment_log_hr[self.endpoint]:
            columns[f"arm_{name}"] = (arm == name).astype(float)
        return columns[wanted]

    def survival(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Times and event indicators of the endpoint."""
        return (frame[f"{self.endpoint}_months"].to_numpy(float), frame[f"{self.endpoint}_event"].to_numpy(bool))

    def sample(self, n: int, seed: np.random.SeedSequence) -> pd.DataFrame:
        return generate_cohort(self.spec, n, seed=seed, allocation="exact")


@lru_cache(maxsize=32)
def _mechanism(spec_path: str, scale: float, endpoint: str) -> Mechanism:
    spec = scaled_spec(load_spec(spec_path), scale)
    model = fit_cohort_model(spec)
    effects = spec.outcomes[endpoint].effects
    truth = {e.term.name: float(b) for e, b in zip(effects, model.log_hr[endpoint], strict=True)}
    truth |= {f"arm_{a}": float(b) for a, b in model.treatment_log_hr[endpoint].items()}
    return Mechanism(spec=spec, model=model, endpoint=endpoint, truth=truth)


def mechanism_for(spec_path: str, scale: float, endpoint: str) -> Mechanism:
    """The scenario's mechanism (fitted once per process and cached)."""
    return _mechanism(str(spec_path), float(scale), endpoint)


@lru_cache(maxsize=8)
def truth_sample(spec_path: str, scale: float, endpoint: str, n: int, entropy: int, key: str) -> pd.DataFrame:
    """A large independent sample of a scenario, for true C-indices (cached per process)."""
    mechanism = mechanism_for(spec_path, scale, endpoint)
    return mechanism.sample(n, child_seed(np.random.SeedSequence(entropy), "truth", key))
