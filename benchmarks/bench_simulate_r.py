"""The simulation loop side by side with R: seconds per 1000 replicates of simulate + Cox fit +
measures, as a bare R loop, a bare lifelines loop and necml (its Cox engine in a bare loop, and
its study engine with 1 and 2 workers), in one command, with every ratio taken against the bare R
loop timed in the same command (issue 13, section 5).

What each line measures:

1. **Bare R loop** (an ``Rscript`` subprocess; the script is written to a temp file): ``--reps``
   replicates of: draw a cohort of n = 56 with p = 8 covariates (4 binary, 4 standard normal),
   Weibull proportional-hazards event times with fixed log-HRs, uniform censoring, times recorded
   in whole days (so a few event times tie and Efron's correction is exercised); fit
   ``survival::coxph(Surv(time, status) ~ ., ties = "efron")``; keep coef, SE and whether the Wald
   95% CI covers the true value. Timed inside R with ``proc.time()`` (the reference of every
   ratio), and as the subprocess's wall time (R start-up and ``library(survival)`` included).
2. **Bare lifelines loop**: the same data-generating process in numpy, ``CoxPHFitter`` (Efron
   ties) on a data frame per replicate; ``--lifelines-reps`` replicates (default ``--reps``; when
   fewer, the time is scaled to 1000 and the printout says so).
3. **necml Cox engine, bare loop** (:func:`necml.prognosis.fit_cox_newton`, the Newton-Efron fit
   that the study engine's ``cox`` method calls) on the very same numpy cohorts as 2. The study
   machinery cannot express this data-generating process: its cohorts come from a cohort spec,
   and the shipped EP-NEC spec (``configs/cohorts/epnec_atezolizumab_2025.yaml``) has only three
   OS terms (NLR > 3, LDH > ULN, atezolizumab), so p = 8 is impossible on it. The only numba path
   of ``necml/simulation/_methods.py`` is the Firth backend of ``cox_firth`` (firthmodels), a
   different (penalised) estimator: it is timed on the same cohorts as an extra line, fit alone
   and with the profile-likelihood CIs and LR tests the method computes (those on
   ``--firth-pl-reps`` replicates, scaled).
4. **necml study engine** (``run_study``, what ``necml simulate`` runs; the study YAML is written
   to a temp dir and loaded with ``load_study``), 1 worker and 2 workers, ``--study-reps``
   replicates (default ``--reps``), a ``cox`` method, n = 56: on the shipped EP-NEC spec (its
   3 OS terms), and, for p = 8 through the study machinery, on the shipped LCNEC spec
   (``configs/cohorts/lcnec_stage4_2025.yaml``) with the 8 terms of ``bench_simulate.py``.
   A replicate there is generate (the spec's full generator: copula covariates, the joint
   PFS/OS model, censoring) + Cox fit + rows; the measures (performance table with MCSEs) are
   computed once at the end. Printed: the replicate phase (``run_study``'s start to its last
   result stored, workers started and mechanisms sent included; the ratio vs R uses it), the
   whole ``run_study`` (its tables and plots too), the time to the first result, the speed-up of
   2 workers over 1 (target >= 1.8x), overall and after the first result, and the workers'
   fixed cost: the 2-worker time to first result less the compute of the chunk it carried (at
   the 1-worker rate), and the 2-worker replicate phase less half the 1-worker one; of
   ``--study-pairs`` alternated (1 worker, 2 workers) pairs, the pair with the median 2-worker
   speed-up is printed. The spec's calibration (numba-compiled, cached on disk) and imports are
   paid by a warm-up study first. The studies run before the Firth lines: firthmodels imports
   scikit-learn, whose OpenMP runtime would make the 2-worker studies use loky workers.

Agreement: the first 20 numpy cohorts of 2/3 are exported to R (CSV) and fitted by ``coxph``;
max |coef diff| and max |SE diff| of necml and of lifelines against R are printed, and likewise
for the first 20 replicates of the EP-NEC study (cohorts rebuilt from the study's seeds, the
study's stored estimates against R). Fits that necml reports as not converged (separation:
R returns a huge coefficient with a warning) are left out of the comparison and counted.

Run: ``uv run python benchmarks/bench_simulate_r.py [--reps 1000]`` (needs ``Rscript`` on PATH
with the ``survival`` package). Absolute times vary between machines and with the load: read the
ratios, which are taken within one command. On a loaded machine (load average at or above the
number of cores) the 2-worker speed-up is depressed: the second worker waits for a core.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
EPNEC = ROOT / "configs/cohorts/epnec_atezolizumab_2025.yaml"
LCNEC = ROOT / "configs/cohorts/lcnec_stage4_2025.yaml"
LCNEC_TERMS = ["age", "sex_male", "smoking", "ecog_ge_2", "met_bone", "met_liver", "met_brain", "arm_ici_chemo"]

# The data-generating process shared by the R loop and the Python loops.
N, P = 56, 8
BINARY_P = (0.5, 0.3, 0.2, 0.6)  # prevalences of x1..x4; x5..x8 are standard normal
BETA = (np.log(1.5), np.log(0.7), np.log(2.0), 0.0, 0.3, -0.2, 0.5, 0.0)  # true log-HRs
SHAPE, RATE = 1.2, 0.08  # Weibull: cumulative hazard RATE * exp(x'beta) * t^SHAPE (months)
CENS_MAX = 30.0  # censoring ~ U(0, 30) months
DAYS = 30.4375  # times recorded in whole days
Z = 1.959963984540054
AGREE = 20  # replicates exported to R for the agreement check

R_LOOP = """
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
reps <- as.integer(args[1]); seed <- as.integer(args[2])
n <- {n}L; beta <- c({beta}); pbin <- c({pbin})
shape <- {shape}; rate <- {rate}; cmax <- {cmax}; days <- {days}; z <- qnorm(0.975)
start <- proc.time()[["elapsed"]]
set.seed(seed)
est <- se <- matrix(NA_real_, reps, length(beta))
events <- numeric(reps)
for (r in seq_len(reps)) {{
  x <- cbind(matrix(rbinom(n * 4L, 1L, rep(pbin, each = n)), n), matrix(rnorm(n * 4L), n))
  colnames(x) <- paste0("x", seq_along(beta))
  t <- (rexp(n) / (rate * exp(drop(x %*% beta))))^(1 / shape)
  cens <- runif(n, 0, cmax)
  d <- data.frame(time = ceiling(pmin(t, cens) * days) / days, status = as.integer(t <= cens), x)
  fit <- coxph(Surv(time, status) ~ ., data = d, ties = "efron")
  est[r, ] <- coef(fit)
  se[r, ] <- sqrt(diag(fit$var))
  events[r] <- mean(d$status)
}}
truth <- matrix(beta, reps, length(beta), byrow = TRUE)
cover <- colMeans(abs(est - truth) <= z * se, na.rm = TRUE)
bias <- colMeans(est - truth, na.rm = TRUE)
inside <- proc.time()[["elapsed"]] - start
cat("inside", inside, "\\n")
cat("coverage", cover, "\\n")
cat("bias", bias, "\\n")
cat("events", mean(events), "\\n")
cat("version", R.version.string, "survival", as.character(packageVersion("survival")), "\\n")
"""

R_FIT = """
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
for (k in seq(1, length(args), by = 2)) {
  d <- read.csv(args[k])
  out <- NULL
  for (r in unique(d$rep)) {
    s <- d[d$rep == r, setdiff(names(d), "rep")]
    fit <- suppressWarnings(coxph(Surv(time, status) ~ ., data = s, ties = "efron"))
    out <- rbind(out, data.frame(rep = r, term = names(coef(fit)), coef = unname(coef(fit)),
                                 se = sqrt(diag(fit$var))))
  }
  write.csv(out, args[k + 1], row.names = FALSE)
}
"""


def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One cohort of the shared process: covariates (n x 8), times in months (whole days), events."""
    X = np.empty((N, P))
    X[:, :4] = rng.random((N, 4)) < np.asarray(BINARY_P)
    X[:, 4:] = rng.standard_normal((N, 4))
    latent = (rng.standard_exponential(N) / (RATE * np.exp(X @ np.asarray(BETA)))) ** (1 / SHAPE)
    cens = rng.uniform(0, CENS_MAX, N)
    return X, np.ceil(np.minimum(latent, cens) * DAYS) / DAYS, latent <= cens


@dataclass
class LoopResult:
    seconds: float
    reps: int
    coef: np.ndarray  # reps x p, NaN where the fit failed
    se: np.ndarray
    cover: np.ndarray  # per term: share of the fitted replicates whose Wald 95% CI covers the truth
    bias: np.ndarray
    failed: int = 0

    def summary(self) -> str:
        return _measures(self.cover, self.bias)


def _keep_measures(coef: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and bias per term over the fitted replicates (as the R loop computes them)."""
    ok = np.isfinite(coef).all(axis=1)
    truth = np.asarray(BETA)
    return (np.abs(coef[ok] - truth) <= Z * se[ok]).mean(axis=0), (coef[ok] - truth).mean(axis=0)


def _measures(cover: np.ndarray, bias: np.ndarray) -> str:
    return (f"coverage {cover.mean():.3f} (terms {cover.min():.3f}-{cover.max():.3f}), "
            f"mean |bias| {np.abs(bias).mean():.3f}")


def necml_loop(reps: int, seed: int) -> LoopResult:
    """Simulate (numpy) + necml Newton-Efron Cox + coef/SE/coverage kept, per replicate."""
    from necml.prognosis import fit_cox_newton

    rng = np.random.default_rng(seed)
    coef, se = np.full((reps, P), np.nan), np.full((reps, P), np.nan)
    failed = 0
    start = time.perf_counter()
    for r in range(reps):
        X, t, e = draw(rng)
        fit = fit_cox_newton(X, t, e)
        if fit.converged:
            coef[r], se[r] = fit.coef, fit.se
        else:
            failed += 1
    cover, bias = _keep_measures(coef, se)
    return LoopResult(time.perf_counter() - start, reps, coef, se, cover, bias, failed)


def lifelines_loop(reps: int, seed: int) -> LoopResult:
    """Simulate (numpy) + lifelines CoxPHFitter (Efron) + coef/SE/coverage kept, per replicate."""
    from lifelines import CoxPHFitter

    columns = [f"x{j + 1}" for j in range(P)]
    rng = np.random.default_rng(seed)
    coef, se = np.full((reps, P), np.nan), np.full((reps, P), np.nan)
    failed = 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns loudly about separation at n = 56
        for r in range(reps):
            X, t, e = draw(rng)
            frame = pd.DataFrame(X, columns=columns).assign(time=t, status=e.astype(int))
            try:
                fit = CoxPHFitter().fit(frame, "time", "status")
            except Exception:  # noqa: BLE001 - a non-converging replicate is part of the workload
                failed += 1
                continue
            coef[r], se[r] = fit.params_.to_numpy(), fit.standard_errors_.to_numpy()
    cover, bias = _keep_measures(coef, se)
    return LoopResult(time.perf_counter() - start, reps, coef, se, cover, bias, failed)


def firth_loop(reps: int, pl_reps: int, seed: int) -> tuple[float, float, int]:
    """Seconds of the Firth numba fit alone on ``reps`` cohorts, of fit + PL CIs + LR tests on
    ``pl_reps`` (the ``cox_firth`` method's work), and the compile/cache-load call's seconds."""
    from firthmodels import FirthCoxPH

    rng = np.random.default_rng(seed)
    cohorts = [draw(rng) for _ in range(max(reps, pl_reps))]
    start = time.perf_counter()
    X, t, e = cohorts[0]
    FirthCoxPH(backend="numba").fit(X, (e, t))  # numba compile or on-disk cache load
    first = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        for _ in range(reps):
            X, t, e = draw(rng)
            FirthCoxPH(backend="numba").fit(X, (e, t))
        fit_only = time.perf_counter() - start
        start = time.perf_counter()
        for X, t, e in cohorts[:pl_reps]:
            model = FirthCoxPH(backend="numba").fit(X, (e, t))
            model.conf_int(method="pl", max_iter=20)  # the method's _PL_ITER
            model.lrt()
        with_pl = time.perf_counter() - start
    return fit_only, with_pl, first


def r_loop(workdir: Path, reps: int, seed: int) -> dict[str, object]:
    script = workdir / "loop.R"
    script.write_text(R_LOOP.format(
        n=N, beta=", ".join(repr(float(b)) for b in BETA), pbin=", ".join(map(str, BINARY_P)),
        shape=SHAPE, rate=RATE, cmax=CENS_MAX, days=DAYS,
    ))
    start = time.perf_counter()
    done = subprocess.run(["Rscript", str(script), str(reps), str(seed)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"Rscript failed ({done.returncode}):\n{done.stderr}")
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.strip()}
    return {
        "inside": float(lines["inside"][0]), "wall": wall,
        "coverage": np.array(lines["coverage"], float), "bias": np.array(lines["bias"], float),
        "events": float(lines["events"][0]), "version": " ".join(lines["version"]),
    }


def r_fits(workdir: Path, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """R ``coxph`` (Efron) fits of each exported long frame (rep, time, status, covariates)."""
    script = workdir / "fit.R"
    script.write_text(R_FIT)
    args: list[str] = []
    for name, frame in frames.items():
        frame.to_csv(workdir / f"{name}.csv", index=False, float_format="%.17g")
        args += [str(workdir / f"{name}.csv"), str(workdir / f"{name}_fit.csv")]
    done = subprocess.run(["Rscript", str(script), *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"Rscript failed ({done.returncode}):\n{done.stderr}")
    return {name: pd.read_csv(workdir / f"{name}_fit.csv") for name in frames}


def _max_diff(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, int]:
    """Max |difference| over the rows both have finite, and the rows left out."""
    ok = np.isfinite(ours).all(axis=1) & np.isfinite(theirs).all(axis=1)
    return float(np.abs(ours[ok] - theirs[ok]).max()), int((~ok).sum())


# --- the study engine -------------------------------------------------------------------------


def _write_study(workdir: Path, name: str, spec: Path, reps: int, terms: list[str] | None) -> Path:
    method: dict[str, object] = {"name": "cox", "kind": "cox"}
    if terms:
        method["terms"] = terms
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "aims": "benchmark of the simulation loop (bench_simulate_r.py)", "seed": 1,
        "replicates": reps, "data": {"spec": str(spec), "endpoint": "os", "n": [N]},
        "methods": [method],
    }, sort_keys=False))
    return path


@dataclass
class StudyTiming:
    workers: int
    reps: int
    total: float  # all of run_study
    at: np.ndarray  # at[k]: seconds from run_study's start until k + 1 results were stored
    result: object

    @property
    def first(self) -> float:
        """Seconds to the first result stored."""
        return float(self.at[0])

    @property
    def last(self) -> float:
        """Seconds to the last result stored: the replicate phase."""
        return float(self.at[-1])

    @property
    def steady(self) -> float:
        """Replicates per second once every worker has delivered its first chunk (steady state)."""
        k = min(self.workers * _chunk(self.reps, self.workers), self.reps - 1) if self.workers > 1 else 1
        return (self.reps - k) / max(self.last - float(self.at[k - 1]), 1e-9)


def timed_study(path: Path, workdir: Path, workers: int) -> StudyTiming:
    from necml.simulation import load_study, resolve_study, run_study

    config = resolve_study(load_study(path), path.parent)
    at = np.full(config.n_replicates, np.nan)

    def progress(finished: int, total: int) -> None:
        if finished >= 1:
            at[finished - 1] = time.perf_counter() - start

    out = workdir / f"out_{path.stem}_w{workers}"
    start = time.perf_counter()
    result = run_study(config, out=out, workers=workers, progress=progress)
    total = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return StudyTiming(workers, config.n_replicates, total, np.fmin.accumulate(at[::-1])[::-1], result)


def study_cohorts(path: Path, reps: int) -> tuple[pd.DataFrame, list[str]]:
    """The first ``reps`` cohorts of the study, rebuilt from its seeds as ``run_replicate`` does
    (replicate r: ``child_seed(SeedSequence(seed), scenario.key, r)``, the cohort from ``"data"``)."""
    from necml.random import child_seed
    from necml.simulation import load_study, mechanism_for, resolve_study, scenarios

    config = resolve_study(load_study(path), path.parent)
    scenario = scenarios(config)[0]
    mech = mechanism_for(config.data, scenario)
    terms = config.methods[0].terms or mech.term_names
    frames = []
    for r in range(reps):
        seed = child_seed(np.random.SeedSequence(config.seed), scenario.key, r)
        frame = mech.sample(scenario.n, child_seed(seed, "data"))
        X = mech.design(frame, terms)
        t, e = mech.survival(frame)
        keep = X.notna().all(axis=1).to_numpy()
        frames.append(X[keep].assign(time=t[keep], status=e[keep].astype(int)).assign(rep=r))
    return pd.concat(frames, ignore_index=True), terms


WIDTH = 64


def _line(label: str, seconds_per_1000: float, r_ref: float, note: str = "") -> str:
    return f"  {label:<{WIDTH}} {seconds_per_1000:7.2f} s {seconds_per_1000 / r_ref:7.2f}x  {note}".rstrip()


def per_1000(seconds: float, reps: int) -> float:
    return seconds / reps * 1000


@dataclass
class Run:
    """Everything one command measured."""

    reps: int
    ll_reps: int
    study_reps: int
    pl_reps: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    warm: float
    r: dict[str, object]
    lifelines: LoopResult
    necml: LoopResult
    firth: tuple[float, float, float]
    studies: dict[str, tuple[StudyTiming, StudyTiming]]
    fits: dict[str, pd.DataFrame]
    epnec_terms: list[str]
    events: float
    tied: float
    forked: bool  # whether the 2-worker studies forked their workers (else loky)
    study_pairs: int


def _dgp_cohorts(seed: int) -> tuple[pd.DataFrame, float, float]:
    """The first AGREE cohorts of the loops (long, for R), and the event share and tied event times
    per cohort over 200 further cohorts."""
    rng = np.random.default_rng(seed)
    exported, events, tied = [], [], []
    for rep in range(AGREE):
        X, t, e = draw(rng)
        frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(P)]).assign(time=t, status=e.astype(int))
        exported.append(frame.assign(rep=rep))
    for _ in range(200):
        X, t, e = draw(rng)
        events.append(e.mean())
        tied.append(e.sum() - len(np.unique(t[e])))
    return pd.concat(exported, ignore_index=True), float(np.mean(events)), float(np.mean(tied))


def measure(args: argparse.Namespace) -> Run:
    reps = args.reps
    ll_reps, study_reps = min(args.lifelines_reps or reps, reps), args.study_reps or reps
    with tempfile.TemporaryDirectory(prefix="bench_simulate_r_") as tmp:
        workdir = Path(tmp)
        load_before = os.getloadavg()
        # warm-up: imports, the specs' calibrations (numba, cached on disk) and a tiny study each
        from necml.prognosis import fit_cox_newton

        fit_cox_newton(*draw(np.random.default_rng(0)))
        studies = {"epnec": (EPNEC, None)} | ({} if args.no_lcnec else {"lcnec": (LCNEC, LCNEC_TERMS)})
        paths = {k: _write_study(workdir, f"bench_{k}", spec, study_reps, terms)
                 for k, (spec, terms) in studies.items()}
        start = time.perf_counter()
        for k, (spec, terms) in studies.items():
            timed_study(_write_study(workdir, f"warm_{k}", spec, 2, terms), workdir, 1)
        warm = time.perf_counter() - start

        r = r_loop(workdir, reps, args.seed)
        lifelines = lifelines_loop(ll_reps, args.seed)
        necml = necml_loop(reps, args.seed)
        from necml.simulation._execute import can_fork

        forked = can_fork()  # as in `necml simulate` of Cox methods: nothing here has loaded OpenMP yet
        timings: dict[str, tuple[StudyTiming, StudyTiming]] = {}
        for k, path in paths.items():
            pairs = []
            for i in range(args.study_pairs):  # alternated (1 worker, 2 workers) pairs
                first, second = (1, 2) if i % 2 == 0 else (2, 1)
                runs = {w: timed_study(path, workdir, w) for w in (first, second)}
                pairs.append((runs[1], runs[2]))
            timings[k] = _median_pair(pairs)
        # after the studies: firthmodels imports scikit-learn, whose OpenMP runtime would make the
        # 2-worker studies above use loky workers (as a process with model methods does)
        firth = firth_loop(reps, args.firth_pl_reps, args.seed)

        exported, events, tied = _dgp_cohorts(args.seed)  # the loops' first cohorts, for R
        epnec_frame, epnec_terms = study_cohorts(paths["epnec"], AGREE)
        fits = r_fits(workdir, {"dgp": exported, "epnec": epnec_frame})
        load_after = os.getloadavg()
    return Run(reps, ll_reps, study_reps, args.firth_pl_reps, load_before, load_after, warm, r, lifelines, necml,
               firth, timings, fits, epnec_terms, events, tied, forked, args.study_pairs)


def _print_loops(run: Run, r_ref: float) -> None:
    r, reps = run.r, run.reps
    cores = len(os.sched_getaffinity(0))
    print(f"Simulation loop vs R: n = {N}, p = {P} (4 binary, 4 normal), Weibull PH (shape {SHAPE}), "
          f"U(0, {CENS_MAX:g}) censoring, times in days; Cox, Efron ties")
    print(f"  {cores} cores available; load average (1, 5, 15 min) before {_load(run.load_before)}, after "
          f"{_load(run.load_after)}; warm-up (imports, spec calibrations, 2-replicate studies) {run.warm:.1f} s")
    print(f"  DGP: {run.events:.0%} events (R loop: {r['events']:.0%}), {run.tied:.1f} tied event "
          f"times per cohort; {r['version']}")
    if reps != 1000 or run.study_reps != 1000:
        print(f"  NOTE: {reps} replicates (studies {run.study_reps}); seconds scaled linearly to 1000 replicates, "
              "one-off costs (R start-up, tables and plots) added once, worker start-up scaled with the rest")
    print()
    print(f"  {'seconds per 1000 replicates (generate + fit + coef/SE/coverage)':<{WIDTH}} {'':>9} {'vs R':>8}")
    print(_line(f"1. R bare loop, time inside R (proc.time), {reps} reps", r_ref, r_ref))
    startup = float(r["wall"]) - float(r["inside"])
    print(_line("   same, Rscript wall time: + R start-up and library(survival)", r_ref + startup, r_ref,
                f"(start-up {startup:.2f} s)"))
    scaled = f"({run.ll_reps} reps, scaled to 1000)" if run.ll_reps != 1000 else f"({run.ll_reps} reps)"
    print(_line("2. lifelines CoxPHFitter bare loop (numpy DGP)", per_1000(run.lifelines.seconds, run.ll_reps),
                r_ref, scaled))
    print(_line("3. necml Cox engine (fit_cox_newton) bare loop, same cohorts as 2", per_1000(run.necml.seconds, reps),
                r_ref, f"({reps} reps)"))
    fit_only, with_pl, first = run.firth
    print(_line("   Firth (cox_firth's numba backend), fit only, same cohorts", per_1000(fit_only, reps), r_ref,
                f"(penalised estimator; first call {first:.2f} s)"))
    print(_line("   Firth (numba) + PL CIs + LR tests, as the cox_firth method", per_1000(with_pl, run.pl_reps),
                r_ref, f"({run.pl_reps} reps, scaled)"))


def _median_pair(pairs: list[tuple[StudyTiming, StudyTiming]]) -> tuple[StudyTiming, StudyTiming]:
    """The pair whose 2-worker speed-up over the replicate phase is the median of the pairs'."""
    ranked = sorted(pairs, key=lambda pair: pair[0].last / pair[1].last)
    return ranked[(len(ranked) - 1) // 2]


def _print_studies(run: Run, r_ref: float) -> None:
    labels = {"epnec": "EP-NEC spec (3 OS terms)", "lcnec": "LCNEC spec (8 terms)"}
    for k, (one, two) in run.studies.items():
        n_rep = one.reps
        print(f"  necml study engine, run_study on a temp study YAML: {labels[k]}, n = {N}, cox, {n_rep} reps"
              f" (the median of {run.study_pairs} alternated pairs by 2-worker speed-up)")
        print("  (a replicate: the spec's generator + Cox fit + rows stored; the measures once at the end;"
              f" 2 workers {'forked' if run.forked else 'spawned by loky'})")
        for t in (one, two):
            s = "worker " if t.workers == 1 else "workers"
            number = "4." if t.workers == 2 else "3."
            print(_line(f"{number} {t.workers} {s}: replicate phase (start to last result stored)",
                        per_1000(t.last, n_rep), r_ref, f"(first result after {t.first:.2f} s)"))
            print(_line(f"   {t.workers} {s}: all of run_study (+ measures, tables, plots)",
                        per_1000(t.last, n_rep) + t.total - t.last, r_ref,
                        f"(+{t.total - t.last:.2f} s after the last)"))
        chunk = _chunk(n_rep, 2)
        print(f"     2-worker speed-up over 1 worker: {one.last / two.last:.2f}x over the replicate phase, "
              f"{two.steady / one.steady:.2f}x once both workers run (target >= 1.8x)")
        print(f"     workers' fixed cost: first result after {two.first:.2f} s, less its chunk of {chunk} replicates "
              f"at the 1-worker rate: {two.first - chunk / one.steady:.2f} s; the 2-worker replicate phase less "
              f"half the 1-worker one: {two.last - one.last / 2:.2f} s")


def _pivot(frame: pd.DataFrame, index: str, values: str, columns: list[str]) -> pd.DataFrame:
    return frame.pivot(index=index, columns="term" if "term" in frame else "estimand", values=values)[columns]


def _print_agreement(run: Run) -> None:
    print(f"  agreement with R coxph (Efron) on the same data, first {AGREE} replicates:")
    names = [f"x{j + 1}" for j in range(P)]
    rfit = _pivot(run.fits["dgp"], "rep", "coef", names).to_numpy()
    rse = _pivot(run.fits["dgp"], "rep", "se", names).to_numpy()
    for name, loop in (("necml fit_cox_newton", run.necml), ("lifelines", run.lifelines)):
        dc, left = _max_diff(loop.coef[:AGREE], rfit)
        ds, _ = _max_diff(loop.se[:AGREE], rse)
        print(f"    {name:<26} vs R: max |coef diff| {dc:.2e}, max |SE diff| {ds:.2e}"
              f"{f' ({left} not converged, left out)' if left else ''}")
    stored = run.studies["epnec"][0].result.replicates  # type: ignore[attr-defined]
    stored = stored[stored["replicate"] < AGREE]
    terms = run.epnec_terms
    ours, ours_se = _pivot(stored, "replicate", "estimate", terms), _pivot(stored, "replicate", "se", terms)
    failed = ~stored.groupby("replicate")["converged"].all()
    ours[failed], ours_se[failed] = np.nan, np.nan
    dc, left = _max_diff(ours.to_numpy(), _pivot(run.fits["epnec"], "rep", "coef", terms).to_numpy())
    ds, _ = _max_diff(ours_se.to_numpy(), _pivot(run.fits["epnec"], "rep", "se", terms).to_numpy())
    print(f"    {'EP-NEC study, stored rows':<26} vs R: max |coef diff| {dc:.2e}, max |SE diff| {ds:.2e}"
          f"{f' ({left} not converged, left out)' if left else ''}")
    print()
    print("  measures over all replicates (same DGP; R draws its own cohorts, lifelines and necml the same ones):")
    print(f"    R coxph                    {_measures(run.r['coverage'], run.r['bias'])}")  # type: ignore[arg-type]
    print(f"    lifelines                  {run.lifelines.summary()}; {run.lifelines.failed} raised")
    print(f"    necml fit_cox_newton       {run.necml.summary()}; {run.necml.failed} not converged (left out)")
    print("  Ratios are what to read (same command, same load); absolute times vary with the machine and its "
          "load,\n  and a loaded machine (load average >= cores) depresses the 2-worker speed-up.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000, help="replicates of every loop (default 1000)")
    parser.add_argument("--lifelines-reps", type=int, default=None, help="lifelines replicates (default --reps)")
    parser.add_argument("--study-reps", type=int, default=None, help="study-engine replicates (default --reps)")
    parser.add_argument("--firth-pl-reps", type=int, default=20, help="replicates of Firth with PL CIs (scaled)")
    parser.add_argument("--study-pairs", type=int, default=3,
                        help="alternated (1 worker, 2 workers) runs of each study; the median pair is printed")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--no-lcnec", action="store_true", help="skip the 8-term study on the LCNEC spec")
    args = parser.parse_args()
    if min(args.reps, args.study_reps or args.reps, args.lifelines_reps or args.reps) < AGREE:
        parser.error(f"--reps, --lifelines-reps and --study-reps must be at least {AGREE} (the agreement check)")
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript is not on PATH (needs R with the survival package)")
    run = measure(args)
    r_ref = per_1000(float(run.r["inside"]), run.reps)  # the reference of every ratio
    _print_loops(run, r_ref)
    _print_studies(run, r_ref)
    print()
    _print_agreement(run)


def _chunk(reps: int, workers: int) -> int:
    """Replicates per chunk sent to a worker (``necml.simulation._execute.chunks``)."""
    from necml.simulation._execute import chunks

    return len(chunks(list(range(reps)), workers)[0])


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
