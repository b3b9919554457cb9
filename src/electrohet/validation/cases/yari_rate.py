"""Yari 2020 rate study: single-layer anchors (calibrated) and the six bilayers (predicted).

The rate study (:func:`electrohet.studies.rate_study.rate_study`) runs the paper's
protocol (§2.3: two C/10 formation cycles, then per rate a CC-CV charge and a CC-CV
discharge with 15 min rest; gamma from the CC discharge energy) on the frozen
single-layer calibration ``yari2020_single_layer``; the label probability of each
bilayer is the posterior probability over the calibration's importance samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from electrohet.validation.core import Case, Claim, Measurement

PAPER = "Yari 2020"
BILAYERS = {
    "2/3": "destructive",
    "1.5/3.5": "destructive",
    "1/4": "destructive",
    "3/2": "constructive",
    "3.5/1.5": "constructive",
    "4/1": "constructive",
}

CLAIMS = (
    Claim(
        "yari2020.gamma_single_4wt",
        PAPER,
        "§3.3.1, Fig. 3c",
        "gamma ... about 0.90 for the single layer with 4 wt% carbon",
        "about 0.90",
        "within 0.02 of 0.90",
    ),
    Claim(
        "yari2020.gamma_single_1.5wt",
        PAPER,
        "§3.3.1, Fig. 3c",
        "below 0.85 at 1.5 wt% carbon",
        "< 0.85",
        "gamma < 0.85",
    ),
    Claim(
        "yari2020.gamma_single_1wt",
        PAPER,
        "§3.3.1, Fig. 3c",
        "less than 0.7 at 1 wt% carbon",
        "< 0.70",
        "gamma < 0.70",
    ),
    *(
        Claim(
            f"yari2020.sign_{name}",
            PAPER,
            "§3.3.1, Fig. 3d, Table 1",
            f"bilayer {name} (bottom/top wt% carbon) is {label} (gamma "
            f"{'above' if label == 'constructive' else 'below'} the single layer's)",
            label,
            "P(constructive) >= 0.9 for constructive, <= 0.1 for destructive "
            "(posterior over the calibration's samples)",
        )
        for name, label in BILAYERS.items()
    ),
    Claim(
        "yari2020.destructive_drop_20pct",
        PAPER,
        "§4 (conclusions)",
        "a 20% decline in the rate-capability coefficient of the bilayer with a "
        "carbon-poor layer in vicinity of the current collector relative to a single layer",
        "dgamma / gamma_single = -20 % (1/4)",
        "1/4: relative gamma change within -10 % to -30 %",
    ),
    Claim(
        "yari2020.psi_1_4",
        PAPER,
        "§3.3.2, Fig. 4",
        "in the 1/4 bilayer at 1C the top layer is used about 1.4 times as much as the bottom",
        "u_top / u_bottom ~ 1.4",
        "u_top / u_bottom at 1C within 1.2-1.6 (true per-layer utilisation)",
    ),
)


def run(quick: bool, out: Path) -> dict[str, Measurement]:
    """Run the study.

    Full: the seven designs, every posterior sample of the calibration (<= 200).
    Quick: the single layer, 1/4 and 4/1 at the MAP only (no samples; the labels of
    those two then come from the sign of dgamma with a 1 % tolerance, the other four
    bilayers are "not run").
    """
    from electrohet.calibrations.yari2020 import from_frozen
    from electrohet.studies.rate_study import (
        LayerDesign,
        StudySettings,
        rate_study,
        yari2020_designs,
    )

    cal = from_frozen("yari2020_single_layer")
    designs = yari2020_designs()
    if quick:
        # the single layer, the two extreme bilayers and the 1.5 wt% anchor
        designs = [d for d in designs if d.name in ("single", "1/4", "4/1")]
        designs.append(LayerDesign("single 1.5%", 0.015))
        st = StudySettings(processes=2, n_samples=0, uncertainty=False)
    else:
        st = StudySettings(processes=2, n_samples=min(200, cal.samples.shape[0]))
    study = rate_study(designs, settings=st, calibration=cal)
    t = study.table.set_index("design")
    t.to_csv(out / "yari2020_rate_study.csv")
    res: dict[str, Measurement] = {}
    singles = {fc: r for fc, r in study.standalone.items()}
    from electrohet.studies.rate_study import gamma_of_energies

    def g_single(fc: float) -> float:
        r = singles[fc]
        return gamma_of_energies(r.rates, r.energy)

    for cid, fc, ok in (
        ("yari2020.gamma_single_4wt", 0.04, lambda g: abs(g - 0.90) <= 0.02),
        ("yari2020.gamma_single_1.5wt", 0.015, lambda g: g < 0.85),
        ("yari2020.gamma_single_1wt", 0.01, lambda g: g < 0.70),
    ):
        g = g_single(fc)
        res[cid] = Measurement(f"{g:.3f}", bool(ok(g)), "at the calibration's MAP", g)
    ess = cal.effective_sample_size
    for name, label in BILAYERS.items():
        if name not in t.index:
            res[f"yari2020.sign_{name}"] = Measurement(None, None, "not in the quick set")
            continue
        row = t.loc[name]
        p = float(row["p_constructive"])
        dg, sd = float(row["dgamma"]), float(row["dgamma_sd"])
        if not np.isfinite(p):  # quick: no posterior samples
            agrees = str(row["label"]) == label
        elif label == "constructive":
            agrees = bool(p >= 0.9)
        else:
            agrees = bool(p <= 0.1)
        res[f"yari2020.sign_{name}"] = Measurement(
            f"{row['label']} (P(c) = {p:.2f}; dgamma {dg:+.4f} +- {sd:.4f})",
            agrees,
            f"{int(row.get('n_reruns', 0))} distinct posterior points rerun for "
            f"{st.n_samples} draws (ESS of the calibration {ess:.0f}); nominal dgamma "
            "at the MAP",
            {"p_constructive": p, "dgamma": dg, "dgamma_sd": sd},
        )
    rel = float(t.loc["1/4", "dgamma"] / t.loc["single", "gamma"])
    res["yari2020.destructive_drop_20pct"] = Measurement(
        f"{100 * rel:+.1f} %", bool(-0.30 <= rel <= -0.10), "at the MAP", rel
    )
    ratio = float(t.loc["1/4", "u_top_1C"] / t.loc["1/4", "u_bottom_1C"])
    res["yari2020.psi_1_4"] = Measurement(
        f"{ratio:.2f}",
        bool(1.2 <= ratio <= 1.6),
        f"u_bottom {float(t.loc['1/4', 'u_bottom_1C']):.3f}, "
        f"u_top {float(t.loc['1/4', 'u_top_1C']):.3f} (1C, CC step)",
        ratio,
    )
    _plot(study, out)
    return res


def _plot(study, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = study.table
    lay = t[t.design.isin(list(BILAYERS))]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    x = np.arange(len(lay))
    ax.bar(
        x,
        lay.dgamma,
        yerr=lay.dgamma_sd,
        color=["tab:blue" if BILAYERS[d] == "constructive" else "tab:red" for d in lay.design],
    )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, lay.design)
    ax.set_ylabel("gamma - gamma_single")
    ax.set_title("Yari 2020 bilayers (colour = paper's label)")
    fig.tight_layout()
    fig.savefig(out / "yari2020_bilayers.png", dpi=120)
    plt.close(fig)


CASE = Case(
    "yari2020_rate",
    "Yari 2020 rate capability: single layers (calibrated), bilayers (predicted)",
    CLAIMS,
    (
        "calibration:yari2020_single_layer",
        "default:yari_cccv_protocol",
        "default:percolation_threshold",
    ),
    run,
    quick=True,
    figures=("yari2020_bilayers.png",),
)
