"""Battery Data Format (BDF, Battery Data Alliance) CSV.

Column names are ``Quantity / unit``: ``Test Time / s`` (or ``/ h``), ``Current / A``,
``Voltage / V``, ``Step Index / 1``, ``Cycle Count / 1``, ``Charge Capacity / Ah``,
``Discharge Capacity / Ah``, ``Charge Energy / Wh``, ``Discharge Energy / Wh`` (or the
machine-readable ``test_time_second``, ``current_ampere``, ``voltage_volt``,
``charging_capacity_ah``...).

Sign: the BDF specification (battery-data-alliance/battery-data-format, README,
``current_ampere``) defines **positive current as charging** the test object, so
discharge is negative as in most cycler exports. Files written with the opposite
convention exist (older converters: positive = discharge, e.g. cellpy's
``batmo_bdf.csv``); the file's own charge/discharge capacity columns, else its
voltage, decide, and a file that contradicts the specification is flipped with a
warning (or only warned about with ``sign=`` given explicitly).
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
    "time": ("Test Time", "test_time_second", "test_time_hour", "Unix Time"),
    "current": ("Current", "current_ampere"),
    "voltage": ("Voltage", "voltage_volt"),
    "step": ("Step Index", "Step Count", "step_index", "step_count"),
    "cycle": ("Cycle Count", "cycle_count"),
    "charge_capacity": ("Charge Capacity", "Charging Capacity", "charging_capacity_ah"),
    "discharge_capacity": ("Discharge Capacity", "Discharging Capacity",
                           "discharging_capacity_ah"),
    "charge_energy": ("Charge Energy", "Charging Energy", "charging_energy_wh"),
    "discharge_energy": ("Discharge Energy", "Discharging Energy", "discharging_energy_wh"),
}  # fmt: skip
DEFAULT_UNITS = {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}
_MACHINE_TIME = {"test_time_second": "s", "test_time_hour": "h"}


def sniff(head: str, raw: bytes, path: Path) -> float:
    first = head.lstrip("\ufeff").splitlines()[0] if head else ""
    if ("Current / " in first and "Voltage / " in first) or (
        "current_ampere" in first and "voltage_volt" in first
    ):
        return 0.97  # before Arbin, whose sniff also sees 'Test Time' and 'Step Index'
    return 0.0


def read_bdf(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    discharge_negative: bool = True,
    **kw: Any,
) -> CyclerData:
    """Read a Battery Data Format CSV (positive current = charge, as the specification)."""
    path = existing_file(path)
    df = read_delimited(path)
    units = dict(units or {})
    for c, u in _MACHINE_TIME.items():
        if c in df.columns and "time" not in units:
            units["time"] = u
    return cycler_data_from_table(
        df,
        path,
        "bdf",
        CANDIDATES,
        DEFAULT_UNITS,
        columns=columns,
        units=units,
        discharge_negative=discharge_negative,
        **kw,
    )


register(Format("bdf", sniff, read_bdf, "Battery Data Format CSV"))
