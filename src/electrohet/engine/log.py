"""The run log every simulator keeps: what happened, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExperimentLog:
    """Status and step table of a run; simulators add their recorded states.

    Attributes
    ----------
    step_info
        One dict per step run (``step``, ``cycle``, ``text``, ``t_start``, ``t_end``,
        ``status``, ``reason``, ``solver_steps``; a failed step has ``message``).
    status
        ``"completed"`` or ``"failed"``.
    message
        Where and why a failed run stopped (``""`` otherwise).
    """

    step_info: list = field(default_factory=list)
    status: str = "completed"
    message: str = ""

    def drop_partial(self) -> None:
        """Drop a record an interrupt cut short (simulators with several record lists
        override this so the log describes whole states only)."""

    def n_records(self) -> int:
        """Number of recorded states (0 in the base log)."""
        return 0
