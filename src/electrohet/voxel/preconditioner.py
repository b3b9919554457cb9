"""Physics-block preconditioner for the Newton systems of the voxel half cell.

The backward-Euler Jacobian has four physical blocks (c_e, c_s, phi_e, phi_s) plus the
two cell unknowns (I, V).  Its hard part is elliptic: at the time steps of a discharge
(10-600 s) the potentials form a graph Laplacian joined through the Butler-Volmer
conductances and the electrolyte salt is diffusion-dominated (D_e dt / h^2 ~ 1e5).  The
solid lithium couples to the potentials through the open-circuit potential: a current
drawn from an AM voxel changes its own c_s and hence U over the step, which feeds back
into the current.  A block Gauss-Seidel that ignores this loop converges at the rate
x / (1 + x), x = g |dU/dc| A dt / (F V), which tends to 1 on long steps.

This preconditioner therefore eliminates c_s *locally* from the potential block (a
Schur complement with the c_s block replaced by its diagonal: mass / dt, the reaction's
own dependence on c_s and the diagonal of solid diffusion),

    S = J_pp - J_ps diag(J_ss)^-1 J_sp,

so that the potential solve already sees each voxel's concentration response, and then
applies, in a block sweep over the field unknowns,

1. one Ruge-Stuben AMG V-cycle on S (phi_e, phi_s);
2. one V-cycle on the c_e block and one on the c_s block, each with the potential
   update on its right-hand side.

The c_s cycle does not wait for the c_e update (block Jacobi between the two
concentrations; at 32^3 and 48^3 GMRES needed 21 and 25 iterations on a random
right-hand side, against 21 and 26 with the c_e update on the c_s right-hand side),
so with ``threads=2`` the two cycles run side by side (their Gauss-Seidel sweeps are
compiled without the GIL, and SciPy's CSR products release it).

The two cell unknowns stay out of the AMG blocks.  The Jacobian is taken in its
current-control form (identity in row I, collector balance in row V): I is prescribed,
and V, which couples to the whole field through one row and one column, is eliminated
exactly by bordering along its well-conditioned direction (a uniform shift of the
potentials).  Under voltage control the current follows from the prescribed V through
the cell's response to a unit current (see :meth:`BlockPreconditioner.apply`).

It is used inside GMRES on the full Jacobian, so an approximate block solve only costs
iterations, never accuracy.  The AMG hierarchies are built on the symmetric parts of
the blocks and are reused across Newton iterations and time steps while GMRES converges
in few iterations (:class:`~electrohet.voxel.solver.NewtonSolver`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pyamg import amg_core

from electrohet.voxel._kernels import gauss_seidel
from electrohet.voxel.model import VoxelModel

_POOL = None


def _pool():
    """The one worker thread of the side-by-side c_s cycles (made on first use)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="electrohet-vcycle")
    return _POOL


class VCycle:
    """One V-cycle of an AMG hierarchy as a fixed linear operator.

    Built from pyamg's setup (Ruge-Stuben or smoothed aggregation) on the symmetric part
    of a block; the cycle itself is run here: one forward Gauss-Seidel sweep before and
    one backward sweep after each coarse correction (a symmetric cycle at half the
    smoothing cost of pyamg's default), a sparse LU on the coarsest level, and no
    residual norms (pyamg's ``solve`` evaluates two extra fine-level products per call
    for its stopping test).

    Parameters
    ----------
    A
        Block matrix (CSR) [any units].
    kind
        ``"rs"``: classical Ruge-Stuben (robust on the high-contrast potential graph:
        AM, CBD, electrolyte and Butler-Volmer links differ by orders of magnitude);
        ``"sa"``: smoothed aggregation.
    theta
        Ruge-Stuben strength threshold: a link is strong when its magnitude is at least
        ``theta`` x the row's largest off-diagonal [-].  The default 0.1 (pyamg's is
        0.25) is measured on the voxel blocks, which are near-singular Laplacians on
        tortuous pore and solid networks (``D_e dt / h^2 ~ 1e5``; Butler-Volmer links
        ~1e-5 of the conduction diagonal): at 32 / 64 / 96^3 one V-cycle's stationary
        convergence factor on the c_e block is 0.59 / 0.58 / 0.60 against 0.71 / 0.62
        / 0.65 at 0.25, on the potential Schur block 0.55 / 0.58 / 0.57 against 0.60 /
        0.67 / 0.65; 0.05 is worse than both (CBD links of low conductance become
        strong).  See docs/voxel.md, "Limits".
    nogil
        Smooth with the compiled Gauss-Seidel of :mod:`electrohet.voxel._kernels`, which
        releases the GIL (for a cycle run in a second thread), instead of pyamg's (which
        holds it and was 1.25-1.45x faster per sweep on a 48^3 Jacobian).
    max_coarse
        Coarsening stops below this many unknowns; the last level is factorised.
    """

    def __init__(
        self,
        A: sp.csr_matrix,
        kind: str = "rs",
        theta: float = 0.1,
        nogil: bool = False,
        max_coarse: int = 500,
    ) -> None:
        import pyamg

        As = _symmetric_part(A)
        As.eliminate_zeros()
        if kind == "rs":
            ml = pyamg.ruge_stuben_solver(
                As, strength=("classical", {"theta": theta}), max_coarse=max_coarse
            )
        else:
            ml = pyamg.smoothed_aggregation_solver(As, symmetry="hermitian", max_coarse=max_coarse)
        self.levels = []
        for lev in ml.levels[:-1]:
            Al = lev.A.tocsr()
            self.levels.append((Al, lev.P.tocsr(), lev.R.tocsr()))
        self._factor_coarse(ml.levels[-1].A)
        self._smooth = _gs_nogil if nogil else _gs_pyamg

    def _factor_coarse(self, Ac: sp.spmatrix) -> None:
        import scipy.sparse.linalg as spla

        Ac = Ac.tocsc()
        self.coarse = spla.splu(Ac) if Ac.shape[0] else None

    def refresh(self, A: sp.csr_matrix) -> None:
        """Take the values of a new block ``A`` of the same unknowns, keeping the
        coarse grids and interpolation of the set-up: only the Galerkin products
        ``A_{k+1} = R A_k P`` and the coarsest factorisation are redone.

        The Ruge-Stuben splitting and interpolation depend on which links are strong,
        i.e. on the geometry and the conductivity pattern, which change little between
        the Jacobians of one discharge; the values (time step, concentration-dependent
        coefficients) do change and enter through the Galerkin products.  About a
        quarter of the cost of a new set-up (64^3: 0.4 s against 1.7 s per block set).
        """
        Al = _symmetric_part(A)
        self.coarse = None
        for k, (_, P, R) in enumerate(self.levels):
            # replaced level by level: the old matrix of a level is freed at once
            self.levels[k] = (Al, P, R)
            Al = (R @ Al @ P).tocsr()
        self._factor_coarse(Al)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Approximate ``A^-1 b`` by one V-cycle from a zero initial guess."""
        return self._cycle(0, np.ascontiguousarray(b, dtype=float))

    def _cycle(self, k: int, b: np.ndarray) -> np.ndarray:
        if k == len(self.levels):
            return self.coarse.solve(b) if self.coarse is not None else b
        A, P, R = self.levels[k]
        x = np.zeros(b.size)
        self._smooth(A, x, b, True)
        r = b - A @ x
        x += P @ self._cycle(k + 1, R @ r)
        self._smooth(A, x, b, False)
        return x


def _symmetric_part(A: sp.csr_matrix) -> sp.csr_matrix:
    """``(A + A^T) / 2`` as CSR.  The product by 0.5 is not done in place on purpose:
    SciPy's sum keeps arrays sized for ``nnz(A) + nnz(A^T)`` (about twice the
    result's), and the product's new arrays are the compact ones that stay."""
    return (0.5 * (A + A.T)).tocsr()


def _gs_pyamg(A: sp.csr_matrix, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
    n = b.size
    if forward:
        amg_core.gauss_seidel(A.indptr, A.indices, A.data, x, b, 0, n, 1)
    else:
        amg_core.gauss_seidel(A.indptr, A.indices, A.data, x, b, n - 1, -1, -1)


def _gs_nogil(A: sp.csr_matrix, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
    gauss_seidel(A.indptr, A.indices, A.data, x, b, forward)


class BlockPreconditioner:
    """Approximate inverse of the voxel Jacobian ``J`` (unscaled) for one control mode.

    Parameters
    ----------
    model
        The voxel model whose unknown layout ``J`` follows.
    J
        Backward-Euler Jacobian (CSR) the preconditioner is built from.
    mode
        ``"current"`` or ``"voltage"`` (which of I, V is prescribed).
    w0
        Initial guess of the bordering vector (that of the previous preconditioner of
        the same mode: the Jacobian drifts slowly between rebuilds, so GMRES starts
        close to the answer).
    threads
        1: the V-cycles one after the other; 2: the c_s cycle in a second thread while
        the c_e cycle runs (both then smooth with the GIL-free Gauss-Seidel).
    reuse
        The V-cycles ``(potentials, c_e, c_s)`` of an earlier preconditioner of the
        same model, taken over with the new block values (:meth:`VCycle.refresh`: same
        coarse grids and interpolation, new Galerkin products); that preconditioner
        must not be used afterwards.
    """

    border_rtol = 0.1

    def __init__(
        self,
        model: VoxelModel,
        J: sp.csr_matrix,
        mode: str,
        w0: np.ndarray | None = None,
        threads: int = 1,
        reuse: tuple[VCycle | None, VCycle | None, VCycle | None] | None = None,
    ) -> None:
        m = model
        self.threads = threads
        nogil = threads > 1
        self.mode = mode
        J = J.tocsr()
        n = m.n
        self.iI, self.iV = m.iI, m.iV
        if mode == "voltage":
            # Build on the current-control form of the same Jacobian (collector balance
            # in row V, identity in row I): there V is eliminated along the
            # well-conditioned direction (a uniform potential shift).  Under voltage
            # control the current I follows from the prescribed V through the cell's
            # response to a unit current, x_unit = P^-1 e_I (whose V entry is the
            # differential cell resistance), see ``apply``.  Bordering I directly would
            # divide by the collector current, a small difference of large terms.
            # The two forms share the field rows; only rows I and V differ, so the few
            # entries of those rows that the build uses are read from J directly
            # (``_cc_column``, ``cc_row``) instead of stacking a copy of J.
            self.v_diag = float(J[m.iV, m.iV])
        assert m.iV == m.iI + 1 == n - 1  # (I, V) close the unknown vector
        ce = np.arange(m.slices["ce"].start, m.slices["ce"].stop)
        cs = np.arange(m.slices["cs"].start, m.slices["cs"].stop)
        pe = np.arange(m.slices["phie"].start, m.slices["phie"].stop)
        ps = np.arange(m.slices["phis"].start, m.slices["phis"].stop)
        # (current-control form) I is prescribed (identity row); V couples to the whole
        # field through a single row and column and is eliminated exactly (bordering)
        # instead of entering the AMG blocks
        self.known, self.border = m.iI, m.iV
        pot = np.r_[pe, ps]
        self.ce, self.cs, self.pot = ce, cs, pot
        self.n = n
        self.field = np.r_[ce, cs, pe, ps]
        # the field unknowns lead the state vector, the cell unknowns I, V close it
        assert self.field.size == n - 2 and np.array_equal(self.field, np.arange(n - 2))
        self.J_known_col = self._cc_column(J, self.known)
        self.J_known_diag = float(self.J_known_col[self.known])
        d_s = J.diagonal()[cs]
        d_s = np.where(np.abs(d_s) > 0, d_s, 1.0)
        self.d_s = d_s
        # the blocks are contiguous ranges of rows and columns: each is cut straight
        # out of J (SciPy's slice x slice submatrix, no copy of a whole row block),
        # and intermediates are dropped as soon as they are used.  The build's
        # memory peak is pyamg's set-up of the potential block (docs/voxel.md)
        s_ce, s_cs = m.slices["ce"], m.slices["cs"]
        s_pot = slice(m.slices["phie"].start, m.slices["phis"].stop)
        assert m.slices["phie"].stop == m.slices["phis"].start
        self.J_ps = J[s_pot, s_cs]
        J_sp = J[s_cs, s_pot]
        D_sp = J_sp.copy()
        D_sp.data *= np.repeat(1.0 / d_s, np.diff(D_sp.indptr))
        S = J[s_pot, s_pot]
        S -= self.J_ps @ D_sp
        del D_sp
        old_pot, old_ce, old_cs = reuse if reuse is not None else (None, None, None)
        self.ml_pot = self._block_cycle(S, False, old_pot)
        del S
        self.J_ce_pot = J[s_ce, s_pot]
        self.J_ce_cs = J[s_ce, s_cs]
        self.ml_ce = self._block_cycle(J[s_ce, s_ce], nogil, old_ce)
        self.J_cs_pot = J_sp
        self.ml_cs = self._block_cycle(J[s_cs, s_cs], nogil, old_cs)
        # bordering of the free cell variable b: w = P^-1 J[field, b], then
        # x_b = (r_b - J[b, field] P^-1 r) / (J_bb - J[b, field] w)
        col = self._cc_column(J, self.border)
        self.b_col = col[self.field]
        # row V of the current-control form: the collector balance (J's row I under
        # voltage control)
        cc_row = m.iI if mode == "voltage" else self.border
        row = J[[cc_row]].toarray().ravel()
        self.b_row = row[self.field]
        self.b_diag = float(row[self.border])
        self.w = self._accurate_field_solve(J, self.b_col, w0)
        schur = self.b_diag - float(self.b_row @ self.w)
        self.b_schur = schur if schur != 0.0 else self.b_diag
        if self.mode == "voltage":
            e = np.zeros(n)
            e[self.iI] = 1.0
            self.x_unit = self._apply_current(e)
            if self.x_unit[self.iV] == 0.0:
                self.x_unit[self.iV] = -1.0

    def _cc_column(self, J: sp.csr_matrix, j: int) -> np.ndarray:
        """Column ``j`` of the current-control form of ``J`` (dense): under voltage
        control row I of that form is the identity row of I and row V is J's row I
        (the collector balance); the field rows are J's own."""
        col = J[:, [j]].toarray().ravel()
        if self.mode == "voltage":
            col[self.iV] = J[self.iI, j]
            col[self.iI] = 1.0 if j == self.iI else 0.0
        return col

    @staticmethod
    def _block_cycle(A: sp.csr_matrix, nogil: bool, old: VCycle | None) -> VCycle | None:
        """A V-cycle on block ``A``: ``old`` refreshed with its values, else a new
        set-up (``None`` for an empty block)."""
        if A.shape[0] == 0:
            return None
        if old is not None:
            old.refresh(A)
            return old
        return VCycle(A, nogil=nogil)

    def _accurate_field_solve(
        self, J: sp.csr_matrix, b: np.ndarray, x0: np.ndarray | None = None
    ) -> np.ndarray:
        """``J_ff^-1 b`` to ``border_rtol`` (GMRES preconditioned by the field sweep).

        The bordering vector must be more accurate than one sweep: the Schur complement
        ``J_bb - J_bf w`` of V is a small difference of large terms (with one sweep it
        was off by 1,000x and GMRES needed 36-51 iterations on a random right-hand side
        instead of 21-25 at 32^3 and 64^3).  A relative residual of 0.1
        (``border_rtol``) already puts it within 0.3 % and gave the same GMRES counts
        as 1e-3 on four Jacobians of C/2 discharges (32 and 64^3, after 10 and 60 min),
        at about half the cost of the build's bordering solve.  ``J_ff`` (the
        field rows and columns: the leading ``n - 2`` unknowns) is applied through
        ``J`` itself, without copying it.
        """
        import scipy.sparse.linalg as spla

        if not np.any(b):
            return np.zeros_like(b)
        nf = self.field.size
        d = np.abs(J.diagonal()[:nf])
        d[d == 0] = 1.0
        pad = np.zeros(J.shape[0])

        def mv(v: np.ndarray) -> np.ndarray:
            pad[:nf] = np.asarray(v).ravel()
            return (J @ pad)[:nf] / d

        # dtype given: without it LinearOperator probes the operator once (a wasted sweep)
        A = spla.LinearOperator((nf, nf), mv, dtype=float)
        op = spla.LinearOperator(
            (nf, nf), lambda v: self._field_solve(np.asarray(v).ravel() * d), dtype=float
        )
        if x0 is not None and x0.shape != b.shape:
            x0 = None
        x, info = spla.gmres(
            A, b / d, x0=x0, M=op, rtol=self.border_rtol, atol=0.0, restart=60, maxiter=3
        )
        if info != 0:
            x = self._field_solve(b)
        return x

    def _field_solve(self, rf: np.ndarray) -> np.ndarray:
        """Block sweep over the field unknowns (ordered ce, cs, pe, ps as
        ``self.field``): local c_s elimination, potentials, then c_e and c_s side by
        side."""
        nce, ncs, npot = self.ce.size, self.cs.size, self.pot.size
        r_ce, r_cs, r_pot = rf[:nce], rf[nce : nce + ncs], rf[nce + ncs :]
        xs0 = r_cs / self.d_s
        xp = self.ml_pot.solve(r_pot - self.J_ps @ xs0)
        pending = None
        if self.ml_cs is not None:
            b_cs = r_cs - self.J_cs_pot @ xp
            if self.threads > 1:
                pending = _pool().submit(self.ml_cs.solve, b_cs)
            else:
                xs = self.ml_cs.solve(b_cs)
        else:
            xs = np.zeros(0)
        if self.ml_ce is not None:
            xc = self.ml_ce.solve(r_ce - self.J_ce_pot @ xp - self.J_ce_cs @ xs0)
        else:
            xc = np.zeros(0)
        if pending is not None:
            xs = pending.result()
        out = np.empty(nce + ncs + npot)
        out[:nce], out[nce : nce + ncs], out[nce + ncs :] = xc, xs, xp
        return out

    def apply(self, r: np.ndarray) -> np.ndarray:
        """Approximate ``J^-1 r`` (unscaled residual -> unscaled update)."""
        r = np.asarray(r, dtype=float).ravel()
        if self.mode == "current":
            return self._apply_current(r)
        # voltage control: row I holds the collector balance, row V is V - V_set
        s = r.copy()
        s[self.iV] = r[self.iI]
        s[self.iI] = 0.0
        x = self._apply_current(s)
        alpha = (r[self.iV] / self.v_diag - x[self.iV]) / self.x_unit[self.iV]
        return x + alpha * self.x_unit

    def _apply_current(self, r: np.ndarray) -> np.ndarray:
        """The current-control preconditioner (I prescribed, V bordered)."""
        x = np.zeros(self.n)
        xk = r[self.known] / self.J_known_diag
        x[self.known] = xk
        rr = r - self.J_known_col * xk
        z = self._field_solve(rr[self.field])
        xb = (rr[self.border] - float(self.b_row @ z)) / self.b_schur
        x[self.field] = z - self.w * xb
        x[self.border] = xb
        return x
