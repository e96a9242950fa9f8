"""Draw a synthetic cohort: spec + n + seed -> DataFrame (the column contract)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.cohort._chunked import ChunkedStream
from necml.cohort._covariates import categorical_dtype, covariate_generators, sample_covariates
from necml.cohort._model import CohortModel, fit_cohort_model, joint_predictors
from necml.cohort._response import sample_response
from necml.cohort._stacked import StackedStream
from necml.random import STREAMS, as_seed_sequence, child_rngs, stream_rngs
from necml.spec import CONTRACT_VARIABLES, CohortSpec

__all__ = ["CHUNK_SIZE", "allocate_arms", "censoring_times", "generate_cohort", "generate_stacked", "iter_cohort"]

OUTCOME_COLUMNS: tuple[str, ...] = ("pfs_months", "pfs_event", "os_months", "os_event")
#: Patients drawn at a time. Bounds the working memory; the cohort does not depend on it.
CHUNK_SIZE = 1 << 19


def allocate_arms(
    spec: CohortSpec,
    n: int,
    rng: np.random.Generator,
    *,
    allocation: Literal["exact", "random"] = "exact",
) -> NDArray[np.int64]:
    """Assign ``n`` patients to arms in the published proportions.

    ``"exact"`` gives fixed counts by the largest-remainder method (``n = 31`` of the LCNEC
    spec gives exactly 14 and 17), in random order; ``"random"`` draws a multinomial.

    Parameters
    ----------
    spec : CohortSpec
        The specification (arm sizes).
    n : int
        Number of patients.
    rng : numpy.random.Generator
        The ``arm`` stream.
    allocation : {"exact", "random"}, default="exact"
        How counts are set.

    Returns
    -------
    numpy.ndarray of int
        Each patient's arm as an index into ``spec.arm_names`` (control first).
    """
    names = spec.arm_names
    sizes = np.array([spec.arms[a].n for a in names], dtype=float)
    share = sizes / sizes.sum()
    if allocation == "random":
        return rng.choice(len(names), size=n, p=share)
    raw = share * n
    counts = np.floor(raw).astype(int)
    remainder = n - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:remainder]] += 1
    return np.repeat(np.arange(len(names)), counts)[rng.permutation(n)]


def censoring_times(model: CohortModel, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Each patient's censoring time: the fitted censoring, times ``follow_up.time_scale``.

    With ``follow_up.uncensored`` every time is infinite (the draws are still made, so the other
    streams are unchanged).
    """
    follow_up = model.spec.follow_up
    times = model.censoring.sample(n, rng)
    if follow_up.uncensored:
        return np.full(n, np.inf)
    return times * follow_up.time_scale  # exact at the default 1.0


def _column_order(spec: CohortSpec, has_response: bool) -> list[str]:  # noqa: FBT001
    own = [v for v in spec.variables if v not in CONTRACT_VARIABLES]
    cols = ["patient_id", "arm", *CONTRACT_VARIABLES, *own, *OUTCOME_COLUMNS]
    return [*cols, "best_response"] if has_response else cols


def _draw_chunk(
    model: CohortModel, arms: NDArray[np.int64], offset: int, rngs: dict, covariates: dict
) -> pd.DataFrame:
    """Patients ``offset + 1, ...`` with arms ``arms``, drawing on (and advancing) the streams."""
    spec = model.spec
    columns = {
        "patient_id": np.arange(offset + 1, offset + arms.size + 1, dtype=np.int64),
        "arm": pd.Categorical.from_codes(arms, dtype=categorical_dtype(tuple(spec.arm_names))),
        **sample_covariates(model.covariates, arms, spec.arm_names, generators=covariates,
                            latent_shift=model.latent_shift),
    }
    eta_pfs, eta_post, switch = joint_predictors(pd.DataFrame(columns, copy=False), model)
    t_pfs, t_os, pfs_u, _ = model.joint.sample(eta_pfs, eta_post, rngs["transitions"], switch=switch)
    censor = censoring_times(model, arms.size, rngs["censoring"])
    columns["pfs_months"] = np.minimum(t_pfs, censor)
    columns["pfs_event"] = t_pfs <= censor
    columns["os_months"] = np.minimum(t_os, censor)
    columns["os_event"] = t_os <= censor
    if spec.response is not None:
        columns["best_response"] = sample_response(
            spec.response, np.asarray(spec.arm_names, dtype=object)[arms], pfs_u, rngs["response"]
        )
    # one frame in the contract's column order (inserting columns one by one and reordering
    # copies the table each time: most of a 56-patient replicate's generation)
    return pd.DataFrame({name: columns[name] for name in _column_order(spec, spec.response is not None)}, copy=False)


def iter_cohort(
    spec: CohortSpec,
    n: int,
    *,
    seed: int | np.random.SeedSequence,
    allocation: Literal["exact", "random"] = "exact",
    chunk_size: int = CHUNK_SIZE,
    model: CohortModel | None = None,
) -> Iterator[pd.DataFrame]:
    """The cohort of :func:`generate_cohort`, as consecutive frames of ``chunk_size`` patients.

    Concatenated, the frames equal ``generate_cohort(spec, n, seed=seed)`` exactly, for any
    ``chunk_size``: each stream's draws continue across chunks (per-variable generators, and
    :class:`necml.cohort._chunked.ChunkedStream` for the streams that draw several arrays), and
    the arms are allocated for all ``n`` patients first (8 bytes a patient). Working memory is
    that of one chunk. The specification is checked and the mechanism fitted before the
    first frame is requested.

    Parameters
    ----------
    spec, n, seed, allocation, model
        As :func:`generate_cohort`.
    chunk_size : int, default=CHUNK_SIZE
        Patients per frame (>= 1); the values do not depend on it.

    Returns
    -------
    iterator of pandas.DataFrame
        Patients ``1..chunk_size``, then the next ``chunk_size``, ...

    Examples
    --------
    >>> from necml.spec import load_spec
    >>> spec = load_spec("configs/cohorts/lcnec_stage4_2025.yaml")
    >>> parts = list(iter_cohort(spec, 31, seed=1, chunk_size=10))
    >>> [len(p) for p in parts]
    [10, 10, 10, 1]
    >>> pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), generate_cohort(spec, 31, seed=1))
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, but got {n!r}.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, but got {chunk_size!r}.")
    n = int(n)
    if model is None:
        model = fit_cohort_model(spec)
    streams = stream_rngs(seed)
    arms = allocate_arms(spec, n, np.random.default_rng(streams["arm"]), allocation=allocation)
    covariates = covariate_generators(model.covariates, streams["covariates"], streams["missingness"])
    rngs: dict = {"response": np.random.default_rng(streams["response"])}
    if n <= chunk_size:
        rngs |= {name: np.random.default_rng(streams[name]) for name in ("transitions", "censoring")}
    else:
        rngs |= {name: ChunkedStream(streams[name], n) for name in ("transitions", "censoring")}

    def frames() -> Iterator[pd.DataFrame]:
        for start in range(0, n, chunk_size):
            for name in ("transitions", "censoring"):
                if isinstance(rngs[name], ChunkedStream):
                    rngs[name].start_chunk()
            yield _draw_chunk(model, arms[start : start + chunk_size], start, rngs, covariates)

    return frames()


def generate_cohort(
    spec: CohortSpec,
    n: int,
    *,
    seed: int | np.random.SeedSequence,
    allocation: Literal["exact", "random"] = "exact",
    chunk_size: int = CHUNK_SIZE,
    model: CohortModel | None = None,
) -> pd.DataFrame:
    """Generate a synthetic individual-patient cohort that reproduces a paper's aggregates.

    Covariates come from per-arm marginals fitted to the published summaries and joined by a
    Gaussian copula; PFS and OS come jointly from an illness-death model whose Weibull baselines
    are calibrated so that each arm's marginal medians equal the published ones, with the
    specification's hazard ratios as the true conditional effects; censoring comes from
    staggered accrual, the data cut-off and an optional dropout hazard. The specification's
    departures (a non-linear effect, a treatment interaction, a delayed treatment effect) and
    censoring scenarios (``follow_up.time_scale``, ``follow_up.uncensored``) are applied.

    Parameters
    ----------
    spec : CohortSpec
        A validated specification (see :func:`necml.spec.load_spec`).
    n : int
        Number of patients, >= 1.
    seed : int or numpy.random.SeedSequence
        Root seed; each component draws from its own spawned stream.
    allocation : {"exact", "random"}, default="exact"
        Arm sizes in exact published proportions, or multinomial draws.
    chunk_size : int, default=CHUNK_SIZE
        Patients drawn at a time (working memory); the cohort does not depend on it
        (see :func:`iter_cohort`).
    model : CohortModel, optional
        ``fit_cohort_model(spec)``, when the caller holds it already (a simulation worker that
        received the fitted mechanism): the draws use it as given, without looking it up.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, arm, age, sex, ecog, nlr, ldh, tmb, pdl1_tps``, the cohort's own
        variables, ``pfs_months, pfs_event, os_months, os_event`` and ``best_response`` where
        the paper reports response. Missing values are NA.

    Raises
    ------
    ValueError
        If ``n < 1``, ``chunk_size < 1`` or ``seed`` is invalid.
    SpecError
        If the specification's numbers are impossible for their distributions.

    See Also
    --------
    necml.cohort.fit_cohort_model : the fitted mechanism behind the draws.
    iter_cohort : the same cohort chunk by chunk (bounded memory, e.g. to stream to Parquet).

    References
    ----------
    .. [1] Bender, Augustin & Blettner (2005). Generating survival times to simulate Cox
       proportional hazards models. Statistics in Medicine 24:1713-1723.
    .. [2] Meller, Beyersmann & Rufibach (2019). Joint modeling of progression-free and overall
       survival and computation of correlation measures. Statistics in Medicine 38:4270-4289.

    Examples
    --------
    >>> from necml.spec import load_spec
    >>> spec = load_spec("configs/cohorts/lcnec_stage4_2025.yaml")
    >>> df = generate_cohort(spec, 31, seed=1)
    >>> df["arm"].value_counts().to_dict()
    {'chemo': 17, 'ici_chemo': 14}
    >>> bool((df["pfs_months"] <= df["os_months"]).all())
    True
    """
    parts = list(iter_cohort(spec, n, seed=seed, allocation=allocation, chunk_size=chunk_size, model=model))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def generate_stacked(
    spec: CohortSpec,
    n: int,
    seeds: list[np.random.SeedSequence],
    *,
    model: CohortModel,
    allocation: Literal["exact", "random"] = "exact",
) -> pd.DataFrame:
    """Several cohorts of ``n`` patients, one per seed, stacked in one frame (``len(seeds) * n`` rows).

    Rows ``b * n`` to ``(b + 1) * n - 1`` are ``generate_cohort(spec, n, seed=seeds[b], model=model)``
    exactly (its index aside): each cohort draws from its own streams (see
    :class:`necml.cohort._stacked.StackedStream`), and the transformations run once over all of
    them. A simulation study's replicates are drawn this way, a batch at a time.

    Parameters
    ----------
    spec : CohortSpec
        A validated specification.
    n : int
        Patients per cohort, >= 1.
    seeds : list of numpy.random.SeedSequence
        One root seed per cohort, in stack order (at least one).
    model : CohortModel
        ``fit_cohort_model(spec)``.
    allocation : {"exact", "random"}, default="exact"
        As :func:`generate_cohort`.

    Returns
    -------
    pandas.DataFrame
        The cohorts' rows, cohort after cohort; ``patient_id`` restarts at 1 in each.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, but got {n!r}.")
    if not seeds:
        raise ValueError("generate_stacked needs at least one seed")
    n = int(n)
    # every generator of every cohort derived in one batch: the streams of stream_rngs and
    # covariate_generators to the bit, 8x faster than one SeedSequence at a time
    names = [var.name for var in model.covariates.variables]
    keys = [(stream,) for stream in ("arm", "response", "transitions", "censoring")]
    keys += [(stream, name) for stream in ("covariates", "missingness") for name in names]
    paths = [(STREAMS.index(stream), *rest) for stream, *rest in keys]
    each = [dict(zip(keys, g, strict=True)) for g in child_rngs([as_seed_sequence(s) for s in seeds], paths)]

    def stacked(*key: str) -> StackedStream:
        return StackedStream([g[key] for g in each], n)

    arms = np.concatenate([allocate_arms(spec, n, g[("arm",)], allocation=allocation) for g in each])
    covariates = {name: (stacked("covariates", name), stacked("missingness", name)) for name in names}
    rngs = {stream: stacked(stream) for stream in ("response", "transitions", "censoring")}
    frame = _draw_chunk(model, arms, 0, rngs, covariates)
    frame["patient_id"] = np.tile(np.arange(1, n + 1, dtype=np.int64), len(seeds))
    return frame
