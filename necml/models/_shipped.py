"""The model configs shipped inside the package: ``{model: coxph}`` resolves from any folder.

``necml/models/configs/<model>.yaml`` are the same files as the repository's
``configs/models/`` (a test keeps them identical), so an installed necml finds them without
a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from necml.exceptions import SpecError

__all__ = ["SHIPPED_MODELS", "shipped_model_config"]

_FOLDER = Path(str(files("necml.models") / "configs"))
#: The models whose config necml ships.
SHIPPED_MODELS: tuple[str, ...] = tuple(sorted(p.stem for p in _FOLDER.glob("*.yaml")))


def shipped_model_config(model: str) -> Path:
    """The packaged config file of ``model`` (e.g. ``"coxph"``).

    Raises
    ------
    necml.exceptions.SpecError
        For a model necml ships no config of; the message lists those it ships.
    """
    path = _FOLDER / f"{model}.yaml"
    if model not in SHIPPED_MODELS:
        raise SpecError(f"no shipped config for model {model!r}; necml ships {', '.join(SHIPPED_MODELS)}")
    return path
