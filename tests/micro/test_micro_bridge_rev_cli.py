"""Bridge to the cell model, REV statistics and the ``electrohet micro`` CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from electrohet.cli import main
from electrohet.errors import ParameterError
from electrohet.micro.bridge import layers_from_volume
from electrohet.micro.fractions import phase_fractions
from electrohet.micro.generate import synthetic_electrode
from electrohet.micro.rev import particle_sampling, rev_curve, rev_size, samples_needed


@pytest.fixture(scope="module")
def bilayer():
    return synthetic_electrode(
        (48, 40, 40),
        2e-7,
        layers=[
            {"cbd_fraction": 0.04, "am_fraction": 0.5},
            {"cbd_fraction": 0.14, "am_fraction": 0.5},
        ],
        crack_fraction=0.04,
        seed=6,
    )


def test_layers_from_volume(bilayer):
    layers = layers_from_volume(bilayer, n_layers=2)
    assert [round(x["thickness_m"] * 1e6, 9) for x in layers] == [4.8, 4.8]
    assert layers[0]["cbd_fraction"] == pytest.approx(0.04, abs=3e-3)
    assert layers[1]["cbd_fraction"] == pytest.approx(0.14, abs=3e-3)
    for lay in layers:
        total = lay["porosity"] + lay["am_fraction"] + lay["cbd_fraction"]
        assert total == pytest.approx(1.0, abs=1e-12)  # porosity includes cracks
        assert 1.0 < lay["tortuosity"] < 20
        # default radius 6 voxels = 1.2 um; watershed on overlapping spheres splits
        # and clips particles, so accept a factor of 1.6 either way
        assert 0.75e-6 < lay["radius_median_m"] < 1.9e-6
        assert 0 < lay["radius_log_sigma"] < 1
    assert layers[1]["tortuosity"] > layers[0]["tortuosity"]  # more CBD, fewer pores
    with pytest.raises(ParameterError, match="n_layers = 0"):
        layers_from_volume(bilayer, n_layers=0)


def test_rev_curve_and_sampling(bilayer):
    curve = rev_curve(bilayer, lambda v: phase_fractions(v)["am"], [8, 16, 32], n_samples=6)
    assert list(curve["size_vox"]) == [8, 16, 32]
    assert curve["std"].iloc[0] > curve["std"].iloc[-1]  # spread shrinks with size
    assert rev_size(curve, cv_target=1.0) == 8
    assert rev_size(curve, cv_target=0.0) is None
    # n = (z s / w)^2: s = 1, w = 0.1, z(95 %) = 1.96 -> 384.1 -> 385
    assert samples_needed(1.0, 0.1) == 385
    rng = np.random.default_rng(0)
    res = particle_sampling(rng.normal(10, 2, 400), half_width=0.1)
    assert res["n_needed"] == samples_needed(res["std"], 0.1)
    assert res["ci_halfwidth"] == pytest.approx(1.96 * res["std"] / 20, rel=1e-3)


def test_cli_generate_and_analyze(tmp_path):
    vol = tmp_path / "v.npy"
    assert (
        main(
            [
                "micro",
                "generate",
                str(vol),
                "--shape",
                "32,32,32",
                "--crack-fraction",
                "0.05",
                "--seed",
                "2",
            ]
        )
        == 0
    )
    out = tmp_path / "out"
    rc = main(
        [
            "micro",
            "analyze",
            str(vol),
            "--labels",
            "pore=0,cbd=1,am=2,crack=3",
            "--voxel-size",
            "0.1,0.1,0.1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert sum(m["fractions"].values()) == pytest.approx(1.0, abs=1e-12)
    assert m["voxel_size_m"] == pytest.approx([1e-7] * 3)
    assert m["cbd"]["connectivity"] == 26
    tab = pd.read_csv(out / "particles.csv")
    assert len(tab) > 5 and "cbd_coverage" in tab
    for f in ("profiles.png", "slice_phases.png", "cbd_aggregates.png", "profiles.csv"):
        assert (out / f).stat().st_size > 0


def test_cli_bad_input(tmp_path, capsys):
    vol = tmp_path / "v.npy"
    np.save(vol, np.full((4, 4, 4), 7, np.uint8))
    rc = main(
        [
            "micro",
            "analyze",
            str(vol),
            "--labels",
            "pore=0,am=2",
            "--voxel-size",
            "0.1",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    assert "unexpected label value(s) [7]" in capsys.readouterr().err
    rc = main(
        [
            "micro",
            "analyze",
            str(vol),
            "--labels",
            "pore=0,am=7",
            "--voxel-size",
            "nan",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    assert "voxel_size" in capsys.readouterr().err
