"""Arbin MITS Pro CSV exports (with units in the header, and the unit-less variant).

Columns: ``Test_Time(s)`` (or ``Test_Time``), ``Current(A)``, ``Voltage(V)``,
``Step_Index``, ``Cycle_Index``, and the cumulative-per-cycle columns
``Charge_Capacity(Ah)``, ``Discharge_Capacity(Ah)``, ``Charge_Energy(Wh)``,
``Discharge_Energy(Wh)``. Units come from the header; where a header has none
(the unit-less export), Arbin's defaults apply: s, A, V, Ah, Wh. Discharge current
is negative in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from electrohet.analysis.cycler import CyclerData
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import (
    cycler_data_from_table,
    existing_file,
    read_delimited,
)

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


def sniff(head: str, raw: bytes, path: Path) -> float:
    first = head.splitlines()[0] if head else ""
    if ("Test_Time" in first or "Test Time" in first) and (
        "Step_Index" in first or "Cycle_Index" in first
    ):
        return 0.95
    return 0.0


def read_arbin(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    discharge_negative: bool = True,
    **kw: Any,
) -> CyclerData:
    """Read an Arbin CSV export; ``columns``/``units`` override what the header gives."""
    path = existing_file(path)
    return cycler_data_from_table(
        read_delimited(path),
        path,
        "arbin",
        CANDIDATES,
        DEFAULT_UNITS,
        columns=columns,
        units=units,
        discharge_negative=discharge_negative,
        **kw,
    )


register(Format("arbin", sniff, read_arbin, "Arbin MITS Pro CSV"))
