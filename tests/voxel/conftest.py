"""Shared small volumes for the voxel tests."""

from __future__ import annotations

import numpy as np
import pytest


def sphere_in_box(n: int = 12, radius: float = 5.0) -> np.ndarray:
    """One AM sphere (label 2) in electrolyte (label 0), touching the collector face z = 0."""
    z, y, x = np.mgrid[:n, :n, :n] + 0.5
    sph = (z - radius) ** 2 + (y - n / 2) ** 2 + (x - n / 2) ** 2 <= radius**2
    return np.where(sph, 2, 0).astype(np.int16)


@pytest.fixture(scope="session")
def small_volume():
    from electrohet.micro.generate import synthetic_electrode

    return synthetic_electrode(
        (10, 8, 8), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.0e-6, seed=3
    )
