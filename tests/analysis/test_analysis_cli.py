import json

import numpy as np
import pandas as pd
import tifffile

from electrohet.analysis.synthetic import disc_labels, render_stack, switch_traces
from electrohet.cli import main


def _rate_csv(path, rates, q_nom=2e-3, alpha=0.2):
    rows, t = [], 0.0
    for r in rates:
        for cur, dur in ((-0.5 * q_nom, 7200.0), (r * q_nom, 3600 * r**-alpha / r)):
            for k in range(1 if rows else 0, 31):  # contiguous steps (see synthetic_aging)
                rows.append((t + dur * k / 30, -cur * 1e3, 3.7))
            t += dur
    pd.DataFrame(rows, columns=["t", "I", "U"]).to_csv(path, index=False)


def test_cli_rate(tmp_path, capsys):
    f = tmp_path / "cell.csv"
    _rate_csv(f, (0.5, 1, 2, 3))
    out = tmp_path / "out"
    code = main(
        ["analyze", "rate", str(f), "--columns", "time=t,current=I,voltage=U",
         "--units", "current=mA", "--nominal-capacity", "0.002", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    res = json.loads((out / "peukert.json").read_text())
    assert abs(res["alpha"] - 0.2) < 1e-9  # exact power law, constant currents
    assert (out / "rate.png").exists() and (out / "rate_table.csv").exists()


def test_cli_rate_errors_are_one_line(tmp_path, capsys):
    f = tmp_path / "two.csv"
    _rate_csv(f, (0.5, 1))
    code = main(["analyze", "rate", str(f), "--columns", "time=t,current=I,voltage=U",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "two.csv" in err and "at least 3 distinct" in err
    code = main(["analyze", "rate", str(f), "--columns", "time=t,current=I,voltage=Volts"])
    assert code == 2 and "missing column" in capsys.readouterr().err


def test_cli_particles(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for d in (0.77, 0.59, 0.39, 0.19):
        rows += [(f"std{d}", v, d) for v in 0.05 + 0.9 * d + rng.normal(0, 0.06, 200)]
    rows += [("cycled", v, np.nan) for v in 0.05 + 0.9 * 0.31 + rng.normal(0, 0.06, 500)]
    rows += [("cycled", v, np.nan) for v in rng.uniform(0.6, 0.8, 40)]
    f = tmp_path / "sp.csv"
    pd.DataFrame(rows, columns=["sample", "ratio", "dol"]).to_csv(f, index=False)
    out = tmp_path / "o"
    assert main(["analyze", "particles", str(f), "--out", str(out)]) == 0
    tab = pd.read_csv(out / "particles_summary.csv")
    # 40/540 = 7.4 % trapped + ~4.2 % Gaussian tail of the 500 others
    assert 0.08 < tab["diverging_fraction"].item() < 0.16
    assert (out / "histograms.png").exists()


def test_cli_optical(tmp_path, capsys):
    rng = np.random.default_rng(1)
    t = np.arange(60) * 600.0  # 10 min frames
    lab = disc_labels((96, 96), 6, 7, rng)
    onsets = np.array([1.5, 3, 4.5, 6, 7.5, 9.0])  # h
    stack = render_stack(switch_traces(t / 3600, onsets, 0.05), lab, rng=rng)
    tifffile.imwrite(tmp_path / "s.tif", stack.astype(np.uint16))
    tifffile.imwrite(tmp_path / "m.tif", lab)
    out = tmp_path / "o"
    args = ["analyze", "optical", str(tmp_path / "s.tif"), "--masks", str(tmp_path / "m.tif")]
    code = main([*args, "--frame-interval", "600", "--out", str(out)])
    assert code == 0
    s = json.loads((out / "optical_summary.json").read_text())
    assert s["segments"][0]["verdict"] == "asynchronous"
    tab = pd.read_csv(out / "optical_particles.csv")
    np.testing.assert_allclose(tab["onset"], onsets, atol=0.15)  # < 1 frame (0.17 h)
    assert (out / "traces_1.png").exists()
    # an empty mask is a one-line error naming the file
    tifffile.imwrite(tmp_path / "empty.tif", np.zeros_like(lab))
    code = main(["analyze", "optical", str(tmp_path / "s.tif"), "--masks",
                 str(tmp_path / "empty.tif")])  # fmt: skip
    assert code == 2 and "empty.tif: the particle mask is empty" in capsys.readouterr().err
