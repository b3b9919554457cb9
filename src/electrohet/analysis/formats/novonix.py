"""Novonix UHPC exports: ``[Summary]`` ... ``[End Summary]`` block, then ``[Data]``.

The table header follows the ``[Data]`` line: ``Date and Time``, ``Cycle Number``,
``Step Type``, ``Run Time (h)``, ``Step Time (h)``, ``Current (A)``,
``Potential (V)``, ``Capacity (Ah)``, ``Energy (Wh)``, ``Step Number``... Units from
the header (defaults h, A, V, Ah, Wh). Discharge current is negative. ``Step Type``
codes are not interpreted; they (or ``Step Number``) delimit steps. ``Capacity`` and
``Energy`` (cumulative within a step) are the file's own columns (step values and the
cross-checks). Exports with every line in double quotes (``"[Summary]"``,
``"Date and Time,Cycle Number,..."``) are unquoted first.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from electrohet.analysis.cycler import CyclerData, text_encoding
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
    "time": ("Run Time", "Run time"),
    "current": ("Current",),
    "voltage": ("Potential", "Voltage"),
    "step": ("Step Number", "Step Type"),
    "cycle": ("Cycle Number",),
    "capacity": ("Capacity",),
    "energy": ("Energy",),
}
DEFAULT_UNITS = {"time": "h", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}


def _unquote(line: str) -> str:
    x = line.strip()
    if len(x) >= 2 and x[0] == '"' and x[-1] == '"' and x.count('"') == 2:
        return x[1:-1]
    return line


def sniff(head: str, raw: bytes, path: Path) -> float:
    head = "\n".join(_unquote(x) for x in head.splitlines()[:300])
    if head.lstrip().startswith("[Summary]"):
        return 0.95
    if "[Data]" in head and "Run Time" in head:
        return 0.9
    return 0.0


def read_novonix(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a Novonix export."""
    path = existing_file(path)
    lines = first_lines(path, 500)
    quoted = any(_unquote(x) != x for x in lines)
    lines = [_unquote(x) for x in lines]
    k = next((n for n, x in enumerate(lines) if x.strip() == "[Data]"), None)
    if k is None or k + 1 >= len(lines):
        raise DataError(f"{path}: no '[Data]' line followed by a header in the first 500 lines")
    if quoted:
        with path.open("r", encoding=text_encoding(path), errors="replace") as fh:
            body = [_unquote(x) for x in fh.read().splitlines()[k + 1 :]]
        try:
            df = pd.read_csv(io.StringIO("\n".join(body)), sep=sep_of(lines[k + 1]))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise DataError(f"{path}: cannot parse the data table ({exc})") from exc
        df.columns = [str(c).strip() for c in df.columns]
    else:
        df = read_text(path, skiprows=k + 1, sep=sep_of(lines[k + 1]))
    return cycler_data_from_table(
        df, path, "novonix", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


register(Format("novonix", sniff, read_novonix, "Novonix UHPC text"))
