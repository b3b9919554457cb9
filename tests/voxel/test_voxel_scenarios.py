"""Zhang 2023 scenarios on a small synthetic thick electrode (slow)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_zhang_cei_and_clogging():
    """C/2 to 3.5 V on a thick synthetic electrode: capacity none > CEI > thick CEI; the
    graded CEI (thicker at the separator) shifts lithiation toward the collector; clogged
    CBD lowers the capacity.  Measured (24 x 8 x 8 voxels of 2 um): 184.9 / 173.0 /
    157.5 mAh/g, clogged 180.4 mAh/g; collector bias 0.003 -> 0.064 with the CEI."""
    from electrohet.voxel.scenarios import zhang_cei_scenarios

    out = zhang_cei_scenarios()
    cap, bias = out["capacity_mAh_g"], out["collector_bias"]
    assert cap["none"] > cap["CEI"] > cap["thick CEI"]
    assert bias["CEI"] > bias["none"]
    assert cap["clogged CBD"] < cap["none"]
    for ds in out["runs"].values():
        assert ds.attrs["lithium_balance_error"] < 1e-9
