"""Finite-volume geometry of a labelled voxel electrode: unknown numbering and faces.

The volume is oriented with the thickness along axis 0 and the current collector at
index 0 (:meth:`~electrohet.micro.volume.LabelledVolume.oriented`).  Phases:

* **electrolyte cells**: pore and crack voxels (porosity 1), CBD voxels as a nano-porous
  phase (porosity ``cbd_porosity``, tortuosity ``cbd_tortuosity``) unless the CBD is
  *clogged*, and the cells of a 1D separator in series with the last voxel layer;
* **solid (electron-conducting) cells**: AM voxels (sigma_AM(theta)) and CBD voxels
  (``cbd_conductivity``); AM cells come first so that AM index = solid index;
* **AM cells** also carry a lithium concentration (3D diffusion D_s(c)).

Faces are stored as pairs ``(p, q)`` with area [m^2] and the distances [m] from each
cell centre to the face, so that transport coefficients are combined as series
resistances (harmonic means), exact at phase jumps.  Reaction faces join an AM cell to
an electrolyte cell; their effective area is the voxel face area times the
electrolyte cell's porosity (1 for pore/crack, the CBD porosity for a CBD neighbour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from electrohet.errors import ParameterError


@dataclass
class Faces:
    """Pairs of cells sharing a face."""

    p: np.ndarray  # cell index on one side
    q: np.ndarray  # cell index on the other side
    area: np.ndarray  # [m^2]
    dp: np.ndarray  # centre of p to the face [m]
    dq: np.ndarray  # centre of q to the face [m]
    axis: np.ndarray  # 0, 1, 2 (3 = separator)

    @property
    def n(self) -> int:
        return int(self.p.size)


@dataclass
class VoxelGrid:
    """Numbering, volumes, properties and faces of one voxel electrode + separator."""

    shape: tuple[int, int, int]
    h: tuple[float, float, float]
    phase: np.ndarray  # (nz, ny, nx) int8: 0 pore/crack, 1 CBD, 2 AM
    e_index: np.ndarray  # (nz, ny, nx) electrolyte cell index or -1
    s_index: np.ndarray  # (nz, ny, nx) solid cell index or -1 (AM first)
    n_am: int
    n_solid: int
    n_evox: int  # electrolyte voxels
    n_sep: int
    e_volume: np.ndarray  # total volume of each electrolyte cell [m^3]
    e_porosity: np.ndarray  # [-]
    e_transport: np.ndarray  # porosity / tortuosity [-]
    s_sigma_fixed: np.ndarray  # [S/m] of CBD solid cells (NaN for AM)
    e_faces: Faces
    s_faces: Faces  # solid-solid (electronic)
    a_faces: Faces  # AM-AM (solid diffusion)
    r_faces: Faces  # reaction: p = AM cell, q = electrolyte cell; area = effective area
    r_is_cbd: np.ndarray  # reaction face into a CBD electrolyte cell
    cc_cells: np.ndarray  # solid cells touching the collector
    pinned: np.ndarray  # solid cells whose cluster carries no current (potential pinned)
    n_dead_electrolyte: int  # pore voxels cut off from the separator (inert)
    cc_area: float
    cc_dist: float
    am_z: np.ndarray  # z index of each AM cell
    e_z: np.ndarray  # z index of each electrolyte voxel cell
    area: float  # cross-section [m^2]
    thickness: float  # electrode thickness [m]
    voxel_volume: float
    sep_thickness: float

    @property
    def n_e(self) -> int:
        """Electrolyte cells (voxels + separator)."""
        return self.n_evox + self.n_sep

    @property
    def sep_first(self) -> int:
        return self.n_evox

    @property
    def sep_last(self) -> int:
        return self.n_evox + self.n_sep - 1


def _pairs(mask_a: np.ndarray, mask_b: np.ndarray, axis: int):
    """Flat indices (a, b) of neighbours along ``axis``: a in mask_a, b in mask_b, either order."""
    n = mask_a.shape[axis]
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(0, n - 1)
    hi[axis] = slice(1, n)
    lo_t, hi_t = tuple(lo), tuple(hi)
    idx = np.arange(mask_a.size).reshape(mask_a.shape)
    i_lo, i_hi = idx[lo_t], idx[hi_t]
    m1 = mask_a[lo_t] & mask_b[hi_t]
    m2 = mask_b[lo_t] & mask_a[hi_t]
    a = np.concatenate([i_lo[m1], i_hi[m2]])
    b = np.concatenate([i_hi[m1], i_lo[m2]])
    return a, b


def _same_pairs(mask: np.ndarray, axis: int):
    n = mask.shape[axis]
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(0, n - 1)
    hi[axis] = slice(1, n)
    lo_t, hi_t = tuple(lo), tuple(hi)
    idx = np.arange(mask.size).reshape(mask.shape)
    m = mask[lo_t] & mask[hi_t]
    return idx[lo_t][m], idx[hi_t][m]


def build_grid(
    phase: np.ndarray,
    h: tuple[float, float, float],
    *,
    cbd_porosity: float,
    cbd_tortuosity: float,
    cbd_conductivity: float,
    cbd_clogged: bool,
    sep_thickness: float,
    sep_porosity: float,
    sep_tortuosity: float,
    n_sep: int,
) -> VoxelGrid:
    """Number the unknowns and list the faces of an oriented phase array.

    Parameters
    ----------
    phase
        (nz, ny, nx) array: 0 = pore or crack (electrolyte), 1 = CBD, 2 = AM; axis 0 is
        the thickness, collector at z = 0, separator after z = nz - 1.
    h
        Voxel edges (dz, dy, dx) [m].
    """
    nz, ny, nx = phase.shape
    dz, dy, dx = h
    area_ax = (dy * dx, dz * dx, dz * dy)
    spacing = (dz, dy, dx)
    vvox = dz * dy * dx
    from scipy import ndimage

    am = phase == 2
    cbd = phase == 1
    elyte = (phase == 0) | (cbd & (not cbd_clogged))
    solid = am | cbd
    # electrolyte pockets cut off from the separator carry no current: inert volume
    struct = ndimage.generate_binary_structure(3, 1)
    lab, _ = ndimage.label(elyte, structure=struct)
    keep = np.unique(lab[nz - 1][lab[nz - 1] > 0])
    elyte = np.isin(lab, keep)
    n_dead_e = int(np.count_nonzero(lab > 0) - np.count_nonzero(elyte))

    flat = phase.ravel()
    e_index = np.full(phase.size, -1, dtype=np.int64)
    e_cells = np.flatnonzero(elyte.ravel())
    e_index[e_cells] = np.arange(e_cells.size)
    s_index = np.full(phase.size, -1, dtype=np.int64)
    am_cells = np.flatnonzero(am.ravel())
    cbd_cells = np.flatnonzero(cbd.ravel())
    s_index[am_cells] = np.arange(am_cells.size)
    s_index[cbd_cells] = am_cells.size + np.arange(cbd_cells.size)
    n_am, n_solid, n_evox = am_cells.size, am_cells.size + cbd_cells.size, e_cells.size

    # electrolyte cell properties
    is_cbd_e = flat[e_cells] == 1
    eps = np.where(is_cbd_e, cbd_porosity, 1.0)
    trans = np.where(is_cbd_e, cbd_porosity / cbd_tortuosity, 1.0)
    area = ny * dy * nx * dx
    dsep = sep_thickness / n_sep
    e_volume = np.concatenate([np.full(n_evox, vvox), np.full(n_sep, area * dsep)])
    e_porosity = np.concatenate([eps, np.full(n_sep, sep_porosity)])
    e_transport = np.concatenate([trans, np.full(n_sep, sep_porosity / sep_tortuosity)])

    def collect(pairs_fn, index_a, index_b=None):
        ps, qs, ar, dps, dqs, axs = [], [], [], [], [], []
        for ax in range(3):
            a, b = pairs_fn(ax)
            ps.append(index_a[a])
            qs.append((index_a if index_b is None else index_b)[b])
            ar.append(np.full(a.size, area_ax[ax]))
            dps.append(np.full(a.size, 0.5 * spacing[ax]))
            dqs.append(np.full(a.size, 0.5 * spacing[ax]))
            axs.append(np.full(a.size, ax, dtype=np.int8))
        return [np.concatenate(v) for v in (ps, qs, ar, dps, dqs, axs)]

    # electrolyte faces + the face to the separator + separator faces
    ep, eq, ea, edp, edq, eax = collect(lambda ax: _same_pairs(elyte, ax), e_index)
    top = np.flatnonzero(elyte[nz - 1].ravel()) + (nz - 1) * ny * nx
    sp_p = [e_index[top], n_evox + np.arange(n_sep - 1)]
    sp_q = [np.full(top.size, n_evox), n_evox + 1 + np.arange(n_sep - 1)]
    sp_a = [np.full(top.size, area_ax[0]), np.full(n_sep - 1, area)]
    sp_dp = [np.full(top.size, 0.5 * dz), np.full(n_sep - 1, 0.5 * dsep)]
    sp_dq = [np.full(top.size, 0.5 * dsep), np.full(n_sep - 1, 0.5 * dsep)]
    e_faces = Faces(
        np.concatenate([ep, *sp_p]),
        np.concatenate([eq, *sp_q]),
        np.concatenate([ea, *sp_a]),
        np.concatenate([edp, *sp_dp]),
        np.concatenate([edq, *sp_dq]),
        np.concatenate([eax, np.full(top.size + n_sep - 1, 3, dtype=np.int8)]),
    )
    s_faces = Faces(*collect(lambda ax: _same_pairs(solid, ax), s_index))
    a_faces = Faces(*collect(lambda ax: _same_pairs(am, ax), s_index))
    # reaction faces: AM next to an electrolyte cell
    rp, rq, ra, rdp, rdq, rax = collect(lambda ax: _pairs(am, elyte, ax), s_index, e_index)
    r_is_cbd = rq < 0  # placeholder, replaced below
    r_is_cbd = is_cbd_e[rq] if rq.size else np.zeros(0, bool)
    ra = ra * np.where(r_is_cbd, cbd_porosity, 1.0)
    r_faces = Faces(rp, rq, ra, rdp, rdq, rax)

    cc_cells = s_index[np.flatnonzero(solid[0].ravel())]
    # solid clusters touching neither the collector nor the electrolyte: their potential
    # is arbitrary (no current can flow); it is pinned to 0 by a tiny conductance
    slab, _ = ndimage.label(solid, structure=struct)
    s_comp = np.zeros(n_solid, dtype=np.int64)
    s_comp[s_index[solid.ravel()]] = slab[solid]
    live = np.zeros(slab.max() + 1, dtype=bool)
    live[s_comp[cc_cells]] = True
    live[s_comp[rp]] = True
    pinned = np.flatnonzero(~live[s_comp])
    sigma_fixed = np.concatenate([np.full(n_am, np.nan), np.full(cbd_cells.size, cbd_conductivity)])
    zz = np.arange(phase.size) // (ny * nx)
    return VoxelGrid(
        shape=(nz, ny, nx),
        h=(dz, dy, dx),
        phase=phase.astype(np.int8),
        e_index=e_index.reshape(phase.shape),
        s_index=s_index.reshape(phase.shape),
        n_am=n_am,
        n_solid=n_solid,
        n_evox=n_evox,
        n_sep=n_sep,
        e_volume=e_volume,
        e_porosity=e_porosity,
        e_transport=e_transport,
        s_sigma_fixed=sigma_fixed,
        e_faces=e_faces,
        s_faces=s_faces,
        a_faces=a_faces,
        r_faces=r_faces,
        r_is_cbd=r_is_cbd,
        cc_cells=cc_cells,
        pinned=pinned,
        n_dead_electrolyte=n_dead_e,
        cc_area=area_ax[0],
        cc_dist=0.5 * dz,
        am_z=zz[am_cells],
        e_z=zz[e_cells],
        area=area,
        thickness=nz * dz,
        voxel_volume=vvox,
        sep_thickness=sep_thickness,
    )


def check_percolation(phase: np.ndarray, cbd_clogged: bool) -> None:
    """Raise :class:`ParameterError` unless the volume can carry current.

    The electrolyte (pore + crack, + CBD unless clogged) must connect the separator face
    (z = nz - 1) to the collector face (z = 0), and some AM must be electronically
    connected (through AM and CBD, 6-connectivity) to the collector face.  Isolated
    particles and dead-end pores are allowed (they carry no net current).
    """
    from scipy import ndimage

    nz = phase.shape[0]
    struct = ndimage.generate_binary_structure(3, 1)
    e_name = "electrolyte (pore + crack" + ("" if cbd_clogged else " + CBD") + ")"
    elyte = (phase == 0) | ((phase == 1) & (not cbd_clogged))
    lab, _ = ndimage.label(elyte, structure=struct)
    a = np.unique(lab[0][lab[0] > 0])
    b = np.unique(lab[nz - 1][lab[nz - 1] > 0])
    if np.intersect1d(a, b).size == 0:
        raise ParameterError(
            f"volume: the {e_name} phase does not percolate from the separator face "
            f"(z = {nz - 1}) to the current collector face (z = 0); an ionic path through "
            "the thickness is required"
        )
    lab, _ = ndimage.label(phase >= 1, structure=struct)
    wired = np.unique(lab[0][lab[0] > 0])
    if not np.any(np.isin(lab[phase == 2], wired)):
        raise ParameterError(
            "volume: no active material is electronically connected (through AM and CBD) "
            "to the current collector face (z = 0); the solid does not percolate"
        )
