"""The heterogeneous porous-electrode model (P2D-E)."""

from electrohet.model.mesh import MeshOptions
from electrohet.model.results import particle_soc_distribution
from electrohet.model.simulation import Simulation, SolverOptions

__all__ = ["MeshOptions", "Simulation", "SolverOptions", "particle_soc_distribution"]
