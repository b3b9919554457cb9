import numpy as np
import pytest
import xarray as xr

from electrohet.analysis.from_model import (
    layer_delta_theta_from_result,
    particle_sample_from_result,
    rate_table_from_results,
    synthetic_traces_from_result,
)
from electrohet.analysis.optical import analyze_traces
from electrohet.analysis.rate_capability import fit_peukert
from electrohet.errors import DataError

Q1C = 20.0  # Ah/m^2 at 1C (a ~2 mAh/cm^2 electrode)


def discharge_result(c_rate, alpha=0.25, n=101, nx=4, nc=2, attrs=True):
    """Hand-built model result: CC discharge at c_rate, capacity Q1C * c_rate^-alpha,
    constant 3.7 V; two particle classes per x, class 1 switching later (asynchronous)."""
    cap_end = Q1C * c_rate**-alpha
    i = Q1C * c_rate  # A/m^2
    t_end = cap_end / i * 3600
    t = np.linspace(0, t_end, n)
    x = np.linspace(5e-6, 75e-6, nx)
    frac = t / t_end
    onset = np.array([[0.3, 0.7]] * nx) + np.linspace(0, 0.1, nx)[:, None]
    theta = 0.4 + 0.6 / (1 + np.exp(-(frac[:, None, None] - onset[None]) / 0.02))
    ds = xr.Dataset(
        {
            "voltage": ("time", np.full(n, 3.7)),
            "current": ("time", np.full(n, i)),
            "capacity": ("time", i * t / 3600),
            "theta_mean": (("time", "x", "particle_class"), theta),
            "class_weight": (("x", "particle_class"), np.tile([0.75, 0.25], (nx, 1))),
        },
        coords={"time": t, "x": x, "particle_class": np.arange(nc)},
        attrs={"c_rate": c_rate} if attrs else {},
    )
    return ds


def test_rate_table_from_datasets_and_pairs():
    rates = [0.5, 1, 2, 3]
    tab = rate_table_from_results([discharge_result(r) for r in rates[::-1]])
    assert tab["rate"].tolist() == rates
    # constant current and voltage: trapezoid exact to round-off
    np.testing.assert_allclose(tab["capacity"], Q1C * np.array(rates) ** -0.25, rtol=1e-9)
    np.testing.assert_allclose(tab["energy"], 3.7 * tab["capacity"], rtol=1e-9)
    fit = fit_peukert(tab["rate"], tab["energy"])
    assert fit.alpha == pytest.approx(0.25, rel=1e-9)
    # without c_rate attrs: mean current is the rate coordinate, alpha unchanged
    tab2 = rate_table_from_results([discharge_result(r, attrs=False) for r in rates])
    np.testing.assert_allclose(tab2["rate"], Q1C * np.array(rates), rtol=1e-9)
    assert fit_peukert(tab2["rate"], tab2["energy"]).alpha == pytest.approx(0.25, rel=1e-9)
    pairs = rate_table_from_results([(r, Q1C * r**-0.25) for r in rates])
    assert fit_peukert(pairs["rate"], pairs["capacity"]).gamma == pytest.approx(2**-0.25)


def test_rate_table_bad_results():
    ds = discharge_result(1.0)
    ds["current"] = -ds["current"]
    with pytest.raises(DataError, match="model result 0: the result has no discharge step"):
        rate_table_from_results([ds])
    with pytest.raises(DataError, match="lacks"):
        rate_table_from_results([discharge_result(1.0).drop_vars("voltage")])


def test_particle_sample_weights_and_states():
    ds = discharge_result(1.0)
    t_end = float(ds.time[-1])
    s = particle_sample_from_result(ds, t_end, 20000, rng=0)
    # class weights 0.75 / 0.25 on a uniform grid: binomial SE 0.3 %; 1.5 % tolerance
    assert (s["particle_class"] == 1).mean() == pytest.approx(0.25, abs=0.015)
    assert s["theta"].max() <= 1.0 and s["theta"].min() >= 0.4
    s0 = particle_sample_from_result(ds, 0.0, 100, rng=1)
    np.testing.assert_allclose(s0["theta"], 0.4, atol=1e-3)  # all pristine at t = 0
    with pytest.raises(DataError, match="outside the result"):
        particle_sample_from_result(ds, 2 * t_end, 10)


def test_synthetic_traces_feed_optical_analysis():
    ds = discharge_result(1.0, n=201)
    da = synthetic_traces_from_result(ds, noise=0.005, rng=2)
    assert da.dims == ("time", "particle") and da.sizes["particle"] == 8
    # discharge lithiates (theta up) -> intensity falls; onsets at the class
    # switch fractions 0.3-0.8 of the discharge
    res = analyze_traces(da.values, ds["capacity"].values / float(ds["capacity"][-1]))
    expected = (np.array([[0.3, 0.7]] * 4) + np.linspace(0, 0.1, 4)[:, None]).ravel()
    # logistic onset is the 50 % point of theta's change; normalisation uses edge
    # means of a not-fully-saturated logistic: 0.01 tolerance in SOC
    np.testing.assert_allclose(res.onset, expected, atol=0.01)
    assert res.verdict == "asynchronous"


def test_true_layer_delta_theta():
    ds = discharge_result(1.0)
    bottom, top = layer_delta_theta_from_result(ds, 40e-6)
    assert bottom == pytest.approx(top, rel=0.02)  # both layers fully switch
    assert bottom == pytest.approx(0.6, rel=0.01)


def test_particle_sample_from_a_real_simulation():
    """A real P2D-E result (separator cells carry NaN class_weight) can be sampled."""
    from electrohet.design.ensemble_presets import kroeger_isolated_cell
    from electrohet.model import MeshOptions, Simulation

    sim = Simulation(
        kroeger_isolated_cell(n_radius=2), MeshOptions(points_per_domain=4, radial_points=5)
    )
    ds = sim.solve("Discharge at C/2 for 2 minutes")
    w = ds["class_weight"].values
    assert np.isnan(w).any()  # the separator: no particles of this electrode
    t_end = float(ds["time"].values[-1])
    df = particle_sample_from_result(ds, t_end, 400, rng=0)
    assert len(df) == 400 and np.isfinite(df["theta"]).all()
    # only electrode cells are drawn, each class in proportion to its volume weight
    x_el = ds["x"].values[np.isfinite(w).all(axis=1)]
    assert np.isin(df["x"], x_el).all()
    share = df["particle_class"].value_counts(normalize=True).sort_index().to_numpy()
    wc = np.nansum(w, axis=0) / np.nansum(w)
    # 400 draws: binomial SD <= 0.025; 4 SD
    np.testing.assert_allclose(share, wc, atol=0.1)
    # sampled theta is the model's theta_mean of the drawn cell at that time
    th = ds["theta_mean"].sel(time=t_end).transpose("x", "particle_class")
    ref = [
        float(th.sel(x=a, particle_class=c))
        for a, c in zip(df["x"], df["particle_class"], strict=True)
    ]
    np.testing.assert_allclose(df["theta"], ref, rtol=0, atol=1e-12)
