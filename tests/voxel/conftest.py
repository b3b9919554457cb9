"""Shared small volumes for the voxel tests (``@pytest.mark.slow`` is handled by the
root conftest)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_volume():
    from electrohet.micro.generate import synthetic_electrode

    return synthetic_electrode(
        (10, 8, 8), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.0e-6, seed=3
    )
