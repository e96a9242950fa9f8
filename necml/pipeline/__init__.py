"""Pipelines users invoke: ``necml run pipelines/<name>.yaml``."""

from necml.pipeline._config import PipelineConfig, load_pipeline
from necml.pipeline._run import PipelineResult, load_data, run_pipeline, write_outputs

__all__ = [
    "PipelineConfig",
    "PipelineResult",
    "load_data",
    "load_pipeline",
    "run_pipeline",
    "write_outputs",
]
