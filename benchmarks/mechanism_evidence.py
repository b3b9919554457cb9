"""Which carbon-dependent mechanism explains Yari 2020's *single layers* best?

Each candidate is fitted to the three single-layer gamma anchors with the same priors
(:data:`electrohet.studies.calibration.PRIORS`; a parameter of a switched-off mechanism
has no effect, so its prior and posterior cancel in the evidence), and scored by its
Laplace-approximated log evidence

    log Z ~ log L(q*) + log p(q*) + (k/2) log 2 pi + 1/2 log det Sigma_post

(the data normaliser is common to all candidates and dropped).  No bilayer is run: the
selected mechanism then predicts the bilayers (``electrohet validate``).

Candidates:

* ``interface+wiring``: coating/collector contact resistance (r_ref, t) and particle
  wiring constriction c (the default model);
* ``interface``: the contact resistance alone (no wiring classes);
* ``wiring``: the wiring classes alone (no contact resistance);
* ``bulk_percolation``: no contact resistance or wiring; the through-plane matrix
  conductivity carries the carbon dependence
  (:data:`~electrohet.design.conductivity.YARI2020_PERCOLATION`, no free parameter).

Run:  python benchmarks/mechanism_evidence.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from electrohet.errors import SolverError
from electrohet.studies.calibration import (
    PARAMETERS,
    PRIORS,
    SINGLE_LAYER_TARGETS,
    calibrate,
    single_layer_gammas,
    to_params,
)
from electrohet.studies.rate_study import StudySettings

CANDIDATES = {
    "interface+wiring": {},
    "interface": {"wiring": False},
    "wiring": {"interface": False},
    "bulk_percolation": {"wiring": False, "interface": False, "through_plane_limited": True},
}


def log_evidence(cal, free: list[str]) -> tuple[float, float]:
    """(log evidence up to the common constant, weighted misfit) of a calibration."""
    tg = SINGLE_LAYER_TARGETS
    fcs = sorted(tg)
    r = np.array([(cal.gamma[f] - tg[f][0]) / tg[f][1] for f in fcs])
    mu = np.array([PRIORS[k][0] for k in PARAMETERS])
    sd = np.array([PRIORS[k][1] for k in PARAMETERS])
    idx = [PARAMETERS.index(k) for k in free]
    q = cal.log10_params[idx]
    zp = (q - mu[idx]) / sd[idx]
    cov = cal.covariance[np.ix_(idx, idx)]
    k = len(idx)
    logz = (
        -0.5 * float(r @ r)
        - 0.5 * float(zp @ zp)
        - float(np.sum(np.log(sd[idx] * np.sqrt(2 * np.pi))))
        + 0.5 * k * np.log(2 * np.pi)
        + 0.5 * float(np.linalg.slogdet(cov)[1])
    )
    return logz, float(r @ r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out", default="mechanism_evidence.json")
    args = ap.parse_args()
    results = {}
    for name in args.only:
        t0 = time.perf_counter()
        try:
            results[name] = _candidate(name, args)
        except SolverError as exc:
            results[name] = {"failed": str(exc)}
        results[name]["seconds"] = time.perf_counter() - t0
        print(name, json.dumps(results[name]), flush=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)


def _candidate(name: str, args) -> dict:
    if True:
        st = StudySettings(processes=args.processes, uncertainty=False, **CANDIDATES[name])
        free = [
            k
            for k, on in (
                ("interface_resistance_ref", st.interface),
                ("interface_exponent", st.interface),
                ("constriction", st.wiring),
            )
            if on
        ]
        if not free:
            fcs = sorted(SINGLE_LAYER_TARGETS)
            g = single_layer_gammas(
                to_params(np.array([PRIORS[k][0] for k in PARAMETERS])), st, fcs
            )
            r = np.array(
                [(g[f] - SINGLE_LAYER_TARGETS[f][0]) / SINGLE_LAYER_TARGETS[f][1] for f in fcs]
            )
            logz, chi2, gam, q = -0.5 * float(r @ r), float(r @ r), g, []
        else:
            cal = calibrate(st, progress=True)
            logz, chi2 = log_evidence(cal, free)
            gam, q = cal.gamma, cal.log10_params.tolist()
        return {
            "log_evidence": logz,
            "chi2": chi2,
            "gamma": {f"{k:g}": v for k, v in gam.items()},
            "map": q,
            "free": free,
        }


if __name__ == "__main__":
    main()
