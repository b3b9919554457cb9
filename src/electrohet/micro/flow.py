"""Stokes flow through the pore phase: permeability and flow tortuosity.

Creeping (Stokes) flow ``mu lap(v) = grad(p)``, ``div(v) = 0`` is solved with finite
volumes on the voxel grid itself (a marker-and-cell, "MAC", staggered grid): the
pressure lives at pore-voxel centres, each velocity component on the voxel faces normal
to it.  Boundary conditions:

* no slip on every pore/solid interface (staircase walls on the voxel faces: a face
  touching a solid voxel carries zero normal velocity; a tangential neighbour across a
  wall is the mirror image ``-v``, i.e. the wall lies half a voxel away);
* along ``axis``: reservoir pressures ``p = dp`` before the inlet face and ``p = 0``
  after the outlet face, imposed at the centres of ghost voxels half a voxel outside
  the volume, with zero normal derivative of the velocity (fully developed flow), so
  the Darcy length is ``L = (n_axis + 1) h_axis``: exact for straight channels;
* the four side faces are impermeable; ``sides="slip"`` (default, a mirror plane:
  the sample is cut out of a larger electrode) or ``sides="wall"`` (no slip, a sleeve).

Only pore voxels 6-connected to both faces carry flow (the others are dead ends with
zero velocity and would make the pressure undetermined).  The symmetric saddle-point
system is solved directly (sparse LU, ``method="direct"``) when small, else
(``"minres-mg"``, :mod:`electrohet.micro.stokes_mg`) by matrix-free MINRES with float32
Krylov vectors and float64 iterative refinement, preconditioned by a two-grid cycle per
velocity component and, for the pressure, the pore-scale identity plus the inverse of a
Darcy-scale conductance Laplacian ``G^T diag(A^-1 1) G`` (smoothed-aggregation AMG
W-cycle): its iterations do not grow with the volume at fixed pore size.  The former
iterative path (``"minres-amg"``: assembled matrices, AMG on the viscous block, the
identity on the pressure block, iterations growing with the size) is kept for
comparison.

Results (superficial velocity ``U`` = flow rate / full cross-section)::

    k     = mu U L / dp                         # permeability (m^2), Darcy's law
    tau_v = sum |V| / sum V_axis                # flow tortuosity (Zhang 2023, Avizo
                                                # XLab), sums over the pore voxels

with ``V`` the cell-centred velocity (mean of the two face values per component).
A pore phase that does not percolate gives ``k = 0`` and ``tau_v = inf`` with a
:class:`~electrohet.micro.transport.NonPercolatingWarning`; a volume without pore
voxels is rejected, and so is an all-pore volume with ``sides="slip"`` (nothing would
resist the flow: unbounded permeability).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import DataError, ParameterError
from electrohet.micro.transport import NonPercolatingWarning, percolating_mask
from electrohet.micro.volume import LabelledVolume


@dataclass
class FlowResult:
    """Result of :func:`stokes_flow`.

    Attributes
    ----------
    permeability
        Darcy permeability along ``axis`` (m^2; in voxel units squared when the input
        was a plain array without ``spacing``).
    tau_flow
        Flow tortuosity ``sum |V| / sum V_axis`` over the pore voxels (``inf`` when the
        pore phase does not percolate).
    porosity
        Pore volume fraction.
    percolating_fraction
        Share of the pore voxels connected to both faces.
    axis
        Flow axis.
    mean_velocity
        Superficial velocity ``U`` for the given ``dp`` and ``viscosity`` (m/s).
    dp, viscosity, length
        Pressure drop (Pa), dynamic viscosity (Pa s) and Darcy length (m).
    method, iterations, residual, seconds
        Solver used (``"direct"``, ``"minres-mg"``, ``"minres-amg"`` or ``"none"``), its
        iterations,
        the final relative residual of the saddle-point system and the wall time.
    mass_balance
        ``|Q_in - Q_out| / Q_in``, the relative mass balance reached: round-off
        (~1e-12) with the direct solver; with MINRES at most ``mass_tol`` (1e-6 by
        default), or, when ``maxiter`` ran out first, the value reached (a
        :class:`FlowAccuracyWarning` says so).
    converged
        Whether the direct solve ran, or MINRES reached ``rtol`` and ``mass_tol``.
    unknowns
        Size of the saddle-point system (face velocities + cell pressures).
    velocity
        Cell-centred velocity (3, nz, ny, nx) in m/s (component order z, y, x), zero in
        solid and dead-end voxels; ``None`` unless requested.
    pressure
        Pressure at voxel centres (Pa, NaN outside the flowing pore set); ``None``
        unless requested.
    """

    permeability: float
    tau_flow: float
    porosity: float
    percolating_fraction: float
    axis: int
    mean_velocity: float = 0.0
    dp: float = 1.0
    viscosity: float = 1.0
    length: float = 0.0
    method: str = "none"
    iterations: int = 0
    residual: float = 0.0
    seconds: float = 0.0
    mass_balance: float = 0.0
    converged: bool = True
    unknowns: int = 0
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    velocity: np.ndarray | None = field(default=None, repr=False)
    pressure: np.ndarray | None = field(default=None, repr=False)

    @property
    def percolating(self) -> bool:
        """Whether any pore path connects the two faces."""
        return self.permeability > 0

    def as_dict(self) -> dict:
        """Plain-dict summary (no arrays), for JSON; ``tau_flow`` is ``None`` if inf."""
        out = {}
        for k, v in self.__dict__.items():
            if k in ("velocity", "pressure"):
                continue
            if isinstance(v, (float, np.floating)):
                v = float(v)
                if not np.isfinite(v):
                    v = None
            out[k] = v
        out["percolating"] = self.percolating
        return out

    def to_dataset(self):
        """Velocity (and pressure) as an :class:`xarray.Dataset` with dims ``z, y, x``."""
        import xarray as xr

        if self.velocity is None:
            raise ParameterError("velocity was not kept: call stokes_flow(..., return_fields=True)")
        nz, ny, nx = self.velocity.shape[1:]
        hz, hy, hx = self.spacing
        coords = {
            "z": ("z", (np.arange(nz) + 0.5) * hz, {"units": "m"}),
            "y": ("y", (np.arange(ny) + 0.5) * hy, {"units": "m"}),
            "x": ("x", (np.arange(nx) + 0.5) * hx, {"units": "m"}),
        }
        data = {
            f"v{c}": (("z", "y", "x"), self.velocity[i], {"units": "m/s"})
            for i, c in enumerate("zyx")
        }
        if self.pressure is not None:
            data["p"] = (("z", "y", "x"), self.pressure, {"units": "Pa"})
        attrs = {
            k: (v if v is not None else "nan")
            for k, v in self.as_dict().items()
            if not isinstance(v, (tuple, bool))
        }
        attrs["percolating"] = int(self.percolating)
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def save_velocity(self, path: str | Path) -> Path:
        """Write the velocity field to a Zarr store (``vz, vy, vx`` and ``p``)."""
        p = Path(path)
        self.to_dataset().to_zarr(p, mode="w", consolidated=False)
        return p


_METHODS = ("auto", "direct", "minres-mg", "minres-amg")
#: Unknowns per flowing cell (3 staggered velocities + 1 pressure), for the solver
#: switch before the grids are built (3.54-3.55 measured at porosity 0.35).
_UNKNOWNS_PER_CELL = 3.55


class FlowAccuracyWarning(UserWarning):
    """The iterative Stokes solve stopped before reaching its mass-balance target."""


def _pore_mask(volume: LabelledVolume | np.ndarray, phase: str | int) -> tuple[np.ndarray, tuple]:
    if isinstance(volume, LabelledVolume):
        vol = volume.compute()
        lab = vol.require(phase) if isinstance(phase, str) else int(phase)
        return np.asarray(vol.data) == lab, tuple(float(v) for v in vol.voxel_size)
    data = np.asarray(volume)
    if data.dtype == bool:
        return data, (1.0, 1.0, 1.0)
    if isinstance(phase, str):
        raise ParameterError("with a plain integer array, phase must be an integer label")
    return data == int(phase), (1.0, 1.0, 1.0)


def stokes_flow(
    volume: LabelledVolume | np.ndarray,
    axis: int | None = None,
    *,
    phase: str | int = "pore",
    spacing: Sequence[float] | None = None,
    dp: float = 1.0,
    viscosity: float = 1.0,
    sides: str = "slip",
    rtol: float = 1e-8,
    maxiter: int = 5000,
    mass_tol: float = 1e-6,
    direct_below: int = 80_000,
    method: str = "auto",
    return_fields: bool = False,
    warn: bool = True,
    progress: bool = False,
) -> FlowResult:
    """Solve Stokes flow through the pore phase; permeability and flow tortuosity.

    Parameters
    ----------
    volume
        :class:`LabelledVolume`, a boolean array (True = pore) or an integer array
        (``phase`` is then the pore label).
    axis
        Flow axis (default: the volume's thickness axis, or 0).
    phase
        Pore phase name or label.
    spacing
        Voxel edge lengths (z, y, x) in m; default the volume's voxel size (1 for
        plain arrays, so ``permeability`` comes in voxel units squared).
    dp
        Pressure drop between the reservoirs (Pa); only scales the velocity.
    viscosity
        Dynamic viscosity (Pa s); only scales the velocity.
    sides
        ``"slip"`` (mirror planes) or ``"wall"`` (no slip) on the four side faces.
    rtol
        Relative residual of the saddle-point system at which the iterative solvers stop
        (``"minres-mg"``: the float64 residual after a refinement pass).
    maxiter
        Maximum MINRES iterations in total; when they run out, the result keeps the
        mass balance reached (``converged = False``, :class:`FlowAccuracyWarning`).
    mass_tol
        Target of the relative mass balance ``|Q_in - Q_out| / Q_in``.  The MINRES
        residual alone does not bound it (``rtol = 1e-5`` left 3e-3 on a real crop):
        after each pass the balance is checked, and MINRES restarts from the solution
        (``"minres-amg"``: with a residual target lowered by the factor still missing)
        until the balance is <= ``mass_tol`` (and, ``"minres-mg"``, the residual <=
        ``rtol``) or ``maxiter`` is spent.
    direct_below
        With ``method="auto"``, use sparse LU when the system has fewer unknowns
        (estimated as 3.55 per flowing pore voxel); LU and ``"minres-mg"`` cost about the
        same CPU time at 80,000 unknowns (40^3 blobs of porosity 0.35), and LU's memory
        grows like ``n^(4/3)``.
    method
        ``"auto"`` (default: ``"direct"`` below ``direct_below``, else ``"minres-mg"``),
        ``"direct"`` (sparse LU), ``"minres-mg"`` (lean matrix-free MINRES,
        :func:`electrohet.micro.stokes_mg.solve_stokes_mg`) or ``"minres-amg"`` (MINRES on
        the assembled system, AMG / identity preconditioner; slower, for comparison).
    return_fields
        Keep the cell-centred velocity and the pressure in the result.
    warn
        Warn when the pore phase does not percolate.
    progress
        Show a progress bar over the MINRES iterations of ``"minres-mg"`` (advanced
        every 20 iterations and at each refinement pass, with the residual).

    Returns
    -------
    FlowResult
    """
    t0 = time.perf_counter()
    pore, h_vol = _pore_mask(volume, phase)
    if pore.ndim != 3:
        raise DataError(f"volume has {pore.ndim} dimensions; a 3D volume (nz, ny, nx) is needed")
    if axis is None:
        axis = volume.thickness_axis if isinstance(volume, LabelledVolume) else 0
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    if sides not in ("slip", "wall"):
        raise ParameterError(f"sides = {sides!r}; allowed: 'slip', 'wall'")
    if method not in _METHODS:
        raise ParameterError(f"method = {method!r}; allowed: {', '.join(_METHODS)}")
    for key, val in (("dp", dp), ("viscosity", viscosity)):
        if not np.isfinite(val) or val <= 0:
            raise ParameterError(f"{key} = {val!r} must be finite and > 0")
    hphys = np.asarray(h_vol if spacing is None else spacing, dtype=np.float64)
    if hphys.shape != (3,) or np.any(~np.isfinite(hphys)) or np.any(hphys <= 0):
        raise ParameterError(f"spacing = {spacing!r} must be three positive lengths (z, y, x)")
    n_pore = int(pore.sum())
    if n_pore == 0:
        raise DataError("the volume has no pore voxels: no flow can be computed")
    if sides == "slip" and n_pore == pore.size:
        # plug flow between mirror planes: no shear anywhere, the Stokes system is
        # singular (the LU returned k ~ -2e16 voxel^2 on a 14^3 box, the lean solver a
        # singular coarse factor)
        raise DataError(
            "the volume is all pore and sides='slip' (mirror planes): no surface resists "
            "the flow, so the permeability is unbounded; use sides='wall' (a sleeve) or a "
            "volume with solid voxels"
        )
    porosity = n_pore / pore.size

    # work with the flow axis first, lengths in units of the smallest edge
    s = np.moveaxis(pore, axis, 0)
    perm = [axis] + [i for i in range(3) if i != axis]
    hmin = float(hphys.min())
    h = hphys[perm] / hmin
    n0, n1, n2 = s.shape
    mask = percolating_mask(s, 0)
    n_cells = int(mask.sum())
    length_nd = (n0 + 1) * h[0]
    res = FlowResult(
        permeability=0.0,
        tau_flow=float("inf"),
        porosity=porosity,
        percolating_fraction=n_cells / n_pore,
        axis=int(axis),
        dp=float(dp),
        viscosity=float(viscosity),
        length=float(length_nd * hmin),
        spacing=tuple(float(v) for v in hphys),
    )
    if n_cells == 0:
        if warn:
            warnings.warn(
                f"the pore phase does not percolate along axis {axis}: "
                "permeability = 0, flow tortuosity = inf",
                NonPercolatingWarning,
                stacklevel=2,
            )
        if return_fields:
            res.velocity = np.zeros((3, *pore.shape))
            res.pressure = np.full(pore.shape, np.nan)
        res.seconds = time.perf_counter() - t0
        return res

    method = _choose_method(method, n_cells, direct_below)
    if method == "minres-mg":
        from electrohet.micro.stokes_mg import solve_stokes_mg

        del pore
        faces, cid, nu = _index_grids(mask, np.int32)
        del mask
        bar = _progress_bar(progress, maxiter)
        try:
            sol = solve_stokes_mg(
                (faces[0], faces[1], faces[2]),
                cid,
                nu,
                n_cells,
                h,
                sides == "wall",
                rtol=rtol,
                mass_tol=mass_tol,
                maxiter=maxiter,
                callback=None if bar is None else _bar_callback(bar),
            )
        finally:
            if bar is not None:
                bar.close()
        x = sol.x
        res.iterations, res.converged, res.residual = sol.iterations, sol.converged, sol.residual
        mb = sol.mass_balance
    else:
        A, G, b, faces, cid = _assemble(mask, h, sides)
        nu = A.shape[0]
        Kmat = sp.bmat([[A, G], [G.T, None]], format="csr")
        rhs = np.concatenate([b, np.zeros(n_cells)])
        del A, G, b
        if method == "direct":
            x = spla.spsolve(Kmat.tocsc(), rhs)
        else:
            x, res.iterations, mb, res.converged = _minres_amg(
                Kmat,
                nu,
                rhs,
                rtol,
                maxiter,
                lambda v: _mass_balance(v[:nu], faces, h)[3],
                mass_tol,
            )
        res.residual = float(np.linalg.norm(rhs - Kmat @ x) / np.linalg.norm(rhs))
        del Kmat
    res.method = method
    res.unknowns = int(nu + n_cells)
    if not res.converged and warn:
        warnings.warn(
            f"Stokes {method} stopped after {res.iterations} iterations (maxiter) with a "
            f"relative mass balance |Q_in - Q_out| / Q_in = {mb:.2e} > mass_tol = "
            f"{mass_tol:.0e}; the permeability is uncertain at about that level",
            FlowAccuracyWarning,
            stacklevel=2,
        )
    u = x[:nu]
    p = x[nu:]
    from electrohet.micro._stokes_kernels import plane_flows, speed_sums

    face_tuple = (faces[0], faces[1], faces[2])
    q_in, q_out = plane_flows(face_tuple, u, h)
    res.mass_balance = abs(q_in - q_out) / abs(q_in) if q_in else 0.0
    u_sup = q_out / (n1 * h[1] * n2 * h[2])  # superficial velocity, nondim (mu = dp = 1)
    k_nd = u_sup * length_nd
    res.permeability = float(k_nd * hmin**2)
    vscale = dp * hmin / viscosity  # velocity unit for lengths in hmin, p in dp
    res.mean_velocity = float(u_sup * vscale)
    s_abs, s_ax = speed_sums(face_tuple, cid, u)
    res.tau_flow = float(s_abs / s_ax)
    if return_fields:
        vel_faces = _mass_balance(u, faces, h)[0]
        cell_v = [
            0.5
            * (
                np.take(vf, range(0, s.shape[d]), axis=d)
                + np.take(vf, range(1, s.shape[d] + 1), axis=d)
            )
            for d, vf in enumerate(vel_faces)
        ]
        # back to the caller's axis order, physical units
        comp = [None, None, None]
        for d, ax in enumerate(perm):
            comp[ax] = np.moveaxis(cell_v[d], 0, axis) * vscale
        res.velocity = np.stack(comp)
        pf = np.full(s.shape, np.nan)
        pf[cid >= 0] = p[cid[cid >= 0]] * dp
        res.pressure = np.moveaxis(pf, 0, axis)
    res.seconds = time.perf_counter() - t0
    return res


def periodic_permeability(
    volume: LabelledVolume | np.ndarray,
    axis: int = 0,
    *,
    cells: int = 3,
    phase: str | int = "pore",
    spacing: Sequence[float] | None = None,
    **kwargs,
) -> tuple[float, FlowResult]:
    """Permeability of the medium made by repeating a cell periodically along ``axis``.

    :func:`stokes_flow` models a sample between two open reservoirs (zero normal
    derivative of the velocity on the end planes); a sample read that way differs from
    the same cell repeated without end (on a sphere pack at 48^3 the reservoir value
    was 1.8 % above the periodic one).  Here ``cells`` copies are stacked between the
    reservoirs and the mean pressure gradient is read between two identical slices one
    period apart in the middle copy, ``G = (<p>_a - <p>_b) / L`` over the flowing pore
    voxels of each slice, where the reservoirs' end effects have decayed; ``k = mu U /
    G`` with ``U`` the superficial velocity.  Checks
    (``tests/micro/test_micro_flow.py``): 3 and 5 copies agree to 1e-5 on a sphere
    array, straight plates give the reservoir solve's value to 1e-9, and the
    simple-cubic sphere array converges to Zick & Homsy's exact drag.

    The four side faces stay mirror planes (``sides="slip"``), so the result is the
    periodic permeability across the flow too only when the cell is mirror-symmetric
    across the flow (e.g. a centred sphere); otherwise it is that of the cell mirrored
    sideways and repeated along ``axis``.

    Parameters
    ----------
    volume
        One cell: :class:`LabelledVolume`, a boolean array (True = pore) or an integer
        array (``phase`` is then the pore label).
    axis
        Flow and repetition axis.
    cells
        Copies stacked (>= 3) [-].
    phase, spacing
        As in :func:`stokes_flow` (``spacing`` in m; voxel units without it).
    **kwargs
        Passed on to :func:`stokes_flow` (``method``, ``rtol``, ``mass_tol``, ...).

    Returns
    -------
    (k, result)
        The periodic permeability (m^2, or voxel units squared) and the
        :class:`FlowResult` of the stacked solve (its ``permeability`` is the
        reservoir reading of the stack).
    """
    if not isinstance(cells, (int, np.integer)) or cells < 3:
        raise ParameterError(f"cells = {cells!r}: at least 3 copies are needed")
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    if kwargs.get("sides", "slip") != "slip":
        raise ParameterError("periodic_permeability needs sides='slip' (mirror planes)")
    pore, h_vol = _pore_mask(volume, phase)
    if pore.ndim != 3:
        raise DataError(f"volume has {pore.ndim} dimensions; a 3D volume (nz, ny, nx) is needed")
    h = np.asarray(h_vol if spacing is None else spacing, dtype=np.float64)
    n = pore.shape[axis]
    stack = np.concatenate([pore] * int(cells), axis=axis)
    r = stokes_flow(stack, axis, spacing=tuple(h), return_fields=True, warn=False, **kwargs)
    if not np.isfinite(r.tau_flow) or r.mean_velocity == 0.0 or r.pressure is None:
        return 0.0, r
    p = np.moveaxis(r.pressure, axis, 0)
    mid = int(cells) // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slice: no flow there
        drop = float(np.nanmean(p[mid * n]) - np.nanmean(p[(mid + 1) * n]))
    if not np.isfinite(drop) or drop <= 0.0:
        raise DataError(
            "the two reading slices of the middle copy hold no flowing pore voxel; "
            "choose an axis along which the cell's end slices are open"
        )
    grad = drop / (n * float(h[axis]))
    return float(r.viscosity * r.mean_velocity / grad), r


def _choose_method(method: str, n_cells: int, direct_below: int) -> str:
    """The solver for ``n_cells`` flowing cells: ``"auto"`` picks the sparse LU below
    ``direct_below`` estimated unknowns (3.55 per cell), else ``"minres-mg"``."""
    if method != "auto":
        return method
    return "direct" if n_cells * _UNKNOWNS_PER_CELL < direct_below else "minres-mg"


def _progress_bar(progress: bool, maxiter: int):
    """A progress bar over MINRES iterations (``None`` unless ``progress``)."""
    if not progress:
        return None
    from electrohet.progress import progress_bar

    return progress_bar(maxiter, "Stokes MINRES")


def _bar_callback(bar):
    """Callback of :func:`~electrohet.micro.stokes_mg.solve_stokes_mg` advancing ``bar``
    to the iteration count and showing the residual."""
    from electrohet.progress import show_detail

    done = [0]

    def cb(its: int, rel: float) -> None:
        bar.update(its - done[0])
        done[0] = its
        show_detail(bar, f"residual {rel:.1e}")

    return cb


def _index_grids(mask: np.ndarray, dtype) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Unknown numbers of the MAC grid on the flowing cells ``mask`` (flow along 0).

    Returns the three face grids (shape ``n_d + 1`` along ``d``; -1 where no unknown:
    faces between two flowing cells, and along axis 0 the inlet/outlet faces of
    flowing cells; velocity unknowns ``0 .. nu - 1`` in component order), the cell grid
    (pressure unknowns ``0 .. n_cells - 1``, C order, -1 elsewhere) and ``nu``.
    """
    n = mask.shape
    cid = np.full(n, -1, dtype=dtype)
    cid[mask] = np.arange(int(mask.sum()), dtype=dtype)
    faces = []
    offset = 0
    for d in range(3):
        # face j along d between cells j-1 and j (j = 0..n_d)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        pad = np.pad(mask, [(1, 1) if e == d else (0, 0) for e in range(3)])
        lo[d] = slice(0, n[d] + 1)
        hi[d] = slice(1, n[d] + 2)
        lo_c, hi_c = pad[tuple(lo)], pad[tuple(hi)]
        act = lo_c & hi_c
        if d == 0:
            act[0] = hi_c[0]
            act[-1] = lo_c[-1]
        del pad, lo_c, hi_c
        fid = np.full(act.shape, -1, dtype=dtype)
        k = int(act.sum())
        fid[act] = np.arange(offset, offset + k, dtype=dtype)
        offset += k
        faces.append(fid)
    return faces, cid, offset


def _assemble(mask: np.ndarray, h: np.ndarray, sides: str):
    """MAC Stokes blocks on the flowing cells ``mask`` (flow along axis 0).

    Returns the viscous block ``A`` (SPD), the gradient ``G`` (faces x cells), the
    right-hand side ``b`` (inlet reservoir pressure = 1), the face index grids (one per
    direction, shape ``n_d + 1`` along ``d``, -1 where no unknown) and the cell index
    grid.
    """
    n = mask.shape
    faces, cid, nu = _index_grids(mask, np.int64)
    n_cells = int(mask.sum())

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    diag = np.zeros(nu)
    for d in range(3):
        fid = faces[d]
        for e in range(3):
            c = 1.0 / h[e] ** 2
            fpad = np.pad(fid, [(1, 1) if i == e else (0, 0) for i in range(3)], constant_values=-2)
            for shift in (-1, 1):
                sl = [slice(None)] * 3
                sl[e] = slice(1 + shift, fid.shape[e] + 1 + shift)
                nb = fpad[tuple(sl)]
                me = fid >= 0
                both = me & (nb >= 0)
                a, bb = fid[both], nb[both]
                rows.append(a)
                cols.append(bb)
                vals.append(np.full(a.size, -c))
                diag += np.bincount(a, minlength=nu) * c
                # neighbour is a wall face (zero velocity) inside the domain
                wall = me & (nb == -1)
                w = fid[wall]
                # same direction: wall face one voxel away; transverse: wall half a voxel away
                diag += np.bincount(w, minlength=nu) * (c if e == d else 2.0 * c)
                outside = me & (nb == -2)
                if e != 0 and sides == "wall" and e != d:
                    diag += np.bincount(fid[outside], minlength=nu) * 2.0 * c
                # e == 0 outside: zero normal derivative at inlet/outlet; slip sides: none;
                # e == d != 0 outside cannot occur (side faces are not unknowns)
    rows.append(np.arange(nu))
    cols.append(np.arange(nu))
    vals.append(diag)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nu, nu)
    )
    # gradient: row = face, +1/h at the cell above, -1/h at the cell below
    g_rows, g_cols, g_vals = [], [], []
    b = np.zeros(nu)
    for d in range(3):
        fid = faces[d]
        cpad = np.pad(cid, [(1, 1) if i == d else (0, 0) for i in range(3)], constant_values=-1)
        sl_lo = [slice(None)] * 3
        sl_hi = [slice(None)] * 3
        sl_lo[d] = slice(0, n[d] + 1)
        sl_hi[d] = slice(1, n[d] + 2)
        c_lo, c_hi = cpad[tuple(sl_lo)], cpad[tuple(sl_hi)]
        act = fid >= 0
        for cgrid, sign in ((c_hi, 1.0), (c_lo, -1.0)):
            ok = act & (cgrid >= 0)
            g_rows.append(fid[ok])
            g_cols.append(cgrid[ok])
            g_vals.append(np.full(int(ok.sum()), sign / h[d]))
        if d == 0:
            inlet = fid[0][fid[0] >= 0]
            b[inlet] = 1.0 / h[0]  # reservoir p = 1 in the ghost cell before the inlet
    G = sp.csr_matrix(
        (np.concatenate(g_vals), (np.concatenate(g_rows), np.concatenate(g_cols))),
        shape=(nu, n_cells),
    )
    return A, G, b, faces, cid


def _mass_balance(u: np.ndarray, faces: list[np.ndarray], h: np.ndarray):
    """Face velocities on the full staggered grids (zero on walls, nondimensional), the
    flow in and out along axis 0 and their relative imbalance ``|Q_in - Q_out| / Q_in``."""
    vel_faces = []
    for d in range(3):
        fid = faces[d]
        full = np.zeros(fid.shape)
        sel = fid >= 0
        full[sel] = u[fid[sel]]
        vel_faces.append(full)
    area0 = h[1] * h[2]
    q_in = float(vel_faces[0][0].sum() * area0)
    q_out = float(vel_faces[0][-1].sum() * area0)
    mb = abs(q_in - q_out) / abs(q_in) if q_in else 0.0
    return vel_faces, q_in, q_out, mb


def _minres_amg(K, nu: int, rhs: np.ndarray, rtol: float, maxiter: int, balance, mass_tol):
    """MINRES on the saddle-point system with block-diagonal AMG / identity preconditioner.

    Passes of MINRES, each restarted from the last solution, until the relative mass
    balance ``balance(x)`` is <= ``mass_tol`` or ``maxiter`` iterations are spent; a
    pass's residual target is the previous one times the factor by which the balance
    still misses (at most 1e-3, at least 1e-1 smaller), not below 1e-14.

    Returns
    -------
    tuple
        ``(x, iterations, mass balance, reached)``.
    """
    import pyamg

    ml = pyamg.smoothed_aggregation_solver(
        K[:nu, :nu].tocsr(), symmetry="hermitian", max_coarse=500
    )
    n = K.shape[0]

    def apply(r: np.ndarray) -> np.ndarray:
        out = np.empty_like(r)
        out[:nu] = ml.solve(r[:nu], maxiter=1, cycle="V", tol=1e-30)
        out[nu:] = r[nu:]
        return out

    M = spla.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    it = [0]

    def cb(_xk: np.ndarray) -> None:
        it[0] += 1

    x = None
    tol = rtol
    bnorm = float(np.linalg.norm(rhs))
    while True:
        x, _info = spla.minres(
            K, rhs, x0=x, M=M, rtol=tol, maxiter=max(1, maxiter - it[0]), callback=cb
        )
        mb = balance(x)
        if mb <= mass_tol:
            return x, it[0], mb, True
        if it[0] >= maxiter or tol <= 1e-14:
            return x, it[0], mb, False
        # minres's rtol is relative to |b| when restarted from x0 as well (SciPy); lower
        # the target by the factor still missing, within [1e-3, 1e-1]
        res = float(np.linalg.norm(rhs - K @ x)) / bnorm
        tol = max(1e-14, min(tol, res) * min(0.1, max(1e-3, 0.5 * mass_tol / mb)))
