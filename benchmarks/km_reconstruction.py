"""How accurate is Guyot's reconstruction on real trials, at full size and at the seeds' arm sizes?

As the method papers test it (Guyot et al. 2012; Wei & Royston 2017): take real individual data
with two arms, draw each arm's Kaplan-Meier curve (the corners a digitiser clicks) and its
numbers-at-risk table (every axis tick), digitise with noise (each point's time moved by
N(0, (0.5% of the x axis)^2), its survival by N(0, 0.005^2), clicked in order along the
curve (the noisy times, sorted, taken by the points in order); a curve that then rises is
repaired by the reconstruction), reconstruct each arm with and without the printed total of
events, and compare with the truth: events per arm, RMST(tau) per arm (tau = the earlier of
the arms' last follow-up), the area between the curves, and the log hazard ratio between the
arms (Cox, Efron ties). The small-arm scenario draws 17 and 14 patients (the LCNEC seed's arms)
from the veterans' arms, a new draw for every replicate.

Data: the VA lung cancer trial (scikit-survival's copy; arms standard / test; days / 30.44 =
months) and GBSG2 (German breast cancer study group 2; hormonal therapy no / yes; from SurvSet
when installed, else scikit-survival's identical copy).

Run: ``uv run python benchmarks/km_reconstruction.py [--replicates 100] [--out reports/km_reconstruction]``
(about 1 minute). Writes ``replicates.csv`` and ``summary.csv`` / ``summary.md`` (mean error, its
Monte-Carlo SE, mean absolute error and the 95th percentile of the absolute error).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from necml.km import at_risk_table, compare_curves, km_curve, km_steps, reconstruct_ipd
from necml.markdown import markdown_table
from necml.prognosis import fit_cox_newton

DAYS_PER_MONTH = 30.44


def veterans() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sksurv.datasets import load_veterans_lung_cancer

    X, y = load_veterans_lung_cancer()
    return y["Survival_in_days"] / DAYS_PER_MONTH, y["Status"], (X["Treatment"] == "test").to_numpy()


def gbsg2() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        from SurvSet.data import SurvLoader

        d = SurvLoader().load_dataset("GBSG2")["df"]
        arm = (d["fac_horTh"] == "yes").to_numpy()
        return d["time"].to_numpy(float) / DAYS_PER_MONTH, d["event"].to_numpy(bool), arm
    except ImportError:
        from sksurv.datasets import load_gbsg2

        X, y = load_gbsg2()
        return y["time"] / DAYS_PER_MONTH, y["cens"], (X["horTh"] == "yes").to_numpy()


def digitise(points: pd.DataFrame, rng: np.random.Generator, xmax: float) -> pd.DataFrame:
    """Digitising noise: time N(0, (0.005 xmax)^2), survival N(0, 0.005^2), clipped to the axes."""
    t = np.clip(points["time"] + rng.normal(0, 0.005 * xmax, len(points)), 0, None)
    s = np.clip(points["survival"] + rng.normal(0, 0.005, len(points)), 0, 1)
    t[0], s[0] = 0.0, 1.0  # the curve's start is printed exactly
    # a digitiser clicks along the curve, in order: the clicked times, sorted, stay with the points in order
    return pd.DataFrame({"time": np.sort(t.to_numpy()), "survival": s})


def ticks(xmax: float) -> np.ndarray:
    step = {True: 3.0, False: 12.0}[xmax <= 48]
    return np.arange(0, xmax, step)


def log_hr(time: np.ndarray, event: np.ndarray, arm: np.ndarray) -> float:
    return float(fit_cox_newton(arm[:, None].astype(float), time, event).coef[0])


def one(time: np.ndarray, event: np.ndarray, arm: np.ndarray, rng: np.random.Generator, with_total: bool) -> dict:
    xmax = float(time.max())
    tau = float(min(time[arm].max(), time[~arm].max()))
    row: dict[str, float] = {}
    rec_t, rec_e, rec_a = [], [], []
    for label, m in (("control", ~arm), ("experimental", arm)):
        t, e = time[m], event[m]
        points = digitise(km_steps(t, e), rng, xmax)
        table = at_risk_table(t, ticks(xmax))
        rec = reconstruct_ipd(points, table, total_events=int(e.sum()) if with_total else None).ipd
        truth, got = km_curve(t, e), km_curve(rec["time"].to_numpy(), rec["event"].to_numpy())
        cmp = compare_curves(got, truth, tau=tau)
        row[f"events_error_{label}"] = float(rec["event"].sum() - e.sum())
        row[f"rmst_error_{label}"] = cmp["rmst_difference"]
        row[f"area_between_{label}"] = cmp["area_between"]
        rec_t.append(rec["time"].to_numpy())
        rec_e.append(rec["event"].to_numpy().astype(bool))
        rec_a.append(np.full(len(rec), label == "experimental"))
    row["log_hr_error"] = log_hr(np.concatenate(rec_t), np.concatenate(rec_e), np.concatenate(rec_a)) - log_hr(
        time, event, arm)
    row["tau"] = tau
    return row


def subsample(time: np.ndarray, event: np.ndarray, arm: np.ndarray, sizes: tuple[int, int],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.r_[rng.choice(np.flatnonzero(~arm), sizes[0], replace=False),
                 rng.choice(np.flatnonzero(arm), sizes[1], replace=False)]
    return time[rows], event[rows], arm[rows]


def run(replicates: int, seed: int) -> pd.DataFrame:
    data = {"veterans": veterans(), "gbsg2": gbsg2()}
    scenarios = [("veterans", None), ("gbsg2", None), ("veterans", (17, 14))]
    rows = []
    for k, (name, sizes) in enumerate(scenarios):
        for total in (False, True):
            streams = np.random.SeedSequence([seed, k, int(total)]).spawn(replicates)
            for r, s in enumerate(streams):
                rng = np.random.default_rng(s)
                time, event, arm = data[name]
                if sizes is not None:
                    time, event, arm = subsample(time, event, arm, sizes, rng)
                arms = f"{(~arm).sum()}/{arm.sum()}"
                rows.append({"data": name, "arms": arms, "total_events": total, "replicate": r,
                             **one(time, event, arm, rng, total)})
    return pd.DataFrame(rows)


def summarise(replicates: pd.DataFrame) -> pd.DataFrame:
    measures = [c for c in replicates.columns if c.endswith(("_control", "_experimental")) or c == "log_hr_error"]
    keys = ["data", "total_events"]
    out = []
    for key, part in replicates.groupby(keys, sort=False):
        for m in measures:
            v = part[m].to_numpy(float)
            out.append({"data": key[0], "arms": part["arms"].iloc[0] if part["arms"].nunique() == 1 else "draws",
                        "total_events": key[1], "measure": m, "mean": v.mean(), "mcse": v.std(ddof=1) / np.sqrt(len(v)),
                        "mean_abs": np.abs(v).mean(), "p95_abs": np.quantile(np.abs(v), 0.95), "replicates": len(v)})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--out", type=Path, default=Path("reports/km_reconstruction"))
    args = parser.parse_args()
    replicates = run(args.replicates, args.seed)
    # the small-arm scenario reuses the name "veterans": label it by its arms
    replicates.loc[replicates["arms"] == "17/14", "data"] = "veterans 17/14 draws"
    summary = summarise(replicates)
    args.out.mkdir(parents=True, exist_ok=True)
    replicates.to_csv(args.out / "replicates.csv", index=False)
    summary.to_csv(args.out / "summary.csv", index=False)
    shown = summary.assign(**{c: summary[c].map(lambda x: f"{x:.3f}") for c in ("mean", "mcse", "mean_abs", "p95_abs")})
    text = markdown_table(shown)
    (args.out / "summary.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
