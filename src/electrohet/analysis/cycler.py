"""Cycler data: read exports, convert units, split into steps, integrate capacity.

Everything is converted once, at the boundary, to SI-ish battery units:
time in s, current in A with **discharge positive** (the model's convention),
voltage in V, capacity in Ah and energy in Wh.

Readers
-------
* :func:`read_csv` - generic delimited text; the user maps column names and units.
* :func:`read_mpt` - BioLogic EC-Lab text export (.mpt), parsed here.
* :func:`read_mpr` - BioLogic binary (.mpr) through the optional ``galvani`` package
  (``pip install electrohet[cycler]``).
* :func:`read_arbin_csv`, :func:`read_maccor_txt` - presets of :func:`read_csv` for
  the standard text exports of Arbin (MITS Pro "Channel" sheet saved as CSV) and
  Maccor (tab-delimited text export). There is no maintained Python reader for their
  binary formats, so export to text first.
* :func:`read_cycler` - dispatch on the file suffix.

Rows with missing time/current/voltage are excluded and **counted** in
:attr:`CyclerData.excluded` (and a warning is issued); time running backwards is an
error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from electrohet.errors import DataError

__all__ = [
    "CyclerData",
    "UNIT_FACTORS",
    "from_dataframe",
    "read_csv",
    "read_mpt",
    "read_mpr",
    "read_arbin_csv",
    "read_maccor_txt",
    "read_cycler",
    "label_steps",
    "step_table",
]

#: Factors converting a lab unit to the internal unit of each quantity.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "min": 60.0, "h": 3600.0, "ms": 1e-3},
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6},
    "voltage": {"V": 1.0, "mV": 1e-3},
    "capacity": {"Ah": 1.0, "mAh": 1e-3, "mA.h": 1e-3, "As": 1.0 / 3600.0, "C": 1.0 / 3600.0},
    "energy": {"Wh": 1.0, "mWh": 1e-3, "W.h": 1.0, "mW.h": 1e-3, "J": 1.0 / 3600.0},
}
_REQUIRED = ("time", "current", "voltage")
_OPTIONAL = ("step", "cycle", "state")


@dataclass
class CyclerData:
    """A cycler record in internal units.

    Attributes
    ----------
    data
        Columns ``time`` (s), ``current`` (A, > 0 discharge), ``voltage`` (V), and
        when the file had them ``step`` and ``cycle`` (integers as in the file).
    source
        File name (or a label), used in messages.
    excluded
        Number of rows excluded, per reason (e.g. ``{"missing voltage": 3}``).
    """

    data: pd.DataFrame
    source: str = "data"
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        """Total number of excluded rows."""
        return int(sum(self.excluded.values()))

    def steps(self, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
        """Per-step table, see :func:`step_table`."""
        return step_table(self, rest_fraction=rest_fraction)


def _factor(quantity: str, unit: str, source: str) -> float:
    table = UNIT_FACTORS[quantity]
    if unit not in table:
        raise DataError(f"{source}: unknown {quantity} unit {unit!r}; known units: {sorted(table)}")
    return table[unit]


def from_dataframe(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    *,
    discharge_negative: bool = True,
    source: str = "data",
) -> CyclerData:
    """Validate a raw table and convert it to :class:`CyclerData`.

    Parameters
    ----------
    df
        Raw table as read from the file.
    columns
        Map from quantity (``time``, ``current``, ``voltage``, optional ``step``,
        ``cycle``, ``state``) to the column name in ``df``. Quantities not given
        are looked up under their own name.
    units
        Map from quantity to unit (see :data:`UNIT_FACTORS`); default SI
        (s, A, V).
    discharge_negative
        True when the file stores discharge current as negative (BioLogic, Arbin,
        most cyclers); it is then flipped so that discharge is positive. Ignored
        when a ``state`` column (Maccor: ``C``/``D``/``R``) gives the direction of
        unsigned currents.
    source
        File name, used in messages.

    Raises
    ------
    DataError
        Missing columns, unknown units, non-numeric data, time running backwards,
        or no valid rows.
    """
    columns = dict(columns or {})
    units = dict(units or {})
    for q in units:
        if q not in UNIT_FACTORS:
            raise DataError(
                f"{source}: unknown quantity {q!r} in units; use {sorted(UNIT_FACTORS)}"
            )
    names = {q: columns.get(q, q) for q in (*_REQUIRED, *_OPTIONAL)}
    missing = [f"{q} (column {names[q]!r})" for q in _REQUIRED if names[q] not in df.columns]
    missing += [
        f"{q} (column {columns[q]!r})"
        for q in _OPTIONAL
        if q in columns and columns[q] not in df.columns
    ]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; available columns: "
            f"{list(map(str, df.columns))}"
        )
    out = pd.DataFrame(index=df.index)
    for q in _REQUIRED:
        col = pd.to_numeric(df[names[q]], errors="coerce")
        out[q] = col.to_numpy(dtype=float) * _factor(q, units.get(q, _default_unit(q)), source)
    for q in ("step", "cycle"):
        if names[q] in df.columns:
            out[q] = pd.to_numeric(df[names[q]], errors="coerce")
    excluded: dict[str, int] = {}
    bad = np.zeros(len(out), dtype=bool)
    for q in out.columns:
        nan = out[q].isna().to_numpy() & ~bad
        if nan.any():
            excluded[f"missing or non-numeric {q}"] = int(nan.sum())
            bad |= nan
    if names["state"] in df.columns:
        state = df[names["state"]].astype(str).str.strip().str.upper().str[:1]
        sign = state.map({"D": 1.0, "C": -1.0, "R": 0.0, "O": 0.0, "S": 0.0}).to_numpy()
        unk = np.isnan(sign) & ~bad
        if unk.any():
            excluded["unknown state"] = int(unk.sum())
            bad |= unk
        out["current"] = np.abs(out["current"].to_numpy()) * np.nan_to_num(sign)
    elif discharge_negative:
        out["current"] = -out["current"]
    out = out.loc[~bad].reset_index(drop=True)
    if len(out) == 0:
        raise DataError(f"{source}: no valid rows (excluded: {excluded or 'none'})")
    t = out["time"].to_numpy()
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0])
        raise DataError(
            f"{source}: time is not monotone: it goes back from {t[k]:g} s to {t[k + 1]:g} s "
            f"at valid row {k + 1} ({back.size} such place(s)); concatenate files in "
            f"order or supply a cumulative test time"
        )
    for q in ("step", "cycle"):
        if q in out:
            out[q] = out[q].astype(np.int64)
    if excluded:
        warnings.warn(
            f"{source}: excluded {sum(excluded.values())} row(s): {excluded}",
            stacklevel=2,
        )
    return CyclerData(data=out, source=source, excluded=excluded)


def _default_unit(q: str) -> str:
    return {"time": "s", "current": "A", "voltage": "V"}[q]


def read_csv(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    *,
    discharge_negative: bool = True,
    sep: str | None = ",",
    decimal: str = ".",
    skiprows: int = 0,
    encoding: str = "utf-8",
) -> CyclerData:
    """Read a generic delimited cycler export.

    Parameters
    ----------
    path
        CSV (or other delimited) file with a header row.
    columns, units, discharge_negative
        See :func:`from_dataframe`. Example:
        ``columns={"time": "Test Time (h)", "current": "I (mA)", "voltage": "U"}``,
        ``units={"time": "h", "current": "mA"}``.
    sep, decimal, skiprows, encoding
        Passed to :func:`pandas.read_csv` (``sep=None`` sniffs the delimiter).

    Returns
    -------
    CyclerData
    """
    path = Path(path)
    df = _read_table(path, sep=sep, decimal=decimal, skiprows=skiprows, encoding=encoding)
    return from_dataframe(
        df, columns, units, discharge_negative=discharge_negative, source=str(path)
    )


def _read_table(path: Path, **kw: Any) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        engine = "python" if kw.get("sep") is None else "c"
        return pd.read_csv(path, engine=engine, **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse as a delimited table ({exc})") from exc


# BioLogic column names (identical in .mpt and in galvani's .mpr arrays)
_BIOLOGIC_ALTERNATIVES = {
    "time": ["time/s"],
    "current": ["<I>/mA", "I/mA", "control/mA", "control/V/mA"],
    "voltage": ["Ewe/V", "<Ewe>/V", "Ecell/V", "<Ecell>/V", "Ewe-Ece/V"],
    "step": ["Ns"],
    "cycle": ["cycle number"],
}


def _biologic_columns(names: list[str], source: str) -> tuple[dict[str, str], dict[str, str]]:
    cols: dict[str, str] = {}
    for q, alts in _BIOLOGIC_ALTERNATIVES.items():
        for a in alts:
            if a in names:
                cols[q] = a
                break
    missing = [q for q in _REQUIRED if q not in cols]
    if missing:
        raise DataError(
            f"{source}: BioLogic file lacks {missing} (looked for "
            f"{[_BIOLOGIC_ALTERNATIVES[q] for q in missing]}); columns are {names}"
        )
    units = {"time": "s", "current": "mA", "voltage": "V"}
    return cols, units


def read_mpt(path: str | Path, *, encoding: str = "latin-1") -> CyclerData:
    """Read a BioLogic EC-Lab text export (.mpt).

    Handles the ``Nb header lines : N`` preamble, tab separation and a decimal
    comma. Current (``<I>/mA`` or ``I/mA``) is in mA, positive for oxidation; for
    a positive electrode vs Li that is charge, so it is flipped to discharge > 0.
    The step column is ``Ns`` (sequence number), the cycle column ``cycle number``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding=encoding) as fh:
        head = [fh.readline() for _ in range(3)]
    skip = 0
    m = re.search(r"Nb header lines\s*:\s*(\d+)", "".join(head))
    if m:
        skip = int(m.group(1)) - 1
    elif not head[0].startswith("mode") and "time/s" not in head[0]:
        raise DataError(f"{path}: not a BioLogic .mpt file (no 'Nb header lines' line)")
    df = pd.read_csv(path, sep="\t", skiprows=skip, encoding=encoding, dtype=str)
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    df = df.apply(lambda s: s.astype(str).str.replace(",", ".", regex=False))
    cols, units = _biologic_columns(list(df.columns), str(path))
    return from_dataframe(df, cols, units, discharge_negative=True, source=str(path))


def read_mpr(path: str | Path) -> CyclerData:
    """Read a BioLogic binary file (.mpr) with the optional ``galvani`` package.

    Raises
    ------
    DataError
        When galvani is not installed (install ``electrohet[cycler]``) or the file
        is not a valid .mpr.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        from galvani import BioLogic
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DataError(
            f"{path}: reading .mpr needs the optional package galvani "
            f"(pip install 'electrohet[cycler]'), or export the file to .mpt"
        ) from exc
    try:
        mpr = BioLogic.MPRfile(str(path))
    except Exception as exc:  # galvani raises ValueError/AssertionError/... on bad files
        raise DataError(f"{path}: not a readable BioLogic .mpr file ({exc})") from exc
    df = pd.DataFrame(mpr.data)
    cols, units = _biologic_columns(list(df.columns), str(path))
    return from_dataframe(df, cols, units, discharge_negative=True, source=str(path))


#: Column names of Arbin MITS Pro CSV exports.
ARBIN_COLUMNS = {
    "time": "Test_Time(s)",
    "current": "Current(A)",
    "voltage": "Voltage(V)",
    "step": "Step_Index",
    "cycle": "Cycle_Index",
}
#: Column names of Maccor text exports (current unsigned, direction in ``State``).
MACCOR_COLUMNS = {
    "time": "Test (Sec)",
    "current": "Amps",
    "voltage": "Volts",
    "step": "Step",
    "cycle": "Cyc#",
    "state": "State",
}


def read_arbin_csv(path: str | Path, **kw: Any) -> CyclerData:
    """Read an Arbin CSV export (columns ``Test_Time(s)``, ``Current(A)``, ...).

    Arbin stores discharge current as negative. Keyword arguments override
    :func:`read_csv`'s (e.g. ``columns=`` for renamed exports).
    """
    kw.setdefault("columns", ARBIN_COLUMNS)
    return read_csv(path, **kw)


def read_maccor_txt(path: str | Path, *, skiprows: int | None = None, **kw: Any) -> CyclerData:
    """Read a Maccor tab-delimited text export.

    The header row is found automatically (the first line containing ``Amps``);
    currents are unsigned and signed here from the ``State`` column
    (``D`` discharge, ``C`` charge, ``R`` rest).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if skiprows is None:
        with path.open(encoding=kw.get("encoding", "latin-1")) as fh:
            for k, line in enumerate(fh):
                if "Amps" in line and "State" in line:
                    skiprows = k
                    break
                if k > 50:
                    break
        if skiprows is None:
            raise DataError(f"{path}: no Maccor header line (with 'Amps' and 'State') found")
    kw.setdefault("columns", MACCOR_COLUMNS)
    kw.setdefault("sep", "\t")
    kw.setdefault("encoding", "latin-1")
    return read_csv(path, skiprows=skiprows, **kw)


def read_cycler(path: str | Path, fmt: str = "auto", **kw: Any) -> CyclerData:
    """Read a cycler file, choosing the reader from ``fmt`` or the suffix.

    ``fmt`` is one of ``auto``, ``csv``, ``mpt``, ``mpr``, ``arbin``, ``maccor``.
    With ``auto``: ``.mpt`` -> :func:`read_mpt`, ``.mpr`` -> :func:`read_mpr`,
    anything else -> :func:`read_csv` (an Arbin header is recognised).
    """
    path = Path(path)
    if fmt == "auto":
        suf = path.suffix.lower()
        fmt = {".mpt": "mpt", ".mpr": "mpr"}.get(suf, "csv")
        if fmt == "csv" and "columns" not in kw and path.is_file():
            with path.open(encoding="latin-1") as fh:
                first = fh.readline()
            if "Test_Time(s)" in first:
                fmt = "arbin"
    readers = {
        "csv": read_csv,
        "mpt": read_mpt,
        "mpr": read_mpr,
        "arbin": read_arbin_csv,
        "maccor": read_maccor_txt,
    }
    if fmt not in readers:
        raise DataError(f"{path}: unknown format {fmt!r}; use one of {sorted(readers)}")
    return readers[fmt](path, **kw)


def label_steps(cd: CyclerData, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
    """Attach ``kind``, ``step_id`` and ``cycle_id`` labels to every row.

    ``kind`` is ``discharge`` (I > thr), ``charge`` (I < -thr) or ``rest``, with
    ``thr = rest_fraction * max|I|``. Steps are runs of consecutive rows with the
    same file step number (if the file has a ``step`` column) **and** the same
    kind; without a step column, by current sign changes alone. Cycles come from
    the file's ``cycle`` column when present; otherwise a new cycle starts at each
    charge step that follows a discharge step (cycle numbers from 0).

    Returns
    -------
    pandas.DataFrame
        ``cd.data`` with the columns ``kind``, ``step_id``, ``cycle_id`` added.
    """
    df = cd.data.copy()
    i = df["current"].to_numpy()
    imax = float(np.max(np.abs(i))) if len(i) else 0.0
    thr = rest_fraction * imax
    kind = np.where(i > thr, "discharge", np.where(i < -thr, "charge", "rest"))
    change = np.zeros(len(df), dtype=bool)
    change[1:] = kind[1:] != kind[:-1]
    if "step" in df:
        s = df["step"].to_numpy()
        change[1:] |= s[1:] != s[:-1]
    step_id = np.cumsum(change)
    df["kind"] = kind
    df["step_id"] = step_id
    if "cycle" in df:
        df["cycle_id"] = df["cycle"].to_numpy()
    else:
        first = df.groupby("step_id", sort=True)["kind"].first()
        cyc = np.zeros(len(first), dtype=np.int64)
        seen_discharge = False
        c = 0
        for k, kd in enumerate(first.to_numpy()):
            if kd == "charge" and seen_discharge:
                c += 1
                seen_discharge = False
            if kd == "discharge":
                seen_discharge = True
            cyc[k] = c
        df["cycle_id"] = cyc[step_id]
    return df


def step_table(cd: CyclerData, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
    """Capacity and energy of every step.

    Capacity is ``int |I| dt`` and energy ``int V |I| dt`` by the trapezoidal
    rule within each step (the interval between the last row of one step and the
    first of the next is not counted).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step_id``, ``cycle_id``, ``kind``, ``t_start``,
        ``t_end``, ``duration`` (s), ``current_mean`` (A, signed, discharge > 0),
        ``current_abs_median`` (A), ``current_spread`` (10-90 % percentile range of
        ``|I|`` over its median: ~0 for a constant-current step), ``capacity`` (Ah),
        ``energy`` (Wh),
        ``v_start``, ``v_end`` (V), ``n_rows``; attrs ``source`` and ``excluded``.
    """
    df = label_steps(cd, rest_fraction=rest_fraction)
    t = df["time"].to_numpy()
    i = df["current"].to_numpy()
    v = df["voltage"].to_numpy()
    sid = df["step_id"].to_numpy()
    same = sid[1:] == sid[:-1]
    dt = np.diff(t)
    dq = 0.5 * (np.abs(i[1:]) + np.abs(i[:-1])) * dt * same
    de = 0.5 * (np.abs(i[1:] * v[1:]) + np.abs(i[:-1] * v[:-1])) * dt * same
    nstep = int(sid[-1]) + 1
    cap = np.bincount(sid[1:], weights=dq, minlength=nstep) / 3600.0
    en = np.bincount(sid[1:], weights=de, minlength=nstep) / 3600.0
    g = df.groupby("step_id", sort=True)
    tab = pd.DataFrame(
        {
            "step_id": np.arange(nstep),
            "cycle_id": g["cycle_id"].first().to_numpy(),
            "kind": g["kind"].first().to_numpy(),
            "t_start": g["time"].first().to_numpy(),
            "t_end": g["time"].last().to_numpy(),
            "current_mean": g["current"].mean().to_numpy(),
            "current_abs_median": g["current"].apply(lambda s: float(np.median(np.abs(s)))),
            "current_spread": g["current"].apply(_rel_spread),
            "capacity": cap,
            "energy": en,
            "v_start": g["voltage"].first().to_numpy(),
            "v_end": g["voltage"].last().to_numpy(),
            "n_rows": g.size().to_numpy(),
        }
    )
    tab["current_abs_median"] = tab["current_abs_median"].to_numpy(dtype=float)
    tab["current_spread"] = tab["current_spread"].to_numpy(dtype=float)
    tab.insert(5, "duration", tab["t_end"] - tab["t_start"])
    tab.attrs["source"] = cd.source
    tab.attrs["excluded"] = dict(cd.excluded)
    return tab


def _rel_spread(s: pd.Series) -> float:
    a = np.abs(s.to_numpy())
    med = float(np.median(a))
    if med == 0:
        return 0.0
    p10, p90 = np.percentile(a, [10, 90])
    return float((p90 - p10) / med)
