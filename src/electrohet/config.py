"""The one configuration system of every TOML file (``simulate``, ``rate-study``,
``thickness-study``, ``age``).

A config is a pydantic model derived from :class:`ConfigModel` (unknown keys refused);
:func:`load_toml` reads the file and :func:`parse_config` validates it, turning the
first validation error into one :class:`~electrohet.errors.ConfigError` line that names
the key, the value and the allowed range (:func:`format_validation`).  The schemas
themselves live with their packages (:mod:`electrohet.studies.config`,
:mod:`electrohet.aging.config`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from electrohet.errors import ConfigError

__all__ = [
    "ConfigModel",
    "StrictConfigModel",
    "duplicates",
    "format_validation",
    "load_toml",
    "parse_config",
]

M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base of every TOML schema: an unknown key is an error."""

    model_config = ConfigDict(extra="forbid")


class StrictConfigModel(BaseModel):
    """A :class:`ConfigModel` that also refuses type coercion: a string is never read as a
    number (``"ten"`` and ``"1e-3"`` are both refused)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def duplicates(names: list[str]) -> list[str]:
    """Names that occur more than once, in order of first repetition."""
    seen: set[str] = set()
    dup: list[str] = []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    return dup


def format_validation(exc: ValidationError, source: str) -> str:
    """The first error of a pydantic validation as one line naming the key and value."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    val = err.get("input")
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if err["type"] == "missing":
        return f"{source}: missing key '{key}'"
    msg = msg.removeprefix("Value error, ")
    if not key:  # a whole-section check: its message names the keys
        return f"{source}: {msg}"
    if isinstance(val, dict):  # a check of a table: its message names the keys
        return f"{source}: [{key}] {msg}"
    return f"{source}: {key} = {val!r}: {msg}"


def parse_config(model: type[M], data: dict, source: str = "config") -> M:
    """Validate ``data`` (a dict read from TOML) against ``model``.

    Raises
    ------
    ConfigError
        One line naming the key and the value (:func:`format_validation`).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation(exc, source)) from None


def load_toml(path: str | Path) -> dict:
    """Read a TOML file as a dict.

    Raises
    ------
    ConfigError
        The path is missing, a folder, not UTF-8 text, binary, or not valid TOML.
    """
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config {str(p)!r} is a folder, not a TOML file")
    if not p.exists():
        raise ConfigError(f"config file {str(p)!r} not found")
    if not p.is_file():
        raise ConfigError(f"config {str(p)!r} is not a regular file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at position "
            f"{exc.start}); TOML configs must be UTF-8 text"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{p}: contains NUL bytes - a binary file, not a TOML config")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
