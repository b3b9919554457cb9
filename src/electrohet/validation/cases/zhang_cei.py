"""Zhang 2023 CEI and clogging scenarios (voxel model, synthetic thick electrode).

Zhang's 4D model runs on their PFIB volume; electrohet runs the same scenarios on a
synthetic volume of similar composition (:func:`electrohet.voxel.scenarios.zhang_volume`),
so only *relative* changes are compared: the capacity lost to a graded CEI
(3 -> 28 nm, the range of Zhang's model, an input) and to a twice-as-thick one, at C/2
to 3.5 V.
"""

from __future__ import annotations

from pathlib import Path

from electrohet.validation.core import Case, Claim, Measurement

PAPER = "Zhang 2023"

CLAIMS = (
    Claim(
        "zhang2023.cei_capacity_drop",
        PAPER,
        "4D model, Fig. 6",
        "C/2 to 3.5 V: 120 mAh/g pristine, 100 mAh/g with the CEI gradient",
        "-17 % (120 -> 100 mAh/g)",
        "relative capacity change within -10 % to -25 %",
    ),
    Claim(
        "zhang2023.thick_cei_drop",
        PAPER,
        "4D model, Fig. 6",
        "with a thicker CEI 92.7 mAh/g",
        "-23 % (120 -> 92.7 mAh/g)",
        "relative change within -15 % to -35 % and below the CEI case's",
    ),
    Claim(
        "zhang2023.cbd_aggregate_share",
        PAPER,
        "Fig. 3 (LNMO electrodes)",
        "largest CBD aggregate 23.6 % of the CBD (slurry) vs 57 % (dry process)",
        "0.236 / 0.57",
        "measured on Zhang's segmented volumes",
    ),
)


def run(quick: bool, out: Path) -> dict[str, Measurement]:
    """Full: 24 x 8 x 8 voxels of 2 um; quick: 12 x 6 x 6 voxels of 4 um."""
    from electrohet.voxel.scenarios import zhang_cei_scenarios, zhang_volume

    vol = zhang_volume((12, 6, 6), 4e-6) if quick else zhang_volume()
    r = zhang_cei_scenarios(vol)
    cap = r["capacity_mAh_g"]
    d1 = cap["CEI"] / cap["none"] - 1
    d2 = cap["thick CEI"] / cap["none"] - 1
    caps = ", ".join(f"{k} {v:.1f}" for k, v in cap.items())
    note = f"capacities [mAh/g]: {caps}" + ("; quick volume" if quick else "")
    return {
        "zhang2023.cei_capacity_drop": Measurement(
            f"{100 * d1:+.1f} %", bool(-0.25 <= d1 <= -0.10), note, cap
        ),
        "zhang2023.thick_cei_drop": Measurement(
            f"{100 * d2:+.1f} %", bool(-0.35 <= d2 <= -0.15 and d2 < d1), note, cap
        ),
        "zhang2023.cbd_aggregate_share": Measurement(
            None,
            None,
            "needs Zhang's segmented LNMO volumes (not public here); "
            "electrohet.micro.connectivity measures it on any labelled volume",
        ),
    }


CASE = Case(
    "zhang2023_cei",
    "Zhang 2023: CEI-gradient and thick-CEI capacity loss (voxel model)",
    CLAIMS,
    ("default:zhang_cei_gradient",),
    run,
)
