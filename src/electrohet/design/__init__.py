"""Electrode design: layers, particle ensembles, formulation and heterogeneity factor."""

from electrohet.design.conductivity import YARI2020_PERCOLATION, PercolationLaw
from electrohet.design.ensemble import ParticleEnsemble
from electrohet.design.layer import Cell, Electrode, Layer, Separator

__all__ = [
    "YARI2020_PERCOLATION",
    "Cell",
    "Electrode",
    "Layer",
    "ParticleEnsemble",
    "PercolationLaw",
    "Separator",
]
