"""Lazy package attributes (PEP 562): a package's names are imported on first use, not with it.

A package lists what it exports twice, in the ordinary way: its ``__all__``, and the import
statements that bring the names in, written under ``if TYPE_CHECKING:`` so that type checkers,
editors and ``tests/test_layering.py`` (which walks every import statement) still see them.
:func:`lazy_exports` reads those statements from the package's own source and returns the
module's ``__getattr__`` and ``__dir__``: ``necml.prognosis.fit_cox`` imports
``necml.prognosis._cox`` when first looked up, so that ``import necml.prognosis`` alone costs
almost nothing (no matplotlib, no lifelines) and a simulation worker that needs one function
pays only for that one.

A name is imported once and then stored on the package, so later look-ups (and ``mock.patch``)
see an ordinary attribute. A submodule (``necml.prognosis._cox``) is imported on attribute
access too, as it was when the package imported everything eagerly.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports"]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def type_checking_imports(source: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """The ``from M import a as b`` statements under the top-level ``if TYPE_CHECKING:`` blocks
    of ``source``: ``{b: (M, a)}``, and the modules ``M`` of ``from M import *``.

    Examples
    --------
    >>> type_checking_imports("if TYPE_CHECKING:\\n    from p._a import f, g as h\\n    from p.q import *\\n")
    ({'f': ('p._a', 'f'), 'h': ('p._a', 'g')}, ['p.q'])
    """
    names: dict[str, tuple[str, str]] = {}
    stars: list[str] = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom) or not stmt.module or stmt.level:
                continue
            for alias in stmt.names:
                if alias.name == "*":
                    stars.append(stmt.module)
                else:
                    names[alias.asname or alias.name] = (stmt.module, alias.name)
    return names, stars


def lazy_exports(
    package: str, init_file: str, exported: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package ``package`` whose ``__init__.py`` is
    ``init_file`` and whose public names are ``exported`` (its ``__all__``).

    Raises ``ImportError`` at once when a name of ``exported`` has no import statement to come
    from (and the package has no ``from M import *`` that could provide it).
    """
    names, stars = type_checking_imports(Path(init_file).read_text(encoding="utf-8"))
    exported = list(exported)
    eager = vars(sys.modules[package])  # names the package imported at once (set before this call)
    if not stars and (missing := sorted(set(exported) - names.keys() - eager.keys())):
        raise ImportError(f"{package}: __all__ names {missing} that no import under TYPE_CHECKING provides")

    def __getattr__(name: str) -> Any:
        module = sys.modules[package]
        if name in names:
            source, attr = names[name]
            value = getattr(importlib.import_module(source), attr)
        elif (star := next((s for s in stars if name in importlib.import_module(s).__all__), None)) is not None:
            value = getattr(importlib.import_module(star), name)
        elif name.startswith("__"):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        else:  # a submodule not imported yet, as ``import package.name`` would
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exported})

    return __getattr__, __dir__
