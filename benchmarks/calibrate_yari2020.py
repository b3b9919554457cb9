"""Pre-registered single-layer calibration of the Yari 2020 rate-study mechanisms.

Runs the maximum a posteriori fit (:func:`electrohet.studies.calibration.calibrate`) of
(log10 r_ref, t, log10 c) to the three single-layer gamma anchors with the priors of
:data:`electrohet.studies.calibration.PRIORS`, then importance-samples the posterior
(>= 200 samples, single layers only), and writes the result as a frozen calibration
(``src/electrohet/calibrations/<id>.json``) with its SHA-256 in ``MANIFEST.json``.

No bilayer is run here: the bilayers are predictions made afterwards from the frozen
file (``electrohet validate``).  Usage::

    python benchmarks/calibrate_yari2020.py --samples 200 --processes 2
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from electrohet.calibrations import freeze_text
from electrohet.studies.calibration import (
    PARAMETERS,
    PRIORS,
    SINGLE_LAYER_TARGETS,
    calibrate,
    posterior_samples,
)
from electrohet.studies.rate_study import StudySettings

CAL_DIR = Path(__file__).resolve().parents[1] / "src" / "electrohet" / "calibrations"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--id", default="yari2020_single_layer")
    ap.add_argument("--version", type=int, default=2)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--widen", type=float, default=1.5)
    ap.add_argument(
        "--start", type=float, nargs=3, default=None, help="start of the fit (default: priors)"
    )
    ap.add_argument("--log", default="calibration_samples.jsonl", help="per-sample log")
    args = ap.parse_args()
    st = StudySettings(processes=args.processes, uncertainty=False)
    t0 = time.perf_counter()
    cal = calibrate(st, start=args.start, progress=True)
    print(f"MAP {cal.log10_params}, gamma {cal.gamma}, sd {cal.std_log10}")
    t1 = time.perf_counter()
    with open(args.log, "w") as fh:

        def record(d: dict) -> None:
            fh.write(json.dumps(d) + "\n")
            fh.flush()

        cal = posterior_samples(
            cal, st, n=args.samples, widen=args.widen, progress=True, record=record
        )
    t2 = time.perf_counter()
    ess = cal.effective_sample_size
    print(f"ESS {ess:.1f} of {args.samples}; fit {t1 - t0:.0f} s, sampling {t2 - t1:.0f} s")
    payload = {
        "id": args.id,
        "version": args.version,
        "frozen_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "description": (
            "Yari 2020 NMC622 rate-study mechanisms (coating/collector contact resistance "
            "r_ref at 2.5 wt% carbon with percolation exponent t; wiring constriction c) "
            "fitted to the single-layer gamma anchors only, CC-CV protocol of the paper, "
            "gamma from the CC discharge energy. No bilayer was run before freezing."
        ),
        "targets": [
            "yari2020.gamma_single_4wt",
            "yari2020.gamma_single_1.5wt",
            "yari2020.gamma_single_1wt",
        ],
        "target_values": {f"{k:g}": list(v) for k, v in SINGLE_LAYER_TARGETS.items()},
        "priors": [
            {"name": k, "mean": PRIORS[k][0], "sd": PRIORS[k][1], "source": PRIORS[k][2]}
            for k in PARAMETERS
        ],
        "parameters": list(PARAMETERS),
        "log_parameters": ["interface_resistance_ref", "constriction"],
        "settings": {
            "protocol": st.protocol,
            "rates": list(st.rates),
            "v_min": st.v_min,
            "v_max": st.v_max,
            "rest_minutes": st.rest_minutes,
            "points_per_layer": st.points_per_layer,
            "radial_points": st.radial_points,
            "wiring_classes": st.wiring_classes,
            "proposal_widen": args.widen,
        },
        "result": {
            "map": cal.log10_params.tolist(),
            "fit_start": args.start,
            "covariance": cal.covariance.tolist(),
            "gamma": {f"{k:g}": v for k, v in cal.gamma.items()},
            "samples": cal.samples.tolist(),
            "weights": cal.weights.tolist(),
            "effective_sample_size": ess,
            "failed_samples": int(np.sum(cal.weights == 0)),
        },
    }
    text = freeze_text(payload)
    (CAL_DIR / f"{args.id}.json").write_text(text)
    man_path = CAL_DIR / "MANIFEST.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {"calibrations": {}}
    man["calibrations"][args.id] = {
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "version": args.version,
        "frozen_at": payload["frozen_at"],
    }
    man_path.write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    print(f"frozen {args.id} v{args.version}: {man['calibrations'][args.id]['sha256'][:12]}")


if __name__ == "__main__":
    main()
