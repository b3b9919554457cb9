"""Cells of the Yari 2020 designs under a rate study's mechanisms.

:func:`yari2020_cell_factory` builds the NMC622 half cell of a
:class:`~electrohet.design.yari2020.LayerDesign` and switches on the carbon-dependent
mechanisms of :class:`~electrohet.studies.settings.Mechanisms` with the constants of
:class:`~electrohet.studies.settings.CalibratedParameters` (``None`` = the frozen
single-layer calibration, :func:`electrohet.calibrations.yari2020.from_frozen`).
"""

from __future__ import annotations

from electrohet.calibrations.yari2020 import from_frozen
from electrohet.design.layer import Cell
from electrohet.design.yari2020 import LayerDesign
from electrohet.studies.settings import StudySettings

__all__ = ["yari2020_cell_factory"]


def _calibrated(key: str) -> float:
    return from_frozen("yari2020_single_layer").params[key]


def yari2020_cell_factory(design: LayerDesign, settings: StudySettings) -> Cell:
    """NMC622 half cell of Yari 2020 for ``design`` (see :func:`yari2020_cell`)."""
    from electrohet.design.conductivity import (
        YARI2020_BULK,
        YARI2020_PERCOLATION,
        InterfaceResistanceLaw,
    )
    from electrohet.design.presets import yari2020_cell

    cell = yari2020_cell(
        design.fc_bottom,
        design.fc_top if design.layered else None,
        design.am_share_bottom,
        points_per_layer=settings.points_per_layer,
        percolation=YARI2020_PERCOLATION if settings.through_plane_limited else YARI2020_BULK,
    )
    changes: dict = {"v_min": settings.v_min, "v_max": settings.v_max}
    if settings.wiring:
        changes["positive"] = _wired(cell.positive, settings)
    if settings.interface:
        r_ref = settings.interface_resistance_ref
        if r_ref is None:
            r_ref = _calibrated("interface_resistance_ref")
        t = settings.interface_exponent
        if t is None:
            t = _calibrated("interface_exponent")
        law = InterfaceResistanceLaw(r_ref, exponent=t)
        # the layer touching the foil is the first of the electrode (design order)
        fc_foil = cell.positive.layers[0].carbon_mass_fraction
        assert fc_foil is not None  # a Yari 2020 layer always has its carbon fraction
        changes["contact_resistance"] = law(fc_foil)
    return cell.with_(**changes)


def _wired(electrode, settings: StudySettings):
    """Layers with contact-path classes from their carbon fraction and SOC-dependent sigma_AM."""
    from electrohet.design.distributions import ContactPaths, build_ensemble
    from electrohet.design.layer import Electrode
    from electrohet.materials.soc_dependent import with_soc_dependence

    layers = []
    for lay in electrode.layers:
        constriction = settings.constriction
        if constriction is None:
            constriction = _calibrated("constriction")
        contact = ContactPaths.from_carbon_fraction(
            lay.carbon_mass_fraction,
            diameter=2 * lay.particle_radius,
            constriction=constriction,
        )
        ens = build_ensemble(
            lay.particle_radius, contact=contact, n_contact=settings.wiring_classes
        )
        layers.append(lay.with_(material=with_soc_dependence(lay.material), ensemble=ens))
    return Electrode(layers, electrode.theta_init)
