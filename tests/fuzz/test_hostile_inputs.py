"""Hostile inputs: every one is refused cleanly.

For each class of the hardening issue: a non-zero exit, one message naming the file, field or
line and the reason, no traceback, no file left, nothing outside ``--out`` touched. The CLI is
invoked in-process (typer's runner), which shows the same exit code and messages as a
subprocess, in milliseconds.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from necml.cli import app
from tests.conftest import COHORTS, ROOT

runner = CliRunner()
LCNEC = COHORTS / "lcnec_stage4_2025.yaml"
RAW_SPEC = yaml.safe_load(LCNEC.read_text())
COXPH = str(ROOT / "configs/models/coxph.yaml")


def _tree(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its size (directories as -1)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size if p.is_file() and not p.is_symlink() else -1)
        for p in root.rglob("*")
    }


def refused(args: list[str], *, names: tuple[str, ...], watch: Path, code: int = 2) -> str:
    """Run ``necml ARGS``; assert a clean refusal that names ``names``, and that ``watch`` is unchanged."""
    before = _tree(watch)
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "error:" in result.output
    flat = " ".join(result.output.split())
    for name in names:
        assert name in flat, (name, result.output)
    assert _tree(watch) == before, "a refused command changed files"
    return result.output


def _spec(tmp_path: Path, change: Callable[[dict], None], *, name: str = "spec.yaml") -> Path:
    raw = copy.deepcopy(RAW_SPEC)
    change(raw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _set(*keys: object, value: object) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _first_correlation(raw: dict) -> dict:
    return raw["dependence"]["rank_correlations"][0]


# --- 2. inputs that silently changed the answer: specs --------------------------------------------

SPEC_CASES = {
    "bool as a count": (_set("arms", "chemo", "n", value=True), ("arms.chemo.n", "integer")),
    "self-correlation": (
        lambda raw: _first_correlation(raw).update(between=["ecog", "ecog"]),
        ("rank_correlations.0.between", "itself"),
    ),
    "the same pair twice": (
        lambda raw: raw["dependence"]["rank_correlations"].append({**_first_correlation(raw), "rho": -0.3}),
        ("between", "already given"),
    ),
    "count against percent": (
        _set("variables", "smoking", "arms", "chemo", "count", value=3),
        ("variables.smoking.arms.chemo.count", "must match"),
    ),
    "impossible share_above": (
        lambda raw: raw["variables"]["age"]["arms"]["chemo"]["share_above"].update(
            cutoff=95.0, percent=90.0, count=None
        ),
        ("variables.age.arms.chemo", "share_above", "impossible"),
    ),
    "median PFS above median OS": (
        lambda raw: raw["outcomes"]["pfs"]["arms"]["chemo"].update(median=40.0, ci=None),
        ("outcomes.pfs.arms.chemo.median", "median PFS <= median OS"),
    ),
    "infinite HR": (lambda raw: raw["outcomes"]["os"]["effects"][0].update(hr=float("inf"), ci=None), ("hr", "finite")),
    "HR 1e300": (lambda raw: raw["outcomes"]["os"]["effects"][0].update(hr=1e300, ci=None), ("hr", "less than")),
    "calibration_n 1e12": (_set("calibration_n", value=10**12), ("calibration_n", "less than or equal")),
    "a 50 MB title": (_set("title", value="x" * 3000), ("title", "at most 2000")),
}


@pytest.mark.parametrize("case", SPEC_CASES, ids=list(SPEC_CASES))
def test_spec_refused_by_validate_with_the_field(tmp_path: Path, case: str) -> None:
    change, names = SPEC_CASES[case]
    spec = _spec(tmp_path, change)
    refused(["validate", str(spec)], names=(str(spec), *names), watch=tmp_path)


FILE_CASES = {
    "duplicate key": (b"name: a\nname: b\n", ("duplicate key 'name'", "line 2")),
    "binary": (bytes(range(256)) * 4, ("not a UTF-8 text file",)),
    "latin-1": ("title: caf\u00e9\n".encode("latin-1"), ("not a UTF-8 text file",)),
    "empty": (b"   \n", ("empty",)),
    "not a mapping": (b"- 1\n- 2\n", ("YAML mapping",)),
    "too large": (b"title: '" + b"x" * (6 * 1024 * 1024) + b"'\n", ("larger than",)),
}


@pytest.mark.parametrize("case", FILE_CASES, ids=list(FILE_CASES))
@pytest.mark.parametrize("command", ["validate", "run", "simulate"])
def test_malformed_yaml_files_are_refused_by_every_reader(tmp_path: Path, case: str, command: str) -> None:
    content, names = FILE_CASES[case]
    path = tmp_path / "file.yaml"
    path.write_bytes(content)
    extra = ["--out", str(tmp_path / "out"), "--no-track"] if command != "validate" else []
    refused([command, str(path), *extra], names=(str(path), *names), watch=tmp_path)


def test_rich_markup_in_a_title_is_printed_as_text(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _set("title", value="[/red] [bold]x"))
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert "[/red] [bold]x" in " ".join(result.output.split())


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(path=("variables", "age", "arms", "chemo", "mean"), value=1.3407807929942597e154)  # overflowed Cantelli
@example(path=("variables", "age", "arms", "chemo", "sd"), value=1e300)
@given(
    path=st.sampled_from(
        [
            ("arms", "chemo", "n"),
            ("calibration_n",),
            ("calibration_seed",),
            ("title",),
            ("variables", "age", "arms", "chemo", "mean"),
            ("variables", "age", "arms", "chemo", "sd"),
            ("variables", "sex", "arms", "ici_chemo", "percent"),
            ("outcomes", "os", "arms", "chemo", "median"),
            ("outcomes", "pfs", "treatment", "ici_chemo", "hr"),
            ("follow_up", "cutoff"),
            ("dependence", "rank_correlations"),
        ]
    ),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**15), max_value=10**15),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    ),
)
def test_any_garbage_in_a_spec_field_is_refused_cleanly(tmp_path: Path, path: tuple, value: object) -> None:
    spec = _spec(tmp_path, _set(*path, value=value), name="garbage.yaml")
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert str(spec) in " ".join(result.output.split())


# --- 1. data loss and overwrites --------------------------------------------------------------------


def _pipeline(tmp_path: Path, **changes: object) -> Path:
    raw = {
        "name": "tiny",
        "seed": 1,
        "data": {"generate": {"spec": str(LCNEC), "n": 60}},
        "prognostic": False,
        "validation": {"scheme": "cv", "folds": 2, "repeats": 1, "ci_resamples": 10},
        "models": [{"config": COXPH}],
    } | changes
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("name", "reason"),
    [(".", "name"), ("..", "name"), ("a/b", "pattern"), ("", "pattern"), (".hidden", "name")],
)
@pytest.mark.parametrize("command", ["run", "simulate"])
def test_names_that_become_paths_are_one_safe_component(tmp_path: Path, name: str, reason: str, command: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    if command == "run":
        config = _pipeline(tmp_path, name=name)
    else:
        config = tmp_path / "study.yaml"
        config.write_text(
            yaml.safe_dump(
                {"name": name, "aims": "x", "replicates": 2, "data": {"spec": str(LCNEC), "n": [31]},
                 "methods": [{"name": "cox", "kind": "cox"}]}
            )
        )
    refused([command, str(config), "--out", str(out), "--no-track"], names=("name", reason), watch=tmp_path)


def test_out_that_is_a_file_or_a_device_is_refused_before_computing(tmp_path: Path) -> None:
    config = _pipeline(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("user data")
    refused(["run", str(config), "--out", str(afile), "--no-track"], names=(str(afile), "not a directory"),
            watch=tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(["run", str(config), "--out", str(fifo), "--no-track"], names=("named pipe", "not a directory"),
            watch=tmp_path)
    refused(["generate", str(LCNEC), "--n", "31", "--out", str(fifo)], names=(str(fifo), "not a regular file"),
            watch=tmp_path)
    refused(["generate", str(LCNEC), "--n", "31", "--out", str(tmp_path)], names=(str(tmp_path), "not a regular"),
            watch=tmp_path)
    refused(["fidelity", str(LCNEC), "--n", "2000", "--out", str(afile)], names=("not a directory",), watch=tmp_path)
    assert afile.read_text() == "user data"


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_node_such_as_dev_null_is_never_replaced(tmp_path: Path) -> None:
    # a private copy of /dev/null (same major/minor): a regression must not replace the real one
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    before = os.lstat(device)
    result = runner.invoke(app, ["generate", str(LCNEC), "--n", "31", "--out", str(device)])
    assert result.exit_code == 2 and "character device" in result.output, result.output
    after = os.lstat(device)
    assert (before.st_ino, before.st_mode, before.st_rdev) == (after.st_ino, after.st_mode, after.st_rdev)


@pytest.mark.parametrize("kind", ["file", "foreign folder", "symlink"])
def test_a_non_run_directory_at_out_name_is_left_alone(tmp_path: Path, kind: str) -> None:
    config = _pipeline(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "tiny"
    if kind == "file":
        target.write_text("user data")
    elif kind == "foreign folder":
        target.mkdir()
        (target / "thesis.tex").write_text("user data")
    else:
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    refused(["run", str(config), "--out", str(out), "--no-track"], names=(str(target), "not a"), watch=tmp_path)


def test_sizes_that_do_not_fit_in_memory_say_the_memory(tmp_path: Path) -> None:
    refused(["generate", str(LCNEC), "--n", str(10**12), "--out", str(tmp_path / "c.parquet")],
            names=("--n", "of memory", "available"), watch=tmp_path)
    refused(["fidelity", str(LCNEC), "--n", str(10**12), "--out", str(tmp_path)], names=("--n", "of memory"),
            watch=tmp_path)


# --- 2. user data -------------------------------------------------------------------------------------

def _data(tmp_path: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    frame = pd.DataFrame(
        {"months": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], "died": [1, 0, 1, 1, 0, 1, 1, 0],
         "age": [50.0, 61, 70, 55, 66, 72, 58, 63]}
    )
    path = tmp_path / "data.csv"
    change(frame).to_csv(path, index=False)
    return path


DATA_CASES = {
    "all times 0": (lambda f: f.assign(months=0.0), ("'months'", "every time is 0")),
    "inf time": (lambda f: f.assign(months=[1.0, float("inf"), 3, 4, 5, 6, 7, 8]), ("'months'", "infinite time")),
    "inf covariate": (lambda f: f.assign(age=[50.0, 61, float("inf"), 55, 66, 72, 58, 63]), ("'age'", "infinite")),
    "duplicate columns": (lambda f: f.set_axis(["months", "died", "months"], axis=1), ("duplicate column", "'months'")),
}


@pytest.mark.parametrize("case", DATA_CASES, ids=list(DATA_CASES))
def test_bad_user_data_is_refused_with_file_and_column(tmp_path: Path, case: str) -> None:
    change, names = DATA_CASES[case]
    data = _data(tmp_path, change)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"endpoints": {"os": {"time": "months", "event": "died"}},
                                       "covariates": {"age": {"type": "continuous"}}}))
    out = tmp_path / "out"
    refused(["prognostic", str(data), "--mapping", str(mapping), "--out", str(out)], names=(str(data), *names),
            watch=tmp_path)


def test_latin1_and_binary_csv_are_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("months,died,\u00e2ge\n1,1,50\n2,0,60\n".encode("latin-1"))
    refused(["prognostic", str(latin), "--out", str(tmp_path / "o")], names=(str(latin), "UTF-8"), watch=tmp_path)
    binary = tmp_path / "binary.parquet"
    binary.write_bytes(os.urandom(4096))
    refused(["prognostic", str(binary), "--out", str(tmp_path / "o")], names=(str(binary), "Parquet"),
            watch=tmp_path)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"metrics": {"landmarks": [-6.0, 12.0]}}, ("metrics.landmarks.0", "greater than 0")),
        ({"seed": True}, ("seed", "integer")),
        ({"data": {"generate": {"spec": str(LCNEC), "n": True}}}, ("data.generate.n", "integer")),
    ],
)
def test_pipeline_fields_that_silently_changed_the_answer(tmp_path: Path, change: dict, names: tuple) -> None:
    config = _pipeline(tmp_path, **change)
    refused(["run", str(config), "--out", str(tmp_path / "out"), "--no-track"], names=(str(config), *names),
            watch=tmp_path)


def test_bad_model_parameters_are_refused_with_the_file(tmp_path: Path) -> None:
    model = tmp_path / "bogus.yaml"
    model.write_text("model: coxph\nfixed: {bogus: 1}\n")
    config = _pipeline(tmp_path, models=[{"config": str(model)}])
    out = str(tmp_path / "out")
    refused(["run", str(config), "--out", out, "--no-track"], names=(str(model), "bogus"), watch=tmp_path)


# --- 3. studies ---------------------------------------------------------------------------------------

def _study(tmp_path: Path, **changes: object) -> Path:
    raw = {"name": "s", "aims": "x", "replicates": 2, "data": {"spec": str(LCNEC), "n": [31]},
           "methods": [{"name": "cox", "kind": "cox"}]} | changes
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"replicates": None, "target": {"measure": "coverage", "mcse": 1e-9}}, ("target.mcse", "at most")),
        ({"methods": [{"name": "m", "kind": "python", "callable": "no_such_module_xyz:f"}]},
         ("methods.0.callable", "cannot import module 'no_such_module_xyz'")),
        ({"methods": [{"name": "m", "kind": "python", "callable": "os.path:no_such_function"}]},
         ("methods.0.callable", "no function 'no_such_function'")),
        ({"landmarks": [-1.0]}, ("landmarks.0", "greater than 0")),
    ],
)
def test_studies_refused_before_the_first_replicate(tmp_path: Path, change: dict, names: tuple) -> None:
    study = _study(tmp_path, **change)
    out = tmp_path / "out"
    refused(["simulate", str(study), "--out", str(out), "--no-track"], names=names, watch=tmp_path)
    assert not out.exists(), "no store may be left behind"


# --- 4. trust boundaries ------------------------------------------------------------------------------

def test_log_never_follows_links_out_of_the_run_directory(tmp_path: Path) -> None:
    from necml.tracking._log import regular_files

    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    (run / "metrics.csv").write_text("a\n")
    (run / "tables" / "km.csv").write_text("a\n")
    (run / "etc").symlink_to("/etc")
    (run / "passwd").symlink_to("/etc/passwd")
    (run / "tables" / "hosts").symlink_to("/etc/hosts")
    found = sorted(str(p.relative_to(run)) for p in regular_files(run))
    assert found == ["metrics.csv", "tables/km.csv"]


def test_a_crafted_record_is_refused_before_analysis(tmp_path: Path) -> None:
    from necml.exceptions import ReproductionError
    from necml.pipeline import load_pipeline
    from necml.pipeline._reproduce import _check_inputs

    record_dir = tmp_path / "record"
    record_dir.mkdir()
    outside = _pipeline(tmp_path)  # its model config is an absolute path outside the record
    with pytest.raises(ReproductionError, match="points outside the run's record"):
        _check_inputs(load_pipeline(outside), record_dir, {"data": {"sha256": "0" * 64}})
    secret = tmp_path / "secret.csv"
    secret.write_text("os_months,os_event,arm\n1,1,a\n2,0,b\n3,1,a\n")
    (record_dir / "inputs" / "models").mkdir(parents=True)
    (record_dir / "inputs" / "models" / "coxph.yaml").write_text(Path(COXPH).read_text())
    crafted = load_pipeline(_pipeline(tmp_path, data={"file": str(secret)},
                                      models=[{"config": "inputs/models/coxph.yaml"}]))
    with pytest.raises(ReproductionError, match="differ from the recorded data"):
        _check_inputs(crafted, record_dir, {"data": {"sha256": "0" * 64}})


# --- 3. one error path: the tracking store is down ---------------------------------------------------

@pytest.mark.parametrize("command", [["runs"], ["compare", "a", "b"], ["reproduce", "a", "--no-track"]])
def test_a_dead_server_is_one_message_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    from tests.tracking.conftest import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, [*command, "--tracking-uri", uri])
    assert result.exit_code in (2, 3), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "tracking store" in result.output or uri in result.output
