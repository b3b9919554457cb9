"""The bridge scoreboard case: structure and rules (the quick run itself is the lead's
quick set; tests/voxel/test_voxel_compare.py checks the physics)."""

from __future__ import annotations

from electrohet.validation.cases import bridge
from electrohet.validation.core import Case


def test_case_declares_its_three_claims():
    assert isinstance(bridge.CASE, Case) and bridge.CASE.quick
    ids = [c.id for c in bridge.CASE.claims]
    assert ids == [
        "electrohet.bridge_synthetic_c10",
        "electrohet.bridge_synthetic_1c",
        "electrohet.bridge_real",
    ]
    assert all(
        c.paper == "electrohet" and c.place.startswith("docs/voxel.md") for c in bridge.CLAIMS
    )


def test_rules_as_declared():
    """C/10: RMS <= 10 mV; 1C: RMS <= 20 mV and the capacity ratio within 2 %."""
    row = {"measured": {"rms": 9.9e-3, "capacity_ratio": 1.03}}
    assert bridge._judge(row, 10e-3, None)
    assert not bridge._judge(row, 20e-3, 0.02)
    row["measured"]["capacity_ratio"] = 0.985
    assert bridge._judge(row, 20e-3, 0.02)
    row["measured"]["rms"] = 20.1e-3
    assert not bridge._judge(row, 20e-3, 0.02)


def test_real_volume_only_from_the_environment(monkeypatch):
    for k in bridge.REAL_ENV:
        monkeypatch.delenv(k, raising=False)
    assert bridge._real() is None
