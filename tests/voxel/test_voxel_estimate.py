"""The voxel time/memory estimate that gates `electrohet voxel simulate` against the
measured benchmark figures (docs/voxel.md "Limits")."""

from __future__ import annotations

import pytest

from electrohet.micro.estimate import voxel_estimate

#: (n, CPU seconds of the C/2 discharge, peak RSS [bytes] or None), bench_voxel.py;
#: 64^3 measured after issue 28's memory work, 128^3 peak over the first steps
MEASURED = [
    (32, 29.0, None),
    (64, 324.0, 1.32e9),
    (96, 1886.0, None),
    (128, 5081.0, 6.89e9),
]


@pytest.mark.parametrize(("n", "cpu_s", "peak"), MEASURED)
def test_voxel_estimate_is_within_30_percent_of_the_benchmark(n, cpu_s, peak):
    """One C/2 discharge step of n^3 voxels: the estimated time within 30 % of the
    measured CPU time, and the estimated memory within 30 % of the peak RSS measured
    after the memory work of issue 28."""
    est = voxel_estimate(float(n) ** 3, 1)
    assert est.seconds == pytest.approx(cpu_s, rel=0.30)
    if peak is not None:
        assert est.bytes == pytest.approx(peak, rel=0.30)


def test_voxel_estimate_scales_with_steps_and_voxels():
    """Steps multiply the time (rests count as steps); memory does not depend on them."""
    one, three = voxel_estimate(1e6, 1), voxel_estimate(1e6, 3)
    assert three.seconds == pytest.approx(3 * one.seconds)
    assert three.bytes == one.bytes
    assert voxel_estimate(1e6, 0).seconds == one.seconds
    assert voxel_estimate(2e6, 1).bytes > one.bytes
