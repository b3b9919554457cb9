"""Arbin exports: MITS Pro CSV (units in the header, the unit-less variant, MITS Pro 8
headers with spaces), MITS Pro ``.xlsx`` workbooks and ``.res`` (MS Access) files.

Columns: ``Test_Time(s)`` / ``Test Time (s)`` (or ``Test_Time``), ``Current(A)``,
``Voltage(V)``, ``Step_Index``, ``Cycle_Index``, and the instrument's own
cumulative-per-cycle columns ``Charge_Capacity(Ah)``, ``Discharge_Capacity(Ah)``,
``Charge_Energy(Wh)``, ``Discharge_Energy(Wh)``. Units come from the header; where a
header has none (the unit-less export and ``.res``), Arbin's defaults apply: s, A, V,
Ah, Wh. Discharge current is negative in the file.

* ``.xlsx``: the data are on the ``Channel_*`` sheets (``Channel_1-006``, continued on
  ``Channel_1-006_1``... for long tests), which are concatenated in order; the
  ``Global_Info`` and ``Statistics`` sheets are not data.
* ``.res``: read with ``mdb-export FILE Channel_Normal_Table`` (Debian/Ubuntu package
  ``mdbtools``, also in Homebrew/conda-forge); without it, one line says so.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    read_delimited,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("Test_Time", "Test Time"),
    "current": ("Current",),
    "voltage": ("Voltage",),
    "step": ("Step_Index", "Step Index"),
    "cycle": ("Cycle_Index", "Cycle Index"),
    "charge_capacity": ("Charge_Capacity", "Charge Capacity"),
    "discharge_capacity": ("Discharge_Capacity", "Discharge Capacity"),
    "charge_energy": ("Charge_Energy", "Charge Energy"),
    "discharge_energy": ("Discharge_Energy", "Discharge Energy"),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
#: first bytes of an MS Access (Jet) database, as Arbin .res files are
JET_MAGIC = b"\x00\x01\x00\x00Standard Jet DB"


def sniff(head: str, raw: bytes, path: Path) -> float:
    if raw.startswith(JET_MAGIC):
        return 0.95
    for line in head.splitlines()[:3]:
        if ("Test_Time" in line or "Test Time" in line) and (
            "Step_Index" in line or "Cycle_Index" in line
            or "Step Index" in line or "Cycle Index" in line
        ):  # fmt: skip
            return 0.95
    return 0.0


def read_res(path: Path) -> pd.DataFrame:
    """The ``Channel_Normal_Table`` of an Arbin ``.res`` file, through ``mdb-export``."""
    exe = shutil.which("mdb-export")
    if exe is None:
        raise DataError(
            f"{path}: Arbin .res (MS Access) files are read with mdb-export, which is not "
            f"installed: install the Debian/Ubuntu package mdbtools (apt install mdbtools; "
            f"brew/conda: mdbtools), or export the channel to CSV/xlsx in MITS Pro"
        )
    r = subprocess.run(
        [exe, str(path), "Channel_Normal_Table"], capture_output=True, text=True, check=False
    )
    if r.returncode != 0 or not r.stdout.strip():
        raise DataError(
            f"{path}: mdb-export could not read the Channel_Normal_Table "
            f"({r.stderr.strip().splitlines()[-1] if r.stderr.strip() else 'no output'})"
        )
    df = pd.read_csv(io.StringIO(r.stdout))
    if "Test_ID" in df and df["Test_ID"].nunique() > 1:
        raise DataError(
            f"{path}: the .res file holds {df['Test_ID'].nunique()} tests (Test_ID "
            f"{sorted(df['Test_ID'].unique())}); export the one you want"
        )
    sort = [c for c in ("Test_Time", "Data_Point") if c in df]
    return df.sort_values(sort, kind="stable").reset_index(drop=True) if sort else df


def channel_sheets(path: Path) -> pd.DataFrame | None:
    """The ``Channel_*`` sheets of an Arbin workbook concatenated, or None if it has none."""
    from electrohet.analysis.formats.generic import excel_sheet_names

    names = [n for n in excel_sheet_names(path) if n.lower().startswith("channel")]
    if not names:
        return None
    with path.open("rb") as fh:
        sheets = pd.read_excel(fh, sheet_name=names)
    return pd.concat([sheets[n] for n in names], ignore_index=True)


def read_arbin(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    discharge_negative: bool = True,
    **kw: Any,
) -> CyclerData:
    """Read an Arbin export (CSV, .xlsx, .res); ``columns``/``units`` override the header."""
    path = existing_file(path)
    with path.open("rb") as fh:
        magic = fh.read(len(JET_MAGIC))
    if magic == JET_MAGIC:
        df = read_res(path)
    elif magic[:2] == b"PK":
        df = channel_sheets(path)
        if df is None:
            raise DataError(f"{path}: an .xlsx workbook without Channel_* sheets (not Arbin)")
    else:
        df = read_delimited(path)
    return cycler_data_from_table(
        df,
        path,
        "arbin",
        CANDIDATES,
        DEFAULT_UNITS,
        columns=columns,
        units=units,
        discharge_negative=discharge_negative,
        **kw,
    )


register(Format("arbin", sniff, read_arbin, "Arbin MITS Pro CSV/xlsx, .res"))
