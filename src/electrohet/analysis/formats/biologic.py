"""BioLogic EC-Lab / BT-Lab files: ``.mpt`` text exports and ``.mpr`` binaries.

``.mpr`` is read with the optional ``galvani`` package (``pip install
electrohet[cycler]``); the file is opened and closed here. Column names are the
same in both (``time/s``, ``Ewe/V``, ``<I>/mA``, ``dq/mA.h``, ``Ns``, ``mode``,
``ox/red``, ``half cycle``, ``cycle number``, ``freq/Hz``, ...); units are read from
the ``/unit`` suffix (defaults s, mA, V, mA.h, W.h).

* **Current**: the measured ``<I>/mA`` or ``I/mA``. GCPL ``.mpr`` files have none;
  then it is derived from the charge increments, ``I_k = dq_k / dt_k`` (``dq/mA.h``,
  signed by ``ox/red`` when present) or from the change of ``(Q-Qo)/mA.h``. The
  ``control/V/mA`` column is a set point (a voltage during holds) and is never used
  as a current. Oxidation is positive in the file, so discharge of a positive
  electrode is negative and is flipped.
* **Cycles**: ``cycle number`` when present, else ``half cycle // 2`` (the file's
  own half-cycle counter), never guessed.
* **Steps**: ``Ns`` (sequence), split further where ``mode`` changes
  (1 CC, 2 CV, 3 rest), so a CC step followed by a voltage hold in one technique is
  two steps.
* **Impedance rows** (``freq/Hz`` > 0) are left out and counted.
* **Integration**: right-point (``sum V_k I_k dt_k``), as EC-Lab accumulates its
  ``dq`` and energy columns; ``<I>`` is the mean over the interval ending at the row.
* File's own columns for the cross-checks: ``Q discharge/mA.h``, ``Q charge/mA.h``
  (else ``(Q-Qo)/mA.h``), ``Energy discharge/W.h``, ``Energy charge/W.h``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from electrohet.analysis.cycler import CyclerData, from_dataframe, text_encoding
from electrohet.analysis.formats import Format, register
from electrohet.analysis.formats._util import existing_file, first_lines, units_for
from electrohet.errors import DataError

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE"
VOLTAGE = ("Ewe/V", "<Ewe>/V", "Ecell/V", "<Ecell>/V", "Ewe-Ece/V")
CURRENT = ("<I>/mA", "I/mA", "<I>/A", "I/A")
DEFAULT_UNITS = {"time": "s", "current": "mA", "voltage": "V", "capacity": "mA.h", "energy": "W.h"}
_DERIVED = "I from dq/mA"


def sniff(head: str, raw: bytes, path: Path) -> float:
    if raw.startswith(MPR_MAGIC):
        return 1.0
    first = head.splitlines()[0] if head else ""
    if first.startswith(("EC-Lab ASCII FILE", "BT-Lab ASCII FILE")):
        return 1.0
    if "time/s" in first and ("Ewe/V" in first or "Ecell/V" in first or "mode" in first):
        return 0.9
    return 0.0


def read_mpt(path: str | Path, *, encoding: str | None = None, **kw: Any) -> CyclerData:
    """Read an EC-Lab text export (.mpt; header lines, tab separation, decimal comma)."""
    path = existing_file(path)
    encoding = encoding or text_encoding(path)
    head = first_lines(path, 3, encoding)
    m = re.search(r"Nb header lines\s*:\s*(\d+)", "\n".join(head))
    if m:
        skip = int(m.group(1)) - 1
    elif head and "time/s" in head[0]:
        skip = 0
    else:
        raise DataError(f"{path}: not a BioLogic .mpt file (no 'Nb header lines' line)")
    lines = first_lines(path, skip + 2, encoding)
    sample = lines[skip + 1] if len(lines) > skip + 1 else ""
    decimal = "," if re.search(r"\d,\d", sample) and not re.search(r"\d\.\d", sample) else "."
    header = lines[skip] if len(lines) > skip else ""
    sep = ";" if header.count(";") > header.count("\t") else "\t"
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        try:
            df = pd.read_csv(fh, sep=sep, skiprows=skip, decimal=decimal, index_col=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{path}: cannot parse the .mpt table ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    return from_biologic_frame(df, str(path), **kw)


def read_mpr(path: str | Path, **kw: Any) -> CyclerData:
    """Read an EC-Lab binary file (.mpr) with ``galvani``; the file is closed afterwards."""
    path = existing_file(path)
    try:
        from galvani import BioLogic
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DataError(
            f"{path}: unsupported format without the optional reader: reading .mpr needs "
            f"galvani (pip install 'electrohet[cycler]'), or export the file to .mpt"
        ) from exc
    with path.open("rb") as fh:
        try:
            mpr = BioLogic.MPRfile(fh)
        except Exception as exc:  # galvani raises ValueError/AssertionError/... on bad files
            raise DataError(f"{path}: not a readable BioLogic .mpr file ({exc})") from exc
    data = mpr.data
    df = pd.DataFrame({n: np.asarray(data[n]) for n in data.dtype.names if n != "flags"})
    for flag in getattr(mpr, "flags_dict", {}):
        df[flag] = np.asarray(mpr.get_flag(flag))
    return from_biologic_frame(df, str(path), **kw)


def read_biologic(path: str | Path, **kw: Any) -> CyclerData:
    """Read .mpr (binary) or .mpt (text) by content."""
    path = existing_file(path)
    with path.open("rb") as fh:
        magic = fh.read(len(MPR_MAGIC))
    return read_mpr(path, **kw) if magic == MPR_MAGIC else read_mpt(path, **kw)


def from_biologic_frame(
    df: pd.DataFrame,
    source: str,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    discharge_negative: bool = True,
    **kw: Any,
) -> CyclerData:
    """Map a BioLogic table (.mpt or galvani's .mpr array) to :class:`CyclerData`."""
    names = list(df.columns)
    columns = dict(columns or {})
    rows = np.arange(len(df))
    pre: dict[str, int] = {}
    if "freq/Hz" in df:
        f = pd.to_numeric(df["freq/Hz"], errors="coerce").to_numpy()
        eis = np.nan_to_num(f) > 0
        if eis.any():
            pre["impedance rows (freq/Hz > 0)"] = int(eis.sum())
            df = df.loc[~eis].reset_index(drop=True)
            rows = rows[~eis]
    cols: dict[str, str] = {}
    if "time" not in columns:
        if "time/s" not in df:
            raise DataError(f"{source}: BioLogic file has no 'time/s' column; columns: {names}")
        cols["time"] = "time/s"
    if "voltage" not in columns:
        v = next((c for c in VOLTAGE if c in df), None)
        if v is None:
            raise DataError(
                f"{source}: BioLogic file has no voltage column (looked for {list(VOLTAGE)}); "
                f"columns: {names}; choose one with columns={{'voltage': ...}}"
            )
        cols["voltage"] = v
    if "current" not in columns:
        c = next((c for c in CURRENT if c in df), None)
        if c is None:
            df = df.assign(**{_DERIVED: _current_from_charge(df, source, names)})
            c = _DERIVED
        cols["current"] = c
    for q, cands in (
        ("step", ("Ns",)),
        ("mode", ("mode",)),
        ("discharge_capacity", ("Q discharge/mA.h",)),
        ("charge_capacity", ("Q charge/mA.h",)),
        ("discharge_energy", ("Energy discharge/W.h",)),
        ("charge_energy", ("Energy charge/W.h",)),
    ):
        hit = next((x for x in cands if x in df), None)
        if hit:
            cols[q] = hit
    if "charge_capacity" not in cols and "(Q-Qo)/mA.h" in df:
        cols["capacity"] = "(Q-Qo)/mA.h"
        kw.setdefault("resets", {"capacity": "signed"})
    if "cycle number" in df:
        cols["cycle"] = "cycle number"
    elif "half cycle" in df:
        df = df.assign(_cycle=pd.to_numeric(df["half cycle"], errors="coerce") // 2)
        cols["cycle"] = "_cycle"
    cols.update(columns)
    u = units_for({q: c for q, c in cols.items() if c != _DERIVED}, DEFAULT_UNITS, units, source)
    if cols["current"] == _DERIVED:
        u["current"] = "mA"
    return from_dataframe(
        df,
        cols,
        u,
        discharge_negative=discharge_negative,
        source=source,
        fmt="biologic",
        rows=rows,
        pre_excluded=pre,
        **kw,
    )


def _current_from_charge(df: pd.DataFrame, source: str, names: list[str]) -> np.ndarray:
    """Current (mA) from the charge increments: ``dq_k / dt_k`` (see module docstring)."""
    t = pd.to_numeric(df["time/s"], errors="coerce").to_numpy(dtype=float)
    dt = np.diff(t, prepend=np.nan)
    dq_col = next((c for c in ("dq/mA.h", "dQ/mA.h") if c in df), None)
    if dq_col is not None:
        dq = pd.to_numeric(df[dq_col], errors="coerce").to_numpy(dtype=float)
        if "ox/red" in df:
            ox = pd.to_numeric(df["ox/red"], errors="coerce").to_numpy()
            dq = np.abs(dq) * np.where(ox > 0, 1.0, -1.0)
    elif "(Q-Qo)/mA.h" in df:
        q = pd.to_numeric(df["(Q-Qo)/mA.h"], errors="coerce").to_numpy(dtype=float)
        dq = np.diff(q, prepend=np.nan)
    else:
        raise DataError(
            f"{source}: BioLogic file has no measured current (<I>/mA, I/mA) and no charge "
            f"column (dq/mA.h, (Q-Qo)/mA.h) to derive it from; 'control/V/mA' is a set "
            f"point, not a current; columns: {names}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        i = np.where(dt > 0, dq * 3600.0 / dt, np.nan)
    # a row without a preceding interval (the first, or after left-out impedance
    # rows) takes the current of the row after it
    return pd.Series(i).bfill().fillna(0.0).to_numpy()


register(Format("biologic", sniff, read_biologic, "BioLogic EC-Lab .mpt/.mpr"))
