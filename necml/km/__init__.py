"""Stage 3b: Kaplan-Meier figures as data: individual patient data reconstructed from digitised curves.

Papers print Kaplan-Meier curves with numbers at risk; :func:`reconstruct_ipd` turns a digitised
curve and its at-risk table into individual (time, event) data by Guyot et al.'s (2012)
algorithm, which the prognostic analysis, the fidelity report and the benchmark can then use.
"""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.km._curves import (
        at_risk_table,
        compare_curves,
        km_confidence,
        km_curve,
        km_steps,
        rmst,
        survival_at_times,
    )
    from necml.km._reconstruct import (
        Reconstruction,
        check_at_risk,
        check_points,
        read_at_risk,
        read_points,
        reconstruct_files,
        reconstruct_ipd,
    )

__all__ = [
    "Reconstruction",
    "at_risk_table",
    "check_at_risk",
    "check_points",
    "compare_curves",
    "km_confidence",
    "km_curve",
    "km_steps",
    "read_at_risk",
    "read_points",
    "reconstruct_files",
    "reconstruct_ipd",
    "rmst",
    "survival_at_times",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
