"""Ready-made cells built from the parameter sets in :mod:`electrohet.materials`."""

from __future__ import annotations

from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.materials.base import LithiumMetal
from electrohet.materials.chen2020 import GRAPHITE_CHEN2020, LIPF6_EC_EMC_NYMAN2008, NMC811_CHEN2020

CHEN2020_AREA = 0.065 * 1.58  # electrode height x width [m^2] (Chen 2020)
CHEN2020_CAPACITY = 5.0 / CHEN2020_AREA  # nominal 5 Ah [Ah/m^2]


def chen2020_positive_layer(**changes) -> Layer:
    """NMC811 positive electrode of the LG M50 (Chen 2020), one layer."""
    lay = Layer(
        material=NMC811_CHEN2020,
        thickness=75.6e-6,
        porosity=0.335,
        active_fraction=0.665,
        particle_radius=5.22e-6,
        bruggeman=0.5,
        conductivity=0.18,
        name="positive",
    )
    return lay.with_(**changes) if changes else lay


def chen2020_negative_layer(**changes) -> Layer:
    """Graphite-SiOx negative electrode of the LG M50 (Chen 2020), one layer."""
    lay = Layer(
        material=GRAPHITE_CHEN2020,
        thickness=85.2e-6,
        porosity=0.25,
        active_fraction=0.75,
        particle_radius=5.86e-6,
        bruggeman=0.5,
        conductivity=215.0,
        name="negative",
    )
    return lay.with_(**changes) if changes else lay


def chen2020_separator() -> Separator:
    return Separator(thickness=12e-6, porosity=0.47, bruggeman=0.5)


def chen2020_cell(positive_layers: list[Layer] | None = None) -> Cell:
    """LG M50 full cell (Chen 2020) at 100 % SOC, 2.5-4.2 V, 1C = 5 A."""
    pos = Electrode(positive_layers or [chen2020_positive_layer()], theta_init=17038.0 / 63104.0)
    neg = Electrode([chen2020_negative_layer()], theta_init=29866.0 / 33133.0)
    return Cell(
        negative=neg,
        separator=chen2020_separator(),
        positive=pos,
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        temperature=298.15,
        v_min=2.5,
        v_max=4.2,
        area=CHEN2020_AREA,
        nominal_capacity=CHEN2020_CAPACITY,
        name="Chen2020 LG M50",
    )


def chen2020_half_cell(positive_layers: list[Layer] | None = None, i0_li: float = 10.0) -> Cell:
    """NMC811 (Chen 2020) against a lithium foil, 2.5-4.2 V; 1C = the full-cell 1C."""
    pos = Electrode(positive_layers or [chen2020_positive_layer()], theta_init=17038.0 / 63104.0)
    return Cell(
        negative=LithiumMetal(i0_ref=i0_li),
        separator=chen2020_separator(),
        positive=pos,
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        v_min=2.5,
        v_max=4.3,
        area=CHEN2020_AREA,
        nominal_capacity=CHEN2020_CAPACITY,
        name="Chen2020 NMC811 half cell",
    )


# ---------------------------------------------------------------------------------
# Yari 2020 (bilayer) NMC622 half cells
# ---------------------------------------------------------------------------------
YARI2020_ACTIVE_LOADING = 0.11  # kg/m^2 (11 mg/cm^2 of NMC622)
YARI2020_POROSITY = 0.30
YARI2020_BINDER = 0.035  # PVDF mass fraction (AM:C:B = 94:2.5:3.5 reference)
YARI2020_RADIUS = 5.0e-6  # m, NMC622 secondary particle radius (D50 ~ 10 um)


def yari2020_layer(
    carbon_fraction: float,
    active_loading: float,
    name: str = "",
    percolation=None,
    n_points: int | None = None,
) -> Layer:
    """One NMC622 layer of the Yari 2020 study: carbon fraction f_c, binder 3.5 wt%,
    30 % porosity, thickness set by the active loading [kg/m^2]; matrix conductivity
    from the calibrated percolation law
    (:data:`~electrohet.design.conductivity.YARI2020_PERCOLATION`).
    """
    from electrohet.design.conductivity import YARI2020_PERCOLATION
    from electrohet.design.formulation import Formulation
    from electrohet.materials.nmc622 import NMC622_YARI2020

    form = Formulation(
        active=1.0 - carbon_fraction - YARI2020_BINDER,
        carbon=carbon_fraction,
        binder=YARI2020_BINDER,
        active_density=NMC622_YARI2020.density,
    )
    eps_a, eps_cbd = form.volume_fractions(YARI2020_POROSITY)
    return Layer(
        material=NMC622_YARI2020,
        thickness=form.thickness_for_loading(active_loading, YARI2020_POROSITY),
        porosity=YARI2020_POROSITY,
        active_fraction=eps_a,
        cbd_fraction=1.0 - YARI2020_POROSITY - eps_a,
        particle_radius=YARI2020_RADIUS,
        carbon_mass_fraction=carbon_fraction,
        percolation=percolation or YARI2020_PERCOLATION,
        n_points=n_points,
        name=name,
    )


def yari2020_cell(
    fc_bottom: float,
    fc_top: float | None = None,
    am_share_bottom: float = 0.5,
    active_loading: float = YARI2020_ACTIVE_LOADING,
    points_per_layer: int = 10,
    percolation=None,
) -> Cell:
    """Yari 2020 NMC622 half cell (Li counter electrode, 3.0-4.3 V), one or two layers.

    Parameters
    ----------
    fc_bottom
        Carbon mass fraction of the layer at the current collector [-].
    fc_top
        Carbon mass fraction of the layer at the separator; ``None`` = single layer.
    am_share_bottom
        Share of the active loading in the bottom layer [-].
    active_loading
        Total NMC622 loading [kg/m^2].
    """
    from electrohet.materials.nmc622 import LI_METAL_DEFAULT, LIPF6_EC_EMC_YARI2020, NMC622_YARI2020

    if fc_top is None:
        layers = [
            yari2020_layer(fc_bottom, active_loading, "single", percolation, 2 * points_per_layer)
        ]
    else:
        layers = [
            yari2020_layer(
                fc_bottom, am_share_bottom * active_loading, "bottom", percolation, points_per_layer
            ),
            yari2020_layer(
                fc_top, (1 - am_share_bottom) * active_loading, "top", percolation, points_per_layer
            ),
        ]
    mat = NMC622_YARI2020
    theta_full = mat.theta_0
    # kg/m^2 x mAh/g = Ah/m^2 (the factors 1e3 g/kg and 1e-3 Ah/mAh cancel)
    one_c = active_loading * mat.specific_capacity_mAh_g(mat.theta_100, mat.theta_0)
    return Cell(
        negative=LI_METAL_DEFAULT,
        separator=Separator(thickness=25e-6, porosity=0.39, bruggeman=0.5, n_points=5),
        positive=Electrode(layers, theta_init=theta_full),
        electrolyte=LIPF6_EC_EMC_YARI2020,
        v_min=3.0,
        v_max=4.3,
        nominal_capacity=one_c,
        name=f"Yari2020 NMC622 fc={fc_bottom:g}/{fc_top if fc_top is not None else fc_bottom:g}",
    )
