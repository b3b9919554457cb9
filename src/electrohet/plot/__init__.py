"""Plots of model results and studies (matplotlib; figures are returned, not shown).

- :mod:`electrohet.plot.cell` - voltage curves, lithiation profiles, layer utilisation
- :mod:`electrohet.plot.ensemble` - particle-class SOC over time, SOC histograms
"""

from electrohet.plot.cell import (
    plot_layer_utilization,
    plot_lithiation_profile,
    plot_voltage_capacity,
)

__all__ = ["plot_layer_utilization", "plot_lithiation_profile", "plot_voltage_capacity"]
