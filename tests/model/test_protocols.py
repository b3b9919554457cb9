import pytest

from electrohet.errors import ProtocolError
from electrohet.protocols import Experiment, parse_step, rate_test


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit", "direction", "until_v", "duration"),
    [
        ("Discharge at 1C until 3.0 V", "current", 1.0, "C", 1, 3.0, None),
        ("Charge at C/2 until 4.3 V", "current", 0.5, "C", -1, 4.3, None),
        ("Discharge at 2 mA/cm2 for 1 hour or until 3 V", "current", 20.0, "A/m2", 1, 3.0, 3600.0),
        ("Charge at 500 mA for 30 minutes", "current", 0.5, "A", -1, None, 1800.0),
    ],
)
def test_current_steps(text, kind, value, unit, direction, until_v, duration):
    s = parse_step(text)
    assert (s.kind, s.current.value, s.current.unit, s.direction, s.until_voltage, s.duration) == (
        kind,
        pytest.approx(value),
        unit,
        direction,
        until_v,
        duration,
    )


def test_hold_and_rest():
    s = parse_step("Hold at 4.3 V until C/20")
    assert s.kind == "voltage" and s.voltage == 4.3 and s.until_current.value == pytest.approx(0.05)
    assert parse_step("Rest for 15 minutes").duration == 900.0
    assert parse_step("rest for 2 h").duration == 7200.0


@pytest.mark.parametrize(
    "bad",
    ["Discharge quickly", "Charge at 1C", "Rest", "Hold at 4.2 V", "Discharge at 0C until 3 V"],
)
def test_unparseable_or_incomplete_steps_raise(bad):
    with pytest.raises(ProtocolError):
        parse_step(bad)


def test_experiment_cycles_and_rate_test():
    e = Experiment([("Discharge at 1C until 3 V", "Rest for 1 min")], repeat=3)
    assert len(e) == 6 and len(e.cycles) == 3
    rt = rate_test()
    assert len(rt.cycles) == 4
    assert [str(s) for s in rt.cycles[2]][3] == "Discharge at 2C until 3 V"
