"""Basytec CTS text exports.

Header lines start with ``~``; the last of them is the column header
(``~Time[h]``, ``DataSet``, ``t-Step[h]``, ``Line``, ``Command``, ``U[V]``, ``I[A]``,
``Ah[Ah]``, ``Wh[Wh]``, ``Cyc-Count``, ``State``...). Units from the ``[unit]``
suffix (defaults h, A, V, Ah, Wh). Discharge current is negative. Steps are the
program ``Line``; cycles ``Cyc-Count``; ``Ah[Ah]``/``Wh[Wh]`` are the file's own
cumulative columns for the cross-checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    first_lines,
    read_text,
    sep_of,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("Time",),
    "current": ("I",),
    "voltage": ("U",),
    "step": ("Line",),
    "cycle": ("Cyc-Count", "Cyc-Count-0"),
    "capacity": ("Ah",),
    "energy": ("Wh",),
}
DEFAULT_UNITS = {"time": "h", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}


def sniff(head: str, raw: bytes, path: Path) -> float:
    lines = [x for x in head.splitlines()[:100] if x.startswith("~")]
    if lines and any("Time[" in x and ("I[" in x or "U[" in x) for x in lines):
        return 0.95
    if head.startswith("~Resultfile from"):
        return 0.9
    return 0.0


def read_basytec(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a Basytec text export."""
    path = existing_file(path)
    lines = first_lines(path, 200)
    n_head = 0
    while n_head < len(lines) and lines[n_head].startswith("~"):
        n_head += 1
    if n_head == 0:
        raise DataError(f"{path}: not a Basytec export (no '~' header lines)")
    header = lines[n_head - 1].lstrip("~")
    sep = sep_of(header)
    df = read_text(path, skiprows=n_head, sep=sep, header=None)
    names = [h.strip() for h in header.split(sep)]
    if len(names) != df.shape[1]:
        raise DataError(f"{path}: header has {len(names)} columns, data {df.shape[1]}")
    df.columns = names
    return cycler_data_from_table(
        df, path, "basytec", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


register(Format("basytec", sniff, read_basytec, "Basytec CTS text"))
