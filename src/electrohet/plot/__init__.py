"""Plots (matplotlib) of electrohet results."""
