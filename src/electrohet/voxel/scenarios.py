"""The papers' microstructure-resolved scenarios on small synthetic volumes.

* :func:`zhang_cei_scenarios` (Zhang 2023): C/2 discharge to 3.5 V of a thick electrode
  without CEI, with a graded CEI (mean 3 -> 28 nm from collector to separator), with a
  twice-as-thick graded CEI, and with clogged CBD (no ion transport or reaction through
  it).  Returns capacities and the through-thickness lithiation at the end.
* :func:`sharma_formation` (Sharma 2022): first and second charge of a thin electrode
  of pristine NMC532 with SOC-dependent electronic conductivity and diffusivity, where
  particles touch the carbon network unevenly; per-particle SOC traces go through
  :func:`electrohet.analysis.optical.analyze_traces` unchanged (onsets and asynchrony).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from electrohet.voxel.simulation import Simulation, graded_film_thickness


def zhang_volume(shape=(24, 8, 8), voxel_size: float = 2e-6, seed: int = 0):
    """Thick synthetic NMC electrode (48 um at the defaults; AM ~50 %, CBD ~12 %)."""
    from electrohet.micro.generate import synthetic_electrode

    return synthetic_electrode(
        shape, voxel_size, am_fraction=0.5, cbd_fraction=0.12, radius_median_m=4e-6, seed=seed
    )


def zhang_cei_scenarios(volume=None, rate: str = "C/2", cutoff: float = 3.5, **kw) -> dict:
    """Run the four Zhang cases; return {case: Dataset} and a summary table.

    Returns
    -------
    dict
        ``{"runs": {case: Dataset}, "capacity_mAh_g": {case: float},
        "collector_bias": {case: float}}``; collector bias = mean lithium fraction gained
        by the collector half minus that gained by the separator half at the end [-].
    """
    vol = zhang_volume() if volume is None else volume
    cases = {
        "none": {},
        "CEI": {"film_thickness": lambda z: graded_film_thickness(z, 3e-9, 28e-9)},
        "thick CEI": {"film_thickness": lambda z: graded_film_thickness(z, 6e-9, 56e-9)},
        "clogged CBD": {"cbd_clogged": True},
    }
    runs, cap, bias = {}, {}, {}
    for name, opts in cases.items():
        sim = Simulation(vol, material="NMC532", **opts, **kw)
        ds = sim.solve(f"Discharge at {rate} until {cutoff} V")
        runs[name] = ds
        cap[name] = float(ds.specific_capacity[-1])
        gain = ds.theta_slab.isel(time=-1) - ds.theta_slab.isel(time=0)
        nz = gain.sizes["z"]
        bias[name] = float(
            gain.isel(z=slice(0, nz // 2)).mean() - gain.isel(z=slice(nz // 2, None)).mean()
        )
    return {"runs": runs, "capacity_mAh_g": cap, "collector_bias": bias}


def sharma_volume(r: int = 3, seed: int = 1) -> tuple[np.ndarray, dict, np.ndarray]:
    """Thin electrode: 3 x 2 x 2 AM spheres (lattice spacing 2 ``r`` voxels, touching
    through small necks), with carbon (CBD) strips from the collector to a random half of the
    particles above the first row.

    Returns the label array (z, y, x; collector at z = 0), the label map and the particle
    labels (nearest sphere centre).  First-row particles touch the collector; the
    others without carbon are wired only through their (pristine, nearly insulating)
    neighbours.
    """
    rng = np.random.default_rng(seed)
    shape = (6 * r, 4 * r, 4 * r)
    a = np.zeros(shape, dtype=np.int16)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]] + 0.5
    centres = [
        (float(zc), float(yc), float(xc))
        for zc in (r, 3 * r, 5 * r)
        for yc in (r, 3 * r)
        for xc in (r, 3 * r)
    ]
    for zc, yc, xc in centres:
        # radius^2 = (r - 1/2)^2 + 1/2: neighbours touch through a 2 x 2-voxel neck
        a[(z - zc) ** 2 + (y - yc) ** 2 + (x - xc) ** 2 <= (r - 0.5) ** 2 + 0.55] = 2
    upper = [c for c in centres if c[0] > r]
    pick = rng.choice(len(upper), size=len(upper) // 2, replace=False)
    for k in pick:
        zc, yc, xc = upper[k]
        # a one-voxel carbon column beside the particle, from the collector to its equator
        yy = 0 if yc < 2 * r else 4 * r - 1  # on the outer side (no neighbour there)
        xx = int(xc)
        col = a[: int(zc) + 1, yy, xx]
        a[: int(zc) + 1, yy, xx] = np.where(col == 2, 2, 1)
        # and a carbon patch touching the particle surface at its equator
        a[int(zc), yy, max(xx - 1, 0) : xx + 2] = np.where(
            a[int(zc), yy, max(xx - 1, 0) : xx + 2] == 2, 2, 1
        )
    cz = np.array(centres)
    d2 = sum((g[..., None] - cz[:, k]) ** 2 for k, g in enumerate((z, y, x)))
    particles = np.where(a == 2, np.argmin(d2, axis=-1) + 1, 0).astype(np.int32)
    return a, {"pore": 0, "cbd": 1, "am": 2}, particles


def particle_onsets(
    ds: xr.Dataset, step: int, n_frames: int = 200, saturation: float | None = None
):
    """Onsets of the per-particle traces within ``step`` (x = charge passed in that
    step, as a fraction of its total) via :func:`electrohet.analysis.optical.analyze_traces`.

    Parameters
    ----------
    saturation
        None: the traces are the particles' SOC.  A number s in (0, 1]: an optical-like
        signal that saturates once a particle has lost s of its lithium fraction,
        min(|theta - theta_start| / s, 1), the observable used for Sharma 2022's
        step-like intensity traces in :func:`electrohet.model.ensemble_outputs.class_onsets`
        (``examples/ensemble_formation.py`` uses s = 0.1).  The onset is where the
        trace has made half of its own change (docs/physics.md §4.6).
    """
    from electrohet.analysis.optical import analyze_traces
    from electrohet.errors import ParameterError

    seg = ds.where(ds.step == step, drop=True)
    q = np.abs(seg.capacity.values - seg.capacity.values[0])
    x = q / q[-1]
    keep = np.concatenate([[True], np.diff(x) > 0])
    x = x[keep]
    if saturation is None:
        soc = seg.particle_soc.values[keep]
    else:
        if not 0 < saturation <= 1:
            raise ParameterError(f"saturation = {saturation} must lie in (0, 1]")
        th = seg.particle_theta.values[keep]
        soc = np.minimum(np.abs(th - th[0]) / saturation, 1.0)
    grid = np.linspace(0.0, 1.0, n_frames)
    traces = np.stack([np.interp(grid, x, soc[:, k]) for k in range(soc.shape[1])], axis=1)
    return analyze_traces(traces, grid, ids=seg.particle.values, label=f"step {step}", smooth=3)


def sharma_formation(
    r: int = 3,
    rate: str = "C/10",
    saturation: float | None = 0.1,
    period: float | None = 60.0,
    **kw,
) -> dict:
    """First charge, discharge, second charge of the :func:`sharma_volume` electrode.

    The particle traces are recorded every ``period`` seconds (the integrator's dense
    output), so the onsets do not depend on where the solver happened to step.

    Returns ``{"dataset", "first", "second", "iqr_ratio", "first_soc", "second_soc",
    "iqr_ratio_soc"}``: :class:`~electrohet.analysis.optical.TraceAnalysis` results of
    the optical-like saturating signal (``saturation``, see :func:`particle_onsets`;
    None uses the SOC) and, with the ``_soc`` suffix, of the raw particle SOC.
    """
    from electrohet.materials.soc_dependent import NMC532_SOC

    a, labels, lab = sharma_volume(r)
    sim = Simulation(
        a,
        labels,
        1e-6,
        NMC532_SOC,
        theta_init=0.99,
        particle_labels=lab,
        cbd_conductivity=50.0,
        **kw,
    )
    ds = sim.solve(
        [
            f"Charge at {rate} until 4.3 V",
            f"Discharge at {rate} until 3.0 V",
            f"Charge at {rate} until 4.3 V",
        ],
        period=period,
    )
    first = particle_onsets(ds, 0, saturation=saturation)
    second = particle_onsets(ds, 2, saturation=saturation)
    first_soc = particle_onsets(ds, 0)
    second_soc = particle_onsets(ds, 2)
    return {
        "dataset": ds,
        "first": first,
        "second": second,
        "iqr_ratio": first.onset_iqr / max(second.onset_iqr, 1e-12),
        "first_soc": first_soc,
        "second_soc": second_soc,
        "iqr_ratio_soc": first_soc.onset_iqr / max(second_soc.onset_iqr, 1e-12),
    }
