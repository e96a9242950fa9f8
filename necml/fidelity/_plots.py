"""Kaplan-Meier curves per arm with the published medians marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from lifelines import KaplanMeierFitter  # noqa: E402

from necml.dataset import atomic_write  # noqa: E402
from necml.spec import CohortSpec  # noqa: E402

__all__ = ["plot_km_against_published"]


def plot_km_against_published(frame: pd.DataFrame, spec: CohortSpec, path: str | Path) -> Path:
    """Plot PFS and OS Kaplan-Meier curves per arm; mark each published median.

    Parameters
    ----------
    frame : pandas.DataFrame
        A synthetic cohort.
    spec : CohortSpec
        Its specification.
    path : str or pathlib.Path
        PNG destination (written atomically).

    Returns
    -------
    pathlib.Path
        The PNG.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    arm_col = frame["arm"].astype(str)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, ep in zip(axes, ("pfs", "os"), strict=True):
        for i, arm in enumerate(spec.arm_names):
            sub = frame[arm_col == arm]
            km = KaplanMeierFitter(label=f"{spec.arms[arm].label} (n={len(sub)})")
            km.fit(sub[f"{ep}_months"], sub[f"{ep}_event"])
            km.plot_survival_function(ax=ax, ci_show=False, color=colours[i])
            target = spec.outcomes[ep].arms[arm]
            ax.axvline(target.median, color=colours[i], ls="--", lw=0.8)
            ax.plot([target.median], [0.5], marker="o", mfc="white", color=colours[i])
            if target.ci is not None and target.ci_kind == "ci95":
                ax.hlines(0.5, *target.ci, color=colours[i], lw=3, alpha=0.35)
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set_title(f"{ep.upper()}: synthetic KM; circles and bars = published median (95% CI)")
        ax.set_xlabel("months")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("survival probability")
    fig.suptitle(spec.title, fontsize=10)
    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(fig)
