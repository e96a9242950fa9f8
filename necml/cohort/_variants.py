"""Variants of a specification for simulation scenarios: effect scaling, departures, censoring.

Each returns a new, validated :class:`~necml.spec.CohortSpec` whose name records the change, so
a variant is a specification like any other (its own hash, its own fitted mechanism).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from necml.cohort._censoring import fit_censoring
from necml.cohort._generate import generate_cohort
from necml.cohort._model import fit_cohort_model
from necml.cohort.outcomes import Weibull
from necml.random import stream_rngs
from necml.spec import CohortSpec, Departure

__all__ = ["CensoringLevel", "scaled_spec", "with_censoring", "with_departures"]

#: ``"published"`` (the specification's follow-up), ``"none"`` (no censoring) or a target share
#: of censored patients in (0, 1) for one endpoint.
CensoringLevel = Literal["published", "none"] | float


def _variant(spec: CohortSpec, raw: dict, suffix: str) -> CohortSpec:
    raw["name"] = f"{spec.name}_{suffix}".replace(".", "p").replace("-", "m")
    return CohortSpec.model_validate(raw)


def scaled_spec(spec: CohortSpec, scale: float) -> CohortSpec:
    """``spec`` with every hazard ratio raised to ``scale`` (published CIs and p dropped).

    0 gives the null (every HR 1), 1 the published effects. The variant keeps the published
    calibration's baseline shapes (Weibull) and covariate imbalance, so a power curve over
    ``scale`` varies the effects only; the baseline scales are re-solved, and the medians the
    fixed shapes cannot hold move (the variant's fidelity residuals say which). Unadjusted HRs
    are dropped (the imbalance is kept as solved for the published ones).
    """
    if scale == 1.0:
        return spec
    published = fit_cohort_model(spec)
    raw = spec.model_dump(mode="python", by_alias=True)
    for endpoint in raw["outcomes"].values():
        for ratio in [*endpoint.get("effects", []), *endpoint.get("treatment", {}).values()]:
            ratio["hr"] = float(ratio["hr"]) ** scale
            ratio["ci"], ratio["p"] = None, None
        for ratio in endpoint.get("treatment", {}).values():
            ratio["unadjusted"] = None
    for endpoint, base in (("pfs", published.joint.pfs), ("os", published.joint.post)):
        if isinstance(base, Weibull):
            raw["outcomes"][endpoint]["baseline"] = {
                "family": "weibull", "shape": base.shape,
                "source": f"assumed: kept from the published calibration of {spec.name} (effect scale {scale:g})",
            }
    if published.latent_shift:
        arm, shifts = next(iter(published.latent_shift.items()))
        raw["imbalance"]["shifts"] = dict(shifts)
    return _variant(spec, raw, f"scale{scale:g}")


def with_departures(spec: CohortSpec, departures: Sequence[Departure], name: str) -> CohortSpec:
    """``spec`` with ``departures`` added to its own (see :mod:`necml.spec._departures`)."""
    if not departures:
        return spec
    raw = spec.model_dump(mode="python", by_alias=True)
    raw["departures"] = [*raw.get("departures", []), *(d.model_dump(mode="python") for d in departures)]
    return _variant(spec, raw, name)


def with_censoring(spec: CohortSpec, endpoint: str, level: CensoringLevel, *, n: int = 400000) -> CohortSpec:
    """``spec`` with its censoring set to ``level`` for ``endpoint``.

    A share ``c`` in (0, 1) is met by scaling every censoring time by ``s``: the censored share
    is ``P(s C < T) = P(T / C > s)``, so ``s`` is the ``1 - c`` quantile of ``T / C`` over ``n``
    latent times ``T`` and censoring times ``C`` drawn from the mechanism (the specification's
    calibration seed), exact for that sample. The event times are unchanged; only follow-up is
    longer (``s > 1``) or shorter.

    Raises
    ------
    ValueError
        If ``level`` is not ``"published"``, ``"none"`` or a share in (0, 1).
    """
    if level == "published":
        return spec
    raw = spec.model_dump(mode="python", by_alias=True)
    if level == "none":
        raw["follow_up"]["uncensored"] = True
        return _variant(spec, raw, "uncensored")
    if isinstance(level, str) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"a censoring level is 'published', 'none' or a share in (0, 1), got {level!r}")
    raw["follow_up"]["uncensored"] = True
    latent = generate_cohort(CohortSpec.model_validate(raw), n, seed=spec.calibration_seed)
    rng = np.random.default_rng(stream_rngs(spec.calibration_seed)["censoring"])
    censor = fit_censoring(spec.follow_up)[0].sample(n, rng)
    ratio = latent[f"{endpoint}_months"].to_numpy(float) / censor
    raw["follow_up"]["uncensored"] = False
    raw["follow_up"]["time_scale"] = float(np.quantile(ratio, 1.0 - float(level)))
    return _variant(spec, raw, f"cens{float(level):g}")
