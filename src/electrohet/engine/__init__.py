"""The experiment engine: one step loop for every simulator.

An experiment (:mod:`electrohet.protocols`) is a list of steps, each with a control
(current, voltage or rest), a cut-off and a duration.  What happens around the time
integration of a step is the same for the P2D-E model (:mod:`electrohet.model`) and the
voxel model (:mod:`electrohet.voxel`) and is written here once:

* :mod:`~electrohet.engine.control`: the control a step sets and the time limit of a
  step without a duration;
* :mod:`~electrohet.engine.cutoffs`: cut-off events and the refusal of a step whose
  cut-off is already met;
* :mod:`~electrohet.engine.log`: the run log (status, message, step table);
* :mod:`~electrohet.engine.runner`: :func:`run_step` and :func:`run_experiment`, the
  step loop with failure and interrupt handling, progress and the transport-limit end;
* :mod:`~electrohet.engine.stats`: the solver counters;
* :mod:`~electrohet.engine.dataset`: the attributes every result Dataset carries.

A simulator joins by implementing :class:`~electrohet.engine.runner.SimulatorAdapter`
(initial state, consistent start under a control, integrate to a cut-off or time with
its own error control, terminal voltage and current, transport-limit diagnosis).
"""

from electrohet.engine.control import Control, control_of, step_time_limit
from electrohet.engine.cutoffs import Cutoff, cutoff_of, raise_satisfied, satisfied_message
from electrohet.engine.log import ExperimentLog
from electrohet.engine.runner import SimulatorAdapter, run_experiment, run_step
from electrohet.engine.stats import SolverStats

__all__ = [
    "Control",
    "Cutoff",
    "ExperimentLog",
    "SimulatorAdapter",
    "SolverStats",
    "control_of",
    "cutoff_of",
    "raise_satisfied",
    "run_experiment",
    "run_step",
    "satisfied_message",
    "step_time_limit",
]
