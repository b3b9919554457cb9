"""Cycler file formats: a registry, content-based detection, one module per cycler.

Adding a format is one small module that defines ``sniff(head: str, raw: bytes,
path) -> float`` (a confidence 0-1 from the first lines and bytes of the file) and
``read(path, **kw) -> CyclerData``, and registers them with :func:`register`.

Registered (module, default units where the header has none):

==========  ==============================================  =========================
name        files                                           defaults
==========  ==============================================  =========================
arbin       MITS Pro CSV (``Test_Time(s)``...) and the       s, A, V, Ah, Wh
            unit-less variant (``Test_Time``, ``Current``)
maccor      text export with its multi-line header           s, A, V, Ah, Wh
            (``Rec#``, ``Cyc#``, ``Amps``, ``State``...)
biologic    EC-Lab ``.mpt`` text and ``.mpr`` binary         s, mA, V, mA.h, W.h
neware      BTS CSV (``Step Type``, ``Current(A)``...)       from headers; s, A, V
basytec     ``~``-commented text (``~Time[h]``, ``I[A]``)    h, A, V, Ah, Wh
novonix     CSV with ``[Summary]``/``[Data]`` blocks         h, A, V, Ah, Wh
csv         any delimited table; columns/units given         s, A, V
==========  ==============================================  =========================

Binary formats: Arbin ``.res`` through ``mdb-export`` (package ``mdbtools``), Neware
``.nda``/``.ndax`` through the optional ``NewareNDA``, ``.xlsx`` through openpyxl;
without the tool, a one-line :class:`~electrohet.errors.DataError` names what to
install or export. A file no format recognises gets one line too: what was
recognised, what was expected, and the ``--format``/``--columns``/``--units`` options
(``columns=``/``units=``) that would read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from electrohet.analysis.cycler import CyclerData
from electrohet.errors import DataError

__all__ = ["Format", "register", "names", "detect", "read", "head_of"]


@dataclass(frozen=True)
class Format:
    """A registered cycler format."""

    name: str
    sniff: Callable[[str, bytes, Path], float]
    read: Callable[..., CyclerData]
    description: str = ""


_REGISTRY: dict[str, Format] = {}
_ALIASES = {"mpt": "biologic", "mpr": "biologic"}
_MODULES = (
    "biologic", "arbin", "maccor", "neware", "basytec", "novonix", "pec", "bdf", "generic"
)  # fmt: skip
_loaded = False

#: Suffixes of binary formats that no installed reader handles, with the advice.
UNSUPPORTED = {
    ".xls": "Excel .xls files are not supported; save the sheet as CSV or .xlsx",
    ".h5": "HDF5 files (Indigo, cellpy) are not read here; export the cycler data to CSV",
}


def register(fmt: Format) -> Format:
    """Add a format to the registry (used by the format modules)."""
    _REGISTRY[fmt.name] = fmt
    return fmt


def _load() -> None:
    global _loaded
    if not _loaded:
        for m in _MODULES:
            importlib.import_module(f"electrohet.analysis.formats.{m}")
        _loaded = True


def names() -> list[str]:
    """Names of the registered formats (plus the aliases ``mpt``, ``mpr``)."""
    _load()
    return sorted([*_REGISTRY, *_ALIASES])


def head_of(path: Path, n_bytes: int = 16384) -> tuple[str, bytes]:
    """The first bytes of a file, raw and decoded (UTF-8/UTF-16 where they decode, else
    cp1252), the file closed again."""
    with path.open("rb") as fh:
        raw = fh.read(n_bytes)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), raw
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), raw


def detect(path: str | Path) -> str:
    """Name of the format of ``path``, from its content (header signatures).

    Raises
    ------
    DataError
        File missing, a known-unsupported binary format, or binary content that
        no format recognises.
    """
    _load()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suf = path.suffix.lower()
    head, raw = head_of(path)
    scores = {name: f.sniff(head, raw, path) for name, f in _REGISTRY.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] >= 0.5:
        return best
    if suf in UNSUPPORTED:
        raise DataError(f"{path}: unsupported format: {UNSUPPORTED[suf]}")
    if suf == ".mpr":
        raise DataError(f"{path}: not a BioLogic .mpr file (no 'BIO-LOGIC MODULAR FILE' header)")
    if suf == ".res":
        raise DataError(f"{path}: not an Arbin .res file (no MS Access 'Standard Jet DB' header)")
    if suf == ".xlsx" or raw[:2] == b"PK":
        from electrohet.analysis.formats.generic import excel_sheet_names

        if any(n.lower().startswith("channel") for n in excel_sheet_names(path)):
            return "arbin"
        return "neware" if "neware" in path.name.lower() else "xlsx"
    if b"\x00" in raw[:4096]:
        raise DataError(
            f"{path}: unsupported binary format (not a BioLogic .mpr); export it to "
            f"text/CSV in the cycler's software; readable formats: {names()}"
        )
    return "csv"


def read(path: str | Path, fmt: str = "auto", **kw: Any) -> CyclerData:
    """Read ``path`` with the format ``fmt`` (``auto``: :func:`detect`)."""
    _load()
    path = Path(path)
    name = _ALIASES.get(fmt, fmt)
    if name == "auto":
        name = detect(path)
    if name == "xlsx":
        from electrohet.analysis.formats.generic import read_xlsx

        return read_xlsx(path, **kw)
    if name not in _REGISTRY:
        raise DataError(
            f"{path}: unknown format {fmt!r}; use one of: {', '.join(['auto', *names()])}"
        )
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suf = path.suffix.lower()
    if suf in UNSUPPORTED and name != "biologic":
        head, raw = head_of(path)
        if b"\x00" in raw[:4096]:
            raise DataError(f"{path}: unsupported format: {UNSUPPORTED[suf]}")
    return _REGISTRY[name].read(path, **kw)
