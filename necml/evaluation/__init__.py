"""Stage 5: metrics with stated definitions, small-sample validation, intervals and tuning.

Three jobs, three subpackages: :mod:`necml.evaluation.metrics` (what a prediction scores),
:mod:`necml.evaluation.validation` (resampling protocols and intervals) and
:mod:`necml.evaluation.tuning` (Optuna studies and journals). Their names are re-exported here.
Definitions: ``docs/conventions.md``.
"""

from necml.evaluation import metrics, tuning, validation
from necml.evaluation.metrics import *  # noqa: F403
from necml.evaluation.tuning import *  # noqa: F403
from necml.evaluation.validation import *  # noqa: F403

__all__ = sorted({*metrics.__all__, *tuning.__all__, *validation.__all__})
