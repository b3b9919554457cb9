"""Validate the cycler readers on real exports you have: integrated vs the file's own columns.

Usage: ``python benchmarks/validate_cycler_files.py FILE...``. For each file: the
detected format, rows, issues recorded, and per cycle the integrated charge and
discharge capacity and energy next to the file's own cumulative columns (their
change over each step, summed per cycle), with the largest relative difference.
No data files are shipped with electrohet; use your own or public test data.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from electrohet.analysis.cycler import CyclerDataWarning, read_cycler
from electrohet.analysis.cycles import cycle_summary
from electrohet.analysis.formats import detect


def main(files: list[str]) -> None:
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CyclerDataWarning)
            cd = read_cycler(f)
        cs = cycle_summary(cd)
        print(f"{f}: format {detect(f)}, {len(cd.data)} rows, rule {cd.integration}")
        for msg in cd.warnings:
            print(f"  issue: {msg}")
        worst = {}
        for k in ("charge", "discharge"):
            for w in ("capacity", "energy"):
                ref = f"{k}_{w}_file"
                if ref not in cs:
                    continue
                a, b = cs[f"{k}_{w}"].to_numpy(), cs[ref].to_numpy()
                sel = b > 1e-3 * max(b.max(), 1e-300)
                if sel.any():
                    worst[f"{k} {w}"] = float(np.max(np.abs(a[sel] / b[sel] - 1)))
        for name, err in worst.items():
            print(f"  {name}: max |integrated / file - 1| = {err:.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
