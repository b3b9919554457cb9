"""electrohet: heterogeneity in porous lithium-ion battery electrodes.

Simulate layered/graded electrodes and particle ensembles (``electrohet.model``),
measure heterogeneity in 3D images (``electrohet.micro``) and in measurement data
(``electrohet.analysis``), and decide designs (``electrohet.studies``).
"""

from electrohet.design import Cell, Electrode, Layer, ParticleEnsemble, Separator
from electrohet.errors import (
    ConfigError,
    DataError,
    ElectrohetError,
    ParameterError,
    ProtocolError,
    SolverError,
)
from electrohet.model import MeshOptions, Simulation, SolverOptions
from electrohet.protocols import Experiment

__version__ = "0.3.0.dev0"

__all__ = [
    "Cell",
    "Electrode",
    "Experiment",
    "Layer",
    "MeshOptions",
    "ParticleEnsemble",
    "Separator",
    "Simulation",
    "SolverOptions",
    "ConfigError",
    "DataError",
    "ElectrohetError",
    "ParameterError",
    "ProtocolError",
    "SolverError",
    "__version__",
]
