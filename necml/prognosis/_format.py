"""Numbers as the papers print them: p-values and hazard ratios with their 95% CIs."""

from __future__ import annotations

import numpy as np

__all__ = ["format_hr", "format_p", "p_statement"]

#: Most decimals :func:`format_hr` uses to tell a per-unit HR near 1 from 1.
_MAX_DECIMALS = 6


def format_p(p: float) -> str:
    """A p-value as papers print it in a table column: ``<0.001``, or three decimals.

    Examples
    --------
    >>> format_p(0.0004), format_p(0.0456)
    ('<0.001', '0.046')
    """
    return "NA" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def p_statement(p: float) -> str:
    """A p-value in a sentence: ``p < 0.001`` or ``p = 0.046`` (never ``p = <0.001``).

    Examples
    --------
    >>> p_statement(1e-5), p_statement(0.2)
    ('p < 0.001', 'p = 0.200')
    """
    text = format_p(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def _decimals(hr: float, low: float, high: float) -> int:
    """Fewest decimals (>= 2) at which the CI bounds differ and a CI that excludes 1 does not print as 1."""
    for d in range(2, _MAX_DECIMALS + 1):
        lo, hi = f"{low:.{d}f}", f"{high:.{d}f}"
        one = f"{1:.{d}f}"
        excludes_one = low > 1 or high < 1
        if lo != hi and not (excludes_one and one in (lo, hi)) and f"{hr:.{d}f}" not in (lo, hi):
            return d
    return _MAX_DECIMALS


def format_hr(hr: float, low: float, high: float) -> str:
    """``HR (low-high)`` with two decimals, or as many more as needed to read it.

    A per-unit HR of a continuous covariate is often close to 1 (age per year, LDH per IU/L);
    two decimals would print ``1.00 (1.00-1.00)`` next to ``p = 0.018``. Decimals are added
    (up to six) until the bounds differ from each other and from the HR, and a CI that excludes 1
    shows a bound that is not ``1.00``.

    Examples
    --------
    >>> format_hr(0.967, 0.9576, 0.9768)
    '0.97 (0.96-0.98)'
    >>> format_hr(1.0021, 1.0004, 1.0038)
    '1.0021 (1.0004-1.0038)'
    """
    if not np.isfinite(hr):
        return "NA"
    d = _decimals(hr, low, high) if np.isfinite(low) and np.isfinite(high) else 2
    show = lambda v: f"{v:.{d}f}" if np.isfinite(v) else "NA"  # noqa: E731
    return f"{show(hr)} ({show(low)}-{show(high)})"
