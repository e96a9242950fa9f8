"""Stage 7: simulation studies (ADEMP): replicate the whole flow, measure performance with MCSE."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.simulation._config import Mechanism, MethodConfig, StudyConfig, TargetMcse, load_study
    from necml.simulation._execute import SimulationError, execute
    from necml.simulation._find_n import FindNResult, find_n, logistic_root, schoenfeld_n
    from necml.simulation._find_n_study import find_study_n, study_schoenfeld_n
    from necml.simulation._mechanism import Scenario, mechanism_for, scaled_spec, truth_sample
    from necml.simulation._methods import FAILURE_REASONS, run_method
    from necml.simulation._performance import (
        estimand_measures,
        expand_failures,
        performance_table,
        relative_precision,
        summary_table,
    )
    from necml.simulation._protocol import protocol_markdown, write_protocol
    from necml.simulation._replicate import ReplicateResult, ReplicateTask, run_replicate, scenarios
    from necml.simulation._report import failure_reasons
    from necml.simulation._store import ReplicateStore
    from necml.simulation._study import StudyResult, check_study, resolve_study, run_study, study_hash

__all__ = [
    "FAILURE_REASONS",
    "FindNResult",
    "expand_failures",
    "failure_reasons",
    "find_n",
    "find_study_n",
    "logistic_root",
    "protocol_markdown",
    "relative_precision",
    "run_method",
    "schoenfeld_n",
    "study_schoenfeld_n",
    "write_protocol",
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

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
