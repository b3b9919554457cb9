"""Matrix-free numba kernels of the MAC Stokes operator of :mod:`electrohet.micro.flow`.

Unknowns are numbered by int32 index grids (``-1``: no unknown): one grid per velocity
component ``d`` of shape ``n + e_d`` (face ``j`` along ``d`` lies between cells
``j - 1`` and ``j``) and one cell grid for the pressure.  Lengths are in units of the
smallest voxel edge, the viscosity is 1 and the inlet reservoir pressure is 1 (the
scaling of :func:`electrohet.micro.flow.stokes_flow`).  Sums are accumulated in float64
whatever the dtype of the vectors (float64 solution, float32 Krylov vectors).

The viscous block ``A`` is block-diagonal, one 7-point Laplacian per component; a face
next to a wall face (zero velocity) inside the domain adds ``1/h_e^2`` along its own
direction (wall one voxel away) and ``2/h_e^2`` across (mirror ghost, wall half a voxel
away); outside the volume there is nothing along the flow axis (fully developed flow),
nothing on slip sides and ``2/h_e^2`` on wall sides.  ``G`` is the gradient (faces x
cells, ``+-1/h_d``), ``G^T`` minus the divergence.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _at(g, a, b, c):
    """``g[a, b, c]``, or -2 outside the grid."""
    a = np.int64(a)
    if a < 0 or b < 0 or c < 0 or a >= g.shape[0] or b >= g.shape[1] or c >= g.shape[2]:
        return -2
    return g[a, b, c]


@nb.njit(cache=True)
def _shift(d, i, j, k, s):
    """``(i, j, k)`` moved by ``s`` along axis ``d`` (signed 64-bit arithmetic)."""
    i, j, k = np.int64(i), np.int64(j), np.int64(k)
    if d == 0:
        return i + s, j, k
    if d == 1:
        return i, j + s, k
    return i, j, k + s


@nb.njit(cache=True)
def _face_row(fd, d, i, j, k, u, h2i, wall, with_x):
    """Diagonal of ``A`` at face ``(d; i, j, k)`` and, if ``with_x``, ``sum_nb c u_nb``."""
    i = np.int64(i)  # a prange index may be unsigned: keep the arithmetic signed
    diag = 0.0
    off = 0.0
    for e in range(3):
        c = h2i[e]
        for t in range(2):
            a, b, cc = _shift(e, i, j, k, 2 * t - 1)
            nb_ = _at(fd, a, b, cc)
            if nb_ >= 0:
                diag += c
                if with_x:
                    off += c * np.float64(u[nb_])
            elif nb_ == -1:
                diag += c if e == d else 2.0 * c
            elif wall and e != 0 and e != d:
                diag += 2.0 * c
    return diag, off


@nb.njit(cache=True, parallel=True)
def stokes_apply(F, cid, u, p, yu, yp, h, wall, resid):
    """``yu = A u + G p``, ``yp = G^T u`` (the saddle-point matrix times ``(u, p)``);
    with ``resid`` the residual ``b - K (u, p)`` instead, ``b = 1/h_0`` on the inlet faces
    (reservoir pressure 1), formed in float64 before it is stored."""
    h2i = 1.0 / (h * h)
    for d in range(3):
        fd = F[d]
        m0, m1, m2 = fd.shape
        hd = h[d]
        for i0 in nb.prange(m0):
            i = np.int64(i0)
            for j in range(m1):
                for k in range(m2):
                    me = fd[i, j, k]
                    if me < 0:
                        continue
                    diag, off = _face_row(fd, d, i, j, k, u, h2i, wall, True)
                    y = diag * np.float64(u[me]) - off
                    hi = _at(cid, i, j, k)
                    a, b, c = _shift(d, i, j, k, -1)
                    lo = _at(cid, a, b, c)
                    if hi >= 0:
                        y += np.float64(p[hi]) / hd
                    if lo >= 0:
                        y -= np.float64(p[lo]) / hd
                    if resid:
                        y = -y
                        if d == 0 and i == 0:
                            y += 1.0 / hd
                    yu[me] = y
    n0, n1, n2 = cid.shape
    for i0 in nb.prange(n0):
        i = np.int64(i0)
        for j in range(n1):
            for k in range(n2):
                me = cid[i, j, k]
                if me < 0:
                    continue
                acc = 0.0
                for d in range(3):
                    fd = F[d]
                    lo = fd[i, j, k]
                    a, b, c = _shift(d, i, j, k, 1)
                    hi = fd[a, b, c]
                    if lo >= 0:
                        acc += np.float64(u[lo]) / h[d]
                    if hi >= 0:
                        acc -= np.float64(u[hi]) / h[d]
                yp[me] = -acc if resid else acc


@nb.njit(cache=True, parallel=True)
def viscous_diagonal(F, h, wall, out):
    """Diagonal of ``A`` (all components) into ``out``."""
    h2i = 1.0 / (h * h)
    dummy = np.zeros(1)
    for d in range(3):
        fd = F[d]
        m0, m1, m2 = fd.shape
        for i0 in nb.prange(m0):
            i = np.int64(i0)
            for j in range(m1):
                for k in range(m2):
                    me = fd[i, j, k]
                    if me >= 0:
                        out[me] = _face_row(fd, d, i, j, k, dummy, h2i, wall, False)[0]


@nb.njit(cache=True)
def _darcy_row(F, cid, h, w, i, j, k, me, indices, data, p):
    """Row ``me`` (cell ``(i, j, k)``) of :func:`darcy_csr` from entry ``p`` on (only
    counted when ``indices`` is empty); returns the entry after it."""
    fill = indices.size > 0
    diag = 0.0
    pd = -1
    # columns in increasing order: -z, -y, -x, self, +x, +y, +z
    for t in range(7):
        if t == 3:
            pd = p
            if fill:
                indices[p] = me
            p += 1
            continue
        d = 2 - t if t < 3 else t - 4
        up = t > 3
        a, b, c = _shift(d, i, j, k, 1 if up else -1)
        # face index: low face of the cell, or high
        fa, fb, fc = _shift(d, i, j, k, 1 if up else 0)
        f = F[d][fa, fb, fc]
        if f < 0:
            continue
        g = np.float64(w[f]) / (h[d] * h[d])
        diag += g
        nb_ = _at(cid, a, b, c)
        if nb_ >= 0:
            if fill:
                indices[p] = nb_
                data[p] = -g
            p += 1
    if fill:
        data[pd] = diag
    return p


@nb.njit(cache=True)
def darcy_csr(F, cid, h, w, nc):
    """CSR arrays (int64 ``indptr``, int32 columns, float32 values) of ``L = G^T W G`` on
    the cells, ``W = diag(w)`` on the faces: coupling ``-w_f / h_d^2`` across an interior
    face, and ``w_f / h_d^2`` on the diagonal for every face of the cell (reservoir
    faces too).  Two passes (count, then fill), so nothing is allocated but the
    result."""
    n0, n1, n2 = cid.shape
    indptr = np.zeros(nc + 1, np.int64)
    none_i = np.empty(0, np.int32)
    none_d = np.empty(0, np.float32)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                me = cid[i, j, k]
                if me >= 0:
                    indptr[me + 1] = _darcy_row(F, cid, h, w, i, j, k, me, none_i, none_d, 0)
    for r in range(nc):
        indptr[r + 1] += indptr[r]
    indices = np.empty(indptr[nc], np.int32)
    data = np.empty(indptr[nc], np.float32)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                me = cid[i, j, k]
                if me >= 0:
                    _darcy_row(F, cid, h, w, i, j, k, me, indices, data, indptr[me])
    return indptr, indices, data


@nb.njit(cache=True, parallel=True)
def op_sweep(idx, h, dg, x, r, out, mode, omega, coarse, cmap, agg, scale):
    """One pass of a masked 7-point operator ``M`` with couplings ``-1/h_e^2`` between
    neighbouring unknowns of ``idx`` (one velocity component of ``A``) and diagonal
    ``dg``.

    mode 0: ``out = M x``; 1: ``out = x + omega (r - M x) / dg`` (a Jacobi sweep);
    2: ``out = omega r / dg``; 3: ``coarse[agg] += r - M x`` (restriction of the
    residual); 4: ``out = x + scale coarse[agg]`` (prolongation).  The outer loop runs
    over planes of aggregates so that mode 3 writes without races.
    """
    h2i = 1.0 / (h * h)
    m0, m1, m2 = idx.shape
    nblk = (m0 + agg - 1) // agg
    for bi0 in nb.prange(nblk):
        bi = np.int64(bi0)
        for i in range(bi * agg, min(m0, (bi + 1) * agg)):
            for j in range(m1):
                for k in range(m2):
                    me = idx[i, j, k]
                    if me < 0:
                        continue
                    if mode == 2:
                        out[me] = omega * np.float64(r[me]) / dg[me]
                        continue
                    if mode == 4:
                        out[me] = (
                            np.float64(x[me]) + scale * coarse[cmap[i // agg, j // agg, k // agg]]
                        )
                        continue
                    s = 0.0
                    if i > 0 and idx[i - 1, j, k] >= 0:
                        s += h2i[0] * np.float64(x[idx[i - 1, j, k]])
                    if i < m0 - 1 and idx[i + 1, j, k] >= 0:
                        s += h2i[0] * np.float64(x[idx[i + 1, j, k]])
                    if j > 0 and idx[i, j - 1, k] >= 0:
                        s += h2i[1] * np.float64(x[idx[i, j - 1, k]])
                    if j < m1 - 1 and idx[i, j + 1, k] >= 0:
                        s += h2i[1] * np.float64(x[idx[i, j + 1, k]])
                    if k > 0 and idx[i, j, k - 1] >= 0:
                        s += h2i[2] * np.float64(x[idx[i, j, k - 1]])
                    if k < m2 - 1 and idx[i, j, k + 1] >= 0:
                        s += h2i[2] * np.float64(x[idx[i, j, k + 1]])
                    y = np.float64(dg[me]) * np.float64(x[me]) - s
                    if mode == 0:
                        out[me] = y
                    elif mode == 1:
                        out[me] = np.float64(x[me]) + omega * (np.float64(r[me]) - y) / dg[me]
                    else:
                        coarse[cmap[i // agg, j // agg, k // agg]] += np.float64(r[me]) - y


@nb.njit(cache=True)
def coarse_map(idx, agg):
    """Number the ``agg^3`` boxes holding at least one unknown (C order); -1 elsewhere."""
    m0, m1, m2 = idx.shape
    c0 = (m0 + agg - 1) // agg
    c1 = (m1 + agg - 1) // agg
    c2 = (m2 + agg - 1) // agg
    cmap = np.full((c0, c1, c2), -1, np.int32)
    for i in range(m0):
        for j in range(m1):
            for k in range(m2):
                if idx[i, j, k] >= 0:
                    cmap[i // agg, j // agg, k // agg] = 0
    nc = 0
    for a in range(c0):
        for b in range(c1):
            for c in range(c2):
                if cmap[a, b, c] == 0:
                    cmap[a, b, c] = nc
                    nc += 1
    return cmap, nc


@nb.njit(cache=True)
def coarse_stencil(idx, h, dg, cmap, nc, agg):
    """Galerkin product ``P^T M P`` (``M`` of :func:`op_sweep`) for piecewise-constant
    aggregation on boxes: the coarse diagonal and the couplings to the ``+z, +y, +x``
    neighbour boxes."""
    h2i = 1.0 / (h * h)
    m0, m1, m2 = idx.shape
    diag = np.zeros(nc)
    off = np.zeros((nc, 3))
    for i in range(m0):
        for j in range(m1):
            for k in range(m2):
                me = idx[i, j, k]
                if me < 0:
                    continue
                a = cmap[i // agg, j // agg, k // agg]
                diag[a] += dg[me]
                for e in range(3):
                    i2, j2, k2 = i, j, k
                    if e == 0:
                        i2 += 1
                    elif e == 1:
                        j2 += 1
                    else:
                        k2 += 1
                    if _at(idx, i2, j2, k2) < 0:
                        continue
                    g = h2i[e]
                    b = cmap[i2 // agg, j2 // agg, k2 // agg]
                    if b == a:
                        diag[a] -= 2.0 * g
                    else:
                        off[a, e] -= g
    return diag, off


@nb.njit(cache=True)
def plane_flows(F, u, h):
    """Flow into the inlet and out of the outlet (nondimensional, float64)."""
    f0 = F[0]
    area = h[1] * h[2]
    q_in = 0.0
    q_out = 0.0
    last = f0.shape[0] - 1
    for j in range(f0.shape[1]):
        for k in range(f0.shape[2]):
            if f0[0, j, k] >= 0:
                q_in += np.float64(u[f0[0, j, k]])
            if f0[last, j, k] >= 0:
                q_out += np.float64(u[f0[last, j, k]])
    return q_in * area, q_out * area


@nb.njit(cache=True)
def speed_sums(F, cid, u):
    """``sum |V|`` and ``sum V_0`` over the cells, ``V`` the cell-centred velocity (mean
    of the two face values of each component)."""
    n0, n1, n2 = cid.shape
    s_abs = 0.0
    s_ax = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if cid[i, j, k] < 0:
                    continue
                v2 = 0.0
                for d in range(3):
                    fd = F[d]
                    lo = fd[i, j, k]
                    a, b, c = _shift(d, i, j, k, 1)
                    hi = fd[a, b, c]
                    v = 0.0
                    if lo >= 0:
                        v += 0.5 * np.float64(u[lo])
                    if hi >= 0:
                        v += 0.5 * np.float64(u[hi])
                    v2 += v * v
                    if d == 0:
                        s_ax += v
                s_abs += np.sqrt(v2)
    return s_abs, s_ax


@nb.njit(cache=True, parallel=True)
def dot(a, b):
    """``a . b`` accumulated in float64."""
    acc = 0.0
    for i in nb.prange(a.size):
        acc += np.float64(a[i]) * np.float64(b[i])
    return acc


@nb.njit(cache=True, parallel=True)
def lincomb3(out, a, x, b, y, c, z):
    """``out = a x + b y + c z`` elementwise (float64 arithmetic; ``out`` may alias)."""
    for i in nb.prange(out.size):
        out[i] = a * np.float64(x[i]) + b * np.float64(y[i]) + c * np.float64(z[i])


@nb.njit(cache=True, parallel=True)
def axpy(y, a, x):
    """``y += a x`` elementwise (float64 arithmetic)."""
    for i in nb.prange(y.size):
        y[i] = np.float64(y[i]) + a * np.float64(x[i])


@nb.njit(cache=True)
def darcy_couplings(F, cid, h, w, nc):
    """Couplings of each cell to its ``+x, +y, +z`` neighbour cell in ``L = G^T W G``
    (float32 ``(nc, 3)``, 0 where there is none): ``w_f / h_d^2`` of the face between
    them, the off-diagonal entries of :func:`darcy_csr` with the sign flipped; and the
    diagonal of :func:`darcy_csr` (float32)."""
    n0, n1, n2 = cid.shape
    out = np.zeros((nc, 3), np.float32)
    diag = np.zeros(nc, np.float32)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                me = cid[i, j, k]
                if me < 0:
                    continue
                dsum = 0.0  # summed in the order of darcy_csr: identical float32
                for t in range(3):
                    d = 2 - t
                    f = F[d][i, j, k]  # the low face
                    if f >= 0:
                        dsum += np.float64(w[f]) / (h[d] * h[d])
                for d in range(3):
                    a, b, c = _shift(d, i, j, k, 1)
                    f = F[d][a, b, c]  # the high face (inside the face grid)
                    if f >= 0:
                        g = np.float64(w[f]) / (h[d] * h[d])
                        dsum += g
                        if _at(cid, a, b, c) >= 0:
                            out[me, d] = g
                diag[me] = dsum
    return out, diag


@nb.njit(cache=True, inline="always")
def _val(v, diag, i, mode):
    """``v_i``, or ``v_i / diag_i`` in mode 3 of :func:`darcy_pass`."""
    if mode == 3:
        return np.float64(v[i]) / np.float64(diag[i])
    return np.float64(v[i])


@nb.njit(cache=True)
def darcy_pass(cid, gp, diag, agg, omega, v, b, out, mode):
    """One pass over the cells of ``L`` stored as the couplings ``gp`` of
    :func:`darcy_couplings` and its float32 diagonal ``diag`` (neighbours through
    ``cid``; the neighbour sum is written out here, not called: numba does not inline
    across cached functions, and a call per cell tripled the time).

    mode 0 / 1: a Gauss-Seidel sweep on ``L v = b`` in place, cells in C order / in
    reverse; 2: ``out = b - L v``; 3: ``out = P^T v`` with ``P = (I - omega D^-1 L) T``
    the smoothed prolongation of the aggregates ``agg``; 4: ``out += P c``, given ``v =
    T c`` (``b`` unused in 3 and 4).
    """
    n0, n1, n2 = cid.shape
    if mode == 3:
        out[:] = 0.0
    back = mode == 1
    for ii in range(n0):
        i = n0 - 1 - ii if back else ii
        for jj in range(n1):
            j = n1 - 1 - jj if back else jj
            for kk in range(n2):
                k = n2 - 1 - kk if back else kk
                me = cid[i, j, k]
                if me < 0:
                    continue
                s = 0.0  # sum_nb g_nb v_nb = -(L v)_me + L_me,me v_me (mode 3: D^-1 v)
                if i > 0:
                    nb_ = cid[i - 1, j, k]
                    if nb_ >= 0:
                        s += np.float64(gp[nb_, 0]) * _val(v, diag, nb_, mode)
                if i < n0 - 1:
                    nb_ = cid[i + 1, j, k]
                    if nb_ >= 0:
                        s += np.float64(gp[me, 0]) * _val(v, diag, nb_, mode)
                if j > 0:
                    nb_ = cid[i, j - 1, k]
                    if nb_ >= 0:
                        s += np.float64(gp[nb_, 1]) * _val(v, diag, nb_, mode)
                if j < n1 - 1:
                    nb_ = cid[i, j + 1, k]
                    if nb_ >= 0:
                        s += np.float64(gp[me, 1]) * _val(v, diag, nb_, mode)
                if k > 0:
                    nb_ = cid[i, j, k - 1]
                    if nb_ >= 0:
                        s += np.float64(gp[nb_, 2]) * _val(v, diag, nb_, mode)
                if k < n2 - 1:
                    nb_ = cid[i, j, k + 1]
                    if nb_ >= 0:
                        s += np.float64(gp[me, 2]) * _val(v, diag, nb_, mode)
                if mode <= 1:
                    v[me] = (np.float64(b[me]) + s) / np.float64(diag[me])
                elif mode == 2:
                    out[me] = np.float64(b[me]) - np.float64(diag[me]) * np.float64(v[me]) + s
                elif mode == 3:
                    # (P^T v)_a gathers v_i - omega (L D^-1 v)_i over the cells i of a
                    out[agg[me]] += (1.0 - omega) * np.float64(v[me]) + omega * s
                else:
                    t = (1.0 - omega) * np.float64(v[me]) + omega * s / np.float64(diag[me])
                    out[me] = np.float64(out[me]) + t
