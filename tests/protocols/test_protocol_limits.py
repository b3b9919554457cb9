"""Physically absurd protocol inputs are refused with the allowed range; the limits
themselves are accepted."""

from __future__ import annotations

import pytest

from electrohet.errors import ProtocolError
from electrohet.protocols import CurrentSpec, Experiment, Step, parse_step
from electrohet.protocols.experiment import MAX_REPEAT
from electrohet.protocols.steps import MAX_C_RATE, MAX_DURATION_S, MIN_C_RATE


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "Rest for 1e9 hours",
            r"duration = 3\.6e\+12 s is outside the allowed range \(0, 3\.6e\+07\]",
        ),
        ("Discharge at 1e-9C until 2.5 V", r"current = 1e-09C .* \[0\.001, 1000\] C"),
        ("Discharge at 1e5C until 2.5 V", r"current = 100000C .* \[0\.001, 1000\] C"),
        ("Charge at C/1e6 until 4.2 V", r"current = 1e-06C"),
        ("Charge at 1e9 mA/cm2 for 1 s", r"current = 1e\+10 A/m2 .* \[0\.0001, 100000\] A/m2"),
        ("Discharge at 1e-12 A for 1 hour", r"current = 1e-12 A .* \[1e-09, 10000\] A"),
        ("Hold at 4.2 V until 1e-9C", r"cut-off current = 1e-09C .* \[0\.0001, 1000\] C"),
        ("Discharge at 1C for 2e7 minutes or until 2.5 V", r"duration = 1\.2e\+09 s"),
    ],
)
def test_absurd_steps_refused_with_allowed_range(text, needle):
    with pytest.raises(ProtocolError, match=needle) as info:
        parse_step(text)
    assert repr(text) in str(info.value) or text in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "Discharge at 1000C until 2.5 V",
        "Discharge at C/1000 until 2.5 V",
        "Rest for 10000 hours",
        "Hold at 4.2 V until C/10000",
        "Charge at 2 mA/cm2 for 30 minutes",
    ],
)
def test_limits_themselves_accepted(text):
    assert parse_step(text).text == text


def test_boundaries_match_constants():
    assert parse_step(f"Discharge at {MAX_C_RATE:g}C until 2.5 V").current.value == MAX_C_RATE
    assert parse_step(f"Discharge at {MIN_C_RATE:g}C until 2.5 V").current.value == MIN_C_RATE
    assert parse_step(f"Rest for {MAX_DURATION_S:g} s").duration == MAX_DURATION_S
    with pytest.raises(ProtocolError):
        parse_step(f"Rest for {MAX_DURATION_S * 1.001:g} s")


def test_hand_built_steps_checked_too():
    with pytest.raises(ProtocolError, match="allowed range"):
        Step(kind="current", current=CurrentSpec(float("nan"), "C"), until_voltage=3.0)
    with pytest.raises(ProtocolError, match="allowed range"):
        Step(kind="rest", duration=float("inf"))


def test_repeat_and_step_count_limits():
    with pytest.raises(ProtocolError, match=r"repeat = 0 .*\[1, 100000\]"):
        Experiment(["Rest for 1 s"], repeat=0)
    with pytest.raises(ProtocolError, match=r"repeat = 100001"):
        Experiment(["Rest for 1 s"], repeat=MAX_REPEAT + 1)
    eleven = tuple(f"Rest for {i + 1} s" for i in range(11))
    with pytest.raises(ProtocolError, match=r"1100000 steps .* maximum is 1000000"):
        Experiment([eleven], repeat=100_000)
