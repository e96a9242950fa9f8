"""necml: synthetic neuroendocrine-carcinoma cohorts from published aggregates.

The flow: a cohort specification (:mod:`necml.spec`) -> the generator (:mod:`necml.cohort`) ->
a cohort with a documented column contract (:mod:`necml.dataset`) -> its fidelity report
(:mod:`necml.fidelity`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from necml.spec import CohortSpec

try:
    __version__ = version("necml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "generate"]


def generate(
    spec: CohortSpec | str | Path,
    n: int,
    seed: int | np.random.SeedSequence,
    *,
    allocation: Literal["exact", "random"] = "exact",
) -> pd.DataFrame:
    """Generate a synthetic cohort from a specification object or YAML path.

    Parameters
    ----------
    spec : CohortSpec or str or pathlib.Path
        A validated specification, or the path of a YAML specification.
    n : int
        Number of patients.
    seed : int or numpy.random.SeedSequence
        Root seed.
    allocation : {"exact", "random"}, default="exact"
        Exact published arm proportions, or multinomial draws.

    Returns
    -------
    pandas.DataFrame
        The cohort (see :func:`necml.cohort.generate_cohort`).

    Examples
    --------
    >>> import necml
    >>> df = necml.generate("configs/cohorts/lcnec_stage4_2025.yaml", n=31, seed=7)
    >>> len(df)
    31
    """
    from necml.cohort import generate_cohort
    from necml.spec import load_spec

    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    return generate_cohort(spec, n, seed=seed, allocation=allocation)
