"""Aging run: resolve cycles where needed, jump over the others with error control.

Degradation states ``z`` (per slot: CEI thickness, crack fraction, added contact path,
CEI lithium) change slowly from cycle to cycle.  A resolved cycle ``k`` gives their
per-cycle increments ``r_k`` (:mod:`electrohet.aging.mechanisms`).  The driver then
applies ``m`` cycles of ``r_k`` at once (explicit Euler in the cycle number) and
resolves cycle ``k + m``; the local error of that jump is estimated from the change
of the increments, ``e = m/2 |r_{k+m} - r_k| / (rtol |z| + atol)`` (max norm).  A
jump with ``e > 1`` is undone (states and electrochemical state restored) and retried
shorter; an accepted one sets the next ``m <- m min(2, 0.9/sqrt(e))``, and (``order``
2, the default) the jumped cycles' increments are corrected to change linearly between
``r_k`` and ``r_{k+m}`` (trapezoidal rule).  Jumps stop at check-up and snapshot
cycles, at ``max_jump`` and (discrete isolation only) at the first predicted isolation
(cycle jumping as in Cojocaru et al., "cycle-jumping" schemes for fatigue, and the
"cycle-averaged" battery aging models reviewed by Reniers, Mulder & Howey,
J. Electrochem. Soc. 166 (2019) A3189).

Isolation: with a distribution of isolation thresholds in every slot
(``ContactLoss.threshold_spread > 0``, the default) the isolated share of a slot is a
smooth function of its added contact path; the share that isolates between two
states takes the lithium fraction of the slot's connected particles at that moment
with it (trapped), and the slot's reacting surface shrinks to its connected share.
The jump error then also measures the isolated active volume (capacity), and jumps
need not stop at isolations.  ``threshold_spread = 0`` is the discrete limit: whole
slots isolate, jumps end at the first predicted isolation.

Lithium bookkeeping: CEI lithium is taken from the slot's connected particles between
cycles (uniformly over its shells), isolated particles keep their lithium (trapped),
and lithium that enters through a lithium-metal counter electrode is counted; so
``cyclable + trapped + CEI = initial`` holds to round-off (checked every resolved
cycle and reported as ``li_balance_error``).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from electrohet.aging.cycle import CycleResult, run_cycle
from electrohet.aging.hook import ModelHook
from electrohet.aging.mechanisms import Mechanisms
from electrohet.aging.protocol import AgingProtocol
from electrohet.design.layer import Cell
from electrohet.engine import run_step
from electrohet.errors import ElectrohetError, ParameterError, SolverError, check_range
from electrohet.materials.base import F
from electrohet.model.mesh import POS, MeshOptions
from electrohet.progress import progress_bar


@dataclass(frozen=True)
class JumpOptions:
    """Cycle-jumping settings.

    Parameters
    ----------
    enabled
        ``False`` resolves every cycle.
    rtol
        Relative tolerance on the degradation states per jump [-], > 0.
    max_jump
        Longest jump [cycles], >= 1.
    order
        1: the jumped cycles all take the increments of the resolved cycle at the jump's
        start (explicit Euler).  2 (default): once the cycle at the jump's end is
        resolved, the jumped cycles' increments are corrected to a linear change between
        the two resolved cycles' increments (trapezoidal rule, applied as the correction
        ``(m-1)/2 (r_{k+m} - r_k)`` before the run goes on), so the global error falls
        as ``m^2`` instead of ``m``.  The error estimate is the same (for order 2 it
        bounds the correction, a conservative estimate).
    stop_at_isolation
        End a jump at the first predicted isolation so it happens on a resolved cycle
        (discrete isolation only, ``ContactLoss.threshold_spread = 0``; with a
        threshold distribution isolation is gradual and controlled by ``rtol``).
    """

    enabled: bool = True
    rtol: float = 0.03
    max_jump: int = 50
    order: int = 2
    stop_at_isolation: bool = True

    def __post_init__(self) -> None:
        check_range("jump.rtol", self.rtol, 0.0, 1.0, low_inclusive=False)
        if self.order not in (1, 2):
            raise ParameterError(f"jump.order = {self.order!r} must be 1 or 2")
        if int(self.max_jump) != self.max_jump or self.max_jump < 1:
            raise ParameterError(f"jump.max_jump = {self.max_jump!r} must be an integer >= 1")


@dataclass
class AgingRecord:
    """Everything recorded by :func:`run_aging` (turned into a Dataset by
    :func:`electrohet.aging.dataset.build_aging_dataset`)."""

    cycles: list[dict] = field(default_factory=list)
    # cycle -> (theta charged, theta discharged, theta of the trapped particles) per slot
    snapshots: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    status: str = "completed"
    message: str = ""
    li_initial: float = float("nan")
    wall: float = 0.0
    n_resolved: int = 0
    n_rejected: int = 0


class _State:
    """Slow degradation states per slot (positive electrode; the SEI thickness ``L`` and
    its lithium on the negative when SEI growth is enabled; zero elsewhere)."""

    def __init__(self, n: int, mech: Mechanisms, pos: np.ndarray) -> None:
        sei0 = mech.sei.initial_thickness if mech.sei.enabled else 0.0
        self.L = np.where(pos, mech.cei.initial_thickness, sei0)
        self.crack = np.where(pos, mech.cracking.initial if mech.cracking.enabled else 0.0, 0.0)
        self.dpath = np.zeros(n)
        self.li_cei = np.zeros(n)
        self.li_trap = np.zeros(n)  # lithium trapped by gradual isolation [mol/m^2]
        self.iso_frac = np.zeros(n)  # isolated share of each slot (gradual isolation)
        self.isolated = np.zeros(n, dtype=bool)  # whole slot isolated (discrete)

    def vector(self) -> np.ndarray:
        return np.concatenate([self.L, self.crack, self.dpath, self.li_cei])

    def copy(self) -> _State:
        new = object.__new__(_State)
        for k in ("L", "crack", "dpath", "li_cei", "li_trap", "iso_frac", "isolated"):
            setattr(new, k, getattr(self, k).copy())
        return new


class AgingRun:
    """An aging run of ``cell`` under ``protocol`` with ``mechanisms``.

    Parameters
    ----------
    cell
        The fresh cell (half or full cell); degradation acts on its positive electrode.
    protocol
        :class:`~electrohet.aging.protocol.AgingProtocol`.
    mechanisms
        :class:`~electrohet.aging.mechanisms.Mechanisms`.
    mesh
        Discretisation (coarse meshes make long runs fast).
    jump
        :class:`JumpOptions`.
    snapshot_cycles
        Cycles whose per-class lithium fractions are kept (always resolved).
    initial_soc
        Start SOC in [0, 1] (``None``: the electrodes' ``theta_init``).
    solver
        :class:`~electrohet.model.simulation.SolverOptions` (default rtol 1e-4).
    """

    #: keep the finished cycles on Ctrl-C / SIGTERM (status "interrupted", the interrupt
    #: in :attr:`interrupt_cause`) instead of re-raising; the CLI sets it
    keep_on_interrupt: bool = False
    interrupt_cause: BaseException | None = None

    def __init__(
        self,
        cell: Cell,
        protocol: AgingProtocol,
        mechanisms: Mechanisms | None = None,
        mesh: MeshOptions | None = None,
        jump: JumpOptions | None = None,
        snapshot_cycles: tuple[int, ...] = (),
        initial_soc: float | None = None,
        solver=None,
    ) -> None:
        from electrohet.model import Simulation
        from electrohet.model.simulation import SolverOptions

        protocol.validate(cell)
        self.cell = cell
        self.protocol = protocol
        self.mech = mechanisms or Mechanisms()
        self.jump = jump or JumpOptions()
        for c in snapshot_cycles:
            if not 1 <= int(c) <= protocol.n_cycles:
                raise ParameterError(
                    f"snapshot_cycles: cycle {c!r} outside [1, {protocol.n_cycles}]"
                )
        self.snapshot_cycles = tuple(sorted({int(c) for c in snapshot_cycles}))
        self.sim = Simulation(cell, mesh, solver or SolverOptions(rtol=1e-4))
        self.hook = ModelHook(self.sim)
        ms = self.sim.mesh
        self.pos = ms.elec_region[ms.slot_elec] == POS
        self.n_slots = ms.n_slots
        self.dxs = ms.dx[ms.slot_cell]
        self.vf = ms.slot_volume_fraction
        self.area = np.asarray(ms.slot_area, dtype=float).copy()  # fresh a_k [1/m]
        self.cmax = self.sim.model.cmax
        self.carbon = np.array(
            [
                np.nan if lay.carbon_mass_fraction is None else lay.carbon_mass_fraction
                for lay in ms.layers
            ]
        )[ms.slot_layer]
        self.initial_soc = initial_soc
        self.l_iso = self.mech.contact.thresholds(self.n_slots)

    # ------------------------------------------------------------------ helpers
    def _apply(self, st: _State) -> None:
        cr = self.mech.cracking
        area = cr.area_factor(st.crack) if cr.enabled else np.ones(self.n_slots)
        rf = np.where(
            self.pos,
            self.mech.cei.film_resistance(st.L),
            self.mech.sei.film_resistance(st.L) if self.mech.sei.enabled else 0.0,
        )
        if self.mech.contact.enabled and self.mech.contact.continuous:
            live = 1.0 - st.iso_frac
            self.hook.apply(rf, area, st.dpath, st.isolated | (live <= 0.0), live)
        else:
            self.hook.apply(rf, area, st.dpath, st.isolated)
        cl = self.mech.contact
        if cl.enabled and cl.network_exponent > 0:
            self.hook.set_matrix_conductivity(self.network_factor(st))
        if cl.enabled and cl.collector_exponent > 0:
            self.hook.set_collector_contact(self.collector_factor(st))

    def slot_damage(self, st: _State) -> np.ndarray:
        """Mean contact damage of each slot's particles ``E[min(dl / L, 1)]`` [-]
        (:meth:`~electrohet.aging.mechanisms.ContactLoss.damage`; 1 for slots isolated
        as a whole)."""
        return np.where(st.isolated, 1.0, self.mech.contact.damage(st.dpath, self.l_iso))

    def iso_fraction(self, st: _State) -> np.ndarray:
        """Isolated share of every slot's particles [-]: 1 for slots isolated as a
        whole (in the run or fresh), the gradual share otherwise; 0 off the positive."""
        whole = st.isolated | self.hook.base_isolated
        return np.where(whole, 1.0, np.where(self.pos, st.iso_frac, 0.0))

    def contact_damage(self, st: _State) -> np.ndarray:
        """Contact damage D of every electrode cell [-]: the volume mean over its
        classes of their particles' ``E[min(dl / L, 1)]`` (:meth:`slot_damage`); 0 off
        the positive."""
        ms = self.sim.mesh
        dmg = self.slot_damage(st)
        vol = np.where(self.pos, self.vf * self.dxs, 0.0)
        num = np.bincount(ms.slot_elec, vol * dmg, minlength=ms.n_elec)
        den = np.bincount(ms.slot_elec, vol, minlength=ms.n_elec)
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)

    def network_factor(self, st: _State) -> np.ndarray:
        """Matrix conductivity of every electrode cell relative to the fresh one [-]."""
        d = self.contact_damage(st)
        # floor 1e-3: a fully damaged location still conducts through the separator-side
        # contacts of its neighbours (keeps the system solvable)
        return np.maximum((1.0 - d) ** self.mech.contact.network_exponent, 1e-3)

    def collector_factor(self, st: _State) -> float:
        """Conductance of the coating / current-collector contact relative to the fresh
        one [-]: ``(1 - D_cc)^t_c`` with D_cc the contact damage of the positive cell
        at the foil (floor 1e-3, as the matrix)."""
        cl = self.mech.contact
        if not cl.enabled or cl.collector_exponent == 0:
            return 1.0
        d_cc = float(self.contact_damage(st)[self.sim.model.pos_last])
        return max((1.0 - d_cc) ** cl.collector_exponent, 1e-3)

    def _slot_li(self, y: np.ndarray) -> np.ndarray:
        """Lithium per slot in the model's particles (the connected share's lithium
        fraction times the whole slot's volume) [mol/m^2 of electrode]."""
        theta = self.sim.model.mean_theta(y)[:, 0]
        return theta * self.cmax * self.vf * self.dxs

    def _rates(self, st: _State, res: CycleResult) -> dict[str, np.ndarray]:
        mech = self.mech
        connected = 1.0 - st.iso_frac  # the share of the slot that reacts
        live = self.pos & ~st.isolated & (connected > 0.0)
        swing = np.where(live, res.swing, 0.0)
        grad = np.where(live, res.gradient, 0.0)
        area = mech.cracking.area_factor(st.crack) if mech.cracking.enabled else 1.0
        li_cei = res.q_cei / F * self.area * connected * area * self.dxs
        # SEI on the negative (when enabled): film and lithium, no cracks or contacts
        neg = ~self.pos & ~st.isolated & mech.sei.enabled
        return {
            "L": np.where(
                live,
                mech.cei.thickness_rate(res.q_cei),
                np.where(neg, mech.sei.thickness_rate(res.q_cei), 0.0),
            ),
            "crack": np.where(live, mech.cracking.growth(swing, st.crack, grad), 0.0),
            "dpath": np.where(live, mech.contact.growth(swing, st.crack, self.carbon, grad), 0.0),
            "li_cei": np.where(live | neg, li_cei, 0.0),
        }

    def _advance(self, st: _State, r: dict, m: int, y: np.ndarray) -> tuple[_State, np.ndarray]:
        """Apply ``m`` cycles of increments ``r`` to (states, electrochemical state)."""
        new = st.copy()
        cr = self.mech.cracking
        a_old = cr.area_factor(st.crack)
        new.crack = np.minimum(st.crack + m * r["crack"], 0.999)
        a_new = cr.area_factor(new.crack)
        # fresh crack surface carries no film: the mean thickness is diluted
        new.L = (st.L + m * r["L"]) * (a_old / a_new if cr.enabled else 1.0)
        new.dpath = st.dpath + m * r["dpath"]
        dli = m * r["li_cei"]
        new.li_cei = st.li_cei + dli
        y = y.copy()
        if np.any(dli != 0):  # (a second-order correction may return lithium)
            sl = self.sim.model.slices["cs"]
            cs = y[sl].reshape(self.n_slots, -1)
            # taken from the connected particles only
            vol_live = self.vf * self.dxs * (1.0 - st.iso_frac)
            dc = np.where(vol_live > 0, dli / np.where(vol_live > 0, vol_live, 1.0), 0.0)
            if np.any(cs.min(axis=1) - dc < 0):
                raise SolverError("CEI growth consumed all lithium of a particle class")
            cs -= dc[:, None]
            y[sl] = cs.ravel()
        l_iso = self.l_iso
        if self.mech.contact.enabled and self.mech.contact.continuous:
            # gradual isolation: the share that isolates now traps the lithium fraction
            # the connected particles have at the end of this state (end of cycle)
            f_new = np.where(
                self.pos & ~st.isolated & ~self.hook.base_isolated,
                self.mech.contact.isolated_fraction(new.dpath, l_iso),
                0.0,
            )
            f_new = np.maximum(f_new, st.iso_frac)  # isolation is irreversible
            new.li_trap = st.li_trap + (f_new - st.iso_frac) * self._slot_li(y)
            new.iso_frac = f_new
            return new, y
        iso_now = self.pos & ~st.isolated & (new.dpath >= l_iso)
        if self.mech.contact.enabled and np.any(iso_now):
            # the last connected class of a location stays wired (at the isolation
            # length): current must still reach the electrolyte there
            iso = st.isolated | iso_now
            iso = iso | self.hook.base_isolated
            elec = self.sim.mesh.slot_elec
            for e in np.unique(elec[iso_now]):
                here = np.flatnonzero(elec == e)
                if np.all(iso[here]):
                    cand = here[iso_now[here]]
                    spare = cand[np.argmin(new.dpath[cand])]
                    iso_now[spare] = False
                    iso[spare] = False
                    new.dpath[spare] = l_iso[spare]
            new.isolated = new.isolated | iso_now
        return new, y

    def _error(self, st: _State, r0: dict, r1: dict, m: int) -> float:
        li_scale = 1e-6 * self.li_initial
        l_iso = self.mech.contact.isolation_length
        atol = {"L": 1e-11, "crack": 1e-4, "dpath": 1e-4 * l_iso, "li_cei": li_scale}
        e = 0.0
        rt = self.jump.rtol
        for k, a in atol.items():
            z = getattr(st, k)
            w = rt * np.abs(z + m * r0[k]) + a
            e = max(e, float(np.max(0.5 * m * np.abs(r1[k] - r0[k]) / w)))
        cl = self.mech.contact
        if cl.enabled and cl.continuous:
            # gradual isolation: the path error mapped through the isolated share
            # F(dl), summed over the positive active volume (a capacity error);
            # tolerance rtol/50 of the active volume (1e-3 at rtol 0.05) per jump
            dl = st.dpath + m * r0["dpath"]
            s = cl.threshold_spread
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.log(dl / self.l_iso) / s
                pdf = np.where(dl > 0, np.exp(-0.5 * z * z) / (np.sqrt(2 * np.pi) * s * dl), 0.0)
            vol = np.where(self.pos & ~st.isolated, self.vf * self.dxs, 0.0)
            d_lam = float(np.sum(vol * pdf * 0.5 * m * np.abs(r1["dpath"] - r0["dpath"])))
            e = max(e, d_lam / (np.sum(vol) * rt / 50.0))
        return e

    def _max_jump(self, n: int, st: _State, r: dict) -> int:
        """Longest jump from cycle n: stop at check-ups, snapshots, isolation, the end."""
        proto = self.protocol
        lim = min(self.jump.max_jump, proto.n_cycles - n)
        for c in range(n + 1, n + lim + 1):
            if proto.is_checkup(c) or c in self.snapshot_cycles:
                lim = c - n
                break
        cl = self.mech.contact
        if self.jump.stop_at_isolation and cl.enabled and not cl.continuous:
            live = self.pos & ~st.isolated & (r["dpath"] > 0)
            if np.any(live):
                gap = self.l_iso[live] - st.dpath[live]
                n_iso = int(np.ceil(float(np.min(gap / r["dpath"][live]))))
                lim = min(lim, max(1, n_iso))
        return max(1, lim)

    # ------------------------------------------------------------------ run
    def run(self, progress: bool = False, on_cycle: Callable[[dict], None] | None = None):
        """Run the protocol; returns the per-cycle :class:`xarray.Dataset`.

        A failure midway does not raise: the finished cycles are returned with
        ``attrs["status"] = "failed"`` and ``attrs["message"]`` saying why.
        ``on_cycle`` is called with each finished cycle's row (e.g. to write it out).
        """
        from electrohet.aging.dataset import build_aging_dataset

        rec = self.execute(progress=progress, on_cycle=on_cycle)
        return build_aging_dataset(self, rec)

    def execute(self, progress: bool = False, on_cycle=None) -> AgingRecord:
        t_wall = _time.perf_counter()
        rec = AgingRecord()
        proto = self.protocol
        st = _State(self.n_slots, self.mech, self.pos)
        self._apply(st)
        y = self.sim.initial_state(self.initial_soc)
        t, y = self._formation(y)
        self.li_initial = float(np.sum(self._slot_li(y))) + self._electrolyte_li(y)
        rec.li_initial = self.li_initial
        exchange = 0.0
        n = 0  # cycles finished
        bar = progress_bar(proto.n_cycles, "cycles") if progress else None
        r_prev = None  # increments of the last resolved regular cycle
        m = 1
        try:
            while n < proto.n_cycles:
                c = n + 1
                if proto.is_checkup(c) or r_prev is None or not self.jump.enabled:
                    # resolve this cycle as it is
                    res = self._resolve(c, t, y, st)
                    r = self._rates(st, res)
                    exchange += res.exchange
                    self._record(rec, c, st, res, res.y_end, exchange, resolved=True)
                    st, y = self._advance(st, r, 1, res.y_end)
                    t = res.t_end
                    n = c
                    if not proto.is_checkup(c):
                        r_prev = r
                    if bar is not None:
                        bar.update(1)
                    if on_cycle is not None:
                        on_cycle(rec.cycles[-1])
                    continue
                # jump from the end of cycle n (state st, y already include cycle n)
                m = min(m, self._max_jump(n, st, r_prev))
                while True:
                    # cycles n+1 .. n+m-1 are jumped; cycle n+m is resolved
                    st_j, y_j = (st, y) if m == 1 else self._advance(st, r_prev, m - 1, y)
                    try:
                        res = self._resolve(n + m, t, y_j, st_j)
                    except SolverError:
                        if m == 1:
                            raise
                        # a jump that lands on a state the cycle cannot be solved from
                        # (e.g. many isolations at once) is rejected like an inaccurate one
                        rec.n_rejected += 1
                        m = max(1, m // 4)
                        continue
                    r_new = self._rates(st_j, res)
                    e = self._error(st, r_prev, r_new, m)
                    if e <= 1.0 or m == 1:
                        break
                    rec.n_rejected += 1
                    m = max(1, int(m * max(0.25, 0.9 / np.sqrt(e))))
                second = self.jump.order == 2 and m > 1
                for j in range(1, m):
                    self._record_jumped(rec, n + j, st, r_prev, j, r_new if second else None, m)
                exchange += res.exchange
                y_end = res.y_end
                if second:
                    # trapezoidal correction of the jumped cycles' increments (lithium
                    # moved between the pools exactly, so the balance still closes)
                    corr = {k: 0.5 * (m - 1) * (r_new[k] - r_prev[k]) for k in r_new}
                    st_j, y_end = self._advance(st_j, corr, 1, y_end)
                self._record(rec, n + m, st_j, res, y_end, exchange, resolved=True)
                st, y = self._advance(st_j, r_new, 1, y_end)
                t = res.t_end
                if bar is not None:
                    bar.update(m)
                if on_cycle is not None:
                    for row in rec.cycles[-m:]:
                        on_cycle(row)
                n += m
                r_prev = r_new
                m = max(1, int(m * min(2.0, 0.9 / np.sqrt(max(e, 1e-12)))))
                if m == 1 and e < 0.5:
                    m = 2
        except (SolverError, ElectrohetError) as exc:
            rec.status = "failed"
            rec.message = f"cycle {n + 1}: {exc}"
        except KeyboardInterrupt as exc:
            if not self.keep_on_interrupt:
                raise
            from electrohet.interrupts import Terminated

            self.interrupt_cause = exc
            rec.status = "interrupted"
            by = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
            rec.message = f"interrupted by {by} during cycle {n + 1}"
        finally:
            if bar is not None:
                bar.close()
        rec.wall = _time.perf_counter() - t_wall
        self.final_state = (st, y, exchange)
        return rec

    def _formation(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Run the protocol's formation cycles on the fresh cell (no degradation);
        returns the time [s] and state at their end.  A cell that cannot be formed
        raises :class:`~electrohet.errors.SolverError` (there is nothing to age)."""
        from electrohet.model.simulation import RunLog

        t = 0.0
        steps = self.protocol.formation or ()
        for k in range(self.protocol.formation_cycles):
            log = RunLog()
            for idx, step in enumerate(steps):
                try:
                    t, y, _info = run_step(self.sim, step, t, y, idx, 0, log, skip_satisfied=True)
                except (SolverError, ElectrohetError) as exc:
                    raise SolverError(
                        f"formation cycle {k + 1}, step {str(step)!r}: {exc}"
                    ) from exc
        return t, y

    def _electrolyte_li(self, y: np.ndarray) -> float:
        m = self.sim.model
        ms = self.sim.mesh
        ce = y[m.slices["ce"]]
        return float(np.sum(ms.eps * ms.dx * ce))

    def _resolve(self, c: int, t: float, y: np.ndarray, st: _State) -> CycleResult:
        """Resolve cycle ``c``; a solver breakdown is retried once with a 10x tighter
        tolerance (steep voltage collapses of a degraded electrode need it)."""
        self._apply(st)
        args = (self.sim, self.protocol.steps_of(c), t, y, c, self.mech.cei, st.L, self.pos)
        try:
            return run_cycle(*args, sei=self.mech.sei)
        except SolverError:
            rtol = 0.1 * self.sim.integrator.rtol
            newton_tol = max(10 * np.finfo(float).eps / rtol, min(0.03, rtol**0.5))
            with self.sim.tolerances(rtol, newton_tol):
                return run_cycle(*args, sei=self.mech.sei)

    def lithium_balance(self, st: _State, y: np.ndarray, exchange: float) -> dict[str, float]:
        """Cyclable, trapped and CEI lithium [mol/m^2] and the relative balance error."""
        li = self._slot_li(y)
        iso = st.isolated | self.hook.base_isolated
        # whole slots isolated: their model lithium is frozen (trapped); gradual
        # isolation: the trapped lithium is booked, the model's particles are the
        # connected share
        trapped = float(np.sum(li[iso])) + float(np.sum(st.li_trap))
        live = np.where(iso, 0.0, 1.0 - st.iso_frac)
        cyclable = float(np.sum(li * live)) + self._electrolyte_li(y) - exchange
        cei = float(np.sum(st.li_cei))
        err = (cyclable + trapped + cei - self.li_initial) / self.li_initial
        return {"cyclable": cyclable, "trapped": trapped, "cei": cei, "error": err}

    def _shares(self, st: _State) -> tuple[float, float]:
        """LAM (share of the positive active volume isolated in the run) and the
        isolated share of positive particles by number (fresh isolated included)."""
        vol = self.vf * self.dxs
        pos = self.pos
        run_frac = np.where(st.isolated, 1.0, st.iso_frac)
        lam = float(np.sum((vol * run_frac)[pos]) / np.sum(vol[pos]))
        radius = self.sim.mesh.slot_radius
        num = vol / radius**3
        f = self.iso_fraction(st)
        by_number = float(np.sum((num * f)[pos]) / np.sum(num[pos]))
        return lam, by_number

    def _row(self, c: int, st: _State, resolved: bool, kind: str) -> dict:
        lam, num = self._shares(st)
        return {
            "cycle": c,
            "resolved": resolved,
            "checkup": kind == "checkup",
            "lam": lam,
            "isolated_share_number": num,
            "L": st.L.copy(),
            "crack": st.crack.copy(),
            "dpath": st.dpath.copy(),
            "isolated": self.iso_fraction(st) >= 1.0,
            "iso_frac": self.iso_fraction(st),
            "sigma_factor": self.network_factor(st),
            "collector_resistance": self.hook.base_series / self.collector_factor(st),
        }

    def _record(
        self,
        rec: AgingRecord,
        c: int,
        st: _State,
        res: CycleResult,
        y_end: np.ndarray,
        exchange: float,
        resolved: bool,
    ) -> None:
        kind = "checkup" if self.protocol.is_checkup(c) else "regular"
        row = self._row(c, st, resolved, kind)
        bal = self.lithium_balance(st, y_end, exchange)
        row.update(
            discharge_capacity=res.discharge_capacity,
            charge_capacity=res.charge_capacity,
            discharge_energy=res.discharge_energy,
            discharge_current=res.discharge_current,
            li_cyclable=bal["cyclable"],
            li_trapped=bal["trapped"],
            li_cei=bal["cei"],
            li_balance_error=bal["error"],
            wall=res.wall,
        )
        rec.cycles.append(row)
        rec.n_resolved += 1
        if c in self.snapshot_cycles:
            rec.snapshots[c] = (res.theta_charged, res.theta_discharged, self._theta_trapped(st))

    def _theta_trapped(self, st: _State) -> np.ndarray:
        """Mean lithium fraction of each slot's gradually isolated particles [-] (NaN
        where none; slots isolated as a whole keep the model's lithium fraction)."""
        cap = self.cmax * self.vf * self.dxs * st.iso_frac
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(cap > 0, st.li_trap / cap, np.nan)

    def _record_jumped(
        self,
        rec: AgingRecord,
        c: int,
        st: _State,
        r: dict,
        j: int,
        r_end: dict | None = None,
        m: int = 1,
    ) -> None:
        """Jumped cycle ``c`` = n + j (``st`` the state after resolved cycle n): the
        states during it lie on the jump's path, ``j - 1`` cycles of increments
        (Euler: ``r`` each; with ``r_end``: changing linearly from ``r`` to ``r_end``
        over ``m`` cycles); measurements are filled in later."""
        i = j - 1
        dz = {k: i * r[k] for k in r}
        if r_end is not None:
            q = i * (i + 1) / (2.0 * m)
            dz = {k: dz[k] + q * (r_end[k] - r[k]) for k in r}
        cr = self.mech.cracking
        crack = np.minimum(st.crack + dz["crack"], 0.999)
        dil = cr.area_factor(st.crack) / cr.area_factor(crack) if cr.enabled else 1.0
        tmp = st.copy()
        tmp.crack = crack
        tmp.L = (st.L + dz["L"]) * dil
        tmp.dpath = st.dpath + dz["dpath"]
        tmp.li_cei = st.li_cei + dz["li_cei"]
        if self.mech.contact.enabled and self.mech.contact.continuous:
            f = self.mech.contact.isolated_fraction(tmp.dpath, self.l_iso)
            keep = self.pos & ~st.isolated & ~self.hook.base_isolated
            tmp.iso_frac = np.maximum(np.where(keep, f, 0.0), st.iso_frac)
        row = self._row(c, tmp, False, "regular")
        row["li_cei"] = float(np.sum(tmp.li_cei))
        rec.cycles.append(row)


def run_aging(
    cell: Cell,
    protocol: AgingProtocol,
    mechanisms: Mechanisms | None = None,
    mesh: MeshOptions | None = None,
    jump: JumpOptions | None = None,
    snapshot_cycles: tuple[int, ...] = (),
    progress: bool = False,
):
    """Run an aging experiment and return the per-cycle Dataset (see :class:`AgingRun`)."""
    run = AgingRun(cell, protocol, mechanisms, mesh, jump, snapshot_cycles)
    return run.run(progress=progress)
