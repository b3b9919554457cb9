"""Two-level (block) tortuosity for volumes larger than memory.

Level 1: every block of the volume (the Dask chunks, or ``block``-sized boxes of an
in-memory array) gets its own effective conductivities ``sigma_d`` along the three
axes (a diagonal tensor), each from a steady diffusion solve along ``d``
(:func:`~electrohet.micro.lean.lean_tortuosity`: Dirichlet on the two faces normal to
``d``, no flux on the others), and its phase fraction.  Without a halo the solve is on
the block itself; with ``halo > 0`` it is on a window ``halo`` voxels larger on every
side, and the block's conductivity is measured in its inner part (flux averaged over
the inner planes / drop of the pore-averaged potential between the block's first and
last planes), so pore paths that leave and re-enter the block are not cut.  Only one
window is in memory per worker.

Level 2: the blocks become the cells of a coarse tensor-product grid (cell sizes =
block sizes, so blocks that do not divide the shape are handled exactly) and a coarse
finite-volume resistor network is solved (:func:`coarse_conductivity`) with the same
boundary conditions as the full problem (potential 1 and 0 on the two end faces, no
flux through the sides).  The conductance between two neighbouring cells along ``d`` is
the series resistance of their half cells, ``A / (L_i / (2 sigma_i) + L_j / (2
sigma_j))`` (a harmonic face mean: exact for layers in series, and 0 when either block
does not conduct along ``d``), a cell on an end face is joined to it by ``2 sigma A /
L``.  A nearly disconnected block only lowers its own conductances; it never enters an
average of tortuosities.  The coarse flux gives ``sigma_eff`` (relative to the bulk
conductivity) and ``tau = eps / sigma_eff`` with the phase fraction ``eps`` of the whole
volume, the definition of the full solvers
(:func:`~electrohet.micro.transport.tortuosity`, TauFactor).

Confidence interval: a bootstrap over the blocks.  The block values (three
conductivities and the phase fraction of each block) are drawn with replacement, laid
out at random on the coarse grid and the coarse network is solved again; the 2.5 and
97.5 % quantiles of the resulting ``tau`` are ``tau_ci95``.  It is the spread that the
finite sample of block values implies for a volume of this size; it does not include
the method's own bias (below).

Accuracy: a block is a good coarse cell only when it is large compared with the pore
correlation length; below that the coarse network misses paths that wander between
neighbouring blocks and ``tau`` is biased high.  ``docs/micro.md`` lists the measured
agreement with the full solve.
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
        Array (nb0, nb1, nb2, 3) of block conductivities along (z, y, x), and
        ``block_eps`` (nb0, nb1, nb2) of block phase fractions.
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

    def as_dict(self) -> dict:
        """JSON-friendly summary (``None`` for inf/NaN, plus ``percolating``)."""
        out = {}
        for k, v in self.__dict__.items():
            if k in ("block_sigma", "block_eps"):
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
    perm = [axis] + [d for d in range(3) if d != axis]
    return _coarse_solve(np.transpose(sig, perm + [3])[..., perm], [ls[d] for d in perm])


def _coarse_solve(sig: np.ndarray, lengths: list[np.ndarray]) -> float:
    """Effective conductivity along axis 0 of the coarse grid (see coarse_conductivity)."""
    nb = sig.shape[:3]
    n = int(np.prod(nb))
    idx = np.arange(n).reshape(nb)
    Lz, Ly, Lx = np.meshgrid(*lengths, indexing="ij")
    L = [Lz, Ly, Lx]
    area = [Ly * Lx, Lz * Lx, Lz * Ly]
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for d in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[d] = slice(0, -1)
        hi[d] = slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        s_a, s_b = sig[..., d][lo], sig[..., d][hi]
        ok = (s_a > 0) & (s_b > 0)
        res = L[d][lo] / (2 * np.where(ok, s_a, 1.0)) + L[d][hi] / (2 * np.where(ok, s_b, 1.0))
        g = np.where(ok, area[d][lo] / res, 0.0)
        a, b = idx[lo].ravel(), idx[hi].ravel()
        g = g.ravel()
        rows += [a, b]
        cols += [b, a]
        vals += [-g, -g]
        diag += np.bincount(a, weights=g, minlength=n) + np.bincount(b, weights=g, minlength=n)
    gin = (2 * sig[0, ..., 0] * area[0][0] / L[0][0]).ravel()
    gout = (2 * sig[-1, ..., 0] * area[0][-1] / L[0][-1]).ravel()
    ii, io = idx[0].ravel(), idx[-1].ravel()
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
    # keep the coarse cells connected to a Dirichlet face (others carry no flux and
    # would make the matrix singular)
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
    total_l = float(lengths[0].sum())
    cross = float(lengths[1].sum() * lengths[2].sum())
    return flux * total_l / cross


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
    halo: int = 0,
    progress: bool = False,
    warn: bool = True,
    n_bootstrap: int = 200,
    seed: int | None = 0,
) -> TwoLevelResult:
    """Tortuosity factor by the two-level block method.

    Block conductivities along the axes the coarse grid needs (all three, or only the
    gradient axis for a column one block wide), then a coarse finite-volume solve over
    the blocks (module docstring); the confidence interval is a bootstrap over the
    blocks (:func:`bootstrap_tau`).

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
        least ~20 pore correlation lengths (``docs/micro.md``).
    spacing
        Voxel edges (z, y, x), any length unit (only their ratios matter); default the
        volume's voxel size, or 1.
    num_workers
        Dask threads for the block solves (each holds one window in memory).
    halo
        Oversampling: solve each block inside a window ``halo`` voxels larger on every
        side and measure it in its inner part
        (:func:`block_conductivities_oversampled`); reduces the bias of cut pore paths
        (a quarter of the block edge in the checks of ``docs/micro.md``).  Windows are
        clipped at the volume.
    progress
        Show a progress bar over the blocks.
    warn
        Warn when the coarse problem does not percolate.
    n_bootstrap
        Bootstrap resamples of the blocks for ``tau_ci95`` (0: none).
    seed
        Seed of the bootstrap's random generator.

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

    tasks = []
    keys = []
    dblocks = data.to_delayed() if is_dask(data) else None
    for i in range(nb[0]):
        for j in range(nb[1]):
            for k in range(nb[2]):
                sl = tuple(
                    slice(int(offsets[d][q]), int(offsets[d][q + 1]))
                    for d, q in zip(range(3), (i, j, k), strict=True)
                )
                if halo > 0:
                    ext = tuple(
                        slice(max(0, q.start - halo), min(shape[d], q.stop + halo))
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
    vals = np.zeros((*nb, 4))
    for key, r in zip(keys, results, strict=True):
        vals[key] = r
    sig = vals[..., :3]
    beps = vals[..., 3]
    lengths = [np.diff(offsets[d]) * h[d] for d in range(3)]
    vol_w = np.einsum("i,j,k->ijk", *[np.diff(o).astype(float) for o in offsets])
    eps = float((beps * vol_w).sum() / vol_w.sum())
    rel = coarse_conductivity(sig, lengths, axis)
    if n_bootstrap > 0 and rel > 0:
        boot = bootstrap_tau(sig, beps, lengths, axis, n=n_bootstrap, seed=seed)
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
    )
