"""Bridge from a measured/synthetic volume to layer properties for the cell model.

:func:`layers_from_volume` cuts the volume into slabs along the thickness axis and
returns plain dicts (no dependency on :mod:`electrohet.design`).
"""

from __future__ import annotations

import warnings

import numpy as np

from electrohet.errors import ParameterError
from electrohet.micro.fractions import phase_fractions
from electrohet.micro.particles import lognormal_radius_fit, particle_table, segment_particles
from electrohet.micro.transport import NonPercolatingWarning, tortuosity
from electrohet.micro.volume import LabelledVolume


def layers_from_volume(
    volume: LabelledVolume,
    n_layers: int = 1,
    *,
    pore_phases: tuple[str, ...] = ("pore", "crack"),
    segment: bool = True,
    min_distance: int = 3,
) -> list[dict]:
    """Per-layer properties along the thickness axis, collector first.

    Parameters
    ----------
    volume
        Labelled volume (in memory or Dask; it is computed slab by slab).
    n_layers
        Number of slabs of (nearly) equal thickness.
    pore_phases
        Phases that carry electrolyte for the tortuosity (cracks are electrolyte
        filled); phases missing from the label map are skipped.
    segment
        Segment particles per slab to fit the radius distribution (in memory).

    Returns
    -------
    list of dict
        Keys: ``thickness_m``, ``porosity`` (pore + crack), ``am_fraction``,
        ``cbd_fraction``, ``crack_fraction``, ``tortuosity`` (pore phases along the
        thickness, ``inf`` if not percolating), ``radius_median_m``,
        ``radius_log_sigma``, ``n_particles``.
    """
    n = volume.shape[volume.thickness_axis]
    if not isinstance(n_layers, int) or n_layers < 1 or n_layers > n:
        raise ParameterError(f"n_layers = {n_layers!r}; allowed: integer in [1, {n}]")
    edges = np.linspace(0, n, n_layers + 1).round().astype(int)
    phases = [p for p in pore_phases if p in volume.labels]
    out = []
    h = volume.voxel_size[volume.thickness_axis]
    for i in range(n_layers):
        a, b = int(edges[i]), int(edges[i + 1])
        if not volume.collector_at_start:
            a, b = n - b, n - a
        sl = [slice(None)] * 3
        sl[volume.thickness_axis] = slice(a, b)
        sub = volume.subvolume(tuple(sl)).compute()
        fr = phase_fractions(sub)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonPercolatingWarning)
            tau = tortuosity(sub, phases).tau if phases else float("nan")
        r_med, r_sig, n_p = float("nan"), float("nan"), 0
        if segment and fr.get("am", 0) > 0:
            lab = segment_particles(sub, min_distance=min_distance)
            tab = particle_table(sub, lab)
            n_p = len(tab)
            r_med, r_sig = lognormal_radius_fit(tab)
        am, cr = fr.get("am", 0.0), fr.get("crack", 0.0)
        out.append(
            {
                "thickness_m": (b - a) * h,
                "porosity": sum(fr.get(p, 0.0) for p in phases),
                "am_fraction": am,
                "cbd_fraction": fr.get("cbd", 0.0),
                "crack_fraction": cr / (am + cr) if am + cr > 0 else 0.0,
                "tortuosity": float(tau),
                "radius_median_m": r_med,
                "radius_log_sigma": r_sig,
                "n_particles": n_p,
            }
        )
    return out
