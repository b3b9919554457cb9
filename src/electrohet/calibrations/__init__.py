"""Frozen, pre-registered calibrations.

A calibration is written here *before* any prediction that uses it is run: one JSON
file per calibration holding its targets (the claims it was fitted to), its priors with
their sources, its settings, its result (best estimate, covariance, posterior samples)
and the date it was frozen.  ``MANIFEST.json`` records the SHA-256 of every file;
:func:`load` refuses a file whose content no longer matches, so a calibration cannot be
moved after the fact without that showing in the manifest's history (and in git).

The scoreboard (:mod:`electrohet.validation`) reads the targets of every calibration a
case uses: a claim that is a target of one of them can only be scored "calibrated".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from electrohet.errors import ParameterError

__all__ = ["FrozenCalibration", "Prior", "load", "available", "file_hash", "freeze_text"]


@dataclass(frozen=True)
class Prior:
    """A Gaussian prior of one (possibly log10) parameter and where it comes from.

    Attributes
    ----------
    name
        Parameter name (as in the calibration's ``parameters``).
    mean, sd
        Mean and standard deviation, in the parameter's fitted coordinate (log10 for
        log parameters).
    source
        The independent evidence: a citation, a measurement, or a stated argument with
        numbers.  Never a quantity the calibration is then used to predict.
    """

    name: str
    mean: float
    sd: float
    source: str


@dataclass(frozen=True)
class FrozenCalibration:
    """One frozen calibration file (see the module docstring)."""

    id: str
    version: int
    frozen_at: str
    description: str
    targets: tuple[str, ...]
    priors: tuple[Prior, ...]
    parameters: tuple[str, ...]
    log_parameters: tuple[str, ...]
    settings: dict[str, Any]
    result: dict[str, Any]
    chosen_from: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sha256(self) -> str:
        return file_hash(self.id)

    @property
    def params(self) -> dict[str, float]:
        """Maximum a posteriori parameters in SI units (``result["map"]``, with the
        ``log_parameters`` taken out of log10)."""
        return {
            name: float(10.0**v) if name in self.log_parameters else float(v)
            for name, v in zip(self.parameters, self.result["map"], strict=True)
        }


def _text(cal_id: str) -> bytes:
    try:
        return resources.files(__name__).joinpath(f"{cal_id}.json").read_bytes()
    except FileNotFoundError:
        raise ParameterError(
            f"calibration {cal_id!r} not found; frozen calibrations: {available()}"
        ) from None


def file_hash(cal_id: str) -> str:
    """SHA-256 (hex) of the calibration file's bytes."""
    return hashlib.sha256(_text(cal_id)).hexdigest()


def _manifest() -> dict[str, Any]:
    return json.loads(resources.files(__name__).joinpath("MANIFEST.json").read_text())


def available() -> list[str]:
    """Ids of the frozen calibrations (from ``MANIFEST.json``)."""
    return sorted(_manifest()["calibrations"])


def load(cal_id: str) -> FrozenCalibration:
    """Load a frozen calibration, checking its hash against ``MANIFEST.json``.

    Raises
    ------
    ParameterError
        If the id is unknown or the file's hash differs from the manifest's.
    """
    man = _manifest()["calibrations"]
    if cal_id not in man:
        raise ParameterError(f"calibration {cal_id!r} is not frozen; frozen: {sorted(man)}")
    h = file_hash(cal_id)
    if h != man[cal_id]["sha256"]:
        raise ParameterError(
            f"calibration {cal_id!r} changed after it was frozen "
            f"(sha256 {h[:12]} vs manifest {man[cal_id]['sha256'][:12]}); "
            "a new calibration needs a new version and a new manifest entry"
        )
    d = json.loads(_text(cal_id))
    return FrozenCalibration(
        id=d["id"],
        version=int(d["version"]),
        frozen_at=d["frozen_at"],
        description=d["description"],
        targets=tuple(d["targets"]),
        priors=tuple(Prior(**p) for p in d["priors"]),
        parameters=tuple(d["parameters"]),
        log_parameters=tuple(d.get("log_parameters", ())),
        settings=dict(d.get("settings", {})),
        result=dict(d["result"]),
        chosen_from=tuple(d.get("chosen_from", ())),
    )


def freeze_text(payload: dict[str, Any]) -> str:
    """Canonical JSON text of a calibration (sorted keys, 2-space indent, newline)."""
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"
