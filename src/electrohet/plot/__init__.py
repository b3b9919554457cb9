"""Plots of model results and studies (matplotlib; figures are returned, not shown)."""

from electrohet.plot.cell import (
    plot_layer_utilization,
    plot_lithiation_profile,
    plot_voltage_capacity,
)

__all__ = ["plot_layer_utilization", "plot_lithiation_profile", "plot_voltage_capacity"]
