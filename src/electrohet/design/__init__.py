"""Electrode design: layers, particle ensembles, formulation and heterogeneity factor;
cells from PyBaMM parameter sets (:func:`from_pybamm`) and BPX files."""

from electrohet.design.conductivity import YARI2020_PERCOLATION, PercolationLaw
from electrohet.design.ensemble import ParticleEnsemble
from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.design.pybamm_import import from_pybamm

__all__ = [
    "YARI2020_PERCOLATION",
    "Cell",
    "Electrode",
    "Layer",
    "ParticleEnsemble",
    "PercolationLaw",
    "Separator",
    "from_pybamm",
]
