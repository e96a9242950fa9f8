"""Stage 3 of the flow: the cohort column contract and Parquet IO."""

from necml.dataset._io import METADATA_KEY, atomic_write, read_cohort, read_metadata, write_cohort

__all__ = ["METADATA_KEY", "atomic_write", "read_cohort", "read_metadata", "write_cohort"]
