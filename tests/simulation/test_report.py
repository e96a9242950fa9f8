"""A study's publication products: ADEMP protocol, failure reasons, zip / nested-loop / bias forest plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from necml.simulation import protocol_markdown, resolve_study, run_study
from tests.simulation.conftest import small_study


def _study():  # noqa: ANN202
    return small_study(
        replicates=8,
        data={**small_study().data.model_dump(), "n": [60]},
        estimands=["nlr_gt_3", "ldh_gt_uln"],
        reference="cox",
        methods=[
            {"name": "cox", "kind": "cox"},
            {"name": "firth", "kind": "cox_firth"},
            {"name": "ridge", "kind": "cox", "penalizer": 0.1},
        ],
    )


def test_a_study_writes_its_protocol_failure_reasons_and_plots(tmp_path: Path) -> None:
    result = run_study(resolve_study(_study(), tmp_path), out=tmp_path)
    directory = result.directory
    for name in ("protocol.md", "failure_reasons.csv", "zip_nlr_gt_3.png", "nested_loop_nlr_gt_3.png",
                 "bias_forest.png"):
        assert (directory / name).stat().st_size > 0, name
    perf = result.performance
    precision = perf[perf["measure"] == "relative_precision"]
    assert set(precision["method"]) == {"firth", "ridge"}  # against the reference, never itself
    assert {"type_m", "be_coverage", "median_bias", "median_ci_width"} <= set(perf["measure"])
    assert list(pd.read_csv(directory / "failure_reasons.csv").columns)[-3:] == ["reason", "share", "mcse"]


def test_the_protocol_states_every_ademp_section_and_the_replicates() -> None:
    text = protocol_markdown(_study(), truths=False)
    for section in ("## Aims", "## Data-generating mechanisms", "## Estimands", "## Methods",
                    "## Performance measures", "## Replicates"):
        assert section in text
    assert "Firth-penalised" in text and "ridge penalizer 0.1" in text
    assert "8 replicates per scenario (given)" in text
    assert "(K-1)/K of n" in text
