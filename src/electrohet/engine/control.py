"""The external-circuit control a step sets, and the time limit of a step."""

from __future__ import annotations

from dataclasses import dataclass

from electrohet.protocols.steps import Step

#: Time limit of a voltage hold or rest without a duration [s].
HOLD_LIMIT_S = 48 * 3600.0


@dataclass(frozen=True)
class Control:
    """What fixes the external circuit during a step.

    Parameters
    ----------
    mode
        ``"current"`` (``value`` = current density I [A/m^2], > 0 discharge) or
        ``"voltage"`` (``value`` = terminal voltage [V]).
    value
        The set point.
    """

    mode: str
    value: float


def control_of(step: Step, one_c: float, area: float) -> Control:
    """The control of ``step``.

    Parameters
    ----------
    step
        The experiment step.
    one_c
        The 1C current density of the cell [A/m^2].
    area
        Electrode area [m^2] (turns a current in A into a density).

    Returns
    -------
    Control
        Current steps: the signed density (> 0 discharge); holds: the voltage; rests:
        zero current.
    """
    if step.kind == "current":
        assert step.current is not None
        return Control("current", step.direction * step.current.density(one_c, area))
    if step.kind == "voltage":
        assert step.voltage is not None
        return Control("voltage", float(step.voltage))
    return Control("current", 0.0)


def step_time_limit(
    step: Step, control: Control, one_c: float, max_duration_factor: float
) -> tuple[float, bool]:
    """How long ``step`` may run [s], and whether reaching that is a failure.

    A step with a duration runs for it (reaching it is the step's normal end).  A step
    without one runs until its cut-off; it fails ("cut-off never reached") after
    ``max_duration_factor`` x (1C current / |I|) h + 1 h for a current step, or
    :data:`HOLD_LIMIT_S` for a hold.

    Parameters
    ----------
    step
        The step.
    control
        Its control (:func:`control_of`).
    one_c
        1C current density [A/m^2].
    max_duration_factor
        Multiple of the nominal (dis)charge time allowed [-].

    Returns
    -------
    limit : float
        Duration [s].
    hard : bool
        True when the limit is a safety limit (reaching it is a failure).
    """
    if step.duration is not None:
        return float(step.duration), False
    if step.kind == "current":
        return max_duration_factor * one_c / abs(control.value) * 3600.0 + 3600.0, True
    return HOLD_LIMIT_S, True
