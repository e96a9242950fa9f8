"""R's ``lung`` as a user exports it, end to end: ``necml prognostic`` and a tracked ``necml run``.

The file is ``write.csv(survival::lung, row.names = FALSE)``: times in days, ``status`` coded
1 = censored / 2 = dead, ``sex`` 1 = male / 2 = female, R's dotted names (``ph.ecog``,
``wt.loss``) and missing values (``NA``). The mapping is the one a user writes (issue 15).
Every expected value comes from R in the same test run; each is named beside its R call.
Skipped without ``Rscript`` (a failure under ``CI=true``, see ``tests/conformance/rscript.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from necml.cli import app
from necml.dataset import DAYS_PER_MONTH
from tests.conformance.rscript import run_r

runner = CliRunner()
TOL = 1e-6  # R's coxph stops at a relative change of the log-likelihood of 1e-9; so does necml

MAPPING = """\
endpoints:
  os: {time: {column: time, unit: days}, event: {column: status, event_values: [2]}}
covariates:
  age: {type: continuous}
  sex: {type: categorical, reference: 1}
  ph.ecog: {type: continuous}
  wt.loss: {type: continuous}
"""

R_SCRIPT = """
write.csv(survival::lung, "{csv}", row.names = FALSE)
lung <- survival::lung
fit <- coxph(Surv(time, status) ~ age + factor(sex) + ph.ecog + wt.loss, data = lung)
uni <- lapply(c("age", "factor(sex)", "ph.ecog", "wt.loss"), function(v)
  coxph(as.formula(paste("Surv(time, status) ~", v)), data = lung))
km <- survfit(Surv(time, status) ~ 1, data = lung, conf.type = "log-log")
by_sex <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = "log-log")
at_year <- summary(km, times = 365.25)
lr_sex <- survdiff(Surv(time, status) ~ sex, data = lung)
lr_inst <- survdiff(Surv(time, status) ~ inst, data = lung)
output(list(
  n = fit$n, nevent = fit$nevent, excluded = length(fit$na.action),
  terms = names(coef(fit)), hr = unname(exp(coef(fit))),
  low = unname(exp(confint(fit))[, 1]), high = unname(exp(confint(fit))[, 2]),
  p = unname(summary(fit)$coefficients[, "Pr(>|z|)"]),
  uni_n = sapply(uni, function(f) f$n), uni_events = sapply(uni, function(f) f$nevent),
  uni_hr = sapply(uni, function(f) unname(exp(coef(f)))),
  n_all = nrow(lung), events_all = sum(lung$status == 2),
  median = unname(summary(km)$table["median"]),
  median_low = unname(summary(km)$table["0.95LCL"]), median_high = unname(summary(km)$table["0.95UCL"]),
  median_sex = unname(summary(by_sex)$table[, "median"]),
  surv_12m = at_year$surv,
  lr_sex_chisq = lr_sex$chisq, lr_sex_df = sum(lr_sex$exp > 0) - 1,
  lr_inst_chisq = lr_inst$chisq, lr_inst_df = sum(lr_inst$exp > 0) - 1, inst_na = sum(is.na(lung$inst))
))
"""


@pytest.fixture(scope="module")
def lung(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """``lung.csv`` as R writes it, the user's mapping, and R's results on it."""
    folder = tmp_path_factory.mktemp("lung")
    csv = folder / "lung.csv"
    expected = run_r(R_SCRIPT.replace("{csv}", csv.as_posix()))
    (folder / "mapping.yaml").write_text(MAPPING)
    return csv, folder / "mapping.yaml", expected


@pytest.fixture(scope="module")
def prognostic(lung: tuple[Path, Path, dict]) -> tuple[Path, str, dict]:
    """``necml prognostic lung.csv --mapping mapping.yaml``: its folder, console and R's numbers."""
    csv, mapping, expected = lung
    out = csv.parent / "prognostic"
    done = runner.invoke(app, ["prognostic", str(csv), "--mapping", str(mapping), "--out", str(out)])
    assert done.exit_code == 0, done.output
    return out, " ".join(done.output.split()), expected


def test_the_export_is_r_coded(lung: tuple[Path, Path, dict]) -> None:
    frame = pd.read_csv(lung[0])
    assert {"ph.ecog", "wt.loss"} <= set(frame.columns)
    assert set(frame["status"]) == {1, 2} and set(frame["sex"]) == {1, 2}
    assert frame["time"].max() > 240  # days: read as months, 85 years of follow-up


def test_multivariate_cox_matches_r(prognostic: tuple[Path, str, dict]) -> None:
    out, _, r = prognostic
    table = pd.read_csv(out / "cox_multivariate_os.csv")
    assert table["term"].tolist() == ["age", "sex[2]", "ph.ecog", "wt.loss"]  # R: names(coef(fit)), factor(sex)2
    assert r["terms"] == ["age", "factor(sex)2", "ph.ecog", "wt.loss"]
    assert (table["n"] == r["n"]).all() and r["n"] == 213  # R: coxph(...)$n
    assert (table["events"] == r["nevent"]).all() and r["nevent"] == 151  # R: coxph(...)$nevent
    np.testing.assert_allclose(table["hr"], r["hr"], rtol=TOL)  # R: exp(coef(fit))
    np.testing.assert_allclose(table["ci_low"], r["low"], rtol=TOL)  # R: exp(confint(fit))[, 1]
    np.testing.assert_allclose(table["ci_high"], r["high"], rtol=TOL)  # R: exp(confint(fit))[, 2]
    np.testing.assert_allclose(table["p"], r["p"], rtol=1e-5)  # R: summary(fit)$coefficients[, "Pr(>|z|)"]


def test_univariate_cox_matches_r(prognostic: tuple[Path, str, dict]) -> None:
    out, _, r = prognostic
    table = pd.read_csv(out / "cox_univariate_os.csv")
    assert table["n"].tolist() == r["uni_n"]  # R: coxph(Surv(time, status) ~ v, lung)$n for each v
    assert table["events"].tolist() == r["uni_events"]  # R: ...$nevent
    np.testing.assert_allclose(table["hr"], r["uni_hr"], rtol=TOL)  # R: exp(coef(coxph(Surv(time, status) ~ v)))


def test_counts_and_exclusions_add_up(prognostic: tuple[Path, str, dict]) -> None:
    out, console, r = prognostic
    assert r["excluded"] == 15 and r["n_all"] - r["excluded"] == r["n"]  # R: length(fit$na.action)
    # the console's table header: the patients the fit used, and who was left out and why
    assert f"Multivariate Cox, OS ({r['n']} patients, {r['nevent']} events)" in console
    assert f"{r['excluded']} of {r['n_all']} patients excluded for missing values (wt.loss 14, ph.ecog 1)" in console
    markdown = (out / "prognostic_os.md").read_text()
    assert f"{r['n_all']} patients, {r['events_all']} events" in markdown  # R: nrow(lung), sum(status == 2)
    assert f"The multivariate Cox model uses {r['n']} patients with {r['nevent']} events" in markdown
    assert f"{r['nevent'] / 4:.1f} events per multivariate parameter" in markdown  # 151 / 4 terms
    assert f"## Multivariate Cox ({r['n']} patients, {r['nevent']} events)" in markdown


def test_medians_and_landmarks_are_months(prognostic: tuple[Path, str, dict]) -> None:
    out, _, r = prognostic
    km = pd.read_csv(out / "km_os.csv").set_index("group")
    assert km.loc["all", "n"] == r["n_all"] and km.loc["all", "events"] == r["events_all"]
    # R: summary(survfit(Surv(time, status) ~ 1, lung, conf.type = "log-log"))$table["median"], days -> months
    assert km.loc["all", "median"] == pytest.approx(r["median"] / DAYS_PER_MONTH, rel=1e-12)
    assert r["median"] == 310 and km.loc["all", "median"] == pytest.approx(10.1848, abs=1e-4)
    assert km.loc["all", "median_ci_low"] == pytest.approx(r["median_low"] / DAYS_PER_MONTH, rel=1e-12)  # "0.95LCL"
    assert km.loc["all", "median_ci_high"] == pytest.approx(r["median_high"] / DAYS_PER_MONTH, rel=1e-12)  # "0.95UCL"
    survival = [c for c in km.columns if c.startswith("s_12")][0]  # S at 12 months = 365.25 days
    assert km.loc["all", survival] == pytest.approx(r["surv_12m"], rel=1e-12)  # R: summary(km, times = 365.25)$surv
    markdown = (out / "prognostic_os.md").read_text()
    assert "Median, months (95% CI)" in markdown and "converted from days" in markdown


def test_kaplan_meier_and_log_rank_by_sex_match_r(lung: tuple[Path, Path, dict]) -> None:
    csv, mapping, r = lung
    out = csv.parent / "by_sex"
    done = runner.invoke(app, ["prognostic", str(csv), "--mapping", str(mapping), "--by", "sex", "--out", str(out)])
    assert done.exit_code == 0, done.output
    km = pd.read_csv(out / "km_os.csv")
    assert km["group"].astype(str).tolist() == ["1", "2"]
    # R: summary(survfit(Surv(time, status) ~ sex, lung))$table[, "median"] (270 and 426 days)
    np.testing.assert_allclose(km["median"], np.array(r["median_sex"]) / DAYS_PER_MONTH, rtol=1e-12)
    markdown = (out / "prognostic_os.md").read_text()
    # R: survdiff(Surv(time, status) ~ sex, lung)$chisq on 1 df
    assert f"chi2 = {r['lr_sex_chisq']:.2f} on {r['lr_sex_df']} df" in markdown


def test_log_rank_by_inst_drops_the_missing_group_as_r_does(lung: tuple[Path, Path, dict]) -> None:
    csv, mapping, r = lung
    out = csv.parent / "by_inst"
    done = runner.invoke(app, ["prognostic", str(csv), "--mapping", str(mapping), "--by", "inst",
                               "--covariates", "age,sex,ph.ecog>=2,wt.loss", "--out", str(out)])
    assert done.exit_code == 0, done.output
    markdown = (out / "prognostic_os.md").read_text()
    assert r["inst_na"] == 1 and r["lr_inst_df"] == 17  # R: survdiff(Surv(time, status) ~ inst, lung): 18 - 1 df
    assert f"chi2 = {r['lr_inst_chisq']:.2f} on {r['lr_inst_df']} df" in markdown
    table = pd.read_csv(out / "cox_multivariate_os.csv")
    assert "ph.ecog_ge_2" in set(table["term"])  # an R name in a cut-off


def test_a_tracked_default_pipeline_over_the_file_finishes(lung: tuple[Path, Path, dict]) -> None:
    csv, mapping, r = lung
    uri = f"sqlite:///{csv.parent / 'mlflow.db'}"
    done = runner.invoke(app, ["run", "--data", str(csv), "--mapping", str(mapping),
                               "--out", str(csv.parent / "reports"), "--tracking-uri", uri])
    assert done.exit_code == 0, done.output
    assert f"lung: {r['n_all']} patients, {r['events_all']} events" in " ".join(done.output.split())
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert {run.info.run_name: run.info.status for run in runs} == {
        "lung-seed0": "FINISHED", "coxph": "FINISHED", "coxnet": "FINISHED", "rsf": "FINISHED"}
    directory = csv.parent / "reports" / "lung"
    multivariate = pd.read_csv(directory / "cox_multivariate_os.csv")
    np.testing.assert_allclose(multivariate["hr"], r["hr"], rtol=TOL)  # R: exp(coef(fit)), inside the pipeline
