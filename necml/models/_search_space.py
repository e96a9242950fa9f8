"""A model's Optuna search space, as data (``configs/models/<model>.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ModelConfig", "Param", "load_model_config"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Scalar = float | int | str | bool | None


class Param(BaseModel):
    """One tunable hyperparameter: a float or int range (optionally log-scaled) or choices."""

    model_config = _FROZEN
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Scalar] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Param:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs non-empty `choices`")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low}, high={self.high})")
        elif self.log and self.low <= 0:
            raise ValueError(f"a log-scaled range needs low > 0, but got low={self.low}")
        return self

    def suggest(self, trial: object, name: str) -> Scalar:
        """Ask an Optuna trial for this parameter."""
        if self.type == "categorical":
            return trial.suggest_categorical(name, self.choices)  # type: ignore[attr-defined]
        if self.type == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)  # type: ignore[attr-defined]
        return trial.suggest_float(name, self.low, self.high, log=self.log)  # type: ignore[attr-defined]


class ModelConfig(BaseModel):
    """A model of the zoo with fixed parameters and a search space."""

    model_config = _FROZEN
    model: str
    description: str = ""
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    defaults: dict[str, Scalar] = Field(
        default_factory=dict, description="searched params, untuned"
    )
    search: dict[str, Param] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _disjoint(self) -> ModelConfig:
        both = sorted(set(self.fixed) & set(self.search))
        if both:
            raise ValueError(f"parameters both fixed and searched: {', '.join(both)}")
        stray = sorted(set(self.defaults) - set(self.search))
        if stray:
            raise ValueError(
                f"defaults are for searched parameters; not searched: {', '.join(stray)}"
            )
        return self

    @property
    def untuned(self) -> dict[str, Scalar]:
        """Parameters used without tuning: the defaults of searched ones plus the fixed ones."""
        return {**self.defaults, **self.fixed}

    def suggest(self, trial: object) -> dict[str, Scalar]:
        """Parameters for one Optuna trial: the fixed ones plus suggested ones."""
        return {**self.fixed, **{k: p.suggest(trial, k) for k, p in self.search.items()}}


def load_model_config(path: str | Path) -> ModelConfig:
    """Load ``configs/models/<model>.yaml``; errors name the file and field."""
    from necml.config import load_config

    config = load_config(path, ModelConfig, what="model config")
    _check_parameters(path, config)
    return config


def _check_parameters(path: str | Path, config: ModelConfig) -> None:
    """Build the estimator once with every parameter the file names: a typo fails here, with the file."""
    from necml.exceptions import SpecError
    from necml.models._registry import MODELS

    if config.model not in MODELS:
        raise SpecError(f"{path}: model: unknown model {config.model!r}; known: {', '.join(MODELS)}")
    trial = {
        k: p.choices[0] if p.choices else (int(p.low or 0) if p.type == "int" else p.low)
        for k, p in config.search.items()
    }
    try:
        estimator = MODELS[config.model]({**config.untuned, **trial}, 0)
        if hasattr(estimator, "_parameter_constraints"):
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        text = str(exc).replace("__init__()", "").strip()
        raise SpecError(f"{path}: fixed/defaults/search: not valid parameters of {config.model!r} ({text})") from None
