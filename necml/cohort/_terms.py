"""Model terms (``ecog_ge_2``, ``ldh_gt_uln``, ...) computed from a cohort's columns.

The generator's true linear predictor and every re-estimation (fidelity report, pipelines)
use this one function, so derived flags are always consistent with the continuous values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.spec import CohortSpec, Term

__all__ = ["term_values", "terms_frame"]


def term_values(frame: pd.DataFrame, term: Term, spec: CohortSpec) -> NDArray[np.float64]:
    """Evaluate one term on a cohort.

    Missing values give NaN (callers decide how to handle them; the generator treats a
    missing indicator as the reference level).

    Parameters
    ----------
    frame : pandas.DataFrame
        A cohort with the term's variable as a column.
    term : Term
        The term.
    spec : CohortSpec
        The specification (for reference ranges).

    Returns
    -------
    numpy.ndarray
        One float per patient.
    """
    col = frame[term.variable]
    if term.level is None and (pd.api.types.is_numeric_dtype(col.dtype) or col.dtype == "boolean"):
        return _numeric_term(col.to_numpy(dtype=float, na_value=np.nan), term, spec)
    missing = col.isna().to_numpy()
    if term.level is not None:
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = list(col.cat.categories.astype(str))
            code = cats.index(term.level) if term.level in cats else -2
            out = (col.cat.codes.to_numpy() == code).astype(float)
        else:
            out = (col.astype("string") == term.level).to_numpy(dtype=float, na_value=np.nan)
    else:
        out = _numeric_term(pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan), term, spec)
    out = np.asarray(out, dtype=float)
    out[missing] = np.nan
    return out


def _numeric_term(x: NDArray[np.float64], term: Term, spec: CohortSpec) -> NDArray[np.float64]:
    """A term of numeric values (NaN = missing stays NaN)."""
    if term.per is not None:
        out = x / term.per
    elif term.above is not None:
        out = (x > term.above).astype(float)
    elif term.at_least is not None:
        out = (x >= term.at_least).astype(float)
    elif term.above_uln:
        ref = spec.variables[term.variable].reference_range
        assert ref is not None  # guaranteed by spec validation
        out = (x > ref.uln).astype(float)
    else:
        out = x.copy()
    out[np.isnan(x)] = np.nan
    return out


def terms_frame(frame: pd.DataFrame, terms: list[Term], spec: CohortSpec) -> pd.DataFrame:
    """All distinct terms as columns named by :attr:`Term.name`."""
    seen: dict[str, Term] = {}
    for t in terms:
        seen.setdefault(t.name, t)
    return pd.DataFrame(
        {name: term_values(frame, t, spec) for name, t in seen.items()}, index=frame.index
    )
