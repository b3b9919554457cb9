"""Files and text of a rate study: one netCDF per design and rate, the summary table as
CSV and as a terminal-width text table, the table of an interrupted study."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from electrohet.outputs import write_netcdf
from electrohet.studies.runner import DesignRuns

__all__ = ["compact_table", "partial_table", "run_file_name", "save_runs"]


def run_file_name(design_name: str, rate: float) -> str:
    """File name of one design's run at ``rate`` [C]: ``run_<design>_<rate>C.nc``."""
    return f"run_{design_name.replace('/', '-')}_{rate:g}C.nc"


def save_runs(runs: Sequence[DesignRuns], out_dir: str | os.PathLike) -> list[Path]:
    """One netCDF per design and rate in ``out_dir``, written atomically."""
    out = Path(out_dir)
    return [
        write_netcdf(ds, out / run_file_name(run.design.name, rate))
        for run in runs
        for rate, ds in zip(run.rates, run.datasets, strict=True)
    ]


def partial_table(runs: Sequence[DesignRuns]) -> pd.DataFrame:
    """One row per finished design and rate of an interrupted study (status
    ``"interrupted"``): energy [Wh/m^2] and capacity [Ah/m^2]."""
    rows = [
        {
            "design": run.design.name,
            "fc_bottom": run.design.fc_bottom,
            "fc_top": run.design.fc_top if run.design.fc_top is not None else run.design.fc_bottom,
            "rate_C": float(rate),
            "energy_Wh_m2": float(e),
            "capacity_Ah_m2": float(q),
            "status": "interrupted",
        }
        for run in runs
        for rate, e, q in zip(run.rates, run.energy, run.capacity, strict=True)
    ]
    cols = ["design", "fc_bottom", "fc_top", "rate_C", "energy_Wh_m2", "capacity_Ah_m2", "status"]
    return pd.DataFrame(rows, columns=cols)


def compact_table(study, title: str = "Rate study", width: int = 120) -> str:
    """The study's key columns as text that fits ``width`` terminal columns.

    design, heterogeneity factor, gamma, gamma - gamma_ref +- its spread, P(constructive),
    label and the paper's label, true utilisation of the bottom (collector) / top
    (separator) layer at 1C, the paper's inferred u2 and psi, and the true psi; the full
    table is ``rate_study.csv``.  A footer states the calibrated parameters.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = study.table
    tab = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    heads = ["design", "delta", "gamma", "dgamma", "sd", "P(c)", "label", "Yari"]
    heads += ["u_bot", "u_top", "u2inf", "psiinf", "psi"]
    for h in heads:
        tab.add_column(h, justify="left" if h in ("design", "label", "Yari") else "right")
    short = {
        "constructive": "constr.",
        "destructive": "destr.",
        "reference": "ref",
        "single_layer": "ref",
        "same": "same",
    }

    def f(v, fmt: str = ".3f") -> str:
        return "-" if v is None or not np.isfinite(v) else format(v, fmt)

    for r in t.to_dict("records"):
        tab.add_row(
            str(r["design"]),
            f(r["delta"], ".1f"),
            f(r["gamma"]),
            f(r["dgamma"], "+.4f"),
            f(r["dgamma_sd"], ".4f") if r["label"] != "reference" else "-",
            f(r["p_constructive"], ".2f"),
            short.get(str(r["label"]), str(r["label"])),
            short.get(str(r["paper_label"]), str(r["paper_label"])),
            f(r["u_bottom_1C"]),
            f(r["u_top_1C"]),
            f(r["u2_inferred_1C"]),
            f(r["psi_inferred_1C"]),
            f(r["psi_true_1C"]),
        )
    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, emoji=False)
    con.print(tab)
    st = study.settings
    mech = [
        name
        for name, on in (
            ("interface resistance", st.interface),
            ("particle wiring", st.wiring),
            ("through-plane-limited bulk sigma", st.through_plane_limited),
        )
        if on
    ]
    con.print(f"model: {', '.join(mech) or 'no carbon-dependent mechanism'}", soft_wrap=False)
    cal = study.calibration
    if cal is not None:
        p, sd = cal.params, cal.std_log10
        con.print(
            "single-layer calibration (MAP, 1 sd): r_int(2.5%) = "
            f"{p['interface_resistance_ref'] * 1e4:.3g} Ohm cm2 x/ {10 ** sd[0]:.2f}, "
            f"t = {p['interface_exponent']:.2f} +- {sd[1]:.2f}, "
            f"constriction = {p['constriction']:.3g} x/ {10 ** sd[2]:.2f}"
        )
        n = int(study.table.get("n_reruns", pd.Series([0])).max())
        con.print(
            f"P(c) = posterior P(gamma > gamma_ref) over {st.n_samples} draws ({n} distinct "
            "points): >= "
            f"{st.label_confidence:g} constructive, <= {1 - st.label_confidence:.2g} "
            "destructive, else same; u at 1C, bot = at the collector"
        )
    return buf.getvalue()
