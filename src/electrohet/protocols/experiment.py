"""Experiments: ordered steps, grouped in cycles, and standard protocols."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from electrohet.errors import ProtocolError
from electrohet.protocols.steps import Step, parse_step

#: Largest ``repeat`` and number of steps of one experiment (a 10^4-cycle aging test of
#: ~5 steps per cycle fits; more is a typo or needs a dedicated aging driver).
MAX_REPEAT = 100_000
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class Experiment:
    """A sequence of cycles, each a sequence of :class:`Step`.

    Parameters
    ----------
    cycles
        Each item is a step string, a :class:`Step`, or a tuple/list of them (one cycle).
    repeat
        Repeat the whole list this many times.
    """

    cycles: tuple[tuple[Step, ...], ...]

    def __init__(
        self, cycles: Iterable[str | Step | Sequence[str | Step]], repeat: int = 1
    ) -> None:
        if not 1 <= repeat <= MAX_REPEAT:
            raise ProtocolError(f"repeat = {repeat} is outside the allowed range [1, {MAX_REPEAT}]")
        parsed: list[tuple[Step, ...]] = []
        for item in cycles:
            if isinstance(item, (str, Step)):
                item = (item,)
            steps = tuple(s if isinstance(s, Step) else parse_step(s) for s in item)
            if not steps:
                raise ProtocolError("empty cycle in experiment")
            parsed.append(steps)
        if not parsed:
            raise ProtocolError("an experiment needs at least one step")
        n_steps = sum(len(c) for c in parsed) * repeat
        if n_steps > MAX_STEPS:
            raise ProtocolError(
                f"experiment has {n_steps} steps (after repeat = {repeat}); the allowed "
                f"maximum is {MAX_STEPS}"
            )
        object.__setattr__(self, "cycles", tuple(parsed) * repeat)

    @property
    def steps(self) -> list[tuple[int, Step]]:
        """(cycle index, step) pairs in order."""
        return [(i, s) for i, cyc in enumerate(self.cycles) for s in cyc]

    def __len__(self) -> int:
        return sum(len(c) for c in self.cycles)


def cccv_charge(rate: float, v_max: float, cutoff_rate: float = 1 / 20) -> tuple[str, str]:
    """CC charge at ``rate`` C to ``v_max`` then hold until ``cutoff_rate`` C."""
    return (f"Charge at {rate:g}C until {v_max:g} V", f"Hold at {v_max:g} V until {cutoff_rate:g}C")


def rate_test(
    rates: Sequence[float] = (0.5, 1.0, 2.0, 3.0),
    v_min: float = 3.0,
    v_max: float = 4.3,
    charge_rate: float = 0.5,
    rest_minutes: float = 15.0,
    cutoff_rate: float = 1 / 20,
) -> Experiment:
    """Yari 2020 rate test: CCCV charge, rest, CC discharge at each rate, rest.

    Yari 2020 (bilayer): CC then CV until I < C/20, 15 min rests, window 3.0-4.3 V vs Li,
    discharge rates 0.5, 1, 2, 3C.
    """
    cycles = []
    for r in rates:
        cycles.append(
            (
                *cccv_charge(charge_rate, v_max, cutoff_rate),
                f"Rest for {rest_minutes:g} minutes",
                f"Discharge at {r:g}C until {v_min:g} V",
                f"Rest for {rest_minutes:g} minutes",
            )
        )
    return Experiment(cycles)
