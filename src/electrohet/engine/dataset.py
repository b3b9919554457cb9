"""The attributes every result Dataset of an experiment carries."""

from __future__ import annotations

from electrohet.engine.log import ExperimentLog
from electrohet.engine.stats import SolverStats
from electrohet.protocols.experiment import Experiment


def run_attrs(
    log: ExperimentLog,
    experiment: Experiment,
    wall_time: float,
    stats: SolverStats,
    one_c: float,
    area: float,
) -> dict:
    """Dataset attributes of a run.

    Parameters
    ----------
    log
        The run log (status, message, step table).
    experiment
        The steps run.
    wall_time
        Wall time [s].
    stats
        The simulator's solver counters.
    one_c
        1C current density [A/m^2].
    area
        Electrode area [m^2].

    Returns
    -------
    dict
        ``status``, ``message``, ``one_c_A_m2``, ``area_m2``, ``experiment`` (steps
        joined by ``" | "``), ``steps`` (list), ``wall_time_s``, ``solver_<counter>``
        and ``step_info`` (the step table as text).
    """
    texts = [str(s) for _, s in experiment.steps]
    return {
        "status": log.status,
        "message": log.message,
        "one_c_A_m2": float(one_c),
        "area_m2": float(area),
        "experiment": " | ".join(texts),
        "steps": texts,
        "wall_time_s": float(wall_time),
        **{f"solver_{k}": v for k, v in stats.as_dict().items()},
        "step_info": repr(log.step_info),
    }
