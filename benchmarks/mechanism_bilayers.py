"""What each candidate mechanism predicts for Yari 2020's six bilayers (at its MAP).

Run *after* the candidates were compared on the single layers alone
(``benchmarks/mechanism_evidence.py``, whose JSON this reads) and after the default
calibration was frozen: the bilayer runs here feed nothing back.  Prints, per candidate,
the single layer's gamma and dgamma = gamma(bilayer) - gamma(single) of each bilayer at
the candidate's MAP, next to Yari's label.

Run:  python benchmarks/mechanism_bilayers.py EVIDENCE.json [--out bilayers.json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from electrohet.errors import SolverError
from electrohet.studies.calibration import PARAMETERS, from_frozen, to_params
from electrohet.studies.rate_study import StudySettings, rate_study, yari2020_designs

SWITCHES = {
    "interface+wiring": {},
    "interface": {"wiring": False},
    "wiring": {"interface": False},
    "bulk_percolation": {"wiring": False, "interface": False, "through_plane_limited": True},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("evidence", nargs="+")
    ap.add_argument("--out", default="mechanism_bilayers.json")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="candidates to run")
    args = ap.parse_args()
    maps: dict[str, list[float]] = {"interface+wiring": from_frozen().log10_params.tolist()}
    for path in args.evidence:
        for name, r in json.load(open(path)).items():
            if "failed" not in r and name != "interface+wiring":
                maps[name] = r["map"] or [np.nan] * len(PARAMETERS)
    out = {}
    designs = yari2020_designs()
    for name, q in maps.items():
        if args.only and name not in args.only:
            continue
        params = {} if np.isnan(q[0]) else to_params(np.asarray(q))
        st = StudySettings(processes=args.processes, uncertainty=False, **params, **SWITCHES[name])
        try:
            t = rate_study(designs, st).table.set_index("design")
        except SolverError as exc:
            out[name] = {"failed": str(exc)}
            print(f"{name:18s} failed: {exc}", flush=True)
            continue
        g0 = float(t.loc["single", "gamma"])
        rows = {
            d.name: {"dgamma": float(t.loc[d.name, "dgamma"]), "paper": d.paper_label}
            for d in designs
            if d.layered
        }
        agree = sum((r["dgamma"] > 0) == (r["paper"] == "constructive") for r in rows.values())
        out[name] = {"gamma_single": g0, "bilayers": rows, "sign_agreement": agree}
        print(
            f"{name:18s} gamma_single {g0:.3f}  signs {agree}/6  "
            + "  ".join(f"{k} {v['dgamma']:+.4f}" for k, v in rows.items()),
            flush=True,
        )
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
