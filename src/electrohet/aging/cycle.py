"""Resolve one cycle of a protocol on a built Simulation and measure what it did."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from electrohet.aging.mechanisms import CEIGrowth, SEIGrowth
from electrohet.engine import run_step
from electrohet.model.simulation import RunLog
from electrohet.protocols.steps import Step


@dataclass
class CycleResult:
    """Measurements of one resolved cycle.

    Attributes
    ----------
    discharge_capacity, charge_capacity
        [Ah/m^2] (charge > 0).
    discharge_energy
        [Wh/m^2].
    discharge_current
        Median |I| of the longest discharge step [A/m^2].
    swing
        Per slot max - min of the mean lithium fraction [-].
    gradient
        Per slot max over the cycle of |theta_surface - theta_mean| (radial lithium
        gradient, which sets the diffusion-induced stress at a given current) [-].
    q_cei
        Per slot side-reaction charge per particle surface [C/m^2]: CEI on the
        positive, SEI (when enabled) on the negative.
    theta_charged, theta_discharged
        Per slot mean lithium fraction at the end of the last charge step and at the
        end of the cycle [-].
    exchange
        Net lithium that entered the cell host through a lithium-metal counter
        electrode during the cycle [mol/m^2] (0 for a full cell).
    t_end, y_end
        Time [s] and state at the end of the cycle.
    wall
        Wall time [s].
    """

    discharge_capacity: float
    charge_capacity: float
    discharge_energy: float
    discharge_current: float
    swing: np.ndarray
    gradient: np.ndarray
    q_cei: np.ndarray
    theta_charged: np.ndarray
    theta_discharged: np.ndarray
    exchange: float
    t_end: float
    y_end: np.ndarray
    wall: float


def _trapz(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    if t.size < 2:
        return np.zeros(f.shape[0])
    return np.sum(0.5 * (f[:, 1:] + f[:, :-1]) * np.diff(t)[None, :], axis=1)


def run_cycle(
    sim,
    steps: tuple[Step, ...],
    t: float,
    y: np.ndarray,
    cycle: int,
    cei: CEIGrowth,
    cei_thickness: np.ndarray,
    pos_mask: np.ndarray,
    sei: SEIGrowth | None = None,
) -> CycleResult:
    """Run the steps of one cycle from (t, y) and summarise it.

    Raises :class:`~electrohet.errors.SolverError` when a step fails (the caller keeps
    the cycles finished so far).
    """
    import time as _time

    from electrohet.materials.base import F

    t0 = _time.perf_counter()
    m = sim.model
    log = RunLog()
    bounds = []
    for idx, st in enumerate(steps):
        i0 = len(log.t)
        # an aged cell may meet a cut-off at once: the cycle skips that step (and fails
        # below when every step was skipped)
        t, y, _info = run_step(sim, st, t, y, idx, cycle, log, skip_satisfied=True)
        bounds.append((i0, len(log.t), st))
    if not log.t:
        from electrohet.errors import SolverError

        raise SolverError(
            "the cycle recorded no state: every step met its cut-off at once "
            "(the cell can no longer carry the current)"
        )
    Y = np.array(log.y).T
    T = np.asarray(log.t)
    v = m.split(Y)
    Q = v["Q"][0]
    E = v["E"][0]
    I_ = v["I"][0]
    qd = qc = ed = 0.0
    cur, longest = float("nan"), -1.0
    last_charge_end = None
    for i0, i1, st in bounds:
        if i1 - i0 < 2:
            continue
        dq = Q[i1 - 1] - Q[i0]
        if st.kind == "current" and st.direction > 0 or (st.kind == "voltage" and dq > 0):
            qd += max(dq, 0.0)
            ed += max(E[i1 - 1] - E[i0], 0.0)
            if st.kind == "current" and T[i1 - 1] - T[i0] > longest:
                longest = T[i1 - 1] - T[i0]
                cur = float(np.median(np.abs(I_[i0:i1])))
        elif dq < 0:
            qc += -dq
            last_charge_end = i1 - 1
    theta = m.mean_theta(Y)  # (S, T)
    swing = np.where(pos_mask, theta.max(axis=1) - theta.min(axis=1), 0.0)
    th_surf = np.clip(m.surface_concentration(v["cs"], v["ik"]) / m.cmax_col, 0.0, 1.0)
    gradient = np.where(pos_mask, np.max(np.abs(th_surf - theta), axis=1), 0.0)
    q_cei = np.zeros(theta.shape[0])
    sei_on = sei is not None and sei.enabled
    if cei.enabled or sei_on:
        ik = v["ik"]
        r_tot = m.r_fixed
        if m.uses_path:  # base contact paths of the design
            sig = m.active_material_conductivity(theta)
            r_tot = r_tot + m.path / sig
        e_surf = v["phis"][m.slot_elec] - v["phie"][m.slot_cell] - ik * r_tot
        temp = sim.cell.temperature
        if cei.enabled:
            sel = pos_mask & ~sim.mesh.slot_isolated
            i_side = cei.current(e_surf[sel], cei_thickness[sel], temp)
            q_cei[sel] = _trapz(i_side, T)
        if sei_on:
            assert sei is not None
            sel = ~pos_mask & ~sim.mesh.slot_isolated
            i_side = sei.current(e_surf[sel], cei_thickness[sel], temp)
            q_cei[sel] = _trapz(i_side, T)
    th_c = theta[:, last_charge_end] if last_charge_end is not None else theta[:, -1]
    exchange = 0.0
    if sim.cell.half_cell:
        exchange = float(Q[-1] - Q[0]) * 3600.0 / F
    return CycleResult(
        discharge_capacity=float(qd),
        charge_capacity=float(qc),
        discharge_energy=float(ed),
        discharge_current=cur,
        swing=swing,
        gradient=gradient,
        q_cei=q_cei,
        theta_charged=th_c.copy(),
        theta_discharged=theta[:, -1].copy(),
        exchange=exchange,
        t_end=float(t),
        y_end=y.copy(),
        wall=_time.perf_counter() - t0,
    )
