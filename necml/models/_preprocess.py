"""Preprocessing inside the estimator pipeline, so it is fitted on training data only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from necml.dataset import Covariate
from necml.dataset._mapping import level_labels

__all__ = ["make_preprocessor"]


def make_preprocessor(X: pd.DataFrame, types: dict[str, Covariate]) -> ColumnTransformer:
    """Impute, log-transform skewed labs, scale and one-hot encode, by covariate type.

    Continuous: ``log1p`` when declared ``log: true``, median imputation, standardisation.
    Binary: most-frequent imputation. Categorical: most-frequent imputation, then dummies for
    every level but the reference (the levels are taken from ``X``'s categorical dtype, so a
    fold that lacks a level still gets its column).

    Parameters
    ----------
    X : pandas.DataFrame
        Covariates typed as by :func:`~necml.dataset.prepare_survival_data` (only the
        categorical levels are read; nothing is fitted here).
    types : dict
        Covariate name -> :class:`~necml.dataset.Covariate`.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted.
    """
    transformers = []
    continuous = [n for n, c in types.items() if c.type == "continuous"]
    logged = [n for n in continuous if types[n].log]
    plain = [n for n in continuous if not types[n].log]
    scale = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    if logged:
        log1p = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
        transformers.append(("log", Pipeline([("log1p", log1p), *scale]), logged))
    if plain:
        transformers.append(("continuous", Pipeline(scale), plain))
    binary = [n for n, c in types.items() if c.type == "binary"]
    if binary:
        transformers.append(("binary", SimpleImputer(strategy="most_frequent"), binary))
    for name in (n for n, c in types.items() if c.type == "categorical"):
        levels = [str(v) for v in X[name].cat.categories]
        encode = OneHotEncoder(categories=[levels], drop=[levels[0]], sparse_output=False)
        impute = SimpleImputer(strategy="most_frequent", missing_values=np.nan)
        to_text = FunctionTransformer(_as_text, feature_names_out="one-to-one")
        transformers.append(
            (
                f"cat_{name}",
                Pipeline([("text", to_text), ("impute", impute), ("onehot", encode)]),
                [name],
            )
        )
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categorical columns as object arrays of level labels, NaN for missing (what SimpleImputer takes).

    The labels are :func:`~necml.dataset.level_label`'s, as in training: an integer-coded level
    (R's sex 1/2) is the level ``"1"`` whether it arrives as ``1``, ``1.0`` or ``"1"`` (an input
    example read back from CSV, a user's ``predict``).
    """
    frame = pd.DataFrame(frame)
    return pd.DataFrame({c: level_labels(frame[c]) for c in frame.columns}).to_numpy(dtype=object)
