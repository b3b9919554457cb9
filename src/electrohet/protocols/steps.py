"""Experiment steps and the parser of PyBaMM-style experiment strings.

Accepted forms (case-insensitive; units: C-rate ``C``/``C/n``, ``A``, ``mA``,
``A/m2``, ``mA/cm2``; voltages ``V``/``mV``; durations ``s``/``seconds``, ``min``/
``minutes``, ``h``/``hours``)::

    Discharge at 1C until 3.0 V
    Charge at C/2 until 4.3 V
    Charge at 2 mA/cm2 for 30 minutes
    Discharge at 0.5C for 1 hour or until 3.0 V
    Hold at 4.3 V until C/20
    Hold at 4.2 V for 1 hour or until 50 mA
    Rest for 15 minutes
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from electrohet.errors import ProtocolError

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_I_UNITS = r"mA/cm2|mA/cm\^2|A/m2|A/m\^2|mA|A"


def _current_pattern(p: str = "") -> str:
    """Regex of a current: a C-rate (``2C``, ``C/20``) or a value with a unit."""
    c_rate = rf"(?P<{p}cnum>{_NUM})?\s*C(?:\s*/\s*(?P<{p}cden>{_NUM}))?"
    absolute = rf"(?P<{p}ival>{_NUM})\s*(?P<{p}iunit>{_I_UNITS})"
    return rf"(?:{c_rate}|{absolute})"


_CURRENT = _current_pattern()
_TIME = rf"(?P<tval>{_NUM})\s*(?P<tunit>seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h)"
_VOLT = rf"(?P<vval>{_NUM})\s*(?P<vunit>mV|V)"

# Physically meaningful limits of a step (checked for parsed and hand-built steps).
#: Longest step duration [s]: 10 000 h (about 14 months, room for calendar-aging rests).
MAX_DURATION_S = 1.0e4 * 3600.0
#: C-rates [1/h]: C/1000 (a 1000 h half cycle) to 1000C (a 3.6 s one).
MIN_C_RATE, MAX_C_RATE = 1.0e-3, 1.0e3
#: Current densities [A/m^2]: 0.01 uA/cm^2 to 10 A/cm^2.
MIN_DENSITY, MAX_DENSITY = 1.0e-4, 1.0e5
#: Cell currents [A]: 1 nA to 10 kA.
MIN_CURRENT_A, MAX_CURRENT_A = 1.0e-9, 1.0e4
#: Current cut-offs of a hold may go ten times lower than a drive current.
CUTOFF_FACTOR = 0.1

_CURRENT_LIMITS = {
    "C": (MIN_C_RATE, MAX_C_RATE, "C"),
    "A/m2": (MIN_DENSITY, MAX_DENSITY, "A/m2"),
    "A": (MIN_CURRENT_A, MAX_CURRENT_A, "A"),
}

_TIME_FACTORS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}


@dataclass(frozen=True)
class CurrentSpec:
    """A current given as a C-rate or an absolute value.

    ``unit`` is ``"C"`` (value = C-rate), ``"A"`` (A for the cell's area) or
    ``"A/m2"`` (current density).
    """

    value: float
    unit: str

    def density(self, one_c: float, area: float) -> float:
        """Current density [A/m^2] given the 1C current density and electrode area [m^2]."""
        if self.unit == "C":
            return self.value * one_c
        if self.unit == "A":
            return self.value / area
        return self.value

    def __str__(self) -> str:
        return f"{self.value:g}C" if self.unit == "C" else f"{self.value:g} {self.unit}"


@dataclass(frozen=True)
class Step:
    """One step of an experiment.

    Parameters
    ----------
    kind
        ``"current"``, ``"voltage"`` (potentiostatic hold) or ``"rest"``.
    current
        Magnitude of the current for ``"current"`` steps.
    direction
        +1 discharge, -1 charge (``"current"`` steps).
    voltage
        Hold voltage [V] (``"voltage"`` steps).
    duration
        Time limit [s] or ``None``.
    until_voltage
        Voltage cut-off [V] or ``None`` (``"current"`` steps).
    until_current
        Current cut-off (``"voltage"`` steps).
    text
        The string the step was parsed from.
    """

    kind: str
    current: CurrentSpec | None = None
    direction: int = 1
    voltage: float | None = None
    duration: float | None = None
    until_voltage: float | None = None
    until_current: CurrentSpec | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("current", "voltage", "rest"):
            raise ProtocolError(f"step kind {self.kind!r} must be current, voltage or rest")
        if self.kind == "current" and self.current is None:
            raise ProtocolError(f"{self.text!r}: a current step needs a current")
        if self.kind == "current" and self.current is not None and self.current.value <= 0:
            raise ProtocolError(
                f"{self.text!r}: current must be > 0 (use Charge/Discharge for the sign)"
            )
        if self.kind == "voltage" and self.voltage is None:
            raise ProtocolError(f"{self.text!r}: a hold needs a voltage")
        if self.kind == "rest" and self.duration is None:
            raise ProtocolError(f"{self.text!r}: a rest needs a duration")
        if self.duration is not None and not 0 < self.duration <= MAX_DURATION_S:
            raise ProtocolError(
                f"{self.text!r}: duration = {self.duration:g} s is outside the allowed range "
                f"(0, {MAX_DURATION_S:g}] s (up to {MAX_DURATION_S / 3600:g} h)"
            )
        if self.current is not None:
            _check_current(self.text, "current", self.current, 1.0)
        if self.until_current is not None:
            _check_current(self.text, "cut-off current", self.until_current, CUTOFF_FACTOR)
        if (
            self.kind != "rest"
            and self.duration is None
            and self.until_voltage is None
            and self.until_current is None
        ):
            raise ProtocolError(
                f"{self.text!r}: give a duration ('for ...') or a cut-off ('until ...')"
            )

    def __str__(self) -> str:
        return self.text or self.kind


def _check_current(text: str, key: str, spec: CurrentSpec, low_factor: float) -> None:
    """Reject a non-finite or physically absurd current with its allowed range."""
    lo, hi, unit = _CURRENT_LIMITS.get(spec.unit, (0.0, float("inf"), spec.unit))
    lo *= low_factor
    v = spec.value
    if not (v == v and lo <= v <= hi):  # v == v rejects NaN
        shown = f"{v:g}C" if unit == "C" else f"{v:g} {unit}"
        raise ProtocolError(
            f"{text!r}: {key} = {shown} is outside the allowed range [{lo:g}, {hi:g}] {unit}"
        )


def _current(m: re.Match[str] | _DictMatch) -> CurrentSpec:
    if m.group("iunit"):
        val = float(m.group("ival"))
        unit = m.group("iunit").replace("^", "")
        if unit == "mA":
            return CurrentSpec(val * 1e-3, "A")
        if unit == "mA/cm2":
            return CurrentSpec(val * 10.0, "A/m2")  # 1 mA/cm2 = 10 A/m2
        return CurrentSpec(val, unit)
    num = float(m.group("cnum")) if m.group("cnum") else 1.0
    den = float(m.group("cden")) if m.group("cden") else 1.0
    if den == 0:
        raise ProtocolError("C-rate denominator must be non-zero")
    return CurrentSpec(num / den, "C")


def _volts(m: re.Match) -> float:
    v = float(m.group("vval"))
    return v * 1e-3 if m.group("vunit") == "mV" else v


def _seconds(m: re.Match) -> float:
    return float(m.group("tval")) * _TIME_FACTORS[m.group("tunit").lower()]


_RE_CC = re.compile(
    rf"^(?P<dir>discharge|charge)\s+at\s+{_CURRENT}"
    rf"(?:\s+for\s+{_TIME})?(?:\s+(?:or\s+)?until\s+{_VOLT})?$",
    re.IGNORECASE,
)
_RE_CV = re.compile(
    rf"^hold\s+at\s+{_VOLT}(?:\s+for\s+{_TIME})?"
    rf"(?:\s+(?:or\s+)?until\s+{_current_pattern('u')})?$",
    re.IGNORECASE,
)
_RE_REST = re.compile(rf"^rest\s+for\s+{_TIME}$", re.IGNORECASE)


def parse_step(text: str) -> Step:
    """Parse one experiment string into a :class:`Step` (raises ProtocolError)."""
    s = " ".join(str(text).strip().split())
    if m := _RE_CC.match(s):
        return Step(
            kind="current",
            current=_current(m),
            direction=1 if m.group("dir").lower() == "discharge" else -1,
            duration=_seconds(m) if m.group("tval") else None,
            until_voltage=_volts(m) if m.group("vval") else None,
            text=s,
        )
    if m := _RE_CV.match(s):
        until = None
        if (
            m.group("uiunit")
            or m.group("ucnum") is not None
            or m.group("ucden")
            or "until" in s.lower()
        ):
            d = {
                "iunit": m.group("uiunit"),
                "ival": m.group("uival"),
                "cnum": m.group("ucnum"),
                "cden": m.group("ucden"),
            }
            until = _current(_DictMatch(d)) if any(d.values()) or "until" in s.lower() else None
        return Step(
            kind="voltage",
            voltage=_volts(m),
            duration=_seconds(m) if m.group("tval") else None,
            until_current=until,
            text=s,
        )
    if m := _RE_REST.match(s):
        return Step(kind="rest", duration=_seconds(m), text=s)
    raise ProtocolError(
        f"cannot parse experiment step {text!r}; expected e.g. 'Discharge at 1C until 3.0 V', "
        "'Charge at C/2 until 4.3 V', 'Hold at 4.3 V until C/20' or 'Rest for 15 minutes'"
    )


class _DictMatch:
    def __init__(self, d: dict) -> None:
        self.d = d

    def group(self, key: str):
        return self.d.get(key)
