"""The voxel time/memory estimate that gates `electrohet voxel simulate` against the
measured benchmark figures (docs/voxel.md "Limits")."""

from __future__ import annotations

import pytest

from electrohet.micro.estimate import voxel_estimate

#: (n, CPU seconds of the C/2 discharge, peak RSS [bytes]), bench_voxel.py whole runs
#: after issue 28's strength-threshold change (2026-12-07; RSS printed in MiB)
MEASURED = [
    (32, 25.0, 410 * 2**20),
    (64, 199.0, 1046 * 2**20),
    (128, 2440.0, 6400 * 2**20),
]


@pytest.mark.parametrize(("n", "cpu_s", "peak"), MEASURED)
def test_voxel_estimate_is_within_30_percent_of_the_benchmark(n, cpu_s, peak):
    """One C/2 discharge step of n^3 voxels: the estimated time within 30 % of the
    measured CPU time, and the estimated memory within 30 % of the measured peak RSS."""
    est = voxel_estimate(float(n) ** 3, 1)
    assert est.seconds == pytest.approx(cpu_s, rel=0.30)
    assert est.bytes == pytest.approx(peak, rel=0.30)


def test_voxel_estimate_scales_with_steps_and_voxels():
    """Steps multiply the time (rests count as steps); memory does not depend on them."""
    one, three = voxel_estimate(1e6, 1), voxel_estimate(1e6, 3)
    assert three.seconds == pytest.approx(3 * one.seconds)
    assert three.bytes == one.bytes
    assert voxel_estimate(1e6, 0).seconds == one.seconds
    assert voxel_estimate(2e6, 1).bytes > one.bytes
