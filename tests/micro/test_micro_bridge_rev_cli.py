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


def _analyze(path, out, *extra):
    return main(
        [
            "micro",
            "analyze",
            str(path),
            "--labels",
            "pore=0,cbd=1,am=2,crack=3",
            "--voxel-size",
            "0.1",
            "--out",
            str(out),
            "--no-figures",
            "--no-particles",
            *extra,
        ]
    )


def test_cli_analyze_refuses_2d_and_single_voxel(tmp_path, capsys):
    tifffile = pytest.importorskip("tifffile")
    img = tmp_path / "slice.tif"
    tifffile.imwrite(img, np.zeros((8, 8), np.uint8))
    assert _analyze(img, tmp_path / "o") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a 3D volume" in err[0] and "(1, 8, 8)" in err[0]
    one = tmp_path / "one.npy"
    np.save(one, np.zeros((1, 1, 1), np.uint8))
    assert _analyze(one, tmp_path / "o") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(1, 1, 1)" in err[0]


def test_cli_analyze_non_percolating_is_null_with_flag_and_warning(tmp_path, capsys):
    data = np.full((10, 8, 8), 2, np.uint8)
    data[:4] = 0  # pore only near the collector: no path through the thickness
    data[6:, :4, :4] = 0
    p = tmp_path / "v.npy"
    np.save(p, data)
    rc = _analyze(p, tmp_path / "o", "--flow", "--quiet")
    assert rc == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["tortuosity"]["tau"] is None and m["tortuosity"]["percolating"] is False
    assert m["flow"]["tau_flow"] is None and m["flow"]["permeability"] == 0.0
    assert m["flow"]["percolating"] is False
    assert m["geometric_tortuosity"]["tau_mean"] is None
    assert ': "inf"' not in (tmp_path / "o" / "metrics.json").read_text()  # no string
    err = capsys.readouterr().err
    assert "warning:" in err and "percolate" in err


def test_cli_analyze_new_metrics(tmp_path, capsys):
    data = np.full((12, 10, 10), 2, np.uint8)
    data[:, 2:6, 2:6] = 0  # a straight square pore channel through the thickness
    p = tmp_path / "v.npy"
    np.save(p, data)
    assert _analyze(p, tmp_path / "o", "--flow") == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["tortuosity"]["tau"] == pytest.approx(1.0, rel=1e-6)
    assert m["geometric_tortuosity"]["tau_mean"] == pytest.approx(1.0)
    assert m["flow"]["tau_flow"] == pytest.approx(1.0)
    assert m["flow"]["permeability"] > 0
    assert m["pore_size"]["max_radius_m"] > 0
    assert "GB peak memory" in capsys.readouterr().out  # the estimate


def test_cli_generate_refuses_huge_volume(tmp_path, capsys):
    rc = main(["micro", "generate", str(tmp_path / "big.npy"), "--shape", "5000,5000,5000"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GB of memory" in err[0] and "5000,5000,5000" in err[0]
    assert not (tmp_path / "big.npy").exists()
