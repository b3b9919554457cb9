import numpy as np
import pandas as pd
import pytest
from scipy import stats

from electrohet.analysis.particles import (
    GAUSSIAN_TAIL_2SIGMA,
    Frame,
    analyze_samples,
    calibration_from_table,
    diverging_fraction,
    fit_calibration,
    fit_gaussian,
    frame_for_dol,
    inactive_li_capacity,
    li_fraction_to_capacity,
    read_particles,
)
from electrohet.errors import DataError

# Numbers from shared/reference/kroeger_single_particle.json (Kroeger), copied here
# so the test does not depend on where shared/ lives.
REF = {
    "calibration_SOC_pct": [23, 41, 61, 81],
    "theoretical_capacity_mAh_g": 278,
    "diverging_fraction_pct": [
        {"history": "fresh, slow delithiation to SOC 81 %", "value": 6, "sd": 1},
        {"history": "100 cycles 1C", "value": 8, "sd": 1},
        {"history": "50 cycles 2C", "value": 11, "sd": 1},
        {"history": "100 cycles 2C", "value": 15, "sd": 2},
        {"history": "100 cycles 3C", "value": 10, "sd": 1},
    ],
}
# Kroeger's standards: SOC 23, 41, 61, 81 % -> DOL = 1 - SOC
STD_DOL = 1 - np.array(REF["calibration_SOC_pct"]) / 100
A, B, SD = 0.05, 0.9, 0.06  # synthetic calibration: ratio = A + B * DOL, per-particle SD


def standards(rng, n=150):
    return [A + B * d + rng.normal(0, SD, n) for d in STD_DOL]


def test_calibration_recovers_line():
    rng = np.random.default_rng(0)
    cal = fit_calibration(STD_DOL, standards(rng, n=2000))
    # SE of the slope with 2000 particles per standard ~ 0.003; 5 SE tolerance
    assert cal.slope == pytest.approx(B, abs=5 * cal.slope_se)
    assert cal.intercept == pytest.approx(A, abs=5 * cal.intercept_se)
    np.testing.assert_allclose(cal.sd, SD, rtol=0.05)  # SD of SD estimate ~1.6 %
    assert cal.to_dol(cal.ratio(0.31)) == pytest.approx(0.31, rel=1e-12)


def test_calibration_slope_ci_coverage():
    """The 95 % slope CI covers the true slope in >= 90 % of 200 seeded repeats."""
    rng = np.random.default_rng(42)
    hits = 0
    for _ in range(200):
        cal = fit_calibration(STD_DOL, standards(rng))
        hits += cal.slope_ci[0] <= B <= cal.slope_ci[1]
    assert hits / 200 >= 0.90


def test_calibration_with_dol_errors_inflates_slope_error():
    rng = np.random.default_rng(1)
    r = standards(rng)
    c0 = fit_calibration(STD_DOL, r)
    c1 = fit_calibration(STD_DOL, r, dol_se=[0.02, 0.005, 0.005, 0.01])
    assert c1.slope_se > c0.slope_se


def test_calibration_bad_input():
    rng = np.random.default_rng(2)
    with pytest.raises(DataError, match="at least 3 standards"):
        fit_calibration(STD_DOL[:2], standards(rng)[:2])
    with pytest.raises(DataError, match=">= 3 finite ratios"):
        fit_calibration(STD_DOL[:3], [np.ones(5), np.ones(2), np.ones(5)])


def kroeger_sample(rng, frame, target, n):
    """Particles whose probability to fall outside ``frame`` is ``target``.

    A uniform population (Gaussian on the frame) already puts 4.55 % outside
    +- 2 sigma; a share d of trapped-Li particles is placed above the frame, with
    d solving (1 - d) * 0.0455 + d = target.
    """
    d = (target - GAUSSIAN_TAIL_2SIGMA) / (1 - GAUSSIAN_TAIL_2SIGMA)
    n_div = rng.binomial(n, d)
    main = rng.normal(frame.center, frame.sigma, n - n_div)
    trapped = rng.uniform(frame.high + 0.1 * frame.sigma, frame.high + 6 * frame.sigma, n_div)
    return np.concatenate([main, trapped])


@pytest.mark.parametrize("entry", REF["diverging_fraction_pct"], ids=lambda e: e["history"])
def test_kroeger_fractions_come_back_within_ci(entry):
    rng = np.random.default_rng(int(entry["value"] * 100 + entry["sd"]))
    frame = Frame(dol=0.31, center=A + B * 0.31, sigma=SD)
    x = kroeger_sample(rng, frame, entry["value"] / 100, n=3000)
    res = diverging_fraction(x, frame, rng=1)
    assert res.ci[0] <= entry["value"] / 100 <= res.ci[1]
    assert res.n_above > res.n_below


def test_diverging_fraction_ci_coverage():
    """Bootstrap 95 % CI covers the true outside-probability in >= 90 % of 200 repeats."""
    rng = np.random.default_rng(7)
    frame = Frame(dol=0.31, center=A + B * 0.31, sigma=SD)
    hits = 0
    for _ in range(200):
        x = kroeger_sample(rng, frame, 0.11, n=800)
        res = diverging_fraction(x, frame, n_boot=1000, rng=rng)
        hits += res.ci[0] <= 0.11 <= res.ci[1]
    assert hits / 200 >= 0.90


def test_gaussian_fit_robust_to_diverging_tail():
    rng = np.random.default_rng(3)
    frame = Frame(dol=0.31, center=0.33, sigma=SD)
    x = kroeger_sample(rng, frame, 0.15, n=5000)
    g = fit_gaussian(x)
    # the 10.9 % trapped tail shifts the plain mean by ~0.04; the fit stays within
    # 4 of its SEs (+ 1 % bias allowance of sigma) of the main population
    assert abs(g.mean - 0.33) < 4 * g.mean_se + 0.01 * SD
    assert abs(np.mean(x) - 0.33) > 0.02
    assert g.sd == pytest.approx(SD, rel=0.1)


def test_frame_interpolates_sd():
    rng = np.random.default_rng(4)
    cal = fit_calibration(STD_DOL, standards(rng, n=500))
    fr = frame_for_dol(cal, 0.31)
    assert fr.center == pytest.approx(A + B * 0.31, abs=0.01)
    assert fr.sigma == pytest.approx(SD, rel=0.1)
    assert fr.high - fr.low == pytest.approx(4 * fr.sigma)


def test_inactive_li_capacity():
    # one Li per NMC532 formula unit is 277.6 mAh/g (Kroeger quotes 278)
    assert float(li_fraction_to_capacity(1.0)) == pytest.approx(
        REF["theoretical_capacity_mAh_g"], abs=0.5
    )
    v, se = inactive_li_capacity(100.0, 90.0, total_li_se=1.2, active_li_se=1.6)
    assert v == pytest.approx(10.0) and se == pytest.approx(2.0)


def test_particles_csv_end_to_end(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for d, r in zip(STD_DOL, standards(rng, n=300), strict=True):
        rows += [(f"std{d:.2f}", v, d) for v in r]
    frame = Frame(dol=0.31, center=A + B * 0.31, sigma=SD)
    for name, target in (("1C_100", 0.08), ("2C_100", 0.15)):
        rows += [(name, v, np.nan) for v in kroeger_sample(rng, frame, target, 2000)]
    df = pd.DataFrame(rows, columns=["sample", "ratio", "dol"])
    df.loc[3, "ratio"] = -1.0  # a bad row: excluded and counted
    f = tmp_path / "sp.csv"
    df.to_csv(f, index=False)
    with pytest.warns(UserWarning, match="excluded 1"):
        p = read_particles(f)
    assert p.attrs["excluded"] == {"missing, non-numeric or non-positive ratio": 1}
    cal = calibration_from_table(p)
    tab = analyze_samples(p, cal, 0.31, rng=0)
    assert tab["sample"].tolist() == ["1C_100", "2C_100"]
    # the frame is estimated (calibration), so allow 3 binomial SEs + frame error
    for target, got in zip((0.08, 0.15), tab["diverging_fraction"], strict=True):
        se = np.sqrt(target * (1 - target) / 2000)
        assert abs(got - target) < 3 * se + 0.01
    assert tab["dol_mean"].to_numpy() == pytest.approx(0.31, abs=0.03)


def test_particles_missing_columns(tmp_path):
    f = tmp_path / "p.csv"
    pd.DataFrame({"id": ["a"], "value": [1.0]}).to_csv(f, index=False)
    with pytest.raises(DataError, match=r"p\.csv: missing column\(s\) \['sample', 'ratio'\]"):
        read_particles(f)


def test_tail_constant():
    assert GAUSSIAN_TAIL_2SIGMA == pytest.approx(2 * stats.norm.sf(2))
