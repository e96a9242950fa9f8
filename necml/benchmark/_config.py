"""A benchmark's configuration: data sets x models x a resampling (necml's own or a given folds file)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from necml.exceptions import DataError

__all__ = ["BenchmarkConfig", "DatasetConfig", "ResamplingConfig", "benchmark_from_options", "load_benchmark"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DatasetConfig(BaseModel):
    """One data set: from a file (with its column types), scikit-survival or SurvSet; optionally its folds."""

    model_config = _FROZEN
    name: str | None = None
    file: Path | None = None
    sksurv: str | None = None
    survset: str | None = None
    time: str = "time"
    event: str = "event"
    factors: list[str] = Field(default_factory=list)
    numeric: list[str] | None = None
    folds: Path | None = Field(default=None, description="given outer resampling: set, iteration, row_id")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        given = [k for k in ("file", "sksurv", "survset") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of `file`, `sksurv`, `survset` must be given, but got {given or 'none'}")
        return self

    @property
    def label(self) -> str:
        """The data set's name in the results."""
        return self.name or (self.file.stem if self.file is not None else self.sksurv or self.survset or "data")


class ResamplingConfig(BaseModel):
    """necml's own resampling, for data sets without a folds file: repeated stratified K-fold."""

    model_config = _FROZEN
    folds: int = Field(default=3, ge=2)
    repeats: int = Field(default=10, ge=1)


class BenchmarkConfig(BaseModel):
    """Data sets x models x resampling; models untuned, with optional fixed parameters."""

    model_config = _FROZEN
    name: str = Field(default="benchmark", pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(default=1, ge=0)
    datasets: list[DatasetConfig] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    params: dict[str, dict[str, float | int | str | bool]] = Field(default_factory=dict)
    resampling: ResamplingConfig = Field(default_factory=ResamplingConfig)

    @model_validator(mode="after")
    def _known(self) -> BenchmarkConfig:
        from necml.models import MODELS

        unknown = [m for m in [*self.models, *self.params] if m not in MODELS]
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
        labels = [d.label for d in self.datasets]
        if len(set(labels)) < len(labels):
            raise ValueError(f"data set names must be unique, but got {labels}")
        return self


def load_benchmark(path: str | Path) -> BenchmarkConfig:
    """Load a benchmark YAML; relative paths are taken from the file's folder.

    Raises
    ------
    necml.exceptions.DataError
        The file is missing, not YAML, or fails validation (the message names the field).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such benchmark config.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = BenchmarkConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}\n  {e['msg']}" for e in exc.errors()]
        raise DataError(f"{path}:\n" + "\n".join(lines)) from None

    def absolute(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else path.parent / p

    datasets = [d.model_copy(update={"file": absolute(d.file), "folds": absolute(d.folds)}) for d in config.datasets]
    return config.model_copy(update={"datasets": datasets})


def _names(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def benchmark_from_options(
    *,
    data: Path | None = None,
    folds: Path | None = None,
    time: str = "time",
    event: str = "event",
    factors: str | None = None,
    numeric: str | None = None,
    sksurv: str | None = None,
    survset: str | None = None,
    models: str = "coxph",
    name: str = "benchmark",
    seed: int = 1,
) -> BenchmarkConfig:
    """The config of a command-line benchmark (``necml benchmark --data ... --folds ...``).

    ``sksurv`` and ``survset`` are comma-separated data set names; ``factors``, ``numeric``
    and ``models`` comma-separated column and model names.

    Raises
    ------
    necml.exceptions.DataError
        No data set, or an option fails validation.
    """
    datasets: list[dict] = []
    if data is not None:
        datasets.append({"file": data, "folds": folds, "time": time, "event": event, "factors": _names(factors),
                         "numeric": _names(numeric) if numeric else None})
    elif folds is not None:
        raise DataError("--folds needs --data (the folds name rows of that file).")
    datasets += [{"sksurv": s} for s in _names(sksurv)] + [{"survset": s} for s in _names(survset)]
    if not datasets:
        raise DataError("no data set: give a CONFIG, --data FILE, --sksurv NAME or --survset NAME.")
    try:
        return BenchmarkConfig(name=name, seed=seed, datasets=datasets, models=_names(models))
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise DataError("benchmark options:\n" + "\n".join(lines)) from None
