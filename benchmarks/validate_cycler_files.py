"""Validate the cycler readers on real exports you have: per-cycle capacities against
the instrument's own columns, computed independently.

Usage::

    python benchmarks/validate_cycler_files.py [--markdown] [--sources sources.json] FILE...

For each file: the detected format, rows, cycles, the issues recorded, and per cycle
the charge and discharge capacity electrohet reports (``cycle_summary``) next to a
reference computed here, independently of electrohet's step logic, from the raw
rows (after unit conversion):

* where the file has cumulative capacity columns (the instrument's own numbers): the
  rows are split into runs of the file's step number; each run adds its last value
  minus the previous run's last value, or its last value where the column was reset
  (its first value is below the previous run's last); runs are charge or discharge
  by the sign of most of their current (a rest run's increments go to the run
  before it), and are summed per file cycle;
* where it has none: a plain numpy trapezoid of |I| over each run, plus the interval
  before its first row at that row's current.

It prints the largest relative difference per file (cycles whose reference is below
1e-3 of the largest are left out) and the largest difference between the integrated
current and the file's columns (the cross-check). ``--markdown`` prints the table of
docs/analysis.md; ``--sources`` maps folder names to the public repositories the
files came from (``{"beep": "TRI-AMDD/beep"}``). No data files are shipped with
electrohet; use your own or public test data kept outside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from electrohet.analysis.cycler import CyclerDataWarning, read_cycler
from electrohet.analysis.cycles import cycle_summary

BRAND = {
    "arbin": "Arbin",
    "maccor": "Maccor",
    "biologic": "BioLogic",
    "neware": "Neware",
    "basytec": "Basytec",
    "novonix": "Novonix",
    "pec": "PEC",
    "bdf": "BDF",
    "csv": "generic",
}


def reference(df: pd.DataFrame, kind: str) -> tuple[pd.Series, str]:
    """Per-cycle capacity (Ah) of ``kind`` from the raw rows, and how it was computed."""
    key = df["step"].to_numpy() if "step" in df else np.sign(df["current"].to_numpy())
    run = np.concatenate([[0], np.cumsum(key[1:] != key[:-1])])
    cur = df["current"].to_numpy()
    thr = 1e-3 * np.abs(cur).max()
    sgn = pd.Series(np.where(cur > thr, 1, np.where(cur < -thr, -1, 0))).groupby(run).sum()
    want = 1 if kind == "discharge" else -1
    rsign = np.sign(sgn.to_numpy())
    is_kind = rsign == want
    # a rest run's increments (logged at its first rows) go to the active run before it
    act = np.where(rsign != 0, np.arange(rsign.size), -1)
    owner = np.maximum.accumulate(act)
    owner = np.where(owner < 0, np.arange(rsign.size), owner)
    cycle = (
        pd.Series(df["cycle"].to_numpy()).groupby(run).first()
        if "cycle" in df
        else pd.Series(np.zeros(run.max() + 1, dtype=int))
    )
    col = (
        f"{kind}_capacity" if f"{kind}_capacity" in df else "capacity" if "capacity" in df else None
    )
    if col is not None:
        a = np.abs(df[col].to_numpy())
        g = pd.Series(a).groupby(run)
        first, last = g.first().to_numpy(), g.last().to_numpy()
        prev = np.concatenate([[a[0]], last[:-1]])
        # a run whose first value is below the previous run's last was reset to zero
        inc = np.where(first < prev, last, last - prev)
        how = f"file column '{col}'"
    else:
        t = df["time"].to_numpy()
        i = np.abs(cur)
        dq = np.zeros(t.size)
        dq[1:] = np.where(run[1:] == run[:-1], 0.5 * (i[1:] + i[:-1]), i[1:]) * np.diff(t)
        inc = pd.Series(dq).groupby(run).sum().to_numpy() / 3600.0
        how = "numpy trapezoid"
    inc = np.bincount(owner, weights=inc, minlength=rsign.size)
    out = pd.Series(inc[is_kind]).groupby(cycle.to_numpy()[is_kind]).sum()
    return out, how


def _maxrel(a: pd.Series, b: pd.Series) -> float | None:
    b = b[b > 1e-3 * max(float(b.max()), 1e-300)] if len(b) else b
    if not len(b):
        return None
    a = a.reindex(b.index).fillna(0.0)
    return float(np.max(np.abs(a / b - 1.0)))


def validate(path: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CyclerDataWarning)
        cd = read_cycler(path)
    cs = cycle_summary(cd).set_index("cycle_id")
    if "cycle" not in cd.data:  # no cycle column: compare the totals of the file
        cs = cs.sum().to_frame().T
    st = cd.steps()
    res = {
        "file": path,
        "format": cd.fmt,
        "rows": len(cd.data),
        "cycles": len(st["cycle_id"].unique()),
    }
    res["issues"] = sorted({i.kind for i in cd.issues})
    worst, cross, hows = [], [], set()
    for kind in ("charge", "discharge"):
        ref, how = reference(cd.data, kind)
        hows.add(how.split("'")[0].strip())
        m = _maxrel(cs[f"{kind}_capacity"], ref)
        if m is not None:
            worst.append(m)
        if "capacity_file" in st:
            s = st[st["kind"] == kind]
            key = s["cycle_id"] if "cycle" in cd.data else np.zeros(len(s), dtype=int)
            integ = s.groupby(key)["capacity_integrated"].sum()
            fil = s.groupby(key)["capacity_file"].sum()
            m2 = _maxrel(integ, fil)
            if m2 is not None:
                cross.append(m2)
    res["max_rel_diff"] = max(worst) if worst else None
    res["integrated_vs_file"] = max(cross) if cross else None
    res["reference"] = "/".join(sorted(hows))
    return res


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--markdown", action="store_true", help="print the docs table")
    ap.add_argument("--sources", help="JSON: folder name -> repository")
    a = ap.parse_args(argv)
    src = json.loads(Path(a.sources).read_text()) if a.sources else {}
    rows = []
    for f in a.files:
        try:
            r = validate(f)
        except Exception as exc:  # report and go on: one unreadable file is a result too
            print(f"{f}: NOT READ: {exc}", file=sys.stderr)
            rows.append({"file": f, "error": str(exc).split(": ", 1)[-1][:120]})
            continue
        rows.append(r)
        fmt = lambda x: "-" if x is None else f"{x:.1e}"  # noqa: E731
        if not a.markdown:
            print(
                f"{f}: format {r['format']}, {r['rows']} rows, {r['cycles']} cycles, "
                f"max |electrohet / reference - 1| = {fmt(r['max_rel_diff'])} "
                f"(reference: {r['reference']}), "
                f"integrated vs file {fmt(r['integrated_vs_file'])}, "
                f"issues {r['issues']}"
            )
    if a.markdown:
        print(
            "| file | repository | brand | cycles | max rel. diff | integrated vs file | issues |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            p = Path(r["file"])
            repo = src.get(p.parent.name, p.parent.name)
            if "error" in r:
                print(f"| {p.name} | {repo} | - | - | not read: {r['error']} | - | - |")
                continue
            m, c = r["max_rel_diff"], r["integrated_vs_file"]
            brand = BRAND.get(r["format"], r["format"])
            if r["format"] in ("bdf", "csv"):  # converted files name their instrument
                known = [b for b in BRAND.values() if b not in ("BDF", "generic")]
                named = [b for b in (*known, "Landt", "Digatron") if b.lower() in p.name.lower()]
                if named:
                    brand = f"{named[0]} ({r['format']})"
            print(
                f"| {p.name} | {repo} | {brand} | {r['cycles']} | "
                f"{'-' if m is None else f'{m:.1e}'} | {'-' if c is None else f'{c:.1e}'} | "
                f"{', '.join(r['issues']) or '-'} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
