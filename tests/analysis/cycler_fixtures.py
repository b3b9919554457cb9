"""Writers of small cycler files in each vendor layout, from one simulated instrument.

The "instrument" integrates a simple cell (OCV(soc) - I R) every ``dt`` = 1 s and
keeps its own cumulative capacity and energy columns at that resolution (right-point
sums of |I| dt and V |I| dt at 1 s); it *logs* a row only when the voltage moved by
``dv_log`` or ``dt_log`` passed, and at the first and last sample of each step - like
a real cycler's sparse logging. So the file's own capacity/energy columns are the
fine-resolution truth and the reader integrates only the logged rows.

Run ``python tests/analysis/cycler_fixtures.py`` to regenerate ``tests/analysis/data``.
All layouts are written from scratch here (no other project's files are used).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"


def ocv(soc: float) -> float:
    s = min(max(soc, 1e-4), 1 - 1e-4)
    return 3.55 + 0.55 * s + 0.08 * math.log(s / (1 - s))


def simulate(q_ah=1.0, rates=(1.0, 1.0), r_ohm=0.05, dt_log=60.0, dv_log=0.01, eis=0):
    """Rows of a logged cycling run (SI units, current > 0 on discharge).

    Per cycle: CC charge at C/2 to 4.2 V, CV at 4.2 V to C/20 (same step number,
    mode 2), rest 10 min, CC discharge at ``rate`` C to 3.0 V, rest 10 min.
    ``eis`` impedance rows (freq > 0) are logged before the first cycle.
    """
    r = r_ohm / q_ah
    soc, t = 0.03, 0.0
    rows = []
    cyc_acc = dict(qc=0.0, qd=0.0, ec=0.0, ed=0.0)
    for k in range(eis):
        rows.append(
            dict(t=t, step=0, cycle=0, kind="R", mode=3, i=(-1) ** k * 0.001 * q_ah, imean=0.0,
                 v=ocv(soc), sq=0.0, se=0.0, dq=0.0, freq=1e5 / 2**k, half=0, **cyc_acc)
        )  # fmt: skip
        t += 1.0
    half = 0
    step_no = 0
    prev_dir = None
    for c, rate in enumerate(rates):
        cyc_acc = dict(qc=0.0, qd=0.0, ec=0.0, ed=0.0)
        plan = [
            ("C", 1, -0.5 * q_ah, None),
            ("C", 2, None, None),
            ("R", 3, 0.0, 600.0),
            ("D", 1, rate * q_ah, None),
            ("R", 3, 0.0, 600.0),
        ]
        for kind, mode, cur, dur in plan:
            if not (kind == "C" and mode == 2):
                step_no += 1
            direction = kind if kind != "R" else prev_dir
            if kind != "R" and kind != prev_dir:
                if prev_dir is not None:
                    half += 1
                prev_dir = kind
            sq = se = 0.0
            ts = t
            last_t, last_v = None, None
            acc_q = 0.0
            step_rows = []
            n = 0
            while True:
                if mode == 2:
                    i = (ocv(soc) - 4.2) / r  # negative (charge)
                else:
                    i = cur
                v = ocv(soc) - i * r
                end = False
                if n > 0:
                    if kind == "C" and mode == 1 and v >= 4.2:
                        end = True
                    if mode == 2 and abs(i) <= 0.05 * q_ah:
                        end = True
                    if kind == "D" and v <= 3.0:
                        end = True
                    if dur is not None and t - ts >= dur - 1e-9:
                        end = True
                log = n == 0 or end or (t - last_t >= dt_log - 1e-9) or abs(v - last_v) >= dv_log
                if log:
                    dt_i = 0.0 if last_t is None else t - last_t
                    step_rows.append(
                        dict(t=t, step=step_no, cycle=c, kind=kind, mode=mode, i=i,
                             imean=(acc_q / dt_i if dt_i > 0 else i), v=v, sq=sq, se=se,
                             dq=-acc_q, freq=0.0, half=half, **cyc_acc)
                    )  # fmt: skip
                    last_t, last_v, acc_q = t, v, 0.0
                if end:
                    break
                # advance 1 s; the next sample's current applies over (t, t+1]
                i_next = (ocv(soc) - 4.2) / r if mode == 2 else cur
                soc -= i_next * 1.0 / 3600.0 / q_ah
                t += 1.0
                v_next = ocv(soc) - i_next * r
                sq += abs(i_next) / 3600.0
                se += abs(i_next) * v_next / 3600.0
                acc_q += i_next
                if kind == "D":
                    cyc_acc["qd"] += abs(i_next) / 3600.0
                    cyc_acc["ed"] += abs(i_next) * v_next / 3600.0
                elif kind == "C":
                    cyc_acc["qc"] += abs(i_next) / 3600.0
                    cyc_acc["ec"] += abs(i_next) * v_next / 3600.0
                n += 1
            rows.extend(step_rows)
            del direction
            t += 1.0  # the next step's first sample one second later
    df = pd.DataFrame(rows)
    df["sign_lab"] = -np.sign(df["i"])  # charge positive in the lab convention
    return df


def truth(df: pd.DataFrame) -> dict:
    """Per-cycle discharge capacity and energy as the instrument's own columns hold them."""
    g = df[df["freq"] == 0].groupby("cycle")
    return {
        "discharge_capacity": g["qd"].max().tolist(),
        "discharge_energy": g["ed"].max().tolist(),
        "charge_capacity": g["qc"].max().tolist(),
    }


def write_arbin(df, path, units=True):
    sfx = (lambda u: f"({u})") if units else (lambda u: "")
    out = pd.DataFrame(
        {
            "Data_Point": np.arange(1, len(df) + 1),
            f"Test_Time{sfx('s')}": df["t"],
            "Step_Index": df["step"],
            "Cycle_Index": df["cycle"] + 1,
            f"Current{sfx('A')}": -df["i"],
            f"Voltage{sfx('V')}": df["v"].round(5),
            f"Charge_Capacity{sfx('Ah')}": df["qc"],
            f"Discharge_Capacity{sfx('Ah')}": df["qd"],
            f"Charge_Energy{sfx('Wh')}": df["ec"],
            f"Discharge_Energy{sfx('Wh')}": df["ed"],
        }
    )
    out.to_csv(path, index=False, float_format="%.7g")


def write_maccor(df, path, string_time=False):
    state = df["kind"].map({"C": "C", "D": "D", "R": "R"})
    out = pd.DataFrame(
        {
            "Rec#": np.arange(1, len(df) + 1),
            "Cyc#": df["cycle"],
            "Step": df["step"] + df["mode"].eq(2).astype(int) * 100,
            "Test (Sec)": df["t"],
            "Amp-hr": df["sq"],
            "Watt-hr": df["se"],
            "Amps": df["i"].abs(),
            "Volts": df["v"].round(5),
            "State": state,
            "ES": 0,
        }
    )
    if string_time:
        t = df["t"].to_numpy()
        d = (t // 86400).astype(int)
        h = ((t % 86400) // 3600).astype(int)
        m = ((t % 3600) // 60).astype(int)
        s = t % 60
        out = out.drop(columns="Test (Sec)")
        out.insert(
            3,
            "TestTime",
            [f"{a}d {b:02d}:{c:02d}:{e:05.2f}" for a, b, c, e in zip(d, h, m, s, strict=True)],
        )
    head = (
        "Today's Date\t11/29/2026\tDate of Test:\t11/01/2026\tFilename:\tC:\\Data\\cell1.001\t"
        "Procedure:\tRATE.000\tComment/Barcode:\tfixture\n"
    )
    path.write_text(head + out.to_csv(sep="\t", index=False, float_format="%.7g"))


_MPT_COLS = [
    "mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns",
    "time/s", "control/V/mA", "Ewe/V", "<I>/mA", "dq/mA.h", "(Q-Qo)/mA.h", "freq/Hz",
    "half cycle", "Q charge/mA.h", "Q discharge/mA.h", "Energy charge/W.h",
    "Energy discharge/W.h", "cycle number",
]  # fmt: skip


def _biologic_frame(df):
    # EC-Lab: oxidation (charge of a positive electrode) positive; mA, mA.h
    i_ma = -df["imean"] * 1e3
    dq = -df["imean"] * 1e3 * np.r_[0, np.diff(df["t"])] / 3600.0
    # per-half-cycle counters: Q charge/discharge and energies reset at each half cycle
    g = df.groupby("half")
    qc, qd, ec, ed = (df[c] - g[c].transform("first") for c in ("qc", "qd", "ec", "ed"))
    out = pd.DataFrame(
        {
            "mode": df["mode"],
            "ox/red": (df["kind"] == "C").astype(int),
            "error": 0,
            "control changes": 0,
            "Ns changes": 0,
            "counter inc.": 0,
            "Ns": df["step"],
            "time/s": df["t"],
            "control/V/mA": np.where(df["mode"] == 2, 4.2, -df["i"] * 1e3),
            "Ewe/V": df["v"],
            "<I>/mA": i_ma,
            "dq/mA.h": dq,
            "(Q-Qo)/mA.h": np.cumsum(dq),
            "freq/Hz": df["freq"],
            "half cycle": df["half"],
            "Q charge/mA.h": qc * 1e3,
            "Q discharge/mA.h": qd * 1e3,
            "Energy charge/W.h": ec,
            "Energy discharge/W.h": ed,
            "cycle number": df["cycle"].astype(float),
        }
    )
    return out[_MPT_COLS]


def write_mpt(df, path):
    out = _biologic_frame(df)
    header = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 6",
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "",
    ]
    body = out.to_csv(sep="\t", index=False, float_format="%.9g").replace(".", ",")
    body = body.replace("ox/red", "ox/red").replace("<I>/mA", "<I>/mA")
    # the header line must keep its dots ("time/s", "dq/mA.h")
    lines = body.splitlines()
    lines[0] = "\t".join(_MPT_COLS)
    path.write_text("\n".join(header + lines) + "\n", encoding="latin-1")


def write_mpr(df, path):
    """A minimal EC-Lab .mpr (GCPL-like: no measured current column), as galvani reads it.

    Columns: mode/ox-red flags, Ns, time/s, control/V/mA, Ewe/V, dq/mA.h,
    (Q-Qo)/mA.h, freq/Hz, half cycle (no 'cycle number', no '<I>/mA').
    """
    b = _biologic_frame(df)
    col_ids = [1, 2, 131, 4, 5, 6, 7, 13, 32, 212]
    dtype = np.dtype(
        [("flags", "u1"), ("Ns", "<u2"), ("time/s", "<f8"), ("control/V/mA", "<f4"),
         ("Ewe/V", "<f4"), ("dq/mA.h", "<f8"), ("(Q-Qo)/mA.h", "<f8"), ("freq/Hz", "<f4"),
         ("half cycle", "<u4")]
    )  # fmt: skip
    rec = np.zeros(len(b), dtype=dtype)
    rec["flags"] = (b["mode"].to_numpy() & 0x03) | (b["ox/red"].to_numpy().astype(np.uint8) << 2)
    for n in dtype.names[1:]:
        rec[n] = b[n].to_numpy()
    head = struct.pack("<IB", len(b), len(col_ids)) + struct.pack(f"<{len(col_ids)}H", *col_ids)
    data = head.ljust(405, b"\x00") + rec.tobytes()

    def module(short, long, payload, version):
        hdr = (
            b"MODULE"
            + short.ljust(10)
            + long.ljust(25)
            + struct.pack("<II", len(payload), version)
            + b"11/29/26"
        )
        return hdr + payload

    magic = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
    blob = (
        magic
        + module(b"VMP Set", b"VMP settings", b"\x00" * 64, 0)
        + module(b"VMP data", b"VMP data", data, 2)
    )
    path.write_bytes(blob)


def _hms(t):
    t = np.asarray(t)
    h = (t // 3600).astype(int)
    m = ((t % 3600) // 60).astype(int)
    s = (t % 60).astype(int)
    return [f"{a:02d}:{b:02d}:{c:02d}" for a, b, c in zip(h, m, s, strict=True)]


def write_neware(df, path):
    name = (
        df["kind"]
        .map({"C": "CC Chg", "D": "CC DChg", "R": "Rest"})
        .where(df["mode"] != 2, "CV Chg")
    )
    chg = df["kind"] == "C"
    dis = df["kind"] == "D"
    out = pd.DataFrame(
        {
            "DataPoint": np.arange(1, len(df) + 1),
            "Cycle Index": df["cycle"] + 1,
            "Step Index": df["step"] * 2 + df["mode"].eq(2),
            "Step Type": name,
            "Total Time": _hms(df["t"]),
            "Current(mA)": -df["i"] * 1e3,
            "Voltage(V)": df["v"].round(5),
            "Capacity(mAh)": df["sq"] * 1e3,
            "Chg. Cap.(mAh)": np.where(chg, df["sq"], 0.0) * 1e3,
            "DChg. Cap.(mAh)": np.where(dis, df["sq"], 0.0) * 1e3,
            "Energy(mWh)": df["se"] * 1e3,
        }
    )
    out.to_csv(path, index=False, float_format="%.7g")


def write_basytec(df, path):
    sign = np.where(df["kind"] == "D", -1.0, 1.0)
    cmd = df["kind"].map({"C": "Charge", "D": "Discharge", "R": "Pause"})
    out = pd.DataFrame(
        {
            "Time[h]": df["t"] / 3600.0,
            "DataSet": np.arange(1, len(df) + 1),
            "Line": df["step"] * 2 + df["mode"].eq(2),
            "Command": cmd,
            "U[V]": df["v"].round(5),
            "I[A]": -df["i"],
            "Ah[Ah]": sign * df["sq"],
            "Wh[Wh]": sign * df["se"],
            "Cyc-Count": df["cycle"] + 1,
            "State": 1,
        }
    )
    text = out.to_csv(sep="\t", index=False, float_format="%.9g")
    lines = text.splitlines()
    head = ["~Resultfile from CTS", "~Date of Test:\t29.11.2026", "~" + lines[0]]
    path.write_text("\n".join(head + lines[1:]) + "\n")


def write_novonix(df, path):
    code = np.select(
        [df["kind"] == "C", df["kind"] == "D"], [np.where(df["mode"] == 2, 7, 1), 2], 0
    )
    out = pd.DataFrame(
        {
            "Date and Time": "2026-11-29 12:00:00",
            "Cycle Number": df["cycle"],
            "Step Type": code,
            "Run Time (h)": df["t"] / 3600.0,
            "Step Time (h)": 0.0,
            "Current (A)": -df["i"],
            "Potential (V)": df["v"].round(5),
            "Capacity (Ah)": df["sq"],
            "Temperature (°C)": 25.0,
            "Energy (Wh)": df["se"],
            "Step Number": df["step"] * 2 + df["mode"].eq(2),
        }
    )
    head = "[Summary]\nCell: fixture\nProtocol: rate\n[End Summary]\n[Data]\n"
    path.write_text(head + out.to_csv(index=False, float_format="%.9g"), encoding="utf-8")


FILES = {
    "arbin_mitspro.csv": (write_arbin, dict(q_ah=1.0), {}),
    "arbin_unitless.csv": (write_arbin, dict(q_ah=1.0), {"units": False}),
    "maccor.txt": (write_maccor, dict(q_ah=1.0), {}),
    "biologic_gcpl.mpt": (write_mpt, dict(q_ah=3e-3, eis=8), {}),
    "biologic_gcpl.mpr": (write_mpr, dict(q_ah=3e-3, eis=8), {}),
    "neware.csv": (write_neware, dict(q_ah=2e-3), {}),
    "basytec.txt": (write_basytec, dict(q_ah=1.0), {}),
    "novonix.csv": (write_novonix, dict(q_ah=0.2), {}),
}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    truths = {}
    for name, (writer, sim_kw, kw) in FILES.items():
        df = simulate(**sim_kw)
        writer(df, DATA / name, **kw)
        truths[name] = truth(df)
    (DATA / "truth.json").write_text(json.dumps(truths, indent=1) + "\n")


if __name__ == "__main__":
    main()
