"""Maccor text exports (tab-delimited, with a multi-line header before the table),
MIMS exports, and comma-separated exports.

The table header is the first line holding ``Cyc#`` or ``Amps``/``Current`` and
``State``/``Md``, or ``Rec`` with ``Md``; the lines above it (``Today's Date``,
``Date of Test``, ``Filename``, ``Procedure``, MIMS' ``Name:``/``SCap``...) are skipped.

* **MIMS export**: ``Rec``, ``Cycle P``, ``Cycle C``, ``Step``, ``TestTime``,
  ``StepTime``, ``Cap. [Ah]``, ``Ener. [Wh]``, ``Current [A]``, ``Voltage [V]``,
  ``Md`` (the state), ``DPT Time``. Its ``TestTime`` has no unit in the header; the
  unit (s, min or h) is taken from the absolute ``DPT Time`` stamps where they fix
  it, and that choice is recorded.
* **Comma CSV without State** (``Cycle C``, ``Step``, ``Test Time (sec)``,
  ``Capacity``, ``Current``, ``Voltage``, ``DPT Time``...): the current is signed in
  the file (discharge negative), checked against the voltage.
 Columns: ``Rec#``, ``Cyc#``, ``Step``, ``Test (Sec)``
(or ``TestTime`` as ``d hh:mm:ss``), ``Amps`` (unsigned), ``Volts``, ``State``
(``C`` charge, ``D`` discharge, ``R`` rest, ``O``/``S``/``P`` other; ``FRA``
impedance records are left out and counted), ``Amp-hr`` and
``Watt-hr`` (cumulative within a step). Defaults: s, A, V, Ah, Wh; the current is
signed from ``State``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from electrohet.analysis.cycler import CyclerData, DataIssue, from_dataframe, unit_from_header
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    existing_file,
    first_lines,
    map_columns,
    read_text,
    units_for,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("Test (Sec)", "Test (Min)", "Test (Hr)", "TestTime", "Test Time", "Test (sec)"),
    "current": ("Amps", "Current", "Current (A)"),
    "voltage": ("Volts", "Voltage"),
    "step": ("Step",),
    "cycle": ("Cyc#", "Cycle C", "Cycle"),
    "state": ("State", "MD", "Md"),
    "capacity": ("Amp-hr", "Capacity", "Amp-Hr", "AH", "Cap."),
    "energy": ("Watt-hr", "Energy", "Watt-Hr", "WH", "Ener."),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
_TIME_UNITS = {"Test (Sec)": "s", "Test (sec)": "s", "Test (Min)": "min", "Test (Hr)": "h"}


def _is_header(line: str) -> bool:
    f = [x.strip() for x in line.replace(",", "\t").split("\t")]
    if ("Cyc#" in line or "Amps" in line) and ("State" in f or "MD" in f or "Md" in f):
        return True
    if f and f[0] in ("Rec", "Rec#") and ("Md" in f or "MD" in f or "State" in f):
        return True  # MIMS
    return (
        ("DPT Time" in f or "DPt Time" in f)
        and "Step" in f
        and any(x.startswith(("Current", "Amps")) for x in f)
    )  # comma CSV without State


def sniff(head: str, raw: bytes, path: Path) -> float:
    lines = head.splitlines()[:60]
    if any(_is_header(line) and ("Rec" in line or "Step" in line) for line in lines):
        return 0.9
    return 0.0


def _time_unit_from_stamps(df, col: str, stamp: str) -> str | None:
    """s, min or h: the unit that makes the test time advance like the absolute stamps."""
    from electrohet.analysis.cycler import parse_datetime, parse_time

    t = parse_time(df[col])
    ts = parse_datetime(df[stamp])
    dt, ds = np.diff(t), np.diff(ts)
    ok = np.isfinite(dt) & np.isfinite(ds) & (ds >= 30) & (dt > 0)
    if ok.sum() < 3:
        return None
    r = float(np.median(ds[ok] / dt[ok]))  # seconds per file time unit
    for unit, f in (("s", 1.0), ("min", 60.0), ("h", 3600.0)):
        if abs(np.log(r / f)) < 0.1:
            return unit
    return None


def read_maccor(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    skiprows: int | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a Maccor text export (header row found automatically)."""
    path = existing_file(path)
    lines = first_lines(path, 200)
    if skiprows is None:
        skiprows = next((k for k, line in enumerate(lines) if _is_header(line)), None)
        if skiprows is None:
            raise DataError(
                f"{path}: no Maccor table header (a line with 'Cyc#' or 'Amps' and 'State', "
                f"'Rec' and 'Md', or 'DPT Time' with 'Step' and 'Current') in the first "
                f"{len(lines)} lines"
            )
    sep = "\t" if "\t" in lines[skiprows] else ","
    df = read_text(path, skiprows=skiprows, sep=sep)
    df = df.dropna(how="all").reset_index(drop=True)
    cols = map_columns(df.columns, CANDIDATES)
    cols.update(columns or {})
    rows = np.arange(len(df))
    pre: dict[str, int] = {}
    if "state" in cols:
        fra = df[cols["state"]].astype(str).str.strip().str.upper().str.startswith("FRA")
        if fra.any():  # impedance (FRA) records: no charge/discharge data
            pre["impedance rows (State FRA)"] = int(fra.sum())
            df = df.loc[~fra.to_numpy()].reset_index(drop=True)
            rows = rows[~fra.to_numpy()]
    u = dict(DEFAULT_UNITS)
    if cols.get("time") in _TIME_UNITS:
        u["time"] = _TIME_UNITS[cols["time"]]
    else:
        hu = unit_from_header(cols.get("time", ""), "time")
        if hu:
            u["time"] = hu
    notes = []
    stamp = next((c for c in ("DPT Time", "DPt Time") if c in df), None)
    if "time" in cols and stamp and not (units and "time" in units):
        if cols["time"] not in _TIME_UNITS and not unit_from_header(cols["time"], "time"):
            tu = _time_unit_from_stamps(df, cols["time"], stamp)
            if tu is not None and not df[cols["time"]].astype(str).str.contains(":").any():
                u["time"] = tu
                if tu != "s":
                    notes.append(
                        f"{path}: the time column {cols['time']!r} has no unit in its header; "
                        f"it advances like the {stamp!r} stamps in {tu}, so it is read in {tu}"
                    )
    for q, c in cols.items():  # units written in the headers ('Cap. [Ah]', 'Current [A]')
        kind = {"capacity": "capacity", "energy": "energy", "current": "current",
                "voltage": "voltage"}.get(q)  # fmt: skip
        if kind:
            hu = unit_from_header(c, kind, strict=True, source=str(path))
            if hu:
                u[kind] = hu
    # the State column signs the current; without one, the current must be signed
    neg = kw.pop("discharge_negative", True)
    cd = from_dataframe(
        df,
        cols,
        units_for({}, u, units),
        discharge_negative=neg,
        source=str(path),
        fmt="maccor",
        rows=rows,
        pre_excluded=pre,
        **kw,
    )
    cd.issues.extend(DataIssue(str(path), "units", None, n) for n in notes)
    return cd


register(Format("maccor", sniff, read_maccor, "Maccor text export"))
