"""Stage 2 of the flow: spec + n + seed -> synthetic cohort.

Marginals (:mod:`._marginals`), copula (:mod:`._copula`), joint PFS/OS with its calibration
(:mod:`.outcomes`) and censoring (:mod:`._censoring`), wired by
:func:`generate_cohort`.
"""

from necml.cohort._censoring import Censoring
from necml.cohort._departures import replaced_variables
from necml.cohort._generate import CHUNK_SIZE, allocate_arms, generate_cohort, generate_stacked, iter_cohort
from necml.cohort._model import CohortModel, fit_cohort_model, joint_predictors, linear_predictor
from necml.cohort._predictors import analysis_design
from necml.cohort._terms import term_values, terms_frame
from necml.cohort._variants import CensoringLevel, scaled_spec, with_censoring, with_departures
from necml.cohort.outcomes import JointModel, PiecewiseExponential, TargetCheck, Weibull

__all__ = [
    "CHUNK_SIZE",
    "Censoring",
    "CensoringLevel",
    "CohortModel",
    "JointModel",
    "PiecewiseExponential",
    "TargetCheck",
    "Weibull",
    "allocate_arms",
    "analysis_design",
    "fit_cohort_model",
    "generate_cohort",
    "generate_stacked",
    "iter_cohort",
    "joint_predictors",
    "linear_predictor",
    "replaced_variables",
    "scaled_spec",
    "term_values",
    "terms_frame",
    "with_censoring",
    "with_departures",
]
