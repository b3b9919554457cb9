"""``electrohet age``: a short run writes its files; bad input is one line, exit 2."""

from __future__ import annotations

import json

from electrohet.cli import main

GOOD = """
snapshot_cycles = [3]
[cell]
preset = "nmc532"
n_radius = 1
[protocol]
cycle = ["Charge at 1C until 4.3 V", "Discharge at 1C until 3.0 V"]
n_cycles = 3
[mesh]
points_per_domain = 3
radial_points = 5
"""


def test_age_cli_writes_results(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text(GOOD)
    rc = main(["age", str(cfg), "--out", str(tmp_path / "out"), "--quiet"])
    assert rc in (0, None)
    out = tmp_path / "out"
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "completed" and status["cycles_finished"] == 3
    assert len((out / "cycles.csv").read_text().strip().splitlines()) == 4
    assert (out / "aging.nc").is_file() and (out / "aging.png").is_file()


def test_age_cli_bad_input_one_line_exit_2(tmp_path, capsys):
    for bad, key in (
        (GOOD.replace("n_cycles = 3", "n_cycles = 0"), "n_cycles"),
        (GOOD.replace("[mesh]", "[mechanisms.contact]\nrate = -1.0\n[mesh]"), "contact.rate"),
        (GOOD.replace("until 3.0 V", "until 1.0 V"), "never ends"),
        (GOOD.replace("until 3.0 V", "until 4.4 V"), "never discharges"),
    ):
        cfg = tmp_path / "b.toml"
        cfg.write_text(bad)
        rc = main(["age", str(cfg), "--out", str(tmp_path / "o2"), "--quiet"])
        err = capsys.readouterr().err.strip()
        assert rc == 2
        assert len(err.splitlines()) == 1 and key in err


def test_age_config_kroeger_calibration(tmp_path):
    """``[mechanisms] calibration = "kroeger"`` selects KROEGER_CALIBRATION (the example
    examples/aging_nmc532_2c.toml uses it)."""
    from pathlib import Path

    from electrohet.aging.config import load_aging_config
    from electrohet.aging.presets import KROEGER_CALIBRATION

    cfg = tmp_path / "k.toml"
    cfg.write_text(GOOD.replace("[mesh]", '[mechanisms]\ncalibration = "kroeger"\n[mesh]'))
    assert load_aging_config(cfg).mech == KROEGER_CALIBRATION
    example = Path(__file__).parents[2] / "examples" / "aging_nmc532_2c.toml"
    assert load_aging_config(example).mech == KROEGER_CALIBRATION
