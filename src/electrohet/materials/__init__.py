"""Materials: active materials, electrolytes, lithium metal and named parameter sets.

Parameter sets (each module documents its sources):

- :mod:`~electrohet.materials.chen2020` - NMC811, graphite-SiOx, LiPF6 EC:EMC (Chen 2020,
  Nyman 2008)
- :mod:`~electrohet.materials.nmc622` - NMC622 for Yari 2020 half cells, Li metal default
- :mod:`~electrohet.materials.nmc532` - NMC532 (Mohtat 2020 OCP)
- :mod:`~electrohet.materials.lto` - Li4Ti5O12 (1.55 V plateau)

A whole cell from a PyBaMM parameter set: :func:`electrohet.design.from_pybamm`.
"""

from electrohet.materials.base import ActiveMaterial, Electrolyte, LithiumMetal, constant
from electrohet.materials.registry import get_material, list_materials

__all__ = [
    "ActiveMaterial",
    "Electrolyte",
    "LithiumMetal",
    "constant",
    "get_material",
    "list_materials",
]
