"""Two-level (block) tortuosity for volumes larger than memory.

The volume is cut into blocks (the Dask chunks, or ``block``-sized boxes of an
in-memory array) that become the cells of a coarse tensor-product grid (cell sizes =
block sizes, so blocks that do not divide the shape are handled exactly); a coarse
resistor network over the blocks is solved with the same boundary conditions as the
full problem (potential 1 and 0 on the two end faces, no flux through the sides), its
flux gives ``sigma_eff`` (relative to the bulk conductivity), and ``tau = eps /
sigma_eff`` with the phase fraction ``eps`` of the whole volume, the definition of the
full solvers (:func:`~electrohet.micro.transport.tortuosity`, TauFactor).  Only one
local window is in memory per worker.  The network's conductances come from local
steady diffusion solves (:func:`~electrohet.micro.lean.lean_tortuosity`: Dirichlet on
the two window faces normal to the gradient, no flux on the others) in one of two ways:

``method="faces"`` (default; transmissibility upscaling): the coarse unknowns are the
blocks' pore-averaged potentials, and every block face gets its own conductance ``T =
Q / (u_a - u_b)``: the flux through the face divided by the drop between the averaged
potentials of the two blocks it separates, from one local solve across the face on a
window holding a row of ``span`` blocks plus ``halo`` voxels on every side
(:func:`face_transmissibilities`; the end faces against the volume's own Dirichlet
faces likewise).  The coupling of two blocks is measured across their face, so pore
paths that wander from one block into the next count, and the error falls with the halo
towards the coarse network's own (a chain of blocks through one window is exact: the
series sum of ``1/T`` telescopes to ``1/Q``).

``method="blocks"`` (the earlier aggregation, kept for comparison): every block gets a
diagonal conductivity tensor, ``sigma_d`` from a solve along ``d`` on the block (or
on a window ``halo`` voxels larger, measured in its inner part:
:func:`block_conductivities_oversampled`), and neighbours are joined by ``A / (L_i /
(2 sigma_i) + L_j / (2 sigma_j))`` (harmonic face mean, exact for layers in series and
parallel).  With blocks of ~10 filter widths it is biased high (+4 to +6 %)
whatever the halo: two block conductivities measured apart do not give the coupling
across their face.

Confidence interval: a bootstrap over the measured values (faces: each direction's
face conductances and the blocks' phase fractions drawn with replacement, blocks: the
blocks' conductivities and phase fraction together), laid out at random, coarse
network solved again; the 2.5 and 97.5 % quantiles of ``tau`` are ``tau_ci95``.  It is
the spread that the finite sample implies for a volume of this size, not the method's
bias.  ``docs/micro.md`` lists the measured agreement with the full solve.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import DataError, ParameterError
from electrohet.micro.transport import NonPercolatingWarning
from electrohet.micro.volume import LabelledVolume, is_dask

MIN_BLOCK = 8


class TwoLevelAccuracyWarning(UserWarning):
    """The refined (Schwarz) two-level value stopped before its error target."""


@dataclass
class TwoLevelResult:
    """Result of :func:`two_level_tortuosity` (all quantities dimensionless).

    Attributes
    ----------
    tau
        Tortuosity factor from the coarse solve, ``eps / sigma_eff_rel`` (``inf`` if no
        path).
    sigma_eff_rel, eps
        Effective conductivity relative to the bulk conductivity, and phase fraction of
        the whole volume.
    tau_ci95
        ``(low, high)``: 2.5 and 97.5 % quantiles of ``tau`` over ``n_bootstrap``
        bootstrap resamples of the blocks (``(nan, nan)`` without resamples).
    block_sigma_median, block_sigma_p2_5, block_sigma_p97_5
        Median and 2.5/97.5 % percentiles of the block conductivities along ``axis``
        (relative, non-conducting blocks included as 0).
    block_tau_median, block_tau_p2_5, block_tau_p97_5
        The same for the blocks' own tortuosity ``eps_b / sigma_b`` (``inf`` for a
        non-conducting block).
    n_blocks, blocks_percolating
        Number of blocks and how many conduct along ``axis``.
    n_bootstrap
        Number of bootstrap resamples behind ``tau_ci95``.
    axis, seconds
        Gradient axis; wall time (s).
    block_sigma
        Array (nb0, nb1, nb2, 3) of block conductivities along (z, y, x) (``"faces"``:
        implied by the block's face conductances, :func:`face_conductivities`; NaN
        along an axis without faces), and ``block_eps`` (nb0, nb1, nb2) of block phase
        fractions.
    transmissibilities
        ``"faces"`` only: ``(trans, t_in, t_out)`` as taken by
        :func:`network_conductivity` (conductivity x length), else ``None``.
    method
        The method used.
    sweeps, error_estimate, converged, sweep_sigma
        ``"schwarz"`` only: sweeps done, the estimated remaining relative error of
        ``sigma_eff_rel`` when they stopped, whether it reached ``schwarz_rtol``, and
        ``sigma_eff_rel`` after the first coarse correction and every sweep (falling
        to the full solve's value).  ``tau_ci95`` is then the blocks' bootstrap
        spread, centred on the refined value.
    """

    tau: float
    sigma_eff_rel: float
    eps: float
    tau_ci95: tuple[float, float]
    block_sigma_median: float
    block_sigma_p2_5: float
    block_sigma_p97_5: float
    block_tau_median: float
    block_tau_p2_5: float
    block_tau_p97_5: float
    n_blocks: int
    blocks_percolating: int
    n_bootstrap: int
    axis: int
    seconds: float
    block_sigma: np.ndarray = field(repr=False, default=None)
    block_eps: np.ndarray = field(repr=False, default=None)
    transmissibilities: tuple | None = field(repr=False, default=None)
    method: str = "faces"
    sweeps: int = 0
    error_estimate: float = math.nan
    converged: bool = True
    sweep_sigma: list[float] = field(repr=False, default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly summary (``None`` for inf/NaN, plus ``percolating``)."""
        out = {}
        for k, v in self.__dict__.items():
            if k in ("block_sigma", "block_eps", "transmissibilities", "sweep_sigma"):
                continue
            if isinstance(v, tuple):
                v = [None if not math.isfinite(x) else float(x) for x in v]
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            out[k] = v
        out["percolating"] = self.sigma_eff_rel > 0
        return out


def block_conductivities(
    mask: np.ndarray, spacing: Sequence[float], axes: Sequence[int] = (0, 1, 2)
) -> np.ndarray:
    """Conductivities of one block along its axes, and its phase fraction.

    Parameters
    ----------
    mask
        3D boolean block (True = conducting).
    spacing
        Voxel edges (z, y, x), any length unit (only their ratios matter).
    axes
        Axes along which to solve; the others are left NaN (for a coarse grid one block
        wide along them, where no conductance along that axis exists).

    Returns
    -------
    numpy.ndarray
        ``[sigma_z, sigma_y, sigma_x, eps]``: effective conductivities relative to the
        bulk conductivity (0 where the block does not conduct along that axis, NaN
        where not solved) and the phase fraction, all dimensionless.
    """
    from electrohet.micro.lean import lean_tortuosity

    out = np.zeros(4)
    out[[d for d in range(3) if d not in axes]] = np.nan
    m = np.asarray(mask, dtype=bool)
    out[3] = m.mean() if m.size else 0.0
    if not m.any():
        return out
    for d in axes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonPercolatingWarning)
            r = lean_tortuosity(m, d, spacing, warn=False)
        out[d] = r.sigma_eff_rel
    return out


def block_conductivities_oversampled(
    ext: np.ndarray,
    lo: Sequence[int],
    size: Sequence[int],
    spacing: Sequence[float],
    axes: Sequence[int] = (0, 1, 2),
) -> np.ndarray:
    """Like :func:`block_conductivities`, measured inside a larger window (oversampling).

    The diffusion problem along ``d`` is solved on the window ``ext`` (the block with a
    halo); the block's conductivity along ``d`` is ``sigma_d = q (n_d - 1) h_d / (A
    du)``, with ``q`` the flux through the block's interior planes normal to ``d``
    (averaged over its ``n_d - 1`` planes), ``du`` the drop of the pore-averaged
    potential between its first and last planes and ``A`` its cross-section, so the
    block's own faces no longer sever pore paths.

    Parameters
    ----------
    ext
        3D boolean window (True = conducting) containing the block.
    lo, size
        Offset of the block in the window and its size (voxels per axis).
    spacing
        Voxel edges (z, y, x), any length unit (only their ratios matter).
    axes
        Axes along which to solve (the others are NaN), as in
        :func:`block_conductivities`.

    Returns
    -------
    numpy.ndarray
        ``[sigma_z, sigma_y, sigma_x, eps]`` of the block (dimensionless; ``eps`` is
        the block's own phase fraction).
    """
    from electrohet.micro.lean import lean_tortuosity

    m = np.asarray(ext, dtype=bool)
    inner = tuple(slice(int(a), int(a) + int(b)) for a, b in zip(lo, size, strict=True))
    out = np.zeros(4)
    out[[d for d in range(3) if d not in axes]] = np.nan
    out[3] = m[inner].mean()
    if not m[inner].any():
        return out
    h = np.asarray(spacing, dtype=float)
    h = h / h.min()
    for d in axes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonPercolatingWarning)
            r = lean_tortuosity(m, d, spacing, warn=False, return_potential=True)
        if r.sigma_eff_rel <= 0:
            continue
        u = np.moveaxis(r.potential[inner], d, 0).astype(np.float64)
        nd = u.shape[0]
        if nd < 3:
            continue
        o = [i for i in range(3) if i != d]
        g = h[o[0]] * h[o[1]] / h[d]
        # flux through every interior plane of the inner part, averaged (the flux
        # through one plane alone varies from plane to plane: the halo exchanges flux
        # with the inner part through its sides)
        jump = u[:-1] - u[1:]
        q = g * float(np.where(np.isfinite(jump), jump, 0.0).sum()) / (nd - 1)
        first, last = u[0], u[-1]
        if not (np.isfinite(first).any() and np.isfinite(last).any()):
            continue
        du = float(np.nanmean(first) - np.nanmean(last))
        if du <= 0 or q <= 0:
            continue
        area = u.shape[1] * h[o[0]] * u.shape[2] * h[o[1]]
        out[d] = q * (nd - 1) * h[d] / (area * du)
    return out


def face_transmissibilities(
    ext: np.ndarray,
    d: int,
    lo: Sequence[int],
    size: Sequence[int],
    cuts: Sequence[int],
    spacing: Sequence[float],
    *,
    inlet: bool = False,
    outlet: bool = False,
) -> tuple[np.ndarray, float, float]:
    """Coarse transmissibilities of the block faces normal to ``d`` in one window.

    The diffusion problem along ``d`` is solved on the window ``ext`` (Dirichlet ``u =
    1`` / ``u = 0`` on its two faces normal to ``d``, no flux through the others;
    :func:`~electrohet.micro.lean.lean_tortuosity`).  The window holds a row of blocks
    along ``d`` (``cuts``) plus a halo.  Between two neighbouring blocks ``a`` and ``b``
    the transmissibility is ``T = Q / (u_a - u_b)``: the flux ``Q`` through their
    shared face (over the blocks' cross-section) divided by the drop between the
    pore-averaged potentials of the two blocks.  When the window starts (ends) on the
    volume's end face (``inlet`` / ``outlet``), that face is the window's own Dirichlet
    face and its transmissibility to the first (last) block is ``Q / (1 - u_a)`` (``Q /
    u_a``).  With block-averaged potentials as the coarse unknowns, ``T`` is the
    conductance of the coarse resistor network (transmissibility upscaling): it
    measures the coupling of two blocks directly, across their face, instead of
    combining two separately measured block conductivities.

    Parameters
    ----------
    ext
        3D boolean window (True = conducting).
    d
        Axis normal to the faces (the gradient axis of the local solve).
    lo, size
        Offset in the window and size (voxels per axis) of the row of blocks.
    cuts
        Block boundaries along ``d`` relative to ``lo[d]``: ``0, n_1, n_1 + n_2, ...,
        size[d]``.
    spacing
        Voxel edges (z, y, x), in the length unit of the coarse cell lengths.
    inlet, outlet
        The window's first (last) face along ``d`` is the volume's end face: also return
        the end transmissibility there.

    Returns
    -------
    tuple
        ``(T, T_in, T_out)``: the ``len(cuts) - 2`` interior transmissibilities and the
        two end ones (NaN unless requested), in (bulk conductivity) x length; 0 where a
        face does not conduct.
    """
    from electrohet.micro.lean import lean_tortuosity

    m = np.asarray(ext, dtype=bool)
    cuts = [int(c) for c in cuts]
    nt = len(cuts) - 2
    t = np.zeros(nt)
    t_in = 0.0 if inlet else math.nan
    t_out = 0.0 if outlet else math.nan
    inner = tuple(slice(int(a), int(a) + int(b)) for a, b in zip(lo, size, strict=True))
    if (inlet and lo[d] != 0) or (outlet and lo[d] + size[d] != m.shape[d]):
        raise ParameterError("an end face must be the window's own face along d")
    if not m[inner].any():
        return t, t_in, t_out
    h = np.asarray(spacing, dtype=float)
    o = [i for i in range(3) if i != d]
    g = h[o[0]] * h[o[1]] / h[d]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonPercolatingWarning)
        r = lean_tortuosity(m, d, spacing, warn=False, return_potential=True)
    if r.sigma_eff_rel <= 0:
        return t, t_in, t_out
    u = np.moveaxis(r.potential[inner], d, 0)
    del r
    means = []
    for c0, c1 in zip(cuts[:-1], cuts[1:], strict=True):
        blk = u[c0:c1]
        fin = np.isfinite(blk)
        means.append(float(blk[fin].astype(np.float64).mean()) if fin.any() else math.nan)
    for q in range(nt):
        c = cuts[q + 1]
        jump = u[c - 1].astype(np.float64) - u[c]
        flux = g * float(jump[np.isfinite(jump)].sum())
        du = means[q] - means[q + 1]
        if flux > 0 and du > 0:  # NaN (a block without percolating voxels) fails too
            t[q] = flux / du
    # the Dirichlet value sits on the outer voxel face, half a voxel from the centres
    if inlet:
        face = u[0].astype(np.float64)
        flux = 2.0 * g * float((1.0 - face[np.isfinite(face)]).sum())
        du = 1.0 - means[0]
        t_in = flux / du if flux > 0 and du > 0 else 0.0
    if outlet:
        face = u[-1].astype(np.float64)
        flux = 2.0 * g * float(face[np.isfinite(face)].sum())
        du = means[-1]
        t_out = flux / du if flux > 0 and du > 0 else 0.0
    return t, t_in, t_out


def network_conductivity(
    trans: Sequence[np.ndarray],
    t_in: np.ndarray,
    t_out: np.ndarray,
    lengths: Sequence[np.ndarray],
    axis: int = 0,
) -> float:
    """Effective conductivity of a coarse resistor network given its face conductances.

    Nodes are the cells of a tensor-product grid (n0, n1, n2); potential 1 and 0 are
    imposed on the two end faces normal to ``axis`` through the end conductances, the
    other sides are closed.  Nodes not connected to an end face are left out.

    Parameters
    ----------
    trans
        Three arrays: conductances between neighbouring cells along (z, y, x), shapes
        (n0-1, n1, n2), (n0, n1-1, n2), (n0, n1, n2-1), in conductivity x length.
    t_in, t_out
        Conductances of the cells on the first and last layer along ``axis`` to the end
        faces (the grid's shape without ``axis``).
    lengths
        Three arrays of cell edges along (z, y, x), one length unit.
    axis
        Axis of the potential drop.

    Returns
    -------
    float
        Effective conductivity along ``axis`` (0 if no path), in the conductivity unit
        of the conductances.
    """
    ls = [np.asarray(v, dtype=float) for v in lengths]
    nb = tuple(v.size for v in ls)
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    n = int(np.prod(nb))
    idx = np.arange(n).reshape(nb)
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for d in range(3):
        t = np.asarray(trans[d], dtype=float)
        want = tuple(nb[k] - 1 if k == d else nb[k] for k in range(3))
        if t.shape != want:
            raise DataError(f"conductances along axis {d} have shape {t.shape}, need {want}")
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[d] = slice(0, -1)
        hi[d] = slice(1, None)
        a, b = idx[tuple(lo)].ravel(), idx[tuple(hi)].ravel()
        g = np.where(np.isfinite(t) & (t > 0), t, 0.0).ravel()
        rows += [a, b]
        cols += [b, a]
        vals += [-g, -g]
        diag += np.bincount(a, weights=g, minlength=n) + np.bincount(b, weights=g, minlength=n)
    face_shape = tuple(nb[k] for k in range(3) if k != axis)
    gin = np.asarray(t_in, dtype=float).reshape(face_shape)
    gout = np.asarray(t_out, dtype=float).reshape(face_shape)
    gin = np.where(np.isfinite(gin) & (gin > 0), gin, 0.0).ravel()
    gout = np.where(np.isfinite(gout) & (gout > 0), gout, 0.0).ravel()
    ii = np.take(idx, 0, axis=axis).ravel()
    io = np.take(idx, nb[axis] - 1, axis=axis).ravel()
    np.add.at(diag, ii, gin)
    np.add.at(diag, io, gout)
    rhs = np.zeros(n)
    np.add.at(rhs, ii, gin)
    from scipy.sparse.csgraph import connected_components

    r_all = np.concatenate(rows)
    c_all = np.concatenate(cols)
    v_all = np.concatenate(vals)
    nz = v_all != 0
    adj = sp.csr_matrix((np.ones(int(nz.sum())), (r_all[nz], c_all[nz])), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    # keep the cells connected to a Dirichlet face (others carry no flux and would make
    # the matrix singular)
    bc = np.zeros(n, dtype=bool)
    bc[ii[gin > 0]] = True
    bc[io[gout > 0]] = True
    keep = np.isin(comp, np.unique(comp[bc]))
    if not keep.any():
        return 0.0
    A = sp.csr_matrix(
        (
            np.concatenate([v_all, diag]),
            (np.concatenate([r_all, np.arange(n)]), np.concatenate([c_all, np.arange(n)])),
        ),
        shape=(n, n),
    )
    A = A[keep][:, keep]
    u = np.zeros(n)
    u[keep] = spla.spsolve(A.tocsc(), rhs[keep])
    flux = float(np.sum(gout * u[io]))
    other = [k for k in range(3) if k != axis]
    cross = float(ls[other[0]].sum() * ls[other[1]].sum())
    return flux * float(ls[axis].sum()) / cross


def coarse_conductivity(sigma: np.ndarray, lengths: Sequence[np.ndarray], axis: int = 0) -> float:
    """Effective conductivity of a coarse grid of cells with diagonal conductivities.

    Finite-volume resistor network on a tensor-product grid: potential 1 and 0 on the
    two faces normal to ``axis``, no flux through the others.  Two neighbouring cells
    along ``d`` are joined by ``A / (L_i / (2 sigma_i) + L_j / (2 sigma_j))`` (their
    half cells in series; 0 when either conductivity is 0), a cell on an end face by
    ``2 sigma_i A / L_i``.  Exact for layered media (series and parallel layers).
    Cells not connected to an end face carry no flux and are left out.

    Parameters
    ----------
    sigma
        Array (n0, n1, n2, 3): conductivity of every cell along (z, y, x), any unit.
    lengths
        Three arrays of cell edges along (z, y, x) (n0, n1 and n2 values, one length
        unit).
    axis
        Axis of the imposed potential drop.

    Returns
    -------
    float
        Effective conductivity along ``axis`` in the unit of ``sigma`` (0 if no path).
    """
    sig = np.asarray(sigma, dtype=float)
    if sig.ndim != 4 or sig.shape[3] != 3:
        raise DataError(f"sigma must have shape (n0, n1, n2, 3), got {sig.shape}")
    ls = [np.asarray(v, dtype=float) for v in lengths]
    if [v.size for v in ls] != list(sig.shape[:3]):
        raise DataError(f"lengths {[v.size for v in ls]} do not match the grid {sig.shape[:3]}")
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    t_in, t_out, trans = harmonic_transmissibilities(sig, ls, axis)
    return network_conductivity(trans, t_in, t_out, ls, axis)


def harmonic_transmissibilities(
    sigma: np.ndarray, lengths: Sequence[np.ndarray], axis: int = 0
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Face conductances of a coarse grid from cell conductivities (half cells in series).

    Parameters
    ----------
    sigma
        Array (n0, n1, n2, 3): conductivity of every cell along (z, y, x).
    lengths
        Three arrays of cell edges along (z, y, x), one length unit.
    axis
        Axis of the potential drop (where the end conductances are).

    Returns
    -------
    tuple
        ``(t_in, t_out, trans)`` as taken by :func:`network_conductivity`:
        ``A / (L_i / (2 sigma_i) + L_j / (2 sigma_j))`` between neighbours (0 when either
        is 0) and ``2 sigma A / L`` to the end faces.
    """
    sig = np.asarray(sigma, dtype=float)
    L = np.meshgrid(*[np.asarray(v, dtype=float) for v in lengths], indexing="ij")
    area = [L[1] * L[2], L[0] * L[2], L[0] * L[1]]
    trans = []
    for d in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[d] = slice(0, -1)
        hi[d] = slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        s_a, s_b = sig[..., d][lo], sig[..., d][hi]
        ok = (s_a > 0) & (s_b > 0)
        res = L[d][lo] / (2 * np.where(ok, s_a, 1.0)) + L[d][hi] / (2 * np.where(ok, s_b, 1.0))
        trans.append(np.where(ok, area[d][lo] / res, 0.0))
    end = 2 * sig[..., axis] * area[axis] / L[axis]
    t_in = np.take(end, 0, axis=axis)
    t_out = np.take(end, sig.shape[axis] - 1, axis=axis)
    return t_in, t_out, trans


def face_conductivities(
    trans: Sequence[np.ndarray],
    t_in: np.ndarray,
    t_out: np.ndarray,
    lengths: Sequence[np.ndarray],
    axis: int = 0,
) -> np.ndarray:
    """Block conductivities implied by face transmissibilities (for reporting).

    A face between cells ``a`` and ``b`` along ``d`` with transmissibility ``T`` acts as
    a conductivity ``T (L_a + L_b) / (2 A)`` over the distance between the cell centres
    (an end face: ``T L_a / (2 A)`` over half a cell); a block's conductivity along
    ``d`` is the harmonic mean of its faces' values (0 if one of them is 0), NaN along
    an axis without faces.

    Parameters
    ----------
    trans, t_in, t_out, lengths, axis
        As for :func:`network_conductivity`.

    Returns
    -------
    numpy.ndarray
        Array (n0, n1, n2, 3) of conductivities along (z, y, x), relative to the bulk.
    """
    ls = [np.asarray(v, dtype=float) for v in lengths]
    nb = tuple(v.size for v in ls)
    L = np.meshgrid(*ls, indexing="ij")
    area = [L[1] * L[2], L[0] * L[2], L[0] * L[1]]
    out = np.full((*nb, 3), np.nan)
    for d in range(3):
        inv = np.zeros(nb)
        cnt = np.zeros(nb)
        if nb[d] > 1:
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[d] = slice(0, -1)
            hi[d] = slice(1, None)
            lo, hi = tuple(lo), tuple(hi)
            sf = np.asarray(trans[d], float) * (L[d][lo] + L[d][hi]) / (2 * area[d][lo])
            r = np.where(sf > 0, 1.0 / np.where(sf > 0, sf, 1.0), np.inf)
            inv[lo] += r
            inv[hi] += r
            cnt[lo] += 1
            cnt[hi] += 1
        if d == axis:
            for t, q in ((t_in, 0), (t_out, nb[d] - 1)):
                sl = [slice(None)] * 3
                sl[d] = slice(q, q + 1)
                sl = tuple(sl)
                sf = np.expand_dims(np.asarray(t, float), d) * L[d][sl] / (2 * area[d][sl])
                inv[sl] += np.where(sf > 0, 1.0 / np.where(sf > 0, sf, 1.0), np.inf)
                cnt[sl] += 1
        with np.errstate(divide="ignore", invalid="ignore"):
            out[..., d] = np.where(cnt > 0, cnt / inv, np.nan)
    return out


def bootstrap_tau_faces(
    trans: Sequence[np.ndarray],
    t_in: np.ndarray,
    t_out: np.ndarray,
    eps: np.ndarray,
    lengths: Sequence[np.ndarray],
    axis: int = 0,
    *,
    n: int = 200,
    seed: int | None = 0,
) -> np.ndarray:
    """Bootstrap the coarse tortuosity over the face transmissibilities.

    Each resample draws every interior face's transmissibility along ``d`` with
    replacement from the measured faces along ``d``, the end faces from the measured
    end faces, and the blocks' phase fractions from the blocks; lays them out at random
    and solves the network (:func:`network_conductivity`).  Uniform cell lengths are
    assumed for the draw (a remainder block's faces are drawn like the others).

    Parameters
    ----------
    trans, t_in, t_out, lengths, axis
        As for :func:`network_conductivity`.
    eps
        Array (n0, n1, n2) of block phase fractions.
    n
        Number of resamples.
    seed
        Seed of the random generator (``None``: fresh entropy).

    Returns
    -------
    numpy.ndarray
        ``n`` tortuosity factors (dimensionless; ``inf`` for a resample without path).
    """
    rng = np.random.default_rng(seed)
    e = np.asarray(eps, dtype=float)
    vol = np.einsum("i,j,k->ijk", *[np.asarray(v, dtype=float) for v in lengths])
    ends = np.concatenate([np.ravel(t_in), np.ravel(t_out)])
    out = np.empty(n)
    for t in range(n):
        tr = [
            rng.choice(np.ravel(a), np.shape(a)) if np.size(a) else np.asarray(a, float)
            for a in trans
        ]
        ti = rng.choice(ends, np.shape(t_in))
        to = rng.choice(ends, np.shape(t_out))
        pick = rng.integers(0, e.size, e.size)
        e_t = float((e.ravel()[pick].reshape(e.shape) * vol).sum() / vol.sum())
        rel = network_conductivity(tr, ti, to, lengths, axis)
        out[t] = e_t / rel if rel > 0 else math.inf
    return out


def bootstrap_tau(
    sigma: np.ndarray,
    eps: np.ndarray,
    lengths: Sequence[np.ndarray],
    axis: int = 0,
    *,
    n: int = 200,
    seed: int | None = 0,
) -> np.ndarray:
    """Bootstrap the coarse tortuosity over the blocks.

    Each resample draws as many blocks as the grid has, with replacement (a block keeps
    its three conductivities and its phase fraction together), lays them out at random
    on the coarse grid, and solves the coarse network (:func:`coarse_conductivity`);
    ``tau = eps* / sigma*`` with the volume-weighted phase fraction ``eps*`` of the
    resample.

    Parameters
    ----------
    sigma
        Array (n0, n1, n2, 3) of block conductivities along (z, y, x), relative.
    eps
        Array (n0, n1, n2) of block phase fractions.
    lengths
        Three arrays of block edges along (z, y, x), one length unit.
    axis
        Axis of the potential drop.
    n
        Number of resamples.
    seed
        Seed of the random generator (``None``: fresh entropy).

    Returns
    -------
    numpy.ndarray
        ``n`` tortuosity factors (dimensionless; ``inf`` for a resample without path).
    """
    sig = np.asarray(sigma, dtype=float)
    e = np.asarray(eps, dtype=float)
    nb = sig.shape[:3]
    vol = np.einsum("i,j,k->ijk", *[np.asarray(v, dtype=float) for v in lengths])
    flat_s = sig.reshape(-1, 3)
    flat_e = e.ravel()
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    for t in range(n):
        pick = rng.integers(0, flat_e.size, flat_e.size)
        s_t = flat_s[pick].reshape(*nb, 3)
        e_t = float((flat_e[pick].reshape(nb) * vol).sum() / vol.sum())
        rel = coarse_conductivity(s_t, lengths, axis)
        out[t] = e_t / rel if rel > 0 else math.inf
    return out


def two_level_tortuosity(
    volume: LabelledVolume | np.ndarray,
    phases: str | Sequence[str] = "pore",
    axis: int | None = None,
    *,
    block: int | Sequence[int] | None = None,
    spacing: Sequence[float] | None = None,
    num_workers: int = 1,
    halo: int | None = None,
    method: str = "schwarz",
    span: int | None = 2,
    progress: bool = False,
    warn: bool = True,
    n_bootstrap: int = 200,
    seed: int | None = 0,
    schwarz_rtol: float = 5e-3,
    max_sweeps: int = 12,
) -> TwoLevelResult:
    """Tortuosity factor by the two-level block method.

    ``method="schwarz"`` (default) solves the full voxel problem window by window
    (:func:`~electrohet.micro.schwarz.schwarz_conductivity`: two-level multiplicative
    Schwarz, the blocks as coarse aggregates, windows of block + ``halo``) until the
    estimated remaining error of ``sigma_eff`` is below ``schwarz_rtol``: it converges
    to the full solve (from below in ``tau``), with the fine potential held at 4
    B/voxel (in RAM, or a temporary memory-mapped file for Dask data) and one window
    solved at a time.  The blocks' own conductivities (no halo) give the spread and the
    bootstrap interval.  The coarse-network estimates (a module docstring subject)
    keep an error of their own: ``"faces"`` (one transmissibility per block face,
    :func:`face_transmissibilities`) or ``"blocks"`` (one diagonal conductivity tensor
    per block combined by harmonic face means), each followed by a coarse
    resistor-network solve over the blocks; their confidence interval is a bootstrap
    over the measured values (:func:`bootstrap_tau_faces`, :func:`bootstrap_tau`).

    Parameters
    ----------
    volume
        :class:`LabelledVolume` (Dask-backed: the chunks are the blocks) or a boolean
        array (True = conducting).
    phases
        Conducting phase name(s) for a labelled volume.
    axis
        Axis of the gradient (default: thickness axis, or 0).
    block
        Block edge(s) in voxels; required for in-memory data, ignored for Dask data
        (rechunk first).  Blocks that do not divide the shape leave smaller blocks at
        the far ends, which the coarse grid handles exactly.  Blocks should span at
        least ~10 filter widths of the pore structure (``docs/micro.md``).
    spacing
        Voxel edges (z, y, x), any length unit (only their ratios matter); default the
        volume's voxel size, or 1.
    num_workers
        Dask threads for the block solves (each holds one window in memory).
    halo
        ``"schwarz"``: the overlap of the windows (voxels added to each block on every
        side; default a quarter of the largest block edge, at least 4).  ``"faces"``
        and ``"blocks"``: oversampling, every local solve runs on a window ``halo``
        voxels larger than its block(s) on every side (clipped at the volume) and is
        measured in the inner part, so the window's closed sides and Dirichlet ends
        sit away from the faces measured.  Default: the largest block edge for
        ``"faces"`` (the error falls with the halo towards the coarse network's own;
        with blocks of ~10 filter widths half an edge left +4 to +5 %, a whole edge
        +2 %: ``docs/micro.md``), 0 for ``"blocks"``.
    method
        ``"schwarz"`` (the full solve by domain decomposition, default),
        ``"faces"`` (transmissibility upscaling: cheaper per block solve, but the
        coarse network's error stays: +2 % at porosity 0.35, +6 to +12 % near the
        percolation threshold with blocks of ~10 filter widths) or ``"blocks"`` (the
        earlier block conductivities; biased high whatever the halo).
    span
        ``"faces"`` only: blocks per local window along the face normal (2: pairs of
        blocks, the smallest windows; 0 or ``None``: the whole row of blocks through the
        volume, fewer but longer solves).  Memory per worker: the window,
        ``(span b + 2 halo) (b + 2 halo)^2`` voxels at about 11 B each (lean solver)
        plus 4 B for its potential.
    progress
        Show a progress bar over the blocks.
    warn
        Warn when the coarse problem does not percolate.
    n_bootstrap
        Bootstrap resamples of the blocks for ``tau_ci95`` (0: none).
    seed
        Seed of the bootstrap's random generator.
    schwarz_rtol
        ``"schwarz"``: stop when the estimated remaining relative error of
        ``sigma_eff`` is below it.
    max_sweeps
        ``"schwarz"``: at most this many sweeps over the windows.

    Returns
    -------
    TwoLevelResult
        ``tau`` (dimensionless), ``sigma_eff_rel``, ``tau_ci95`` and the block spread.
    """
    t0 = time.perf_counter()
    if isinstance(volume, LabelledVolume):
        names = [phases] if isinstance(phases, str) else list(phases)
        labs = [volume.require(p) for p in names]
        data = volume.data
        h = tuple(volume.voxel_size if spacing is None else spacing)
        axis = volume.thickness_axis if axis is None else axis
    else:
        data = volume
        labs = None
        h = tuple((1.0, 1.0, 1.0) if spacing is None else spacing)
        axis = 0 if axis is None else axis
    if getattr(data, "ndim", None) != 3:
        raise DataError(f"volume must be 3D, got shape {getattr(data, 'shape', None)}")
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    if method not in ("schwarz", "faces", "blocks"):
        raise ParameterError(f"method = {method!r}; allowed: 'schwarz', 'faces', 'blocks'")
    if halo is None:
        halo = 0
        if method in ("faces", "schwarz"):
            if is_dask(data):
                b_max = max(max(c) for c in data.chunks)
            else:
                b_max = max(block) if isinstance(block, Sequence) else block
            b_max = int(b_max) if b_max else 0
            halo = b_max if method == "faces" else max(4, b_max // 4)
    if halo < 0:
        raise ParameterError(f"halo = {halo!r} must be >= 0 voxels")
    shape = tuple(int(v) for v in data.shape)
    if is_dask(data):
        chunks = [tuple(int(c) for c in cs) for cs in data.chunks]
    else:
        if block is None:
            raise ParameterError("block (voxels) is required for an in-memory volume")
        b = (block,) * 3 if isinstance(block, int) else tuple(int(v) for v in block)
        if len(b) != 3 or min(b) < 1:
            raise ParameterError(f"block = {block!r} must be one or three positive integers")
        chunks = [
            tuple([b[d]] * (shape[d] // b[d]) + ([shape[d] % b[d]] if shape[d] % b[d] else []))
            for d in range(3)
        ]
    small = [(d, min(c)) for d, c in enumerate(chunks) if min(c) < MIN_BLOCK]
    if small:
        d, c = small[0]
        raise ParameterError(
            f"block edge along axis {d} is {c} voxels (chunks {chunks[d]} for shape "
            f"{shape}); every block needs >= {MIN_BLOCK} voxels per axis: choose a block "
            "size that divides the shape or leaves a remainder of at least that"
        )
    offsets = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]
    nb = tuple(len(c) for c in chunks)
    # a coarse grid one block wide along an axis has no conductance along it: solve
    # only the axes the coarse network uses (a column through the thickness: 1 of 3)
    axes = tuple(d for d in range(3) if nb[d] > 1 or d == axis)

    def mask_of(arr):
        a = np.asarray(arr)
        if labs is None:
            return a.astype(bool)
        return np.isin(a, labs)

    import dask

    lengths = [np.diff(offsets[d]) * h[d] for d in range(3)]
    vol_w = np.einsum("i,j,k->ijk", *[np.diff(o).astype(float) for o in offsets])

    def box(cells: Sequence[tuple[int, int]]) -> tuple[tuple[slice, ...], list[int], list[int]]:
        """Window (slices) around cells ``[(first, last)] * 3`` with the halo, and the
        offset and size of the cells in it."""
        sl = [
            slice(int(offsets[d][c0]), int(offsets[d][c1 + 1])) for d, (c0, c1) in enumerate(cells)
        ]
        ext = tuple(
            slice(max(0, q.start - halo), min(shape[d], q.stop + halo)) for d, q in enumerate(sl)
        )
        lo = [q.start - e.start for q, e in zip(sl, ext, strict=True)]
        return ext, lo, [q.stop - q.start for q in sl]

    tasks = []
    keys = []
    if method == "faces":
        for i in range(nb[0]):
            for j in range(nb[1]):
                for k in range(nb[2]):
                    cell = (i, j, k)
                    blk = tuple(
                        slice(int(o[q]), int(o[q + 1])) for o, q in zip(offsets, cell, strict=True)
                    )
                    tasks.append(dask.delayed(lambda s: float(mask_of(s).mean()))(data[blk]))
                    keys.append(("eps", cell))
        # windows of ``span`` blocks along d (consecutive windows share one block, so
        # every interior face is inside one window), one local solve each
        for d in range(3):
            if nb[d] == 1 and d != axis:
                continue
            w = nb[d] if not span or span >= nb[d] else max(2, int(span))
            starts = list(range(0, max(nb[d] - 1, 1), w - 1)) if nb[d] > 1 else [0]
            others = [range(nb[e]) for e in range(3) if e != d]
            for a0 in starts:
                a1 = min(a0 + w, nb[d]) - 1
                for p in others[0]:
                    for q in others[1]:
                        cells = [None, None, None]
                        cells[d] = (a0, a1)
                        rest = [e for e in range(3) if e != d]
                        cells[rest[0]], cells[rest[1]] = (p, p), (q, q)
                        ext, lo, size = box(cells)
                        cuts = [int(offsets[d][c] - offsets[d][a0]) for c in range(a0, a1 + 2)]
                        inl = d == axis and a0 == 0
                        outl = d == axis and a1 == nb[d] - 1
                        tasks.append(
                            dask.delayed(
                                lambda s, d=d, lo=lo, size=size, cuts=cuts, inl=inl, outl=outl: (
                                    face_transmissibilities(
                                        mask_of(s), d, lo, size, cuts, h, inlet=inl, outlet=outl
                                    )
                                )
                            )(data[ext])
                        )
                        keys.append(("faces", (d, a0, p, q)))
    else:
        dblocks = data.to_delayed() if is_dask(data) else None
        # "schwarz": the blocks' own conductivities (no halo) for the spread and the
        # bootstrap; the halo is the overlap of the Schwarz windows
        b_halo = 0 if method == "schwarz" else halo
        for i in range(nb[0]):
            for j in range(nb[1]):
                for k in range(nb[2]):
                    sl = tuple(
                        slice(int(offsets[d][q]), int(offsets[d][q + 1]))
                        for d, q in zip(range(3), (i, j, k), strict=True)
                    )
                    if b_halo > 0:
                        ext = tuple(
                            slice(max(0, q.start - b_halo), min(shape[d], q.stop + b_halo))
                            for d, q in enumerate(sl)
                        )
                        lo = [q.start - e.start for q, e in zip(sl, ext, strict=True)]
                        size = [q.stop - q.start for q in sl]
                        tasks.append(
                            dask.delayed(
                                lambda s, lo=lo, size=size: block_conductivities_oversampled(
                                    mask_of(s), lo, size, h, axes
                                )
                            )(data[ext])
                        )
                    else:
                        sub = dblocks[i, j, k] if dblocks is not None else data[sl]
                        tasks.append(
                            dask.delayed(lambda s: block_conductivities(mask_of(s), h, axes))(sub)
                        )
                    keys.append((i, j, k))
    results = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="blocks", leave=False)
    step = max(1, num_workers)
    for s in range(0, len(tasks), step):
        results += list(dask.compute(*tasks[s : s + step], num_workers=num_workers))
        if bar is not None:
            bar.update(len(tasks[s : s + step]))
    if bar is not None:
        bar.close()
    if method == "faces":
        beps = np.zeros(nb)
        trans = [
            np.zeros(tuple(n - 1 if e == d else n for e, n in enumerate(nb))) for d in range(3)
        ]
        face_shape = tuple(n for e, n in enumerate(nb) if e != axis)
        t_in, t_out = np.zeros(face_shape), np.zeros(face_shape)
        for (kind, key), r in zip(keys, results, strict=True):
            if kind == "eps":
                beps[key] = r
                continue
            d, a0, p, q = key
            t, ti, to = r
            rest = [e for e in range(3) if e != d]
            idx = [None, None, None]
            idx[rest[0]], idx[rest[1]] = p, q
            for c, v in enumerate(t):
                idx[d] = a0 + c
                trans[d][tuple(idx)] = v
            if d == axis:
                if np.isfinite(ti):
                    t_in[p, q] = ti
                if np.isfinite(to):
                    t_out[p, q] = to
        eps = float((beps * vol_w).sum() / vol_w.sum())
        rel = network_conductivity(trans, t_in, t_out, lengths, axis)
        sig = face_conductivities(trans, t_in, t_out, lengths, axis)
    else:
        vals = np.zeros((*nb, 4))
        for key, r in zip(keys, results, strict=True):
            vals[key] = r
        sig = vals[..., :3]
        beps = vals[..., 3]
        eps = float((beps * vol_w).sum() / vol_w.sum())
        rel = coarse_conductivity(sig, lengths, axis)
    refined = None
    if method == "schwarz":
        from electrohet.micro.schwarz import schwarz_conductivity

        refined = schwarz_conductivity(
            lambda sl: mask_of(data[sl]),
            shape,
            offsets,
            axis,
            h,
            halo=halo,
            rtol=schwarz_rtol,
            max_sweeps=max_sweeps,
            on_disk=is_dask(data),
            progress=progress,
        )
        if not refined.converged and refined.sigma_eff_rel > 0:
            warnings.warn(
                f"two-level tortuosity: the Schwarz sweeps stopped at max_sweeps = "
                f"{max_sweeps} with an estimated remaining error of "
                f"{refined.error_estimate:.1e} (target {schwarz_rtol:g}); tau is a lower "
                "bound, and near the percolation threshold the estimate can be "
                "optimistic. Raise max_sweeps, use larger blocks, or the full lean "
                "solve if the volume fits in memory.",
                TwoLevelAccuracyWarning,
                stacklevel=2,
            )
        # the bootstrap resamples the block network: rescaled to the refined value
        boot_scale = refined.sigma_eff_rel / rel if rel > 0 else math.inf
        rel = refined.sigma_eff_rel
    if n_bootstrap > 0 and rel > 0:
        if method == "faces":
            boot = bootstrap_tau_faces(
                trans, t_in, t_out, beps, lengths, axis, n=n_bootstrap, seed=seed
            )
        else:
            boot = bootstrap_tau(sig, beps, lengths, axis, n=n_bootstrap, seed=seed)
            if refined is not None:
                # the spread of the block network, centred on the refined value
                boot = (
                    boot / boot_scale if math.isfinite(boot_scale) else np.full_like(boot, math.inf)
                )
        # sample quantiles (no interpolation: resamples without a path have tau = inf)
        ci = tuple(float(v) for v in np.quantile(boot, [0.025, 0.975], method="inverted_cdf"))
    else:
        ci = (math.nan, math.nan)
    s_ax = sig[..., axis].ravel()
    e_ax = beps.ravel()
    ok = s_ax > 0
    bt = np.where(ok, e_ax / np.where(ok, s_ax, 1.0), math.inf)
    s_med, s_lo, s_hi = (float(v) for v in np.quantile(s_ax, [0.5, 0.025, 0.975]))
    t_med, t_lo, t_hi = (
        float(v) for v in np.quantile(bt, [0.5, 0.025, 0.975], method="inverted_cdf")
    )
    if rel <= 0:
        if warn:
            warnings.warn(
                f"no path through the blocks along axis {axis}: tau = inf",
                NonPercolatingWarning,
                stacklevel=2,
            )
        tau = math.inf
    else:
        tau = eps / rel
    return TwoLevelResult(
        tau=tau,
        sigma_eff_rel=float(rel),
        eps=eps,
        tau_ci95=ci,
        block_sigma_median=s_med,
        block_sigma_p2_5=s_lo,
        block_sigma_p97_5=s_hi,
        block_tau_median=t_med,
        block_tau_p2_5=t_lo,
        block_tau_p97_5=t_hi,
        n_blocks=int(np.prod(nb)),
        blocks_percolating=int(ok.sum()),
        n_bootstrap=int(n_bootstrap) if rel > 0 else 0,
        axis=int(axis),
        seconds=time.perf_counter() - t0,
        block_sigma=sig,
        block_eps=beps,
        transmissibilities=(trans, t_in, t_out) if method == "faces" else None,
        method=method,
        sweeps=refined.sweeps if refined is not None else 0,
        error_estimate=refined.error_estimate if refined is not None else math.nan,
        converged=refined.converged if refined is not None else True,
        sweep_sigma=list(refined.history) if refined is not None else [],
    )
