"""Typed exceptions raised by electrohet.

Every error a user can provoke with bad input derives from :class:`ElectrohetError`,
so the CLI can print one clear line and exit with code 2 instead of a traceback.
"""

from __future__ import annotations


class ElectrohetError(Exception):
    """Base class for all electrohet errors."""


class ParameterError(ElectrohetError, ValueError):
    """A parameter value is missing, out of range or inconsistent.

    The message names the key, the offending value and the allowed range.
    """


class ConfigError(ElectrohetError, ValueError):
    """A configuration file cannot be read or does not validate."""


class ProtocolError(ElectrohetError, ValueError):
    """An experiment/protocol string cannot be parsed or is inconsistent."""


class SolverError(ElectrohetError, RuntimeError):
    """The time integrator or Newton solver failed."""


class DataError(ElectrohetError, ValueError):
    """Input data (files, images, tables) are malformed."""


class OutputError(ElectrohetError, OSError):
    """An output path cannot be written (exists, read-only, locked, disk full)."""

    @classmethod
    def from_os_error(cls, exc: OSError, path: object = None) -> OutputError:
        """One clear message for an OS error raised while writing ``path``."""
        import errno

        if isinstance(exc, OutputError):
            return exc
        target = path if path is not None else (exc.filename or "output")
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            what = "disk full (or file-size limit reached)"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            what = "permission denied (read-only location?)"
        else:
            what = exc.strerror or str(exc)
        return cls(f"cannot write {target}: {what}; no file was left behind")


def check_range(
    key: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` if it lies in the allowed range, else raise :class:`ParameterError`.

    Parameters
    ----------
    key
        Name of the parameter (used in the message).
    value
        Value to check; NaN is always rejected.
    low, high
        Bounds (``None`` = unbounded).
    low_inclusive, high_inclusive
        Whether the bounds themselves are allowed.
    """
    import math

    v = float(value)
    lo_ok = low is None or (v >= low if low_inclusive else v > low)
    hi_ok = high is None or (v <= high if high_inclusive else v < high)
    if math.isnan(v) or not (lo_ok and hi_ok):
        lb = "[" if low_inclusive else "("
        hb = "]" if high_inclusive else ")"
        lo_s = "-inf" if low is None else f"{low:g}"
        hi_s = "inf" if high is None else f"{high:g}"
        raise ParameterError(
            f"{key} = {value!r} is outside the allowed range {lb}{lo_s}, {hi_s}{hb}"
        )
    return v


class MeshWarning(UserWarning):
    """The mesh likely misses a result by more than its tolerance (e.g. the particle
    radial mesh and the capacity, see :mod:`electrohet.model.mesh_check`)."""
