"""Stage 7b: neutral benchmarks on real data: data sets x models x a given or own resampling.

``necml benchmark`` reproduces published comparisons such as Burk et al. (2024), whose outer
folds are published: a data file, its column types (factor or numeric) and a folds file
(``set, iteration, row_id``) give the same test sets, and Harrell's C per test set is R's.
"""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.benchmark._config import (
        BenchmarkConfig,
        DatasetConfig,
        ResamplingConfig,
        benchmark_from_options,
        load_benchmark,
    )
    from necml.benchmark._data import (
        Split,
        load_file_dataset,
        load_sksurv_dataset,
        load_survset_dataset,
        read_folds,
        typed_data,
    )
    from necml.benchmark._run import BenchmarkResult, PreparedDataset, prepare_datasets, run_benchmark, summarise

__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "DatasetConfig",
    "PreparedDataset",
    "ResamplingConfig",
    "Split",
    "benchmark_from_options",
    "load_benchmark",
    "load_file_dataset",
    "load_sksurv_dataset",
    "load_survset_dataset",
    "prepare_datasets",
    "read_folds",
    "run_benchmark",
    "summarise",
    "typed_data",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
