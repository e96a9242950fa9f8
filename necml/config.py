"""Reading necml's YAML files (specs, pipelines, model configs, studies, mappings) into pydantic models.

One loader for every YAML file necml reads, so every file gets the same checks: it must exist,
be non-empty UTF-8 YAML, and have no duplicate keys (PyYAML keeps the last of two equal keys,
which silently turns an arm size of 17 into 170); validation errors name the file and the
dotted field path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from necml.exceptions import SpecError

M = TypeVar("M", bound=BaseModel)
#: The largest YAML file necml reads; the shipped specs are about 20 KB.
MAX_YAML_BYTES = 5 * 1024 * 1024

__all__ = ["MAX_YAML_BYTES", "format_validation_error", "load_config", "read_yaml"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping with the same key twice."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let PyYAML's own error speak
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first on line {first + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def format_validation_error(error: ValidationError, *, drop: Iterable[str] = ()) -> str:
    """Render a pydantic error as dotted field paths, one block per problem.

    Parameters
    ----------
    error : pydantic.ValidationError
        The error raised while validating a document.
    drop : iterable of str, optional
        Path parts to leave out (the discriminator tags pydantic inserts for tagged unions).

    Returns
    -------
    str
        Lines such as ``arms.ici.age.sd`` followed by the indented reason.
    """
    tags = frozenset(drop)
    lines = []
    for err in error.errors(include_url=False):
        loc = [
            str(p) for i, p in enumerate(err["loc"])
            if not (p in tags and i > 0 and err["loc"][i - 1] not in ("variables", "levels"))
        ]
        path = ".".join(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}\n    {msg} [type={err['type']}]")
    return "\n".join(lines)


def read_yaml(path: str | Path) -> object:
    """Parse a YAML file; a :class:`SpecError` names the file when it is missing, bad or has a duplicate key.

    Examples
    --------
    >>> import tempfile, os
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    >>> _ = f.write("n: 17\\nn: 170\\n"); f.close()
    >>> try:
    ...     read_yaml(f.name)
    ... except SpecError as e:
    ...     print(str(e).split(": ", 1)[1].splitlines()[0])
    not valid YAML: found duplicate key 'n' (first on line 1), line 2
    >>> os.unlink(f.name)
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise SpecError(f"{path}: {size / 1024**2:.1f} MB is larger than any necml config may be (5 MB)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise SpecError(f"{path}: the file is empty")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.constructor.ConstructorError as exc:
        if exc.problem and exc.problem.startswith("found duplicate key"):
            raise SpecError(f"{path}: not valid YAML: {exc.problem}, line {exc.problem_mark.line + 1}") from None
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def load_config(path: str | Path, model: type[M], *, what: str) -> M:
    """Load a YAML file into the pydantic ``model``; errors name the file and dotted fields.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.
    model : type
        A pydantic model class (frozen, ``extra="forbid"``).
    what : str
        What the file is, for messages (e.g. ``"pipeline config"``).

    Returns
    -------
    The validated model.

    Raises
    ------
    SpecError
        If the file is missing, empty, not YAML, not a mapping, or invalid.
    """
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a {what} must be a YAML mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: invalid {what}\n{format_validation_error(exc)}") from None
