"""Fidelity rows for what a paper prints beyond the per-arm blocks.

* **Totals** (section ``totals``, arm ``all``): each ``variables.<name>.totals`` statistic against
  the Total column a table with the *published* arm sizes would print from the synthetic arms.
  Every synthetic patient is weighted so that the arms count as ``n_arm / N`` of the paper; means,
  shares and quantiles are then weighted statistics over the whole cohort, and the SD is the
  pooled sample SD ``sqrt((sum (n_i - 1) s_i^2 + sum n_i (m_i - m)^2) / (N - 1))`` of the
  synthetic arms' means and SDs at the published ``n_i`` (patients with a value), the way a
  paper's Total SD follows from its arms. Means, SDs and shares of a Total column are fixed by
  the arms' numbers, so a miss there is a contradiction in the paper (the spec's ``conflicts``
  say which). Quartiles are not: the arms' quartiles only bound the pooled ones, and a quartile
  miss measures the split log-normal's shape between the arms' quartiles unless it is large.
* **Univariate HRs** (section ``<endpoint> univariate``): ``outcomes.<endpoint>.univariate``
  against a one-term Cox fit (Efron ties, R's ``coxph`` rules) on every patient with a value.
* **Corrected readings**: a row whose published number is a corrected reading
  (:class:`necml.spec.CorrectedValue`) compares with the used value and carries ``as_printed``
  (the Markdown shows "as printed: 1511"); its source is the correction's.
* **Per-level sources**: a categorical level named in ``level_sources`` shows that source.

Tolerances follow :mod:`necml.fidelity._stats`: ``3 x`` the Monte-Carlo SE at the cohort's
size plus half the last printed digit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from necml.cohort import CohortModel, terms_frame
from necml.dataset._coxph import fit_cox_newton
from necml.fidelity._stats import FidelityRow, _row
from necml.spec import CategoricalDist, CohortSpec, CorrectedValue, Total, ZeroInflatedDist, corrections

__all__ = ["mark_published", "published_rows", "total_rows", "univariate_rows", "with_published"]

_QUANTILES = (("q1", 0.25), ("median", 0.5), ("q3", 0.75))


def _arm_weights(frame: pd.DataFrame, spec: CohortSpec) -> np.ndarray:
    """Per-patient weights that give each arm its published share ``n_arm / N``."""
    arm = frame["arm"].astype(str)
    counts = arm.value_counts()
    present = [a for a in spec.arms if counts.get(a, 0) > 0]
    total_n = sum(spec.arms[a].n for a in present)
    share = {a: spec.arms[a].n / total_n / (counts[a] / len(frame)) for a in present}
    return arm.map(share).fillna(0.0).to_numpy(dtype=float)


def _n_eff(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / max(float((w * w).sum()), 1e-300))


def _wshare(hit: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted share in % and its SE in points."""
    p = float((w * hit).sum() / w.sum())
    return 100 * p, 100 * float(np.sqrt(max(p * (1 - p), 0.25 / len(w)) / _n_eff(w)))


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][min(int(np.searchsorted(cw, q * cw[-1])), len(x) - 1)])


def _pooled_sd(x: np.ndarray, arm: np.ndarray, spec: CohortSpec) -> float:
    """The pooled sample SD of the synthetic arms' means and SDs at the published arm sizes."""
    ns, means, sds = [], [], []
    for a in spec.arms:
        xa = x[(arm == a) & ~np.isnan(x)]
        total = int((arm == a).sum())
        if len(xa) < 2 or total == 0:
            continue
        ns.append(spec.arms[a].n * len(xa) / total)
        means.append(float(xa.mean()))
        sds.append(float(xa.std(ddof=1)))
    n, m, s = np.array(ns), np.array(means), np.array(sds)
    grand = float((n * m).sum() / n.sum())
    return float(np.sqrt((((n - 1) * s**2).sum() + (n * (m - grand) ** 2).sum()) / (n.sum() - 1)))


def _mark(row: FidelityRow, published: object) -> FidelityRow:
    if isinstance(published, CorrectedValue):
        return dataclasses.replace(row, as_printed=published.as_printed, source=published.source)
    return row


def _continuous_totals(name: str, total: Total, x: np.ndarray, w: np.ndarray, arm: np.ndarray,
                       spec: CohortSpec) -> list[FidelityRow]:
    rows: list[FidelityRow] = []
    ok = ~np.isnan(x)
    xo, wo = x[ok], w[ok]
    src = total.source

    def add(stat: str, published: object, synthetic: float, se: float) -> None:
        rows.append(_mark(_row("totals", "all", name, stat, published, synthetic, se, src), published))

    if len(xo) == 0:
        return rows
    sd = _pooled_sd(x, arm, spec)
    if total.mean is not None:
        add("mean", total.mean, float((wo * xo).sum() / wo.sum()), sd / np.sqrt(_n_eff(wo)))
    if total.sd is not None:
        add("sd", total.sd, sd, sd / np.sqrt(2 * _n_eff(wo)))
    if total.share_above is not None:
        sa = total.share_above
        hit = xo >= sa.cutoff if sa.inclusive else xo > sa.cutoff
        pct, se = _wshare(hit, wo)
        add(f"% {'>=' if sa.inclusive else '>'} {sa.cutoff:g}", sa.percent, pct, se)
    for stat, q in _QUANTILES:
        value = getattr(total, stat)
        if value is None:
            continue
        lo, hi = _wquantile(xo, wo, q - 0.005), _wquantile(xo, wo, q + 0.005)
        density = 0.01 / max(hi - lo, 1e-12)
        add(stat, value, _wquantile(xo, wo, q), float(np.sqrt(q * (1 - q) / _n_eff(wo)) / density))
    return rows


def total_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Rows for every ``variables.<name>.totals`` statistic (see the module docstring)."""
    spec = model.spec
    rows: list[FidelityRow] = []
    w = _arm_weights(frame, spec)
    arm = frame["arm"].astype(str).to_numpy()
    for name, var in spec.variables.items():
        total = var.totals
        if total is None:
            continue
        col = frame[name]
        missing = col.isna().to_numpy()
        if var.kind == "continuous":
            rows += _continuous_totals(name, total, col.to_numpy(dtype=float, na_value=np.nan), w, arm, spec)
        elif var.kind == "binary" and total.percent is not None:
            pct, se = _wshare((col == True).fillna(False).to_numpy(dtype=bool), w)  # noqa: E712 - nullable
            rows.append(_row("totals", "all", name, "% yes", total.percent, pct, se, total.source))
        for key, published in (total.levels or {}).items():
            hit = col.astype("string").isin(key.split("+")).fillna(False).to_numpy(dtype=bool)
            pct, se = _wshare(hit, w)
            rows.append(_row("totals", "all", name, f"% {key}", published, pct, se, total.source))
        if total.missing_percent is not None:
            pct, se = _wshare(missing, w)
            rows.append(_row("totals", "all", name, "% not available", total.missing_percent, pct, se,
                             total.source))
    return rows


def univariate_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """A one-term Cox fit per ``outcomes.<endpoint>.univariate`` entry, on patients with a value.

    A term that is constant or infinite (separation) in the cohort has no row.
    """
    spec = model.spec
    rows: list[FidelityRow] = []
    for ep, ep_spec in spec.outcomes.items():
        for eff in ep_spec.univariate:
            x = terms_frame(frame, [eff.term], spec)[eff.term.name].to_numpy(dtype=float)
            keep = ~np.isnan(x)
            if keep.sum() < 2 or np.std(x[keep]) == 0:
                continue
            fit = fit_cox_newton(x[keep, None], frame[f"{ep}_months"].to_numpy(float)[keep],
                                 frame[f"{ep}_event"].to_numpy(bool)[keep])
            coef, se = float(fit.coef[0]), float(fit.se[0])
            if not np.isfinite(coef):
                continue
            rows.append(_row(f"{ep} univariate", "all", eff.term.name, "log HR", np.log(eff.hr), coef, se,
                             eff.source))
    return rows


def published_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Totals and univariate-HR rows of a synthetic cohort."""
    return total_rows(frame, model) + univariate_rows(frame, model)


def mark_published(rows: list[FidelityRow], spec: CohortSpec) -> list[FidelityRow]:
    """Give per-arm covariate rows their corrected readings (``as_printed``) and per-level sources.

    Parameters
    ----------
    rows : list of FidelityRow
        Rows from :func:`necml.fidelity._stats.covariate_rows` and others (left as they are).
    spec : CohortSpec
        The specification.

    Returns
    -------
    list of FidelityRow
        The same rows, in order; a row of a corrected number carries ``as_printed`` and the
        correction's source, a row of a level named in ``level_sources`` carries that source.
    """
    marks: dict[tuple[str, str, str], tuple[float | None, str]] = {}
    for name, var in spec.variables.items():
        for arm, dist in var.arms.items():
            blocks = [(name, dist)]
            if isinstance(dist, ZeroInflatedDist):
                blocks.append((f"{name} (>0)", dist.positive))
            for item, block in blocks:
                for field, value in corrections(block).items():
                    marks[(arm, item, field)] = (value.as_printed, value.source)
            if isinstance(dist, CategoricalDist):
                for level, src in dist.level_sources.items():
                    marks[(arm, name, f"% {level}")] = (None, src)
    out = []
    for row in rows:
        mark = marks.get((row.arm, row.item, row.statistic)) if row.section == "covariates" else None
        if mark is not None:
            row = dataclasses.replace(row, as_printed=mark[0] if mark[0] is not None else row.as_printed,
                                      source=mark[1])
        out.append(row)
    return out


def with_published(frame: pd.DataFrame, model: CohortModel, rows: list[FidelityRow]) -> list[FidelityRow]:
    """``rows`` marked (:func:`mark_published`) and followed by :func:`published_rows`."""
    return mark_published(rows, model.spec) + published_rows(frame, model)
