"""Ready-made cells with particle ensembles for the heterogeneity scenarios of docs/physics.md §6.

* :func:`sharma_formation_cell` - NMC532 half cell with SOC-dependent conductivity and
  diffusivity and a carbon-fraction-dependent share of poorly wired particles
  (Sharma 2022: asynchronous first charge, synchronous later charges, ~10 % first-cycle
  loss).
* :func:`zhang_cei_cell` - thick NMC811 half cell with a CEI thickness that rises from the
  current collector to the separator, and its CBD-clogging / doubled-tortuosity variants
  (Zhang 2023).
* :func:`kroeger_isolated_cell` - NMC532 half cell with an isolated particle share
  (Kroeger: diverging particles after a slow charge to 4.4 V).
"""

from __future__ import annotations

from electrohet.design.distributions import (
    KAPPA_CEI_DEFAULT,
    ContactPaths,
    LognormalRadius,
    build_ensemble,
    cei_graded_layers,
)
from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.errors import ParameterError
from electrohet.materials.base import LithiumMetal
from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008, NMC811_CHEN2020
from electrohet.materials.soc_dependent import NMC532_SOC

KROEGER_ONE_C_MAH_G = 160.0  # Kroeger: 1C = 160 mA/g for NMC532


def _nominal(layers: list[Layer], mah_per_g: float) -> float:
    """Nominal capacity [Ah/m^2] from a specific capacity [mAh/g] and the loading."""
    loading = sum(lay.active_loading() for lay in layers)  # kg/m^2
    return mah_per_g * loading  # mAh/g = Ah/kg


def _nmc532_half_cell(lay: Layer, theta_init: float, v_max: float, name: str) -> Cell:
    """One NMC532 layer against Li metal (25 um separator, 2.5 V floor, Kroeger's 1C)."""
    return Cell(
        negative=LithiumMetal(i0_ref=10.0),
        separator=Separator(thickness=25e-6, porosity=0.5),
        positive=Electrode([lay], theta_init=theta_init),
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        v_min=2.5,
        v_max=v_max,
        nominal_capacity=_nominal([lay], KROEGER_ONE_C_MAH_G),
        name=name,
    )


def sharma_formation_cell(
    carbon_mass_fraction: float = 0.015,
    n_contact: int = 8,
    n_radius: int = 1,
    mean_diameters: float = 2.0,
    constriction: float = 30.0,
    radius: float = 5e-6,
    theta_init: float = 0.985,
    thickness: float = 50e-6,
    method: str = "quantile",
) -> Cell:
    """NMC532 vs Li metal for a C/20 formation cycle (Sharma 2022).

    The positive layer (porosity 0.35, active fraction 0.55, matrix conductivity 10 S/m)
    holds ``n_contact`` contact classes: a well-wired class and ``n_contact - 1`` poorly
    wired classes whose paths through the active material (exponential, mean
    ``mean_diameters`` particle diameters) are conducted by NMC with the
    Amin & Chiang (2016) conductivity sigma_AM(theta).  The poorly wired share follows
    the layer's carbon fraction (:func:`~electrohet.design.distributions.poorly_wired_share`).
    Pristine NMC532 starts at lithium fraction ``theta_init``.  1C = 160 mA/g (Kroeger).
    """
    rad = (
        LognormalRadius.from_mean_sd(radius, 0.3 * radius, "area", 0.0, 2.5 * radius)
        if n_radius > 1
        else radius
    )
    contact = ContactPaths.from_carbon_fraction(
        carbon_mass_fraction,
        mean_diameters=mean_diameters,
        diameter=2 * radius,
        constriction=constriction,
    )
    ens = build_ensemble(rad, n_radius, contact, n_contact, method=method)
    lay = Layer(
        material=NMC532_SOC,
        thickness=thickness,
        porosity=0.35,
        active_fraction=0.55,
        particle_radius=radius,
        carbon_mass_fraction=carbon_mass_fraction,
        conductivity=10.0,
        ensemble=ens,
        name="NMC532",
    )
    return _nmc532_half_cell(lay, theta_init, 4.4, "Sharma2022-like NMC532 formation half cell")


ZHANG_VARIANTS = ("pristine", "cei", "thick_cei", "cbd_clogging", "full_clogging")


def zhang_cei_cell(
    variant: str = "cei",
    n_sublayers: int = 6,
    n_cei: int = 3,
    kappa_cei: float = KAPPA_CEI_DEFAULT,
    thickness: float = 80e-6,
) -> Cell:
    """Thick NMC811 (Chen 2020 material) vs Li metal with a graded CEI (Zhang 2023).

    Electrode after Zhang: 80 um, porosity 0.25, NMC 0.58 (+ CBD 0.17), 1C = 280 mA/g.
    ``variant``:

    * ``"pristine"`` - no CEI;
    * ``"cei"`` - Gaussian CEI thickness, mean 5 nm at the current collector rising to
      20 nm at the separator, sd 4 nm, truncated to 3-28 nm;
    * ``"thick_cei"`` - the same, doubled;
    * ``"cbd_clogging"`` - CEI, and no ion transport through the CBD micro-pores: the CBD
      pore share is lost, so CBD-rich sub-layers (near the separator, where Zhang's CEI
      forms on carbon) get lower porosity and higher tortuosity;
    * ``"full_clogging"`` - CBD clogging plus doubled tortuosity everywhere.
    """
    if variant not in ZHANG_VARIANTS:
        raise ParameterError(f"variant = {variant!r} must be one of {ZHANG_VARIANTS}")
    base = Layer(
        material=NMC811_CHEN2020,
        thickness=thickness,
        porosity=0.25,
        active_fraction=0.58,
        particle_radius=5.22e-6,
        carbon_mass_fraction=0.025,
        conductivity=1.0,
        bruggeman=0.5,
        name="NMC811",
    )
    if variant == "pristine":
        layers = [
            base.with_(thickness=thickness / n_sublayers, name=f"NMC811[{i}]")
            for i in range(n_sublayers)
        ]
    else:
        scale = 2.0 if variant == "thick_cei" else 1.0
        layers = cei_graded_layers(base, n_sublayers, kappa=kappa_cei, n_cei=n_cei, scale=scale)
    if variant in ("cbd_clogging", "full_clogging"):
        # Open CBD micro-porosity (taken as 40 % of the CBD volume) is fed by the bulk
        # electrolyte; clogging removes it, more where the CBD holds more CEI (towards
        # the separator).  Porosity falls, tortuosity rises by Bruggeman on the rest.
        new = []
        for i, lay in enumerate(layers):
            xi = (i + 0.5) / n_sublayers
            assert lay.cbd_fraction is not None  # Layer fills it in on construction
            lost = 0.4 * lay.cbd_fraction * (0.5 + xi) / 1.5 * 0.25
            eps = lay.porosity - lost
            tau = eps ** (-0.5) * (1.0 + 0.5 * xi)
            if variant == "full_clogging":
                tau *= 2.0
            new.append(
                lay.with_(porosity=eps, cbd_fraction=lay.cbd_fraction + lost, tortuosity=tau)
            )
        layers = new
    return Cell(
        negative=LithiumMetal(i0_ref=10.0),
        separator=Separator(thickness=25e-6, porosity=0.5),
        positive=Electrode(layers, theta_init=0.27),
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        v_min=3.5,
        v_max=4.4,
        nominal_capacity=_nominal(layers, 280.0),
        name=f"Zhang2023-like NMC811 ({variant})",
    )


def kroeger_isolated_cell(
    isolated_fraction: float = 0.06,
    n_radius: int = 4,
    theta_init: float = 0.95,
    radius: float = 5e-6,
) -> Cell:
    """NMC532 (SOC-dependent) vs Li metal with a share of isolated particles (Kroeger).

    ``n_radius`` lognormal radius classes (area-weighted sd 0.3 R) are connected; one more
    class of the area-mean radius holds ``isolated_fraction`` of the active volume and
    never reacts.  1C = 160 mA/g.
    """
    rad = LognormalRadius.from_mean_sd(radius, 0.3 * radius, "area", 0.0, 2.5 * radius)
    ens = build_ensemble(rad, n_radius, isolated_fraction=isolated_fraction)
    lay = Layer(
        material=NMC532_SOC,
        thickness=50e-6,
        porosity=0.35,
        active_fraction=0.55,
        particle_radius=radius,
        conductivity=10.0,
        ensemble=ens,
        name="NMC532",
    )
    return _nmc532_half_cell(
        lay, theta_init, 4.5, "Kroeger-like NMC532 half cell with isolated particles"
    )
