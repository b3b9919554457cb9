"""Neware BTS exports: CSV record sheets, the nested cycle/step/record CSV, .xlsx, and
binary ``.nda``/``.ndax`` through the optional ``NewareNDA`` package.

Record columns (BTSDA 7/8): ``Cycle Index``/``Cycle ID``, ``Step Index``/``Step ID``,
``Step Type``/``Step Name`` (``CC Chg``, ``CC DChg``, ``CCCV Chg``, ``Rest``...), the
test time as ``Total Time`` or ``Cumulative Time`` (``hh:mm:ss``, ``d-hh:mm:ss`` or
seconds; where only the per-step ``Time`` is there, the test time is built from it:
:func:`~electrohet.analysis.cycler.cumulative_time`), ``Current(A)`` or ``Current(mA)``,
``Voltage(V)``, and the instrument's own ``Capacity(Ah)``, ``Chg. Cap.(Ah)``,
``DChg. Cap.(Ah)``, ``Energy(Wh)``, ``Chg. Energy(Wh)``, ``DChg. Energy(Wh)``
(per step; resets detected). Units from the headers (defaults s, A, V, Ah, Wh). The
step type signs the current; a signed current that contradicts it is reported.

* **Nested export** (line 1 ``Cycle Index,Chg. Cap.(Ah),...``, line 2
  ``,Step Index,Step Number,Step Type,...``, line 3 ``,,DataPoint,Time,Total Time,...``;
  then cycle lines, step lines starting with one comma and record lines starting with
  two): the record lines are the table; each takes the cycle and step (index, type)
  of the lines above it.
* **.nda/.ndax**: ``pip install NewareNDA`` (or ``electrohet[cycler]``); its table
  (``Cycle``, ``Step``, ``Status``, per-step ``Time``, ``Current(mA)``,
  ``Charge_Capacity(mAh)``...) is read like a record sheet, with the test time built
  from the per-step time. A CSV written from that table is recognised as well.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from electrohet.analysis.cycler import CyclerData, cumulative_time, parse_time, text_encoding
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    find,
    first_lines,
    read_text,
    sep_of,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("Total Time", "Cumulative Time", "Test Time", "Total time", "Test_Time"),
    "current": ("Current",),
    "voltage": ("Voltage",),
    "step": ("Step Index", "Step ID", "Step_Index", "Step"),
    "cycle": ("Cycle Index", "Cycle ID", "Cycle_Index", "Cycle"),
    "capacity": ("Capacity",),
    "charge_capacity": ("Chg. Cap.", "Chg. Cap", "Charge_Capacity", "Charge Capacity"),
    "discharge_capacity": ("DChg. Cap.", "DChg. Cap", "Discharge_Capacity", "Discharge Capacity"),
    "energy": ("Energy",),
    "charge_energy": ("Chg. Energy", "Charge_Energy", "Charge Energy"),
    "discharge_energy": ("DChg. Energy", "Discharge_Energy", "Discharge Energy"),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
#: NewareNDA's table: current in mA, capacity in mAh, energy in mWh, per-step Time (s)
NDA_UNITS = {"time": "s", "current": "mA", "voltage": "V", "capacity": "mAh", "energy": "mWh"}


def _nested(lines: list[str]) -> bool:
    return (
        len(lines) >= 3
        and lines[0].lstrip("\ufeff").startswith(("Cycle Index", "Cycle ID"))
        and lines[1].startswith(",Step")
        and lines[2].startswith(",,")
    )


def sniff(head: str, raw: bytes, path: Path) -> float:
    if path.suffix.lower() in (".nda", ".ndax"):
        return 0.95
    lines = head.splitlines()[:5]
    if _nested(lines):
        return 0.95
    for line in lines:
        if ("Step Type" in line or "Step Name" in line) and (
            "Cycle Index" in line or "Cycle ID" in line
        ):
            return 0.9
        if "Status" in line and "Charge_Capacity(mAh)" in line and "Step" in line:
            return 0.9  # a CSV written from NewareNDA's table
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


def _finish(
    df: pd.DataFrame, path: Path, columns, units, kw, default_units=DEFAULT_UNITS
) -> CyclerData:
    """Convert a Neware table; its step type (added as ``_state``) signs the current."""
    columns = dict(columns or {})
    step_type = next((c for c in ("Step Type", "Step Name", "Status") if c in df), None)
    if step_type is not None:
        df = df.assign(_state=step_state(df[step_type]))
        columns = {"state": "_state", **columns}
    if "time" not in columns and find(df.columns, *CANDIDATES["time"]) is None:
        # only the per-step time: the test time is built from it
        st_col = find(df.columns, "Time", "Step Time", "Step_Time")
        step_col = columns.get("step") or find(df.columns, *CANDIDATES["step"])
        if st_col is not None and step_col is not None:
            secs = parse_time(df[st_col])
            df = df.assign(_test_time=cumulative_time(secs, df[step_col].to_numpy()))
            columns["time"] = "_test_time"
    return cycler_data_from_table(
        df, path, "neware", CANDIDATES, default_units, columns=columns, units=units, **kw
    )


def _read_nested(path: Path) -> pd.DataFrame:
    """The record lines of a nested export, with their cycle and step columns."""
    enc = text_encoding(path)
    with path.open("r", encoding=enc, errors="replace", newline="") as fh:
        lines = fh.read().splitlines()
    cyc_head = lines[0].lstrip("\ufeff").split(",")
    step_head = lines[1].split(",")[1:]
    rec_head = lines[2].split(",")[2:]
    cyc_name, step_name = cyc_head[0], step_head[0]
    st_type = "Step Type" if "Step Type" in step_head else None
    cyc = step = None
    stype = ""
    out: list[str] = []
    meta: list[tuple[str, str, str]] = []
    for line in lines[3:]:
        if not line.strip():
            continue
        if line.startswith(",,"):
            out.append(line[2:])
            meta.append((cyc, step, stype))
        elif line.startswith(","):
            f = line[1:].split(",")
            step = f[0]
            if st_type is not None:
                stype = f[step_head.index(st_type)]
        else:
            cyc = line.split(",")[0]
    if not out:
        raise DataError(f"{path}: nested Neware export without record lines (',,' lines)")
    df = pd.read_csv(io.StringIO("\n".join(out)), header=None, names=rec_head, index_col=False)
    df.columns = [str(c).strip() for c in df.columns]
    m = np.array(meta, dtype=object)
    df[cyc_name] = pd.to_numeric(m[:, 0], errors="coerce")
    df[step_name] = pd.to_numeric(m[:, 1], errors="coerce")
    if st_type is not None:
        df["Step Type"] = m[:, 2]
    return df


def read_nda(path: Path) -> pd.DataFrame:
    """NewareNDA's table of a ``.nda``/``.ndax`` file (the optional reader)."""
    try:
        import NewareNDA
    except ImportError as exc:
        raise DataError(
            f"{path}: Neware {path.suffix} files need the optional reader NewareNDA "
            f"(pip install NewareNDA, or pip install 'electrohet[cycler]'), or export "
            f"the test to CSV in BTSDA"
        ) from exc
    try:
        return NewareNDA.read(str(path))
    except Exception as exc:  # NewareNDA raises various errors on unreadable files
        raise DataError(f"{path}: NewareNDA cannot read this file ({exc})") from exc


def read_neware(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a Neware export (CSV, nested CSV, .xlsx with openpyxl, .nda/.ndax with
    NewareNDA)."""
    path = existing_file(path)
    suf = path.suffix.lower()
    if suf in (".nda", ".ndax"):
        df = read_nda(path)
        return _finish(df, path, columns, units, kw, NDA_UNITS)
    if suf == ".xlsx":
        from electrohet.analysis.formats.generic import excel_frame

        return _finish(excel_frame(path), path, columns, units, kw)
    head = first_lines(path, 3)
    if _nested(head):
        return _finish(_read_nested(path), path, columns, units, kw)
    df = read_text(path, skiprows=0, sep=sep_of(head[0] if head else ","))
    if "Charge_Capacity(mAh)" in df and "Status" in df:
        return _finish(df, path, columns, units, kw, NDA_UNITS)
    return _finish(df, path, columns, units, kw)


register(Format("neware", sniff, read_neware, "Neware BTS CSV/xlsx, NewareNDA .nda/.ndax"))
