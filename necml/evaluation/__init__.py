"""Stage 5: metrics with stated definitions, small-sample validation, intervals and tuning.

Three jobs, three subpackages: :mod:`necml.evaluation.metrics` (what a prediction scores),
:mod:`necml.evaluation.validation` (resampling protocols and intervals) and
:mod:`necml.evaluation.tuning` (Optuna studies and journals). Their names are re-exported here.
Definitions: ``docs/conventions.md``.

Every name is imported on first use (:mod:`necml._lazy`): ``from necml.evaluation import
harrell_c`` does not import Optuna or matplotlib.
"""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports
from necml.evaluation import metrics, tuning, validation  # each imports its own names lazily: cheap

if TYPE_CHECKING:
    from necml.evaluation.metrics import *  # noqa: F403
    from necml.evaluation.tuning import *  # noqa: F403
    from necml.evaluation.validation import *  # noqa: F403

__all__ = sorted({*metrics.__all__, *tuning.__all__, *validation.__all__})

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
