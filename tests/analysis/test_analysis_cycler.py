import importlib.util

import numpy as np
import pandas as pd
import pytest

from electrohet.analysis.cycler import (
    CyclerDataWarning,
    from_dataframe,
    read_arbin_csv,
    read_csv,
    read_cycler,
    read_maccor_txt,
    read_mpr,
    read_mpt,
    step_table,
)
from electrohet.analysis.rate_capability import fit_rate_table, rate_table
from electrohet.errors import DataError

Q_NOM = 2e-3  # nominal capacity, Ah (2 mAh coin cell)
RATES = (0.5, 1.0, 2.0, 3.0)
ALPHA = 0.2


def synthetic_rate_test(dt_s=10.0, rates=RATES, alpha=ALPHA):
    """Rate test: CC charge at C/2 to full, rest, CC discharge at each rate.

    Discharge capacity at rate r is Q_NOM * r**-alpha (exact power law, so the fit
    must recover alpha to the discretisation error). Voltage 3.7 V during
    discharge (energy = 3.7 V * capacity), 4.0 V on charge, 3.9 V at rest.
    Steps follow each other without a pause: a step's first row is logged ``dt_s``
    after the previous step's last row (the step's start), so that interval is the
    step's (the first interval of a step counts).
    Returns lab units: time in h, current in mA with discharge negative.
    """
    rows = []
    t = 0.0
    step = 0
    for r in rates:
        for _kind, cur_a, dur, volt in (
            ("charge", -0.5 * Q_NOM, 3600.0 * 2.0, 4.0),
            ("rest", 0.0, 600.0, 3.9),
            ("discharge", r * Q_NOM, 3600.0 * r**-alpha / r, 3.7),
        ):
            step += 1
            n = int(round(dur / dt_s))
            for k in range(1 if rows else 0, n + 1):
                rows.append((t + k * dur / n, -cur_a * 1e3, volt, step))
            t += dur
    df = pd.DataFrame(rows, columns=["t_h", "I_mA", "U_V", "step"])
    df["t_h"] /= 3600.0
    return df


def test_units_steps_and_capacity(tmp_path):
    df = synthetic_rate_test()
    f = tmp_path / "rate.csv"
    df.to_csv(f, index=False)
    cd = read_csv(
        f,
        columns={"time": "t_h", "current": "I_mA", "voltage": "U_V", "step": "step"},
        units={"time": "h", "current": "mA"},
    )
    assert cd.n_excluded == 0
    st = step_table(cd)
    assert len(st) == 12
    dis = st[st["kind"] == "discharge"]
    # trapezoid of a constant current is exact: capacity to round-off (1e-9 rel)
    np.testing.assert_allclose(
        dis["capacity"].to_numpy(), Q_NOM * np.array(RATES) ** -ALPHA, rtol=1e-9
    )
    np.testing.assert_allclose(dis["energy"], 3.7 * dis["capacity"], rtol=1e-9)
    np.testing.assert_allclose(dis["current_mean"], Q_NOM * np.array(RATES), rtol=1e-9)
    # cycles inferred from charge-after-discharge: one cycle per rate
    assert dis["cycle_id"].tolist() == [0, 1, 2, 3]
    tab = rate_table(st, nominal_capacity=Q_NOM, expected_rates=RATES)
    np.testing.assert_allclose(tab["c_rate"], RATES, rtol=1e-9)
    fit = fit_rate_table(tab, "capacity")
    assert fit.alpha == pytest.approx(ALPHA, abs=1e-9)
    fit_e = fit_rate_table(tab, "energy", x="c_rate")
    assert fit_e.gamma == pytest.approx(2**-ALPHA, rel=1e-9)


def test_steps_by_sign_changes_without_step_column():
    df = synthetic_rate_test().drop(columns="step")
    cd = from_dataframe(
        df,
        {"time": "t_h", "current": "I_mA", "voltage": "U_V"},
        {"time": "h", "current": "mA"},
    )
    st = step_table(cd)
    assert st["kind"].tolist() == ["charge", "rest", "discharge"] * 4
    assert st.loc[st.kind == "discharge", "capacity"].to_numpy() == pytest.approx(
        Q_NOM * np.array(RATES) ** -ALPHA, rel=1e-9
    )


def test_missing_column_names_file(tmp_path):
    f = tmp_path / "bad.csv"
    synthetic_rate_test().to_csv(f, index=False)
    with pytest.raises(DataError, match=r"bad\.csv.*missing column.*voltage"):
        read_csv(f, columns={"time": "t_h", "current": "I_mA"})


def test_unknown_unit_and_missing_file(tmp_path):
    f = tmp_path / "x.csv"
    synthetic_rate_test().to_csv(f, index=False)
    with pytest.raises(DataError, match="unknown current unit 'Amps'"):
        read_csv(
            f,
            columns={"time": "t_h", "current": "I_mA", "voltage": "U_V"},
            units={"current": "Amps"},
        )
    with pytest.raises(DataError, match="not found"):
        read_csv(tmp_path / "nope.csv")


def test_time_reset_is_an_error_local_disorder_is_fixed_and_warned():
    df = pd.DataFrame({"time": [0, 1, 2, 0.2, 3], "current": 1.0, "voltage": 3.7})
    with pytest.raises(DataError, match=r"run\.csv: time is not monotone.*2 s to 0\.2 s"):
        from_dataframe(df, source="run.csv")
    df = pd.DataFrame({"time": [0, 1, 2, 1.5, 3], "current": 1.0, "voltage": 3.7})
    with pytest.warns(CyclerDataWarning, match=r"run\.csv: 1 place.*time runs backwards.*rows 3"):
        cd = from_dataframe(df, source="run.csv")
    assert cd.data["time"].tolist() == [0, 1, 1.5, 2, 3]
    assert cd.issues[0].kind == "out_of_order" and cd.issues[0].rows == (2, 3)


def test_bad_rows_are_counted_not_silently_dropped():
    df = pd.DataFrame(
        {
            "time": [0, 1, 2, 3, 4],
            "current": [1, 1, "x", 1, 1],
            "voltage": [3.7, np.nan, 3.7, 3.7, 3.7],
        }
    )
    with pytest.warns(UserWarning, match="excluded 2 row"):
        cd = from_dataframe(df, discharge_negative=False, source="f.csv")
    assert cd.excluded == {"missing or non-numeric current": 1, "missing or non-numeric voltage": 1}
    assert len(cd.data) == 3


def test_rate_without_discharge_step(tmp_path):
    df = synthetic_rate_test(rates=(0.5, 1.0))
    cd = from_dataframe(
        df,
        {"time": "t_h", "current": "I_mA", "voltage": "U_V"},
        {"time": "h", "current": "mA"},
        source="cell3.csv",
    )
    with pytest.raises(DataError, match=r"cell3\.csv: rate 2C has no discharge step"):
        rate_table(step_table(cd), nominal_capacity=Q_NOM, expected_rates=(0.5, 1, 2))
    charge_only = df[df["I_mA"] >= 0]  # lab convention: discharge < 0
    cd = from_dataframe(
        charge_only,
        {"time": "t_h", "current": "I_mA", "voltage": "U_V"},
        {"time": "h", "current": "mA"},
        source="chg.csv",
    )
    with pytest.raises(DataError, match=r"chg\.csv: no constant-current discharge step"):
        rate_table(step_table(cd))
    # fewer than 3 rates for a fit
    cd = from_dataframe(
        df,
        {"time": "t_h", "current": "I_mA", "voltage": "U_V"},
        {"time": "h", "current": "mA"},
        source="two.csv",
    )
    with pytest.raises(DataError, match=r"two\.csv.*at least 3 distinct"):
        fit_rate_table(rate_table(step_table(cd)))


def test_cv_steps_excluded_and_counted():
    t = np.arange(0, 200.0)
    i = np.where(t < 100, 1.0, np.exp(-(t - 100) / 20))  # CC then decaying (CV-like)
    step = np.where(t < 100, 1, 2)
    cd = from_dataframe(
        pd.DataFrame({"time": t, "current": i, "voltage": 3.7, "step": step}),
        {"step": "step"},
        discharge_negative=False,
    )
    tab = rate_table(step_table(cd))
    assert len(tab) == 1
    assert sum(tab.attrs["excluded"].values()) == 1


def _write_mpt(path, df):
    body = ["mode\tox/red\ttime/s\tEwe/V\t<I>/mA\tNs\tcycle number"]
    for r in df.itertuples():
        vals = [1, int(r.I_mA > 0), r.t_h * 3600, r.U_V, r.I_mA, r.step, 0]
        body.append(
            "\t".join(
                f"{v:.6f}".replace(".", ",") if isinstance(v, float) else str(v) for v in vals
            )
        )
    header = [
        "EC-Lab ASCII FILE",
        f"Nb header lines : {4}",
        "",
    ]
    path.write_text("\n".join(header + body) + "\n", encoding="latin-1")


def test_read_mpt_with_decimal_comma(tmp_path):
    df = synthetic_rate_test(dt_s=60.0)
    f = tmp_path / "cell.mpt"
    _write_mpt(f, df)
    cd = read_cycler(f)
    assert cd.source.endswith("cell.mpt")
    st = step_table(cd)
    dis = st[st["kind"] == "discharge"]
    # 6-decimal rounding of h->s time and mA: capacity to 1e-5 relative
    np.testing.assert_allclose(dis["capacity"], Q_NOM * np.array(RATES) ** -ALPHA, rtol=1e-5)
    with pytest.raises(DataError, match="not a BioLogic"):
        bad = tmp_path / "bad.mpt"
        bad.write_text("hello\nworld\n")
        read_mpt(bad)


def test_arbin_and_maccor_presets(tmp_path):
    df = synthetic_rate_test(dt_s=60.0, rates=(1.0,))
    arb = pd.DataFrame(
        {
            "Data_Point": np.arange(len(df)),
            "Test_Time(s)": df["t_h"] * 3600,
            "Step_Index": df["step"],
            "Cycle_Index": 1,
            "Current(A)": df["I_mA"] / 1e3,
            "Voltage(V)": df["U_V"],
        }
    )
    fa = tmp_path / "arbin.csv"
    arb.to_csv(fa, index=False)
    st = step_table(read_cycler(fa))  # recognised as Arbin by its header
    assert st.loc[st.kind == "discharge", "capacity"].item() == pytest.approx(Q_NOM, rel=1e-9)
    assert st.loc[st.kind == "discharge", "cycle_id"].item() == 1
    st2 = step_table(read_arbin_csv(fa))
    assert len(st2) == len(st)

    state = np.where(df["I_mA"] < 0, "D", np.where(df["I_mA"] > 0, "C", "R"))
    mac = pd.DataFrame(
        {
            "Rec#": np.arange(len(df)),
            "Cyc#": 0,
            "Step": df["step"],
            "Test (Sec)": df["t_h"] * 3600,
            "Amps": np.abs(df["I_mA"]) / 1e3,
            "Volts": df["U_V"],
            "State": state,
        }
    )
    fm = tmp_path / "maccor.txt"
    fm.write_text("Today's Date 01/01/2024\n" + mac.to_csv(sep="\t", index=False))
    st3 = step_table(read_maccor_txt(fm))
    dis = st3[st3.kind == "discharge"]
    assert dis["capacity"].item() == pytest.approx(Q_NOM, rel=1e-9)
    assert dis["current_mean"].item() == pytest.approx(Q_NOM, rel=1e-9)


@pytest.mark.skipif(importlib.util.find_spec("galvani") is None, reason="galvani not installed")
def test_read_mpr_rejects_non_mpr(tmp_path):
    f = tmp_path / "x.mpr"
    f.write_bytes(b"not an mpr file at all" * 10)
    with pytest.raises(DataError, match=r"x\.mpr: not a readable BioLogic"):
        read_mpr(f)
