"""Maccor text exports (tab-delimited, with a multi-line header before the table).

The table header is the first line holding ``Cyc#`` or ``Amps``/``Current`` and
``State``; the lines above it (``Today's Date``, ``Date of Test``, ``Filename``,
``Procedure``...) are skipped. Columns: ``Rec#``, ``Cyc#``, ``Step``, ``Test (Sec)``
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

from electrohet.analysis.cycler import CyclerData, from_dataframe
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
    "cycle": ("Cyc#", "Cycle", "Cycle C"),
    "state": ("State", "MD"),
    "capacity": ("Amp-hr", "Capacity", "Amp-Hr", "AH"),
    "energy": ("Watt-hr", "Energy", "Watt-Hr", "WH"),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
_TIME_UNITS = {"Test (Sec)": "s", "Test (sec)": "s", "Test (Min)": "min", "Test (Hr)": "h"}


def _is_header(line: str) -> bool:
    return ("Cyc#" in line or "Amps" in line) and ("State" in line or "MD" in line.split("\t"))


def sniff(head: str, raw: bytes, path: Path) -> float:
    lines = head.splitlines()[:60]
    if any(_is_header(line) and ("Rec" in line or "Step" in line) for line in lines):
        return 0.9
    return 0.0


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
                f"{path}: no Maccor table header (a line with 'Cyc#' or 'Amps' and 'State') "
                f"in the first {len(lines)} lines"
            )
    sep = "\t" if "\t" in lines[skiprows] else ","
    df = read_text(path, skiprows=skiprows, sep=sep)
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
    # the State column signs the current; without one, the current must be signed
    neg = kw.pop("discharge_negative", True)
    return from_dataframe(
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


register(Format("maccor", sniff, read_maccor, "Maccor text export"))
