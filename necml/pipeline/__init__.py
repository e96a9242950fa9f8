"""Pipelines users invoke: ``necml run pipelines/<name>.yaml``."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.pipeline._config import PipelineConfig, load_pipeline
    from necml.pipeline._invoke import Invocation, invoke_pipeline, tuning_journal
    from necml.pipeline._outputs import write_outputs
    from necml.pipeline._reproduce import MetricCheck, Reproduction, reproduce_run
    from necml.pipeline._run import LoadedData, PipelineResult, load_data, run_pipeline, study_prefix

__all__ = [
    "Invocation",
    "LoadedData",
    "MetricCheck",
    "PipelineConfig",
    "PipelineResult",
    "Reproduction",
    "invoke_pipeline",
    "load_data",
    "load_pipeline",
    "reproduce_run",
    "run_pipeline",
    "study_prefix",
    "tuning_journal",
    "write_outputs",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
