"""The study's publication products beside its results: protocol, failure reasons, the field's plots.

``protocol.md`` (the filled-in ADEMP protocol, :mod:`necml.simulation._protocol`);
``failure_reasons.csv`` (scenario x method x estimand x reason: share of replicates and MCSE);
``zip_<estimand>.png`` (coverage, Morris et al. 2019 Fig. 4), ``nested_loop_<estimand>.png``
(Ruecker & Schwarzer 2014) and ``bias_forest.png`` (bias +/- 1.96 MCSE per method).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from necml.simulation._config import StudyConfig
from necml.simulation._plots import estimand_labels, plot_bias_forest, plot_nested_loop, plot_zip
from necml.simulation._protocol import write_protocol

__all__ = ["failure_reasons", "write_study_extras"]

#: The measures of the nested-loop plot, top to bottom.
NESTED_MEASURES = ["power_all", "bias", "coverage", "type_m"]


def failure_reasons(performance: pd.DataFrame) -> pd.DataFrame:
    """The ``failed_<reason>`` rows of a performance table, one row per reason (``reason``, ``share``, ``mcse``)."""
    rows = performance[performance["measure"].str.startswith("failed_")]
    out = rows.assign(reason=rows["measure"].str.removeprefix("failed_").str.replace("_", " "))
    out = out.rename(columns={"estimate": "share"})
    keep = ["scenario", "n", "effect_scale", "censoring", "departure", "method", "estimand", "reason", "share", "mcse"]
    return out[keep].reset_index(drop=True)


def study_labels(config: StudyConfig) -> dict[str, str] | None:
    """Readable estimand names ("ICI + chemo vs chemo", "ECOG >= 2") from the study's spec.

    Taken from the fitted mechanism (in memory since the study was checked), so the spec file
    is not read again; None (plots fall back to the term names) if it cannot be had.
    """
    from necml.exceptions import NecmlError
    from necml.simulation._mechanism import mechanism_for
    from necml.simulation._replicate import scenarios

    try:
        return estimand_labels(mechanism_for(config.data, scenarios(config)[0]).spec)
    except (NecmlError, OSError):
        return None


def write_study_extras(
    config: StudyConfig, directory: Path, replicates: pd.DataFrame, performance: pd.DataFrame, shown: list[str]
) -> None:
    """Write the products of the module docstring into ``directory``."""
    from necml.dataset import atomic_write

    write_protocol(config, directory / "protocol.md")
    reasons = failure_reasons(performance)
    atomic_write(directory / "failure_reasons.csv", lambda tmp: reasons.to_csv(tmp, index=False))
    for estimand in shown[:4]:
        plot_zip(replicates, estimand, directory / f"zip_{estimand}.png")
        plot_nested_loop(performance, estimand, NESTED_MEASURES, directory / f"nested_loop_{estimand}.png")
    labels = study_labels(config)
    plot_bias_forest(performance, shown[:4], directory / "bias_forest.png", labels=labels, replicates=replicates)
