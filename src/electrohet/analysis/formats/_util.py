"""Helpers shared by the format modules: header names, units, text tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import (
    REFERENCE_COLUMNS,
    UNIT_FACTORS,
    CyclerData,
    from_dataframe,
    text_encoding,
    unit_from_header,
)
from electrohet.errors import DataError

_UNIT_TAIL = re.compile(r"\s*([\(\[][^\)\]]*[\)\]]|/\s*[^/]+)\s*$")

#: Which unit kind each quantity is read in.
KIND = {"time": "time", "current": "current", "voltage": "voltage", **REFERENCE_COLUMNS}


def base_name(header: str) -> str:
    """Header without its unit and spaces, lower case (``Current(A)`` -> ``current``)."""
    return _UNIT_TAIL.sub("", str(header).strip()).strip().lower()


def find(columns: Iterable[str], *bases: str) -> str | None:
    """First column whose :func:`base_name` (or exact name) is one of ``bases``."""
    cols = list(columns)
    for b in bases:
        for c in cols:
            if c == b:
                return c
    by_base = {base_name(c): c for c in reversed(cols)}
    for b in bases:
        if b.lower() in by_base:
            return by_base[b.lower()]
    return None


def map_columns(
    columns: Iterable[str], candidates: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """Quantity -> column for every quantity that has a candidate in ``columns``."""
    out = {}
    cols = list(columns)
    for q, bases in candidates.items():
        c = find(cols, *bases)
        if c is not None:
            out[q] = c
    return out


def units_for(
    cols: Mapping[str, str],
    defaults: Mapping[str, str],
    given: Mapping[str, str] | None = None,
    source: str = "",
) -> dict[str, str]:
    """Units per unit kind: given > header > format default.

    Parameters
    ----------
    cols
        Quantity -> column name; a unit in a column's header (``Current(mA)``) is used.
    defaults
        The format's unit per kind (``time``, ``current``, ``voltage``, ``capacity``,
        ``energy``). Headers set only the kinds listed here: a format without a
        capacity/energy default (the generic table) ignores units in those headers.
    given
        Units given by the caller; they override everything else.
    source
        File name for messages.

    Raises
    ------
    DataError
        A header names a unit that is not a unit of its quantity (``Current(MA)``)
        and the caller gave none for that quantity.

    Returns
    -------
    dict
        Unit per kind. A capacity/energy unit is taken from the last reference
        column whose header has one.
    """
    units: dict[str, str] = dict(defaults)
    given = dict(given or {})
    for q, c in cols.items():
        kind = KIND.get(q)
        if kind is None or kind not in defaults:
            continue
        # a unit written in the header but unknown is an error (unless the caller gave one)
        u = unit_from_header(c, kind, strict=kind not in given, source=source)
        if u is not None and kind in UNIT_FACTORS:
            units[kind] = u
    units.update(given)
    return units


def cycler_data_from_table(
    df: pd.DataFrame,
    path: Path,
    fmt: str,
    candidates: Mapping[str, tuple[str, ...]],
    default_units: Mapping[str, str],
    *,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    discharge_negative: bool = True,
    **kw: Any,
) -> CyclerData:
    """Convert a format's raw table to :class:`CyclerData` (the common last step).

    Columns are found by :func:`map_columns` from ``candidates`` and then overridden
    by ``columns``; units come from :func:`units_for` (given > header > default).

    Parameters
    ----------
    df
        The raw table as read from the file.
    path
        The file (recorded as the data's source).
    fmt
        Format name recorded in the data (``arbin``, ``csv``...).
    candidates
        Quantity -> header base names that identify its column in this format.
    default_units
        The format's unit per kind where a header has none.
    columns, units
        Caller's overrides (quantity -> column; kind -> unit).
    discharge_negative
        True when the file stores discharge current as negative.
    **kw
        Passed on to :func:`~electrohet.analysis.cycler.from_dataframe`
        (``integration``, ``checks``...).

    Returns
    -------
    CyclerData
        Validated data in SI units, discharge current positive.
    """
    cols = map_columns(df.columns, candidates)
    cols.update(columns or {})
    return from_dataframe(
        df,
        cols,
        units_for(cols, default_units, units, str(path)),
        discharge_negative=discharge_negative,
        source=str(path),
        fmt=fmt,
        **kw,
    )


def existing_file(path: str | Path) -> Path:
    """``path`` as a :class:`~pathlib.Path`, checked to be a file.

    Raises
    ------
    DataError
        ``path`` is not an existing file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return path


def read_delimited(
    path: Path, *, skiprows: int = 0, sep: str | None = None, **kw: Any
) -> pd.DataFrame:
    """Read a delimited table whose header line follows ``skiprows`` lines.

    Parameters
    ----------
    path
        The file.
    skiprows
        Lines before the header line.
    sep
        Delimiter; None: from the header line (:func:`sep_of`).
    **kw
        Passed on to :func:`read_text` (``decimal``...).

    Raises
    ------
    DataError
        The file has no header line, or its table cannot be parsed.
    """
    head = first_lines(path, skiprows + 1)
    if len(head) <= skiprows:
        raise DataError(f"{path}: empty file")
    return read_text(path, skiprows=skiprows, sep=sep or sep_of(head[skiprows]), **kw)


def sep_of(line: str) -> str:
    """Delimiter of a header line: tab, semicolon or comma."""
    counts = {s: line.count(s) for s in ("\t", ";", ",")}
    return max(counts, key=lambda k: counts[k])


def read_text(path: Path, *, skiprows: int, sep: str, **kw: Any) -> pd.DataFrame:
    """Read the table part of a text export (the file is closed afterwards)."""
    try:
        enc = kw.pop("encoding", None) or text_encoding(path)
        kw.setdefault("index_col", False)  # a trailing delimiter on data lines is no index
        with path.open("r", encoding=enc, errors="replace", newline="") as fh:
            df = pd.read_csv(fh, sep=sep, skiprows=skiprows, **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{path}: cannot parse the data table ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]


def header_line(head: str, predicate, max_lines: int = 200) -> int | None:
    """Index of the first of the first ``max_lines`` lines that satisfies ``predicate``."""
    for k, line in enumerate(head.splitlines()[:max_lines]):
        if predicate(line):
            return k
    return None


def first_lines(path: Path, n: int = 200, encoding: str | None = None) -> list[str]:
    """The first ``n`` lines of a text file (closed afterwards; encoding detected by
    :func:`~electrohet.analysis.cycler.text_encoding` unless given)."""
    out = []
    with path.open("r", encoding=encoding or text_encoding(path), errors="replace") as fh:
        for k, line in enumerate(fh):
            if k >= n:
                break
            out.append(line.rstrip("\r\n"))
    return out
