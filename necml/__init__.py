"""necml: synthetic neuroendocrine-carcinoma cohorts from published aggregates.

The flow: a cohort specification (:mod:`necml.spec`) -> the generator (:mod:`necml.cohort`) ->
a cohort with a documented column contract (:mod:`necml.dataset`) -> its fidelity report
(:mod:`necml.fidelity`).

``import necml`` is cheap (no numpy, pandas, matplotlib or MLflow): the subpackages are
attributes imported on first use (``necml.prognosis.fit_cox`` imports :mod:`necml.prognosis`
then), and so is ``__version__``, so that ``necml --help`` does not pay for what it does not use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from necml import (
        benchmark,
        cohort,
        dataset,
        evaluation,
        fidelity,
        km,
        models,
        pipeline,
        prognosis,
        report,
        simulation,
        spec,
        tracking,
    )
    from necml.spec import CohortSpec

__all__ = [
    "__version__",
    "generate",
    # the subpackages, in the order of the flow; each is imported on first attribute access
    "spec", "cohort", "dataset", "km", "fidelity", "prognosis", "models", "evaluation",
    "tracking", "report", "pipeline", "benchmark", "simulation",
]
SUBPACKAGES = tuple(__all__[2:])


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("necml")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """PEP 562: import a subpackage (or read the installed version) on first access."""
    if name in SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name == "__version__":
        value = _version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
