"""Neware BTS exports: CSV (and .xlsx when openpyxl is installed).

Columns (BTSDA 7/8 "record" sheet): ``Cycle Index``/``Cycle ID``, ``Step Index``/
``Step ID``, ``Step Type``/``Step Name`` (``CC Chg``, ``CC DChg``, ``CCCV Chg``,
``Rest``...), ``Total Time`` (``hh:mm:ss`` or ``d-hh:mm:ss`` strings, or seconds),
``Current(A)`` or ``Current(mA)``, ``Voltage(V)``, ``Capacity(Ah)`` (per step),
``Chg. Cap.(Ah)``, ``DChg. Cap.(Ah)``, ``Energy(Wh)``, ``Chg. Energy(Wh)``,
``DChg. Energy(Wh)``. Units from the header (defaults s, A, V, Ah, Wh). The step
type signs the current (``DChg`` discharge, ``Chg`` charge, ``Rest``); a signed
current that contradicts it is reported. Binary ``.nda``/``.ndax`` are not read
here (see :data:`electrohet.analysis.formats.UNSUPPORTED`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    first_lines,
    read_text,
    sep_of,
)

CANDIDATES = {
    "time": ("Total Time", "Test Time", "Total time"),
    "current": ("Current",),
    "voltage": ("Voltage",),
    "step": ("Step Index", "Step ID", "Step"),
    "cycle": ("Cycle Index", "Cycle ID", "Cycle"),
    "capacity": ("Capacity",),
    "charge_capacity": ("Chg. Cap.", "Chg. Cap"),
    "discharge_capacity": ("DChg. Cap.", "DChg. Cap"),
    "energy": ("Energy",),
    "charge_energy": ("Chg. Energy",),
    "discharge_energy": ("DChg. Energy",),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}


def sniff(head: str, raw: bytes, path: Path) -> float:
    lines = head.splitlines()[:5]
    for line in lines:
        if ("Step Type" in line or "Step Name" in line) and (
            "Cycle Index" in line or "Cycle ID" in line
        ):
            return 0.9
    return 0.0


def step_state(kind: pd.Series) -> pd.Series:
    """``D``/``C``/``R`` from Neware step types (``CC DChg``, ``CCCV_Chg``, ``Rest``...)."""
    s = kind.astype(str).str.upper().str.replace("_", " ", regex=False)
    out = np.where(
        s.str.contains("DCHG") | s.str.contains("DISCHARGE"),
        "D",
        np.where(
            s.str.contains("CHG") | s.str.contains("CHARGE"),
            "C",
            np.where(s.str.contains("REST") | s.str.contains("PAUSE"), "R", "?"),
        ),
    )
    return pd.Series(out, index=kind.index)


def _finish(df: pd.DataFrame, path: Path, columns, units, kw) -> CyclerData:
    """Convert a Neware table; its step type (added as a ``_state`` column) signs the current."""
    step_type = next((c for c in ("Step Type", "Step Name", "Status") if c in df), None)
    if step_type is not None:
        df = df.assign(_state=step_state(df[step_type]))
        columns = {"state": "_state", **(columns or {})}
    return cycler_data_from_table(
        df, path, "neware", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


def read_neware(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a Neware CSV (or .xlsx with openpyxl) export."""
    path = existing_file(path)
    if path.suffix.lower() == ".xlsx":
        from electrohet.analysis.formats.generic import excel_frame

        return _finish(excel_frame(path), path, columns, units, kw)
    head = first_lines(path, 1)
    df = read_text(path, skiprows=0, sep=sep_of(head[0] if head else ","))
    return _finish(df, path, columns, units, kw)


register(Format("neware", sniff, read_neware, "Neware BTS CSV/xlsx"))
