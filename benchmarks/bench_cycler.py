"""Benchmark: per-cycle summary of a 1 M-row cycler file (time and peak RSS).

Writes a 1,000,000-row Arbin MITS Pro CSV (10,000 cycles: CC charge, rest, CC
discharge, rest; 25 rows each) and a BioLogic .mpr of the same rows (layout of
tests/analysis/cycler_fixtures.py), then, each in a fresh subprocess so that peak
RSS is that run's own:

* electrohet: ``read_cycler`` + ``cycle_summary`` of the CSV (target < 5 s, < 1 GB);
* electrohet: the same for the .mpr (galvani parses the binary);
* galvani alone: ``MPRfile`` + a per-cycle discharge capacity with pandas
  (the independent reader), and the per-cycle capacities of both compared.

Usage: ``python benchmarks/bench_cycler.py [--rows 1000000]``. Timings are wall
clock on a shared machine: compare the ratio printed within one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def make_rows(n_rows: int) -> pd.DataFrame:
    per = 100
    n_cyc = n_rows // per
    k = np.arange(n_cyc * per)
    pos = k % per
    phase = pos // 25  # 0 charge, 1 rest, 2 discharge, 3 rest
    cur = np.select([phase == 0, phase == 2], [0.5, -1.0], 0.0)  # Arbin: discharge < 0
    dt = np.where(phase == 0, 288.0, np.where(phase == 2, 144.0, 24.0))
    t = np.concatenate([[0.0], np.cumsum(dt[:-1] + np.where(np.diff(phase) != 0, 1.0, 0.0))])
    frac = (pos % 25) / 24.0
    v = np.select(
        [phase == 0, phase == 1, phase == 2], [3.4 + 0.8 * frac, 4.15, 4.1 - 1.0 * frac], 3.1
    )
    step = (k // 25) + 1
    cycle = k // per + 1
    # cumulative-per-cycle capacities (trapezoid of the constant current)
    dq = np.abs(cur) * np.r_[0.0, np.diff(t)] / 3600.0
    dq[pos % 25 == 0] = 0.0
    grp = pd.Series(dq)
    qc = grp.where(phase == 0, 0.0).groupby(cycle).cumsum().to_numpy()
    qd = grp.where(phase == 2, 0.0).groupby(cycle).cumsum().to_numpy()
    return pd.DataFrame(
        {
            "Data_Point": k + 1,
            "Test_Time(s)": t,
            "Step_Index": step,
            "Cycle_Index": cycle,
            "Current(A)": cur,
            "Voltage(V)": v,
            "Charge_Capacity(Ah)": qc,
            "Discharge_Capacity(Ah)": qd,
        }
    )


HWM = """
def hwm_mb():  # peak RSS of this process (VmHWM restarts at exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
"""

RUN_EH = (
    HWM
    + """
import sys, time, json, warnings
t0 = time.perf_counter()
from electrohet.analysis.cycler import read_cycler, CyclerDataWarning
from electrohet.analysis.cycles import cycle_summary
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CyclerDataWarning)
    cd = read_cycler(sys.argv[1])
t2 = time.perf_counter()
cs = cycle_summary(cd)
t3 = time.perf_counter()
print(json.dumps({"read_s": t2 - t1, "summary_s": t3 - t2, "total_s": t3 - t1,
    "rss_mb": hwm_mb(),
    "cycles": int(len(cs)), "qd": cs["discharge_capacity"].tolist(),
    "issues": cd.warnings}))
"""
)

RUN_GALVANI = (
    HWM
    + """
import sys, time, json
import numpy as np, pandas as pd
t1 = time.perf_counter()
from galvani import BioLogic
with open(sys.argv[1], "rb") as fh:
    mpr = BioLogic.MPRfile(fh)
df = pd.DataFrame({n: np.asarray(mpr.data[n]) for n in mpr.data.dtype.names if n != "flags"})
ox = np.asarray(mpr.get_flag("ox/red"))
dq = np.abs(df["dq/mA.h"].to_numpy()) * (ox == 0)
qd = pd.Series(dq).groupby(df["half cycle"].to_numpy() // 2).sum() / 1e3
t2 = time.perf_counter()
print(json.dumps({"total_s": t2 - t1,
    "rss_mb": hwm_mb(),
    "qd": qd.tolist()}))
"""
)


def run(code: str, path: Path) -> dict:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def write_mpr(df: pd.DataFrame, path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "analysis"))
    from cycler_fixtures import write_mpr as _w

    i = -df["Current(A)"].to_numpy()  # discharge > 0
    kind = np.where(i > 0, "D", np.where(i < 0, "C", "R"))
    t = df["Test_Time(s)"].to_numpy()
    dtt = np.r_[0.0, np.diff(t)]
    same = np.r_[False, df["Step_Index"].to_numpy()[1:] == df["Step_Index"].to_numpy()[:-1]]
    sim = pd.DataFrame(
        {
            "t": t,
            "step": df["Step_Index"].to_numpy() % 60000,
            "cycle": df["Cycle_Index"].to_numpy() - 1,
            "kind": kind,
            "mode": np.where(kind == "R", 3, 1),
            "i": i,
            "imean": np.where(same, i, 0.0),
            "v": df["Voltage(V)"].to_numpy(),
            "dq": -np.where(same, i, 0.0) * dtt,
            "freq": 0.0,
            "half": 2 * (df["Cycle_Index"].to_numpy() - 1) + (kind == "D") + 0,
            "qc": 0.0,
            "qd": 0.0,
            "ec": 0.0,
            "ed": 0.0,
            "sq": 0.0,
            "se": 0.0,
        }
    )
    # mA-scale cell for the .mpr (BioLogic potentiostats): scale currents by 1e-3
    sim["i"] *= 1e-3
    sim["imean"] *= 1e-3
    sim["dq"] *= 1e-3
    _w(sim, path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        df = make_rows(a.rows)
        csv = Path(d) / "big_arbin.csv"
        t0 = time.perf_counter()
        df.to_csv(csv, index=False, float_format="%.10g")
        mpr = Path(d) / "big.mpr"
        write_mpr(df, mpr)
        truth = df.groupby("Cycle_Index")["Discharge_Capacity(Ah)"].max().to_numpy()
        print(f"(files written in {time.perf_counter() - t0:.0f} s)", flush=True)
        eh = run(RUN_EH, csv)
        err = np.max(np.abs(np.array(eh["qd"]) / truth - 1))
        print(
            f"{len(df):,} rows, {len(truth):,} cycles ({csv.stat().st_size / 1e6:.0f} MB CSV)\n"
            f"electrohet CSV : read {eh['read_s']:.2f} s + summary {eh['summary_s']:.2f} s = "
            f"{eh['total_s']:.2f} s, peak RSS {eh['rss_mb']:.0f} MB; max |rel err| of per-cycle "
            f"discharge capacity vs the file's column {err:.1e}; issues: {len(eh['issues'])}"
        )
        try:
            import galvani  # noqa: F401
        except ImportError:
            print("galvani not installed: .mpr comparison skipped")
            return
        em = run(RUN_EH, mpr)
        ga = run(RUN_GALVANI, mpr)
        n = min(len(em["qd"]), len(ga["qd"]))
        diff = np.max(np.abs(np.array(em["qd"][:n]) * 1e3 / 1e3 / np.array(ga["qd"][:n]) - 1))
        print(
            f"electrohet .mpr: {em['total_s']:.2f} s, peak RSS {em['rss_mb']:.0f} MB; "
            f"galvani alone (parse + per-cycle sum): {ga['total_s']:.2f} s, "
            f"{ga['rss_mb']:.0f} MB; ratio {em['total_s'] / ga['total_s']:.1f}x; per-cycle "
            f"discharge capacity max |rel diff| {diff:.1e} over {n} cycles"
        )


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(benchmark wall time {time.perf_counter() - t0:.0f} s; shared machine)")
