"""Measurement analysis: rate capability, utilization, aging, particles, optical traces.

Modules (one job each):

* :mod:`~electrohet.analysis.cycler` - cycler records, steps, capacity/energy;
* :mod:`~electrohet.analysis.formats` - one reader per cycler, content detection;
* :mod:`~electrohet.analysis.checks` - gaps, duplicates, sign and units checks;
* :mod:`~electrohet.analysis.cycles` - cycle summary, dQ/dV, dV/dQ, DCIR;
* :mod:`~electrohet.analysis.rate_capability` - Peukert fit, gamma, u2/psi, verdicts;
* :mod:`~electrohet.analysis.aging` - retention, loss rates, residual capacity;
* :mod:`~electrohet.analysis.particles` - single-particle histograms (Kroeger);
* :mod:`~electrohet.analysis.optical` - operando optical traces (Sharma);
* :mod:`~electrohet.analysis.sampling` - how many particles/clusters are enough (Lin);
* :mod:`~electrohet.analysis.from_model` - model results as measurement inputs;
* :mod:`~electrohet.analysis.synthetic` - synthetic image stacks with known truth.
"""

from electrohet.analysis.aging import cycle_table, fit_loss_rate, residual_capacity, retention
from electrohet.analysis.cycler import CyclerData, read_cycler, step_table
from electrohet.analysis.cycles import cycle_summary, dcir, incremental_capacity
from electrohet.analysis.rate_capability import (
    LayerUtilization,
    PeukertFit,
    compare_designs,
    compare_values,
    fit_peukert,
    fit_rate_table,
    layer_utilization,
    rate_table,
)

__all__ = [
    "CyclerData",
    "LayerUtilization",
    "PeukertFit",
    "compare_designs",
    "compare_values",
    "cycle_summary",
    "cycle_table",
    "dcir",
    "incremental_capacity",
    "fit_loss_rate",
    "fit_peukert",
    "fit_rate_table",
    "layer_utilization",
    "rate_table",
    "read_cycler",
    "residual_capacity",
    "retention",
    "step_table",
]
