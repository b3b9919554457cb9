"""One-call analysis of a labelled volume: fractions, profiles, CBD connectivity, contact
area, particle statistics, tortuosity (diffusive, geometric, flow), permeability and
pore size distribution.  The pieces live in small modules:
:mod:`~electrohet.micro.fractions`, :mod:`~electrohet.micro.connectivity`,
:mod:`~electrohet.micro.contact`, :mod:`~electrohet.micro.particles`,
:mod:`~electrohet.micro.transport`, :mod:`~electrohet.micro.lean`,
:mod:`~electrohet.micro.geometric`, :mod:`~electrohet.micro.flow`,
:mod:`~electrohet.micro.pore_size`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from electrohet.micro.connectivity import ComponentStats, component_stats
from electrohet.micro.contact import contact_area, specific_contact_area
from electrohet.micro.fractions import crack_fraction, label_counts, phase_fractions, profiles
from electrohet.micro.volume import LabelledVolume

__all__ = [
    "ComponentStats",
    "analyze",
    "component_stats",
    "contact_area",
    "crack_fraction",
    "label_counts",
    "phase_fractions",
    "profiles",
    "specific_contact_area",
]


def analyze(
    volume: LabelledVolume,
    *,
    connectivity: int = 26,
    particles: bool = True,
    tortuosity: bool = True,
    validate: bool = True,
    geometric: bool = False,
    pore_size: bool = False,
    flow: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """All scalar metrics of a volume as a JSON-friendly dict.

    Particle segmentation and tortuosity need the volume in memory; set ``particles``
    and ``tortuosity`` to False for volumes larger than memory (the remaining metrics
    run chunk by chunk).  ``geometric`` (shortest-path tortuosity), ``pore_size``
    (local-thickness distribution) and ``flow`` (Stokes permeability and flow
    tortuosity) are off by default; transport metrics use the electrolyte-filled
    phases (pore and crack).  A phase set without a path between the faces gives
    ``None`` values with ``percolating: false`` and a message in ``warnings``.
    ``progress`` is called with the name of each step before it starts.

    Returns
    -------
    dict
        ``shape``, ``voxel_size_m``, ``fractions``, ``crack_fraction``, ``cbd`` (component
        statistics), ``am_cbd_contact`` (faces, Crofton-corrected and per AM volume) and,
        if requested, ``tortuosity`` and ``particles`` summaries; ``profiles`` holds the
        arrays (not JSON) and is returned separately under ``_profiles``.
    """
    step = progress or (lambda _name: None)
    if validate:
        volume.validate()
    step("fractions")
    counts = label_counts(volume)
    n = sum(counts.values())
    out: dict[str, Any] = {
        "source": volume.source,
        "shape": list(volume.shape),
        "voxel_size_m": list(volume.voxel_size),
        "labels": dict(volume.labels),
        "fractions": {k: v / n for k, v in counts.items()},
        "crack_fraction": crack_fraction(volume, counts) if "crack" in volume.labels else None,
    }
    out["warnings"] = []
    if "cbd" in volume.labels:
        step("cbd connectivity")
        out["cbd"] = component_stats(volume, "cbd", connectivity).as_dict()
    if "cbd" in volume.labels and "am" in volume.labels:
        step("contact area")
        faces = contact_area(volume, "am", "cbd", "faces")
        am_vol = counts["am"] * volume.voxel_volume
        out["am_cbd_contact"] = {
            "area_faces_m2": faces,
            "area_crofton_m2": faces * 2 / 3,
            "per_am_volume_faces_1_m": faces / am_vol if am_vol else float("nan"),
            "per_am_volume_crofton_1_m": faces * 2 / 3 / am_vol if am_vol else float("nan"),
            "note": "face counting overestimates smooth isotropic interfaces by 3/2; "
            "the Crofton value multiplies by 2/3",
        }
    phases = [p for p in ("pore", "crack") if p in volume.labels]
    if (tortuosity or geometric or flow) and "pore" in volume.labels:
        mem = volume.compute()
        data = np.asarray(mem.data)
        electrolyte = np.isin(data, [mem.labels[p] for p in phases])
        axis = mem.thickness_axis
        if tortuosity:
            step("tortuosity")
            out["tortuosity"] = _diffusive(mem, electrolyte, phases, out["warnings"])
        if geometric:
            step("geometric tortuosity")
            from electrohet.micro.geometric import geometric_tortuosity

            if electrolyte.any() and electrolyte.shape[axis] > 1:
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    g = geometric_tortuosity(electrolyte, axis, spacing=mem.voxel_size)
                out["geometric_tortuosity"] = {"phases": phases, **g.as_dict()}
                out["warnings"] += [str(x.message) for x in w]
        if flow:
            step("flow")
            from electrohet.micro.flow import stokes_flow

            if electrolyte.all():
                # between the mirror planes nothing resists the flow (stokes_flow
                # refuses it: unbounded permeability)
                out["flow"] = None
                out["warnings"].append("no solid voxels: permeability unbounded, flow not computed")
            elif electrolyte.any():
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    f = stokes_flow(electrolyte, axis, spacing=mem.voxel_size)
                out["flow"] = {"phases": phases, **f.as_dict()}
                out["warnings"] += [str(x.message) for x in w]
            else:
                out["flow"] = None
                out["warnings"].append("no pore voxels: flow not computed")
        del data, electrolyte
    if pore_size and "pore" in volume.labels and counts.get("pore", 0) > 0:
        step("pore size")
        from electrohet.micro.pore_size import pore_size_distribution

        out["pore_size"] = pore_size_distribution(volume, "pore")
    step("profiles")
    out["_profiles"] = profiles(volume)
    if particles and "am" in volume.labels and counts["am"] > 0:
        step("particles")
        from electrohet.micro.particles import lognormal_radius_fit, particle_table

        tab = particle_table(volume, connectivity=connectivity)
        r_med, r_sig = lognormal_radius_fit(tab)
        out["particles"] = {
            "n": len(tab),
            "radius_median_m": r_med,
            "radius_log_sigma": r_sig,
            "connected_share": float(tab["connected_to_collector"].mean()),
            "mean_cbd_coverage": float(tab["cbd_coverage"].mean()),
        }
        out["_particle_table"] = tab
    return out


def _diffusive(volume: LabelledVolume, mask: np.ndarray, phases: list[str], notes: list) -> dict:
    """Diffusive tortuosity of the electrolyte phases: the sparse CG-AMG solver up to
    8 Mvoxel (faster there, nothing to compile), the lean solver above
    (:func:`~electrohet.micro.estimate.tortuosity_solver`)."""
    from electrohet.micro.estimate import tortuosity_solver
    from electrohet.micro.transport import tortuosity as _tau

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if tortuosity_solver(mask.size) == "lean":
            from electrohet.micro.lean import lean_tortuosity

            res = lean_tortuosity(mask, volume.thickness_axis, volume.voxel_size)
        else:
            res = _tau(volume, phases)
    msgs = [str(x.message) for x in w]
    notes += msgs
    d = {"phases": phases, **res.as_dict()}
    for k, v in list(d.items()):
        if isinstance(v, float) and not math.isfinite(v):
            d[k] = None
    d["percolating"] = bool(res.sigma_eff_rel > 0)
    d["warning"] = msgs[0] if msgs else None
    return d
