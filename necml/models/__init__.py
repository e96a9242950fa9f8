"""Stage 4b: the survival model zoo, sklearn-compatible, preprocessing inside the pipeline."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.models._coxph import CoxPHSurvival, cox_baseline_hazard
    from necml.models._persist import SKOPS_TRUSTED_TYPES, load_model, save_model
    from necml.models._preprocess import make_preprocessor
    from necml.models._registry import MODELS, make_model, survival_at
    from necml.models._search_space import ModelConfig, Param, load_model_config
    from necml.models._xgb import XGBAFTSurvival, XGBCoxSurvival

__all__ = [
    "CoxPHSurvival",
    "MODELS",
    "SKOPS_TRUSTED_TYPES",
    "ModelConfig",
    "Param",
    "XGBAFTSurvival",
    "XGBCoxSurvival",
    "cox_baseline_hazard",
    "load_model",
    "load_model_config",
    "make_model",
    "make_preprocessor",
    "save_model",
    "survival_at",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
