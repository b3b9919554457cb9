import numpy as np
import pandas as pd
import pytest

from electrohet.analysis.aging import cycle_table, fit_loss_rate, residual_capacity, retention
from electrohet.analysis.cycler import from_dataframe, step_table
from electrohet.errors import DataError

Q0 = 1e-3  # Ah


def synthetic_aging(n_cycles=20, loss=0.004, titration_every=5, slow_loss=0.002):
    """1C cycles losing ``loss`` of Q0 per cycle; every 5th cycle a C/10 titration.

    Each discharge is 21 samples of constant current; charge restores the same
    charge. Steps follow each other without a pause: a step's first row is logged
    one sampling interval after the previous step's last row (the step's start), so
    that interval is the step's. Internal units (s, A, V), discharge positive.
    """
    rows = []
    t = 0.0
    for c in range(n_cycles):
        slow = c % titration_every == 0
        cur = Q0 / 10 if slow else Q0
        q = Q0 * (1 - (slow_loss if slow else loss) * c)
        for sign, volt in ((-1.0, 4.0), (1.0, 3.7)):
            dur = q / cur * 3600
            for k in range(1 if rows else 0, 21):
                rows.append((t + dur * k / 20, sign * cur, volt))
            t += dur
    return from_dataframe(
        pd.DataFrame(rows, columns=["time", "current", "voltage"]), discharge_negative=False
    )


def test_cycle_table_and_retention():
    cd = synthetic_aging()
    cyc = cycle_table(step_table(cd))
    assert len(cyc) == 20
    assert cyc["cycle_id"].tolist() == list(range(20))
    q_expected = [Q0 * (1 - (0.002 if c % 5 == 0 else 0.004) * c) for c in range(20)]
    # constant currents: trapezoid exact to round-off
    np.testing.assert_allclose(cyc["discharge_capacity"], q_expected, rtol=1e-9)
    np.testing.assert_allclose(cyc["coulombic_efficiency"], 1.0, rtol=1e-9)
    np.testing.assert_allclose(cyc["throughput"], np.cumsum(q_expected), rtol=1e-9)
    fast = cyc[cyc["discharge_current"] > Q0 / 2]
    fit = fit_loss_rate(fast["cycle_id"], fast["discharge_capacity"])
    assert fit.rate == pytest.approx(0.004 * Q0, rel=1e-9)
    assert fit.relative_rate == pytest.approx(0.004, rel=1e-9)
    r = retention(fast["discharge_energy"].to_numpy())
    assert r[0] == 1.0 and r[-1] == pytest.approx((1 - 0.004 * 19) / (1 - 0.004), rel=1e-9)
    res = residual_capacity(cyc, slow_current=Q0 / 10)
    assert res["cycle_id"].tolist() == [0, 5, 10, 15]
    assert res["loss_pct"].iloc[-1] == pytest.approx(100 * 0.002 * 15, rel=1e-9)


def test_loss_rate_ci_coverage():
    """95 % CIs of the absolute and relative loss rate cover the truth in >= 90 %.

    200 seeded repeats of 50 cycles, loss 0.04 %/cycle of Q0 (Yari's single layer:
    0.038 %/cycle), noise 0.1 % of Q0. Binomial SD of the coverage: 1.5 %.
    """
    rng = np.random.default_rng(11)
    cyc = np.arange(1, 51)
    k = 4e-4
    hit = hit_rel = 0
    for _ in range(200):
        q = Q0 * (1 - k * cyc) + rng.normal(0, 1e-3 * Q0, cyc.size)
        f = fit_loss_rate(cyc, q)
        hit += f.rate_ci[0] <= k * Q0 <= f.rate_ci[1]
        hit_rel += f.relative_rate_ci[0] <= k <= f.relative_rate_ci[1]
    assert hit / 200 >= 0.90
    assert hit_rel / 200 >= 0.90


def test_aging_bad_input():
    with pytest.raises(DataError, match=r"cell\.csv.*at least 3 distinct"):
        fit_loss_rate([1, 2], [1.0, 0.9], source="cell.csv")
    with pytest.raises(DataError, match="non-finite"):
        fit_loss_rate([1, 2, 3], [1.0, np.nan, 0.9])
    cyc = cycle_table(step_table(synthetic_aging(n_cycles=4)))
    with pytest.raises(DataError, match="no titration cycle"):
        residual_capacity(cyc, slow_current=Q0 / 50)


def test_cycles_without_discharge_are_counted():
    cd = from_dataframe(
        pd.DataFrame(
            {
                "time": np.arange(8.0),
                "current": [-1, -1, 1, 1, -1, -1, -1, -1],
                "voltage": 4.0,
            }
        ),
        discharge_negative=False,
    )
    cyc = cycle_table(step_table(cd))
    assert len(cyc) == 1
    assert cyc.attrs["excluded"] == {"cycles without a discharge step": 1}
