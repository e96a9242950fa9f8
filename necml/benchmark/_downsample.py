"""Real cohorts at the sizes of real NEC studies: how far is a validated C from the C on new patients?

The real-data counterpart of the simulation's "gap to the true C". From a real data set, draw
``n`` patients (31, 56, 100: the sizes of the seed studies), stratified by event (the draw's
share of events is the data set's, rounded); on the draw run necml's validation (repeated
stratified CV; Harrell's bootstrap optimism correction, and .632+); fit the model on the whole
draw (the model a study would publish) and score it on **all remaining patients** (the
held-out C, what the model really achieves on new patients from the same population). The gap
``validated - held-out`` over many draws, with its Monte-Carlo SE, says how far off a
validated C is at that size; the apparent C shows the optimism that validation must remove.

Every draw has its own seed (``SeedSequence.spawn``), so the results do not depend on order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from necml.benchmark._run import _settings
from necml.dataset import SurvivalData
from necml.evaluation import ModelPlan, ValidationSettings, harrell_c, validate_model
from necml.models import ModelConfig

__all__ = ["DownsampleSettings", "downsample_study", "stratified_draw", "summarise_downsample"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DownsampleSettings:
    """Sizes, draws and the validation protocols run on each draw."""

    sizes: tuple[int, ...] = (31, 56, 100)
    draws: int = 100
    folds: int = 5
    repeats: int = 5
    bootstrap: int = 100


def stratified_draw(event: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row positions, stratified by event: ``round(n * share of events)`` events, the rest censored.

    Examples
    --------
    >>> rows = stratified_draw(np.array([1, 1, 0, 0, 0, 1, 0, 0], bool), 4, np.random.default_rng(0))
    >>> len(rows), len(set(rows.tolist()))
    (4, 4)
    """
    event = np.asarray(event, dtype=bool)
    if not 0 < n < len(event):
        raise ValueError(f"n must be between 1 and {len(event) - 1} (the data set's size less one), but got {n}.")
    k = int(np.clip(np.round(n * event.mean()), 1, min(n - 1, event.sum())))
    k = max(k, n - int((~event).sum()))
    return np.r_[rng.choice(np.flatnonzero(event), k, replace=False),
                 rng.choice(np.flatnonzero(~event), n - k, replace=False)]


def _c(result: object, column: str = "value") -> float:
    est = result.estimates.set_index("metric")
    return float(est.loc["cindex_harrell", column]) if column in est.columns else float("nan")


def _one_draw(data: SurvivalData, model: str, config: ModelConfig, n: int, s: DownsampleSettings,
              seed: np.random.SeedSequence) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    rows = stratified_draw(data.event, n, rng)
    rest = np.setdiff1d(np.arange(len(data.time)), rows)
    draw = data.subset(rows)
    settings, _ = _settings(draw)
    plan = ModelPlan(name=model, config=config)
    cv = validate_model(plan, draw, ValidationSettings(scheme="cv", folds=s.folds, repeats=s.repeats,
                                                       metrics=settings, ci_resamples=0), seed)
    boot = validate_model(plan, draw, ValidationSettings(scheme="bootstrap", bootstrap=s.bootstrap,
                                                         metrics=settings, ci_resamples=0), seed)
    held = data.subset(rest)
    risk = boot.final.model.predict(held.X) if boot.final is not None and boot.final.model is not None else None
    held_c = harrell_c(held.time, held.event, risk) if risk is not None else float("nan")
    return {"events": int(draw.event.sum()), "apparent": _c(boot, "apparent"), "cv": _c(cv),
            "bootstrap_optimism": _c(boot), "plus632": _c(boot, "plus632"), "held_out": held_c}


def downsample_study(
    datasets: dict[str, SurvivalData], *, model: str = "coxph", config: ModelConfig | None = None,
    settings: DownsampleSettings | None = None, seed: int = 31,
) -> pd.DataFrame:
    """One row per data set, size and draw: the validated C of each method and the held-out C.

    Parameters
    ----------
    datasets : dict
        Name -> the full real data set.
    model : str, default="coxph"
        A model of the zoo, untuned (``config``'s defaults).
    config : ModelConfig, optional
        Its parameters; default: none fixed (the estimator's defaults).
    settings : DownsampleSettings, optional
    seed : int, default=31

    Returns
    -------
    pandas.DataFrame
        ``dataset, n, draw, events, apparent, cv, bootstrap_optimism, plus632, held_out``.
    """
    s = settings or DownsampleSettings()
    config = config or ModelConfig(model=model)
    rows = []
    for d, (name, data) in enumerate(datasets.items()):
        for j, n in enumerate(s.sizes):
            for r, child in enumerate(np.random.SeedSequence([seed, d, j]).spawn(s.draws)):
                rows.append({"dataset": name, "n": n, "draw": r, **_one_draw(data, model, config, n, s, child)})
    return pd.DataFrame(rows)


def summarise_downsample(draws: pd.DataFrame) -> pd.DataFrame:
    """Per data set, size and method: mean validated C, mean held-out C, mean gap with MCSE, RMSE."""
    out = []
    for (name, n), part in draws.groupby(["dataset", "n"], sort=False):
        held = part["held_out"].to_numpy(float)
        for method in ("apparent", "cv", "bootstrap_optimism", "plus632"):
            gap = part[method].to_numpy(float) - held
            ok = np.isfinite(gap)
            g = gap[ok]
            out.append({"dataset": name, "n": n, "method": method, "validated_c": float(np.nanmean(part[method])),
                        "held_out_c": float(np.nanmean(held)), "gap": float(g.mean()) if g.size else np.nan,
                        "gap_mcse": float(g.std(ddof=1) / np.sqrt(g.size)) if g.size > 1 else np.nan,
                        "rmse": float(np.sqrt(np.mean(g**2))) if g.size else np.nan,
                        "draws": int(ok.sum()), "events": float(part["events"].mean())})
    return pd.DataFrame(out)
