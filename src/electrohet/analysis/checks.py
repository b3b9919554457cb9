"""Data checks that stop cycler files from giving wrong numbers silently.

Run by :func:`electrohet.analysis.cycler.from_dataframe` on every file read. Each
problem is recorded as a :class:`~electrohet.analysis.cycler.DataIssue` (file, row
range, problem) in ``CyclerData.issues`` and issued as a warning:

* **duplicated rows** (same time, current and voltage as an earlier row): removed;
* **out-of-order rows** (time running backwards by less than half the elapsed time):
  put back in time order; a jump back to (near) the start of the record (two runs
  concatenated) is an error instead;
* **logging gaps**: an interval inside a non-rest step longer than ``gap_factor``
  (default 20) times the median interval of that step. The interval is marked
  (``gap`` column) and *not integrated*: a cycler that stops logging has, as a
  rule, paused the channel, and integrating the set current across the gap would
  invent charge (a 10 h gap in a 1 A step adds 10 Ah);
* **sign convention**: a file with separate cumulative charge and discharge
  capacity columns tells which way each step went; when most steps contradict the
  current's sign, the current is flipped and the flip is recorded; with a ``state``
  or step-type column the step types sign the current (see ``from_dataframe``);
* **units**: where the file has its own cumulative capacity (or energy) column, the
  integrated step capacities are compared with its change over each step; a median
  ratio off by more than ``units_rtol`` (2 %) is reported with the likely cause
  (e.g. 3600: time in hours read as seconds; 1000: mA read as A).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electrohet.analysis.cycler import CyclerData, DataIssue, _ranges, step_labels
from electrohet.errors import DataError

__all__ = ["fix_order", "run_checks"]

#: ratio (integrated / file's own column) -> likely cause
_LIKELY = {
    3600.0: "time in seconds read as hours",
    1 / 3600.0: "time in hours read as seconds",
    60.0: "time in seconds read as minutes",
    1 / 60.0: "time in minutes read as seconds",
    1000.0: "current in mA read as A (or the capacity column in Ah read as mAh)",
    1e-3: "current in A read as mA (or the capacity column in mAh read as Ah)",
    1 / 3.6: "time in hours and current in mA read as seconds and A",
    3.6: "time in seconds and current in A read as hours and mA",
}


def fix_order(cd: CyclerData) -> None:
    """Remove duplicated rows and restore time order (recorded in ``cd.issues``).

    Raises
    ------
    DataError
        When time jumps back by more than half of the time elapsed so far (two
        runs concatenated, or a step time instead of the test time).
    """
    df = cd.data
    src = cd.source
    t = df["time"].to_numpy()
    rows = df["row"].to_numpy()
    if t.size < 2:
        return
    if np.all(np.diff(t) > 0):
        dup = np.zeros(t.size, dtype=bool)  # strictly increasing time: no duplicates
    else:
        dup = df.duplicated(subset=["time", "current", "voltage"], keep="first").to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        cd.issues.append(
            DataIssue(
                src,
                "duplicate",
                (int(rows[idx[0]]), int(rows[idx[-1]])),
                f"{src}: {idx.size} duplicated row(s) (same time, current and voltage as "
                f"an earlier row) removed: {_ranges(idx, rows)}",
            )
        )
        keep = np.ones(t.size, dtype=bool)
        keep[idx] = False
        df = df.loc[keep].reset_index(drop=True)
        t = df["time"].to_numpy()
        rows = df["row"].to_numpy()
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        t0 = t[0]
        for k in back:
            if t[k + 1] < t0 + 0.5 * (t[k] - t0):
                raise DataError(
                    f"{src}: time is not monotone: it goes back from {t[k]:g} s to "
                    f"{t[k + 1]:g} s at data row {rows[k + 1]} ({back.size} such place(s)); "
                    f"concatenate files in order or supply a cumulative test time"
                )
        order = np.argsort(t, kind="stable")
        moved = np.flatnonzero(order != np.arange(t.size))
        cd.issues.append(
            DataIssue(
                src,
                "out_of_order",
                (int(rows[moved[0]]), int(rows[moved[-1]])),
                f"{src}: {back.size} place(s) where time runs backwards "
                f"({_ranges(back + 1, rows)}); {moved.size} row(s) were put back in time order",
            )
        )
        df = df.iloc[order].reset_index(drop=True)
    cd.data = df


def run_checks(cd: CyclerData, *, gap_factor: float = 20.0, units_rtol: float = 0.02) -> None:
    """Logging gaps, sign convention and units checks (see the module docstring)."""
    if not gap_factor > 1:
        raise DataError(f"gap_factor = {gap_factor!r} must be > 1")
    _gaps(cd, gap_factor)
    _sign_from_capacity_columns(cd)
    _units(cd, units_rtol)


def _gaps(cd: CyclerData, gap_factor: float) -> None:
    df = cd.data
    code, sid, _ = step_labels(cd)
    n = len(df)
    gap = np.zeros(n, dtype=bool)
    if n >= 3:
        t = df["time"].to_numpy()
        dt = np.diff(t)
        same = sid[1:] == sid[:-1]
        active = (code != 0)[1:] & same
        s = pd.Series(np.where(same, dt, np.nan))
        med = s.groupby(sid[1:]).transform("median").to_numpy()
        cnt = s.groupby(sid[1:]).transform("count").to_numpy()
        g = active & (cnt >= 3) & (dt > gap_factor * med) & (med > 0)
        gap[1:] = g
        if g.any():
            idx = np.flatnonzero(g) + 1
            rows = df["row"].to_numpy()
            i = np.abs(df["current"].to_numpy())
            lost = float(np.sum(0.5 * (i[idx] + i[idx - 1]) * dt[idx - 1]) / 3600.0)
            k = idx[0]
            cd.issues.append(
                DataIssue(
                    cd.source,
                    "gap",
                    (int(rows[k - 1]), int(rows[k])),
                    f"{cd.source}: {idx.size} logging gap(s) inside current steps, the first "
                    f"of {dt[k - 1]:g} s between data rows {rows[k - 1]} and {rows[k]} "
                    f"({gap_factor:g}x the step's median interval {med[k - 1]:g} s) at "
                    f"{i[k]:.4g} A; gaps ({_ranges(idx, rows)}) are left out of "
                    f"capacity/energy (integrating across them would add {lost:.4g} Ah)",
                )
            )
    if gap.any():
        cd.data = cd.data.assign(gap=gap)


def _active_steps(cd: CyclerData) -> pd.DataFrame:
    from electrohet.analysis.cycler import step_table

    st = step_table(cd)
    return st[st["kind"] != "rest"]


def _sign_from_capacity_columns(cd: CyclerData) -> None:
    df = cd.data
    if not ("charge_capacity" in df and "discharge_capacity" in df):
        return
    code, sid, _ = step_labels(cd)
    first = np.flatnonzero(np.concatenate([[True], sid[1:] != sid[:-1]]))
    last = np.concatenate([first[1:] - 1, [sid.size - 1]])
    kind = np.array(["charge", "rest", "discharge"])[code[first] + 1]
    dc = np.abs(df["charge_capacity"].to_numpy()[last] - df["charge_capacity"].to_numpy()[first])
    dd = np.abs(
        df["discharge_capacity"].to_numpy()[last] - df["discharge_capacity"].to_numpy()[first]
    )
    informative = (kind != "rest") & ((dc > 0) | (dd > 0))
    wrong = informative & (((kind == "discharge") & (dc > dd)) | ((kind == "charge") & (dd > dc)))
    if informative.sum() and wrong.sum() > 0.5 * informative.sum():
        rows = df["row"].to_numpy()
        w = np.flatnonzero(wrong)
        cd.data = df.assign(current=-df["current"])
        cd.issues.append(
            DataIssue(
                cd.source,
                "sign",
                (int(rows[first[w[0]]]), int(rows[last[w[0]]])),
                f"{cd.source}: the current sign contradicts the file's own charge/discharge "
                f"capacity columns in {w.size} of {int(informative.sum())} steps (first: "
                f"data rows {rows[first[w[0]]]}-{rows[last[w[0]]]}); the current was "
                f"flipped so that discharge is positive (check discharge_negative)",
            )
        )


def _units(cd: CyclerData, rtol: float) -> None:
    df = cd.data
    has = [w for w in ("capacity", "energy") if any(c in df for c in _ref_cols(w))]
    if not has:
        return
    st = _active_steps(cd)
    for what in has:
        col = f"{what}_file"
        if col not in st or len(st) == 0:
            continue
        ref = st[col].to_numpy()
        val = st[what].to_numpy()
        big = ref > 1e-3 * np.nanmax(ref) if np.isfinite(ref).any() and np.nanmax(ref) > 0 else None
        if big is None or not big.any():
            continue
        sel = big & (val > 0)
        if not sel.any():
            continue
        r = float(np.median(val[sel] / ref[sel]))
        if abs(r - 1.0) <= rtol:
            continue
        cause = min(_LIKELY, key=lambda f: abs(np.log(r / f)))
        hint = (
            f"; likely {_LIKELY[cause]}"
            if abs(np.log(r / cause)) < 0.05
            else "; check the units and the integration"
        )
        k = int(np.flatnonzero(sel)[0])
        cd.issues.append(
            DataIssue(
                cd.source,
                "units",
                (int(st["row_start"].iloc[k]), int(st["row_end"].iloc[k])),
                f"{cd.source}: the integrated {what} is {r:.4g} times the file's own {what} "
                f"column (median over {int(sel.sum())} steps, first: data rows "
                f"{st['row_start'].iloc[k]}-{st['row_end'].iloc[k]}){hint}",
            )
        )


def _ref_cols(what: str) -> tuple[str, ...]:
    return (what, f"charge_{what}", f"discharge_{what}")
