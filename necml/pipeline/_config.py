"""Pipeline configuration (``pipelines/*.yaml``): data, analysis, validation and models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

__all__ = [
    "DEFAULT_MODELS",
    "DataSource",
    "GridConfig",
    "MetricsConfig",
    "ModelEntry",
    "PipelineConfig",
    "ValidationConfig",
    "default_pipeline",
    "load_pipeline",
    "model_config_path",
]

PositiveTime = Annotated[float, Field(gt=0)]
_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Generate(BaseModel):
    """Generate a synthetic cohort from a spec."""

    model_config = _FROZEN
    spec: str
    n: StrictInt = Field(gt=0)


class DataSource(BaseModel):
    """Exactly one of: ``generate`` (spec + n), ``file`` (CSV/Parquet), ``dataset: veterans``."""

    model_config = _FROZEN
    generate: Generate | None = None
    file: str | None = None
    dataset: Literal["veterans"] | None = None
    mapping: str | None = Field(default=None, description="YAML data mapping for `file`")

    @model_validator(mode="after")
    def _exactly_one(self) -> DataSource:
        given = [k for k in ("generate", "file", "dataset") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of generate, file, dataset; got {given or 'none'}")
        return self


class GridConfig(BaseModel):
    """The integrated-Brier grid (months)."""

    model_config = _FROZEN
    start: float = Field(default=1.0, ge=0)
    stop: float = 24.0
    points: StrictInt = Field(default=24, ge=2)

    @model_validator(mode="after")
    def _ordered(self) -> GridConfig:
        if not self.start < self.stop:
            raise ValueError(f"`start < stop` must hold, but got (start={self.start}, stop={self.stop})")
        return self


class MetricsConfig(BaseModel):
    """Landmarks, Uno's tau, the IBS grid and the calibration landmark (months)."""

    model_config = _FROZEN
    landmarks: list[PositiveTime] = Field(default_factory=lambda: [6.0, 12.0, 24.0], min_length=1)
    tau: float = Field(default=24.0, gt=0)
    grid: GridConfig = Field(default_factory=GridConfig)
    calibration_at: float = Field(default=12.0, gt=0)
    calibration_groups: StrictInt = Field(default=3, ge=2)


class ValidationConfig(BaseModel):
    """The validation protocol."""

    model_config = _FROZEN
    scheme: Literal["cv", "bootstrap", "holdout"] = "cv"
    folds: StrictInt = Field(default=5, ge=2)
    repeats: StrictInt = Field(default=5, ge=1)
    bootstrap: StrictInt = Field(default=100, ge=1)
    holdout_fraction: float = Field(default=0.3, gt=0, lt=1)
    ci_resamples: StrictInt = Field(default=200, ge=10)
    intervals: Literal["fixed", "nested"] = Field(
        default="fixed",
        description="fixed: percentile intervals with the fitted models held fixed (always reported); "
        "nested: also Bates-Hastie-Tibshirani nested-CV intervals that include refitting (cv only, "
        "per-patient losses: Brier, IBS)",
    )
    nested_reps: StrictInt = Field(default=10, ge=1, description="nested-CV repetitions (K(K-1)/2 fits each)")

    @model_validator(mode="after")
    def _nested_needs_cv(self) -> ValidationConfig:
        if self.intervals == "nested" and self.scheme != "cv":
            raise ValueError(f"intervals: nested needs scheme: cv, got scheme: {self.scheme}")
        return self


class ModelEntry(BaseModel):
    """A model: its config file (``configs/models/*.yaml``) or a shipped model's name, and its tuning budget.

    ``{model: coxph}`` takes the config necml ships for ``coxph`` (the same file as the
    repository's ``configs/models/coxph.yaml``), from any folder. A ``config`` path is read from
    the working directory, else relative to the pipeline file; a shipped one that is not there
    (``configs/models/coxph.yaml`` in a pipeline copied out of the repository) is the packaged file.
    """

    model_config = _FROZEN
    config: str | None = None
    model: str | None = Field(default=None, description="a shipped model (coxph, coxnet, rsf, ...)")
    n_trials: StrictInt = Field(default=0, ge=0)
    inner_folds: StrictInt = Field(default=3, ge=2)

    @model_validator(mode="after")
    def _config_or_model(self) -> ModelEntry:
        if (self.config is None) == (self.model is None):
            raise ValueError("give exactly one of `config` (a model config file) or `model` (a shipped model's name)")
        if self.model is not None:
            from necml.models._shipped import SHIPPED_MODELS

            if self.model not in SHIPPED_MODELS:
                raise ValueError(f"unknown model {self.model!r}; necml ships {', '.join(SHIPPED_MODELS)}")
        return self


def model_config_path(entry: ModelEntry, base: Path) -> Path:
    """The config file of a pipeline's model entry (see :class:`ModelEntry`)."""
    from necml.models._shipped import SHIPPED_MODELS, shipped_model_config

    if entry.model is not None:
        return shipped_model_config(entry.model)
    given = Path(entry.config or "")
    path = given if given.exists() or given.is_absolute() else base / given
    if not path.exists() and given.parent.name == "models" and given.suffix == ".yaml" and given.stem in SHIPPED_MODELS:
        return shipped_model_config(given.stem)
    return path


class PipelineConfig(BaseModel):
    """A whole pipeline: data -> validate -> prognostic analysis -> models -> tables and plots."""

    model_config = _FROZEN
    # a name becomes a folder under --out: one safe path component, never "." or ".."
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    description: str = ""
    seed: StrictInt = Field(default=0, ge=0)
    data: DataSource
    endpoint: str = "os"
    covariates: list[str] | None = None
    by: str | None = None
    prognostic: bool = True
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    models: list[ModelEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _safe_name(self) -> PipelineConfig:
        if set(self.name) == {"."}:
            raise ValueError(f"name {self.name!r} is not a folder name: it would put the run's outputs over --out")
        if self.name.startswith((".", "-")):
            raise ValueError(f"name {self.name!r} is not a folder name: it starts with '.' or '-'")
        return self


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Load ``pipelines/<name>.yaml``; errors name the file and the dotted field."""
    from necml.config import load_config

    return load_config(path, PipelineConfig, what="pipeline config")


#: The models of :func:`default_pipeline`: Cox, elastic-net Cox and a random survival forest, untuned.
DEFAULT_MODELS = ("coxph", "coxnet", "rsf")


def default_pipeline(data_file: str | Path, endpoint: str = "os") -> PipelineConfig:
    """The pipeline ``necml run --data FILE --mapping M.yaml`` runs when no config is given.

    Named after the file (``lung.csv`` -> ``lung``): the prognostic analysis of ``endpoint``,
    then :data:`DEFAULT_MODELS` at their shipped defaults, validated by 5-fold CV repeated twice,
    with metrics at 6, 12 and 24 months (clipped to the follow-up).
    """
    import re

    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data_file).stem).strip("._-") or "data"
    return PipelineConfig(
        name=stem[:100],
        description=f"necml's default pipeline over {Path(data_file).name}",
        data=DataSource(file=str(data_file)),
        endpoint=endpoint,
        validation=ValidationConfig(scheme="cv", folds=5, repeats=2, ci_resamples=100),
        models=[ModelEntry(model=m) for m in DEFAULT_MODELS],
    )
