"""``import necml`` is cheap and gives the subpackages lazily (PEP 562); light import paths stay light.

The import checks run in a fresh interpreter: the test session itself has imported everything.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import necml
from necml._lazy import type_checking_imports

PKG = Path(necml.__file__).resolve().parent
HEAVY = ["matplotlib", "lifelines", "sklearn", "sksurv", "xgboost", "mlflow", "optuna"]
#: Packages whose ``__init__`` imports its names on first use (``necml/_lazy.py``).
LAZY_PACKAGES = [
    "necml.benchmark", "necml.evaluation", "necml.evaluation.metrics", "necml.evaluation.tuning",
    "necml.evaluation.validation", "necml.fidelity", "necml.km", "necml.models", "necml.pipeline",
    "necml.prognosis", "necml.report", "necml.simulation", "necml.tracking",
]


def _fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter; it prints one JSON value as its last line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _loaded_after(statement: str) -> list[str]:
    """The top-level packages in ``sys.modules`` of a fresh interpreter after ``statement``."""
    return _fresh(f"import json, sys\n{statement}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))")


def test_import_necml_imports_no_heavy_library() -> None:
    loaded = _loaded_after("import necml")
    assert not set(HEAVY) & set(loaded), sorted(set(HEAVY) & set(loaded))
    assert "numpy" not in loaded and "pandas" not in loaded


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_package_import_is_light(package: str) -> None:
    loaded = _loaded_after(f"import {package}")
    assert not set(HEAVY) & set(loaded), sorted(set(HEAVY) & set(loaded))


def test_simulation_worker_imports_no_plotting_nor_lifelines() -> None:
    """What a local simulation worker imports (``run_chunk`` and ``install_mechanisms``) needs
    neither matplotlib nor lifelines, nor MLflow, Optuna or xgboost. (scikit-learn and
    scikit-survival still come with :mod:`necml.dataset`, whose ``__init__`` imports
    ``sksurv.util`` for :func:`necml.dataset.structured_y`.)"""
    loaded = set(_loaded_after("import necml.simulation._execute"))
    assert not {"matplotlib", "lifelines", "mlflow", "optuna", "xgboost"} & loaded
    assert not set(HEAVY) & set(_loaded_after("import necml.simulation"))


def test_subpackages_are_lazy_attributes() -> None:
    found = _fresh(
        "import json, sys\n"
        "import necml\n"
        "before = 'necml.prognosis' in sys.modules\n"
        "fit = necml.prognosis.fit_cox\n"
        "print(json.dumps({'before': before, 'after': 'necml.prognosis' in sys.modules,\n"
        "                  'fit': fit.__module__, 'matplotlib': 'matplotlib' in sys.modules,\n"
        "                  'version': necml.__version__, 'dir': dir(necml)}))\n"
    )
    assert found["before"] is False and found["after"] is True
    assert found["fit"] == "necml.prognosis._cox"
    assert found["matplotlib"] is False  # fit_cox needs lifelines' C-index, not the plots
    assert found["version"] == necml.__version__
    assert set(necml.SUBPACKAGES) <= set(found["dir"])
    assert {"generate", "__version__"} <= set(found["dir"])


def test_dir_and_all_list_every_subpackage() -> None:
    on_disk = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert set(necml.SUBPACKAGES) == on_disk
    assert set(necml.SUBPACKAGES) <= set(dir(necml)) and set(necml.SUBPACKAGES) <= set(necml.__all__)
    for name in necml.SUBPACKAGES:
        assert getattr(necml, name) is importlib.import_module(f"necml.{name}")
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        necml.nonexistent  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ and len(set(module.__all__)) == len(module.__all__)
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        value = getattr(module, name)
        assert value is not None, name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_type_checking_imports_name_real_objects(package: str) -> None:
    """The ``if TYPE_CHECKING:`` statements the lazy look-up reads are the real imports: each
    names an existing object of the package's own modules, and the package gives that object."""
    module = importlib.import_module(package)
    names, stars = type_checking_imports(Path(module.__file__).read_text())
    assert names or stars
    for name, (source, attr) in names.items():
        assert source.startswith(f"{package}."), source
        assert getattr(module, name) is getattr(importlib.import_module(source), attr)


def test_lazy_packages_list_is_complete() -> None:
    """Every package ``__init__`` that imports nothing of its own at once is listed above."""
    found = []
    for init in PKG.rglob("__init__.py"):
        if init.parent == PKG:
            continue
        package = ".".join(init.relative_to(PKG.parent).with_suffix("").parts[:-1])
        if "lazy_exports" in {a.name for n in ast.walk(ast.parse(init.read_text()))
                              if isinstance(n, ast.ImportFrom) for a in n.names}:
            found.append(package)
    assert sorted(found) == sorted(LAZY_PACKAGES)


def test_submodules_resolve_as_attributes() -> None:
    found = _fresh(
        "import json, necml.prognosis\n"
        "print(json.dumps({'cox': necml.prognosis._cox.__name__}))\n"
    )
    assert found == {"cox": "necml.prognosis._cox"}


def test_xgboost_version_is_recorded_under_its_import_name_for_either_build() -> None:
    """Linux installs ``xgboost-cpu``; a run's record still names the version ``xgboost``."""
    from importlib import metadata

    import xgboost

    from necml.environment import package_versions

    assert package_versions(("xgboost",))["xgboost"] == xgboost.__version__
    builds = [d for d in ("xgboost", "xgboost-cpu") if _installed(metadata, d)]
    assert builds, "neither xgboost build is installed"


def _installed(metadata, name: str) -> bool:  # noqa: ANN001 - the importlib.metadata module
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
