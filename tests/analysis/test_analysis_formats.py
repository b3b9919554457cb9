"""Cycler formats: detection, units, the 8 bugs of issue 11, silent-error checks.

Fixtures in tests/analysis/data are written by tests/analysis/cycler_fixtures.py in each
vendor's layout from one simulated instrument whose own capacity/energy columns are
accumulated at 1 s resolution while rows are logged sparsely (every 60 s or 10 mV).
"""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cycler_fixtures import simulate, write_arbin, write_maccor, write_mpt

from electrohet.analysis.cycler import CyclerDataWarning, from_dataframe, read_cycler, step_table
from electrohet.analysis.cycles import cycle_summary, dcir, incremental_capacity
from electrohet.analysis.formats import detect
from electrohet.analysis.formats.biologic import from_biologic_frame, read_mpt
from electrohet.analysis.particles import diverging_fraction
from electrohet.analysis.rate_capability import fit_peukert, rate_table
from electrohet.errors import DataError, ParameterError

DATA = Path(__file__).parent / "data"
TRUTH = json.loads((DATA / "truth.json").read_text())
FORMATS = {
    "arbin_mitspro.csv": "arbin",
    "arbin_unitless.csv": "arbin",
    "maccor.txt": "maccor",
    "biologic_gcpl.mpt": "biologic",
    "biologic_gcpl.mpr": "biologic",
    "neware.csv": "neware",
    "basytec.txt": "basytec",
    "novonix.csv": "novonix",
}


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        warnings.simplefilter("ignore", CyclerDataWarning)
        return read_cycler(path, **kw)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_acceptance_per_format(name):
    """Per-cycle discharge capacity within 0.1 % and energy within 0.5 % of the file's own
    columns (1 s truth). Rule: trapezoid, except BioLogic (right-point, EC-Lab's rule);
    the energy tolerance covers the sparse logging (10 mV steps: right-point is off by
    about half a logging step, 0.13 %; the trapezoid by 0.005 %)."""
    if name.endswith(".mpr"):
        pytest.importorskip("galvani")
    f = DATA / name
    assert detect(f) == FORMATS[name]
    cd = _read(f)
    cs = cycle_summary(cd)
    cs = cs[cs["discharge_capacity"] > 0]
    tr = TRUTH[name]
    np.testing.assert_allclose(cs["discharge_capacity"], tr["discharge_capacity"], rtol=1e-3)
    np.testing.assert_allclose(cs["discharge_energy"], tr["discharge_energy"], rtol=5e-3)
    # charge includes the CV hold (decaying current, sparse rows): 0.1 % as well
    np.testing.assert_allclose(cs["charge_capacity"], tr["charge_capacity"], rtol=1e-3)
    assert len(cs) == 2
    assert cd.integration == ("right" if FORMATS[name] == "biologic" else "trapezoid")
    assert not [i for i in cd.issues if i.kind in ("gap", "sign", "units", "duplicate")]


def test_files_are_closed_after_reading():
    pytest.importorskip("galvani")
    code = (
        "import warnings, sys; warnings.simplefilter('error');"
        "from electrohet.analysis.cycler import CyclerDataWarning;"
        "warnings.simplefilter('ignore', CyclerDataWarning);"
        "from electrohet.analysis.cycler import read_cycler;"
        "import electrohet.analysis.cycler as c;"
        "[read_cycler(f) for f in sys.argv[1:]]"
    )
    files = [str(DATA / n) for n in FORMATS if not n.startswith("biologic_gcpl.mpt")]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    r = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code, *files],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]


# ---------------------------------------------------------------- the 8 bugs
def test_bug1_mpr_current_from_charge_not_setpoint():
    pytest.importorskip("galvani")
    cd = _read(DATA / "biologic_gcpl.mpr")
    assert cd.data["current"].abs().max() < 5e-3  # mA-scale cell; the set point 4.2 V is absent
    st = step_table(cd)
    cv = st[st["mode"] == 2]
    assert len(cv) == 2 and (cv["current_spread"] > 0.5).all()  # decaying CV current
    # first-cycle charge (CC + CV) against the 1 s truth
    cs = cycle_summary(cd)
    assert cs["charge_capacity"].iloc[0] == pytest.approx(
        TRUTH["biologic_gcpl.mpr"]["charge_capacity"][0], rel=1e-3
    )


def test_bug2_mpr_cycles_from_half_cycle_counter():
    pytest.importorskip("galvani")
    a = cycle_summary(_read(DATA / "biologic_gcpl.mpr"))
    b = cycle_summary(_read(DATA / "biologic_gcpl.mpt"))
    assert a["cycle_id"].tolist() == b["cycle_id"].tolist() == [0, 1]


def test_bug3_impedance_rows_are_not_steps():
    cd = _read(DATA / "biologic_gcpl.mpt")
    assert cd.excluded == {"impedance rows (freq/Hz > 0)": 8}
    st = step_table(cd)
    # per cycle: CC charge, CV charge, rest, discharge, rest
    assert st["kind"].tolist() == ["charge", "charge", "rest", "discharge", "rest"] * 2


def test_bug4_cc_then_hold_split_and_partial_discharges_excluded(tmp_path):
    df = simulate(q_ah=3e-3, rates=(0.5, 1.0, 2.0))
    # a CC discharge followed by a voltage hold in the same sequence (same Ns)
    f = tmp_path / "rate.mpt"
    write_mpt(df, f)
    st = step_table(_read(f))
    tab = rate_table(st, nominal_capacity=3e-3, expected_rates=(0.5, 1, 2))
    assert len(tab) == 3
    # the CV part is its own step (mode 2), not merged into the CC charge
    assert (st.loc[st["kind"] == "charge", "mode"].tolist()) == [1, 2] * 3
    # a partial discharge (a 30 s pulse from a rested cell) is excluded and counted
    pulse = st.iloc[[0, 1, 2]].copy()
    pulse["kind"] = ["rest", "discharge", "rest"]
    pulse["current_spread"] = 0.0
    pulse["v_end"] = [3.9, 3.85, 3.9]
    both = pd.concat([st, pulse], ignore_index=True)
    tab2 = rate_table(both, nominal_capacity=3e-3)
    assert len(tab2) == 3
    assert any("partial discharge" in k for k in tab2.attrs["excluded"])


def test_bug5_currents_grouped_by_rate():
    with pytest.raises(DataError, match="at least 3 distinct.*got 1"):
        fit_peukert([1.0, 1.0001, 0.9999], [1.0, 0.99, 1.01])
    fit = fit_peukert([1.0, 1.01, 2.0, 2.02, 4.0], [1.0, 0.99, 0.87, 0.87, 0.76])
    assert np.isfinite(fit.alpha) and fit.n == 5


def test_bug5_cli_rate_with_repeated_rate_is_one_line(tmp_path):
    df = simulate(q_ah=1.0, rates=(1.0, 1.0))
    f = tmp_path / "arbin.csv"
    write_arbin(df, f)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    r = subprocess.run(
        [sys.executable, "-m", "electrohet", "analyze", "rate", str(f), "--out",
         str(tmp_path / "o")], capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "at least 3 distinct" in r.stderr


def test_bug6_empty_optional_column_voltage_choice_time_strings_binaries(tmp_path):
    d = pd.DataFrame({"time": [0, 1, 2, 3.0], "current": 1.0, "voltage": 3.7, "Ns": np.nan})
    with pytest.warns(CyclerDataWarning, match="column 'Ns' \\(step\\) is empty"):
        cd = from_dataframe(d, {"step": "Ns"}, discharge_negative=False, source="e.csv")
    assert len(cd.data) == 4
    raw = pd.read_csv(DATA / "biologic_gcpl.mpt", sep="\t", skiprows=5, decimal=",")
    raw["Ewe-Ece/V"] = raw["Ewe/V"] - 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        a = from_biologic_frame(raw, "x.mpt")
        b = from_biologic_frame(raw, "x.mpt", columns={"voltage": "Ewe-Ece/V"})
        c = read_mpt(DATA / "biologic_gcpl.mpt", columns={"voltage": "Ewe/V"})
    np.testing.assert_allclose(b.data["voltage"], a.data["voltage"] - 0.1)
    assert len(c.data) == len(a.data)
    # 'd hh:mm:ss' strings (Maccor) and 'hh:mm:ss' (Neware fixture)
    df = simulate(q_ah=1.0, rates=(1.0,))
    f = tmp_path / "mac.txt"
    write_maccor(df, f, string_time=True)
    cs = cycle_summary(_read(f))
    assert cs["discharge_capacity"].iloc[0] == pytest.approx(df["qd"].max(), rel=1e-3)
    bad = tmp_path / "x.mpr"
    bad.write_text("not an mpr\n1,2,3\n")
    with pytest.raises(DataError, match="not a BioLogic .mpr file"):
        read_cycler(bad)
    # binaries that are not what their suffix says: one line each (issue 24: .res and
    # .nda/.ndax are read when they are real, through mdb-export / NewareNDA)
    g = tmp_path / "x.res"
    g.write_bytes(b"\x00\x01binary" * 100)
    with pytest.raises(DataError, match="not an Arbin .res file"):
        read_cycler(g)
    for suffix in (".ndax", ".nda"):
        g = tmp_path / f"x{suffix}"
        g.write_bytes(b"\x00\x01binary" * 100)
        with pytest.raises(DataError, match="NewareNDA"):
            read_cycler(g)


def test_bug7_wilson_interval_when_nothing_diverges():
    from electrohet.analysis.particles import Frame

    fr = Frame(dol=0.3, center=1.0, sigma=0.1, k=2.0)
    res = diverging_fraction(np.full(50, 1.0), fr, rng=0)
    assert res.fraction == 0.0
    assert res.ci[0] == 0.0 and res.ci[1] == pytest.approx(0.0714, abs=5e-4)  # Wilson 0-7.1 %


def test_bug8_integration_rules_exact_cases():
    # V falls linearly at constant I: trapezoid exact; right-point uses end voltages
    t = np.array([0.0, 3600.0, 7200.0])
    d = pd.DataFrame({"time": t, "current": 1.0, "voltage": [4.0, 3.8, 3.6]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        tr = step_table(from_dataframe(d, discharge_negative=False))
        rp = step_table(from_dataframe(d, discharge_negative=False, integration="right"))
    assert tr["energy"].item() == pytest.approx(2 * 3.8, rel=1e-12)
    assert rp["energy"].item() == pytest.approx(3.8 + 3.6, rel=1e-12)


# ------------------------------------------------------- no silent wrong answers
def _arbin_frame(q_ah=1.0):
    df = simulate(q_ah=q_ah, rates=(1.0,))
    return df


def test_header_units_hours_and_ma(tmp_path):
    df = _arbin_frame()
    f = tmp_path / "lab.csv"
    pd.DataFrame(
        {"Test Time (h)": df["t"] / 3600, "I (mA)": -df["i"] * 1e3, "U (V)": df["v"]}
    ).to_csv(f, index=False)
    cs = cycle_summary(_read(f))
    assert cs["discharge_capacity"].max() == pytest.approx(df["qd"].max(), rel=1e-3)


def test_logging_gap_inside_discharge_is_warned_and_not_integrated(tmp_path):
    df = _arbin_frame()
    k = int(np.flatnonzero(df["kind"].to_numpy() == "D")[10])
    df.loc[k:, "t"] += 36000.0  # 10 h without rows inside the 1 A discharge
    f = tmp_path / "gap.csv"
    write_arbin(df, f)
    with pytest.warns(CyclerDataWarning, match=r"gap\.csv: 1 logging gap.*data rows") as rec:
        cd = read_cycler(f)
    assert any(i.kind == "gap" and i.rows == (k - 1, k) for i in cd.issues)
    assert "gap" in str(rec[0].message)
    cs = cycle_summary(cd)
    # left out: the gap interval (one logging interval at 1 A) is missing, no 10 Ah invented
    assert cs["discharge_capacity"].iloc[0] == pytest.approx(df["qd"].max(), rel=0.02)
    assert cs["discharge_capacity"].iloc[0] < 1.1


def test_duplicated_rows_removed_and_reported(tmp_path):
    df = _arbin_frame()
    dup = pd.concat([df.iloc[:50], df.iloc[40:50], df.iloc[50:]], ignore_index=True)
    f = tmp_path / "dup.csv"
    write_arbin(dup, f)
    with pytest.warns(CyclerDataWarning, match=r"dup\.csv: 10 duplicated row.*data rows 50-59"):
        cd = read_cycler(f)
    assert cycle_summary(cd)["discharge_capacity"].iloc[0] == pytest.approx(
        df["qd"].max(), rel=1e-3
    )


def test_wrong_sign_convention_from_capacity_columns(tmp_path):
    df = _arbin_frame()
    f = tmp_path / "sign.csv"
    write_arbin(df, f)
    with pytest.warns(CyclerDataWarning, match=r"sign\.csv: the current sign contradicts"):
        cd = read_cycler(f, discharge_negative=False)  # wrong: Arbin stores discharge < 0
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].iloc[0] == pytest.approx(df["qd"].max(), rel=1e-3)


def test_sign_contradicting_step_types_neware(tmp_path):
    raw = pd.read_csv(DATA / "neware.csv")
    raw["Current(mA)"] = -raw["Current(mA)"]
    f = tmp_path / "neware_flipped.csv"
    raw.to_csv(f, index=False)
    with pytest.warns(CyclerDataWarning, match=r"contradicts the file's step types"):
        cd = read_cycler(f)
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].iloc[0] == pytest.approx(
        TRUTH["neware.csv"]["discharge_capacity"][0], rel=1e-3
    )


def test_units_disagreeing_with_capacity_column(tmp_path):
    df = _arbin_frame()
    f = tmp_path / "lying.csv"
    write_arbin(df, f, units=False)
    raw = pd.read_csv(f)
    raw["Test_Time"] = raw["Test_Time"] / 3600.0  # hours, but the unit-less header says nothing
    raw.to_csv(f, index=False)
    with pytest.warns(CyclerDataWarning, match=r"lying\.csv: the integrated capacity is 0\.000277"):
        cd = read_cycler(f)
    iss = [i for i in cd.issues if i.kind == "units"]
    assert iss and "time in hours read as seconds" in iss[0].message and iss[0].rows


# ------------------------------------------------------------------- analyses
def test_dqdv_of_a_linear_ocv_section():
    # Q rises linearly with V (dQ/dV = 2 Ah/V) on a charge: smoothing keeps a constant
    t = np.linspace(0, 3600, 721)
    v = 3.5 + 0.5 * t / 3600
    d = pd.DataFrame({"time": t, "current": -1.0, "voltage": v})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        cd = from_dataframe(d, discharge_negative=False)
    dqdv, dvdq = incremental_capacity(cd, 0)
    np.testing.assert_allclose(dqdv["dqdv"], 2.0, rtol=1e-6)
    np.testing.assert_allclose(dvdq["dvdq"], 0.5, rtol=1e-6)


def test_dcir_from_pulses():
    # rest at OCV 3.7 V, then a 1 A discharge pulse through R = 0.05 Ohm for 30 s
    t = np.arange(0, 91.0)
    i = np.where((t >= 30) & (t < 60), 1.0, 0.0)
    v = 3.7 - 0.05 * i
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        cd = from_dataframe(
            pd.DataFrame({"time": t, "current": i, "voltage": v}), discharge_negative=False
        )
    r = dcir(cd)
    assert len(r) == 1 and r["resistance"].item() == pytest.approx(0.05, rel=1e-9)


def test_cli_analyze_cycles(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    out = tmp_path / "o"
    r = subprocess.run(
        [sys.executable, "-m", "electrohet", "analyze", "cycles", str(DATA / "arbin_mitspro.csv"),
         str(DATA / "maccor.txt"), "--out", str(out)], capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(out / "cycles.csv")
    assert set(tab["file"]) == {"arbin_mitspro.csv", "maccor.txt"}
    assert (out / "cycles.png").exists() and (out / "dqdv.png").exists()
    np.testing.assert_allclose(
        tab.loc[tab["file"] == "maccor.txt", "discharge_capacity"],
        TRUTH["maccor.txt"]["discharge_capacity"],
        rtol=1e-3,
    )


def test_particles_cli_validates_k(tmp_path):
    from electrohet.analysis.particles import Calibration  # noqa: F401

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    f = tmp_path / "p.csv"
    f.write_text("sample,ratio,dol\n")
    for k in ("-2", "0"):
        r = subprocess.run(
            [sys.executable, "-m", "electrohet", "analyze", "particles", str(f), "--k", k,
             "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env,
        )  # fmt: skip
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert f"k = {float(k)!r} is outside the allowed range (0, 10]" in r.stderr


def test_k_validation_in_library():
    from electrohet.analysis.particles import Calibration, frame_for_dol

    cal = Calibration.__new__(Calibration)
    with pytest.raises(ParameterError, match=r"k = -2 is outside the allowed range \(0, 10\]"):
        frame_for_dol(cal, 0.3, k=-2)


def test_xlsx_without_openpyxl_and_generic_detection(tmp_path):
    import importlib.util

    g = tmp_path / "neware_export.xlsx"
    g.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    if importlib.util.find_spec("openpyxl") is None:
        with pytest.raises(DataError, match="needs openpyxl"):
            read_cycler(g)
    f = tmp_path / "plain.csv"
    pd.DataFrame({"t": [0, 1, 2], "I": [1, 1, 1], "U": [3.7, 3.6, 3.5]}).to_csv(f, index=False)
    assert detect(f) == "csv"


def test_cli_rate_straight_from_a_rate_test_file(tmp_path):
    df = simulate(q_ah=1.0, rates=(0.5, 1.0, 2.0))
    f = tmp_path / "rate_arbin.csv"
    write_arbin(df, f)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    out = tmp_path / "o"
    r = subprocess.run(
        [sys.executable, "-m", "electrohet", "analyze", "rate", str(f), "--nominal-capacity",
         "1.0", "--value", "capacity", "--out", str(out)], capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    tab = pd.read_csv(out / "rate_table.csv")
    np.testing.assert_allclose(tab["c_rate"], [0.5, 1.0, 2.0], rtol=1e-9)
    truth = df.groupby("cycle")["qd"].max().to_numpy()
    np.testing.assert_allclose(tab["capacity"], truth, rtol=1e-3)
    res = json.loads((out / "peukert.json").read_text())
    # capacity falls with rate through the IR drop: a positive Peukert exponent
    assert res["alpha"] > 0 and res["n"] == 3


def test_maccor_impedance_records_left_out(tmp_path):
    lines = (DATA / "maccor.txt").read_text().splitlines()
    head, body = lines[:2], lines[2:]
    n = len(lines[2].split("\t"))
    fra = ["\t".join(["0", "0", "1", "0", "0", "0", "0.001", "3.3", "FRA", "0"][:n])] * 5
    f = tmp_path / "eis_maccor.txt"
    f.write_text("\n".join(head + fra + body) + "\n")
    cd = _read(f)
    assert cd.excluded == {"impedance rows (State FRA)": 5}
    cs = cycle_summary(cd)
    np.testing.assert_allclose(
        cs["discharge_capacity"], TRUTH["maccor.txt"]["discharge_capacity"], rtol=1e-3
    )


def test_xlsx_export_reads_like_its_csv(tmp_path):
    """A Neware export saved as .xlsx gives the same per-cycle capacities as the CSV
    (exact: the same numbers go through a different container)."""
    pytest.importorskip("openpyxl")
    csv = DATA / "neware.csv"
    xlsx = tmp_path / "neware.xlsx"
    pd.read_csv(csv).to_excel(xlsx, index=False)
    assert detect(xlsx) == "neware"  # the sheet's header is recognised
    a = cycle_summary(read_cycler(csv))
    b = cycle_summary(read_cycler(xlsx))
    for col in ("charge_capacity", "discharge_capacity", "discharge_energy"):
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=1e-12)
