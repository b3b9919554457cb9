"""Cycler data: convert exports to internal units, check them, split into steps, integrate.

Everything is converted once, at the boundary, to SI-ish battery units:
time in s, current in A with **discharge positive** (the model's convention),
voltage in V, capacity in Ah and energy in Wh.

The per-cycler readers live in :mod:`electrohet.analysis.formats` (one small module
per cycler; :func:`read_cycler` detects the format from the file's content). This
module holds what they share:

* :func:`from_dataframe` - validate a raw table, convert units, sign the current,
  parse ``d hh:mm:ss`` time strings and run the data checks of
  :mod:`electrohet.analysis.checks` (logging gaps, duplicated/out-of-order rows,
  sign convention and units against the file's own columns). Every problem found
  is **recorded** in :attr:`CyclerData.issues` (file, row range, problem) and
  issued as a :class:`CyclerDataWarning`; nothing is dropped silently.
* :func:`label_steps`, :func:`step_table` - steps (the file's step column, split at
  current-sign changes and at changes of the control mode, e.g. CC -> CV), with
  capacity and energy per step: **the instrument's own cumulative columns first**
  (their change over the step, with per-step / per-cycle / per-test resets, see
  :func:`reference_increments`), the stated integration rule where the file has
  none, and both side by side as the cross-check.

Integration rules (``CyclerData.integration``)
----------------------------------------------
``"right"``
    Each row's current and voltage apply to the interval that *ends* at that row:
    ``Q = sum_k |I_k| dt_k``, ``E = sum_k V_k |I_k| dt_k``. This is how BioLogic
    EC-Lab accumulates its ``dq`` and energy columns (``<I>`` is the mean current
    over the interval ending at the row), so it is the default for BioLogic files.
``"trapezoid"``
    ``Q = sum_k (|I_k| + |I_{k-1}|)/2 dt_k`` and the same for ``|I V|``: the best
    estimate for instantaneous samples (Arbin, Maccor, Neware, Basytec, Novonix,
    generic CSV).

The interval before the first row of a step belongs to that step and is integrated
at the first row's current (right-point): a step whose first row is logged late
keeps that charge, as the instrument's cumulative columns do. Logging gaps are
reported (:mod:`~electrohet.analysis.checks`) and integrated like any interval,
never left out of a sum.
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
    "CyclerDataWarning",
    "DataIssue",
    "UNIT_FACTORS",
    "REFERENCE_COLUMNS",
    "from_dataframe",
    "parse_time",
    "unit_from_header",
    "read_csv",
    "read_mpt",
    "read_mpr",
    "read_arbin_csv",
    "read_maccor_txt",
    "read_cycler",
    "label_steps",
    "step_table",
]

_REQUIRED = ("time", "current", "voltage")
_OPTIONAL = ("step", "cycle", "state", "mode")
#: Optional cumulative columns of the file itself (cross-checks, per-cycle file values):
#: quantity -> unit kind.
REFERENCE_COLUMNS = {
    "capacity": "capacity",
    "charge_capacity": "capacity",
    "discharge_capacity": "capacity",
    "energy": "energy",
    "charge_energy": "energy",
    "discharge_energy": "energy",
}
_STATE_SIGN = {"D": 1.0, "C": -1.0, "R": 0.0, "O": 0.0, "S": 0.0, "P": 0.0}


class CyclerDataWarning(UserWarning):
    """A problem found in a cycler file (also recorded in ``CyclerData.issues``)."""


@dataclass(frozen=True)
class DataIssue:
    """One problem found in a cycler file.

    Attributes
    ----------
    source
        File name.
    kind
        Short key: ``gap``, ``duplicate``, ``out_of_order``, ``sign``, ``units``,
        ``excluded``, ``column``.
    rows
        ``(first, last)`` data-row numbers (0-based, counting data rows of the file
        after its header) of the first affected range, or None for whole-file issues.
    message
        The full sentence (names the file, the rows and the problem).
    """

    source: str
    kind: str
    rows: tuple[int, int] | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class CyclerData:
    """A cycler record in internal units.

    Attributes
    ----------
    data
        Columns ``time`` (s), ``current`` (A, > 0 discharge), ``voltage`` (V),
        ``row`` (data-row number in the file, for messages), and when the file had
        them ``step``, ``cycle``, ``mode`` (integers as in the file), and the file's
        own cumulative columns of :data:`REFERENCE_COLUMNS` (Ah, Wh). ``gap`` marks
        rows whose preceding interval is a logging gap inside a current step.
    source
        File name (or a label), used in messages.
    excluded
        Number of rows excluded, per reason (e.g. ``{"missing voltage": 3}``).
    issues
        Every problem found (:class:`DataIssue`), in the order found.
    fmt
        Name of the format that read the file.
    units
        Units the file's columns were read in (from its header or the format default).
    integration
        ``"right"`` or ``"trapezoid"`` (see the module docstring): the rule for
        integrating the current (the fallback, and the cross-check of the file's
        own columns).
    values
        ``"file"`` (default): step and cycle capacities/energies come from the file's
        own cumulative columns where it has them; ``"integrated"``: always from the
        integrated current.
    resets
        Reset rule per cumulative column (``charge_capacity``...), see
        :data:`RESET_RULES`; ``auto`` where not given.
    """

    data: pd.DataFrame
    source: str = "data"
    excluded: dict[str, int] = field(default_factory=dict)
    issues: list[DataIssue] = field(default_factory=list)
    fmt: str = "csv"
    units: dict[str, str] = field(default_factory=dict)
    integration: str = "trapezoid"
    values: str = "file"
    resets: dict[str, str] = field(default_factory=dict)
    _labels: tuple = field(default=(None, None, None), repr=False, compare=False)

    @property
    def n_excluded(self) -> int:
        """Total number of excluded rows."""
        return int(sum(self.excluded.values()))

    @property
    def warnings(self) -> list[str]:
        """The recorded issues as sentences."""
        return [i.message for i in self.issues]

    def steps(self, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
        """Per-step table, see :func:`step_table`."""
        return step_table(self, rest_fraction=rest_fraction)


#: Base units per quantity and their factor to the internal unit; SI prefixes
#: (n, µ/μ/u, m, k) are allowed on every base unit that ends in A, V, W or s.
_BASES: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
             "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0,
             "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0, "d": 86400.0, "day": 86400.0,
             "days": 86400.0},
    "current": {"A": 1.0},
    "voltage": {"V": 1.0},
    "capacity": {"Ah": 1.0, "As": 1.0 / 3600.0, "C": 1.0 / 3600.0},
    "energy": {"Wh": 1.0, "Ws": 1.0 / 3600.0, "J": 1.0 / 3600.0},
}  # fmt: skip
_PREFIX = {"": 1.0, "n": 1e-9, "µ": 1e-6, "m": 1e-3, "k": 1e3}
#: prefixes allowed per quantity (no kilo-seconds, no prefixed minutes)
_PREFIXABLE = {"time": ("s",), "current": ("A",), "voltage": ("V",),
               "capacity": ("Ah", "As", "C"), "energy": ("Wh", "Ws", "J")}  # fmt: skip


def normalise_unit(unit: str) -> str:
    """Unit text in one spelling: Greek mu (U+03BC) and ``u`` prefixes become µ (U+00B5),
    ``A.h``/``A·h``/``A h``/``A-h`` become ``Ah`` (likewise ``W.h``), ``sec`` stays."""
    u = str(unit).strip().replace("\u03bc", "\u00b5").replace("\u00c2\u00b5", "\u00b5")
    u = re.sub(r"(?<=[AW])\s*[.\u00b7\-*]?\s*(?=[hs]$)", "", u)
    if len(u) >= 2 and u[0] == "u" and u[1:2] in ("A", "V", "W", "s", "C", "J"):
        u = "\u00b5" + u[1:]
    return u


def unit_factor(quantity: str, unit: str) -> float | None:
    """Factor from ``unit`` to the internal unit of ``quantity`` (s, A, V, Ah, Wh), or None.

    Accepts the spellings of :func:`normalise_unit` and the prefixes n, µ, m, k on the
    base units (``µA``, ``μA``, ``uA``, ``kA``, ``mAh``, ``mA.h``, ``kWh``, ``ms``...).
    Case is respected (``mA`` is milli-ampere, ``MA`` is not a unit here) except for
    the spelled-out time units (``Sec``, ``Min``, ``Hr``).
    """
    if quantity not in _BASES:
        return None
    u = normalise_unit(unit)
    bases = _BASES[quantity]
    if u in bases:
        return bases[u]
    if quantity == "time" and u.lower() in bases:
        return bases[u.lower()]
    for base in _PREFIXABLE[quantity]:
        if len(u) > len(base) and u.endswith(base) and u[: -len(base)] in _PREFIX:
            return _PREFIX[u[: -len(base)]] * bases[base]
    return None


#: Factors converting a lab unit to the internal unit of each quantity (the common
#: spellings; :func:`unit_factor` accepts more, e.g. any SI prefix and Greek mu).
UNIT_FACTORS: dict[str, dict[str, float]] = {
    q: {
        u: f
        for u in (
            {"time": ["s", "sec", "min", "h", "hr", "ms", "d"],
             "current": ["A", "mA", "uA", "\u00b5A", "\u03bcA", "nA", "kA"],
             "voltage": ["V", "mV", "\u00b5V", "kV"],
             "capacity": ["Ah", "A.h", "mAh", "mA.h", "uAh", "\u00b5Ah", "\u00b5A.h", "As",
                          "C", "mAs", "kAh"],
             "energy": ["Wh", "W.h", "mWh", "mW.h", "uWh", "\u00b5Wh", "J", "Ws", "kWh"]}[q]
        )
        if (f := unit_factor(q, u)) is not None
    }
    for q in _BASES
}  # fmt: skip


def _factor(quantity: str, unit: str, source: str) -> float:
    f = unit_factor(quantity, unit)
    if f is None:
        raise DataError(
            f"{source}: unknown {quantity} unit {unit!r}; known units: "
            f"{sorted(UNIT_FACTORS[quantity])} (and the prefixes n, µ, m, k)"
        )
    return f


_UNIT_RE = re.compile(r"[\(\[]\s*([^\(\)\[\]]+?)\s*[\)\]]\s*$|/\s*([^/\(\)\[\]]+?)\s*$")


def header_unit_text(name: str) -> str | None:
    """The unit text written at the end of a column header, or None.

    ``Current(mA)`` -> ``mA``, ``I [µA]`` -> ``µA``, ``<I>/mA`` -> ``mA``,
    ``Test Time / h`` -> ``h``; ``Step_Index`` -> None.
    """
    m = _UNIT_RE.search(str(name).strip())
    if not m:
        return None
    return (m.group(1) or m.group(2)).strip()


def unit_from_header(
    name: str, quantity: str, *, strict: bool = False, source: str = ""
) -> str | None:
    """Unit written in a column header (``Current(mA)``, ``I[µA]``, ``<I>/mA``), if known.

    Returns the unit in the spelling of :func:`normalise_unit`, or None when the
    header carries no unit. With ``strict``, a unit that is written but unknown for
    ``quantity`` raises :class:`DataError` naming it (``Current(MA)``); time formats
    such as ``(h:min:s.ms)`` are not units and give None (the values are parsed as
    ``hh:mm:ss`` strings).
    """
    u = header_unit_text(name)
    if u is None:
        return None
    if unit_factor(quantity, u) is not None:
        return normalise_unit(u)
    if quantity == "time" and (":" in u or u.lower() in ("hh:mm:ss", "d hh:mm:ss")):
        return None
    if strict:
        raise DataError(
            f"{source or 'data'}: column {name!r} ({quantity}) has the unit {u!r}, which is not "
            f"a {quantity} unit electrohet knows ({sorted(UNIT_FACTORS[quantity])}, with the "
            f"prefixes n, µ, m, k); give the unit with units={{'{quantity}': ...}} "
            f"(CLI: --units {quantity}=...)"
        )
    return None


_DHMS = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*(?:d|days?|-|\.)\s*)?(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:[.,]\d*)?)\s*$"
)


_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}[ T]+\d{1,2}:\d{2}")


def parse_datetime(s: pd.Series) -> np.ndarray:
    """Absolute timestamps (``2021-05-11 15:40:24``, ``05/11/2021 3:40:24 PM``,
    ``11.05.2021 15:40:24.5``) as seconds since the first one; NaN where unparseable.

    Month-first and day-first readings are both tried; the one that runs forward in
    time (fewest backward steps, then fewest failures) is used.
    """
    s = s.astype(str).str.strip()
    best = None
    for dayfirst in (False, True):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts = pd.to_datetime(s, errors="coerce", dayfirst=dayfirst, format="mixed")
        except (ValueError, TypeError):
            continue
        v = ts.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / 1e9
        v[ts.isna().to_numpy()] = np.nan
        fin = v[np.isfinite(v)]
        score = (int(np.sum(np.diff(fin) < 0)), int(np.isnan(v).sum()))
        if best is None or score < best[0]:
            best = (score, v)
    if best is None:
        return np.full(len(s), np.nan)
    v = best[1]
    fin = np.isfinite(v)
    return v - (v[fin][0] if fin.any() else 0.0)


def parse_time(col: pd.Series, source: str = "data") -> np.ndarray:
    """Time column as float (file units), parsing ``d hh:mm:ss`` strings and timestamps.

    Numbers pass through; strings such as ``1d 02:03:04.5``, ``1-02:03:04`` or
    ``26:03:04`` (hours beyond 24 allowed) become seconds; absolute timestamps
    (``05/11/2021 15:40:24.123``, as in BioLogic exports with absolute time) become
    seconds since the first row (:func:`parse_datetime`). Unparseable entries are NaN.
    """
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float)
    if pd.api.types.is_datetime64_any_dtype(col):
        return parse_datetime(col.astype(str))
    s = col.astype(str)
    num = pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce")
    has_colon = s.str.contains(":", regex=False)
    if not has_colon.any():
        return num.to_numpy(dtype=float)
    sample = s[has_colon].iloc[0]
    if _DATE.search(sample):
        return parse_datetime(s)
    parts = s.str.extract(_DHMS)
    secs = (
        pd.to_numeric(parts["d"], errors="coerce").fillna(0.0) * 86400.0
        + pd.to_numeric(parts["h"], errors="coerce") * 3600.0
        + pd.to_numeric(parts["m"], errors="coerce") * 60.0
        + pd.to_numeric(parts["s"].str.replace(",", ".", regex=False), errors="coerce")
    )
    return np.where(has_colon.to_numpy(), secs.to_numpy(dtype=float), num.to_numpy(dtype=float))


def cumulative_time(step_time: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Test time (s) from a per-step time that restarts at every step (Neware ``Time``,
    NewareNDA): each step is offset by where the previous step's time ended.

    A step starts where the previous one's last row was logged. The time is taken as
    per-step when it falls back at most changes of ``step``; a time that already runs
    on through the test (older .nda files) is returned unchanged.
    """
    t = np.asarray(step_time, dtype=float)
    st = np.asarray(step)
    if t.size == 0:
        return t
    change = np.zeros(t.size, dtype=bool)
    change[1:] = st[1:] != st[:-1]
    falls = change & np.concatenate([[False], t[1:] < t[:-1]])
    if falls.sum() <= 0.5 * change.sum():
        return t
    new = change
    starts = np.flatnonzero(new)
    ends = starts - 1  # last row of the previous step
    inc = np.zeros(t.size)
    inc[starts] = t[ends]
    return t + np.cumsum(inc)


def _numeric(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def _ranges(idx: np.ndarray, rows: np.ndarray, limit: int = 3) -> str:
    """'rows 10-12, 40-40 (and 3 more)' for positions ``idx`` into the row numbers."""
    if idx.size == 0:
        return "no rows"
    r = rows[idx]
    br = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[0], br + 1])
    ends = np.concatenate([br, [idx.size - 1]])
    txt = [f"{r[a]}-{r[b]}" if b > a else f"{r[a]}" for a, b in zip(starts, ends, strict=True)]
    more = f" (and {len(txt) - limit} more range(s))" if len(txt) > limit else ""
    return "data rows " + ", ".join(txt[:limit]) + more


def from_dataframe(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    *,
    discharge_negative: bool = True,
    source: str = "data",
    fmt: str = "csv",
    integration: str = "file",
    checks: bool = True,
    gap_factor: float = 20.0,
    rows: np.ndarray | None = None,
    pre_excluded: Mapping[str, int] | None = None,
    sign: str = "auto",
    resets: Mapping[str, str] | None = None,
) -> CyclerData:
    """Validate a raw table and convert it to :class:`CyclerData`.

    Parameters
    ----------
    df
        Raw table as read from the file.
    columns
        Map from quantity (``time``, ``current``, ``voltage``; optional ``step``,
        ``cycle``, ``state``, ``mode`` and the file's cumulative columns
        :data:`REFERENCE_COLUMNS`) to the column name in ``df``. Required quantities
        not given are looked up under their own name.
    units
        Map from quantity (``time``, ``current``, ``voltage``, ``capacity``,
        ``energy``) to unit (see :data:`UNIT_FACTORS`); default s, A, V, Ah, Wh.
    discharge_negative
        True when the file stores discharge current as negative (BioLogic, Arbin,
        Neware, Basytec, Novonix); it is then flipped so that discharge is positive.
        Ignored when a ``state`` column (``C``/``D``/``R``) gives the direction.
    source, fmt
        File name (used in messages) and format name.
    integration
        ``"file"``: the file's own cumulative columns give the step values where it
        has them, the format's rule integrates the rest (``"trapezoid"``, or
        ``"right"`` for BioLogic); ``"trapezoid"`` or ``"right"``: the current is
        integrated by that rule everywhere, the file's columns only cross-check
        (module docstring).
    checks
        Run :func:`electrohet.analysis.checks.run_checks` (default True).
    gap_factor
        An interval inside a non-rest step longer than 60 s and ``gap_factor`` times
        the step's typical long interval (the mean of its other intervals and their
        99th percentile) is reported as a logging gap; it is still integrated, and
        variable-interval logging is not a gap (:mod:`~electrohet.analysis.checks`).
    rows
        Data-row numbers of ``df``'s rows in the file (default 0, 1, ...).
    pre_excluded
        Rows a reader already left out, per reason (added to ``excluded``).
    sign
        ``"auto"``: the current's sign convention is ``discharge_negative`` (the
        format's), checked against the data (the file's charge/discharge columns,
        the voltage's direction in each step) and flipped, with a warning, where
        they clearly contradict it; ``"discharge-positive"`` / ``"discharge-negative"``:
        the convention is fixed (overrides ``discharge_negative``); contradictions
        are warned about, nothing is flipped.
    resets
        Reset rule per cumulative column quantity (:data:`RESET_RULES`).

    Raises
    ------
    DataError
        Missing columns, unknown units, no valid rows, time jumping back to
        (near) its start (concatenated runs).
    """
    columns = dict(columns or {})
    units = dict(units or {})
    values = "file"
    if integration == "file":
        integration = "right" if fmt == "biologic" else "trapezoid"
    elif integration in ("trapezoid", "right"):
        values = "integrated"
    else:
        raise DataError(
            f"{source}: integration = {integration!r}; use 'file', 'trapezoid' or 'right'"
        )
    if sign == "discharge-positive":
        discharge_negative = False
    elif sign == "discharge-negative":
        discharge_negative = True
    elif sign != "auto":
        raise DataError(
            f"{source}: sign = {sign!r}; use 'auto', 'discharge-positive' or 'discharge-negative'"
        )
    for q in units:
        if q not in UNIT_FACTORS:
            raise DataError(
                f"{source}: unknown quantity {q!r} in units; use {sorted(UNIT_FACTORS)}"
            )
    names = {q: columns.get(q, q) for q in _REQUIRED}
    missing = [f"{q} (column {names[q]!r})" for q in _REQUIRED if names[q] not in df.columns]
    missing += [
        f"{q} (column {columns[q]!r})"
        for q in (*_OPTIONAL, *REFERENCE_COLUMNS)
        if q in columns and columns[q] not in df.columns
    ]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; available columns: "
            f"{list(map(str, df.columns))}"
        )
    issues: list[DataIssue] = []
    file_rows = np.arange(len(df)) if rows is None else np.asarray(rows)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["time"] = parse_time(df[names["time"]], source) * _factor(
        "time", units.get("time", "s"), source
    )
    for q in ("current", "voltage"):
        out[q] = _numeric(df[names[q]]) * _factor(q, units.get(q, _default_unit(q)), source)
    excluded: dict[str, int] = {k: int(v) for k, v in (pre_excluded or {}).items() if v}
    bad = np.zeros(len(out), dtype=bool)
    for q in _REQUIRED:
        nan = ~np.isfinite(out[q].to_numpy()) & ~bad
        if nan.any():
            excluded[f"missing or non-numeric {q}"] = int(nan.sum())
            bad |= nan
    # optional columns: an empty one is dropped (with a note), never the rows
    for q in ("step", "cycle", "mode", *REFERENCE_COLUMNS):
        if q not in columns:
            continue
        v = _numeric(df[columns[q]])
        fin = np.isfinite(v)
        if not fin.any():
            issues.append(
                DataIssue(
                    source,
                    "column",
                    None,
                    f"{source}: column {columns[q]!r} ({q}) is empty; it is ignored",
                )
            )
            continue
        if not fin.all():
            v = pd.Series(v).ffill().bfill().to_numpy()
        if q in REFERENCE_COLUMNS:
            kind = REFERENCE_COLUMNS[q]
            unit = units.get(kind, "Ah" if kind == "capacity" else "Wh")
            v = v * _factor(kind, unit, source)
        out[q] = v
    if "state" in columns:
        state = df[columns["state"]].astype(str).str.strip().str.upper().str[:1]
        sign = state.map(_STATE_SIGN).to_numpy(dtype=float)
        raw = out["current"].to_numpy()
        if checks:
            _check_state_sign(raw, sign, discharge_negative, source, file_rows, issues)
        # step types that say neither charge, discharge nor rest (Neware 'Pulse',
        # 'Control', 'SIM'): the signed current gives the direction there
        unk = np.isnan(sign)
        if unk.any():
            conv = -1.0 if discharge_negative else 1.0
            sign = np.where(unk, conv * np.sign(np.nan_to_num(raw)), sign)
        out["current"] = np.abs(raw) * np.nan_to_num(sign)
    elif discharge_negative:
        out["current"] = -out["current"]
    out["row"] = file_rows
    keep = ~bad
    out = out.loc[keep].reset_index(drop=True)
    if len(out) == 0:
        raise DataError(f"{source}: no valid rows (excluded: {excluded or 'none'})")
    for q in ("step", "cycle", "mode"):
        if q in out:
            out[q] = out[q].astype(np.int64)
    if excluded:
        issues.append(
            DataIssue(
                source,
                "excluded",
                None,
                f"{source}: excluded {sum(excluded.values())} row(s): {excluded}",
            )
        )
    cd = CyclerData(
        data=out,
        source=source,
        excluded=excluded,
        issues=issues,
        fmt=fmt,
        units={q: units.get(q, _default_unit(q)) for q in _REQUIRED},
        integration=integration,
        values=values,
        resets=dict(resets or {}),
    )
    from electrohet.analysis.checks import fix_order, run_checks

    fix_order(cd)
    if checks:
        run_checks(cd, gap_factor=gap_factor, flip=sign == "auto")
    for issue in cd.issues:
        warnings.warn(issue.message, CyclerDataWarning, stacklevel=2)
    return cd


def _check_state_sign(
    raw: np.ndarray,
    sign: np.ndarray,
    discharge_negative: bool,
    source: str,
    rows: np.ndarray,
    issues: list[DataIssue],
) -> None:
    """Warn when a signed current contradicts the file's own step types."""
    active = (np.abs(raw) > 0) & np.isfinite(sign) & (sign != 0)
    if not active.any() or not ((raw[active] > 0).any() and (raw[active] < 0).any()):
        return  # unsigned current: nothing to compare
    expect = -sign if discharge_negative else sign  # file sign of a discharge row
    wrong = active & (np.sign(raw) != np.sign(expect))
    if wrong.sum() > 0.5 * active.sum():
        issues.append(
            DataIssue(
                source,
                "sign",
                (int(rows[np.flatnonzero(wrong)[0]]), int(rows[np.flatnonzero(wrong)[-1]])),
                f"{source}: the current sign contradicts the file's step types in "
                f"{int(wrong.sum())} of {int(active.sum())} rows "
                f"({_ranges(np.flatnonzero(wrong), rows)}): the file stores discharge as "
                f"{'positive' if discharge_negative else 'negative'}; the step types were "
                f"used to sign the current",
            )
        )


def _default_unit(q: str) -> str:
    return {"time": "s", "current": "A", "voltage": "V", "capacity": "Ah", "energy": "Wh"}[q]


def text_encoding(path: str | Path, n_bytes: int = 1 << 18) -> str:
    """Encoding of a text export: a BOM's, else UTF-8 if the first ``n_bytes`` decode as
    UTF-8, else Windows-1252 (``µ`` is 0xB5 in both it and Latin-1).

    UTF-8 is tried first because a UTF-8 ``µ`` (0xC2 0xB5) read as Latin-1 becomes
    ``Âµ`` and the unit would be lost; a Windows export fails UTF-8 on its first
    non-ASCII byte and is read as cp1252.
    """
    with Path(path).open("rb") as fh:
        raw = fh.read(n_bytes)
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 3:  # a character cut at the end of the sample
            return "utf-8"
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def read_csv(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    *,
    discharge_negative: bool = True,
    sep: str | None = ",",
    decimal: str = ".",
    skiprows: int = 0,
    encoding: str | None = None,
    **kw: Any,
) -> CyclerData:
    """Read a generic delimited cycler export.

    Parameters
    ----------
    path
        CSV (or other delimited) file with a header row.
    columns, units, discharge_negative
        See :func:`from_dataframe`. Example:
        ``columns={"time": "Test Time (h)", "current": "I (mA)", "voltage": "U"}``.
        Units not given are read from the headers (``(h)``, ``[mA]``, ``/mA``)
        where they are written there, else s, A, V, Ah, Wh.
    sep, decimal, skiprows, encoding
        Passed to :func:`pandas.read_csv` (``sep=None`` sniffs the delimiter);
        ``encoding=None`` detects it (:func:`text_encoding`).
    **kw
        Passed to :func:`from_dataframe` (``integration``, ``gap_factor``, ``checks``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    df = read_table(
        path, sep=sep, decimal=decimal, skiprows=skiprows, encoding=encoding or text_encoding(path)
    )
    columns = dict(columns or {})
    units = dict(units or {})
    for q in ("time", "current", "voltage"):
        name = columns.get(q, q)
        if q not in units and name in df.columns:
            u = unit_from_header(name, q, strict=True, source=str(path))
            if u:
                units[q] = u
    return from_dataframe(
        df, columns, units, discharge_negative=discharge_negative, source=str(path), **kw
    )


def read_table(path: Path, **kw: Any) -> pd.DataFrame:
    """:func:`pandas.read_csv` with file checks and errors as :class:`DataError`."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        engine = "python" if kw.get("sep") is None else "c"
        return pd.read_csv(path, engine=engine, **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse as a delimited table ({exc})") from exc


def read_mpt(path: str | Path, **kw: Any) -> CyclerData:
    """Read a BioLogic EC-Lab text export (.mpt); see :mod:`.formats.biologic`."""
    from electrohet.analysis.formats.biologic import read_mpt as _r

    return _r(path, **kw)


def read_mpr(path: str | Path, **kw: Any) -> CyclerData:
    """Read a BioLogic binary file (.mpr); see :mod:`~electrohet.analysis.formats.biologic`."""
    from electrohet.analysis.formats.biologic import read_mpr as _r

    return _r(path, **kw)


def read_arbin_csv(path: str | Path, **kw: Any) -> CyclerData:
    """Read an Arbin CSV export; see :mod:`~electrohet.analysis.formats.arbin`."""
    from electrohet.analysis.formats.arbin import read_arbin as _r

    return _r(path, **kw)


def read_maccor_txt(path: str | Path, **kw: Any) -> CyclerData:
    """Read a Maccor text export; see :mod:`~electrohet.analysis.formats.maccor`."""
    from electrohet.analysis.formats.maccor import read_maccor as _r

    return _r(path, **kw)


def read_cycler(path: str | Path, fmt: str = "auto", **kw: Any) -> CyclerData:
    """Read a cycler file; the format is detected from the file's content.

    ``fmt`` is ``auto`` or a name from :func:`electrohet.analysis.formats.names`
    (``arbin``, ``maccor``, ``biologic`` (alias ``mpt``, ``mpr``), ``neware``,
    ``basytec``, ``novonix``, ``csv``). Keyword arguments go to the reader
    (``columns=``, ``units=`` override the format's choices).
    """
    from electrohet.analysis.formats import read

    return read(path, fmt, **kw)


def step_labels(
    cd: CyclerData, *, rest_fraction: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row ``(code, step_id, cycle_id)``: code 1 discharge, -1 charge, 0 rest.

    See :func:`label_steps` for the rules; cached on ``cd`` until ``cd.data`` changes.
    """
    data, rf, cached = cd._labels
    if data is cd.data and rf == rest_fraction:
        return cached
    df = cd.data
    i = df["current"].to_numpy()
    imax = float(np.max(np.abs(i))) if len(i) else 0.0
    thr = rest_fraction * imax
    code = np.where(i > thr, 1, np.where(i < -thr, -1, 0)).astype(np.int8)
    change = np.zeros(len(df), dtype=bool)
    for c in ("step", "mode"):
        if c in df:
            s = df[c].to_numpy()
            change[1:] |= s[1:] != s[:-1]
    if "step" in df and len(df):
        # zero-current rows of a file step that otherwise runs one way (the first row
        # of a step logged before the current flowed) belong to that step
        run = np.cumsum(change)
        pos = np.bincount(run, weights=code > 0) > 0
        neg = np.bincount(run, weights=code < 0) > 0
        one_way = np.where(pos & ~neg, 1, np.where(neg & ~pos, -1, 0)).astype(np.int8)
        code = np.where(code == 0, one_way[run], code).astype(np.int8)
    change[1:] |= code[1:] != code[:-1]
    step_id = np.cumsum(change)
    if "cycle" in df:
        cycle_id = df["cycle"].to_numpy()
    else:
        first = code[np.flatnonzero(np.concatenate([[True], change[1:]]))]
        cyc = np.zeros(first.size, dtype=np.int64)
        seen_discharge = False
        c = 0
        for k, kd in enumerate(first):
            if kd == -1 and seen_discharge:
                c += 1
                seen_discharge = False
            if kd == 1:
                seen_discharge = True
            cyc[k] = c
        cycle_id = cyc[step_id]
    out = (code, step_id, cycle_id)
    cd._labels = (cd.data, rest_fraction, out)
    return out


_KINDS = np.array(["charge", "rest", "discharge"], dtype=object)


def label_steps(cd: CyclerData, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
    """Attach ``kind``, ``step_id`` and ``cycle_id`` labels to every row.

    ``kind`` is ``discharge`` (I > thr), ``charge`` (I < -thr) or ``rest``, with
    ``thr = rest_fraction * max|I|``. Steps are runs of consecutive rows with the
    same file step number (if the file has a ``step`` column), the same control
    ``mode`` (if any) **and** the same kind; without a step column, by current sign
    changes alone. Rest-level rows inside a file step whose other rows all run one
    way (e.g. its first row, logged before the current flowed) take that kind.
    Cycles come from the file's ``cycle`` column when present; otherwise a new
    cycle starts at each charge step that follows a discharge step (from 0).

    Returns
    -------
    pandas.DataFrame
        ``cd.data`` with the columns ``kind``, ``step_id``, ``cycle_id`` added.
    """
    code, step_id, cycle_id = step_labels(cd, rest_fraction=rest_fraction)
    df = cd.data.copy()
    df["kind"] = pd.Categorical.from_codes(code + 1, categories=list(_KINDS))
    df["step_id"] = step_id
    df["cycle_id"] = cycle_id
    return df


def interval_weights(cd: CyclerData, sid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Charge (A s) and energy (W s) of each interval ``(row k-1, row k]``, attributed to row k.

    ``sid`` is the step id per row (:func:`step_labels`). Inside a step the rule is
    ``cd.integration``; the **first interval of a step** (from the previous step's
    last row to the step's first row) belongs to the new step and is integrated with
    the new step's current at its first row (right-point), since the current that
    flowed in it is the new step's. Logging gaps are integrated like any other
    interval (they are reported by the checks, never left out); only the interval
    before the first row of the record has no weight.
    """
    df = cd.data
    t = df["time"].to_numpy()
    i = np.abs(df["current"].to_numpy())
    v = df["voltage"].to_numpy()
    n = t.size
    dq = np.zeros(n)
    de = np.zeros(n)
    if n < 2:
        return dq, de
    dt = np.diff(t)
    right_q = i[1:] * dt
    right_e = right_q * v[1:]
    if cd.integration == "right":
        dq[1:] = right_q
        de[1:] = right_e
    else:
        new = sid[1:] != sid[:-1]
        dq[1:] = np.where(new, right_q, 0.5 * (i[1:] + i[:-1]) * dt)
        de[1:] = np.where(new, right_e, 0.5 * (i[1:] * v[1:] + i[:-1] * v[:-1]) * dt)
    return dq, de


#: How a file's cumulative column is reset: ``auto`` (a drop of its magnitude to a
#: smaller value is a reset to zero: per step, per cycle or per test alike),
#: ``step`` / ``cycle`` (reset at every file step / cycle change), ``signed`` (a
#: signed running total such as BioLogic's ``(Q-Qo)``, never reset).
RESET_RULES = ("auto", "step", "cycle", "signed")


def reference_increments(cd: CyclerData, col: str, return_resets: bool = False) -> Any:
    """Per-row increment of the file's cumulative column ``col`` (Ah or Wh).

    The increment of row k covers the interval ``(row k-1, row k]``, the same
    interval as :func:`interval_weights`, so the first interval of every step counts.
    At a reset (rule ``cd.resets.get(col, "auto")``, see :data:`RESET_RULES`) the
    increment is the row's own value (counted from zero). Returned unsigned
    (magnitudes) except for the ``signed`` rule, where it keeps its sign. With
    ``return_resets``, ``(increments, reset mask)``.
    """
    df = cd.data
    rule = cd.resets.get(col, "auto")
    raw = df[col].to_numpy(dtype=float)
    if rule == "signed":
        inc = np.diff(raw, prepend=raw[:1])
        return (inc, np.zeros(inc.size, dtype=bool)) if return_resets else inc
    a = np.abs(raw)
    inc = np.diff(a, prepend=0.0)
    prev = np.concatenate([[0.0], a[:-1]])
    if rule in ("step", "cycle") and rule in df:
        s = df[rule].to_numpy()
        reset = np.concatenate([[True], s[1:] != s[:-1]])
    else:
        boundary = np.zeros(a.size, dtype=bool)
        for c in ("step", "cycle"):
            if c in df:
                s = df[c].to_numpy()
                boundary[1:] |= s[1:] != s[:-1]
        tol = 1e-9 * (float(a.max()) if a.size else 0.0)
        drop = a < prev - tol
        reset = drop & ((a <= 0.5 * prev) | boundary)
    inc = np.where(reset, a, inc)
    inc[:1] = 0.0  # what the file accumulated before its first row is not in the record
    if return_resets:
        return inc, reset
    return inc


def step_table(cd: CyclerData, *, rest_fraction: float = 1e-3) -> pd.DataFrame:
    """Capacity and energy of every step.

    Where the file has its own cumulative capacity/energy columns and
    ``cd.values == "file"`` (the default), a step's ``capacity``/``energy`` is their
    change over the step (first interval included, resets per ``cd.resets``); else
    ``int |I| dt`` and ``int V |I| dt`` by ``cd.integration`` (module docstring),
    vectorised (``np.bincount``). Both are always in the table.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step_id``, ``cycle_id``, ``kind``, ``t_start``,
        ``t_end``, ``duration`` (s), ``current_mean`` (A, signed, discharge > 0),
        ``current_abs_median`` (A), ``current_spread`` (10-90 % range of ``|I|``
        over its median: ~0 for a constant-current step), ``capacity`` (Ah),
        ``energy`` (Wh), ``v_start``, ``v_end``, ``v_mean`` (charge-weighted, V),
        ``n_rows``, ``row_start``, ``row_end`` (file data rows),
        ``capacity_integrated`` / ``energy_integrated`` (Ah / Wh, by
        ``cd.integration``), ``value_source`` (``file`` or ``integrated``: where
        ``capacity`` came from) and, when the file has cumulative columns,
        ``capacity_file`` / ``energy_file`` (their change over the step, Ah / Wh).
        attrs ``source``, ``excluded``, ``issues``.
    """
    code, sid, cycle_id = step_labels(cd, rest_fraction=rest_fraction)
    df = cd.data
    nstep = int(sid[-1]) + 1
    dq, de = interval_weights(cd, sid)
    cap = np.bincount(sid, weights=dq, minlength=nstep) / 3600.0
    en = np.bincount(sid, weights=de, minlength=nstep) / 3600.0
    first = np.flatnonzero(np.concatenate([[True], sid[1:] != sid[:-1]]))
    last = np.concatenate([first[1:] - 1, [sid.size - 1]])
    t = df["time"].to_numpy()
    i = df["current"].to_numpy()
    v = df["voltage"].to_numpy()
    absi = np.abs(i)
    counts = last - first + 1
    csum = np.bincount(sid, weights=i, minlength=nstep)
    # median and 10/90 percentiles of |I| per step: sort within steps once
    order = np.lexsort((absi, sid))
    a_sorted = absi[order]

    def _pct(p: float) -> np.ndarray:
        pos = first + p * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        w = pos - lo
        return a_sorted[lo] * (1 - w) + a_sorted[hi] * w

    med = _pct(0.5)
    spread = np.where(med > 0, (_pct(0.9) - _pct(0.1)) / np.where(med > 0, med, 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vmean_q = np.bincount(sid, weights=dq * v, minlength=nstep) / np.bincount(
            sid, weights=dq, minlength=nstep
        )
    vmean = np.where(np.isfinite(vmean_q), vmean_q, v[first])
    rows = df["row"].to_numpy() if "row" in df else np.arange(sid.size)
    kind_first = _KINDS[code[first] + 1]
    tab = pd.DataFrame(
        {
            "step_id": np.arange(nstep),
            "cycle_id": cycle_id[first],
            "kind": _KINDS[code[first] + 1],
            "t_start": t[first],
            "t_end": t[last],
            "duration": t[last] - t[first],
            "current_mean": csum / counts,
            "current_abs_median": med,
            "current_spread": spread,
            "capacity": cap,
            "energy": en,
            "v_start": v[first],
            "v_end": v[last],
            "v_mean": vmean,
            "n_rows": counts,
            "row_start": rows[first],
            "row_end": rows[last],
        }
    )
    if "mode" in df:
        tab["mode"] = df["mode"].to_numpy()[first]
    source = np.full(nstep, "integrated", dtype=object)
    for what in ("capacity", "energy"):
        ref = _reference_change(cd, what, kind_first, sid, nstep)
        tab[f"{what}_integrated"] = tab[what]
        if ref is not None:
            tab[f"{what}_file"] = ref
            if cd.values == "file":
                use = np.isfinite(ref)
                tab[what] = np.where(use, ref, tab[what].to_numpy())
                if what == "capacity":
                    source[use] = "file"
    tab["value_source"] = source
    tab.attrs["source"] = cd.source
    tab.attrs["excluded"] = dict(cd.excluded)
    tab.attrs["issues"] = list(cd.warnings)
    return tab


def _reference_change(
    cd: CyclerData, what: str, kind: np.ndarray, sid: np.ndarray, nstep: int
) -> np.ndarray | None:
    """Change of the file's own cumulative column over each step, first interval included.

    Charge steps take ``charge_<what>`` (else ``<what>``), discharge steps
    ``discharge_<what>`` (else ``<what>``); rest steps 0 (what the file counted up to
    a rest step's rows goes to the charge/discharge step before it); NaN where the file
    has no column for that kind. Resets follow ``cd.resets``
    (:func:`reference_increments`).
    """
    df = cd.data
    single = what if what in df else None
    split = {k: f"{k}_{what}" for k in ("charge", "discharge") if f"{k}_{what}" in df}
    if single is None and not split:
        return None
    out = np.full(nstep, np.nan)
    sums: dict[str, np.ndarray] = {}
    # what the file counted in the rows of a rest step (the tail of the step before it,
    # logged at the rest's first row) belongs to the last charge/discharge step before
    active = kind[sid] != "rest"
    owner = np.maximum.accumulate(np.where(active, sid, -1))
    owner = np.where(owner < 0, sid, owner)
    for k in ("charge", "discharge"):
        col = split.get(k, single)
        if col is None:
            continue
        if col not in sums:
            sums[col] = np.abs(
                np.bincount(owner, weights=reference_increments(cd, col), minlength=nstep)
            )
        sel = kind == k
        out[sel] = sums[col][sel]
    out[kind == "rest"] = 0.0
    return out
