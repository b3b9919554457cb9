"""Effective (homogenised) properties of a labelled volume measured with the physics of
the voxel model (:mod:`electrohet.voxel`), for its 1D counterpart.

:func:`electrohet.micro.bridge.layers_from_volume` measures geometric quantities of the
image (pore + crack porosity, pore tortuosity, watershed particle radii).  The voxel
model, however, lets ions through a nano-porous CBD (unless clogged), reacts on every
AM face touching electrolyte (AM-CBD faces weighted by the CBD porosity), conducts
electrons through AM *and* CBD with their own conductivities, and diffuses lithium in
the AM as it is, merged particles included.  :func:`effective_properties` measures, per
slab through the thickness, the effective quantities that a 1D porous-electrode model
needs with exactly those rules:

* ``porosity``: electrolyte volume fraction, pore + crack voxels plus ``cbd_porosity``
  x CBD voxels (unclogged), counting only electrolyte connected to the separator face
  (the voxel model treats the rest as inert);
* ``tortuosity``: eps / sigma_rel from a steady conduction solve on that electrolyte
  (pore and crack 1, CBD ``cbd_porosity / cbd_tortuosity``), as in
  :func:`electrohet.micro.transport.tortuosity`;
* ``conductivity``: effective electronic conductivity [S/m] of the solid (AM at
  ``am_conductivity``, CBD at ``cbd_conductivity``) from the same solve;
* ``reactive_area``: the reaction-face area of the voxel model per electrode volume
  [1/m] (face count: the voxel model's own area, staircase included), split into AM
  wired to the collector (through AM and CBD) and AM that is not;
* ``wired_am_fraction``: AM volume fraction in solid clusters touching the collector
  whose AM cluster can take lithium from the electrolyte (below);
* ``diffusion_radius``: the radius of the sphere with the same quasi-steady solid-
  diffusion deficit as the AM: a steady solve of D lap(c) = -q in the AM voxels (the
  voxel model's 3D diffusion, merged particles included) with c = 0 on the faces
  where lithium enters (faces to electrolyte) and no flux elsewhere gives a mean
  deficit <c>; a sphere of radius R under the same uniform sink has
  <c> = q R^2 / (15 D), so R = sqrt(15 D <c> / q) (D and q cancel).  AM in
  clusters with no such face cannot take lithium and counts as not wired;
* ``surface_radius``: 3 V_AM / S_AM with S_AM the AM surface (faces to any other
  phase) corrected by Cauchy-Crofton's 2/3 for the staircase (the volume-to-surface
  radius; for comparison: it ignores where the surface is covered).

All solves use Dirichlet conditions on the two faces of each slab normal to the
thickness and no flux through the side faces (the voxel model's side walls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from electrohet.errors import ParameterError, SolverError, check_range
from electrohet.micro.faces import face_slices
from electrohet.micro.transport import solve_conductivity
from electrohet.micro.volume import LabelledVolume

#: Ratio of a smooth isotropic surface's true area to its voxel-face count (Crofton).
CROFTON = 2.0 / 3.0


@dataclass(frozen=True)
class PhaseProperties:
    """Phase-level physics of the voxel model (defaults: those of
    :class:`electrohet.voxel.Simulation`).

    Parameters
    ----------
    cbd_porosity
        Nano-porosity of the CBD [-].
    cbd_tortuosity
        Tortuosity factor of the CBD's nano-pores [-].
    cbd_conductivity
        Electronic conductivity of the CBD [S/m].
    am_conductivity
        Electronic conductivity of the active material [S/m].
    cbd_clogged
        True: no electrolyte (and no reaction) in the CBD.
    """

    cbd_porosity: float = 0.5
    cbd_tortuosity: float = 2.0
    cbd_conductivity: float = 10.0
    am_conductivity: float = 0.18
    cbd_clogged: bool = False

    def __post_init__(self) -> None:
        check_range("cbd_porosity", self.cbd_porosity, 0, 1, low_inclusive=False)
        check_range("cbd_tortuosity", self.cbd_tortuosity, 1)
        check_range("cbd_conductivity", self.cbd_conductivity, 0, low_inclusive=False)
        check_range("am_conductivity", self.am_conductivity, 0, low_inclusive=False)


def _phase_array(volume: LabelledVolume) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(oriented phase array 0 pore/crack, 1 CBD, 2 AM, 3 other; voxel edges (z, y, x))."""
    vol = volume.compute()
    data = np.asarray(vol.oriented())
    lab = vol.labels
    if "am" not in lab:
        raise ParameterError(f"{vol.source}: the label map {lab} has no 'am' phase")
    phase = np.full(data.shape, 3, dtype=np.int8)
    for name in ("pore", "crack"):
        if name in lab:
            phase[data == lab[name]] = 0
    if "cbd" in lab:
        phase[data == lab["cbd"]] = 1
    phase[data == lab["am"]] = 2
    vs = list(vol.voxel_size)
    ax = vol.thickness_axis
    vs[0], vs[ax] = vs[ax], vs[0]
    return phase, (float(vs[0]), float(vs[1]), float(vs[2]))


def _connected_to(mask: np.ndarray, z_index: int) -> np.ndarray:
    """Voxels of ``mask`` 6-connected to the plane z = ``z_index``."""
    from scipy import ndimage

    lab, _ = ndimage.label(mask, structure=ndimage.generate_binary_structure(3, 1))
    keep = np.unique(lab[z_index][lab[z_index] > 0])
    return np.isin(lab, keep)


def _faces(a: np.ndarray, b: np.ndarray, h: tuple[float, float, float]) -> np.ndarray:
    """Area [m^2] of the faces between ``a`` and ``b`` voxels, per voxel of ``a``."""
    out = np.zeros(a.shape)
    area = (h[1] * h[2], h[0] * h[2], h[0] * h[1])
    for d, lo_t, hi_t in face_slices():
        out[lo_t] += area[d] * (a[lo_t] & b[hi_t])
        out[hi_t] += area[d] * (a[hi_t] & b[lo_t])
    return out


def _diffusion_deficit(
    am: np.ndarray, entry: np.ndarray, h: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Steady deficit c [m^2] of lap(c) = -1 in the AM (D = 1, q = 1) with c = 0 on the
    entry faces (half a voxel from the centre) and no flux elsewhere.

    Returns ``(c, reachable)``: c per voxel (NaN outside the solve) and the AM voxels
    whose 6-connected AM cluster has at least one entry face.
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    from scipy import ndimage

    lab, _ = ndimage.label(am, structure=ndimage.generate_binary_structure(3, 1))
    g_entry = np.zeros(am.shape)
    area = (h[1] * h[2], h[0] * h[2], h[0] * h[1])
    for d, lo_t, hi_t in face_slices():
        g = area[d] / (0.5 * h[d])
        g_entry[lo_t] += g * (am[lo_t] & entry[hi_t])
        g_entry[hi_t] += g * (am[hi_t] & entry[lo_t])
    fed = np.unique(lab[g_entry > 0])
    reachable = np.isin(lab, fed[fed > 0])
    c = np.full(am.shape, np.nan)
    n = int(reachable.sum())
    if n == 0:
        return c, reachable
    idx = np.full(am.shape, -1, dtype=np.int64)
    idx[reachable] = np.arange(n)
    diag = g_entry[reachable].copy()
    rows, cols, vals = [], [], []
    for d, lo_t, hi_t in face_slices():
        a, b = idx[lo_t], idx[hi_t]
        m = (a >= 0) & (b >= 0)
        a, b = a[m], b[m]
        g = area[d] / h[d]
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(a.size, -g), np.full(a.size, -g)]
        diag += np.bincount(a, minlength=n) * g + np.bincount(b, minlength=n) * g
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    rhs = np.full(n, h[0] * h[1] * h[2])
    if n < 60000:
        x = spla.spsolve(A.tocsc(), rhs)
    else:
        from electrohet.micro.amg import AggregationAMG

        amg = AggregationAMG(A, np.argwhere(reachable))
        x, info = spla.cg(A, rhs, rtol=1e-8, maxiter=2000, M=amg.aslinearoperator())
        if info != 0:
            raise SolverError("solid-diffusion deficit: CG did not converge in 2000 iterations")
    c[reachable] = x
    return c, reachable


def _slab_conductivity(sigma: np.ndarray, h: tuple[float, float, float]) -> float:
    """Effective conductivity through axis 0 [units of ``sigma``] of a slab."""
    smax = float(sigma.max())
    if smax <= 0:
        return 0.0
    res = solve_conductivity(sigma / smax, 0, h)
    return float(res["sigma_eff_rel"]) * smax


def effective_properties(
    volume: LabelledVolume, n_layers: int = 1, phases: PhaseProperties | None = None
) -> list[dict]:
    """Effective properties of ``n_layers`` slabs, collector first (see the module).

    Parameters
    ----------
    volume
        Labelled volume (pore, CBD, AM, crack; other labels are inert).
    n_layers
        Number of slabs of (nearly) equal thickness [-].
    phases
        The voxel model's phase physics (default :class:`PhaseProperties`).

    Returns
    -------
    list of dict
        Per slab: ``thickness_m`` [m], ``porosity`` [-] (electrolyte volume fraction as
        the voxel model stores salt), ``am_fraction`` [-], ``wired_am_fraction`` [-],
        ``cbd_fraction`` [-] (CBD solid, i.e. CBD voxels minus their electrolyte),
        ``tortuosity`` [-] (``inf`` when the electrolyte does not cross the slab),
        ``conductivity`` [S/m] (0 when the solid does not cross it),
        ``reactive_area`` and ``reactive_area_isolated`` [1/m] (reaction-face area of
        wired / not wired AM per slab volume), ``diffusion_radius_m`` [m] (of the
        wired AM in the slab; ``nan`` without any), ``surface_radius_m`` [m] (``nan``
        without AM surface).
    """
    p = phases or PhaseProperties()
    phase, h = _phase_array(volume)
    nz = phase.shape[0]
    if not isinstance(n_layers, int) or n_layers < 1 or n_layers > nz:
        raise ParameterError(f"n_layers = {n_layers!r}; allowed: integer in [1, {nz}]")
    am, cbd = phase == 2, phase == 1
    elyte = (phase == 0) | (cbd & (not p.cbd_clogged))
    elyte = _connected_to(elyte, nz - 1)  # inert pockets are no electrolyte
    deficit, reachable = _diffusion_deficit(am, elyte, h)
    wired = am & _connected_to(am | cbd, 0) & reachable
    e_weight = np.where(phase == 1, p.cbd_porosity, 1.0) * elyte
    e_sigma = np.where(phase == 1, p.cbd_porosity / p.cbd_tortuosity, 1.0) * elyte
    s_sigma = np.where(am, p.am_conductivity, 0.0) + np.where(cbd, p.cbd_conductivity, 0.0)
    # reaction faces weighted as in electrohet.voxel.geometry (AM-CBD x cbd_porosity)
    r_area = _faces(am, elyte & (phase == 0), h) + p.cbd_porosity * _faces(
        am, elyte & (phase == 1), h
    )
    surface = _faces(am, ~am, h)
    vvox = h[0] * h[1] * h[2]
    edges = np.linspace(0, nz, n_layers + 1).round().astype(int)
    out = []
    for i in range(n_layers):
        sl = slice(int(edges[i]), int(edges[i + 1]))
        n_vox = phase[sl].size
        vslab = n_vox * vvox
        eps = float(e_weight[sl].sum() / n_vox)
        sig_e = _slab_conductivity(e_sigma[sl], h)
        s_am = float(surface[sl][am[sl]].sum())
        v_am = float(am[sl].sum()) * vvox
        c_mean = float(np.mean(deficit[sl][wired[sl]])) if wired[sl].any() else float("nan")
        am_frac = float(am[sl].mean())
        cbd_frac = float(cbd[sl].mean())
        cbd_e = float((cbd[sl] & elyte[sl]).mean()) * p.cbd_porosity
        out.append(
            {
                "thickness_m": (edges[i + 1] - edges[i]) * h[0],
                "porosity": eps,
                "am_fraction": am_frac,
                "wired_am_fraction": float(wired[sl].mean()),
                "cbd_fraction": cbd_frac - cbd_e,
                "tortuosity": eps / sig_e if sig_e > 0 else float("inf"),
                "conductivity": _slab_conductivity(s_sigma[sl], h),
                "reactive_area": float(r_area[sl][wired[sl]].sum()) / vslab,
                "reactive_area_isolated": float(r_area[sl][am[sl] & ~wired[sl]].sum()) / vslab,
                "diffusion_radius_m": float(np.sqrt(15.0 * c_mean)),
                "surface_radius_m": 3.0 * v_am / (CROFTON * s_am) if s_am > 0 else float("nan"),
            }
        )
    return out
