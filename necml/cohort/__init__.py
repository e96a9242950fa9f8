"""Stage 2 of the flow: spec + n + seed -> synthetic cohort.

Marginals (:mod:`._marginals`), copula (:mod:`._copula`), joint PFS/OS (:mod:`._illness_death`),
censoring (:mod:`._censoring`) and calibration (:mod:`._calibrate`), wired by
:func:`generate_cohort`.
"""

from necml.cohort._calibrate import EndpointCalibration, TargetCheck, marginal_survival
from necml.cohort._censoring import Censoring
from necml.cohort._departures import replaced_variables
from necml.cohort._generate import CHUNK_SIZE, allocate_arms, generate_cohort, iter_cohort
from necml.cohort._illness_death import Weibull
from necml.cohort._model import CohortModel, fit_cohort_model, linear_predictor
from necml.cohort._terms import term_values, terms_frame
from necml.cohort._variants import CensoringLevel, scaled_spec, with_censoring, with_departures

__all__ = [
    "CHUNK_SIZE",
    "Censoring",
    "CensoringLevel",
    "CohortModel",
    "EndpointCalibration",
    "TargetCheck",
    "Weibull",
    "allocate_arms",
    "fit_cohort_model",
    "generate_cohort",
    "iter_cohort",
    "linear_predictor",
    "marginal_survival",
    "replaced_variables",
    "scaled_spec",
    "term_values",
    "terms_frame",
    "with_censoring",
    "with_departures",
]
