import numpy as np
import pytest
import tifffile

from electrohet.analysis.optical import (
    analyze_traces,
    particle_traces,
    plot_traces,
    read_labels,
    read_stack,
    segment_particles,
)
from electrohet.analysis.synthetic import disc_labels, render_stack, switch_traces
from electrohet.errors import DataError


def test_full_size_stack_recovers_onsets():
    """200 frames x 512 x 512, 50 particles (the acceptance case; timed in
    benchmarks/bench_optical.py). Onsets uniform over 3-15 h of a 20 h charge,
    switch width 0.15 h (abrupt, like Sharma's first charge), pixel noise 20
    counts on a 300-count change: each particle averages ~700 pixels, so its
    trace noise is ~0.003 of the change and onsets come back to ~0.05 h; we
    allow 0.15 h (1.5 frames)."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 20, 200)
    lab = disc_labels((512, 512), 50, 15, rng)
    onsets = rng.uniform(3, 15, 50)
    stack = render_stack(switch_traces(t, onsets, 0.15), lab, rng=rng)
    seg = segment_particles(stack)
    assert seg.max() == 50
    traces, ids = particle_traces(stack, seg)
    res = analyze_traces(traces, t, ids=ids, label="charge 1")
    # map segmented ids back to the true labels through one pixel of each
    true_id = np.array([lab[np.argwhere(seg == i)[0][0], np.argwhere(seg == i)[0][1]] for i in ids])
    np.testing.assert_allclose(res.onset, onsets[true_id - 1], atol=0.15)
    assert res.verdict == "asynchronous" and res.verdict_confident
    assert np.all(res.step_likeness > 5)
    assert res.n_unchanged == 0


def test_synchronous_gradual_charge():
    """Gradual, nearly identical ramps (Sharma's later charges) -> synchronous."""
    rng = np.random.default_rng(1)
    t = np.linspace(0, 20, 120)
    onsets = rng.normal(10, 0.3, 30)
    tr = switch_traces(t, onsets, 4.0) + rng.normal(0, 0.01, (120, 30))
    res = analyze_traces(tr, t)
    assert res.verdict == "synchronous" and res.verdict_confident
    assert np.nanmedian(res.step_likeness) < 3  # logistic w=4 over 20 h: ~1.3
    np.testing.assert_allclose(res.onset, onsets, atol=0.5)


def test_onset_spread_ci_coverage():
    """Bootstrap 95 % CI of the onset IQR covers the true population IQR in >= 90 %.

    Onsets ~ Normal(10 h, 2 h) (population IQR = 1.349 * 2 h = 2.698 h), 50
    particles, abrupt switches with trace noise 0.02: 200 seeded repeats.
    """
    rng = np.random.default_rng(2)
    t = np.linspace(0, 20, 200)
    true_iqr = 2 * 1.3489795
    hits = 0
    for _ in range(200):
        onsets = rng.normal(10, 2, 50)
        tr = switch_traces(t, onsets, 0.1) + rng.normal(0, 0.02, (200, 50))
        res = analyze_traces(tr, t, n_boot=500, rng=rng)
        hits += res.onset_iqr_ci[0] <= true_iqr <= res.onset_iqr_ci[1]
    assert hits / 200 >= 0.90


def test_unchanged_particles_counted_and_soc_axis():
    rng = np.random.default_rng(3)
    soc = np.linspace(0, 1, 100)
    tr = switch_traces(soc, np.array([0.2, 0.4, 0.6, 2.0]), 0.01)  # last never switches
    tr = 1 - tr + rng.normal(0, 0.005, tr.shape)  # decreasing signal (discharge)
    res = analyze_traces(tr, soc)
    assert res.n_unchanged == 1 and not res.changed[3]
    np.testing.assert_allclose(res.onset[:3], [0.2, 0.4, 0.6], atol=0.01)
    assert np.isnan(res.onset[3])
    tab = res.table()
    assert len(tab) == 4


def test_bad_inputs(tmp_path):
    t = np.linspace(0, 1, 50)
    tr = switch_traces(t, np.array([0.5]), 0.05)
    with pytest.raises(DataError, match="strictly increasing"):
        analyze_traces(tr, t[::-1])
    with pytest.raises(DataError, match="no particle changes"):
        analyze_traces(np.ones((50, 2)) + np.random.default_rng(0).normal(0, 1e-3, (50, 2)), t)
    stack = np.zeros((3, 8, 8))
    with pytest.raises(DataError, match="empty"):
        particle_traces(stack, np.zeros((8, 8), dtype=int), source="s.tif")
    with pytest.raises(DataError, match="does not match"):
        particle_traces(stack, np.zeros((4, 4), dtype=int))
    # a stack whose frames differ in shape
    f = tmp_path / "ragged.tif"
    with tifffile.TiffWriter(f) as tw:
        tw.write(np.zeros((8, 8), np.uint16))
        tw.write(np.zeros((8, 9), np.uint16))
    with pytest.raises(DataError, match=r"ragged\.tif: frames differ in shape.*frame 1"):
        read_stack(f)
    d = tmp_path / "frames"
    d.mkdir()
    tifffile.imwrite(d / "f0.tif", np.zeros((8, 8), np.uint16))
    tifffile.imwrite(d / "f1.tif", np.zeros((9, 8), np.uint16))
    with pytest.raises(DataError, match="frames differ in shape"):
        read_stack(d)
    with pytest.raises(DataError, match="not found"):
        read_stack(tmp_path / "none.tif")


def test_tiff_round_trip_and_plot(tmp_path):
    rng = np.random.default_rng(4)
    t = np.linspace(0, 10, 40)
    lab = disc_labels((64, 64), 4, 6, rng)
    stack = render_stack(switch_traces(t, np.array([2.0, 4, 6, 8]), 0.1), lab, rng=rng)
    tifffile.imwrite(tmp_path / "s.tif", stack.astype(np.uint16))
    tifffile.imwrite(tmp_path / "m.tif", lab)
    st = read_stack(tmp_path / "s.tif")
    assert st.shape == (40, 64, 64)
    traces, ids = particle_traces(st, read_labels(tmp_path / "m.tif"))
    res = analyze_traces(traces, t, ids=ids)
    np.testing.assert_allclose(res.onset, [2, 4, 6, 8], atol=0.15)
    fig = plot_traces(res, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 1000
    import matplotlib.pyplot as plt

    plt.close(fig)
