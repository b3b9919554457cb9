"""One-call analysis of a labelled volume: fractions, profiles, CBD connectivity, contact
area, particle statistics and tortuosity.  The pieces live in small modules:
:mod:`~electrohet.micro.fractions`, :mod:`~electrohet.micro.connectivity`,
:mod:`~electrohet.micro.contact`, :mod:`~electrohet.micro.particles`,
:mod:`~electrohet.micro.transport`.
"""

from __future__ import annotations

import warnings
from typing import Any

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
) -> dict[str, Any]:
    """All scalar metrics of a volume as a JSON-friendly dict.

    Particle segmentation and tortuosity need the volume in memory; set ``particles``
    and ``tortuosity`` to False for volumes larger than memory (the remaining metrics
    run chunk by chunk).

    Returns
    -------
    dict
        ``shape``, ``voxel_size_m``, ``fractions``, ``crack_fraction``, ``cbd`` (component
        statistics), ``am_cbd_contact`` (faces, Crofton-corrected and per AM volume) and,
        if requested, ``tortuosity`` and ``particles`` summaries; ``profiles`` holds the
        arrays (not JSON) and is returned separately under ``_profiles``.
    """
    if validate:
        volume.validate()
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
    if "cbd" in volume.labels:
        out["cbd"] = component_stats(volume, "cbd", connectivity).as_dict()
    if "cbd" in volume.labels and "am" in volume.labels:
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
    if tortuosity and "pore" in volume.labels:
        from electrohet.micro.transport import NonPercolatingWarning
        from electrohet.micro.transport import tortuosity as _tau

        phases = [p for p in ("pore", "crack") if p in volume.labels]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always", NonPercolatingWarning)
            res = _tau(volume, phases)
        out["tortuosity"] = {
            "phases": phases,
            **res.as_dict(),
            "warning": str(w[0].message) if w else None,
        }
    out["_profiles"] = profiles(volume)
    if particles and "am" in volume.labels and counts["am"] > 0:
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
