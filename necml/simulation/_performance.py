"""Performance measures with Monte-Carlo standard errors (Morris, White & Crowther 2019, Table 6).

For an estimand with true value theta, over R replicates with estimates t_r, model SEs s_r and
95% CIs (l_r, u_r), computed on the replicates whose fit converged (the failures are counted):

==================  =====================================  ===========================================
measure             estimate                               Monte-Carlo SE
==================  =====================================  ===========================================
bias                mean(t) - theta                        sqrt(var(t) / R)
empirical_se        sd(t)                                  empSE / sqrt(2 (R - 1))
model_se            sqrt(mean(s^2))                        sqrt(var(s^2) / (4 R modSE^2))
relative_error_se   100 (modSE / empSE - 1)                100 (modSE/empSE) sqrt(var(s^2)/(4 R modSE^4)
                                                           + 1 / (2 (R - 1)))
coverage            mean(l <= theta <= u)                  sqrt(cov (1 - cov) / R)
power               mean(p < alpha)                        sqrt(pow (1 - pow) / R)
power_all           rejections / R_all (a failed fit       sqrt(pa (1 - pa) / R_all)
                    counts as not rejecting)
rmse                sqrt(mean((t - theta)^2))              sqrt(var((t - theta)^2) / R) / (2 rmse)
failures            share of replicates not converged      sqrt(f (1 - f) / R_all)
==================  =====================================  ===========================================

Where the truth is NaN (a term a departure leaves without one true log-HR), bias, RMSE and
coverage are not computed; ``power`` is then the rejection rate. Measures other than
``failures`` and ``power_all`` are conditional on convergence: at small n,
where fits fail through separation, read them together with ``failures``. ``var`` and ``sd``
use R - 1. The empirical SE's MCSE assumes normally distributed estimates
(heavier tails make it too small); the test checks every MCSE against the spread of its measure
over 3000 simulated studies. For predictive models (estimand ``cindex_harrell``): ``mean``
and ``sd`` of the validated C, ``gap`` = mean(validated C - true C) with its MCSE, and
``mean_rank`` (1 = best validated C among the models of a replicate) with sd(rank)/sqrt(R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PERFORMANCE_COLUMNS", "SUMMARY_MEASURES", "estimand_measures", "performance_table", "summary_table"]

PERFORMANCE_COLUMNS = [
    "scenario",
    "n",
    "effect_scale",
    "censoring",
    "departure",
    "method",
    "estimand",
    "measure",
    "estimate",
    "mcse",
    "replicates",
]


def estimand_measures(
    estimate: np.ndarray,
    se: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    p: np.ndarray,
    converged: np.ndarray,
    truth: float,
    alpha: float,
) -> dict[str, tuple[float, float]]:
    """Measure -> (estimate, MCSE) for one method and estimand (see the module docstring).

    Examples
    --------
    >>> m = estimand_measures(np.array([1.0, 2.0, 3.0]), np.ones(3), np.zeros(3), np.array([2.5, 2.5, 1.5]),
    ...                       np.array([0.01, 0.2, 0.01]), np.ones(3, bool), 2.0, 0.05)
    >>> [round(float(v), 4) for v in (*m["bias"], m["coverage"][0], m["power"][0])]
    [0.0, 0.5774, 0.6667, 0.6667]
    """
    ok = converged.astype(bool) & np.isfinite(estimate)
    total = len(estimate)
    failures = 1 - ok.mean() if total else np.nan
    out = {"failures": (float(failures), float(np.sqrt(failures * (1 - failures) / total)) if total else np.nan)}
    t, s, lo, hi, pv = estimate[ok], se[ok], low[ok], high[ok], p[ok]
    r = len(t)
    if r < 2:
        return out
    emp = float(np.std(t, ddof=1))
    known = bool(np.isfinite(truth))  # NaN under a departure that leaves the term without one true value
    if known:
        out["bias"] = (float(t.mean() - truth), float(np.sqrt(np.var(t, ddof=1) / r)))
    out["empirical_se"] = (emp, emp / np.sqrt(2 * (r - 1)))
    if known:
        squared_error = (t - truth) ** 2
        rmse = float(np.sqrt(squared_error.mean()))
        out["rmse"] = (rmse, float(np.sqrt(np.var(squared_error, ddof=1) / r) / (2 * rmse)) if rmse > 0 else np.nan)
    if np.isfinite(s).all():
        var_s2 = float(np.var(s**2, ddof=1))
        mod = float(np.sqrt(np.mean(s**2)))
        out["model_se"] = (mod, float(np.sqrt(var_s2 / (4 * r * mod**2))))
        if emp > 0:
            ratio = mod / emp
            out["relative_error_se"] = (
                100 * (ratio - 1),
                float(100 * ratio * np.sqrt(var_s2 / (4 * r * mod**4) + 1 / (2 * (r - 1)))),
            )
    if known and np.isfinite(lo).all() and np.isfinite(hi).all():
        cover = float(np.mean((lo <= truth) & (truth <= hi)))
        out["coverage"] = (cover, float(np.sqrt(cover * (1 - cover) / r)))
    if np.isfinite(pv).all():
        power = float(np.mean(pv < alpha))
        out["power"] = (power, float(np.sqrt(power * (1 - power) / r)))
        overall = float(np.sum(pv < alpha) / total)
        out["power_all"] = (overall, float(np.sqrt(overall * (1 - overall) / total)))
    return out


def _predictive(rows: pd.DataFrame) -> dict[str, tuple[float, float]]:
    ok = rows[rows["converged"].astype(bool) & np.isfinite(rows["estimate"].astype(float))]
    c = ok["estimate"].to_numpy(float)
    r = len(c)
    out = {"failures": (1 - r / len(rows), float(np.sqrt((r / len(rows)) * (1 - r / len(rows)) / len(rows))))}
    if r < 2:
        return out
    out["mean"] = (float(c.mean()), float(c.std(ddof=1) / np.sqrt(r)))
    out["sd"] = (float(c.std(ddof=1)), float(c.std(ddof=1) / np.sqrt(2 * (r - 1))))
    gap = c - ok["truth"].to_numpy(float)
    gap = gap[np.isfinite(gap)]
    if len(gap) >= 2:
        out["gap_to_true_c"] = (float(gap.mean()), float(gap.std(ddof=1) / np.sqrt(len(gap))))
        out["true_c"] = (float(np.nanmean(ok["truth"])), float(np.nanstd(ok["truth"], ddof=1) / np.sqrt(len(gap))))
    if "rank" in ok and ok["rank"].notna().sum() >= 2:
        ranks = ok["rank"].dropna().to_numpy(float)
        out["mean_rank"] = (float(ranks.mean()), float(ranks.std(ddof=1) / np.sqrt(len(ranks))))
    return out


def performance_table(replicates: pd.DataFrame, truth_alpha: float) -> pd.DataFrame:
    """One row per scenario x method x estimand x measure, with ``estimate`` and ``mcse``."""
    frame = replicates[replicates["estimand"] != "*"].copy()
    c_rows = frame["estimand"] == "cindex_harrell"
    if c_rows.any():
        frame.loc[c_rows, "rank"] = frame[c_rows].groupby(["scenario", "replicate"])["estimate"].rank(ascending=False)
    out = []
    for (scenario, method, estimand), rows in frame.groupby(["scenario", "method", "estimand"], sort=False):
        if estimand in ("cindex_harrell", "ibs"):
            measures = (
                _predictive(rows)
                if estimand == "cindex_harrell"
                else {
                    k: v for k, v in _predictive(rows.assign(truth=np.nan)).items() if k in ("mean", "sd", "failures")
                }
            )
        else:
            measures = estimand_measures(
                *(rows[c].to_numpy(float) for c in ("estimate", "se", "ci_low", "ci_high", "p")),
                rows["converged"].to_numpy(bool),
                float(rows["truth"].iloc[0]),
                truth_alpha,
            )
        first = rows.iloc[0]
        for measure, (value, mcse) in measures.items():
            out.append(
                {
                    "scenario": scenario,
                    "n": int(first["n"]),
                    "effect_scale": float(first["effect_scale"]),
                    "censoring": str(first.get("censoring", "published")),
                    "departure": str(first.get("departure", "none")),
                    "method": method,
                    "estimand": estimand,
                    "measure": measure,
                    "estimate": value,
                    "mcse": mcse,
                    "replicates": len(rows),
                }
            )
    return pd.DataFrame(out, columns=PERFORMANCE_COLUMNS)


#: The measures of the summary table, in its column order.
SUMMARY_MEASURES = (
    "bias", "coverage", "power", "power_all", "failures", "mean", "true_c", "gap_to_true_c", "mean_rank",
)


def summary_table(performance: pd.DataFrame, estimands: list[str] | None = None) -> pd.DataFrame:
    """Scenario x method x estimand rows, one ``"estimate (mcse)"`` column per summary measure.

    Rows are ordered by effect scale then ``n`` (stable, so the grid's own order breaks ties);
    ``estimands`` keeps those and the C-index rows.
    """
    rows = performance[performance["measure"].isin(SUMMARY_MEASURES)]
    rows = rows.sort_values(["effect_scale", "n"], kind="stable")
    if estimands:
        rows = rows[rows["estimand"].isin([*estimands, "cindex_harrell"])]
    text = [f"{e:.3f} ({m:.3f})" if m == m else f"{e:.3f}" for e, m in zip(rows["estimate"], rows["mcse"], strict=True)]
    wide = rows.assign(value=text).pivot_table(
        index=["scenario", "method", "estimand"], columns="measure", values="value", aggfunc="first", sort=False
    )
    return wide[[m for m in SUMMARY_MEASURES if m in wide.columns]].reset_index()
