"""Voxel-resolved electrochemistry on a labelled 3D electrode volume (the papers' "4D" model).

:class:`Simulation` runs PyBaMM-style experiments on a :mod:`electrohet.micro` volume
with the kinetics and materials of :mod:`electrohet.model`; see ``docs/voxel.md``.
"""

from electrohet.voxel.simulation import Simulation, VoxelSolverOptions, graded_film_thickness

__all__ = ["Simulation", "VoxelSolverOptions", "graded_film_thickness"]
