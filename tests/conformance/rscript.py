"""Run an R script on data frames the test made, and read back what R computed.

The conformance suite compares necml with R (Debian's ``r-base-core``, ``r-cran-survival``,
``r-cran-riskregression``, ``r-cran-pec``). Each test writes its inputs as CSV with full
precision, runs ``Rscript`` on a script that reads them (``input("name")``) and writes its
results (``output(list(...))``, JSON with 17 significant digits), and compares.

Without ``Rscript`` the tests are skipped, except under CI (``CI=true``), where a missing R is
a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest

__all__ = ["require_r", "run_r"]

_PRELUDE = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
.dir <- commandArgs(trailingOnly = TRUE)[1]
input <- function(name) read.csv(file.path(.dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
output <- function(x) writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, na = "null"),
                                 file.path(.dir, "out.json"))
"""


def require_r() -> str:
    """The path of ``Rscript``; skips the test without it (fails under CI)."""
    found = shutil.which("Rscript")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Rscript is missing: .ci/run must install r-base-core and the R packages")
        pytest.skip("Rscript is not installed")
    return found


def run_r(script: str, timeout: float = 300, **frames: pd.DataFrame) -> dict:
    """Run ``script`` with each frame available as ``input("<name>")``; return its ``output``.

    Parameters
    ----------
    script : str
        R code; it ends by calling ``output(list(...))``.
    timeout : float, default=300
        Seconds before the R process is killed.
    **frames : pandas.DataFrame
        Inputs, written as ``<name>.csv`` with 17 significant digits.

    Returns
    -------
    dict
        The parsed JSON (R's NA as None).
    """
    rscript = require_r()
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in frames.items():
            frame.to_csv(Path(tmp) / f"{name}.csv", index=False, float_format="%.17g")
        path = Path(tmp) / "script.R"
        path.write_text(_PRELUDE + textwrap.dedent(script))
        done = subprocess.run(
            [rscript, "--vanilla", str(path), tmp], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise AssertionError(f"R failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads((Path(tmp) / "out.json").read_text())
