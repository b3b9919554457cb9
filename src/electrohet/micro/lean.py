"""Lean, matrix-free diffusive tortuosity for large in-memory volumes.

Same problem and discretisation as :func:`electrohet.micro.transport.tortuosity` for
one conducting phase (7-point finite volumes, ``u = 1`` / ``u = 0`` on the two faces
normal to ``axis`` imposed on the outer voxel faces, no flux through the sides), with
far less memory:

* no matrix: the stencil is rebuilt on the fly from a one-byte state array (solid /
  pore / percolating), so the conductances of anisotropic voxels (``A_d / h_d`` per
  direction) enter as three numbers, without resampling;
* unknowns only on pore voxels 6-connected to both faces (flood fill from each face
  in the state array itself), numbered in C order; a neighbour's number is found with
  per-row start offsets and running counters, so no index array is stored;
* mixed precision: the solution is kept in float64 and the conjugate-gradient search
  vectors in float32; every outer cycle recomputes the true residual ``b - A x`` in
  double precision from the float64 solution (iterative refinement), so the final
  residual reaches double-precision-level targets (default 1e-6, as the sparse solver);
* preconditioner: one two-grid cycle (damped-Jacobi smoothing on the fine voxels,
  coarse correction on 4 x 4 x 4 aggregates whose Galerkin matrix is assembled in CSR
  and approximately inverted by one V-cycle of :class:`~electrohet.micro.amg.
  AggregationAMG`).

Memory: 1 B/voxel (state) + 20 B per unknown (solution float64 + three float32
vectors; the preconditioned residual is recomputed on the fly instead of stored) + the
coarse hierarchy (~1/64 of the voxels, about 3 B/voxel), i.e. about 11 B/voxel at
porosity 0.35; ``benchmarks/bench_tortuosity.py`` measures it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence

import numba as nb
import numpy as np
import scipy.sparse as sp

from electrohet.errors import DataError, ParameterError, SolverError
from electrohet.micro.transport import NonPercolatingWarning, TortuosityResult

_SOLID, _PORE, _FROM_IN, _ACTIVE = 0, 1, 2, 3


@nb.njit(cache=True)
def _push(q, head, size, item):
    """Append ``item`` to the ring buffer ``q`` holding ``size`` items from ``head``;
    a full buffer is doubled (items unwrapped to start at 0). Returns ``(q, head)``."""
    cap = q.shape[0]
    if size == cap:
        q2 = np.empty(2 * cap, np.int64)
        for m in range(size):
            q2[m] = q[(head + m) % cap]
        q = q2
        head = 0
        cap *= 2
    q[(head + size) % cap] = item
    return q, head


@nb.njit(cache=True)
def _flood(s, src, dst, from_start):
    """Flood fill (6-connectivity) from the first/last plane: voxels ``src`` -> ``dst``."""
    n0, n1, n2 = s.shape
    q = np.empty(max(1 << 16, 2 * n1 * n2), np.int64)
    head = 0
    size = 0
    plane = 0 if from_start else n0 - 1
    for j in range(n1):
        for k in range(n2):
            if s[plane, j, k] == src:
                s[plane, j, k] = dst
                q, head = _push(q, head, size, (plane * n1 + j) * n2 + k)
                size += 1
    while size > 0:
        idx = q[head]
        head = (head + 1) % q.shape[0]
        size -= 1
        i = idx // (n1 * n2)
        j = (idx // n2) % n1
        k = idx % n2
        for d in range(6):
            a, b, c = i, j, k
            if d == 0:
                a -= 1
            elif d == 1:
                a += 1
            elif d == 2:
                b -= 1
            elif d == 3:
                b += 1
            elif d == 4:
                c -= 1
            else:
                c += 1
            if a < 0 or a >= n0 or b < 0 or b >= n1 or c < 0 or c >= n2:
                continue
            if s[a, b, c] != src:
                continue
            s[a, b, c] = dst
            q, head = _push(q, head, size, (a * n1 + b) * n2 + c)
            size += 1


@nb.njit(cache=True)
def _row_starts(s):
    n0, n1, n2 = s.shape
    rs = np.empty((n0, n1), np.int64)
    tot = 0
    for i in range(n0):
        for j in range(n1):
            rs[i, j] = tot
            for k in range(n2):
                if s[i, j, k] == _ACTIVE:
                    tot += 1
    return rs, tot


@nb.njit(cache=True, parallel=True)
def _sweep(s, rs, g, x, r, out, mode, omega, coarse, cmap, block, agg, beta):
    """One pass of the stencil over the active voxels.

    mode 0: out = A x;  1: out = b - A x (b = inlet boundary term);
    2: out = x + omega (r - A x) / D;  3: out = omega r / D;
    4: coarse[agg] += r - A x (restriction of the residual; ``block`` = ``agg`` so that
    parallel blocks own distinct coarse planes);  5: out = x + coarse[agg] (prolongation);
    6: return sum r z with z = x + omega (r - A x) / D (post-smoothed, not stored);
    7: out = z + beta out (the CG direction update with z recomputed on the fly).
    Sums are accumulated in float64 whatever the vector dtypes.  Returns the mode-6 sum.
    """
    acc = 0.0
    n0, n1, n2 = s.shape
    g0, g1, g2, gbc = g[0], g[1], g[2], g[3]
    nblocks = (n0 + block - 1) // block
    for bi in nb.prange(nblocks):
        for i in range(bi * block, min(n0, (bi + 1) * block)):
            for j in range(n1):
                base = rs[i, j]
                bzm = rs[i - 1, j] if i > 0 else 0
                bzp = rs[i + 1, j] if i < n0 - 1 else 0
                bym = rs[i, j - 1] if j > 0 else 0
                byp = rs[i, j + 1] if j < n1 - 1 else 0
                c = 0
                czm = 0
                czp = 0
                cym = 0
                cyp = 0
                for k in range(n2):
                    zm = i > 0 and s[i - 1, j, k] == _ACTIVE
                    zp = i < n0 - 1 and s[i + 1, j, k] == _ACTIVE
                    ym = j > 0 and s[i, j - 1, k] == _ACTIVE
                    yp = j < n1 - 1 and s[i, j + 1, k] == _ACTIVE
                    if s[i, j, k] == _ACTIVE:
                        me = base + c
                        if mode == 5:
                            out[me] = x[me] + coarse[cmap[i // agg, j // agg, k // agg]]
                        else:
                            diag = 0.0
                            ax = 0.0
                            xi = 0.0 if mode == 3 else np.float64(x[me])
                            if zm:
                                diag += g0
                                if mode != 3:
                                    ax += g0 * (xi - np.float64(x[bzm + czm]))
                            if zp:
                                diag += g0
                                if mode != 3:
                                    ax += g0 * (xi - np.float64(x[bzp + czp]))
                            if ym:
                                diag += g1
                                if mode != 3:
                                    ax += g1 * (xi - np.float64(x[bym + cym]))
                            if yp:
                                diag += g1
                                if mode != 3:
                                    ax += g1 * (xi - np.float64(x[byp + cyp]))
                            if k > 0 and s[i, j, k - 1] == _ACTIVE:
                                diag += g2
                                if mode != 3:
                                    ax += g2 * (xi - np.float64(x[me - 1]))
                            if k < n2 - 1 and s[i, j, k + 1] == _ACTIVE:
                                diag += g2
                                if mode != 3:
                                    ax += g2 * (xi - np.float64(x[me + 1]))
                            bterm = 0.0
                            if i == 0:
                                diag += gbc
                                ax += gbc * xi
                                bterm = gbc
                            if i == n0 - 1:
                                diag += gbc
                                ax += gbc * xi
                            if mode == 0:
                                out[me] = ax
                            elif mode == 1:
                                out[me] = bterm - ax
                            elif mode == 2:
                                out[me] = xi + omega * (np.float64(r[me]) - ax) / diag
                            elif mode == 6:
                                rv = np.float64(r[me])
                                acc += rv * (xi + omega * (rv - ax) / diag)
                            elif mode == 7:
                                zv = xi + omega * (np.float64(r[me]) - ax) / diag
                                out[me] = zv + beta * np.float64(out[me])
                            elif mode == 3:
                                out[me] = omega * np.float64(r[me]) / diag
                            else:
                                coarse[cmap[i // agg, j // agg, k // agg]] += np.float64(r[me]) - ax
                        c += 1
                    if zm:
                        czm += 1
                    if zp:
                        czp += 1
                    if ym:
                        cym += 1
                    if yp:
                        cyp += 1
    return acc


@nb.njit(cache=True)
def _coarse_map(s, agg):
    n0, n1, n2 = s.shape
    m0 = (n0 + agg - 1) // agg
    m1 = (n1 + agg - 1) // agg
    m2 = (n2 + agg - 1) // agg
    cmap = np.full((m0, m1, m2), -1, np.int32)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if s[i, j, k] == _ACTIVE:
                    cmap[i // agg, j // agg, k // agg] = 0
    nc = 0
    for a in range(m0):
        for b in range(m1):
            for c in range(m2):
                if cmap[a, b, c] == 0:
                    cmap[a, b, c] = nc
                    nc += 1
    return cmap, nc


@nb.njit(cache=True)
def _coarse_stencil(s, g, cmap, nc, agg):
    """Galerkin coarse matrix P^T A P on the aggregates as a 7-point stencil.

    Returns the diagonal and the couplings to the +z, +y, +x neighbour aggregates
    (symmetric; a fine face inside one aggregate cancels).
    """
    n0, n1, n2 = s.shape
    g0, g1, g2, gbc = g[0], g[1], g[2], g[3]
    diag = np.zeros(nc)
    off = np.zeros((nc, 3))
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if s[i, j, k] != _ACTIVE:
                    continue
                a = cmap[i // agg, j // agg, k // agg]
                if i == 0:
                    diag[a] += gbc
                if i == n0 - 1:
                    diag[a] += gbc
                if i < n0 - 1 and s[i + 1, j, k] == _ACTIVE:
                    b = cmap[(i + 1) // agg, j // agg, k // agg]
                    if b != a:
                        diag[a] += g0
                        diag[b] += g0
                        off[a, 0] -= g0
                if j < n1 - 1 and s[i, j + 1, k] == _ACTIVE:
                    b = cmap[i // agg, (j + 1) // agg, k // agg]
                    if b != a:
                        diag[a] += g1
                        diag[b] += g1
                        off[a, 1] -= g1
                if k < n2 - 1 and s[i, j, k + 1] == _ACTIVE:
                    b = cmap[i // agg, j // agg, (k + 1) // agg]
                    if b != a:
                        diag[a] += g2
                        diag[b] += g2
                        off[a, 2] -= g2
    return diag, off


@nb.njit(cache=True)
def _coarse_csr(cmap, nc, diag, off):
    m0, m1, m2 = cmap.shape
    indptr = np.zeros(nc + 1, np.int64)
    indices = np.empty(7 * nc, np.int32)
    data = np.empty(7 * nc, np.float64)
    coords = np.empty((nc, 3), np.int32)
    p = 0
    for a in range(m0):
        for b in range(m1):
            for c in range(m2):
                me = cmap[a, b, c]
                if me < 0:
                    continue
                coords[me, 0] = a
                coords[me, 1] = b
                coords[me, 2] = c
                # columns in increasing order: -z, -y, -x, self, +x, +y, +z
                if a > 0 and cmap[a - 1, b, c] >= 0 and off[cmap[a - 1, b, c], 0] != 0:
                    indices[p] = cmap[a - 1, b, c]
                    data[p] = off[cmap[a - 1, b, c], 0]
                    p += 1
                if b > 0 and cmap[a, b - 1, c] >= 0 and off[cmap[a, b - 1, c], 1] != 0:
                    indices[p] = cmap[a, b - 1, c]
                    data[p] = off[cmap[a, b - 1, c], 1]
                    p += 1
                if c > 0 and cmap[a, b, c - 1] >= 0 and off[cmap[a, b, c - 1], 2] != 0:
                    indices[p] = cmap[a, b, c - 1]
                    data[p] = off[cmap[a, b, c - 1], 2]
                    p += 1
                indices[p] = me
                data[p] = diag[me]
                p += 1
                if c < m2 - 1 and off[me, 2] != 0:
                    indices[p] = cmap[a, b, c + 1]
                    data[p] = off[me, 2]
                    p += 1
                if b < m1 - 1 and off[me, 1] != 0:
                    indices[p] = cmap[a, b + 1, c]
                    data[p] = off[me, 1]
                    p += 1
                if a < m0 - 1 and off[me, 0] != 0:
                    indices[p] = cmap[a + 1, b, c]
                    data[p] = off[me, 0]
                    p += 1
                indptr[me + 1] = p
    return indptr, indices[:p].copy(), data[:p].copy(), coords


@nb.njit(cache=True)
def _linear_guess(s, rs, x):
    n0, n1, n2 = s.shape
    for i in range(n0):
        v = 1.0 - (i + 0.5) / n0
        for j in range(n1):
            c = rs[i, j]
            for k in range(n2):
                if s[i, j, k] == _ACTIVE:
                    x[c] = v
                    c += 1


@nb.njit(cache=True)
def _fluxes(s, rs, g, x):
    """Flux into the inlet, out of the outlet and through each interior plane (float64)."""
    n0, n1, n2 = s.shape
    g0, gbc = g[0], g[3]
    planes = np.zeros(max(n0 - 1, 0))
    f_in = 0.0
    f_out = 0.0
    for i in range(n0):
        for j in range(n1):
            c = rs[i, j]
            cn = rs[i + 1, j] if i < n0 - 1 else 0
            for k in range(n2):
                nxt = i < n0 - 1 and s[i + 1, j, k] == _ACTIVE
                if s[i, j, k] == _ACTIVE:
                    if i == 0:
                        f_in += gbc * (1.0 - x[c])
                    if i == n0 - 1:
                        f_out += gbc * x[c]
                    if nxt:
                        planes[i] += g0 * (x[c] - x[cn])
                    c += 1
                if nxt:
                    cn += 1
    return f_in, f_out, planes


@nb.njit(cache=True)
def _scatter(s, rs, x, out):
    """Write the solution of the active voxels into a full grid (NaN elsewhere)."""
    n0, n1, n2 = s.shape
    for i in range(n0):
        for j in range(n1):
            c = rs[i, j]
            for k in range(n2):
                if s[i, j, k] == _ACTIVE:
                    out[i, j, k] = x[c]
                    c += 1
                else:
                    out[i, j, k] = np.nan


@nb.njit(cache=True, parallel=True)
def _dot(a, b):
    """Dot product accumulated in float64 (no temporary arrays)."""
    acc = 0.0
    for i in nb.prange(a.size):
        acc += np.float64(a[i]) * np.float64(b[i])
    return acc


@nb.njit(cache=True, parallel=True)
def _update(x, r, p, q, alpha):
    """x += alpha p (float64), r -= alpha q (float32), in place."""
    a32 = np.float32(alpha)
    for i in nb.prange(x.size):
        x[i] += alpha * np.float64(p[i])
        r[i] -= a32 * q[i]


def lean_tortuosity(
    mask: np.ndarray,
    axis: int = 0,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    rtol: float = 1e-6,
    inner_rtol: float = 1e-3,
    maxiter: int = 2000,
    overwrite: bool = False,
    warn: bool = True,
    omega: float = 0.8,
    coarse_scale: float = 1.6,
    agg: int = 4,
    return_potential: bool = False,
) -> TortuosityResult:
    """Tortuosity factor of a binary phase (True/nonzero = conducting) along ``axis``.

    Parameters
    ----------
    mask
        3D array, nonzero where the phase conducts (bool or uint8).
    axis
        Axis of the imposed gradient.
    spacing
        Voxel edge lengths (z, y, x); only their ratios matter.
    rtol
        Relative residual ``|b - A x| / |b|`` (computed in float64) at which to stop.
    inner_rtol
        Residual reduction of each float32 conjugate-gradient cycle.
    maxiter
        Maximum total CG iterations (:class:`SolverError` beyond).
    overwrite
        Use ``mask`` (a C-contiguous uint8 array with values 0/1, ``axis`` = 0) as the
        solver's state array, saving one byte per voxel; its content is destroyed.
    warn
        Warn when the phase does not percolate.
    omega, coarse_scale
        Jacobi damping and coarse-correction scaling of the preconditioner.
    agg
        Edge (voxels) of the cubic aggregates of the first coarse level.
    return_potential
        Keep the potential (float32, NaN outside the percolating voxels, in the
        caller's axis order) in ``potential`` (4 B/voxel more).

    Returns
    -------
    TortuosityResult
        ``method = "lean-cg"``; ``iterations`` counts the float32 CG iterations.
    """
    t0 = time.perf_counter()
    m = np.asarray(mask)
    if m.ndim != 3:
        raise DataError(f"mask has {m.ndim} dimensions; a 3D volume is needed")
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    h = np.asarray(spacing, dtype=np.float64)
    if h.shape != (3,) or np.any(~np.isfinite(h)) or np.any(h <= 0):
        raise ParameterError(f"spacing = {spacing!r} must be three positive lengths")
    if overwrite:
        if axis != 0 or m.dtype != np.uint8 or not m.flags.c_contiguous:
            raise ParameterError("overwrite=True needs a C-contiguous uint8 mask and axis=0")
        s = m
        if s.size and int(s.max()) > 1:
            raise ParameterError("overwrite=True needs a mask of 0/1 values")
    else:
        s = np.ascontiguousarray(np.moveaxis(m, axis, 0) != 0, dtype=np.uint8)
    h = np.array([h[axis]] + [h[i] for i in range(3) if i != axis])
    h = h / h.min()
    n0, n1, n2 = s.shape
    g = np.array([h[1] * h[2] / h[0], h[0] * h[2] / h[1], h[0] * h[1] / h[2], 0.0])
    g[3] = 2.0 * g[0]
    n_phase = int(np.count_nonzero(s))
    eps = n_phase / s.size

    _flood(s, _PORE, _FROM_IN, True)
    _flood(s, _FROM_IN, _ACTIVE, False)
    rs, n = _row_starts(s)
    res = TortuosityResult(
        tau=float("inf"),
        sigma_eff_rel=0.0,
        sigma_eff=0.0,
        eps=eps,
        percolating_fraction=n / n_phase if n_phase else 0.0,
        axis=int(axis),
        method="lean-cg",
    )
    if n == 0:
        if warn:
            warnings.warn(
                f"the phase does not percolate along axis {axis}: tau = inf",
                NonPercolatingWarning,
                stacklevel=2,
            )
        res.seconds = time.perf_counter() - t0
        return res

    # coarse level: 4x4x4 aggregates, CSR, AMG V-cycle as its approximate inverse
    from electrohet.micro.amg import AggregationAMG

    cmap, nc = _coarse_map(s, agg)
    cdiag, coff = _coarse_stencil(s, g, cmap, nc, agg)
    indptr, indices, data, ccoords = _coarse_csr(cmap, nc, cdiag, coff)
    del cdiag, coff
    Ac = sp.csr_matrix((data, indices, indptr), shape=(nc, nc))
    amg = AggregationAMG(Ac, ccoords, max_coarse=3000) if nc > 3000 else None
    lu = None
    if amg is None:
        import scipy.sparse.linalg as spla

        lu = spla.splu(Ac.tocsc())
    del ccoords
    coarse = np.zeros(nc)
    dummy = np.zeros(1, np.float32)

    def coarse_corrected(rv: np.ndarray, tmp: np.ndarray) -> None:
        """tmp = pre-smoothed + coarse-corrected approximation of A^-1 rv."""
        _sweep(s, rs, g, dummy, rv, tmp, 3, omega, coarse, cmap, 1, agg, 0.0)  # tmp = w r / D
        coarse[:] = 0.0
        _sweep(s, rs, g, tmp, rv, dummy, 4, omega, coarse, cmap, agg, agg, 0.0)
        ec = amg.matvec(coarse) if amg is not None else lu.solve(coarse)
        coarse[:] = coarse_scale * ec
        _sweep(s, rs, g, tmp, rv, tmp, 5, omega, coarse, cmap, 1, agg, 0.0)  # tmp += P e

    # the post-smoothed z = M^-1 r is never stored: r.z and p = z + beta p recompute it
    x = np.empty(n, np.float64)
    _linear_guess(s, rs, x)
    r = np.empty(n, np.float32)
    p = np.zeros(n, np.float32)
    q = np.empty(n, np.float32)
    bnorm = math.sqrt(float(np.count_nonzero(s[0] == _ACTIVE))) * g[3]
    its = 0
    rel = float("inf")
    while True:
        _sweep(
            s, rs, g, x, dummy, r, 1, omega, coarse, cmap, 1, agg, 0.0
        )  # r = b - A x (float64 sum)
        rnorm0 = math.sqrt(_dot(r, r))
        rel = rnorm0 / bnorm
        if rel <= rtol or its >= maxiter:
            break
        coarse_corrected(r, q)
        rz = _sweep(s, rs, g, q, r, dummy, 6, omega, coarse, cmap, 1, agg, 0.0)
        _sweep(s, rs, g, q, r, p, 7, omega, coarse, cmap, 1, agg, 0.0)  # p = z
        while its < maxiter:
            _sweep(s, rs, g, p, dummy, q, 0, omega, coarse, cmap, 1, agg, 0.0)  # q = A p
            alpha = rz / _dot(p, q)
            _update(x, r, p, q, alpha)
            its += 1
            rn = math.sqrt(_dot(r, r))
            if rn <= inner_rtol * rnorm0 or rn / bnorm <= 0.5 * rtol:
                break
            coarse_corrected(r, q)
            rz_new = _sweep(s, rs, g, q, r, dummy, 6, omega, coarse, cmap, 1, agg, 0.0)
            beta = rz_new / rz
            rz = rz_new
            _sweep(s, rs, g, q, r, p, 7, omega, coarse, cmap, 1, agg, beta)
    if rel > rtol:
        raise SolverError(f"lean tortuosity solver: residual {rel:.2e} after {its} iterations")
    f_in, f_out, planes = _fluxes(s, rs, g, x)
    mean_flux = 0.5 * (f_in + f_out)
    fl = np.concatenate([[f_in], planes, [f_out]])
    sig = mean_flux * n0 * h[0] / (n1 * h[1] * n2 * h[2])
    res.sigma_eff_rel = float(sig)
    res.sigma_eff = float(sig)
    res.tau = float(eps / sig)
    res.iterations = its
    res.flux_in, res.flux_out = float(f_in), float(f_out)
    res.flux_nonuniformity = float((fl.max() - fl.min()) / mean_flux)
    res.residual = rel
    if return_potential:
        pot = np.empty(s.shape, np.float32)
        _scatter(s, rs, x, pot)
        res.potential = np.moveaxis(pot, 0, axis)
    res.seconds = time.perf_counter() - t0
    return res
