"""Novonix UHPC exports: ``[Summary]`` ... ``[End Summary]`` block, then ``[Data]``.

The table header follows the ``[Data]`` line: ``Date and Time``, ``Cycle Number``,
``Step Type``, ``Run Time (h)``, ``Step Time (h)``, ``Current (A)``,
``Potential (V)``, ``Capacity (Ah)``, ``Energy (Wh)``, ``Step Number``... Units from
the header (defaults h, A, V, Ah, Wh). Discharge current is negative. ``Step Type``
codes are not interpreted; they (or ``Step Number``) delimit steps. ``Capacity`` and
``Energy`` (cumulative within a step) are the file's own columns for the cross-checks.
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
    "time": ("Run Time", "Run time"),
    "current": ("Current",),
    "voltage": ("Potential", "Voltage"),
    "step": ("Step Number", "Step Type"),
    "cycle": ("Cycle Number",),
    "capacity": ("Capacity",),
    "energy": ("Energy",),
}
DEFAULT_UNITS = {"time": "h", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}


def sniff(head: str, raw: bytes, path: Path) -> float:
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
    k = next((n for n, x in enumerate(lines) if x.strip() == "[Data]"), None)
    if k is None or k + 1 >= len(lines):
        raise DataError(f"{path}: no '[Data]' line followed by a header in the first 500 lines")
    df = read_text(path, skiprows=k + 1, sep=sep_of(lines[k + 1]))
    return cycler_data_from_table(
        df, path, "novonix", CANDIDATES, DEFAULT_UNITS, columns=columns, units=units, **kw
    )


register(Format("novonix", sniff, read_novonix, "Novonix UHPC text"))
