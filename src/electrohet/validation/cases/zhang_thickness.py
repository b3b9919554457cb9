"""Zhang 2023 thickness study (Fig. S9): 80 / 160 / 240 um NMC811 at C/3 (predicted).

The model: :func:`electrohet.studies.thickness.thickness_study` on the Zhang 2023-like
NMC811 half cell (:func:`~electrohet.studies.thickness.zhang2023_cell`: Chen 2020 NMC811,
Zhang's porosity 0.25, 95 / 2.5 / 2.5 wt%, 1C = 280 mA/g, Li foil).  No calibration and
no hand-set default of :mod:`electrohet.validation.provenance` enters (``uses=()``).

Cut-off.  Fig. S9's caption gives no cut-off voltage; the claims are scored at 3.5 V,
the cut-off of Zhang's own model discharges (Fig. 4, C/2 to 3.5 V), fixed before any
run.  The capacities at 3.2 and 3.0 V are reported in the detail because the answer
depends strongly on the cut-off (the Chen 2020 NMC811 OCP ends at 3.49 V, so below it the
end of discharge is set by transport, not by the OCP).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from electrohet.validation.core import Case, Claim, Measurement

PAPER = "Zhang 2023"
PLACE = "Results (modelling of the thick electrode), Fig. S9"
SCORED_CUTOFF = 3.5  # V
CUTOFFS = (3.5, 3.2, 3.0)
THICKNESSES = (80e-6, 160e-6, 240e-6)
RATE = 1.0 / 3.0

CLAIMS = (
    Claim(
        "zhang2023.thickness_240_vs_80",
        PAPER,
        PLACE,
        "the 240-um-thick electrode displays a specific capacity ca. 30% lower than the "
        "160- and 80-um-thick electrodes (discharge simulations at C/3-rate)",
        "1 - Q(240 um) / Q(80 um) ~ 0.30 at C/3",
        "relative loss 1 - Q240/Q80 at C/3 (cut-off 3.5 V) within 0.20-0.40",
    ),
    Claim(
        "zhang2023.thickness_80_eq_160",
        PAPER,
        PLACE,
        "the 160- and 80-um-thick electrodes have about the same specific capacity at C/3 "
        "(the 240 um one is ca. 30% lower than both)",
        "Q(160 um) ~ Q(80 um) at C/3",
        "|1 - Q160/Q80| <= 0.05 at C/3 (cut-off 3.5 V)",
    ),
)


def run(quick: bool, out: Path) -> dict[str, Measurement]:
    """Run the sweep.

    Quick: coarse meshes (5 / 10 points per 80 um, 6 / 12 shells), cut-off 3.5 V only.
    Full: 20 / 40 points per 80 um (scaled with thickness), 20 / 40 shells, cut-offs
    3.5, 3.2, 3.0 V; the values are the fine mesh's, the coarse/fine difference is in the
    detail.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from electrohet.studies.thickness import (
        ThicknessSettings,
        diagnose,
        plot_study,
        thickness_study,
        zhang2023_cell,
    )

    if quick:
        st, cutoffs = ThicknessSettings(points=5, radial=6), (SCORED_CUTOFF,)
    else:
        st, cutoffs = ThicknessSettings(points=20, radial=20), CUTOFFS
    study = thickness_study(zhang2023_cell, THICKNESSES, [RATE], cutoffs, st)
    t = study.table
    t.to_csv(out / "zhang2023_thickness.csv", index=False)
    fig = plot_study(study)
    fig.savefig(out / "zhang2023_thickness.png", dpi=120)
    plt.close(fig)

    tab = t.set_index(["thickness_um", "cutoff_V"])

    def q(th_um: float, vc: float) -> float:
        return float(tab.loc[(th_um, vc), "capacity_mAh_g"])

    def row(th_um: float, vc: float):
        return tab.loc[(th_um, vc)]

    mesh = ", ".join(
        f"{th:g} um {100 * d:+.2f} %" if np.isfinite(d) else f"{th:g} um n/a"
        for th, d in zip(
            t.loc[t.cutoff_V == SCORED_CUTOFF, "thickness_um"],
            t.loc[t.cutoff_V == SCORED_CUTOFF, "mesh_rel_diff"],
            strict=True,
        )
    )
    cut_dep = "; ".join(
        f"{vc:g} V: "
        + ", ".join(
            (
                f"{th:g} um {q(th, vc):.1f} mAh/g ({row(th, vc)['relative_to_thinnest']:.3f})"
                if row(th, vc)["status"] == "ok"
                else f"{th:g} um {row(th, vc)['status']}"
            )
            for th in (80.0, 160.0, 240.0)
        )
        for vc in cutoffs
    )
    settings = (
        f"{'quick' if quick else 'full'}: fine mesh {st.points * st.refine} points per 80 um, "
        f"{st.radial * st.refine} shells; coarse/fine difference at {SCORED_CUTOFF:g} V: {mesh}; "
        f"{study.wall_s:.1f} s"
    )
    res: dict[str, Measurement] = {}
    q80, q160, q240 = (q(th, SCORED_CUTOFF) for th in (80.0, 160.0, 240.0))
    ok = all(row(th, SCORED_CUTOFF)["status"] == "ok" for th in (80.0, 160.0, 240.0))
    if not ok:
        msg = "; ".join(
            f"{th:g} um: {row(th, SCORED_CUTOFF)['status']} {row(th, SCORED_CUTOFF)['message']}"
            for th in (80.0, 160.0, 240.0)
        )
        for c in CLAIMS:
            res[c.id] = Measurement(None, None, f"run failed at {SCORED_CUTOFF:g} V: {msg}")
        return res
    loss240 = 1.0 - q240 / q80
    d160 = 1.0 - q160 / q80
    why240 = diagnose(row(240.0, SCORED_CUTOFF))
    why80 = diagnose(row(80.0, SCORED_CUTOFF))
    why160 = diagnose(row(160.0, SCORED_CUTOFF))
    res["zhang2023.thickness_240_vs_80"] = Measurement(
        f"{100 * loss240:.1f} % lower ({q240:.1f} vs {q80:.1f} mAh/g, C/3, 3.5 V)",
        bool(0.20 <= loss240 <= 0.40),
        f"240 um at 3.5 V: {why240}. 80 um: {why80}. Cut-off dependence (capacity, "
        f"relative to 80 um): {cut_dep}. {settings}",
        {"loss_240": loss240, "q_mAh_g": {"80": q80, "160": q160, "240": q240}},
    )
    res["zhang2023.thickness_80_eq_160"] = Measurement(
        f"{100 * d160:.1f} % lower at 160 um ({q160:.1f} vs {q80:.1f} mAh/g, C/3, 3.5 V)",
        bool(abs(d160) <= 0.05),
        f"160 um at 3.5 V: {why160}. Cut-off dependence: {cut_dep}. {settings}",
        {"loss_160": d160, "q_mAh_g": {"80": q80, "160": q160}},
    )
    if not math.isfinite(loss240):  # pragma: no cover - guarded by the status check
        raise RuntimeError("non-finite capacity")
    return res


CASE = Case(
    "zhang2023_thickness",
    "Zhang 2023 thickness study: 80 / 160 / 240 um NMC811 at C/3 (predicted)",
    CLAIMS,
    (),
    run,
    quick=True,
    figures=("zhang2023_thickness.png",),
)
