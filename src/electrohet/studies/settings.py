"""Settings of a rate study, in groups of one concern each.

:class:`StudySettings` holds six groups: the test :class:`RateProtocol` (rates, window,
rests, formation), the :class:`StudyMesh`, the :class:`Execution` of the sweep (Dask
workers or scheduler), the :class:`Mechanisms` switched on (particle wiring, interface
resistance, the older through-plane-limited model), the :class:`CalibratedParameters`
(``None`` = from the calibration) and the :class:`Labelling` of designs (posterior
draws, resolution, confidence).

Flat keywords and attributes are kept for every setting: ``StudySettings(rates=...,
processes=2)``, ``settings.v_min`` and ``dataclasses.replace(settings,
constriction=...)`` route each name to its group, so TOML files (``[study]`` keys) and
CLI flags read as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from electrohet.errors import ParameterError, check_range

__all__ = [
    "CalibratedParameters",
    "Execution",
    "Labelling",
    "Mechanisms",
    "RATE_MAX",
    "RateProtocol",
    "StudyMesh",
    "StudySettings",
    "V_MAX_RANGE",
    "V_MIN_RANGE",
]

# Allowed ranges of the rate study (NMC622 vs Li, Yari 2020 window 3.0-4.3 V): a
# discharge cut-off between 2.0 and 4.0 V, a charge cut-off between 3.6 V (below it the
# cathode is barely charged) and 4.5 V (above it the NMC622 OCP and electrolyte are
# outside their validated range), C-rates up to 20C.
V_MIN_RANGE = (2.0, 4.0)
V_MAX_RANGE = (3.6, 4.5)
RATE_MAX = 20.0


@dataclass(frozen=True)
class RateProtocol:
    """The rate test of every design.

    Parameters
    ----------
    rates
        Discharge C-rates [1/h] (>= 3 distinct, > 0).
    charge_rate
        CC charge C-rate [1/h] before the CV hold (``"cc"`` protocol).
    v_min, v_max
        Voltage window [V].
    rest_minutes
        Rest after each charge / discharge [min].
    protocol
        ``"cccv"`` (default, Yari 2020 §2.3): ``formation_cycles`` C/10 cycles, then
        per rate a CC-CV charge at the rate and a CC-CV discharge (CV to C/20) with
        ``rest_minutes`` of rest; gamma from the CC discharge energy.  ``"cc"``: one
        CCCV charge at ``charge_rate``, then CC discharges from that charged state.
    formation_cycles
        C/10 formation cycles before the ``"cccv"`` rate test.
    """

    rates: Sequence[float] = (0.5, 1.0, 2.0, 3.0)
    charge_rate: float = 0.5
    v_min: float = 3.0
    v_max: float = 4.3
    rest_minutes: float = 15.0
    protocol: str = "cccv"
    formation_cycles: int = 2

    def __post_init__(self) -> None:
        if self.protocol not in ("cccv", "cc"):
            raise ParameterError(f"protocol = {self.protocol!r}: use 'cccv' or 'cc'")
        check_range("formation_cycles", self.formation_cycles, 0, 10)
        r = np.asarray(self.rates, dtype=float)
        if r.size < 3 or np.unique(r).size < 3 or np.any(r <= 0):
            raise ParameterError(f"rates = {list(self.rates)}: need >= 3 distinct positive C-rates")
        for rate in r:
            check_range("rates", float(rate), 0, RATE_MAX, low_inclusive=False)
        check_range("charge_rate", self.charge_rate, 0, RATE_MAX, low_inclusive=False)
        check_range("v_min", self.v_min, *V_MIN_RANGE)
        check_range("v_max", self.v_max, *V_MAX_RANGE)
        check_range("rest_minutes", self.rest_minutes, 0, 24 * 60)
        if not self.v_min < self.v_max:
            raise ParameterError(f"v_min = {self.v_min} must be below v_max = {self.v_max}")


@dataclass(frozen=True)
class StudyMesh:
    """Mesh of every run: finite volumes per layer and radial shells per particle."""

    points_per_layer: int = 6
    radial_points: int = 10


@dataclass(frozen=True)
class Execution:
    """Where the runs go (:mod:`electrohet.sweeps`).

    Parameters
    ----------
    processes
        Worker processes of the local Dask cluster (``None`` = number of CPUs, 1 =
        serial in this process, no cluster).
    scheduler
        Address of a running Dask scheduler to submit the runs to instead (``None`` =
        the environment variable ``ELECTROHET_SCHEDULER`` if set, else a local cluster).
    """

    processes: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class Mechanisms:
    """Carbon-dependent mechanisms of the model.

    Parameters
    ----------
    wiring
        Particle-level wiring linked to the carbon fraction (issue 3): every layer gets
        ``wiring_classes`` contact classes from
        :meth:`~electrohet.design.distributions.ContactPaths.from_carbon_fraction`
        (poorly wired share grows as f_c falls) and the NMC's SOC-dependent electronic
        conductivity (Amin & Chiang 2016), so poorly wired particles fall behind.
    wiring_classes
        Contact classes per layer [-].
    interface
        Coating / current-collector contact resistance from the carbon fraction of the
        layer touching the foil
        (:class:`~electrohet.design.conductivity.InterfaceResistanceLaw`), added to the
        cell as a series resistance.
    through_plane_limited
        Use the older model in which the through-plane matrix conductivity alone carries
        the carbon dependence (:data:`~electrohet.design.conductivity.YARI2020_PERCOLATION`)
        instead of the non-limiting bulk law
        (:data:`~electrohet.design.conductivity.YARI2020_BULK`); for comparison.
    """

    wiring: bool = True
    wiring_classes: int = 2
    interface: bool = True
    through_plane_limited: bool = False


@dataclass(frozen=True)
class CalibratedParameters:
    """The calibrated constants of the mechanisms (``None`` = from the calibration,
    :mod:`electrohet.calibrations.yari2020`).

    Parameters
    ----------
    constriction
        Particle surface / contact cross-section of a poor path [-].
    interface_resistance_ref
        Interface resistance at 2.5 wt% carbon [Ohm m^2].
    interface_exponent
        Its percolation exponent t [-].
    """

    constriction: float | None = None
    interface_resistance_ref: float | None = None
    interface_exponent: float | None = None


@dataclass(frozen=True)
class Labelling:
    """How designs are labelled constructive / destructive / same.

    Parameters
    ----------
    uncertainty
        Label designs by the probability that their gamma beats the reference, from the
        calibration's parameter uncertainty
        (:func:`~electrohet.studies.statistics.label_probability`); ``False`` (and the
        through-plane-limited model, which that calibration does not describe) = fixed
        relative tolerance (:func:`~electrohet.studies.statistics.label_design`).
    gamma_resolution
        Smallest gamma difference the discretisation resolves [-]; added in quadrature
        to the parameter spread (two identical designs are "same").
    label_confidence
        Probability above which a design is called constructive (below 1 - it:
        destructive); in between "same" (the paper's grey band).
    n_samples
        Posterior draws for the label probability: systematic resampling of the
        calibration's importance samples to ``n_samples`` equally weighted draws, each
        distinct point rerun once
        (:meth:`~electrohet.calibrations.yari2020.Calibration.sample_params`); 0 = none.
    """

    uncertainty: bool = True
    gamma_resolution: float = 1e-3
    label_confidence: float = 0.9
    n_samples: int = 16

    def __post_init__(self) -> None:
        check_range("n_samples", self.n_samples, 0, 10_000)
        check_range("gamma_resolution", self.gamma_resolution, 0, 0.5, low_inclusive=False)
        check_range("label_confidence", self.label_confidence, 0.5, 1, high_inclusive=False)


_GROUPS: dict[str, type] = {
    "rate_test": RateProtocol,
    "mesh": StudyMesh,
    "execution": Execution,
    "mechanisms": Mechanisms,
    "calibrated": CalibratedParameters,
    "labelling": Labelling,
}
#: flat setting name -> its group
_GROUP_OF: dict[str, str] = {
    f.name: group for group, cls in _GROUPS.items() for f in dataclasses.fields(cls)
}


@dataclass(init=False, frozen=True)
class StudySettings:
    """Settings of a rate study: six groups, each setting also by its flat name.

    Parameters
    ----------
    rate_test, mesh, execution, mechanisms, calibrated, labelling
        The groups (:class:`RateProtocol`, :class:`StudyMesh`, :class:`Execution`,
        :class:`Mechanisms`, :class:`CalibratedParameters`, :class:`Labelling`);
        default: their defaults.
    **settings
        Any setting of a group by its flat name (``rates=...``, ``processes=2``,
        ``constriction=...``), applied on top of the groups.  ``protocol`` is the
        protocol's name (``"cccv"`` / ``"cc"``), as before the split.
    """

    rate_test: RateProtocol = field(default_factory=RateProtocol)
    mesh: StudyMesh = field(default_factory=StudyMesh)
    execution: Execution = field(default_factory=Execution)
    mechanisms: Mechanisms = field(default_factory=Mechanisms)
    calibrated: CalibratedParameters = field(default_factory=CalibratedParameters)
    labelling: Labelling = field(default_factory=Labelling)

    def __init__(
        self,
        rate_test: RateProtocol | None = None,
        mesh: StudyMesh | None = None,
        execution: Execution | None = None,
        mechanisms: Mechanisms | None = None,
        calibrated: CalibratedParameters | None = None,
        labelling: Labelling | None = None,
        **settings: Any,
    ) -> None:
        given = {
            "rate_test": rate_test,
            "mesh": mesh,
            "execution": execution,
            "mechanisms": mechanisms,
            "calibrated": calibrated,
            "labelling": labelling,
        }
        unknown = sorted(k for k in settings if k not in _GROUP_OF)
        if unknown:
            raise ParameterError(
                f"unknown rate-study setting(s) {unknown}; known: {sorted(_GROUP_OF)}"
            )
        for group, cls in _GROUPS.items():
            changes = {k: v for k, v in settings.items() if _GROUP_OF[k] == group}
            base = given[group]
            if base is None:
                value = cls(**changes)
            else:
                value = dataclasses.replace(base, **changes) if changes else base
            object.__setattr__(self, group, value)

    def __getattr__(self, name: str) -> Any:
        # flat access to a group's setting (settings.v_min, settings.processes, ...);
        # called only when normal lookup fails, never for the groups themselves
        group = _GROUP_OF.get(name)
        if group is None or group not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__[group], name)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name."""
        return {name: getattr(self, name) for name in _GROUP_OF}
