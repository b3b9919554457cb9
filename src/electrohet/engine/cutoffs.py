"""Cut-off events of a step, and the refusal of a step whose cut-off is already met."""

from __future__ import annotations

from dataclasses import dataclass

from electrohet.errors import ProtocolError, SolverError
from electrohet.protocols.steps import Step


@dataclass(frozen=True)
class Cutoff:
    """The event that ends a step before its duration.

    The event function :meth:`value` is > 0 before the cut-off and <= 0 once it is
    reached.

    Parameters
    ----------
    kind
        ``"voltage"`` (a current step's voltage limit) or ``"current"`` (a voltage
        hold's current limit).
    threshold
        The limit: voltage [V] or current density [A/m^2].
    sign
        +1 for a discharge (the voltage falls to the limit), -1 for a charge; 1 for a
        current cut-off.
    name
        The cut-off in words, e.g. ``"voltage cut-off 3 V"``.
    """

    kind: str
    threshold: float
    sign: float
    name: str

    def value(self, voltage: float, current: float) -> float:
        """The event function at terminal voltage [V] and current density [A/m^2]."""
        if self.kind == "voltage":
            return self.sign * (voltage - self.threshold)
        return abs(current) - self.threshold


def cutoff_of(step: Step, one_c: float, area: float) -> Cutoff | None:
    """The cut-off of ``step`` (None when it runs for its duration only).

    Parameters
    ----------
    step
        The step.
    one_c
        1C current density [A/m^2] (a C-rate current cut-off).
    area
        Electrode area [m^2] (a current cut-off in A).
    """
    if step.kind == "current" and step.until_voltage is not None:
        vc = float(step.until_voltage)
        sign = 1.0 if step.direction > 0 else -1.0
        return Cutoff("voltage", vc, sign, f"voltage cut-off {vc:g} V")
    if step.kind == "voltage" and step.until_current is not None:
        ic = step.until_current.density(one_c, area)
        return Cutoff("current", ic, 1.0, f"current cut-off {ic:.4g} A/m2")
    return None


def satisfied_message(idx: int, step: Step, cutoff: str, voltage: float, current: float) -> str:
    """The error of a step whose cut-off is met at its start.

    Parameters
    ----------
    idx
        Step index in the experiment (0-based).
    step
        The step.
    cutoff
        Its cut-off in words, e.g. ``"voltage cut-off 3 V"``.
    voltage
        Terminal voltage at the step's start [V].
    current
        Current density at the step's start [A/m^2] (shown for a current cut-off).
    """
    at = f"start voltage {voltage:.4g} V"
    if cutoff.startswith("current"):
        at += f", current {abs(current):.4g} A/m2"
    return (
        f"step {idx} ({str(step)!r}): its {cutoff} is already met at the start ({at}), "
        "so the step would do nothing; change the step, or skip such steps explicitly "
        "(--skip-satisfied-steps, or skip_satisfied=True)"
    )


def raise_satisfied(
    idx: int, step: Step, cutoff: str, v_before: float, v_after: float, i_after: float
) -> None:
    """Raise the error of a step whose cut-off holds once its control is applied.

    A voltage cut-off met already by the voltage the step starts from (``v_before``)
    is a protocol error (:class:`~electrohet.errors.ProtocolError`); one reached only
    when the current is applied (the jump from ``v_before`` to ``v_after`` crosses it)
    is a failure of the step (:class:`~electrohet.errors.SolverError`: the run ends
    "failed" with its states so far).  A current cut-off of a voltage hold met at once
    is a protocol error.

    Parameters
    ----------
    idx
        Step index (0-based).
    step
        The step.
    cutoff
        Its cut-off in words (``"voltage cut-off 3 V"``, ``"current cut-off ..."``).
    v_before, v_after
        Terminal voltage [V] before and after the step's control is applied.
    i_after
        Current density [A/m^2] after the control is applied.
    """
    if cutoff.startswith("voltage"):
        vc = float(step.until_voltage)  # type: ignore[arg-type]
        sgn = 1.0 if step.direction > 0 else -1.0
        if sgn * (v_before - vc) <= 0:
            raise ProtocolError(satisfied_message(idx, step, cutoff, v_before, i_after))
        raise SolverError(
            f"its {cutoff} is reached as soon as the current is applied (the voltage "
            f"jumps from {v_before:.4g} V to {v_after:.4g} V): the cell cannot carry this "
            "current"
        )
    raise ProtocolError(satisfied_message(idx, step, cutoff, v_after, i_after))
