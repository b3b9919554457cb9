"""Zhang 2023 and Sharma 2022 scenarios on small synthetic volumes (slow)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_zhang_cei_and_clogging():
    """C/2 to 3.5 V on a thick synthetic electrode: capacity none > CEI > thick CEI; the
    graded CEI (thicker at the separator) shifts lithiation toward the collector; clogged
    CBD lowers the capacity."""
    from electrohet.voxel.scenarios import zhang_cei_scenarios

    out = zhang_cei_scenarios()
    cap, bias = out["capacity_mAh_g"], out["collector_bias"]
    assert cap["none"] > cap["CEI"] > cap["thick CEI"]
    assert bias["CEI"] > bias["none"]
    assert cap["clogged CBD"] < cap["none"]
    for ds in out["runs"].values():
        assert ds.attrs["lithium_balance_error"] < 1e-9


@pytest.mark.slow
def test_sharma_first_charge_asynchronous():
    """Pristine NMC532 (SOC-dependent sigma and D_s), particles touching carbon
    unevenly: the IQR of per-particle onsets in the first charge is at least 5 x the
    second charge's (onsets from electrohet.analysis.optical.analyze_traces)."""
    from electrohet.voxel.scenarios import sharma_formation

    out = sharma_formation()
    assert out["iqr_ratio"] >= 5.0
