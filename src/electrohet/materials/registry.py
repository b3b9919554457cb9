"""Look up parameter sets by name.

Names are case-sensitive and stable; :func:`list_materials` gives them all.  Each entry
is a zero-argument factory so that importing the registry stays cheap and every caller
gets the module-level (immutable) record.
"""

from __future__ import annotations

from collections.abc import Callable

from electrohet.errors import ParameterError
from electrohet.materials.base import ActiveMaterial


def _nmc811_chen2020() -> ActiveMaterial:
    from electrohet.materials.chen2020 import NMC811_CHEN2020

    return NMC811_CHEN2020


def _graphite_chen2020() -> ActiveMaterial:
    from electrohet.materials.chen2020 import GRAPHITE_CHEN2020

    return GRAPHITE_CHEN2020


def _nmc622_yari2020() -> ActiveMaterial:
    from electrohet.materials.nmc622 import NMC622_YARI2020

    return NMC622_YARI2020


def _nmc532() -> ActiveMaterial:
    from electrohet.materials.nmc532 import NMC532

    return NMC532


def _lto() -> ActiveMaterial:
    from electrohet.materials.lto import LTO

    return LTO


_REGISTRY: dict[str, Callable[[], ActiveMaterial]] = {
    "NMC811_Chen2020": _nmc811_chen2020,
    "graphite_Chen2020": _graphite_chen2020,
    "NMC622_Yari2020": _nmc622_yari2020,
    "NMC532": _nmc532,
    "LTO": _lto,
}


def list_materials() -> list[str]:
    """Names accepted by :func:`get_material`, sorted."""
    return sorted(_REGISTRY)


def get_material(name: str) -> ActiveMaterial:
    """Return the active-material parameter set called ``name``.

    Parameters
    ----------
    name
        One of :func:`list_materials` (e.g. ``"NMC622_Yari2020"``).

    Raises
    ------
    ParameterError
        If ``name`` is unknown; the message lists the allowed names.
    """
    try:
        factory = _REGISTRY[name]
    except (KeyError, TypeError):
        allowed = ", ".join(list_materials())
        raise ParameterError(f"material = {name!r} is unknown; allowed: {allowed}") from None
    return factory()
