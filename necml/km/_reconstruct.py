"""Individual patient data from a digitised Kaplan-Meier curve and its numbers at risk (Guyot et al. 2012).

The algorithm of Guyot, Ades, Ouwens & Welton (2012), on the digitised points ``(T_k, S_k)``
and the at-risk table ``(t_i, n_i)``:

1. **Repair** the digitised curve: sort by time, start it at ``(0, 1)``, clip survival to
   [0, 1] and make it non-increasing (a running minimum: digitising noise makes a curve rise
   by a pixel; a rise of more than ``tolerance`` is refused as a misread file). A point is
   inserted at every at-risk time that has none (the curve's value there), so every interval
   between at-risk times holds points.
2. **Each interval** ``[t_i, t_{i+1})``: a first guess of the censored ``round(n_i S(t_{i+1}) /
   S(t_i) - n_{i+1})``, spread evenly over the interval; the events at each point from the
   drop of the curve, ``d_k = round(n_k (1 - S_k / S_last))``, and the censorings between
   points; the guess is corrected until the number at risk at ``t_{i+1}`` matches the table.
3. **The last interval** (after the last at-risk time, to the last point), which the table
   does not close: censoring at the average rate of the earlier intervals (per unit time),
   or, when the total number of events is printed, the censoring that makes the reconstructed
   events equal it. Patients still at risk at the end are censored at the last point.

Events are placed at the digitised times and censorings at the midpoints between points, as
in Guyot's code. Inputs are validated first: a file that names no survival or at-risk
column, a time < 0, a survival outside [0, 1], a curve that rises, or at-risk counts that
grow is refused with the file, the field, the line and the reason.

References
----------
.. [1] Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
   reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
   2012;12:9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.exceptions import DataError

__all__ = ["Reconstruction", "check_at_risk", "check_points", "read_at_risk", "read_points", "reconstruct_files",
           "reconstruct_ipd"]

#: A rise of the digitised curve up to this (absolute survival) is digitising noise, repaired.
RISE_TOLERANCE = 0.05


@dataclass(slots=True)
class Reconstruction:
    """Reconstructed individual data (``time, event``) and what was repaired or assumed."""

    ipd: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    events_per_interval: pd.DataFrame = field(default_factory=pd.DataFrame)


def _columns(frame: pd.DataFrame, needed: tuple[str, ...], source: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: column(s) {', '.join(map(repr, missing))} not found; expected "
                        f"{', '.join(needed)}, but the file has {', '.join(map(str, frame.columns))}.")


def _numbers(frame: pd.DataFrame, column: str, source: str, *, low: float, high: float = np.inf) -> NDArray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values < low) | (values > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        bounds = f">= {low:g}" if not np.isfinite(high) else f"in [{low:g}, {high:g}]"
        raise DataError(f"{source}: column {column!r}, line {i + 2}: must be a number {bounds}, "
                        f"but got {frame[column].iloc[i]!r}.")
    return values.to_numpy(dtype=float)


def check_points(frame: pd.DataFrame, *, source: str = "points", tolerance: float = RISE_TOLERANCE) -> pd.DataFrame:
    """Validate digitised points (``time, survival``; survival as a proportion or a percentage).

    Raises
    ------
    necml.exceptions.DataError
        Missing columns, a negative time, a survival outside [0, 1] (or [0, 100] %), or a curve
        that rises by more than ``tolerance`` (the line of the rise is named).
    """
    _columns(frame, ("time", "survival"), source)
    time = _numbers(frame, "time", source, low=0.0)
    surv = _numbers(frame, "survival", source, low=0.0, high=100.0 + 100 * tolerance)
    if surv.max() > 1.0 + tolerance:
        surv = surv / 100.0  # printed as a percentage
    if surv.max() > 1.0 + tolerance:
        raise DataError(f"{source}: column 'survival': must be a proportion in [0, 1] or a percentage, "
                        f"but the largest value is {surv.max():g}.")
    order = np.argsort(time, kind="stable")
    ts, ss = time[order], surv[order]
    floor = np.minimum.accumulate(ss)
    rise = ss - floor
    if (rise > tolerance).any():
        j = int(np.flatnonzero(rise > tolerance)[0])
        raise DataError(f"{source}: column 'survival', line {int(order[j]) + 2}: a Kaplan-Meier curve cannot "
                        f"increase, but it rises to {ss[j]:g} at time {ts[j]:g} from {floor[j]:g} before "
                        f"(more than the digitising tolerance {tolerance:g}).")
    return pd.DataFrame({"time": ts, "survival": np.clip(ss, 0.0, 1.0)})


def check_at_risk(frame: pd.DataFrame, *, source: str = "at-risk") -> pd.DataFrame:
    """Validate a numbers-at-risk table (``time, n_at_risk``).

    Raises
    ------
    necml.exceptions.DataError
        Missing columns, a negative or non-integer count, times not increasing, or counts
        that grow (the line is named).
    """
    _columns(frame, ("time", "n_at_risk"), source)
    time = _numbers(frame, "time", source, low=0.0)
    n = _numbers(frame, "n_at_risk", source, low=0.0)
    if (n != np.round(n)).any():
        i = int(np.flatnonzero(n != np.round(n))[0])
        raise DataError(f"{source}: column 'n_at_risk', line {i + 2}: must be a whole number, but got {n[i]:g}.")
    if (np.diff(time) <= 0).any():
        i = int(np.flatnonzero(np.diff(time) <= 0)[0]) + 1
        raise DataError(f"{source}: column 'time', line {i + 2}: times must increase, but {time[i]:g} "
                        f"follows {time[i - 1]:g}.")
    if (np.diff(n) > 0).any():
        i = int(np.flatnonzero(np.diff(n) > 0)[0]) + 1
        raise DataError(f"{source}: column 'n_at_risk', line {i + 2}: numbers at risk cannot grow, but "
                        f"{n[i]:g} at time {time[i]:g} follows {n[i - 1]:g} at {time[i - 1]:g}.")
    if len(n) == 0 or n[0] <= 0:
        raise DataError(f"{source}: column 'n_at_risk': the first count must be positive.")
    return pd.DataFrame({"time": time, "n_at_risk": n.astype(int)})


def read_points(path: str | Path, *, tolerance: float = RISE_TOLERANCE) -> pd.DataFrame:
    """Read and validate a digitised-curve CSV (``time, survival``); see :func:`check_points`."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such points file.")
    return check_points(pd.read_csv(path), source=str(path), tolerance=tolerance)


def read_at_risk(path: str | Path) -> pd.DataFrame:
    """Read and validate a numbers-at-risk CSV (``time, n_at_risk``); see :func:`check_at_risk`."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such at-risk file.")
    return check_at_risk(pd.read_csv(path), source=str(path))


def _insert(t: NDArray, s: NDArray, at: NDArray) -> tuple[NDArray, NDArray]:
    """Insert a point at each time of ``at`` that the curve lacks, with the curve's value there."""
    new = at[~np.isin(at, t)]
    if not new.size:
        return t, s
    value = s[np.clip(np.searchsorted(t, new, side="right") - 1, 0, None)]
    order = np.argsort(np.r_[t, new], kind="stable")
    return np.r_[t, new][order], np.r_[s, value][order]


def _repair(points: pd.DataFrame, at_risk: pd.DataFrame, notes: list[str]) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    t, s = points["time"].to_numpy(float), points["survival"].to_numpy(float)
    floor = np.minimum.accumulate(s)
    if (floor < s).any():
        notes.append(f"monotonicity repaired at {int((floor < s).sum())} point(s) "
                     f"(largest rise {np.max(s - floor):.3g})")
    s = floor
    if t[0] > 0:
        t, s = np.r_[0.0, t], np.r_[1.0, s]
    elif s[0] < 1:
        notes.append(f"curve starts at {s[0]:.3g}, not 1: set to 1 at time 0")
        s[0] = 1.0
    rt, n = at_risk["time"].to_numpy(float), at_risk["n_at_risk"].to_numpy(float)
    if rt[0] > 0:
        raise DataError(f"the at-risk table starts at time {rt[0]:g}, not 0: the number randomised is needed.")
    beyond = rt > t[-1]
    if beyond.any():
        notes.append(f"{int(beyond.sum())} at-risk time(s) after the last digitised point ({t[-1]:g}) ignored")
        rt, n = rt[~beyond], n[~beyond]
    t, s = _insert(t, s, rt)
    return t, s, rt, n


@dataclass(slots=True)
class _Curve:
    T: NDArray
    S: NDArray
    d: NDArray
    cen: NDArray
    nhat: NDArray
    km: NDArray

    @classmethod
    def of(cls, T: NDArray, S: NDArray) -> _Curve:
        m = len(T)
        return cls(T, S, np.zeros(m), np.zeros(m), np.zeros(m + 1), np.ones(m))

    def spread(self, lo: int, hi: int, stop: int, count: int) -> None:
        """``count`` censorings spread evenly over ``(T[lo], T[stop])``, binned by the points lo..hi+1."""
        self.cen[lo : hi + 1] = 0
        breaks = self.T[lo : hi + 2] if hi + 1 < len(self.T) else self.T[lo : hi + 1]
        if count <= 0 or len(breaks) < 2:
            return
        at = self.T[lo] + np.arange(1, count + 1) * (self.T[stop] - self.T[lo]) / (count + 1)
        bins = np.clip(np.searchsorted(breaks, at, side="left") - 1, 0, len(breaks) - 2)
        self.cen[lo : lo + len(breaks) - 1] = np.bincount(bins, minlength=len(breaks) - 1)

    def events(self, lo: int, hi: int, start: float, last: int, first: bool) -> int:
        """Events at the points lo..hi from the drops of the curve; returns the last point with an event."""
        self.nhat[lo] = start
        for k in range(lo, hi + 1):
            if first and k == 0:
                d, self.km[k] = 0.0, 1.0
            else:
                ref = self.km[last]
                d = np.round(self.nhat[k] * (1 - self.S[k] / ref)) if ref > 0 else 0.0
                d = float(np.clip(d, 0, self.nhat[k]))
                self.km[k] = ref * (1 - d / self.nhat[k]) if self.nhat[k] > 0 else ref
            self.d[k] = d
            self.cen[k] = min(self.cen[k], self.nhat[k] - d)
            self.nhat[k + 1] = self.nhat[k] - d - self.cen[k]
            if d != 0:
                last = k
        return last


def _interval(
    c: _Curve, lo: int, hi: int, nxt: int, n_i: float, n_next: float, last: int, first: bool
) -> tuple[int, float]:
    ncensor = float(np.round(n_i * c.S[nxt] / c.S[lo] - n_next)) if c.S[lo] > 0 else 0.0
    reached, out = np.inf, last
    for _ in range(1000):
        if not (reached > n_next or (reached < n_next and ncensor > 0)):
            break
        ncensor = max(ncensor, 0.0)
        c.spread(lo, hi, nxt, int(ncensor))
        out = c.events(lo, hi, n_i, last, first)
        reached = c.nhat[nxt]
        ncensor += reached - n_next
    return out, max(ncensor, 0.0)


def _last_interval(c: _Curve, lo: int, n_i: float, last: int, first: bool, ncensor: float) -> None:
    hi = len(c.T) - 1
    c.spread(lo, hi - 1, hi, int(max(ncensor, 0)))
    c.events(lo, hi, n_i, last, first)


def reconstruct_ipd(
    points: pd.DataFrame, at_risk: pd.DataFrame, *, total_events: int | None = None,
) -> Reconstruction:
    """Reconstruct individual (time, event) data from a digitised KM curve (see the module docstring).

    Parameters
    ----------
    points : pandas.DataFrame
        ``time, survival`` (validated by :func:`check_points`).
    at_risk : pandas.DataFrame
        ``time, n_at_risk`` (validated by :func:`check_at_risk`); the first time is 0.
    total_events : int, optional
        The total number of events when the paper prints it (closes the last interval).

    Returns
    -------
    Reconstruction
        ``ipd`` with one row per patient (``n_at_risk`` at time 0 rows), the repairs and
        assumptions in ``notes``, and events, censorings and numbers at risk per interval.

    Examples
    --------
    >>> pts = pd.DataFrame({"time": [0, 1, 2, 3, 4], "survival": [1, 0.8, 0.6, 0.4, 0.4]})
    >>> risk = pd.DataFrame({"time": [0, 2], "n_at_risk": [10, 6]})
    >>> r = reconstruct_ipd(pts, risk)
    >>> len(r.ipd), int(r.ipd["event"].sum())
    (10, 4)
    """
    points, at_risk = check_points(points), check_at_risk(at_risk)
    notes: list[str] = []
    T, S, rt, n = _repair(points, at_risk, notes)
    c = _Curve.of(T, S)
    lower = np.searchsorted(T, rt, side="left")
    upper = np.r_[lower[1:] - 1, len(T) - 1]
    last, censored = 0, []
    for i in range(len(rt) - 1):
        last, ncensor = _interval(c, lower[i], upper[i], lower[i + 1], n[i], n[i + 1], last, i == 0)
        censored.append(ncensor)
        if c.nhat[lower[i + 1]] < n[i + 1]:
            notes.append(f"at time {rt[i + 1]:g} the table has {n[i + 1]:g} at risk, but at most "
                         f"{c.nhat[lower[i + 1]]:g} are possible: used {c.nhat[lower[i + 1]]:g}")
            n[i + 1] = c.nhat[lower[i + 1]]
    _close(c, lower, upper, rt, n, last, censored, total_events, notes)
    return Reconstruction(_ipd(c), notes, _per_interval(c, lower, upper, rt, n))


def _close(c: _Curve, lower: NDArray, upper: NDArray, rt: NDArray, n: NDArray, last: int, censored: list[float],
           total_events: int | None, notes: list[str]) -> None:
    """The last interval: average censoring rate, or the censoring that meets the printed total of events."""
    lo, end, first = lower[-1], len(c.T) - 1, len(rt) == 1
    span = c.T[upper[-2]] - c.T[lower[0]] if len(rt) > 1 else 0.0
    rate = sum(censored) / span if span > 0 else 0.0
    ncensor = min(float(np.round(rate * (c.T[end] - c.T[lo]))), n[-1])
    before = c.d[:lo].sum()
    if total_events is not None and before >= total_events:
        notes.append(f"{before:g} events reconstructed before the last at-risk time, >= the printed total "
                     f"{total_events}: none in the last interval")
        c.d[lo:], c.cen[lo:] = 0, 0
        c.nhat[lo:] = n[-1]
        return
    _last_interval(c, lo, n[-1], last, first, ncensor)
    if total_events is None:
        notes.append(f"last interval ({c.T[lo]:g} to {c.T[end]:g}): censoring at the earlier intervals' "
                     f"average rate ({ncensor:g} censored)")
        return
    for _ in range(1000):
        total = c.d.sum()
        if not (total > total_events or (total < total_events and ncensor > 0)):
            break
        ncensor = float(np.clip(ncensor + total - total_events, 0, n[-1]))
        _last_interval(c, lo, n[-1], last, first, ncensor)
    if c.d.sum() != total_events:
        notes.append(f"{c.d.sum():g} events reconstructed, the paper prints {total_events}: "
                     "the curve and the total conflict")


def _ipd(c: _Curve) -> pd.DataFrame:
    mid = (c.T[:-1] + c.T[1:]) / 2
    times = [np.repeat(c.T, c.d.astype(int)), np.repeat(mid, c.cen[:-1].astype(int)),
             np.repeat(c.T[-1], int(c.cen[-1] + c.nhat[-1]))]
    events = [np.ones(int(c.d.sum()), int), np.zeros(int(c.cen[:-1].sum()), int),
              np.zeros(int(c.cen[-1] + c.nhat[-1]), int)]
    ipd = pd.DataFrame({"time": np.concatenate(times), "event": np.concatenate(events)})
    return ipd.sort_values(["time", "event"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _per_interval(c: _Curve, lower: NDArray, upper: NDArray, rt: NDArray, n: NDArray) -> pd.DataFrame:
    rows = []
    for i in range(len(rt)):
        lo, hi = lower[i], upper[i]
        rows.append({"start": rt[i], "stop": rt[i + 1] if i + 1 < len(rt) else c.T[-1], "n_at_risk": n[i],
                     "reconstructed_at_risk": c.nhat[lo], "events": c.d[lo : hi + 1].sum(),
                     "censored": c.cen[lo : hi + 1].sum()})
    return pd.DataFrame(rows)


def reconstruct_files(
    points: str | Path, at_risk: str | Path, out: str | Path, *, total_events: int | None = None,
    arm: str | None = None, append: bool = False,
) -> Reconstruction:
    """``necml km reconstruct``: read and check both files, reconstruct, write ``out`` (``time, event[, arm]``).

    With ``append``, the rows are added to an existing ``out`` (one file for all arms of a
    figure; every arm then needs its ``arm`` label). Nothing is written when a file is refused.

    Raises
    ------
    necml.exceptions.DataError
        A bad input file (file, field, line and reason), or ``append`` to a file of other columns.
    """
    from necml.dataset import atomic_write

    if total_events is not None and total_events < 0:
        raise DataError(f"--events must be >= 0, but got {total_events}.")
    result = reconstruct_ipd(read_points(points), read_at_risk(at_risk), total_events=total_events)
    ipd = result.ipd if arm is None else result.ipd.assign(arm=arm)
    out = Path(out)
    if append and out.is_file():
        before = pd.read_csv(out)
        if list(before.columns) != list(ipd.columns):
            raise DataError(f"{out}: cannot append rows with columns {', '.join(ipd.columns)} to a file with "
                            f"{', '.join(map(str, before.columns))} (give every arm --arm).")
        ipd = pd.concat([before, ipd], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: ipd.to_csv(tmp, index=False))
    return result
