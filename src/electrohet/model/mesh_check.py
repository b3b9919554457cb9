"""Is the particle radial mesh fine enough?  A cheap refinement estimate (issue 27).

The capacity of a discharge (or charge) ends when a particle surface reaches the end of
its lithium window; how far the particle interior lags behind the surface sets how much
capacity is left unused, and the radial finite volumes must resolve that lag.  Where the
solid diffusivity falls by decades inside the window (ORegan 2022 sets span three), the
lag is a thin surface layer that a few uniform shells cannot resolve: at 20 shells the
1C capacity of ORegan2022 is 1.65 % off the 80-shell result (as measured in issue 27;
that set is not in electrohet, so it is not among the figures below).

The estimate solves one representative particle per layer and material alone: the
largest particle radius R of the layer, the material's diffusivity D_s(theta), a uniform
surface flux that moves its mean lithium fraction across the window theta_100 ->
theta_0 of the material (discharge; the reverse on charge; not the electrode's own
initial theta) at the largest C-rate of the experiment's current steps in that
direction, and the same spherical
finite volumes as the P2D-E model (uniform shells, face diffusivity at the mean face
concentration, surface value by linear extrapolation from the two outer shells).  The
capacity fraction q(N) delivered until the surface reaches the window end is computed
with the mesh's N shells and with 2N and 4N shells; Richardson extrapolation with the
observed order p (1 to 2), |q(N) - q(4N)| 4^p / (4^p - 1) / q(4N), estimates the
capacity error of the mesh against a converged one.  Above
:data:`CAPACITY_TOLERANCE` (0.5 %) :class:`~electrohet.model.simulation.Simulation`
warns (:class:`~electrohet.errors.MeshWarning`, a ``UserWarning``) and keeps the text
in ``Dataset.attrs["mesh_warnings"]``.

Numbers (1C discharge, radius and window of the Chen2020 presets): NMC811 (D_s = 4e-15
m^2/s, constant) 0.03 % at 20 shells, 0.12 % at 10; graphite-SiOx (3.3e-14 m^2/s)
0.004 % at 20 shells.  An NMC811 whose D_s falls log-linearly by three decades across
the window (1e-13 -> 1e-16 m^2/s): estimate 12.9 % at 10 shells, 7.0 % at 20; the full
Chen2020 cell with that positive delivers 38.24, 35.60, 34.10, 33.30 Ah/m^2 at 10, 20,
40, 80 shells (14.8 % and 6.9 % above the 80-shell value).  The cell capacity is
limited by one electrode, and the particles near the separator carry more than the
mean flux, so this is a likely error, not a bound.  It costs about 0.1 s per layer and
rate, once per solve (cached).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import diags

from electrohet.design.layer import Cell, Electrode
from electrohet.materials.base import ActiveMaterial

#: Capacity error [fraction] above which a radial mesh is reported as too coarse.
CAPACITY_TOLERANCE = 5e-3
#: The reference mesh has this many times the shells of the checked one.
REFINEMENT = 4
#: The largest ``radial_points`` a warning suggests outright [-].
MAX_SUGGESTED = 200


def particle_capacity(
    material: ActiveMaterial, radius: float, n_r: int, c_rate: float, discharge: bool = True
) -> float:
    """Fraction of the lithium window one particle delivers until its surface is at the end.

    Parameters
    ----------
    material
        The active material (its ``diffusivity`` D_s(theta) [m^2/s], ``theta_0``,
        ``theta_100``).
    radius
        Particle radius R [m].
    n_r
        Uniform radial shells N [-].
    c_rate
        Rate [1/h]: a uniform surface flux moves the mean lithium fraction across the
        window |theta_0 - theta_100| in 1/c_rate hours.
    discharge
        ``True``: from theta_100 towards theta_0; ``False``: the reverse.

    Returns
    -------
    float
        Capacity fraction q in (0, 1] [-] (1 when the surface reaches the window end only
        as the mean does; NaN if the particle solve fails).
    """
    return _particle_capacity(material, float(radius), int(n_r), float(c_rate), bool(discharge))


@lru_cache(maxsize=256)
def _particle_capacity(
    material: ActiveMaterial, radius: float, n_r: int, c_rate: float, discharge: bool
) -> float:
    th_start, th_end = (
        (material.theta_100, material.theta_0)
        if discharge
        else (material.theta_0, material.theta_100)
    )
    width = abs(th_end - th_start)
    sgn = 1.0 if th_end > th_start else -1.0
    t_rate = 3600.0 / c_rate  # [s] per window
    h = 1.0 / n_r
    x = np.linspace(0.0, 1.0, n_r + 1)  # faces, r / R
    vol = (x[1:] ** 3 - x[:-1] ** 3) / 3.0
    area = x[1:-1] ** 2
    k = t_rate / radius**2 / h  # dimensionless time s = t / t_rate
    inflow = sgn * width / 3.0  # moves 3 sum(vol theta) by sgn * width per unit s

    def rhs(_s: float, th: np.ndarray) -> np.ndarray:
        th_face = np.clip(0.5 * (th[1:] + th[:-1]), 0.0, 1.0)
        flux = area * k * np.asarray(material.diffusivity(th_face), dtype=float) * np.diff(th)
        d = np.zeros_like(th)
        d[:-1] += flux
        d[1:] -= flux
        d[-1] += inflow
        return d / vol

    def surface_at_end(_s: float, th: np.ndarray) -> float:
        return sgn * (th_end - (1.5 * th[-1] - 0.5 * th[-2]))

    surface_at_end.terminal = True  # type: ignore[attr-defined]
    pattern = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n_r, n_r), dtype=float)
    with np.errstate(all="ignore"):  # a failed solve is reported as NaN, not warned
        sol = solve_ivp(
            rhs,
            (0.0, 1.0),
            np.full(n_r, th_start),
            method="BDF",
            events=surface_at_end,
            jac_sparsity=pattern,
            rtol=1e-8,
            atol=1e-10,
        )
    if sol.status == -1 or not np.all(np.isfinite(sol.y[:, -1])):
        return math.nan
    if sol.t_events[0].size:
        return float(sol.t_events[0][0])
    return 1.0


def capacity_error(
    material: ActiveMaterial, radius: float, n_r: int, c_rate: float, discharge: bool = True
) -> float:
    """Estimated relative capacity error [-] of ``n_r`` shells against the converged
    particle.

    Richardson extrapolation of q(N), q(2N), q(4N) (see :func:`particle_capacity`)
    with the observed order p = log2(|q(N) - q(2N)| / |q(2N) - q(4N)|), clipped to
    [1, 2] (1: a diffusivity spanning decades; 2: a constant D_s):
    error = |q(N) - q(4N)| 4^p / (4^p - 1) / q(4N).
    """
    return _error_and_order(material, radius, n_r, c_rate, discharge)[0]


def _error_and_order(
    material: ActiveMaterial, radius: float, n_r: int, c_rate: float, discharge: bool
) -> tuple[float, float]:
    """:func:`capacity_error` and the observed order p [-]."""
    q = particle_capacity(material, radius, n_r, c_rate, discharge)
    q2 = particle_capacity(material, radius, 2 * n_r, c_rate, discharge)
    q4 = particle_capacity(material, radius, REFINEMENT * n_r, c_rate, discharge)
    d1, d2 = abs(q - q2), abs(q2 - q4)
    p = 1.0 if d2 <= 0.0 or d1 <= 0.0 else min(2.0, max(1.0, math.log2(d1 / d2)))
    gain = 4.0**p / (4.0**p - 1.0)
    return abs(q - q4) * gain / q4, p


def mesh_warnings(cell: Cell, n_r: int, rates: dict[bool, float]) -> list[str]:
    """Warnings for the layers whose radial mesh likely misses the capacity by > 0.5 %.

    Parameters
    ----------
    cell
        The cell; each layer is checked with its largest particle radius.
    n_r
        Radial shells of the mesh [-].
    rates
        Largest C-rate [1/h] per direction (``True``: discharge, ``False``: charge).

    Returns
    -------
    list of str
        One text per layer and direction above :data:`CAPACITY_TOLERANCE`, naming the
        material, the layer, the shells, the rate and the shells to set.
    """
    out = []
    for region in ("negative", "positive"):
        electrode = getattr(cell, region)
        if not isinstance(electrode, Electrode):
            continue
        for layer in electrode.layers:
            radius = float(np.max(layer.particles.radius))
            for discharge, rate in rates.items():
                if rate <= 0:
                    continue
                err, order = _error_and_order(layer.material, radius, n_r, rate, discharge)
                if not err > CAPACITY_TOLERANCE:  # within tolerance, or no estimate (NaN)
                    continue
                n_ok = _shells_needed(err, order, n_r)
                name = layer.name or region
                out.append(
                    f"{layer.material.name} ({region} layer {name!r}, R = "
                    f"{radius * 1e6:.3g} um): {n_r} radial shells likely put the "
                    f"{rate:.3g}C {'discharge' if discharge else 'charge'} capacity "
                    f"{100 * err:.3g} % off ({_span_text(layer.material)}); set "
                    f"MeshOptions(radial_points={min(n_ok, MAX_SUGGESTED)}) or more"
                    + (
                        f" (the estimate asks for {n_ok}: the particle is diffusion-"
                        "limited at this rate)"
                        if n_ok > MAX_SUGGESTED
                        else ""
                    )
                )
    return out


def _span_text(material: ActiveMaterial) -> str:
    """The decades spanned by D_s(theta) over the material's window, in words."""
    lo, hi = sorted((material.theta_0, material.theta_100))
    d = np.asarray(material.diffusivity(np.linspace(lo, hi, 101)), dtype=float)
    d = np.broadcast_to(d, (101,))
    decades = float(math.log10(np.max(d) / np.min(d)))
    if decades < 0.05:
        return f"D_s = {float(d[0]):.3g} m^2/s"
    return f"D_s spans {decades:.2g} decades over its window"


def _shells_needed(err: float, order: float, n_r: int) -> int:
    """Shells for an error below the tolerance, the error falling as 1/N^order (order 1
    where the diffusivity spans decades: 12.9, 7.0, 3.3 % at 10, 20, 40 shells for the
    3-decade material of the tests; 2 for a constant D_s), rounded up to a multiple
    of 10."""
    return int(10 * math.ceil(n_r * (err / CAPACITY_TOLERANCE) ** (1.0 / order) / 10))
