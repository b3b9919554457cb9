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
