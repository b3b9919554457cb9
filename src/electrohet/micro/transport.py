"""Tortuosity factor and effective conductivity from a steady diffusion solve.

The conducting voxels (a set of phases, each with a relative conductivity) carry a
potential ``u`` solving ``div(sigma grad u) = 0`` with ``u = 1`` and ``u = 0`` on the two
faces normal to ``axis`` (Dirichlet, imposed on the outer voxel faces) and no flux
through the four side faces.  Finite volumes on the voxel grid (7-point stencil): the
conductance of the face between voxels i and j is ``A / h * 2 s_i s_j / (s_i + s_j)``
(harmonic mean, exact for layers in series), a boundary face has ``2 s_i A / h``.

The matrix is assembled only on voxels connected (6-connectivity, the stencil's
connectivity) to both Dirichlet faces; the others carry no steady flux and would make
the matrix singular.  The system is solved by conjugate gradients preconditioned with
an aggregation multigrid V-cycle (:mod:`electrohet.micro.amg`), or by sparse LU for
small systems.

Definitions (``sigma_bulk`` = 1, the relative conductivity of the reference phase)::

    sigma_eff = F L / (A_cross (u_in - u_out))        # relative effective conductivity
    tau       = eps * sigma_bulk / sigma_eff           # tortuosity factor
    eps       = volume fraction of the conducting phase set (all of its voxels,
                percolating or not, weighted by ``volume_weights``)

This is the definition used by TauFactor (``tau = VF / D_rel``).  A phase set with no
path between the faces returns ``tau = inf`` and ``sigma_eff = 0`` with a warning.
Flow (hydraulic) tortuosity from Stokes flow is not implemented yet.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import ParameterError, SolverError
from electrohet.micro.volume import LabelledVolume


class NonPercolatingWarning(UserWarning):
    """The conducting phase has no connected path between the two Dirichlet faces."""


@dataclass
class TortuosityResult:
    """Result of :func:`tortuosity`.

    Attributes
    ----------
    tau
        Tortuosity factor (dimensionless, ``inf`` when not percolating).
    sigma_eff_rel
        Effective conductivity relative to the reference conductivity (= D_eff/D_bulk).
    sigma_eff
        Effective conductivity in the units of ``sigma_bulk`` (S/m or m^2/s).
    eps
        Volume fraction of the conducting phase set.
    percolating_fraction
        Share of the conducting voxels connected to both faces.
    axis
        Axis of the imposed gradient.
    iterations
        CG iterations (0 for a direct solve).
    method
        ``"cg-amg"``, ``"direct"`` or ``"none"``.
    flux_in, flux_out
        Dimensionless fluxes through the inlet and outlet faces.
    flux_nonuniformity
        (max - min) / mean of the flux through each plane normal to ``axis``; the
        convergence measure TauFactor uses (it stops below 1e-2).
    residual
        Final relative residual ``|b - A u| / |b|``.
    seconds
        Wall time of assembly + solve.
    potential
        Potential field (NaN outside the percolating set) when requested.
    """

    tau: float
    sigma_eff_rel: float
    sigma_eff: float
    eps: float
    percolating_fraction: float
    axis: int
    iterations: int = 0
    method: str = "none"
    flux_in: float = 0.0
    flux_out: float = 0.0
    flux_nonuniformity: float = float("nan")
    residual: float = 0.0
    seconds: float = 0.0
    potential: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """Plain-dict summary (no arrays), for JSON."""
        return {
            k: (float(v) if isinstance(v, (float, np.floating)) else v)
            for k, v in self.__dict__.items()
            if k != "potential"
        }


def percolating_mask(conducting: np.ndarray, axis: int = 0) -> np.ndarray:
    """Voxels of ``conducting`` 6-connected to both faces normal to ``axis``.

    Parameters
    ----------
    conducting
        Boolean 3D array.
    axis
        Axis along which percolation is tested.
    """
    import cc3d

    lab = cc3d.connected_components(
        np.ascontiguousarray(conducting, dtype=np.uint8), connectivity=6
    )
    first = np.unique(np.take(lab, 0, axis=axis))
    last = np.unique(np.take(lab, -1, axis=axis))
    keep = np.intersect1d(first, last)
    keep = keep[keep > 0]
    lut = np.zeros(int(lab.max()) + 1, dtype=bool)
    lut[keep] = True
    return lut[lab]


def _conductivity_field(data: np.ndarray, conductivities: Mapping[int, float]) -> np.ndarray:
    lut = np.zeros(int(max(int(data.max()), max(conductivities))) + 1, dtype=np.float64)
    for lab, s in conductivities.items():
        if not np.isfinite(s) or s < 0:
            raise ParameterError(f"conductivity of label {lab} = {s!r} must be finite and >= 0")
        lut[int(lab)] = float(s)
    return lut[data]


def solve_conductivity(
    sigma: np.ndarray,
    axis: int = 0,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    rtol: float = 1e-6,
    maxiter: int = 2000,
    direct_below: int = 30000,
    return_potential: bool = False,
) -> dict:
    """Solve the steady conduction problem on a conductivity field.

    Parameters
    ----------
    sigma
        Relative conductivity per voxel (0 = insulating), shape (nz, ny, nx).
    axis
        Axis of the applied potential difference (1 at index 0, 0 at the far end).
    spacing
        Voxel edge lengths (z, y, x) in any unit (only ratios matter).
    rtol
        Relative residual at which CG stops.
    maxiter
        Maximum CG iterations (:class:`SolverError` beyond).
    direct_below
        Use sparse LU when fewer unknowns remain.
    return_potential
        Also return the potential field.

    Returns
    -------
    dict
        ``sigma_eff_rel``, ``flux_in``, ``flux_out``, ``flux_nonuniformity``,
        ``iterations``, ``method``, ``residual``, ``percolating_fraction``,
        ``potential``.
    """
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    s = np.moveaxis(np.asarray(sigma, dtype=np.float64), axis, 0)
    h = np.asarray(spacing, dtype=np.float64)
    h = np.array([h[axis]] + [h[i] for i in range(3) if i != axis])
    h = h / h.min()
    n0, n1, n2 = s.shape
    conducting = s > 0
    n_cond = int(conducting.sum())
    mask = percolating_mask(conducting, 0) if n_cond else conducting
    n = int(mask.sum())
    out = {
        "sigma_eff_rel": 0.0,
        "flux_in": 0.0,
        "flux_out": 0.0,
        "flux_nonuniformity": float("nan"),
        "iterations": 0,
        "method": "none",
        "residual": 0.0,
        "percolating_fraction": n / n_cond if n_cond else 0.0,
        "potential": None,
    }
    if n == 0:
        return out

    idx = np.full(s.shape, -1, dtype=np.int64)
    idx[mask] = np.arange(n)
    sv = s[mask]
    diag = np.zeros(n)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    area = [h[1] * h[2], h[0] * h[2], h[0] * h[1]]
    face_g: list = []
    for d in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[d] = slice(0, -1)
        hi[d] = slice(1, None)
        ia, ib = idx[tuple(lo)], idx[tuple(hi)]
        both = (ia >= 0) & (ib >= 0)
        a, b = ia[both], ib[both]
        sa, sb = sv[a], sv[b]
        g = area[d] / h[d] * 2.0 * sa * sb / (sa + sb)
        rows += [a, b]
        cols += [b, a]
        vals += [-g, -g]
        diag += np.bincount(a, weights=g, minlength=n) + np.bincount(b, weights=g, minlength=n)
        if d == 0:
            face_g = [a, b, g, np.nonzero(both)[0]]  # plane index of each face
    g_bc = 2.0 * area[0] / h[0]
    inlet = idx[0][idx[0] >= 0]
    outlet = idx[-1][idx[-1] >= 0]
    gin = g_bc * sv[inlet]
    gout = g_bc * sv[outlet]
    diag[inlet] += gin  # each boundary voxel appears once per face
    diag[outlet] += gout
    rhs = np.zeros(n)
    rhs[inlet] += gin  # u_in = 1
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    del rows, cols, vals

    if n < direct_below:
        u = spla.spsolve(A.tocsc(), rhs)
        out["method"] = "direct"
    else:
        from electrohet.micro.amg import AggregationAMG

        coords = np.argwhere(mask)
        amg = AggregationAMG(A, coords)
        del coords
        it = [0]

        def cb(_xk: np.ndarray) -> None:
            it[0] += 1

        # initial guess: the linear profile of a straight channel
        x0 = 1.0 - (np.nonzero(mask)[0] + 0.5) / n0
        u, info = spla.cg(
            A,
            rhs,
            x0=x0,
            rtol=rtol,
            atol=0.0,
            maxiter=maxiter,
            M=amg.aslinearoperator(),
            callback=cb,
        )
        if info != 0:
            raise SolverError(f"tortuosity CG did not converge in {maxiter} iterations")
        out["method"] = "cg-amg"
        out["iterations"] = it[0]
    out["residual"] = float(np.linalg.norm(rhs - A @ u) / np.linalg.norm(rhs))
    f_in = float(np.sum(gin * (1.0 - u[inlet])))
    f_out = float(np.sum(gout * u[outlet]))
    a, b, g, pos = face_g
    plane_flux = np.bincount(pos, weights=g * (u[a] - u[b]), minlength=n0 - 1)
    fluxes = np.concatenate([[f_in], plane_flux, [f_out]])
    mean_flux = 0.5 * (f_in + f_out)
    out["flux_in"], out["flux_out"] = f_in, f_out
    out["flux_nonuniformity"] = float((fluxes.max() - fluxes.min()) / mean_flux)
    length = n0 * h[0]
    cross = n1 * h[1] * n2 * h[2]
    out["sigma_eff_rel"] = mean_flux * length / cross
    if return_potential:
        pot = np.full(s.shape, np.nan)
        pot[mask] = u
        out["potential"] = np.moveaxis(pot, 0, axis)
    return out


def tortuosity(
    volume: LabelledVolume | np.ndarray,
    phases: str | Sequence[str] | Sequence[int] = "pore",
    axis: int | None = None,
    *,
    conductivities: Mapping[str | int, float] | None = None,
    volume_weights: Mapping[str | int, float] | None = None,
    sigma_bulk: float = 1.0,
    rtol: float = 1e-6,
    return_potential: bool = False,
    warn: bool = True,
) -> TortuosityResult:
    """Tortuosity factor of a phase set along an axis.

    Parameters
    ----------
    volume
        A :class:`LabelledVolume`, or a plain array (then ``phases`` are integer labels,
        or a boolean array with ``phases`` ignored).
    phases
        Conducting phases (names such as ``"pore"``, ``["pore", "crack", "cbd"]`` or
        integer labels).
    axis
        Axis of the gradient (default: the volume's thickness axis, or 0).
    conductivities
        Relative conductivity per phase (default 1 for every phase of ``phases``), e.g.
        ``{"pore": 1, "cbd": 0.1}`` for a micro-porous CBD.
    volume_weights
        Weight of each phase in ``eps`` (default 1), e.g. the CBD micro-porosity.
    sigma_bulk
        Bulk conductivity/diffusivity of the reference phase (S/m or m^2/s); only scales
        ``sigma_eff``.
    rtol
        CG relative residual tolerance.
    return_potential
        Keep the potential field in the result.
    warn
        Warn (:class:`NonPercolatingWarning`) when no path connects the faces.

    Returns
    -------
    TortuosityResult
    """
    t0 = time.perf_counter()
    if isinstance(volume, LabelledVolume):
        vol = volume.compute()
        data = np.asarray(vol.data)
        spacing = vol.voxel_size
        if axis is None:
            axis = vol.thickness_axis
        names = [phases] if isinstance(phases, (str, int)) else list(phases)
        labs = [vol.require(p) if isinstance(p, str) else int(p) for p in names]
        name_of = {vol.labels[k]: k for k in vol.labels}
    else:
        data = np.asarray(volume)
        spacing = (1.0, 1.0, 1.0)
        axis = 0 if axis is None else axis
        if data.dtype == bool:
            data = data.astype(np.uint8)
            labs = [1]
        else:
            names = [phases] if isinstance(phases, (str, int)) else list(phases)
            if any(isinstance(p, str) for p in names):
                raise ParameterError("with a plain array, phases must be integer labels")
            labs = [int(p) for p in names]
        name_of = {}

    def weight(table: Mapping | None, lab: int) -> float:
        if table is None:
            return 1.0
        for k in (lab, name_of.get(lab)):
            if k in table:
                return float(table[k])
        return 1.0

    cond = {lab: weight(conductivities, lab) for lab in labs}
    vw = {lab: weight(volume_weights, lab) for lab in labs}
    counts = np.bincount(data.ravel(), minlength=max(labs) + 1)
    eps = float(sum(vw[lab] * counts[lab] for lab in labs) / data.size)
    sigma = _conductivity_field(data, cond)
    res = solve_conductivity(sigma, axis, spacing, rtol=rtol, return_potential=return_potential)
    rel = res["sigma_eff_rel"]
    if rel <= 0:
        if warn:
            warnings.warn(
                f"phases {labs} do not percolate along axis {axis}: tau = inf",
                NonPercolatingWarning,
                stacklevel=2,
            )
        tau = float("inf")
    else:
        tau = eps / rel
    return TortuosityResult(
        tau=tau,
        sigma_eff_rel=rel,
        sigma_eff=rel * sigma_bulk,
        eps=eps,
        percolating_fraction=res["percolating_fraction"],
        axis=int(axis),
        iterations=res["iterations"],
        method=res["method"],
        flux_in=res["flux_in"],
        flux_out=res["flux_out"],
        flux_nonuniformity=res["flux_nonuniformity"],
        residual=res["residual"],
        seconds=time.perf_counter() - t0,
        potential=res["potential"],
    )


def effective_conductivity(
    volume: LabelledVolume,
    conductivities: Mapping[str, float],
    axis: int | None = None,
    **kwargs,
) -> float:
    """Effective conductivity (units of ``conductivities``) of a multi-phase volume.

    ``conductivities`` maps phase names to absolute conductivities (S/m); phases not
    listed are insulating.
    """
    phases = [p for p, s in conductivities.items() if s > 0]
    smax = max(conductivities.values())
    rel = {p: s / smax for p, s in conductivities.items()}
    res = tortuosity(volume, phases, axis, conductivities=rel, **kwargs)
    return res.sigma_eff_rel * smax
