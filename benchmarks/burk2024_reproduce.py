"""Reproduce Burk et al.'s (2024) Cox PH column on their own data sets and outer folds.

Usage (a clone of the benchmark's repository, as a user would get it):

    git clone https://github.com/slds-lmu/paper_2023_survival_benchmark burk
    uv run python benchmarks/burk2024_reproduce.py --repo burk [--datasets lung,gbsg,...]

For each data set it runs the user command

    necml benchmark --data datasets/D.csv --folds resamplings/repeated_cv/D.csv \\
        --time time --event status --factors <the ARFF file's nominal attributes> --models coxph

and prints necml's mean Harrell C next to the paper's (``results/production/aggr.rds``, learner
``CPH``, read with ``Rscript``), with the difference. Data sets without an ARFF file get every
non-numeric column as a factor. Needs R (``Rscript``) for the published values only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _published(repo: Path) -> dict[str, float]:
    script = (
        'a <- as.data.frame(readRDS(commandArgs(TRUE)[1])); a <- a[a$learner_id == "CPH", ];'
        'write.csv(a[, c("task_id", "harrell_c")], stdout(), row.names = FALSE)'
    )
    done = subprocess.run(
        ["Rscript", "-e", script, str(repo / "results" / "production" / "aggr.rds")],
        capture_output=True, text=True, check=True,
    )
    table = pd.read_csv(pd.io.common.StringIO(done.stdout))
    return dict(zip(table["task_id"], table["harrell_c"], strict=True))


def _factors(repo: Path, name: str) -> list[str]:
    arff = repo / "datasets" / f"{name}.arff"
    if arff.exists():
        return re.findall(r"@attribute '([^']+)' \{", arff.read_text())
    frame = pd.read_csv(repo / "datasets" / f"{name}.csv")
    return [c for c in frame.columns if frame[c].dtype == object]


def _necml(repo: Path, name: str, out: Path) -> float:
    command = [
        "uv", "run", "necml", "benchmark",
        "--data", str(repo / "datasets" / f"{name}.csv"),
        "--folds", str(repo / "resamplings" / "repeated_cv" / f"{name}.csv"),
        "--time", "time", "--event", "status", "--models", "coxph", "--out", str(out), "--no-track",
    ]
    factors = _factors(repo, name)
    if factors:
        command += ["--factors", ",".join(factors)]
    subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    summary = pd.read_csv(next(out.rglob("summary.csv")))
    row = summary[(summary["model"] == "coxph") & (summary["metric"] == "cindex_harrell")]
    return float(row["mean"].iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="a clone of slds-lmu/paper_2023_survival_benchmark")
    parser.add_argument("--datasets", default="", help="comma-separated (default: every data set with folds)")
    args = parser.parse_args()
    published = _published(args.repo)
    names = args.datasets.split(",") if args.datasets else sorted(
        p.stem for p in (args.repo / "resamplings" / "repeated_cv").glob("*.csv")
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            ours = _necml(args.repo, name, Path(tmp) / name)
            rows.append({"dataset": name, "necml": ours, "burk_cph": published.get(name, float("nan"))})
            print(f"{name:18s} necml {ours:.4f}  published {rows[-1]['burk_cph']:.4f}  "
                  f"diff {ours - rows[-1]['burk_cph']:+.4f}", flush=True)
    table = pd.DataFrame(rows).assign(diff=lambda t: t["necml"] - t["burk_cph"])
    within = int((table["diff"].abs() <= 0.005).sum())
    print(f"{within} of {len(table)} data sets within 0.005 of the published Cox PH C")


if __name__ == "__main__":
    main()
