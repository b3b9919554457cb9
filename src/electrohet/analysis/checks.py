"""Data checks that stop cycler files from giving wrong numbers silently.

Run by :func:`electrohet.analysis.cycler.from_dataframe` on every file read. Each
problem is recorded as a :class:`~electrohet.analysis.cycler.DataIssue` (file, row
range, problem) in ``CyclerData.issues`` and issued as a warning:

* **duplicated rows** (same time, current and voltage as an earlier row): removed;
* **out-of-order rows** (time running backwards by less than half the elapsed time):
  put back in time order; a jump back to (near) the start of the record (two runs
  concatenated) is an error instead;
* **logging gaps**: an interval inside a non-rest step (or the one before its first
  row, which is the step's) longer than ``gap_factor`` (default 20) times both the
  mean of the step's *other* intervals and their 99th percentile, and longer than
  60 s. It is marked (``gap`` column) and reported with its size, and it is
  **integrated like any other interval** (never left out of a sum); where the file
  has its own cumulative columns they give the step's value anyway. Logging on
  voltage change (BioLogic dE/dt, Maccor dV: bursts of millisecond intervals between
  long ones) is not a gap: the long intervals set the step's typical interval;
* **sign convention**: a file with separate cumulative charge and discharge
  capacity columns tells which way each step went, and so does the voltage (it
  falls on discharge and rises on charge); when most steps contradict the current's
  sign, the current is flipped (``flip``, the default) or only warned about, and it
  is recorded; with a ``state`` or step-type column the step types sign the current
  (see ``from_dataframe``);
* **units**: where the file has its own cumulative capacity (or energy) column, the
  integrated step capacities are compared with its change over each step; a median
  ratio off by more than ``units_rtol`` (2 %) is reported with the likely cause
  (e.g. 3600: time in hours read as seconds; 1000: mA read as A);
* **file vs integrated**: otherwise, each step whose integrated capacity differs
  from the file's own by more than ``rtol`` (1 %) of the step (and 0.1 % of the
  median step) is reported with its rows and the size of the difference; the
  file's value is the one used (``CyclerData.values``).
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
    if back.size and "step" in df:
        # a time that restarts at (most) step changes is a step time: build the test time
        s = df["step"].to_numpy()
        change = np.flatnonzero(s[1:] != s[:-1])
        if np.isin(back, change).all() and back.size > 0.5 * change.size:
            from electrohet.analysis.cycler import cumulative_time

            df = df.assign(time=cumulative_time(t, s))
            cd.issues.append(
                DataIssue(
                    src,
                    "time",
                    (int(rows[back[0]]), int(rows[back[0] + 1])),
                    f"{src}: the time column restarts at {back.size} of {change.size} step "
                    f"changes (first: data rows {rows[back[0]]}-{rows[back[0] + 1]}): it is a "
                    f"step time; the test time was built from it (each step starts where the "
                    f"previous one's last row was logged)",
                )
            )
            t = df["time"].to_numpy()
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


def run_checks(
    cd: CyclerData,
    *,
    gap_factor: float = 20.0,
    units_rtol: float = 0.02,
    rtol: float = 0.01,
    flip: bool = True,
) -> None:
    """Logging gaps, sign convention, units and file-vs-integrated checks (module docstring).

    Parameters
    ----------
    cd
        The record (changed in place: ``gap`` column, flipped current, issues).
    gap_factor
        Gap threshold (> 1) relative to the mean of the step's other intervals.
    units_rtol
        Median ratio integrated/file beyond which a units problem is reported.
    rtol
        Per-step relative difference integrated vs file beyond which it is reported.
    flip
        Flip the current when the data contradict its sign convention (else warn only).
    """
    if not gap_factor > 1:
        raise DataError(f"gap_factor = {gap_factor!r} must be > 1")
    _gaps(cd, gap_factor)
    if _sign_from_capacity_columns(cd, flip) is None:  # the file's columns say nothing
        _sign_from_voltage(cd, flip)
    _resets_inside_steps(cd)
    df = cd.data
    if not any(c in df for w in ("capacity", "energy") for c in _ref_cols(w)):
        return
    st = _active_steps(cd)  # once: both checks below use it
    if not _units(cd, units_rtol, st):
        _disagreement(cd, rtol, st)


def _gaps(cd: CyclerData, gap_factor: float, gap_min: float = 60.0) -> None:
    df = cd.data
    code, sid, _ = step_labels(cd)
    n = len(df)
    gap = np.zeros(n, dtype=bool)
    if n >= 3:
        t = df["time"].to_numpy()
        dt = np.diff(t)
        same = sid[1:] == sid[:-1]
        active = (code != 0)[1:] & same
        nst = int(sid[-1]) + 1
        w = np.where(same, dt, 0.0)
        tot = np.bincount(sid[1:], weights=w, minlength=nst)[sid[1:]]
        cnt = np.bincount(sid[1:], weights=same, minlength=nst)[sid[1:]]
        # the interval before a step's first row is the step's too (it is integrated
        # at the first row's current): judged against the step's own intervals
        first = ~same & (code != 0)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            # mean of the step's other intervals
            others = np.where(same, (tot - dt) / (cnt - 1), tot / cnt)
        # the step's long intervals (99th percentile): logging on voltage change has
        # bursts of ms intervals between long ones, which are normal, not gaps
        cand = (active | first) & (cnt >= 3) & (dt > gap_factor * others) & (dt > gap_min)
        if cand.any():
            steps = np.unique(sid[1:][cand])
            sel = np.isin(sid[1:], steps) & same
            q99 = pd.Series(dt[sel]).groupby(sid[1:][sel]).quantile(0.99)
            typical = np.maximum(others, q99.reindex(sid[1:]).to_numpy())
        else:
            typical = others
        g = cand & (dt > gap_factor * typical)
        gap[1:] = g
        if g.any():
            idx = np.flatnonzero(g) + 1
            rows = df["row"].to_numpy()
            i = np.abs(df["current"].to_numpy())
            from electrohet.analysis.cycler import interval_weights

            size = float(np.sum(interval_weights(cd, sid)[0][idx]) / 3600.0)
            k = idx[0]
            has_file = any(
                c in df
                for w in ("capacity", "energy")
                for c in (w, f"charge_{w}", f"discharge_{w}")
            )
            cover = (
                "the file's own cumulative columns give these steps' values"
                if has_file and cd.values == "file"
                else "they are integrated across (the file has no cumulative column to "
                "confirm what flowed)"
            )
            cd.issues.append(
                DataIssue(
                    cd.source,
                    "gap",
                    (int(rows[k - 1]), int(rows[k])),
                    f"{cd.source}: {idx.size} logging gap(s) in current steps, the first "
                    f"of {dt[k - 1]:g} s between data rows {rows[k - 1]} and {rows[k]} "
                    f"({dt[k - 1] / typical[k - 1]:.3g}x the step's typical long interval, "
                    f"{typical[k - 1]:.3g} s) at {i[k]:.4g} A; the gaps "
                    f"({_ranges(idx, rows)}) hold {size:.4g} Ah ({cd.integration}) and are "
                    f"counted: {cover}",
                )
            )
    if gap.any():
        cd.data = cd.data.assign(gap=gap)


def _active_steps(cd: CyclerData) -> pd.DataFrame:
    from electrohet.analysis.cycler import step_table

    st = step_table(cd)
    return st[st["kind"] != "rest"]


def _flip_or_warn(cd: CyclerData, flip: bool, rows: tuple[int, int], what: str) -> None:
    if flip:
        cd.data = cd.data.assign(current=-cd.data["current"])
        act = "the current was flipped so that discharge is positive (fix it with --sign / sign=)"
    else:
        act = "the sign was given explicitly, so nothing was flipped: check it"
    cd.issues.append(DataIssue(cd.source, "sign", rows, f"{cd.source}: {what}; {act}"))


def _step_bounds(sid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.flatnonzero(np.concatenate([[True], sid[1:] != sid[:-1]]))
    last = np.concatenate([first[1:] - 1, [sid.size - 1]])
    return first, last


def _sign_from_capacity_columns(cd: CyclerData, flip: bool = True) -> bool | None:
    """True: contradicted (flipped or warned); False: confirmed; None: no evidence."""
    from electrohet.analysis.cycler import reference_increments

    df = cd.data
    if not ("charge_capacity" in df and "discharge_capacity" in df):
        return None
    code, sid, _ = step_labels(cd)
    first, last = _step_bounds(sid)
    nstep = first.size
    kind = np.array(["charge", "rest", "discharge"])[code[first] + 1]
    dc = np.abs(np.bincount(sid, reference_increments(cd, "charge_capacity"), minlength=nstep))
    dd = np.abs(np.bincount(sid, reference_increments(cd, "discharge_capacity"), minlength=nstep))
    informative = (kind != "rest") & ((dc > 0) | (dd > 0))
    wrong = informative & (((kind == "discharge") & (dc > dd)) | ((kind == "charge") & (dd > dc)))
    if informative.sum() and wrong.sum() > 0.5 * informative.sum():
        rows = df["row"].to_numpy()
        w = np.flatnonzero(wrong)
        _flip_or_warn(
            cd,
            flip,
            (int(rows[first[w[0]]]), int(rows[last[w[0]]])),
            f"the current sign contradicts the file's own charge/discharge capacity "
            f"columns in {w.size} of {int(informative.sum())} steps (first: data rows "
            f"{rows[first[w[0]]]}-{rows[last[w[0]]]})",
        )
        return True
    return False if informative.any() else None


def _sign_from_voltage(cd: CyclerData, flip: bool = True, min_dv: float = 0.005) -> bool:
    """Voltage falls on discharge and rises on charge: a convention that makes most
    steps run the other way (90 % of their time; the change over the second half of
    each step, so that the relaxation after a previous step does not count; CV steps
    and steps with less than ``min_dv`` of change left out; at least 3 steps) is
    reported (and flipped when ``flip``). Used only where the file has no separate
    charge/discharge capacity columns."""
    df = cd.data
    code, sid, _ = step_labels(cd)
    first, last = _step_bounds(sid)
    v = df["voltage"].to_numpy()
    t = df["time"].to_numpy()
    k = code[first]
    mid = (first + last) // 2
    dv = v[last] - v[mid]
    dur = t[last] - t[first]
    ok = (k != 0) & (np.abs(dv) > min_dv) & (last - first >= 4)
    if "mode" in df:
        ok &= df["mode"].to_numpy()[first] != 2
    if ok.sum() < 3 or dur[ok].sum() <= 0:
        return False
    wrong = ok & (np.sign(dv) == k)  # discharge (k = 1) with rising voltage, or the reverse
    share = dur[wrong].sum() / dur[ok].sum()
    if share < 0.9:
        return False
    rows = df["row"].to_numpy()
    w = np.flatnonzero(wrong)
    _flip_or_warn(
        cd,
        flip,
        (int(rows[first[w[0]]]), int(rows[last[w[0]]])),
        f"with the format's sign convention the voltage rises during 'discharge' and falls "
        f"during 'charge' in {w.size} of {int(ok.sum())} steps ({100 * share:.0f} % of their "
        f"time; first: data rows {rows[first[w[0]]]}-{rows[last[w[0]]]}): the file's "
        f"current has the opposite sign convention",
    )
    return True


def _resets_inside_steps(cd: CyclerData) -> None:
    """A cumulative column that restarts from zero inside a step (the instrument paused or
    restarted its counter): counted from the restart, so the step keeps what came
    before; reported, since the column's last value alone would miss it."""
    from electrohet.analysis.cycler import REFERENCE_COLUMNS, reference_increments

    df = cd.data
    code, sid, _ = step_labels(cd)
    rows = df["row"].to_numpy()
    for col in REFERENCE_COLUMNS:
        if col not in df or cd.resets.get(col, "auto") != "auto":
            continue
        inc, reset = reference_increments(cd, col, return_resets=True)
        inside = reset & np.concatenate([[False], sid[1:] == sid[:-1]]) & (code != 0)
        prev = np.abs(df[col].to_numpy())[np.flatnonzero(inside) - 1]
        inside[np.flatnonzero(inside)[prev <= 0]] = False
        if not inside.any():
            continue
        k = np.flatnonzero(inside)
        before = float(np.abs(df[col].to_numpy())[k - 1].sum())
        cd.issues.append(
            DataIssue(
                cd.source,
                "reset",
                (int(rows[k[0] - 1]), int(rows[k[0]])),
                f"{cd.source}: the file's {col} column restarts from zero inside a step at "
                f"{k.size} place(s) ({_ranges(k, rows)}); the step keeps what was counted "
                f"before each restart ({before:.4g} in all), which the column's last value "
                f"alone would miss",
            )
        )


def _units(cd: CyclerData, rtol: float, st: pd.DataFrame) -> bool:
    df = cd.data
    has = [w for w in ("capacity", "energy") if any(c in df for c in _ref_cols(w))]
    if not has:
        return False
    found = False
    for what in has:
        col = f"{what}_file"
        if col not in st or len(st) == 0:
            continue
        ref = st[col].to_numpy()
        val = st[f"{what}_integrated"].to_numpy()
        big = ref > 1e-3 * np.nanmax(ref) if np.isfinite(ref).any() and np.nanmax(ref) > 0 else None
        if big is None or not big.any():
            continue
        sel = big & (val > 0)
        if not sel.any():
            continue
        r = float(np.median(val[sel] / ref[sel]))
        if abs(r - 1.0) <= rtol:
            continue
        found = True
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
    return found


def _disagreement(cd: CyclerData, rtol: float, st: pd.DataFrame) -> None:
    """Steps whose integrated capacity differs from the file's own (values: the file's)."""
    if "capacity_file" not in st or len(st) == 0:
        return
    ref = st["capacity_file"].to_numpy()
    val = st["capacity_integrated"].to_numpy()
    fin = np.isfinite(ref)
    if not fin.any():
        return
    atol = 1e-3 * float(np.median(ref[fin])) if np.median(ref[fin]) > 0 else 0.0
    diff = val - ref
    bad = fin & (np.abs(diff) > rtol * np.abs(ref) + atol)
    if not bad.any():
        return
    b = np.flatnonzero(bad)
    worst = b[np.argmax(np.abs(diff[b]))]
    rel = diff[worst] / ref[worst] if ref[worst] > 0 else np.inf
    used = "the file's values are used" if cd.values == "file" else "the integrated values are used"
    cd.issues.append(
        DataIssue(
            cd.source,
            "disagree",
            (int(st["row_start"].iloc[b[0]]), int(st["row_end"].iloc[b[0]])),
            f"{cd.source}: the integrated capacity ({cd.integration}) differs from the file's "
            f"own capacity columns by more than {100 * rtol:g} % in {b.size} of {int(fin.sum())} "
            f"steps (first: data rows {st['row_start'].iloc[b[0]]}-{st['row_end'].iloc[b[0]]}; "
            f"largest: {diff[worst]:+.4g} Ah ({100 * rel:+.3g} %) in data rows "
            f"{st['row_start'].iloc[worst]}-{st['row_end'].iloc[worst]}); {used}",
        )
    )


def _ref_cols(what: str) -> tuple[str, ...]:
    return (what, f"charge_{what}", f"discharge_{what}")
