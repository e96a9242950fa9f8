"""Stage 7: simulation studies (ADEMP): replicate the whole flow, measure performance with MCSE."""

from necml.simulation._config import Mechanism, MethodConfig, StudyConfig, TargetMcse, load_study
from necml.simulation._execute import SimulationError, execute
from necml.simulation._mechanism import Scenario, mechanism_for, scaled_spec, truth_sample
from necml.simulation._performance import estimand_measures, performance_table, summary_table
from necml.simulation._replicate import ReplicateResult, ReplicateTask, run_replicate, scenarios
from necml.simulation._store import ReplicateStore
from necml.simulation._study import StudyResult, check_study, resolve_study, run_study, study_hash

__all__ = [
    "Mechanism",
    "MethodConfig",
    "ReplicateResult",
    "ReplicateStore",
    "ReplicateTask",
    "Scenario",
    "SimulationError",
    "StudyConfig",
    "StudyResult",
    "TargetMcse",
    "check_study",
    "estimand_measures",
    "execute",
    "load_study",
    "mechanism_for",
    "performance_table",
    "resolve_study",
    "run_replicate",
    "run_study",
    "scaled_spec",
    "scenarios",
    "study_hash",
    "summary_table",
    "truth_sample",
]
