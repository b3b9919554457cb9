"""Two-level (block) tortuosity for volumes larger than memory.

Level 1: every block of the volume (the Dask chunks, or ``block``-sized boxes of an
in-memory array) gets its own effective conductivities ``sigma_d`` along the three
axes, each from a steady diffusion solve inside the block (Dirichlet on the two faces
normal to ``d``, no flux on the others; :func:`~electrohet.micro.lean.lean_tortuosity`)
and its phase fraction.  Only one block is in memory per worker.

Level 2: the blocks become the cells of a coarse tensor-product grid (cell sizes = block
sizes, so blocks that do not divide the shape are handled exactly), each with a
diagonal conductivity tensor ``diag(sigma_z, sigma_y, sigma_x)``.  The coarse
finite-volume problem has the same boundary conditions as the full one; the conductance
between two cells is the series resistance of their half cells,
``A / (L_i / (2 sigma_i) + L_j / (2 sigma_j))``.  Then ``tau = eps / sigma_eff``.

Block boundaries cut pore paths that leave and re-enter a block, so block
conductivities are biased low (tau biased high) by a few per cent for blocks much
larger than the pore correlation length; the test and ``docs/micro.md`` state the
measured agreement with the full solve.  The spread of the blocks' own tortuosity along
the axis is reported as a confidence interval of the mean block value
(``mean +- 1.96 std / sqrt(n)``) and as the 2.5-97.5 % percentile range.
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
    """Result of :func:`two_level_tortuosity`.

    Attributes
    ----------
    tau
        Tortuosity factor from the coarse solve (``inf`` if no path).
    sigma_eff_rel, eps
        Effective relative conductivity and phase fraction of the whole volume.
    block_tau_mean, block_tau_ci95, block_tau_p2_5, block_tau_p97_5
        Mean of the finite block tortuosities along ``axis``, the 95 % confidence
        half-width of that mean, and the 2.5/97.5 percentiles (spread).
    n_blocks, blocks_percolating
        Number of blocks and how many percolate along ``axis``.
    axis, seconds
    block_sigma
        Array (nb0, nb1, nb2, 3) of block conductivities (z, y, x) and
        ``block_eps`` (nb0, nb1, nb2).
    """

    tau: float
    sigma_eff_rel: float
    eps: float
    block_tau_mean: float
    block_tau_ci95: float
    block_tau_p2_5: float
    block_tau_p97_5: float
    n_blocks: int
    blocks_percolating: int
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
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            out[k] = v
        out["percolating"] = self.sigma_eff_rel > 0
        return out


def block_conductivities(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """``[sigma_z, sigma_y, sigma_x, eps]`` of one block (relative conductivities)."""
    from electrohet.micro.lean import lean_tortuosity

    out = np.zeros(4)
    m = np.asarray(mask, dtype=bool)
    out[3] = m.mean() if m.size else 0.0
    if not m.any():
        return out
    for d in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonPercolatingWarning)
            r = lean_tortuosity(m, d, spacing, warn=False)
        out[d] = r.sigma_eff_rel
    return out


def block_conductivities_oversampled(
    ext: np.ndarray, lo: Sequence[int], size: Sequence[int], spacing: Sequence[float]
) -> np.ndarray:
    """Like :func:`block_conductivities`, measured inside a larger window (oversampling).

    The diffusion problem is solved on the window ``ext`` (the block with a halo); the
    block's conductivity along ``d`` is the flux through its mid-plane divided by the
    drop of the pore-averaged potential between its first and last planes, so the cut
    block faces no longer sever pore paths.
    """
    from electrohet.micro.lean import lean_tortuosity

    m = np.asarray(ext, dtype=bool)
    inner = tuple(slice(int(a), int(a) + int(b)) for a, b in zip(lo, size, strict=True))
    out = np.zeros(4)
    out[3] = m[inner].mean()
    if not m[inner].any():
        return out
    h = np.asarray(spacing, dtype=float)
    h = h / h.min()
    for d in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonPercolatingWarning)
            r = lean_tortuosity(m, d, spacing, warn=False, return_potential=True)
        if r.sigma_eff_rel <= 0:
            continue
        u = np.moveaxis(r.potential[inner], d, 0)
        nd = u.shape[0]
        if nd < 3:
            continue
        o = [i for i in range(3) if i != d]
        g = h[o[0]] * h[o[1]] / h[d]
        mid = nd // 2 - 1
        a, b = u[mid], u[mid + 1]
        ok = np.isfinite(a) & np.isfinite(b)
        q = g * float(np.sum(a[ok] - b[ok]))
        first, last = u[0], u[-1]
        if not (np.isfinite(first).any() and np.isfinite(last).any()):
            continue
        du = float(np.nanmean(first) - np.nanmean(last))
        if du <= 0 or q <= 0:
            continue
        area = u.shape[1] * h[o[0]] * u.shape[2] * h[o[1]]
        out[d] = q * (nd - 1) * h[d] / (area * du)
    return out


def _coarse_solve(sig: np.ndarray, lengths: list[np.ndarray]) -> float:
    """Relative effective conductivity along axis 0 of the coarse grid."""
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
        with np.errstate(divide="ignore"):
            res = L[d][lo] / (2 * s_a) + L[d][hi] / (2 * s_b)
        g = np.where(np.isfinite(res), area[d][lo] / np.where(np.isfinite(res), res, 1.0), 0.0)
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
) -> TwoLevelResult:
    """Tortuosity factor by the two-level block method.

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
        the far ends, which the coarse grid handles exactly.
    spacing
        Voxel edges (z, y, x); default the volume's voxel size, or 1.
    num_workers
        Dask threads for the block solves (each holds one block in memory).
    halo
        Oversampling: solve each block inside a window ``halo`` voxels larger on every
        side and measure it in its inner part
        (:func:`block_conductivities_oversampled`); reduces the bias of cut pore paths.
    progress
        Show a progress bar over the blocks.
    warn
        Warn when the coarse problem does not percolate.
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
                                mask_of(s), lo, size, h
                            )
                        )(data[ext])
                    )
                else:
                    sub = dblocks[i, j, k] if dblocks is not None else data[sl]
                    tasks.append(dask.delayed(lambda s: block_conductivities(mask_of(s), h))(sub))
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
    # flow axis first for the coarse solve
    perm = [axis] + [d for d in range(3) if d != axis]
    sig_p = np.transpose(sig, perm + [3])[..., perm]
    rel = _coarse_solve(sig_p, [lengths[d] for d in perm])
    s_ax = sig[..., axis].ravel()
    e_ax = beps.ravel()
    ok = s_ax > 0
    bt = e_ax[ok] / s_ax[ok]
    if bt.size:
        mean = float(bt.mean())
        ci = float(1.96 * bt.std(ddof=1) / math.sqrt(bt.size)) if bt.size > 1 else math.nan
        p_lo, p_hi = (float(v) for v in np.percentile(bt, [2.5, 97.5]))
    else:
        mean = ci = p_lo = p_hi = math.nan
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
        block_tau_mean=mean,
        block_tau_ci95=ci,
        block_tau_p2_5=p_lo,
        block_tau_p97_5=p_hi,
        n_blocks=int(np.prod(nb)),
        blocks_percolating=int(ok.sum()),
        axis=int(axis),
        seconds=time.perf_counter() - t0,
        block_sigma=sig,
        block_eps=beps,
    )
