"""Layers, porous electrodes, separators and cells.

A porous electrode is a stack of :class:`Layer` objects ordered from the current
collector side of that electrode towards the separator (``layers[0]`` touches the
current collector), whatever side of the cell it sits on.  Each layer carries its own
active material, composition, transport properties and particle ensemble.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from electrohet.design.conductivity import PercolationLaw
from electrohet.design.ensemble import ParticleEnsemble
from electrohet.errors import ParameterError, check_range
from electrohet.materials.base import ActiveMaterial, Electrolyte, F, LithiumMetal

FRACTION_TOL = 1e-9


@dataclass(frozen=True)
class Layer:
    """One layer of a porous electrode.

    Parameters
    ----------
    material
        Active material of this layer.
    thickness
        Layer thickness [m].
    porosity
        Electrolyte volume fraction eps_e [-], in (0, 1).
    active_fraction
        Active-material volume fraction eps_s [-].
    cbd_fraction
        Carbon-binder-domain volume fraction [-]; ``None`` = 1 - eps_e - eps_s.
        The three fractions must sum to 1 within 1e-9.
    particle_radius
        Radius of the (single-class) particles [m]; ignored when ``ensemble`` is given
        with its own radii.
    carbon_mass_fraction
        Carbon mass fraction of the solids f_c [-] (used by ``percolation`` and by the
        heterogeneity factor).
    tortuosity
        Electrolyte tortuosity factor tau_e [-]; ``None`` = Bruggeman eps_e^(-b).
    bruggeman
        Bruggeman exponent b in tau_e = eps_e^(-b) [-] (0.5 = classic).  Not PyBaMM's
        "Bruggeman coefficient (electrolyte)" b_e, the exponent of the transport
        efficiency eps_e^b_e = eps_e / tau_e: b = b_e - 1 (PyBaMM's 1.5 is 0.5 here;
        :func:`electrohet.design.from_pybamm` converts).
    conductivity
        Effective matrix conductivity sigma_eff [S/m]; ``None`` = from ``percolation``.
    percolation
        Law sigma_eff(f_c), used when ``conductivity`` is not given.
    ensemble
        Particle classes at every location of the layer; default one class.
    n_points
        Number of finite-volume cells through this layer; ``None`` = chosen by the mesh.
    name
        Label used in results.
    """

    material: ActiveMaterial
    thickness: float
    porosity: float
    active_fraction: float
    particle_radius: float
    cbd_fraction: float | None = None
    carbon_mass_fraction: float | None = None
    tortuosity: float | None = None
    bruggeman: float = 0.5
    conductivity: float | None = None
    percolation: PercolationLaw | None = None
    ensemble: ParticleEnsemble | None = None
    n_points: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        tag = f"layer {self.name!r}" if self.name else "layer"
        check_range(f"{tag}.thickness", self.thickness, 0, low_inclusive=False)
        check_range(
            f"{tag}.porosity", self.porosity, 0, 1, low_inclusive=False, high_inclusive=False
        )
        check_range(f"{tag}.active_fraction", self.active_fraction, 0, 1, low_inclusive=False)
        check_range(f"{tag}.particle_radius", self.particle_radius, 0, low_inclusive=False)
        cbd = (
            1.0 - self.porosity - self.active_fraction
            if self.cbd_fraction is None
            else self.cbd_fraction
        )
        if cbd < -FRACTION_TOL:
            raise ParameterError(
                f"{tag}: porosity + active_fraction = {self.porosity + self.active_fraction:.12g} "
                "exceeds 1; volume fractions must sum to 1"
            )
        total = self.porosity + self.active_fraction + cbd
        if abs(total - 1.0) > FRACTION_TOL:
            raise ParameterError(
                f"{tag}: porosity + active_fraction + cbd_fraction = {total:.12g}, "
                "must equal 1 within 1e-9"
            )
        object.__setattr__(self, "cbd_fraction", max(cbd, 0.0))
        if self.carbon_mass_fraction is not None:
            check_range(f"{tag}.carbon_mass_fraction", self.carbon_mass_fraction, 0, 1)
        if self.tortuosity is not None:
            check_range(f"{tag}.tortuosity", self.tortuosity, 1, None)
        check_range(f"{tag}.bruggeman", self.bruggeman, 0, 5)
        if self.conductivity is not None:
            check_range(f"{tag}.conductivity", self.conductivity, 0, low_inclusive=False)
        elif self.percolation is None:
            raise ParameterError(f"{tag}: give either conductivity [S/m] or a percolation law")
        elif self.carbon_mass_fraction is None:
            raise ParameterError(f"{tag}: a percolation law needs carbon_mass_fraction")
        if self.n_points is not None and self.n_points < 1:
            raise ParameterError(f"{tag}.n_points = {self.n_points} must be >= 1")

    @property
    def tortuosity_factor(self) -> float:
        """Electrolyte tortuosity tau_e [-] (given, or Bruggeman eps^-b)."""
        if self.tortuosity is not None:
            return self.tortuosity
        return float(self.porosity ** (-self.bruggeman))

    @property
    def matrix_conductivity(self) -> float:
        """Effective electronic conductivity of the solid matrix sigma_eff [S/m]."""
        if self.conductivity is not None:
            return self.conductivity
        assert self.percolation is not None and self.carbon_mass_fraction is not None
        return self.percolation(self.carbon_mass_fraction)

    @property
    def particles(self) -> ParticleEnsemble:
        """The particle ensemble (a single class of ``particle_radius`` if none given)."""
        if self.ensemble is not None:
            return self.ensemble
        return ParticleEnsemble.single(self.particle_radius)

    def with_(self, **changes) -> Layer:
        """A copy with some fields changed (validated again).

        Changing ``porosity`` or ``active_fraction`` without ``cbd_fraction`` lets the
        CBD fraction follow (1 - porosity - active_fraction).
        """
        if (
            "porosity" in changes or "active_fraction" in changes
        ) and "cbd_fraction" not in changes:
            changes["cbd_fraction"] = None
        return replace(self, **changes)

    def capacity_per_area(self, theta_low: float, theta_high: float) -> float:
        """Capacity of the lithium-fraction window in this layer [Ah/m^2]."""
        return (
            self.thickness
            * self.active_fraction
            * self.material.c_max
            * abs(theta_high - theta_low)
            * F
            / 3600.0
        )

    def active_loading(self) -> float:
        """Active-material areal mass loading [kg/m^2].

        Volume of active material per area times its crystallographic density
        (``ActiveMaterial.crystal_density``).
        """
        return self.thickness * self.active_fraction * self.material.crystal_density


#: Effective properties :meth:`Electrode.from_volume` can measure on a volume.
VOLUME_MECHANISMS = ("electrolyte", "conductivity", "area", "wiring", "radius")


def volume_mechanisms(properties: str | Collection[str]) -> frozenset[str]:
    """The set of measured mechanisms named by ``properties`` (see ``from_volume``)."""
    if isinstance(properties, str):
        if properties == "measured":
            return frozenset(VOLUME_MECHANISMS)
        if properties == "geometric":
            return frozenset()
        raise ParameterError(
            f"properties = {properties!r}; allowed: 'measured', 'geometric' or a collection "
            f"of {VOLUME_MECHANISMS}"
        )
    use = frozenset(properties)
    bad = sorted(use - set(VOLUME_MECHANISMS))
    if bad:
        raise ParameterError(f"properties: unknown mechanism(s) {bad}; allowed {VOLUME_MECHANISMS}")
    return use


@dataclass(frozen=True)
class Electrode:
    """A porous electrode: layers from its current collector towards the separator.

    Parameters
    ----------
    layers
        The layers, ``layers[0]`` at the current collector.
    theta_init
        Initial lithium fraction of the active material [-] (all layers).
    """

    layers: tuple[Layer, ...]
    theta_init: float

    def __init__(self, layers: Sequence[Layer] | Layer, theta_init: float) -> None:
        if isinstance(layers, Layer):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise ParameterError("electrode.layers: at least one layer is needed")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(
            self, "theta_init", check_range("electrode.theta_init", theta_init, 0, 1)
        )

    @property
    def thickness(self) -> float:
        """Total thickness [m]."""
        return float(sum(layer.thickness for layer in self.layers))

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def lithium_capacity(self, theta_low: float, theta_high: float) -> float:
        """Capacity between two lithium fractions summed over the layers [Ah/m^2]."""
        return float(sum(lay.capacity_per_area(theta_low, theta_high) for lay in self.layers))

    @classmethod
    def from_volume(
        cls,
        volume,
        n_layers: int,
        material: ActiveMaterial,
        theta_init: float,
        conductivity: float | None = None,
        radius_classes: int = 1,
        default_radius: float | None = None,
        n_points: int | None = None,
        *,
        properties: str | Collection[str] = "measured",
        phases=None,
    ) -> Electrode:
        """Layers measured in a labelled 3D volume (see :mod:`electrohet.micro`).

        The volume is cut into ``n_layers`` slabs along its thickness axis, collector
        first; each becomes a :class:`Layer`.  Each of five effective properties is
        either *measured* with the voxel model's own phase physics ``phases``
        (:func:`electrohet.micro.effective.effective_properties`) or taken from the
        *geometric* image measures (:func:`electrohet.micro.bridge.layers_from_volume`):

        * ``"electrolyte"``: fraction and tortuosity of pore + crack + nano-porous CBD
          (unless clogged) from a diffusion solve; geometric: pore + crack porosity
          and tortuosity;
        * ``"conductivity"``: AM + CBD conduction solve [S/m]; geometric: the given
          ``conductivity``;
        * ``"area"``: the voxel model's reaction-face area (AM faces to electrolyte,
          AM-CBD faces x CBD porosity); geometric: 3 eps_s / R_median;
        * ``"wiring"``: AM not wired to the collector (or cut off from the
          electrolyte) as an isolated class; geometric: all AM active;
        * ``"radius"``: the radius with the AM's quasi-steady solid-diffusion deficit
          (steady diffusion solve); geometric: the watershed particles' median radius.

        The reaction area enters through the classes' kinetic factor (area x i0 is what
        the P2D-E reaction term sees), so the radius and the area are set separately.

        Parameters
        ----------
        volume
            A :class:`electrohet.micro.volume.LabelledVolume` (in memory).
        n_layers
            Number of slabs [-].
        material
            Active material of every layer.
        theta_init
            Initial lithium fraction [-].
        conductivity
            Effective matrix conductivity [S/m]; overrides the measured one; required
            when ``"conductivity"`` is not measured.
        radius_classes
            Particle classes per location: a lognormal radius distribution whose
            log-spread is that of the watershed particles; with ``"radius"`` measured it
            is scaled so that its volume-weighted mean R^2 is the diffusion radius
            squared.
        default_radius
            Radius [m] to use where no particle could be segmented (geometric radius).
        n_points
            Finite-volume cells per layer (``None`` = the mesh's choice).
        properties
            ``"measured"`` (all five, the default), ``"geometric"`` (none: the earlier
            behaviour) or a collection of the mechanism names above.
        phases
            :class:`electrohet.micro.effective.PhaseProperties` of the voxel model
            (CBD porosity, tortuosity, conductivity, clogging, AM conductivity);
            default: the voxel model's defaults with the AM conductivity of
            ``material`` at ``theta_init``.
        """
        from electrohet.design.distributions import LognormalRadius, build_ensemble
        from electrohet.micro.bridge import layers_from_volume
        from electrohet.micro.effective import PhaseProperties, effective_properties

        use = volume_mechanisms(properties)
        if "conductivity" not in use and conductivity is None:
            raise ParameterError(
                "from_volume: give conductivity [S/m] when it is not measured "
                f"(properties = {properties!r} needs conductivity)"
            )
        if phases is None:
            sig_am = float(material.electronic_conductivity(np.array([theta_init]))[0])
            phases = PhaseProperties(am_conductivity=sig_am)
        need_geo = not {"electrolyte", "area", "radius"} <= use or radius_classes > 1
        segment = bool({"area", "radius"} - use) or radius_classes > 1
        geo = layers_from_volume(volume, n_layers, segment=segment) if need_geo else None
        eff = effective_properties(volume, n_layers, phases) if use else None
        layers = []
        for i in range(n_layers):
            tag = f"volume slab {i}"
            g: dict = geo[i] if geo is not None else {}
            e: dict = eff[i] if eff is not None else {}
            src = e if "electrolyte" in use else g
            porosity, tau = src["porosity"], src["tortuosity"]
            if not np.isfinite(tau):
                raise ParameterError(
                    f"{tag}: the electrolyte does not percolate through the thickness "
                    "(tortuosity = inf); use fewer layers or check the labels"
                )
            sigma = conductivity if conductivity is not None else e["conductivity"]
            if not sigma > 0:
                raise ParameterError(
                    f"{tag}: the solid (AM + CBD) does not conduct through the thickness; "
                    "use fewer layers or give conductivity [S/m]"
                )
            am = (e or g)["am_fraction"]
            wired = e["wired_am_fraction"] / am if "wiring" in use and am > 0 else 1.0
            iso = 1.0 - wired if 1.0 - wired > 1e-12 else 0.0
            sig = 0.0
            if g and np.isfinite(g["radius_log_sigma"]):
                sig = float(g["radius_log_sigma"])
            ens_geo = None
            if {"area", "radius"} - use:  # the geometric radius is needed
                r_med = g["radius_median_m"]
                if not np.isfinite(r_med) or r_med <= 0:
                    if default_radius is None:
                        raise ParameterError(
                            f"{tag}: no particles segmented; give default_radius [m]"
                        )
                    r_med, sig = default_radius, 0.0
                if radius_classes > 1 and sig > 0:
                    dist = LognormalRadius(mu=float(np.log(r_med)), s=sig, weighting="number")
                    ens_geo = build_ensemble(dist, n_radius=radius_classes, isolated_fraction=iso)
                else:
                    ens_geo = build_ensemble(float(r_med), isolated_fraction=iso)
            if "radius" in use:
                r_d = e["diffusion_radius_m"]
                if not (np.isfinite(r_d) and r_d > 0 and e["wired_am_fraction"] > 0):
                    raise ParameterError(
                        f"{tag}: no wired, wetted active material (AM fraction {am:.3g}); "
                        "use fewer layers or check the labels"
                    )
                if radius_classes > 1 and sig > 0:
                    # volume-weighted lognormal with E_v[R^2] = exp(2 mu_v + 2 s^2) = r_d^2
                    dist = LognormalRadius(mu=float(np.log(r_d) - sig**2), s=sig)
                    ens = build_ensemble(dist, n_radius=radius_classes, isolated_fraction=iso)
                else:
                    ens = build_ensemble(float(r_d), isolated_fraction=iso)
                # the quadrature keeps area, not R^2: rescale so that the wired classes'
                # volume-weighted mean R^2 is exactly r_d^2
                live = ~ens.isolated
                r2 = np.sum(ens.weight[live] * ens.radius[live] ** 2) / np.sum(ens.weight[live])
                ens = ParticleEnsemble(
                    radius=(ens.radius * (r_d / np.sqrt(r2))).tolist(),
                    weight=ens.weight.tolist(),
                    isolated=ens.isolated.tolist(),
                )
            else:
                assert ens_geo is not None
                ens = ens_geo
            # reaction area of the active classes per electrode volume [1/m]
            live = ~ens.isolated
            own = float(np.sum(3.0 * am * ens.weight[live] / ens.radius[live]))
            if "area" in use:
                target = e["reactive_area"] + (
                    0.0 if "wiring" in use else e["reactive_area_isolated"]
                )
            else:
                assert ens_geo is not None
                lg = ~ens_geo.isolated
                target = float(np.sum(3.0 * am * ens_geo.weight[lg] / ens_geo.radius[lg]))
            if not target > 0:
                raise ParameterError(f"{tag}: no reaction area (no AM next to electrolyte)")
            kfac = 1.0 if ens is ens_geo and "area" not in use else target / own
            ens = ParticleEnsemble(
                radius=ens.radius.tolist(),
                weight=ens.weight.tolist(),
                kinetic_factor=kfac,
                isolated=ens.isolated.tolist(),
            )
            # volume-weighted rms radius of the active classes (the ensemble's own
            # radii are what the model uses)
            w_l, r_l = ens.weight[live], ens.radius[live]
            r_rms = float(np.sqrt(np.sum(w_l * r_l**2) / np.sum(w_l)))
            layers.append(
                Layer(
                    material=material,
                    thickness=(e or g)["thickness_m"],
                    porosity=porosity,
                    active_fraction=am,
                    cbd_fraction=1.0 - porosity - am,
                    particle_radius=r_rms,
                    tortuosity=max(1.0, float(tau)),
                    conductivity=float(sigma),
                    ensemble=ens,
                    n_points=n_points,
                    name=f"image slab {i + 1}",
                )
            )
        return cls(layers, theta_init)

    def with_layers(self, layers: Sequence[Layer]) -> Electrode:
        return Electrode(layers, self.theta_init)

    def split(self, n: int) -> Electrode:
        """Each layer cut into ``n`` identical sub-layers (same physics, finer bookkeeping)."""
        new: list[Layer] = []
        for lay in self.layers:
            pts = None if lay.n_points is None else max(1, lay.n_points // n)
            new.extend(
                lay.with_(thickness=lay.thickness / n, n_points=pts, name=f"{lay.name}{i}")
                for i in range(n)
            )
        return Electrode(new, self.theta_init)


@dataclass(frozen=True)
class Separator:
    """Porous separator.

    Parameters
    ----------
    thickness
        [m].
    porosity
        Electrolyte volume fraction [-], in (0, 1]; 1 is a gap of pure electrolyte
        (PyBaMM's Marquis 2019 set has one).
    bruggeman
        Exponent b in tau = eps^-b [-].  PyBaMM's "Bruggeman coefficient" b_e is the
        exponent of the transport efficiency eps^b_e = eps / tau: b = b_e - 1.
    tortuosity
        Tortuosity factor [-], overrides Bruggeman when given.
    n_points
        Finite-volume cells through the separator.
    """

    thickness: float
    porosity: float
    bruggeman: float = 0.5
    tortuosity: float | None = None
    n_points: int | None = None

    def __post_init__(self) -> None:
        check_range("separator.thickness", self.thickness, 0, low_inclusive=False)
        check_range("separator.porosity", self.porosity, 0, 1, low_inclusive=False)
        if self.tortuosity is not None:
            check_range("separator.tortuosity", self.tortuosity, 1)

    @property
    def tortuosity_factor(self) -> float:
        if self.tortuosity is not None:
            return self.tortuosity
        return float(self.porosity ** (-self.bruggeman))


@dataclass(frozen=True)
class Cell:
    """A cell: negative electrode (porous or Li metal), separator, positive electrode.

    Parameters
    ----------
    negative
        Porous :class:`Electrode` or :class:`~electrohet.materials.base.LithiumMetal`.
    separator, positive, electrolyte
        As named.
    temperature
        Isothermal temperature [K].
    v_min, v_max
        Voltage window of the cell [V].
    area
        Electrode area [m^2] (to convert A/m^2 to A).
    nominal_capacity
        Capacity that defines 1C [Ah/m^2]; ``None`` = the positive electrode's
        capacity between its initial lithium fraction and ``theta_full`` for a half
        cell, or the smaller of the two electrodes' usable capacities in a full cell.
    contact_resistance
        Lumped area-specific resistance [Ohm m^2] added to the voltage.
    name
        Label for results.
    """

    negative: Electrode | LithiumMetal
    separator: Separator
    positive: Electrode
    electrolyte: Electrolyte
    temperature: float = 298.15
    v_min: float = 2.5
    v_max: float = 4.2
    area: float = 1.0
    nominal_capacity: float | None = None
    contact_resistance: float = 0.0
    name: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_range("cell.temperature", self.temperature, 150, 500)
        check_range("cell.area", self.area, 0, low_inclusive=False)
        check_range("cell.contact_resistance", self.contact_resistance, 0)
        if not self.v_min < self.v_max:
            raise ParameterError(
                f"cell.v_min = {self.v_min} must be below cell.v_max = {self.v_max}"
            )
        if self.nominal_capacity is not None:
            check_range("cell.nominal_capacity", self.nominal_capacity, 0, low_inclusive=False)

    @property
    def half_cell(self) -> bool:
        return isinstance(self.negative, LithiumMetal)

    def one_c(self) -> float:
        """1C current density [A/m^2]."""
        if self.nominal_capacity is not None:
            return self.nominal_capacity
        return self.capacity_estimate()

    def capacity_estimate(self) -> float:
        """Usable capacity [Ah/m^2] from the electrodes' lithium windows."""
        pos = self.positive
        theta_full = float(np.mean([lay.material.theta_0 for lay in pos.layers]))
        q_pos = sum(
            lay.capacity_per_area(pos.theta_init, lay.material.theta_0) for lay in pos.layers
        )
        if self.half_cell:
            if abs(theta_full - pos.theta_init) < 1e-6:
                q_pos = sum(
                    lay.capacity_per_area(lay.material.theta_100, lay.material.theta_0)
                    for lay in pos.layers
                )
            return float(q_pos)
        neg = self.negative
        assert isinstance(neg, Electrode)
        q_neg = sum(
            lay.capacity_per_area(neg.theta_init, lay.material.theta_0) for lay in neg.layers
        )
        return float(min(q_pos, q_neg))

    def with_(self, **changes) -> Cell:
        return replace(self, **changes)
