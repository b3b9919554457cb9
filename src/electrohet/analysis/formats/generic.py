"""Generic delimited tables (the fallback format) and Excel sheets.

Columns are given with ``columns=`` or found by common names (``time``/``t``/
``test time``, ``current``/``I``, ``voltage``/``U``/``potential``/``Ewe``); units are
given with ``units=`` or read from the headers (``(h)``, ``[mA]``, ``/mA``), else
s, A, V. Discharge is negative in the file unless ``discharge_negative=False``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    first_lines,
    map_columns,
    read_delimited,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("time", "t", "test time", "test_time", "total time"),
    "current": ("current", "i"),
    "voltage": ("voltage", "u", "v", "potential", "ewe", "e"),
    "step": ("step", "step index", "step_index", "ns"),
    "cycle": ("cycle", "cycle index", "cycle_index", "cycle number"),
    "charge_capacity": ("charge capacity", "charge_capacity"),
    "discharge_capacity": ("discharge capacity", "discharge_capacity"),
    "charge_energy": ("charge energy", "charge_energy"),
    "discharge_energy": ("discharge energy", "discharge_energy"),
}
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
#: ``test_time_s``, ``current_A``, ``charge_capacity_Ah``: a unit as the last word
_SNAKE_UNIT = re.compile(r"^(.+?)_(s|h|a|ma|v|mv|ah|mah|wh|mwh)$", re.IGNORECASE)
_CANON = {"s": "s", "h": "h", "a": "A", "ma": "mA", "v": "V", "mv": "mV", "ah": "Ah",
          "mah": "mAh", "wh": "Wh", "mwh": "mWh"}  # fmt: skip


def _snake_units(df: pd.DataFrame) -> pd.DataFrame:
    """``test_time_s`` -> ``test_time (s)`` so that the unit is read like any other."""
    ren = {}
    for c in df.columns:
        m = _SNAKE_UNIT.match(str(c))
        if m:
            ren[c] = f"{m.group(1)} ({_CANON[m.group(2).lower()]})"
    return df.rename(columns=ren) if ren else df


_HOW = (
    "read it with --format FORMAT (one of arbin, maccor, biologic, neware, basytec, novonix, "
    "pec, bdf, csv), or as a plain table with --columns time=COL,current=COL,voltage=COL "
    "and --units time=h,current=mA (library: read_cycler(path, fmt=..., columns=..., "
    "units=...))"
)


def sniff(head: str, raw: bytes, path: Path) -> float:
    return 0.1 if b"\x00" not in raw[:4096] else 0.0


def header_row(lines: list[str], sep: str | None = None) -> tuple[int, str]:
    """Index and delimiter of the header line of a table with a preamble.

    The data lines at the end of ``lines`` fix the delimiter and the number of fields;
    the header is the first line with that many fields (preambles such as
    ``Test:,187`` have fewer).
    """
    body = [x for x in lines if x.strip()]
    if not body:
        return 0, sep or ","
    tail = body[-min(20, len(body)) :]
    if sep is None:
        counts = {d: sorted(x.count(d) for x in tail)[len(tail) // 2] for d in ("\t", ";", ",")}
        sep = max(counts, key=lambda d: counts[d])
    n = sorted(x.count(sep) for x in tail)[len(tail) // 2]

    def numeric_share(line: str) -> float:
        f = [x.strip() for x in line.split(sep) if x.strip()]
        ok = sum(bool(re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", x)) for x in f)
        return ok / len(f) if f else 0.0

    # the data start at the first line with that many fields that is mostly numbers;
    # the header is the last line before it with that many fields (preambles padded
    # with delimiters, 'cell id: ,,,,', have them too but come earlier)
    start = next(
        (k for k, x in enumerate(lines) if x.count(sep) == n and numeric_share(x) >= 0.5), None
    )
    if start is None:
        start = len(lines)
    for k in range(start - 1, -1, -1):
        if lines[k].strip() and lines[k].count(sep) in (n, n - 1):  # data may end in sep
            return k, sep
    return 0, sep


def read_generic(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    sep: str | None = None,
    skiprows: int | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a delimited table (header line and delimiter found unless given).

    Raises
    ------
    DataError
        One line when the table has no recognisable time/current/voltage columns or
        cannot be parsed: what was recognised, what was expected, and the
        ``--format``/``--columns``/``--units`` options that would read it.
    """
    path = existing_file(path)
    lines = first_lines(path, 200)
    if skiprows is None:
        skiprows, sep = header_row(lines, sep)
    try:
        df = read_delimited(path, skiprows=skiprows, sep=sep, decimal=kw.pop("decimal", "."))
    except DataError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        why = (
            f"line {m.group(2)} has {m.group(3)} fields where the header on line "
            f"{skiprows + 1} has {m.group(1)}"
            if m
            else "it does not parse as one delimited table"
        )
        raise DataError(
            f"{path}: format not recognised: no known cycler header in the first lines, and "
            f"as a plain table {why}; {_HOW}"
        ) from exc
    if not columns:
        df = _snake_units(df)
    cols = dict(columns or {})
    found = {q: c for q, c in map_columns(df.columns, CANDIDATES).items() if q not in cols}
    missing = [q for q in ("time", "current", "voltage") if q not in cols and q not in found]
    if missing:
        shown = [str(c) for c in df.columns[:12]]
        more = f" (+{df.shape[1] - 12} more)" if df.shape[1] > 12 else ""
        raise DataError(
            f"{path}: format not recognised: read as a table with columns {shown}{more} "
            f"(header on line {skiprows + 1}), but no {'/'.join(missing)} column was found "
            f"(expected a known cycler layout, or columns named time/current/voltage); {_HOW}"
        )
    return cycler_data_from_table(
        df, path, "csv", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


def excel_sheet_names(path: Path) -> list[str]:
    """Sheet names of an .xlsx workbook (needs openpyxl)."""
    _need_openpyxl(path)
    import openpyxl

    with path.open("rb") as fh:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, ... on a broken workbook
            raise DataError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()


def _need_openpyxl(path: Path) -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise DataError(
            f"{path}: unsupported format without the optional reader: .xlsx needs openpyxl "
            f"(pip install openpyxl), or save the sheet as CSV"
        ) from exc


def excel_frame(path: Path) -> pd.DataFrame:
    """First sheet with a table of an .xlsx file (needs openpyxl)."""
    _need_openpyxl(path)
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
