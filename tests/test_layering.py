"""A stage imports only from stages to its left (walks the ``ast`` of every module)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "necml"
# cross-cutting modules first; then the flow, left to right
ORDER = [
    "_lazy", "exceptions", "files", "random", "markdown", "environment", "config",
    "spec", "cohort", "dataset", "km", "fidelity", "prognosis", "models", "evaluation",
    "tracking", "report", "pipeline", "benchmark", "simulation", "failures", "cli",
]
# ``_lazy`` (PEP 562 package attributes) imports nothing of necml; the packages' lazily imported
# names stay visible here as ``if TYPE_CHECKING:`` import statements, which ``ast.walk`` reads too
CROSS_CUTTING = {"_lazy", "exceptions", "files", "random", "markdown", "environment", "config"}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "necml" else None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


MODULES = sorted(p for p in PKG.rglob("*.py") if p.parent != PKG or p.stem != "__init__")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_left(path: Path) -> None:
    rel = path.relative_to(PKG)
    own = rel.parts[0].removesuffix(".py")
    for module in _imports(path):
        stage = _stage(module)
        if stage is None or stage == own:
            continue
        if own in CROSS_CUTTING:
            # a cross-cutting module may use only the cross-cutting ones before it (config -> exceptions)
            if not (stage in CROSS_CUTTING and ORDER.index(stage) < ORDER.index(own)):
                pytest.fail(f"{rel} is cross-cutting but imports {module}")
            continue
        if stage in CROSS_CUTTING:
            continue
        assert ORDER.index(stage) < ORDER.index(own), f"{rel} imports {module} (to its right)"


def test_no_mlflow_outside_tracking() -> None:
    for path in PKG.rglob("*.py"):
        if "tracking" in path.parts:
            continue
        assert not any(m.split(".")[0] == "mlflow" for m in _imports(path)), path
