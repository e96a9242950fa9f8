"""A scenario's data-generating mechanism: the varied spec, its truth and its design.

A scenario is one point of the grid: ``n``, an effect scaling, a censoring level and a departure.
Effect scaling multiplies every true log hazard ratio of both endpoints (covariate effects and
treatment) by ``effect_scale`` (0: the null; 1: as published); the variant keeps the published
calibration's baseline shapes and covariate imbalance and re-solves the baseline scales (see
:func:`necml.cohort.scaled_spec`). A censoring level other than ``published`` scales every
censoring time so the endpoint's censored share is met (see :func:`necml.cohort.with_censoring`).
A departure adds non-linear effects, interactions or a delayed treatment effect to the spec
(:mod:`necml.spec._departures`). The analysis design is built from the spec's own terms by the
generator's function (:func:`necml.cohort.terms_frame`), plus the raw values of any variable a
non-linear departure of the study acts on (e.g. ``nlr``, so that models can learn its shape), plus
one indicator per experimental arm (``arm_<name>``).

Truth. Each term's truth is its *pseudo-true* value (``CohortModel.pseudo_true``): what the
main-effects Cox fit converges to under the scenario's mechanism and censoring, computed without
Monte-Carlo noise from the limiting Cox score. PFS is exactly PH in the joint model, so its
pseudo-true values are the generating log-HRs; OS is not PH, and its post-progression effects
are solved so that the OS pseudo-true values equal the printed OS log-HRs (to 5e-4) under the
published censoring; a censoring variant keeps the event mechanism and recomputes the pseudo-true
values under its censoring. Under a departure, a term has no single true log-HR when the
departure changes it: the terms of a variable with a non-linear effect, and the arm of an
interaction or a delayed effect. Their truth is NaN, so bias, coverage and RMSE are not computed
for them (the rejection rate is); the other terms keep the pseudo-true values of the mechanism
without the departure, against which the misspecified model's bias is measured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from necml.cohort import (
    CohortModel,
    fit_cohort_model,
    generate_cohort,
    generate_stacked,
    replaced_variables,
    scaled_spec,
    terms_frame,
    with_censoring,
    with_departures,
)
from necml.exceptions import SpecError
from necml.random import child_seed
from necml.simulation._config import Mechanism as DataConfig
from necml.spec import CohortSpec, NonlinearEffect, load_spec

__all__ = [
    "Mechanism",
    "Scenario",
    "censoring_label",
    "censoring_level",
    "install_mechanisms",
    "mechanism_for",
    "mechanisms_for",
    "scaled_spec",
    "truth_sample",
]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One point of the grid; ``censoring`` is a label: ``published``, ``none`` or a share."""

    n: int
    effect_scale: float
    censoring: str = "published"
    departure: str = "none"

    @property
    def key(self) -> str:
        """A stable name; the defaults add nothing, so adding an axis keeps existing seeds."""
        key = f"n{self.n}_scale{self.effect_scale:g}"
        if self.censoring != "published":
            key += f"_cens{self.censoring}"
        return key if self.departure == "none" else f"{key}_{self.departure}"


def censoring_level(label: str) -> str | float:
    """The level behind a scenario's censoring label."""
    return label if label in ("published", "none") else float(label)


def censoring_label(level: str | float) -> str:
    """A scenario's label for a censoring level (``0.5`` -> ``"0.5"``)."""
    return level if isinstance(level, str) else f"{level:g}"


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A scenario's fitted mechanism and the true value of every estimand."""

    spec: CohortSpec
    model: CohortModel
    endpoint: str
    truth: dict[str, float]  # term name -> true conditional log-HR (NaN where a departure removes it)
    extra: tuple[str, ...] = ()  # raw variables the study's non-linear departures act on

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
        for variable in self.extra:
            columns[variable] = pd.to_numeric(frame[variable], errors="coerce").astype(float)
        arm = frame["arm"].astype(str)
        for name in self.model.treatment_log_hr[self.endpoint]:
            columns[f"arm_{name}"] = (arm == name).astype(float)
        return columns[wanted]

    def survival(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Times and event indicators of the endpoint."""
        return (frame[f"{self.endpoint}_months"].to_numpy(float), frame[f"{self.endpoint}_event"].to_numpy(bool))

    def sample(self, n: int, seed: np.random.SeedSequence) -> pd.DataFrame:
        return generate_cohort(self.spec, n, seed=seed, allocation="exact", model=self.model)

    def sample_stacked(self, n: int, seeds: list[np.random.SeedSequence]) -> pd.DataFrame:
        """The cohorts ``sample(n, seed)`` of every seed, stacked (``len(seeds) * n`` rows)."""
        return generate_stacked(self.spec, n, seeds, allocation="exact", model=self.model)


def _extra_variables(data: DataConfig, spec: CohortSpec) -> tuple[str, ...]:
    """Variables of the study's non-linear departures that the spec's terms do not hold raw.

    They join every scenario's design (so the models of all scenarios see the same covariates),
    with true log-HR 0 where the variable has no effect beyond the spec's terms.
    """
    named = {e.term.name for e in spec.outcomes[data.endpoint].effects}
    found = [d.variable for listed in data.departures.values() for d in listed if isinstance(d, NonlinearEffect)]
    return tuple(v for v in dict.fromkeys(found) if v not in named)


def _truth(spec: CohortSpec, model: CohortModel, endpoint: str, extra: tuple[str, ...]) -> dict[str, float]:
    """The pseudo-true log-HR of every analysis term (NaN where a departure removes it).

    What the correctly specified main-effects Cox fit converges to under the scenario's mechanism
    and censoring (``CohortModel.pseudo_true``): the generating log-HR for PFS, the solved OS
    limit (the printed OS HR to 5e-4) for OS. Raw variables of non-linear departures that the
    spec's terms do not hold have true log-HR 0 (NaN for the departing variable itself).
    """
    nonlinear = replaced_variables(spec, endpoint)
    truth = dict(model.pseudo_true[endpoint])
    effects = [e.term.name for e in spec.outcomes[endpoint].effects]
    ordered = {name: truth[name] for name in effects}
    ordered |= {v: np.nan if v in nonlinear else 0.0 for v in extra}
    return ordered | {name: value for name, value in truth.items() if name.startswith("arm_")}


def mechanism_for(data: DataConfig, scenario: Scenario) -> Mechanism:
    """The scenario's mechanism (fitted once per process and cached).

    Parameters
    ----------
    data : necml.simulation.StudyConfig.data
        The study's data-generating mechanisms (spec path resolved).
    scenario : Scenario
        The grid point (``n`` is not used).
    """
    return _mechanism(data.model_dump_json(), replace(scenario, n=0))


#: Fitted mechanisms received from the main process (a worker's), by ``(data json, variant)``.
_INSTALLED: dict[tuple[str, Scenario], Mechanism] = {}


def mechanisms_for(pairs: Iterable[tuple[DataConfig, Scenario]]) -> dict[tuple[str, Scenario], Mechanism]:
    """The fitted mechanisms of ``(data, scenario)`` pairs, keyed for :func:`install_mechanisms`.

    Fitted here (once per process); the main process of a study sends them to its workers, so
    no worker loads the spec or re-calibrates (a pickled mechanism is about 50 kB).
    """
    found: dict[tuple[str, Scenario], Mechanism] = {}
    for data, scenario in pairs:
        key = (data.model_dump_json(), replace(scenario, n=0))
        if key not in found:
            found[key] = _mechanism(*key)
    return found


def install_mechanisms(found: dict[tuple[str, Scenario], Mechanism]) -> None:
    """Make :func:`mechanism_for` return these mechanisms (in a worker, before its replicates)."""
    _INSTALLED.update(found)


def _mechanism(data_json: str, variant: Scenario) -> Mechanism:
    installed = _INSTALLED.get((data_json, variant))
    return installed if installed is not None else _fitted_mechanism(data_json, variant)


@lru_cache(maxsize=32)
def _fitted_mechanism(data_json: str, variant: Scenario) -> Mechanism:
    data = DataConfig.model_validate_json(data_json)  # the config as a string: a hashable cache key
    spec = scaled_spec(load_spec(data.spec), variant.effect_scale)
    if variant.departure != "none":
        spec = with_departures(spec, data.departures[variant.departure], variant.departure)
    spec = with_censoring(spec, data.endpoint, censoring_level(variant.censoring))
    model = fit_cohort_model(spec)
    extra = _extra_variables(data, spec)
    truth = _truth(spec, model, data.endpoint, extra)
    return Mechanism(spec=spec, model=model, endpoint=data.endpoint, truth=truth, extra=extra)


def truth_sample(data: DataConfig, scenario: Scenario, n: int, entropy: int) -> pd.DataFrame:
    """A large independent sample of a scenario, for true C-indices (cached per process)."""
    return _truth_sample(data.model_dump_json(), scenario, n, entropy)


@lru_cache(maxsize=8)
def _truth_sample(data_json: str, scenario: Scenario, n: int, entropy: int) -> pd.DataFrame:
    mechanism = _mechanism(data_json, replace(scenario, n=0))
    return mechanism.sample(n, child_seed(np.random.SeedSequence(entropy), "truth", scenario.key))
