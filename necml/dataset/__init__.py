"""Stage 3 of the flow: the column contract, table IO, validation and ``(X, y)`` preparation."""

from necml.dataset._digest import data_schema, data_sha256
from necml.dataset._io import METADATA_KEY, atomic_write, read_cohort, read_metadata, write_cohort
from necml.dataset._mapping import (
    CONTRACT_COVARIATES,
    Covariate,
    Cutoff,
    DataMapping,
    Endpoint,
    contract_mapping,
    derive_columns,
    parse_covariate_expression,
)
from necml.dataset._stream import write_cohort_chunks
from necml.dataset._tables import (
    DAYS_PER_MONTH,
    VETERANS,
    VETERANS_MAPPING,
    load_table,
    load_veterans,
    resolve_data,
)
from necml.dataset._validate import (
    HEAVY_MISSING_SHARE,
    MIN_EVENTS_PER_PARAMETER,
    check_survival_data,
    event_indicator,
)
from necml.dataset._xy import SurvivalData, design_matrix, prepare_survival_data, structured_y

__all__ = [
    "data_schema",
    "data_sha256",
    "CONTRACT_COVARIATES",
    "DAYS_PER_MONTH",
    "HEAVY_MISSING_SHARE",
    "METADATA_KEY",
    "MIN_EVENTS_PER_PARAMETER",
    "VETERANS",
    "VETERANS_MAPPING",
    "Covariate",
    "Cutoff",
    "DataMapping",
    "Endpoint",
    "SurvivalData",
    "atomic_write",
    "check_survival_data",
    "contract_mapping",
    "derive_columns",
    "design_matrix",
    "event_indicator",
    "load_table",
    "load_veterans",
    "parse_covariate_expression",
    "prepare_survival_data",
    "read_cohort",
    "read_metadata",
    "resolve_data",
    "structured_y",
    "write_cohort",
    "write_cohort_chunks",
]
