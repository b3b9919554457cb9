"""Parameter sweeps on one built simulation (no rebuild per point).

>>> import dataclasses
>>> from electrohet.design.presets import chen2020_cell
>>> from electrohet.model.sweep import parameter_sweep
>>> from electrohet.design.layer import Electrode
>>> def cell_at(eps):  # positive porosity eps, the inert CBD takes the rest
...     cell = chen2020_cell()
...     pos, lay = cell.positive, cell.positive.layers[0]
...     lay = dataclasses.replace(lay, porosity=eps, cbd_fraction=1 - eps - lay.active_fraction)
...     return dataclasses.replace(cell, positive=Electrode([lay], pos.theta_init))
>>> exp = "Discharge at 1C until 2.5 V"
>>> runs = parameter_sweep(cell_at, [0.25, 0.29, 0.335], exp)  # doctest: +SKIP

Every point's cell must have the structure of the first (the same electrodes, layers,
particle classes and mesh sizes): porosity, active fraction, thickness,
conductivities, radii, temperature and material functions may change.  A C-rate sweep
needs no new cell at all: give one experiment per point instead (``experiments=``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import xarray as xr

from electrohet.design.layer import Cell
from electrohet.errors import ParameterError
from electrohet.model.mesh import MeshOptions
from electrohet.model.simulation import Simulation, SolverOptions
from electrohet.progress import progress_bar
from electrohet.protocols.experiment import Experiment


def parameter_sweep(
    cell_at: Callable[[float], Cell],
    values: Sequence[float],
    experiment: Experiment | str | list | None = None,
    *,
    experiments: Sequence[Experiment | str | list] | None = None,
    mesh: MeshOptions | None = None,
    solver: SolverOptions | None = None,
    initial_soc: float | None = None,
    progress: bool = False,
) -> list[xr.Dataset]:
    """Solve one experiment per parameter value on a single reused :class:`Simulation`.

    The first point builds the simulation; every further point swaps its cell in with
    :meth:`Simulation.set_cell`, which rebuilds the mesh and the model (cheap) but keeps
    the solver's sparsity pattern, Jacobian colouring, kept pivot orders and compiled
    kernels.  Results are those of a fresh :class:`Simulation` per point (tested to
    the integrator's round-off).

    Parameters
    ----------
    cell_at
        The cell at a parameter value.
    values
        The parameter values (any units; one run each).
    experiment
        The experiment run at every point.
    experiments
        Instead of ``experiment``: one experiment per value (e.g. a rate sweep on
        ``cell_at = lambda _: cell``).
    mesh, solver
        Discretisation and integrator settings.
    initial_soc
        Start SOC of every run (None: the electrodes' ``theta_init``).
    progress
        Show a progress bar over the points.

    Returns
    -------
    list of xarray.Dataset
        One result per value, in order; each has ``attrs["sweep_value"]``.

    Raises
    ------
    ParameterError
        No values, both or neither of ``experiment`` / ``experiments``, a length
        mismatch, or a point whose cell has another structure.
    """
    vals = [float(v) for v in values]
    if not vals:
        raise ParameterError("parameter_sweep: no values")
    if (experiment is None) == (experiments is None):
        raise ParameterError("parameter_sweep: give exactly one of experiment or experiments")
    exps = [experiment] * len(vals) if experiments is None else list(experiments)
    if len(exps) != len(vals):
        raise ParameterError(f"parameter_sweep: {len(exps)} experiments for {len(vals)} values")
    out: list[xr.Dataset] = []
    sim: Simulation | None = None
    bar = progress_bar(len(vals), "points") if progress else None
    try:
        for v, exp in zip(vals, exps, strict=True):
            cell = cell_at(v)
            if sim is None:
                sim = Simulation(cell, mesh, solver)
            else:
                sim.set_cell(cell)
            ds = sim.solve(exp, initial_soc=initial_soc)  # type: ignore[arg-type]
            ds.attrs["sweep_value"] = v
            out.append(ds)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out
