"""Measurement analysis: rate capability, utilization, aging, particles, optical traces."""
