"""Generic delimited tables (the fallback format) and Excel sheets.

Columns are given with ``columns=`` or found by common names (``time``/``t``/
``test time``, ``current``/``I``, ``voltage``/``U``/``potential``/``Ewe``); units are
given with ``units=`` or read from the headers (``(h)``, ``[mA]``, ``/mA``), else
s, A, V. Discharge is negative in the file unless ``discharge_negative=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import cycler_data_from_table, existing_file, read_delimited
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("time", "t", "test time", "test_time", "total time"),
    "current": ("current", "i"),
    "voltage": ("voltage", "u", "v", "potential", "ewe", "e"),
    "step": ("step", "step index", "step_index", "ns"),
    "cycle": ("cycle", "cycle index", "cycle_index", "cycle number"),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V"}


def sniff(head: str, raw: bytes, path: Path) -> float:
    return 0.1 if b"\x00" not in raw[:4096] else 0.0


def read_generic(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    sep: str | None = None,
    skiprows: int = 0,
    **kw: Any,
) -> CyclerData:
    """Read a delimited table (delimiter from the header line unless ``sep`` is given)."""
    path = existing_file(path)
    df = read_delimited(path, skiprows=skiprows, sep=sep, decimal=kw.pop("decimal", "."))
    return cycler_data_from_table(
        df, path, "csv", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


def excel_frame(path: Path) -> pd.DataFrame:
    """First sheet with a table of an .xlsx file (needs openpyxl)."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise DataError(
            f"{path}: unsupported format without the optional reader: .xlsx needs openpyxl "
            f"(pip install openpyxl), or save the sheet as CSV"
        ) from exc
    with path.open("rb") as fh:
        sheets = pd.read_excel(fh, sheet_name=None)
    for df in sheets.values():
        if df.shape[1] >= 3 and len(df) > 0:
            return df
    raise DataError(f"{path}: no sheet with a data table")


def read_xlsx(path: str | Path, **kw: Any) -> CyclerData:
    """Read the first table sheet of an .xlsx export (generic column names)."""
    path = Path(path)
    return cycler_data_from_table(excel_frame(path), path, "csv", CANDIDATES, DEFAULT_UNITS, **kw)


register(Format("csv", sniff, read_generic, "generic delimited table"))
