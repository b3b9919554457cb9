"""PEC (SBT) CSV exports: a ``Key:,value`` preamble, then the data table.

The table header is the line starting ``Test,Cell,Rack,...`` (it holds ``Total Time
(Seconds)``); columns ``Step``, ``Cycle``, ``Total Time (Seconds)``, ``Voltage (mV)``,
``Current (mA)``, and the instrument's own ``Charge Capacity (mAh)``,
``Discharge Capacity (mAh)`` and - under the same names with an energy unit -
``Charge Capacity (mWh)``, ``Discharge Capacity (mWh)``. Units from the headers.
Discharge current is negative in the file (checked against the capacity columns and
the voltage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from electrohet.analysis.cycler import CyclerData, header_unit_text, unit_factor
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    first_lines,
    read_text,
)
from electrohet.errors import DataError

CANDIDATES = {
    "time": ("Total Time",),
    "current": ("Current",),
    "voltage": ("Voltage",),
    "step": ("Step",),
    "cycle": ("Cycle",),
}
DEFAULT_UNITS = {"time": "s", "current": "mA", "voltage": "mV", "capacity": "mAh", "energy": "mWh"}


def _is_header(line: str) -> bool:
    return "Total Time (" in line and "Current (" in line and "Voltage (" in line


def sniff(head: str, raw: bytes, path: Path) -> float:
    lines = head.splitlines()[:80]
    if any(_is_header(x) for x in lines) and (
        lines and (lines[0].startswith("Request Year") or "TestRegime" in head)
    ):
        return 0.95
    return 0.7 if any(_is_header(x) and x.startswith("Test,Cell") for x in lines) else 0.0


def read_pec(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a PEC CSV export."""
    path = existing_file(path)
    lines = first_lines(path, 300)
    k = next((n for n, x in enumerate(lines) if _is_header(x)), None)
    if k is None:
        raise DataError(f"{path}: no PEC table header ('Total Time (...)', 'Current (...)')")
    df = read_text(path, skiprows=k, sep=",")
    cols = {}
    # capacity and energy columns share the name 'Capacity'; the unit tells them apart
    for c in df.columns:
        lc = str(c).lower()
        if "capacity" not in lc or not (lc.startswith("charge") or lc.startswith("discharge")):
            continue
        u = header_unit_text(c) or ""
        side = "discharge" if lc.startswith("discharge") else "charge"
        if unit_factor("capacity", u) is not None:
            cols.setdefault(f"{side}_capacity", c)
        elif unit_factor("energy", u) is not None:
            cols.setdefault(f"{side}_energy", c)
    cols.update(columns or {})
    return cycler_data_from_table(
        df, path, "pec", CANDIDATES, DEFAULT_UNITS, columns=cols, units=units, **kw
    )


register(Format("pec", sniff, read_pec, "PEC SBT CSV"))
