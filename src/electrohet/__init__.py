"""electrohet: heterogeneity in porous lithium-ion battery electrodes.

Simulate layered/graded electrodes and particle ensembles (``electrohet.model``),
measure heterogeneity in 3D images (``electrohet.micro``) and in measurement data
(``electrohet.analysis``), and decide designs (``electrohet.studies``).
"""

from electrohet.errors import (
    ConfigError,
    DataError,
    ElectrohetError,
    ParameterError,
    ProtocolError,
    SolverError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "ElectrohetError",
    "ParameterError",
    "ProtocolError",
    "SolverError",
    "__version__",
]
