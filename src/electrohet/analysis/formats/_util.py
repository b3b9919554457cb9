"""Helpers shared by the format modules: header names, units, text tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import UNIT_FACTORS, unit_from_header
from electrohet.errors import DataError

_UNIT_TAIL = re.compile(r"\s*([\(\[][^\)\]]*[\)\]]|/\s*[^/]+)\s*$")

#: Which unit kind each quantity is read in.
KIND = {
    "time": "time",
    "current": "current",
    "voltage": "voltage",
    "capacity": "capacity",
    "charge_capacity": "capacity",
    "discharge_capacity": "capacity",
    "energy": "energy",
    "charge_energy": "energy",
    "discharge_energy": "energy",
}


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
    cols: Mapping[str, str], defaults: Mapping[str, str], given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Units per unit kind: given > header > format default.

    A capacity/energy unit is taken from the first reference column with one.
    """
    units: dict[str, str] = dict(defaults)
    for q, c in cols.items():
        kind = KIND.get(q)
        if kind is None:
            continue
        u = unit_from_header(c, kind)
        if u is not None and kind in UNIT_FACTORS:
            units[kind] = u
    units.update(given or {})
    return units


def sep_of(line: str) -> str:
    """Delimiter of a header line: tab, semicolon or comma."""
    counts = {s: line.count(s) for s in ("\t", ";", ",")}
    return max(counts, key=lambda k: counts[k])


def read_text(path: Path, *, skiprows: int, sep: str, **kw: Any) -> pd.DataFrame:
    """Read the table part of a text export (the file is closed afterwards)."""
    try:
        with path.open("r", encoding=kw.pop("encoding", "latin-1"), newline="") as fh:
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


def first_lines(path: Path, n: int = 200, encoding: str = "latin-1") -> list[str]:
    """The first ``n`` lines of a text file (closed afterwards)."""
    out = []
    with path.open("r", encoding=encoding, errors="replace") as fh:
        for k, line in enumerate(fh):
            if k >= n:
                break
            out.append(line.rstrip("\r\n"))
    return out
