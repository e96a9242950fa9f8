"""A synthetic cohort against the paper's own Kaplan-Meier figures (the spec's ``km:`` block).

Each digitised arm is reconstructed (Guyot et al. 2012, :func:`necml.km.reconstruct_ipd`) and
compared with the synthetic arm's Kaplan-Meier curve up to tau, the last time of the printed
at-risk table (where the figure still has information): the area between the curves, the RMST(tau)
of both, whether the synthetic survival at each at-risk time lies
inside the reconstructed curve's log-log 95% CI, and the events per at-risk interval
(reconstructed vs synthetic scaled to the arm's published size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from necml.km import compare_curves, km_confidence, km_curve, reconstruct_ipd, rmst, survival_at_times
from necml.spec import CohortSpec, KMFigure

__all__ = ["km_fidelity", "reconstructed_ipd", "write_km_fidelity"]


def _frames(fig: KMFigure) -> tuple[pd.DataFrame, pd.DataFrame]:
    points = pd.DataFrame(fig.points, columns=["time", "survival"])
    points["survival"] = points["survival"] / fig.survival_scale
    return points, pd.DataFrame(fig.at_risk, columns=["time", "n_at_risk"])


def reconstructed_ipd(spec: CohortSpec, endpoint: str) -> pd.DataFrame:
    """The reconstructed patients of every digitised arm of ``endpoint`` (``arm, <ep>_months, <ep>_event``).

    The columns are the cohort contract's, so ``necml prognostic`` analyses the file as a cohort.
    """
    parts = []
    for arm, fig in spec.km.get(endpoint, {}).items():
        ipd = reconstruct_ipd(*_frames(fig), total_events=fig.total_events).ipd
        parts.append(pd.DataFrame({"arm": arm, f"{endpoint}_months": ipd["time"], f"{endpoint}_event": ipd["event"]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _events_per_interval(breaks: np.ndarray, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    inside = np.searchsorted(breaks, time[event.astype(bool)], side="right") - 1
    return np.bincount(inside[(inside >= 0) & (inside < len(breaks) - 1)], minlength=len(breaks) - 1)


def _one(spec: CohortSpec, cohort: pd.DataFrame, endpoint: str, arm: str, fig: KMFigure) -> list[dict[str, object]]:
    rec = reconstruct_ipd(*_frames(fig), total_events=fig.total_events)
    rt, re_ = rec.ipd["time"].to_numpy(float), rec.ipd["event"].to_numpy(int)
    part = cohort[cohort["arm"] == arm]
    st, se = part[f"{endpoint}_months"].to_numpy(float), part[f"{endpoint}_event"].to_numpy(int)
    times = np.array([t for t, _ in fig.at_risk], dtype=float)
    tau = float(times[-1]) if times[-1] > 0 else float(rt.max())
    where = {"endpoint": endpoint, "arm": arm, "source": fig.source}
    synthetic_curve, rec_curve = km_curve(st, se), km_curve(rt, re_)
    d = compare_curves(synthetic_curve, rec_curve, tau=tau)
    rows: list[dict[str, object]] = [
        {**where, "statistic": f"area between curves (0-{tau:g})", "reconstructed": 0.0,
         "synthetic": d["area_between"]},
        {**where, "statistic": f"RMST({tau:g})", "reconstructed": rmst(rec_curve, tau),
         "synthetic": rmst(synthetic_curve, tau)},
    ]
    s, low, high = km_confidence(rt, re_, times[1:])
    synth = survival_at_times(synthetic_curve, times[1:])
    for t, a, lo, hi, b in zip(times[1:], s, low, high, synth, strict=True):
        inside = bool(lo <= b <= hi) if np.isfinite(lo) and np.isfinite(hi) else None
        rows.append({**where, "statistic": f"S({t:g})", "reconstructed": float(a), "synthetic": float(b),
                     "ci_low": lo, "ci_high": hi, "inside_ci": inside})
    breaks = np.r_[times, max(rt.max(), st.max()) + 1]
    scale = spec.arms[arm].n / max(len(part), 1)
    for k, (r_ev, s_ev) in enumerate(zip(_events_per_interval(breaks, rt, re_),
                                         _events_per_interval(breaks, st, se) * scale, strict=True)):
        label = f"[{breaks[k]:g}, {breaks[k + 1]:g})" if k + 1 < len(times) else f">= {breaks[k]:g}"
        rows.append({**where, "statistic": f"events {label}", "reconstructed": float(r_ev), "synthetic": float(s_ev)})
    return rows


def km_fidelity(spec: CohortSpec, cohort: pd.DataFrame) -> pd.DataFrame:
    """Compare a synthetic cohort with every digitised figure of ``spec.km`` (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``endpoint, arm, source, statistic, reconstructed, synthetic, ci_low, ci_high, inside_ci``;
        empty when the spec has no ``km:`` block.
    """
    rows = [r for ep, figs in spec.km.items() for arm, fig in figs.items() for r in _one(spec, cohort, ep, arm, fig)]
    columns = ["endpoint", "arm", "source", "statistic", "reconstructed", "synthetic", "ci_low", "ci_high", "inside_ci"]
    return pd.DataFrame(rows, columns=columns)


def write_km_fidelity(spec: CohortSpec, cohort: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``km_fidelity.csv`` / ``.md`` and each endpoint's reconstructed patients (``km_ipd_<ep>.csv``)."""
    from necml.dataset import atomic_write
    from necml.markdown import markdown_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = km_fidelity(spec, cohort)
    paths = [atomic_write(out / "km_fidelity.csv", lambda tmp: table.to_csv(tmp, index=False))]
    shown = table.drop(columns=["source"]).round(4)
    text = f"# {spec.name}: synthetic cohort vs the digitised Kaplan-Meier figures\n\n{markdown_table(shown)}\n"
    paths.append(atomic_write(out / "km_fidelity.md", lambda tmp: tmp.write_text(text, encoding="utf-8")))
    for ep in spec.km:
        ipd = reconstructed_ipd(spec, ep)
        paths.append(atomic_write(out / f"km_ipd_{ep}.csv", lambda tmp, ipd=ipd: ipd.to_csv(tmp, index=False)))
    return paths
