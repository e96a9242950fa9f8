"""Performance measures with Monte-Carlo standard errors (Morris, White & Crowther 2019, Table 6).

For an estimand with true value theta, over R replicates with estimates t_r, model SEs s_r and
95% CIs (l_r, u_r), computed on the replicates whose fit converged (the failures are counted):

=======================  ==================================  ==============================================
measure                  estimate                            Monte-Carlo SE
=======================  ==================================  ==============================================
bias                     mean(t) - theta                     sqrt(var(t) / R)
median_bias              median(t) - theta                   order statistics (below)
empirical_se             sd(t)                               empSE / sqrt(2 (R - 1))
model_se                 sqrt(mean(s^2))                     sqrt(var(s^2) / (4 R modSE^2))
relative_error_se        100 (modSE / empSE - 1)             100 (modSE/empSE) sqrt(var(s^2)/(4 R modSE^4)
                                                             + 1 / (2 (R - 1)))
coverage                 mean(l <= theta <= u)               sqrt(cov (1 - cov) / R)
be_coverage              mean(l <= mean(t) <= u)             sqrt(bec (1 - bec) / R)
                         (bias-eliminated)
ci_width                 mean(u - l)                         sd(u - l) / sqrt(R)
median_ci_width          median(u - l)                       order statistics
power                    mean(p < alpha)                     sqrt(pow (1 - pow) / R)
power_all                rejections / R_all (a failed fit    sqrt(pa (1 - pa) / R_all)
                         counts as not rejecting)
rmse                     sqrt(mean((t - theta)^2))           sqrt(var((t - theta)^2) / R) / (2 rmse)
type_s                   share of the K significant          sqrt(ts (1 - ts) / K)
                         estimates with the wrong sign
type_m                   mean(|t| / |theta|) over the K      sd(|t| / |theta|) / sqrt(K)
                         significant (exaggeration ratio)
relative_precision       100 ((empSE_ref / empSE)^2 - 1)     200 (empSE_ref / empSE)^2 sqrt((1 - rho^2)
                         against the study's ``reference``   / (R - 1)), rho = corr(t, t_ref), paired
failures                 share of replicates not converged   sqrt(f (1 - f) / R_all)
failed_<reason>          share failed for that reason        sqrt(f (1 - f) / R_all)
=======================  ==================================  ==============================================

The MCSE of a median is distribution-free: the half-width of the order-statistic 95% CI of the
median, (t_(k2) - t_(k1)) / (2 x 1.96) with k = R/2 -/+ 1.96 sqrt(R)/2. Type-S and type-M are
Gelman & Carlin's (2014) errors, on the log-HR scale: among the estimates significant at alpha,
the share with the sign opposite to theta, and the mean exaggeration ratio |t|/|theta| (theta
non-zero). ``relative_precision`` compares two methods on the replicates where both converged.

A replicate whose method raised (one row with estimand ``*``) counts as a failure, with reason
``method raised``, for every estimand of that method. Failure reasons are those of
:data:`necml.simulation._methods.FAILURE_REASONS`; ``failed_<reason>`` (spaces as ``_``) is
reported for each reason that occurred, and the shares add up to ``failures``.

Where the truth is NaN (a term a departure leaves without one true log-HR), bias, RMSE,
coverage and type-S/M are not computed; ``power`` is then the rejection rate. Coverage and CI
width use the converged replicates whose CI is defined (a profile-likelihood bound may not be).
Measures other than ``failures`` and ``power_all`` are conditional on convergence: at small n,
where fits fail, read them together with ``failures``. ``var`` and ``sd`` use R - 1. The
empirical SE's MCSE assumes normally distributed estimates (heavier tails make it too small);
the test checks every MCSE against the spread of its measure over simulated studies. For
predictive models (estimand ``cindex_harrell``): ``mean`` and ``sd`` of the validated C, ``gap``
= mean(validated C - true C) with its MCSE, and ``mean_rank`` (1 = best validated C among the
models of a replicate) with sd(rank)/sqrt(R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "PERFORMANCE_COLUMNS",
    "SUMMARY_MEASURES",
    "estimand_measures",
    "expand_failures",
    "performance_table",
    "relative_precision",
    "summary_table",
]

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


_Z = 1.959963984540054


def _median(x: np.ndarray) -> tuple[float, float]:
    """The median and its distribution-free MCSE (order-statistic 95% CI half-width / 1.96)."""
    r = len(x)
    ordered = np.sort(x)
    half = _Z * np.sqrt(r) / 2
    lo, hi = max(int(np.floor(r / 2 - half)) - 1, 0), min(int(np.ceil(r / 2 + half)) - 1, r - 1)
    return float(np.median(x)), float((ordered[hi] - ordered[lo]) / (2 * _Z))


def _proportion(hits: np.ndarray) -> tuple[float, float]:
    share = float(np.mean(hits))
    return share, float(np.sqrt(share * (1 - share) / len(hits)))


def _location(t: np.ndarray, truth: float) -> dict[str, tuple[float, float]]:
    """bias, median bias, RMSE (truth known)."""
    median, median_se = _median(t)
    squared_error = (t - truth) ** 2
    rmse = float(np.sqrt(squared_error.mean()))
    return {
        "bias": (float(t.mean() - truth), float(np.sqrt(np.var(t, ddof=1) / len(t)))),
        "median_bias": (median - truth, median_se),
        "rmse": (rmse, float(np.sqrt(np.var(squared_error, ddof=1) / len(t)) / (2 * rmse)) if rmse > 0 else np.nan),
    }


def _spread(t: np.ndarray, s: np.ndarray) -> dict[str, tuple[float, float]]:
    """empirical SE, model SE and the relative error of the model SE."""
    r = len(t)
    emp = float(np.std(t, ddof=1))
    out = {"empirical_se": (emp, emp / np.sqrt(2 * (r - 1)))}
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
    return out


def _intervals(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, truth: float) -> dict[str, tuple[float, float]]:
    """coverage, bias-eliminated coverage and CI width, on the replicates with a defined CI."""
    defined = ~np.isnan(lo) & ~np.isnan(hi)
    if defined.sum() < 2:
        return {}
    centre = float(t.mean())
    lo, hi = lo[defined], hi[defined]
    width = hi - lo
    out = {"be_coverage": _proportion((lo <= centre) & (centre <= hi))}
    if np.isfinite(truth):
        out["coverage"] = _proportion((lo <= truth) & (truth <= hi))
    if np.isfinite(width).all():
        out["ci_width"] = (float(width.mean()), float(width.std(ddof=1) / np.sqrt(len(width))))
    out["median_ci_width"] = _median(width)
    return out


def _significance(t: np.ndarray, pv: np.ndarray, total: int, truth: float, alpha: float) -> dict:
    """power, power_all, and the type-S and type-M errors among the significant estimates."""
    tested = ~np.isnan(pv)
    if tested.sum() < 2:
        return {}
    significant = pv[tested] < alpha
    share = float(significant.sum() / total)
    out = {"power": _proportion(significant), "power_all": (share, float(np.sqrt(share * (1 - share) / total)))}
    chosen = t[tested][significant]
    if np.isfinite(truth) and truth != 0 and len(chosen) >= 2:
        out["type_s"] = _proportion(np.sign(chosen) != np.sign(truth))
        ratio = np.abs(chosen) / abs(truth)
        out["type_m"] = (float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(len(ratio))))
    return out


def estimand_measures(
    estimate: np.ndarray,
    se: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    p: np.ndarray,
    converged: np.ndarray,
    truth: float,
    alpha: float,
    reasons: np.ndarray | None = None,
) -> dict[str, tuple[float, float]]:
    """Measure -> (estimate, MCSE) for one method and estimand (see the module docstring).

    ``reasons`` (one string per replicate, ``""`` where the fit did not fail) adds the
    ``failed_<reason>`` shares.

    Examples
    --------
    >>> m = estimand_measures(np.array([1.0, 2.0, 3.0]), np.ones(3), np.zeros(3), np.array([2.5, 2.5, 1.5]),
    ...                       np.array([0.01, 0.2, 0.01]), np.ones(3, bool), 2.0, 0.05)
    >>> [round(float(v), 4) for v in (*m["bias"], m["coverage"][0], m["power"][0], m["type_m"][0])]
    [0.0, 0.5774, 0.6667, 0.6667, 1.0]
    """
    ok = converged.astype(bool) & np.isfinite(estimate)
    total = len(estimate)
    if not total:
        return {}
    out = {"failures": _proportion(~ok)}
    if reasons is not None:
        failed = np.asarray(reasons, dtype=object)[~ok]
        for reason in sorted({str(x) or "other" for x in failed}):
            hits = np.array([(str(x) or "other") == reason for x in reasons], bool) & ~ok
            out[f"failed_{reason.replace(' ', '_')}"] = _proportion(hits)
    t = estimate[ok]
    if len(t) < 2:
        return out
    known = bool(np.isfinite(truth))  # NaN under a departure that leaves the term without one true value
    if known:
        out |= _location(t, truth)
    out |= _spread(t, se[ok])
    out |= _intervals(t, low[ok], high[ok], truth)
    out |= _significance(t, p[ok], total, truth, alpha)
    return out


def relative_precision(estimate: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """100 ((empSE_ref / empSE)^2 - 1) on paired replicates, with Morris et al.'s MCSE.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=500)
    >>> est, mcse = relative_precision(ref / 2, ref)
    >>> round(est, 6), round(mcse, 6)
    (300.0, 0.0)
    """
    both = np.isfinite(estimate) & np.isfinite(reference)
    t, ref = estimate[both], reference[both]
    r = len(t)
    if r < 3 or np.std(t) == 0 or np.std(ref) == 0:
        return float("nan"), float("nan")
    ratio = float(np.var(ref, ddof=1) / np.var(t, ddof=1))
    rho = float(np.corrcoef(t, ref)[0, 1])
    return 100 * (ratio - 1), float(200 * ratio * np.sqrt(max(1 - rho**2, 0.0) / (r - 1)))


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


def expand_failures(replicates: pd.DataFrame) -> pd.DataFrame:
    """Replace each ``estimand == "*"`` row (the method raised) by one failed row per estimand of its method.

    A method's estimands are those it reported in any replicate of the study; the truth of an
    estimand is taken from the scenario's other rows of that estimand.
    """
    raised = replicates["estimand"] == "*"
    if not raised.any():
        return replicates
    frame = replicates[~raised]
    estimands = frame.groupby("method", sort=False)["estimand"].unique()
    truths = frame.groupby(["scenario", "estimand"])["truth"].first()
    added = []
    for row in replicates[raised].to_dict("records"):
        for estimand in estimands.get(row["method"], []):
            truth = truths.get((row["scenario"], estimand), np.nan)
            added.append(row | {"estimand": estimand, "converged": False, "reason": "method raised", "truth": truth})
    return pd.concat([frame, pd.DataFrame(added, columns=replicates.columns)], ignore_index=True)


def _measures(rows: pd.DataFrame, estimand: str, alpha: float) -> dict[str, tuple[float, float]]:
    if estimand == "cindex_harrell":
        return _predictive(rows)
    if estimand == "ibs":
        return {k: v for k, v in _predictive(rows.assign(truth=np.nan)).items() if k in ("mean", "sd", "failures")}
    reasons = rows["reason"].fillna("").astype(str).to_numpy() if "reason" in rows else None
    truth = rows["truth"].astype(float).dropna()
    return estimand_measures(
        *(rows[c].to_numpy(float) for c in ("estimate", "se", "ci_low", "ci_high", "p")),
        rows["converged"].fillna(False).to_numpy(bool),
        float(truth.iloc[0]) if len(truth) else float("nan"),
        alpha,
        reasons,
    )


def _paired(frame: pd.DataFrame, reference: str) -> dict[tuple[str, str, str], tuple[float, float]]:
    """relative_precision of every method against ``reference``, per scenario and estimand."""
    ok = frame[frame["converged"].fillna(False).astype(bool)]
    wide = ok.pivot_table(index=["scenario", "estimand", "replicate"], columns="method", values="estimate")
    if reference not in wide:
        return {}
    out = {}
    for (scenario, estimand), block in wide.groupby(level=["scenario", "estimand"], sort=False):
        for method in block.columns:
            if method != reference and block[method].notna().any():
                out[(scenario, method, estimand)] = relative_precision(
                    block[method].to_numpy(float), block[reference].to_numpy(float)
                )
    return out


def performance_table(replicates: pd.DataFrame, truth_alpha: float, *, reference: str | None = None) -> pd.DataFrame:
    """One row per scenario x method x estimand x measure, with ``estimate`` and ``mcse``.

    ``reference`` names the method the others' ``relative_precision`` is measured against.
    """
    frame = expand_failures(replicates)
    c_rows = frame["estimand"] == "cindex_harrell"
    if c_rows.any():
        frame.loc[c_rows, "rank"] = frame[c_rows].groupby(["scenario", "replicate"])["estimate"].rank(ascending=False)
    paired = _paired(frame, reference) if reference else {}
    out = []
    for (scenario, method, estimand), rows in frame.groupby(["scenario", "method", "estimand"], sort=False):
        measures = _measures(rows, estimand, truth_alpha)
        if (scenario, method, estimand) in paired:
            measures["relative_precision"] = paired[(scenario, method, estimand)]
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
    "bias", "coverage", "power", "power_all", "type_m", "failures", "mean", "true_c", "gap_to_true_c", "mean_rank",
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
