"""Aging protocols: formation, a repeated cycle and intermittent check-up cycles.

A check-up cycle (a slow titration measuring the residual capacity, or a reference
performance test) replaces the regular cycle every ``checkup_every`` cycles; it is
always resolved and ages the cell like any other cycle.  Formation cycles run before
cycle 1 on the fresh cell (no degradation, not recorded): cells are formed before
they are aged (Yari et al. 2020 ran 3 C/10 cycles before the 1C aging), and a model
electrode whose particles are wired unevenly to the carbon network starts
asynchronously, its first charge leaving poorly wired particles behind (Sharma et al.
2022), which is formation and not aging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from electrohet.design.layer import Cell
from electrohet.errors import ProtocolError
from electrohet.protocols.steps import Step, parse_step


def _steps(name: str, items: Sequence[str | Step]) -> tuple[Step, ...]:
    if isinstance(items, (str, Step)):
        items = [items]
    out = tuple(s if isinstance(s, Step) else parse_step(s) for s in items)
    if not out:
        raise ProtocolError(f"{name}: a cycle needs at least one step")
    return out


@dataclass(frozen=True)
class AgingProtocol:
    """What each cycle of an aging run does.

    Parameters
    ----------
    cycle
        Steps of the regular cycle (strings as in
        :func:`~electrohet.protocols.steps.parse_step`).
    n_cycles
        Number of cycles (check-ups included), >= 1.
    checkup
        Steps of the check-up cycle (``None``: none).
    checkup_every
        A check-up every this many cycles (cycles ``checkup_every``, ``2
        checkup_every``, ...), >= 2.
    formation
        Steps of a formation cycle run ``formation_cycles`` times before cycle 1
        (``None``: none).
    formation_cycles
        Number of formation cycles, >= 0 (>= 1 with ``formation``).
    """

    cycle: tuple[Step, ...]
    n_cycles: int
    checkup: tuple[Step, ...] | None = None
    checkup_every: int = 0
    formation: tuple[Step, ...] | None = None
    formation_cycles: int = 0

    def __init__(
        self,
        cycle: Sequence[str | Step],
        n_cycles: int,
        checkup: Sequence[str | Step] | None = None,
        checkup_every: int = 0,
        formation: Sequence[str | Step] | None = None,
        formation_cycles: int = 1,
    ) -> None:
        if int(n_cycles) != n_cycles or n_cycles < 1:
            raise ProtocolError(f"n_cycles = {n_cycles!r} must be an integer >= 1")
        object.__setattr__(self, "cycle", _steps("cycle", cycle))
        object.__setattr__(self, "n_cycles", int(n_cycles))
        ck = None if checkup is None else _steps("checkup", checkup)
        object.__setattr__(self, "checkup", ck)
        if ck is not None and (int(checkup_every) != checkup_every or checkup_every < 2):
            raise ProtocolError(
                f"checkup_every = {checkup_every!r} must be an integer >= 2 with a checkup"
            )
        object.__setattr__(self, "checkup_every", int(checkup_every) if ck else 0)
        fo = None if formation is None else _steps("formation", formation)
        object.__setattr__(self, "formation", fo)
        if fo is not None and (int(formation_cycles) != formation_cycles or formation_cycles < 1):
            raise ProtocolError(
                f"formation_cycles = {formation_cycles!r} must be an integer >= 1 with a formation"
            )
        object.__setattr__(self, "formation_cycles", int(formation_cycles) if fo else 0)

    def is_checkup(self, n: int) -> bool:
        """Whether cycle ``n`` (1-based) is a check-up."""
        return self.checkup is not None and n % self.checkup_every == 0

    def steps_of(self, n: int) -> tuple[Step, ...]:
        """Steps of cycle ``n`` (1-based)."""
        return self.checkup if self.is_checkup(n) else self.cycle  # type: ignore[return-value]

    def validate(self, cell: Cell) -> None:
        """Reject cycles that would never end or never discharge, naming the step."""
        lo, hi = cell.v_min, cell.v_max
        named = (("cycle", self.cycle), ("checkup", self.checkup), ("formation", self.formation))
        for name, steps in named:
            if steps is None:
                continue
            if not any(s.kind == "current" and s.direction > 0 for s in steps):
                raise ProtocolError(f"{name}: no discharge step, so no capacity to follow")
            charge_cuts = [
                s.until_voltage
                for s in steps
                if s.kind == "current" and s.direction < 0 and s.until_voltage is not None
            ]
            for s in steps:
                tag = f"{name} step {str(s)!r}"
                uv = s.until_voltage
                if s.kind == "current" and s.direction > 0 and uv is not None and charge_cuts:
                    if uv >= min(charge_cuts):
                        raise ProtocolError(
                            f"{tag}: discharge cut-off {uv:g} V is not below the charge "
                            f"cut-off {min(charge_cuts):g} V, so the cycle never discharges"
                        )
                if s.kind == "current":
                    if s.until_voltage is None and s.duration is None:
                        raise ProtocolError(f"{tag}: needs a voltage cut-off or a duration")
                    uv = s.until_voltage
                    if uv is not None and s.direction > 0 and not (lo - 0.3 <= uv < hi):
                        raise ProtocolError(
                            f"{tag}: discharge cut-off {uv:g} V must lie in "
                            f"[{lo - 0.3:g}, {hi:g}) V or the cycle never ends"
                        )
                    if uv is not None and s.direction < 0 and not (lo < uv <= hi + 0.3):
                        raise ProtocolError(
                            f"{tag}: charge cut-off {uv:g} V must lie in "
                            f"({lo:g}, {hi + 0.3:g}] V or the cycle never ends"
                        )
                elif s.kind == "voltage":
                    if s.until_current is None and s.duration is None:
                        raise ProtocolError(f"{tag}: needs a current cut-off or a duration")
                elif s.duration is None:
                    raise ProtocolError(f"{tag}: a rest needs a duration")
