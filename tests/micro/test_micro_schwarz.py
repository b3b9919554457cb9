"""Two-level Schwarz tortuosity: convergence to the full solve, bounds and exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.micro.lean import lean_tortuosity
from electrohet.micro.schwarz import percolates, schwarz_conductivity
from electrohet.micro.transport import percolating_mask
from electrohet.micro.two_level import two_level_tortuosity


def blobs(n: int, porosity: float, seed: int = 0, sigma: float = 1.5) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(seed).random((n, n, n)), sigma)
    return f <= np.quantile(f, porosity)


def offsets_of(shape, block):
    return [np.unique(np.r_[np.arange(0, n, block), n]) for n in shape]


def run(im, block, axis=0, spacing=(1.0, 1.0, 1.0), **kw):
    return schwarz_conductivity(
        lambda sl: im[sl], im.shape, offsets_of(im.shape, block), axis, spacing, **kw
    )


def test_converges_to_the_full_solve_from_above():
    """The energy of every iterate bounds the full solve's conductivity from above and
    falls monotonically (both sub-steps minimise it over a subspace); with a remaining-
    error target of 1e-3 the value is within 0.3 % of the full lean solve (its own
    relative residual 1e-6: slack 1e-4 on the bound)."""
    im = blobs(36, 0.35, seed=2)
    full = lean_tortuosity(im, rtol=1e-9).sigma_eff_rel
    r = run(im, 12, halo=3, rtol=1e-3)
    assert r.converged and r.sweeps >= 3
    h = np.asarray(r.history)
    assert np.all(np.diff(h) <= 1e-9 * h[0])
    assert np.all(h >= full * (1 - 1e-4))
    assert r.sigma_eff_rel == pytest.approx(full, rel=3e-3)
    # the current through the end faces meets the energy at convergence
    assert r.flux_in == pytest.approx(r.flux_out, rel=3e-3)


def test_one_window_is_the_direct_solve():
    """A single block: the first window solve is the full problem, so one sweep gives
    the full solve's conductivity (to the solvers' tolerances, 1e-5) and the decrements
    stop."""
    im = blobs(24, 0.4, seed=1)
    full = lean_tortuosity(im, rtol=1e-10).sigma_eff_rel
    r = run(im, 24, halo=0, rtol=1e-3, local_rtol=1e-10)
    assert r.sigma_eff_rel == pytest.approx(full, rel=1e-5)
    assert r.converged


def test_straight_channels_are_exact_along_every_axis():
    """Channels along the axis conduct like the bulk phase: sigma = eps, tau = 1."""
    for axis in (0, 1, 2):
        im = np.zeros((30, 20, 20), dtype=bool)
        sl = [slice(3, 7), slice(3, 7), slice(3, 7)]
        sl[axis] = slice(None)
        im[tuple(sl)] = True
        r = run(im, 10, axis=axis, halo=2, rtol=1e-3)
        assert r.sigma_eff_rel == pytest.approx(im.mean(), rel=1e-5)


def test_anisotropic_voxels_and_axes_match_the_lean_solver():
    im = blobs(24, 0.4, seed=4)
    for axis, spacing in ((0, (2.0, 1.0, 1.0)), (2, (1.0, 0.5, 1.5))):
        full = lean_tortuosity(im, axis, spacing, rtol=1e-9).sigma_eff_rel
        r = run(im, 12, axis=axis, spacing=spacing, halo=3, rtol=1e-3)
        assert r.sigma_eff_rel == pytest.approx(full, rel=5e-3)


def test_on_disk_potential_gives_the_same_result():
    im = blobs(24, 0.4, seed=6)
    a = run(im, 8, halo=2, rtol=1e-2)
    b = run(im, 8, halo=2, rtol=1e-2, on_disk=True)
    assert b.history == pytest.approx(a.history, rel=1e-12)


@pytest.mark.parametrize("porosity", [0.2, 0.25, 0.3, 0.4])
def test_blockwise_percolation_matches_the_global_labelling(porosity):
    """Joining the blocks' own components across their faces gives the same answer
    as labelling the whole volume (cc3d), with blocks that do not divide the shape."""
    for seed in range(4):
        im = blobs(30, porosity, seed=seed, sigma=1.2)
        for axis in (0, 1):
            want = bool(percolating_mask(im, axis).any())
            assert (
                percolates(lambda sl, im=im: im[sl], im.shape, offsets_of(im.shape, 8), axis)
                == want
            )


def test_no_path_gives_zero():
    im = np.ones((24, 12, 12), dtype=bool)
    im[13] = False
    r = run(im, 8, halo=2)
    assert r.sigma_eff_rel == 0.0 and r.sweeps == 0


def test_two_level_default_is_the_refined_solve():
    """``two_level_tortuosity`` (default ``method="schwarz"``) on blocks of ~5 filter
    widths near the percolation threshold, where the coarse networks keep errors of
    their own: within 1 % of the full solve, and below it (tau from the energy bound);
    the bootstrap interval is finite and the result says how it stopped."""
    im = blobs(40, 0.3, seed=3, sigma=2.0)
    full = lean_tortuosity(im, rtol=1e-9).tau
    r = two_level_tortuosity(im, block=(10, 20, 20), schwarz_rtol=2e-3, n_bootstrap=20)
    assert r.method == "schwarz" and r.converged and r.sweeps >= 3
    assert r.tau == pytest.approx(full, rel=0.01)
    assert r.tau <= full * (1 + 1e-4)
    lo, hi = r.tau_ci95
    assert np.isfinite(lo) and np.isfinite(hi) and lo < hi
    assert r.as_dict()["sweeps"] == r.sweeps


def test_sweeps_stopped_short_warn_and_say_so():
    """Stopped by ``max_sweeps`` before the error target: ``converged`` is False, a
    ``TwoLevelAccuracyWarning`` names the estimate, and tau is still a lower bound of
    the full solve's (the energy bound holds after any number of sweeps)."""
    from electrohet.micro.two_level import TwoLevelAccuracyWarning

    im = blobs(40, 0.3, seed=3, sigma=2.0)
    full = lean_tortuosity(im, rtol=1e-9).tau
    with pytest.warns(TwoLevelAccuracyWarning, match="max_sweeps = 1"):
        r = two_level_tortuosity(
            im, block=(10, 20, 20), schwarz_rtol=1e-6, max_sweeps=1, n_bootstrap=0
        )
    assert not r.converged and r.sweeps == 1
    assert r.tau <= full * (1 + 1e-4)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"axis": 3}, "axis"),
        ({"halo": -1}, "halo"),
        ({"rtol": 0.0}, "rtol"),
        ({"max_sweeps": 0}, "max_sweeps"),
        ({"max_sweeps": 2.5}, "max_sweeps"),
        ({"local_rtol": 1.0}, "local_rtol"),
    ],
)
def test_bad_parameters_are_refused(kw, match):
    """Each out-of-range setting raises a ParameterError naming it."""
    from electrohet.errors import ParameterError

    im = blobs(12, 0.5, seed=1)
    args = {"axis": 0, **kw}
    axis = args.pop("axis")
    with pytest.raises(ParameterError, match=match):
        run(im, 6, axis=axis, **args)


def _tail(values: np.ndarray, K: int) -> float:
    """True remaining relative error after the K-th value of a sequence whose limit is 1."""
    return float(values[K] - 1.0) / float(values[K])


def test_remaining_error_is_not_optimistic_on_an_algebraic_tail():
    """sigma_k = 1 + k^-1.5: the decrement ratio creeps towards 1, as near the
    percolation threshold.  A geometric tail alone underestimates the remainder; the
    estimate must not (and may overestimate by at most 2.5x here)."""
    from electrohet.micro.schwarz import _remaining_error

    k = np.arange(1, 13, dtype=float)
    sig = 1.0 + k**-1.5
    for K in range(4, 12):
        est = _remaining_error(sig[: K + 1], first_sweep=1)
        true = _tail(sig, K)
        assert true <= est <= 2.5 * true, (K, est, true)


def test_remaining_error_is_tight_on_a_geometric_tail():
    """sigma_k = 1 + 0.6^k: the estimate is the exact geometric remainder (the algebraic
    model, fitted to a fast geometric tail, must not dominate by more than 30 %)."""
    from electrohet.micro.schwarz import _remaining_error

    k = np.arange(1, 13, dtype=float)
    sig = 1.0 + 0.6**k
    for K in range(4, 12):
        est = _remaining_error(sig[: K + 1], first_sweep=1)
        true = _tail(sig, K)
        # from five decrements on the trend is known and the estimate is the
        # geometric remainder; before that the larger of both models (conservative)
        hi = 1.3 if K >= 5 else 5.0
        assert true * (1 - 1e-9) <= est <= hi * true, (K, est, true)
