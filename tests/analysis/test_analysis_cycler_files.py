"""Issue 24: the instrument's own numbers first, and the exports people actually have.

Every file here is written by the test itself in the layout of a vendor's export
(no third-party file is used), with analytic truth: constant currents (capacity
``I t``) or exponential CV decays (``I0 tau (1 - exp(-t/tau))``), and the instrument's
own cumulative columns computed exactly. Each "defect" test reproduces one defect of
the issue's list and fails on the code before the issue.
"""

import json
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from electrohet.analysis.cycler import (
    CyclerDataWarning,
    cumulative_time,
    from_dataframe,
    read_cycler,
    step_table,
    unit_factor,
)
from electrohet.analysis.cycles import cycle_summary
from electrohet.analysis.formats import detect
from electrohet.errors import DataError


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        return read_cycler(path, **kw)


# ------------------------------------------------------------------ defect 1
def _write_gcpl_mpt(path, i_ma=1.0, hours=5.0, burst=20, long_dt=30.0, short_dt=1e-3):
    """GCPL logged on voltage change: each 30 s interval is followed by a burst of 20
    intervals of 1 ms (median interval 1 ms). Charge then discharge at ``i_ma``;
    ``(Q-Qo)/mA.h`` is the exact running charge."""
    period = long_dt + burst * short_dt
    n = int(hours * 3600 / period)
    dts = np.tile(np.r_[long_dt, np.full(burst, short_dt)], n)
    t1 = np.concatenate([[0.0], np.cumsum(dts)])
    tc = t1[-1]
    t = np.concatenate([t1, tc + t1[1:]])
    charge = np.arange(t.size) < t1.size
    i = np.where(charge, i_ma, -i_ma)
    q = np.where(charge, i_ma * t / 3600.0, i_ma * (2 * tc - t) / 3600.0)
    v = np.where(charge, 3.5 + 0.6 * t / tc, 4.1 - 0.6 * (t - tc) / tc)
    rows = [
        "mode\tox/red\ttime/s\tEwe/V\tI/mA\t(Q-Qo)/mA.h\thalf cycle\tNs",
        *(
            f"1\t{int(c)}\t{tt:.6f}\t{vv:.6f}\t{ii:.6f}\t{qq:.9f}\t{0 if c else 1}\t{0 if c else 1}"
            for c, tt, vv, ii, qq in zip(charge, t, v, i, q, strict=True)
        ),
    ]
    head = ["EC-Lab ASCII FILE", "Nb header lines : 5", "", "GCPL"]
    path.write_text("\n".join(head + rows) + "\n", encoding="latin-1")
    return i_ma * tc / 3600.0 / 1e3  # Ah charged (and discharged)


def test_defect1_voltage_change_logging_is_not_a_gap(tmp_path):
    f = tmp_path / "gcpl.mpt"
    q = _write_gcpl_mpt(f)
    cd = _read(f)
    assert not [i for i in cd.issues if i.kind == "gap"]
    cs = cycle_summary(cd)
    assert cs["charge_capacity"].sum() == pytest.approx(q, rel=1e-6)
    assert cs["discharge_capacity"].sum() == pytest.approx(q, rel=1e-6)
    # integrating the current (no file columns used) gives the same: nothing left out
    cs2 = cycle_summary(_read(f, integration="right"))
    assert cs2["charge_capacity"].sum() == pytest.approx(q, rel=1e-6)


def test_gap_reported_and_counted_with_gap_factor():
    """A real gap (no rows for 2 h inside a 1 A step logged every 10 s) is reported
    with its size and still counted; gap_factor moves the threshold."""
    t = np.r_[np.arange(0, 3600, 10.0), np.arange(3600 + 7200, 3600 + 7200 + 3600 + 1, 10.0)]
    d = pd.DataFrame({"time": t, "current": 1.0, "voltage": 3.7})
    with pytest.warns(CyclerDataWarning, match=r"1 logging gap.*7210 s.*counted"):
        cd = from_dataframe(d, discharge_negative=False, source="g.csv")
    assert step_table(cd)["capacity"].item() == pytest.approx(t[-1] / 3600, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        cd = from_dataframe(d, discharge_negative=False, gap_factor=1000.0)
    assert not [i for i in cd.issues if i.kind == "gap"]


# ------------------------------------------------------------------ defect 2
def _maccor_lines(rows):
    head = "Rec#\tCyc#\tStep\tTest (Sec)\tStep (Sec)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES"
    body = [
        f"{k + 1}\t{c}\t{s}\t{t:.4f}\t{ts:.4f}\t{q:.10f}\t{e:.10f}\t{i:.10f}\t{v:.8f}\t{st}\t0"
        for k, (c, s, t, ts, q, e, i, v, st) in enumerate(rows)
    ]
    return ["Today's Date 01/01/2026  Date of Test:\t01/01/2026", head, *body]


def test_defect2_maccor_timed_record_in_a_fast_logged_step(tmp_path):
    """9.7 A CC charge logged every 1 s with one 30 s timed record, a CV hold with
    decaying current logged every 30 s, then a CC discharge: the cycle's charge is the
    file's Amp-hr (exact), not 3.9 % (gap) or 0.7 % (trapezoid in CV) low."""
    i0, tau, v = 9.7, 300.0, 4.2
    rows = []
    t = 0.0
    cc_t = np.r_[np.arange(0, 1500.0), 1530.0 + np.arange(0, 1471.0)]  # one 30 s record
    for ts in cc_t:
        rows.append((0, 1, t + ts, ts, i0 * ts / 3600, i0 * ts * 3.9 / 3600, i0, 3.9, "C"))
    t += cc_t[-1]
    cv_t = np.arange(30.0, 1801.0, 30.0)
    for ts in cv_t:
        q = i0 * tau * (1 - np.exp(-ts / tau)) / 3600
        rows.append((0, 2, t + ts, ts, q, q * v, i0 * np.exp(-ts / tau), v, "C"))
    t += cv_t[-1]
    for ts in np.arange(1.0, 1801.0, 1.0):
        rows.append((0, 3, t + ts, ts, i0 * ts / 3600, i0 * ts * 3.6 / 3600, i0, 3.6, "D"))
    f = tmp_path / "fast.txt"
    f.write_text("\n".join(_maccor_lines(rows)) + "\n")
    truth = i0 * cc_t[-1] / 3600 + i0 * tau * (1 - np.exp(-1800 / tau)) / 3600
    cd = _read(f)
    assert detect(f) == "maccor"
    assert not [i for i in cd.issues if i.kind == "gap"]
    cs = cycle_summary(cd)
    assert cs["charge_capacity"].item() == pytest.approx(truth, rel=1e-9)
    assert cs["discharge_capacity"].item() == pytest.approx(i0 * 1800 / 3600, rel=1e-9)
    # the integrated cross-check counts the 30 s record (CC part exact)
    st = step_table(cd)
    cc = st[st["row_start"] == 0]
    assert cc["capacity_integrated"].item() == pytest.approx(i0 * cc_t[-1] / 3600, rel=1e-9)


# ------------------------------------------------------------------ defect 3
def test_defect3_first_interval_of_each_step_counts(tmp_path):
    """Arbin CSV: rest logged every 60 s, then a 1 A discharge whose first row comes
    120 s after the step began, then a 0.5 A charge whose first row comes 5 s late.
    The per-cycle cumulative columns include those intervals; so must the step
    values, the integrated cross-check and the ``*_file`` comparison columns."""
    rows = []
    for t in np.arange(0, 601, 60.0):
        rows.append((t, 1, 0.0, 3.4, 0.0, 0.0))
    t0 = 600.0
    for t in np.r_[t0 + 120, np.arange(t0 + 180, t0 + 3601, 60.0)]:
        rows.append((t, 2, -1.0, 3.3, 0.0, (t - t0) / 3600))
    t1 = t0 + 3600
    for t in np.r_[t1 + 5, np.arange(t1 + 60, t1 + 7201, 60.0)]:
        rows.append((t, 3, 0.5, 3.6, 0.5 * (t - t1) / 3600, 1.0))
    d = pd.DataFrame(rows, columns=["Test_Time(s)", "Step_Index", "Current(A)", "Voltage(V)",
                                    "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)"])  # fmt: skip
    d.insert(2, "Cycle_Index", 1)
    f = tmp_path / "late.csv"
    d.to_csv(f, index=False)
    cs = cycle_summary(_read(f))
    for col in ("discharge_capacity", "discharge_capacity_file"):
        assert cs[col].item() == pytest.approx(1.0, rel=1e-12), col
    for col in ("charge_capacity", "charge_capacity_file"):
        assert cs[col].item() == pytest.approx(1.0, rel=1e-12), col
    st = step_table(_read(f, integration="trapezoid"))
    assert st.loc[st.kind == "discharge", "capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert st.loc[st.kind == "charge", "capacity"].item() == pytest.approx(1.0, rel=1e-12)


# ------------------------------------------------------------------ defect 4
def _nda_frame(n_pulses=30):
    """NewareNDA's table of a pulse test: 1 s periods of 1.7 A for 0.1 s then 0.1 A for
    0.9 s, logged once per period at the pulse's start (1.7 A); per-step ``Time``;
    the instrument's ``Discharge_Capacity(mAh)`` holds the true 0.26 As per period."""
    rows = []
    idx = 0
    for step, status in ((1, "Rest"), (2, "Pulse"), (3, "Rest")):
        for k in range(n_pulses + 1):
            idx += 1
            cur = -1700.0 if status == "Pulse" else 0.0
            q = 0.26 * k / 3.6 if status == "Pulse" else 0.0  # mAh
            rows.append((idx, 1, step, step, status, float(k), 3.7 - 0.001 * k * (step == 2),
                         cur, 0.0, -q, 0.0, -q * 3.7))  # fmt: skip
    return pd.DataFrame(rows, columns=[
        "Index", "Cycle", "Step", "Step_Index", "Status", "Time", "Voltage", "Current(mA)",
        "Charge_Capacity(mAh)", "Discharge_Capacity(mAh)", "Charge_Energy(mWh)",
        "Discharge_Energy(mWh)"])  # fmt: skip


def test_defect4_neware_pulse_test_from_newarenda_table(tmp_path):
    f = tmp_path / "pulse.csv"
    _nda_frame().to_csv(f, index=False)
    assert detect(f) == "neware"
    with pytest.warns(CyclerDataWarning, match="file's own capacity"):
        cd = read_cycler(f)
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].item() == pytest.approx(30 * 0.26 / 3600, rel=1e-9)
    # the test time is built from the per-step times (the export route failed on it)
    assert np.all(np.diff(cd.data["time"].to_numpy()) >= 0)


def test_nda_through_newarenda(tmp_path, monkeypatch):
    f = tmp_path / "pulse.nda"
    f.write_bytes(b"NEWARE" + b"\x00" * 100)
    fake = types.ModuleType("NewareNDA")
    fake.read = lambda p: _nda_frame()
    monkeypatch.setitem(sys.modules, "NewareNDA", fake)
    cs = cycle_summary(_read(f))
    assert cs["discharge_capacity"].item() == pytest.approx(30 * 0.26 / 3600, rel=1e-9)
    monkeypatch.setitem(sys.modules, "NewareNDA", None)  # not installed
    with pytest.raises(DataError, match=r"pip install NewareNDA"):
        read_cycler(f)


def test_cumulative_time_from_step_times():
    t = cumulative_time(np.array([0, 5, 10, 2, 4, 1.0]), np.array([1, 1, 1, 2, 2, 3]))
    np.testing.assert_allclose(t, [0, 5, 10, 12, 14, 15])
    # a time that already runs through the test is left alone
    np.testing.assert_allclose(cumulative_time(np.array([0, 5, 10, 12.0]), [1, 1, 2, 2]),
                               [0, 5, 10, 12])  # fmt: skip


# ------------------------------------------------------------------ defect 5
@pytest.mark.parametrize(
    ("header", "encoding", "scale"),
    [
        ("Current(\u00b5A)", "utf-8", 1e6),
        ("Current(\u03bcA)", "utf-8", 1e6),
        ("Current(\u00b5A)", "cp1252", 1e6),
        ("Current(uA)", "utf-8", 1e6),
        ("Current(kA)", "utf-8", 1e-3),
        ("Current(mA)", "utf-8-sig", 1e3),
    ],
)
def test_defect5_units_from_headers_in_any_encoding(tmp_path, header, encoding, scale):
    t = np.arange(0, 3601, 60.0)
    d = pd.DataFrame({"Time(s)": t, header: -1e-3 * scale, "Voltage(V)": 3.7 - 1e-4 * t / 60})
    f = tmp_path / "u.csv"
    f.write_bytes(d.to_csv(index=False).encode(encoding))
    cd = _read(f)
    assert step_table(cd)["capacity"].item() == pytest.approx(1e-3, rel=1e-9)


def test_unknown_header_unit_is_an_error_naming_it(tmp_path):
    f = tmp_path / "bad.csv"
    pd.DataFrame({"Time(s)": [0, 1.0, 2], "Current(Amp)": 1.0, "Voltage(V)": 3.7}).to_csv(
        f, index=False
    )
    with pytest.raises(DataError, match=r"unit 'Amp'.*--units current="):
        read_cycler(f)
    assert unit_factor("capacity", "\u03bcA.h") == pytest.approx(1e-6)
    assert unit_factor("energy", "kWh") == 1e3 and unit_factor("time", "Sec") == 1.0


# ------------------------------------------------------------------ defect 6
def _bdf(path, positive="charge", capacity_columns=False):
    """BDF CSV: two cycles of 1 A charge (1 h) and 1 A discharge (1 h). The BDF
    specification's current is positive on charge; ``positive="discharge"`` writes the
    opposite convention (as the file of the issue had)."""
    rows = []
    t = 0.0
    sign = -1.0 if positive == "charge" else 1.0
    for c in (1, 2):
        for step, cur, v0, dv in ((2 * c - 1, -1.0, 3.4, 0.6), (2 * c, 1.0, 4.0, -0.6)):
            for k in range(1 if rows else 0, 61):
                tt = t + 60.0 * k
                q = k / 60.0
                rows.append((tt, sign * cur, v0 + dv * k / 60, step, c,
                             q if cur < 0 else 0.0, q if cur > 0 else 0.0))  # fmt: skip
            t += 3600.0
    names = ["Test Time / s", "Current / A", "Voltage / V", "Step Index / 1",
             "Cycle Count / 1", "Charging Capacity / Ah", "Discharging Capacity / Ah"]  # fmt: skip
    d = pd.DataFrame(rows, columns=names)
    if not capacity_columns:
        d = d.iloc[:, :5]
    d.to_csv(path, index=False)


def test_defect6_battery_data_format_sign(tmp_path):
    """The BDF specification's current is positive on charge; a file written the other
    way round (positive = discharge, the issue's file) is detected from its voltage (or
    its capacity columns), corrected and warned about - never swapped silently."""
    f = tmp_path / "cell.bdf.csv"
    _bdf(f)
    assert detect(f) == "bdf"
    cd = _read(f)
    assert not [i for i in cd.issues if i.kind == "sign"]
    cs = cycle_summary(cd)
    np.testing.assert_allclose(cs["charge_capacity"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(cs["discharge_capacity"], 1.0, rtol=1e-12)
    assert step_table(cd)["kind"].tolist() == ["charge", "discharge"] * 2
    g = tmp_path / "flipped.bdf.csv"
    _bdf(g, positive="discharge")
    with pytest.warns(CyclerDataWarning, match="voltage rises during 'discharge'"):
        cd = read_cycler(g)
    assert step_table(cd)["kind"].tolist() == ["charge", "discharge"] * 2
    h = tmp_path / "flipped_cap.bdf.csv"
    _bdf(h, positive="discharge", capacity_columns=True)
    with pytest.warns(CyclerDataWarning, match="contradicts the file's own charge/discharge"):
        cd = read_cycler(h)
    np.testing.assert_allclose(cycle_summary(cd)["discharge_capacity"], 1.0, rtol=1e-12)
    # with the sign given, nothing is flipped; a contradiction is still warned about
    with pytest.warns(CyclerDataWarning, match="nothing was flipped"):
        cd = read_cycler(f, sign="discharge-positive")
    assert step_table(cd)["kind"].tolist() == ["discharge", "charge"] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", CyclerDataWarning)
        cd = read_cycler(g, sign="discharge-positive")  # right for that file: no warning
    assert step_table(cd)["kind"].tolist() == ["charge", "discharge"] * 2


def test_file_values_disagreeing_with_integration_are_warned(tmp_path):
    f = tmp_path / "cap.bdf.csv"
    _bdf(f, capacity_columns=True)
    d = pd.read_csv(f)
    d.loc[d["Step Index / 1"] == 2, "Discharging Capacity / Ah"] *= 1.05  # 5 % more in step 2
    d.to_csv(f, index=False)
    with pytest.warns(CyclerDataWarning, match=r"differs from the file's own.*1 of 4 steps"):
        cd = read_cycler(f)
    iss = [i for i in cd.issues if i.kind == "disagree"]
    assert iss and iss[0].rows is not None and "+5" not in iss[0].message  # size printed
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].iloc[0] == pytest.approx(1.05, rel=1e-12)  # the file's
    cs2 = cycle_summary(_read(f, integration="trapezoid"))
    assert cs2["discharge_capacity"].iloc[0] == pytest.approx(1.0, rel=1e-12)


# ------------------------------------------------------------------ formats
def _cc_cycle_rows(t0=0.0, dt=60.0):
    """One cycle: 0.5 A charge 2 h, 1 A discharge 1 h (rows every ``dt``)."""
    out = []
    for kind, cur, dur, v0, dv in (("C", 0.5, 7200.0, 3.4, 0.7), ("D", 1.0, 3600.0, 4.1, -0.8)):
        ks = np.arange(1 if out or t0 else 0, int(dur / dt) + 1)
        for k in ks:
            out.append(
                (kind, t0 + k * dt, k * dt, cur, v0 + dv * k * dt / dur, cur * k * dt / 3600)
            )
        t0 += dur
    return out, t0


def test_neware_cumulative_time_and_nested_exports(tmp_path):
    rows, _ = _cc_cycle_rows()
    d = pd.DataFrame(rows, columns=["k", "ct", "st", "i", "v", "q"])
    step = np.where(d["k"] == "C", 1, 2)
    rec = pd.DataFrame({
        "DataPoint": np.arange(1, len(d) + 1), "Cycle Index": 1, "Step Index": step,
        "Step Type": np.where(d["k"] == "C", "CC Chg", "CC DChg"),
        "Time": pd.to_datetime(d["st"], unit="s").dt.strftime("%H:%M:%S"),
        "Cumulative Time": pd.to_datetime(d["ct"], unit="s").dt.strftime("%H:%M:%S"),
        "Current(A)": np.where(d["k"] == "C", d["i"], -d["i"]), "Voltage(V)": d["v"],
        "Capacity(Ah)": d["q"],
    })  # fmt: skip
    f = tmp_path / "uio.csv"
    rec.to_csv(f, index=False)
    cs = cycle_summary(_read(f))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    # nested: cycle line, step line (one comma), record lines (two commas)
    lines = [
        "Cycle Index,Chg. Cap.(Ah),DChg. Cap.(Ah)",
        ",Step Index,Step Number,Step Type,Step Time,Capacity(Ah)",
        ",,DataPoint,Time,Total Time,Current(A),Voltage(V),Capacity(Ah)",
        "1,1.0,1.0",
    ]
    for s in (1, 2):
        r = rec[rec["Step Index"] == s]
        lines.append(f",{s},{s},{r['Step Type'].iloc[0]},00:00:00,1.0")
        lines += [f",,{x.DataPoint},{x.Time},{x._6},{x._7},{x._8},{x._9}" for x in r.itertuples()]
    g = tmp_path / "nested.csv"
    g.write_text("\n".join(lines) + "\n")
    assert detect(g) == "neware"
    cs = cycle_summary(_read(g))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def _arbin_frame(spaces=False):
    rows, _ = _cc_cycle_rows()
    d = pd.DataFrame(rows, columns=["k", "t", "st", "i", "v", "q"])
    chg = d["k"] == "C"
    n = (lambda a, b: b) if spaces else (lambda a, b: a)
    return pd.DataFrame({
        n("Data_Point", "Data Point"): np.arange(len(d)),
        n("Test_Time(s)", "Test Time (s)"): d["t"],
        n("Step_Index", "Step Index"): np.where(chg, 1, 2),
        n("Cycle_Index", "Cycle Index"): 1,
        n("Current(A)", "Current (A)"): np.where(chg, d["i"], -d["i"]),
        n("Voltage(V)", "Voltage (V)"): d["v"],
        n("Charge_Capacity(Ah)", "Charge Capacity (Ah)"): np.where(chg, d["q"], 1.0),
        n("Discharge_Capacity(Ah)", "Discharge Capacity (Ah)"): np.where(chg, 0.0, d["q"]),
    })  # fmt: skip


def test_arbin_mitspro8_headers_with_spaces_and_bom(tmp_path):
    f = tmp_path / "mits8.csv"
    d = _arbin_frame(spaces=True)
    d.insert(0, "Date Time", "2026-01-01 00:00:00")
    f.write_bytes(d.to_csv(index=False, quoting=1).encode("utf-8-sig"))
    assert detect(f) == "arbin"
    cd = _read(f)
    st = step_table(cd)
    assert (st.loc[st.kind != "rest", "value_source"] == "file").all()
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def test_arbin_xlsx_channel_sheets(tmp_path):
    pytest.importorskip("openpyxl")
    f = tmp_path / "arbin.xlsx"
    d = _arbin_frame()
    with pd.ExcelWriter(f) as xw:
        pd.DataFrame({"TEST REPORT": ["x"], "Channel": [6]}).to_excel(xw, sheet_name="Global_Info")
        d.iloc[:100].to_excel(xw, sheet_name="Channel_1-006", index=False)
        d.iloc[100:].to_excel(xw, sheet_name="Channel_1-006_1", index=False)
        pd.DataFrame({"Cycle_Index": [1]}).to_excel(xw, sheet_name="StatisticByCycle-Chan_6")
    assert detect(f) == "arbin"
    cs = cycle_summary(_read(f))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def test_arbin_res_through_mdb_export(tmp_path, monkeypatch):
    import shutil

    from electrohet.analysis.formats import arbin

    f = tmp_path / "cell.res"
    f.write_bytes(arbin.JET_MAGIC + b"\x00" * 200)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DataError, match=r"mdbtools") as e:
        read_cycler(f)
    assert "\n" not in str(e.value)
    d = _arbin_frame()
    d.columns = [c.split("(")[0] for c in d.columns]  # .res columns carry no units
    d.insert(0, "Test_ID", 1)
    out = d.to_csv(index=False)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/mdb-export")

    def fake_run(cmd, **kw):
        assert cmd[1:] == [str(f), "Channel_Normal_Table"]
        return subprocess.CompletedProcess(cmd, 0, out, "")

    monkeypatch.setattr(arbin.subprocess, "run", fake_run)
    assert detect(f) == "arbin"
    cs = cycle_summary(_read(f))
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def _maccor_rows():
    rows, _ = _cc_cycle_rows()
    return pd.DataFrame(rows, columns=["k", "t", "st", "i", "v", "q"])


def test_maccor_mims_export_minutes_from_stamps(tmp_path):
    d = _maccor_rows()
    stamps = pd.Timestamp("2021-05-11 15:40:24") + pd.to_timedelta(d["t"], unit="s")
    lines = ["Name:\tCELL.053", "Channel:\t53", "SCap\t1.0", "",
             "Rec\tCycle P\tCycle C\tStep\tTestTime\tStepTime\tCap. [Ah]\tEner. [Wh]\t"
             "Current [A]\tVoltage [V]\tMd\tES\tDPT Time", ""]  # fmt: skip
    for k, r in enumerate(d.itertuples()):
        lines.append(
            f"{k + 1}\t0\t1\t{1 if r.k == 'C' else 2}\t{r.t / 60:.6f}\t{r.st / 60:.6f}\t"
            f"{r.q:.8f}\t{r.q * 3.7:.8f}\t{r.i:.8f}\t{r.v:.4f}\t{r.k}\t1\t"
            f"{stamps.iloc[k].strftime('%m/%d/%Y %I:%M:%S %p')}\t"
        )
    f = tmp_path / "mims.txt"
    f.write_text("\n".join(lines) + "\n")
    assert detect(f) == "maccor"
    cd = _read(f)
    assert any("read in min" in i.message for i in cd.issues)
    st = step_table(cd)
    # minutes read as minutes: the discharge ends 1 h after the charge
    t_end = st.loc[st.kind != "rest", "t_end"].to_numpy()
    assert t_end[-1] - t_end[-2] == pytest.approx(3600.0)
    cs = cycle_summary(cd)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-7)
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-7)


def test_maccor_comma_csv_without_state(tmp_path):
    d = _maccor_rows()
    out = pd.DataFrame({
        "Cycle C": 1, "Step": np.where(d["k"] == "C", 1, 2), "Test Time (sec)": d["t"],
        "Step Time (sec)": d["st"], "Capacity": d["q"],
        "Current": np.where(d["k"] == "C", d["i"], -d["i"]), "Voltage": d["v"],
        "DPT Time": "11-May-21 03:40:24 PM",
    })  # fmt: skip
    f = tmp_path / "maccor.csv"
    out.to_csv(f, index=False)
    assert detect(f) == "maccor"
    cs = cycle_summary(_read(f))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def test_biologic_mpt_with_absolute_timestamps(tmp_path):
    d = _maccor_rows()
    t0 = pd.Timestamp("2021-05-11 15:40:24")
    rows = ["mode\tox/red\ttime/s\tEwe/V\t<I>/mA\tQ charge/mA.h\tQ discharge/mA.h\tNs"]
    for r in d.itertuples():
        ch = r.k == "C"
        stamp = (t0 + pd.Timedelta(seconds=r.t)).strftime("%m/%d/%Y %H:%M:%S.%f")[:-2]
        rows.append(f"1\t{int(ch)}\t{stamp}\t{r.v:.6f}\t{(r.i if ch else -r.i) * 1e3:.6f}\t"
                    f"{r.q * 1e3 if ch else 1e3:.6f}\t{0 if ch else r.q * 1e3:.6f}\t"
                    f"{0 if ch else 1}")  # fmt: skip
    f = tmp_path / "abs.mpt"
    f.write_text("\n".join(["EC-Lab ASCII FILE", "Nb header lines : 4", "", *rows]) + "\n")
    cd = _read(f)
    assert cd.data["time"].iloc[-1] == pytest.approx(10800.0)
    cs = cycle_summary(cd)
    assert cs["charge_capacity"].sum() == pytest.approx(1.0, rel=1e-9)
    assert cs["discharge_capacity"].sum() == pytest.approx(1.0, rel=1e-9)


def test_novonix_every_line_quoted(tmp_path):
    d = _maccor_rows()
    lines = ['"[Summary]"', '"Novonix HPC data file"', '"[End Summary]"', '"[Data]"',
             '"Date and Time,Cycle Number,Step Type,Run Time (h),Step Time (h),Current (A),'
             'Potential (V),Capacity (Ah),Energy (Wh),Step Number"']  # fmt: skip
    for r in d.itertuples():
        ch = r.k == "C"
        lines.append(f'"2022-04-11 10:58:07 AM,1,{1 if ch else 2},{r.t / 3600:.9f},'
                     f'{r.st / 3600:.9f},{r.i if ch else -r.i:.6f},{r.v:.6f},{r.q:.9f},'
                     f'{r.q * 3.7:.9f},{1 if ch else 2}"')  # fmt: skip
    f = tmp_path / "novonix.csv"
    f.write_text("\n".join(lines) + "\n")
    assert detect(f) == "novonix"
    cs = cycle_summary(_read(f))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-8)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-8)


def test_pec_csv(tmp_path):
    d = _maccor_rows()
    pre = ["Request Year:,2026", "Test:,187", "TestRegime Name:,x", "", "Test Data:"]
    out = pd.DataFrame({
        "Test": 187, "Cell": 1, "Rack": 1, "Shelf": 1, "Position": 1, "Cell ID": "A",
        "Step": np.where(d["k"] == "C", 1, 2), "Cycle": 1, "Total Time (Seconds)": d["t"],
        "Voltage (mV)": d["v"] * 1e3, "Current (mA)": np.where(d["k"] == "C", 1, -1) * d["i"] * 1e3,
        "Charge Capacity (mAh)": np.where(d["k"] == "C", d["q"], 1.0) * 1e3,
        "Discharge Capacity (mAh)": np.where(d["k"] == "C", 0, d["q"]) * 1e3,
        "Charge Capacity (mWh)": np.where(d["k"] == "C", d["q"], 1.0) * 3.7e3,
        "Discharge Capacity (mWh)": np.where(d["k"] == "C", 0, d["q"]) * 3.5e3,
    })  # fmt: skip
    f = tmp_path / "pec.csv"
    f.write_text("\n".join(pre) + "\n" + out.to_csv(index=False))
    assert detect(f) == "pec"
    cs = cycle_summary(_read(f))
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_energy"].item() == pytest.approx(3.5, rel=1e-12)
    assert cs["charge_energy"].item() == pytest.approx(3.7, rel=1e-12)


def test_unrecognised_file_is_one_line_with_the_options(tmp_path):
    f = tmp_path / "odd.txt"
    f.write_text(
        "Exported by SomeTool\nSample:,A1\na,b,c\n" + "".join(f"{k},2,3\n" for k in range(5))
    )
    with pytest.raises(DataError) as e:
        read_cycler(f)
    msg = str(e.value)
    assert "\n" not in msg and "Error tokenizing" not in msg
    assert "format not recognised" in msg and "['a', 'b', 'c']" in msg
    for opt in ("--format", "--columns", "--units"):
        assert opt in msg
    # the options it names do read it
    cd = _read(f, columns={"time": "a", "current": "b", "voltage": "c"})
    assert len(cd.data) == 5


# ------------------------------------------------------------------ CLI
def test_cli_cycles_gap_factor_integration_sign_and_corrections(tmp_path):
    from electrohet.cli import main

    f = tmp_path / "gcpl.mpt"
    q = _write_gcpl_mpt(f, hours=1.0)
    g = tmp_path / "flipped.bdf.csv"
    _bdf(g, positive="discharge")
    h = tmp_path / "gap.csv"  # 1 A, rows every 10 s, 2 h without rows
    t = np.r_[np.arange(0, 3600, 10.0), np.arange(10800.0, 14401.0, 10.0)]
    pd.DataFrame({"time": t, "current": -1.0, "voltage": 3.7 - t / 1e5}).to_csv(h, index=False)
    out = tmp_path / "o"
    code = main(["analyze", "cycles", str(f), str(g), str(h), "--out", str(out),
                 "--integration", "trapezoid"])  # fmt: skip
    assert code == 0
    tab = pd.read_csv(out / "cycles.csv")
    assert tab.loc[tab.file == "gcpl.mpt", "charge_capacity"].sum() == pytest.approx(q, rel=1e-6)
    assert tab.loc[tab.file == "gap.csv", "discharge_capacity"].sum() == pytest.approx(4.0)
    rep = json.loads((out / "cycles_issues.json").read_text())
    assert rep[str(f)]["values"] == "integrated"
    assert not [c for c in rep[str(f)]["corrections"] if c["kind"] == "gap"]
    assert [c for c in rep[str(h)]["corrections"] if c["kind"] == "gap" and c["rows"]]
    assert any(c["kind"] == "sign" and c["rows"] for c in rep[str(g)]["corrections"])
    out2 = tmp_path / "o2"
    assert main(["analyze", "cycles", str(g), str(h), "--out", str(out2), "--sign",
                 "discharge-negative", "--gap-factor", "1000"]) == 0  # fmt: skip
    rep2 = json.loads((out2 / "cycles_issues.json").read_text())
    assert any("nothing was flipped" in c["message"] for c in rep2[str(g)]["corrections"])
    assert not [c for c in rep2[str(h)]["corrections"] if c["kind"] == "gap"]
    assert main(["analyze", "cycles", str(g), "--out", str(out2), "--integration", "mid"]) == 2


def test_real_files_validation_script_runs(tmp_path):
    """benchmarks/validate_cycler_files.py on files written here (the real-file table
    in docs/analysis.md comes from running it on public exports kept outside the repo)."""
    f = tmp_path / "late.csv"
    _arbin_frame().to_csv(f, index=False)
    script = Path(__file__).parents[2] / "benchmarks" / "validate_cycler_files.py"
    env = {"PYTHONPATH": str(Path(__file__).parents[2] / "src"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, str(script), str(f)], capture_output=True, text=True,
                       env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert "late.csv" in r.stdout and "arbin" in r.stdout


def test_step_time_restarting_at_each_step_becomes_test_time():
    """A time column that restarts at every step (Neware's per-step ``Time``, BDF files
    with that bug) is turned into the test time, and that correction is recorded."""
    st_t = np.r_[np.arange(0, 3601, 60.0), np.arange(60, 3601, 60.0)]
    step = np.r_[np.full(61, 1), np.full(60, 2)]
    cur = np.where(step == 1, -1.0, 1.0)
    d = pd.DataFrame({"time": st_t, "current": cur, "voltage": 3.7 - 0.1 * cur, "step": step})
    with pytest.warns(CyclerDataWarning, match="restarts at 1 of 1 step changes"):
        cd = from_dataframe(d, {"step": "step"}, discharge_negative=False)
    assert cd.data["time"].iloc[-1] == pytest.approx(7200.0)
    st = step_table(cd)
    np.testing.assert_allclose(st["capacity"], [1.0, 1.0], rtol=1e-12)


def test_counter_restart_inside_a_step_is_counted_and_reported():
    """The instrument's discharge counter restarts from zero inside a 1 A step (a pause):
    the step keeps what came before (2 Ah in all), and the restart is reported."""
    t = np.arange(0, 7201, 60.0)
    q = t / 3600
    q[t > 3600] -= 3600 / 3600 + 60 / 3600  # restarted at the first row after 1 h
    q[t > 3600] += 60 / 3600
    d = pd.DataFrame({"time": t, "current": 1.0, "voltage": 3.7 - t / 1e5, "q": q})
    with pytest.warns(CyclerDataWarning, match="restarts from zero inside a step"):
        cd = from_dataframe(d, {"discharge_capacity": "q"}, discharge_negative=False)
    assert step_table(cd)["capacity"].item() == pytest.approx(2.0, rel=1e-12)


def test_table_with_padded_preamble_and_units_in_snake_case(tmp_path):
    """A CSV whose preamble lines are padded with delimiters and whose columns carry the
    unit as a last word (``test_time_s``, ``current_A``, ``charge_capacity_Ah``)."""
    rows, _ = _cc_cycle_rows()
    d = pd.DataFrame(rows, columns=["k", "t", "st", "i", "v", "q"])
    ch = d["k"] == "C"
    out = pd.DataFrame({
        "cycle_index": 1, "step_index": np.where(ch, 1, 2), "test_time_s": d["t"],
        "current_A": np.where(ch, d["i"], -d["i"]), "voltage_V": d["v"],
        "discharge_capacity_Ah": np.where(ch, 0, d["q"]),
        "charge_capacity_Ah": np.where(ch, d["q"], 1.0), "step_name": "x",
    })  # fmt: skip
    pre = "cell model:" + "," * 7 + "\n" + "test: " + "," * 7 + "\n"
    body = out.to_csv(index=False).splitlines()
    f = tmp_path / "landt.csv"
    f.write_text(pre + "\n".join([body[0], *(x + "," for x in body[1:])]) + "\n")
    cs = cycle_summary(_read(f))
    assert cs["charge_capacity"].item() == pytest.approx(1.0, rel=1e-12)
    assert cs["discharge_capacity"].item() == pytest.approx(1.0, rel=1e-12)


def test_defect1_gcpl_mpr_logged_on_voltage_change(tmp_path):
    """The issue's file: a GCPL .mpr (no measured current: it is derived from dq/dt)
    logged on voltage change; its (Q-Qo) column gives the capacity, and the 30 s
    intervals between the 1 ms bursts are not gaps."""
    pytest.importorskip("galvani")
    from cycler_fixtures import write_mpr

    burst, long_dt, short_dt, n = 20, 30.0, 1e-3, 200
    dts = np.tile(np.r_[long_dt, np.full(burst, short_dt)], n)
    t1 = np.concatenate([[0.0], np.cumsum(dts)])
    tc = t1[-1]
    t = np.concatenate([t1, tc + t1[1:]])
    ch = np.arange(t.size) < t1.size
    imean = np.where(ch, -1e-3, 1e-3)  # A, discharge > 0 (1 mA cell)
    q = np.where(ch, 1e-3 * t / 3600, 1e-3 * (t - tc) / 3600)
    df = pd.DataFrame({
        "t": t, "step": np.where(ch, 1, 2), "mode": 1, "kind": np.where(ch, "C", "D"),
        "imean": imean, "i": imean,
        "v": np.where(ch, 3.5 + 0.6 * t / tc, 4.1 - 0.6 * (t - tc) / tc),
        "freq": 0.0, "half": np.where(ch, 0, 1), "qc": np.where(ch, q, 0.0),
        "qd": np.where(ch, 0.0, q), "ec": 0.0, "ed": 0.0, "cycle": 0,
    })  # fmt: skip
    f = tmp_path / "gcpl.mpr"
    write_mpr(df, f)
    cd = _read(f)
    assert not [i for i in cd.issues if i.kind == "gap"]
    cs = cycle_summary(cd)
    assert cs["charge_capacity"].sum() == pytest.approx(1e-3 * tc / 3600, rel=1e-6)
    assert cs["discharge_capacity"].sum() == pytest.approx(1e-3 * tc / 3600, rel=1e-6)


def test_late_first_row_after_a_pause_is_reported_as_a_gap():
    """The first interval counts, so a step whose first row comes 2 h after the last
    row before it (a paused channel) is reported with the charge it adds (2 Ah at 1 A,
    right-point), not hidden."""
    t = np.r_[np.arange(0, 3601, 600.0), 10800 + np.arange(0, 3601, 10.0)]
    i = np.r_[np.zeros(7), np.ones(361)]
    d = pd.DataFrame({"time": t, "current": i, "voltage": 3.7 - t / 1e5})
    with pytest.warns(CyclerDataWarning, match=r"7200 s between data rows 6 and 7.*hold 2 Ah"):
        cd = from_dataframe(d, discharge_negative=False)
    assert step_table(cd)["capacity"].iloc[-1] == pytest.approx(3.0, rel=1e-12)
