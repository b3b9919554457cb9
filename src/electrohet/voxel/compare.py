"""The homogenised 1D counterpart of a voxel run, for a like-for-like comparison.

:meth:`electrohet.design.layer.Electrode.from_volume` measures the same labelled volume
and builds the P2D-E electrode of :mod:`electrohet.model`; :func:`homogenised_cell`
closes it with the voxel run's own separator, electrolyte, Li foil, temperature,
voltage window and 1C, so the two models differ only in what the 1D model averages
away.  By default (``properties="measured"``) every effective property is measured on
the volume with the voxel run's own phase physics
(:func:`electrohet.micro.effective.effective_properties`): electrolyte fraction and
tortuosity of pore + crack + nano-porous CBD (unless clogged), the solid's effective
conductivity with sigma_AM(theta_init) and the CBD conductivity, the reaction-face area,
the solid-diffusion radius (steady diffusion solve in the AM) and the AM not wired to
the collector.
``properties="geometric"`` gives the earlier counterpart (pore + crack only, the
watershed median radius, area 3 eps_s / R and a given matrix conductivity, 10 S/m).

What the 1D counterpart does not carry: CEI films of the voxel run (a warning says
so), an SOC-dependent sigma_AM (taken at the initial lithium fraction), and what a
1D model cannot hold (docs/voxel.md, "The image-to-layers bridge").

>>> from electrohet.voxel import Simulation  # doctest: +SKIP
>>> from electrohet.voxel.compare import run_side_by_side, plot_side_by_side  # doctest: +SKIP
>>> sim = Simulation(vol, material="NMC532")  # doctest: +SKIP
>>> ds_vox, ds_1d = run_side_by_side(sim, "Discharge at C/10 until 3.0 V")  # doctest: +SKIP
>>> plot_side_by_side(ds_vox, ds_1d, "voxel_vs_1d.png")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from pathlib import Path

import numpy as np
import xarray as xr

from electrohet.design.layer import Cell, Electrode, Separator
from electrohet.errors import ParameterError
from electrohet.voxel.simulation import Simulation


def phase_properties(sim: Simulation):
    """The voxel run's phase physics as a
    :class:`~electrohet.micro.effective.PhaseProperties` (sigma_AM at its initial
    lithium fraction)."""
    from electrohet.micro.effective import PhaseProperties

    c = sim.cbd_params  # floats and the clogged flag
    sig_am = float(sim.material.electronic_conductivity(np.array([sim.theta_init]))[0])
    return PhaseProperties(
        cbd_porosity=c["porosity"],
        cbd_tortuosity=c["tortuosity"],
        cbd_conductivity=c["conductivity"],
        am_conductivity=sig_am,
        cbd_clogged=bool(c["clogged"]),
    )


def homogenised_cell(
    sim: Simulation,
    n_layers: int = 1,
    conductivity: float | None = None,
    properties: str | Collection[str] = "measured",
) -> Cell:
    """The P2D-E half cell of the voxel run's volume.

    Parameters
    ----------
    sim
        The voxel simulation (its volume, phase physics, material, initial lithium
        fraction, separator, electrolyte, Li foil, temperature, window and 1C are
        reused).
    n_layers
        Slabs through the thickness, each measured separately (graded electrodes).
    conductivity
        Effective matrix conductivity of the 1D electrode [S/m]; ``None`` = measured
        by a conduction solve, or 10 S/m (the earlier default) when ``properties``
        does not measure it.
    properties
        ``"measured"`` (default), ``"geometric"`` or a collection of mechanisms
        (``"electrolyte"``, ``"conductivity"``, ``"area"``, ``"wiring"``,
        ``"radius"``): see :meth:`~electrohet.design.layer.Electrode.from_volume`.

    Returns
    -------
    Cell
        With ``nominal_capacity`` equal to the voxel run's 1C, so "C/10" means the same
        current density in both models.
    """
    if int(n_layers) < 1:
        raise ParameterError(f"n_layers = {n_layers} must be >= 1")
    if np.any(sim.film_thickness > 0):
        warnings.warn(
            "the voxel run has CEI films; the 1D counterpart carries none",
            UserWarning,
            stacklevel=2,
        )
    from electrohet.design.layer import volume_mechanisms

    if "conductivity" not in volume_mechanisms(properties) and conductivity is None:
        conductivity = 10.0  # the earlier default of the geometric counterpart
    positive = Electrode.from_volume(
        sim.volume,
        int(n_layers),
        sim.material,
        sim.theta_init,
        conductivity=conductivity,
        properties=properties,
        phases=phase_properties(sim),
    )
    thickness, porosity, bruggeman = sim.separator_params
    return Cell(
        negative=sim.li_metal,
        separator=Separator(thickness, porosity, bruggeman),
        positive=positive,
        electrolyte=sim.electrolyte,
        temperature=sim.temperature,
        v_min=sim.v_min,
        v_max=sim.v_max,
        nominal_capacity=sim.one_c,
        name="homogenised counterpart of the voxel volume",
    )


def run_side_by_side(
    sim: Simulation,
    experiment,
    n_layers: int = 1,
    conductivity: float | None = None,
    properties: str | Collection[str] = "measured",
    **solve_kw,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Run ``experiment`` on the voxel model and on its homogenised counterpart.

    ``n_layers``, ``conductivity`` and ``properties`` go to :func:`homogenised_cell`,
    ``solve_kw`` to the voxel ``solve`` (``period``, ``save_at``, ...).  Returns
    ``(voxel dataset, 1D dataset)``; both have ``capacity`` in Ah/m^2 of the same
    cross-section and ``voltage`` in V.
    """
    from electrohet.model import Simulation as Simulation1D

    cell = homogenised_cell(sim, n_layers, conductivity, properties)
    ds_vox = sim.solve(experiment, **solve_kw)
    ds_1d = Simulation1D(cell).solve(experiment)
    return ds_vox, ds_1d


def _difference_on_grid(
    ds_vox: xr.Dataset, ds_1d: xr.Dataset, start: float, upto: float
) -> tuple[np.ndarray, np.ndarray]:
    """(capacity grid [Ah/m^2], voxel minus 1D voltage on it [V]) over ``start``..``upto``
    of the smaller final capacity (300 points)."""
    q_end = min(float(ds_vox.capacity[-1]), float(ds_1d.capacity[-1]))
    if not q_end > 0:
        raise ParameterError("comparing voltages needs runs that passed charge (discharge)")
    q = np.linspace(start * q_end, upto * q_end, 300)
    d = np.interp(q, ds_vox.capacity.values, ds_vox.voltage.values) - np.interp(
        q, ds_1d.capacity.values, ds_1d.voltage.values
    )
    return q, d


def voltage_difference(
    ds_vox: xr.Dataset, ds_1d: xr.Dataset, start: float = 0.0, upto: float = 0.95
) -> dict[str, float]:
    """Voxel minus 1D voltage on a common grid of discharged capacity [V].

    The grid spans ``start``..``upto`` of the smaller of the two final capacities
    (the steep end of discharge, where a small capacity shift is a large voltage
    difference, is left out by default).  Returns ``rms``, ``max`` (of the magnitude)
    and ``mean`` [V], and ``capacity_ratio`` (voxel / 1D final capacity) [-].
    """
    _, d = _difference_on_grid(ds_vox, ds_1d, start, upto)
    return {
        "rms": float(np.sqrt(np.mean(d**2))),
        "max": float(np.max(np.abs(d))),
        "mean": float(np.mean(d)),
        "capacity_ratio": float(ds_vox.capacity[-1]) / float(ds_1d.capacity[-1]),
    }


def plot_side_by_side(ds_vox: xr.Dataset, ds_1d: xr.Dataset, path: str | Path | None = None):
    """Voltage against discharged capacity [mAh/cm^2] of both models, and their
    difference [mV] over 0-98 % of the smaller capacity (beyond, the steep end of
    discharge dominates); returns the figure.  Run the voxel model with ``period`` for
    a smooth difference curve (records between solver steps)."""
    from electrohet.voxel.plot import _plt

    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for ds, label in ((ds_vox, "voxel"), (ds_1d, "1D (Electrode.from_volume)")):
        ax[0].plot(ds.capacity * 0.1, ds.voltage, label=label)
    ax[0].set_xlabel("net discharged capacity [mAh/cm²]")
    ax[0].set_ylabel("voltage vs Li [V]")
    ax[0].legend()
    q, d = _difference_on_grid(ds_vox, ds_1d, 0.0, 0.98)
    ax[1].plot(q * 0.1, d * 1e3)
    ax[1].set_xlabel("net discharged capacity [mAh/cm²]")
    ax[1].set_ylabel("voxel - 1D [mV]")
    for a in ax:
        a.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
