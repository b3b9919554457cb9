"""CLI commands of ``electrohet.analysis`` (registered by :mod:`electrohet.cli`).

``electrohet analyze rate FILE...``, ``electrohet analyze particles FILE`` and
``electrohet analyze optical STACK --masks MASKS`` each write a table (CSV), a
summary (JSON) and figures (PNG) into ``--out DIR``. Bad input raises
:class:`~electrohet.errors.DataError`, which the root CLI prints as one line.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from electrohet.errors import DataError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: brackets and units ([s], [nm]) are shown as written
)


def _pairs(spec: str | None, what: str) -> dict[str, str]:
    """Parse ``"time=Test Time (h),current=I"`` into a dict."""
    if not spec:
        return {}
    out = {}
    for item in spec.split(","):
        if "=" not in item:
            raise DataError(f"--{what}: expected key=value pairs separated by commas, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _write_json(path: Path, data: dict) -> None:
    from electrohet.outputs import write_json

    write_json(path, data)  # valid JSON: NaN/Infinity become null


def _agg():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _reader_kw(columns: str | None, units: str | None, discharge_positive: bool | None) -> dict:
    kw: dict = {}
    if columns:
        kw["columns"] = _pairs(columns, "columns")
    if units:
        kw["units"] = _pairs(units, "units")
    if discharge_positive is not None:
        kw["discharge_negative"] = not discharge_positive
    return kw


_FMT_HELP = (
    "auto (detected from the content), arbin, maccor, biologic, neware, basytec, novonix, csv."
)

#: The sign-convention option shared by the commands that read cycler files.
_DischargePositive = Annotated[
    bool | None,
    typer.Option(
        "--discharge-positive/--discharge-negative",
        help="Sign convention of the file's current (default: the format's).",
    ),
]


@app.command("cycles")
def cycles_cmd(
    files: Annotated[list[Path], typer.Argument(help="Cycler files (any supported format).")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("analysis_cycles"),
    fmt: Annotated[str, typer.Option("--format", help=_FMT_HELP)] = "auto",
    columns: Annotated[
        str | None, typer.Option(help="Column overrides, e.g. 'voltage=Ewe-Ece/V'.")
    ] = None,
    units: Annotated[str | None, typer.Option(help="Unit overrides, e.g. 'time=h'.")] = None,
    discharge_positive: _DischargePositive = None,
    gap_factor: Annotated[
        float,
        typer.Option(
            help="An interval longer than this many times the mean of its step's other "
            "intervals is reported as a logging gap (it is still counted)."
        ),
    ] = 20.0,
    integration: Annotated[
        str,
        typer.Option(
            help="file: the file's own capacity/energy columns where it has them (else the "
            "format's rule); trapezoid or right: integrate the current everywhere."
        ),
    ] = "file",
    sign: Annotated[
        str,
        typer.Option(
            help="auto: the format's current sign, checked against the data and flipped "
            "(with a warning) where they contradict it; discharge-positive or "
            "discharge-negative: fixed, contradictions only warned about."
        ),
    ] = "auto",
) -> None:
    """Per-cycle summary (capacity, energy, efficiencies, mean voltages) + dQ/dV, as CSV and PNG."""
    import warnings

    import pandas as pd

    from electrohet.analysis.cycler import CyclerDataWarning, read_cycler, step_table
    from electrohet.analysis.cycles import cycle_summary, incremental_capacity

    if integration not in ("file", "trapezoid", "right"):
        raise DataError(f"--integration must be file, trapezoid or right, got {integration!r}")
    if sign not in ("auto", "discharge-positive", "discharge-negative"):
        raise DataError(
            f"--sign must be auto, discharge-positive or discharge-negative, got {sign!r}"
        )
    if not gap_factor > 1:
        raise DataError(f"--gap-factor must be > 1, got {gap_factor!r}")
    kw = _reader_kw(columns, units, discharge_positive)
    kw.update(gap_factor=gap_factor, integration=integration)
    if sign != "auto":
        kw["sign"] = sign
    tables, issues = [], {}
    plt = _agg()
    fig_q, (ax_q, ax_ce) = plt.subplots(
        2, 1, figsize=(5, 5.5), sharex=True, constrained_layout=True
    )
    fig_d, ax_d = plt.subplots(figsize=(5, 4), constrained_layout=True)
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CyclerDataWarning)
            cd = read_cycler(f, fmt, **kw)
        st = step_table(cd)
        moved = st[st["kind"].isin(["charge", "discharge"])]["capacity"].abs().sum()
        if len(cd.data) < 2 or not moved > 0:
            raise DataError(
                f"{f}: {len(cd.data)} data row(s) and no charge or discharge capacity; "
                "a cycle summary needs at least one charge or discharge step of two rows"
            )
        cs = cycle_summary(st)
        cs.insert(0, "file", f.name)
        tables.append(cs)
        issues[str(f)] = {
            "format": cd.fmt,
            "integration": cd.integration,
            "values": cd.values,
            "units": cd.units,
            "steps_from_file": int((st["value_source"] == "file").sum()),
            "steps_integrated": int((st["value_source"] != "file").sum()),
            "excluded": cd.excluded,
            "issues": cd.warnings,
            # every correction or finding, machine-readable (kind, file data rows, text)
            "corrections": [
                {"kind": i.kind, "rows": list(i.rows) if i.rows else None, "message": i.message}
                for i in cd.issues
            ],
        }
        for msg in cd.warnings:
            typer.echo(f"warning: {msg}", err=True)
        ax_q.plot(cs["cycle_id"], cs["discharge_capacity"], "o-", label=f.name)
        ax_ce.plot(cs["cycle_id"], cs["coulombic_efficiency"], "o-", label=f.name)
        dis = st[(st["kind"] == "discharge") & (st["capacity"] > 0)]
        if len(dis):
            sid = int(dis.loc[dis["capacity"].idxmax(), "step_id"])
            try:
                dqdv, _ = incremental_capacity(cd, sid)
                ax_d.plot(dqdv["voltage"], dqdv["dqdv"], label=f"{f.name} step {sid}")
            except DataError as exc:
                typer.echo(f"note: {f}: no dQ/dV ({exc})", err=True)
    table = pd.concat(tables, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)  # only now: an error above leaves no folder
    table.to_csv(out / "cycles.csv", index=False)
    _write_json(out / "cycles_issues.json", issues)
    ax_q.set_ylabel("discharge capacity / Ah")
    ax_ce.set_ylabel("coulombic efficiency")
    ax_ce.set_xlabel("cycle")
    ax_q.legend(fontsize=7)
    fig_q.savefig(out / "cycles.png", dpi=120)
    ax_d.set_xlabel("voltage / V")
    ax_d.set_ylabel("dQ/dV / Ah V$^{-1}$")
    if ax_d.get_legend_handles_labels()[0]:
        ax_d.legend(fontsize=7)
    fig_d.savefig(out / "dqdv.png", dpi=120)
    plt.close(fig_q)
    plt.close(fig_d)
    typer.echo(f"{len(table)} cycles from {len(files)} file(s); written to {out}")


@app.command("rate")
def rate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Cycler files (one design, any number).")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("analysis_rate"),
    fmt: Annotated[str, typer.Option("--format", help=_FMT_HELP)] = "auto",
    columns: Annotated[
        str | None,
        typer.Option(help="CSV column map, e.g. 'time=t,current=I,voltage=U,step=Ns'."),
    ] = None,
    units: Annotated[str | None, typer.Option(help="CSV units, e.g. 'time=h,current=mA'.")] = None,
    nominal_capacity: Annotated[
        float | None, typer.Option(help="Nominal capacity (Ah) defining 1C.")
    ] = None,
    value: Annotated[str, typer.Option(help="energy (Yari) or capacity.")] = "energy",
    discharge_positive: _DischargePositive = None,
) -> None:
    """Discharge capacity/energy per rate and a Peukert fit with gamma and its CI."""
    import pandas as pd

    from electrohet.analysis.cycler import read_cycler, step_table
    from electrohet.analysis.rate_capability import fit_rate_table, rate_table

    if value not in ("energy", "capacity"):
        raise DataError(f"--value must be 'energy' or 'capacity', got {value!r}")
    kw = _reader_kw(columns, units, discharge_positive)
    tables = []
    excluded: dict[str, dict[str, int]] = {}
    for f in files:
        cd = read_cycler(f, fmt, **kw)
        st = step_table(cd)
        tab = rate_table(st, nominal_capacity=nominal_capacity)
        tables.append(tab)
        ex = {**cd.excluded, **tab.attrs["excluded"]}
        if ex:
            excluded[str(f)] = ex
    table = pd.concat(tables, ignore_index=True)
    table.attrs["source"] = ", ".join(str(f) for f in files)
    x = "c_rate" if nominal_capacity else "current"
    fit = fit_rate_table(table, value, x=x)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "rate_table.csv", index=False)
    summary = {k: v for k, v in asdict(fit).items() if k != "residuals"}
    summary.update({"value": value, "x": x, "files": [str(f) for f in files]})
    summary["excluded"] = excluded
    _write_json(out / "peukert.json", summary)
    plt = _agg()
    fig, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
    ax.loglog(table[x], table[value], "o", label="steps")
    xs = np.geomspace(table[x].min(), table[x].max(), 50)
    ax.loglog(xs, fit.predict(xs), "-", label=f"gamma = {fit.gamma:.3f} ± {fit.gamma_se:.3f}")
    ax.set_xlabel("C-rate" if nominal_capacity else "current / A")
    ax.set_ylabel("discharge energy / Wh" if value == "energy" else "discharge capacity / Ah")
    ax.legend()
    fig.savefig(out / "rate.png", dpi=120)
    plt.close(fig)
    typer.echo(
        f"alpha = {fit.alpha:.4f} ± {fit.alpha_se:.4f}, gamma = {fit.gamma:.4f} "
        f"(95 % CI {fit.gamma_ci[0]:.4f}-{fit.gamma_ci[1]:.4f}), n = {fit.n}; "
        f"written to {out}"
    )
    for f, ex in excluded.items():
        typer.echo(f"note: {f}: excluded {ex}", err=True)


@app.command("particles")
def particles_cmd(
    file: Annotated[Path, typer.Argument(help="Per-particle CSV: sample, ratio[, dol].")],
    expected_dol: Annotated[
        float, typer.Option(help="Expected DOL (fraction) after the final charge.")
    ] = 0.31,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("analysis_particles"),
    k: Annotated[float, typer.Option(help="Frame half-width in sigmas.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Calibration, Gaussian fits and diverging fractions of single-particle data."""
    from electrohet.analysis.particles import (
        analyze_samples,
        calibration_from_table,
        frame_for_dol,
        read_particles,
    )
    from electrohet.errors import ParameterError

    if not (math.isfinite(k) and 0.0 < k <= 10.0):
        raise ParameterError(
            f"k = {k!r} is outside the allowed range (0, 10] (frame half-width in sigmas)"
        )
    df = read_particles(file)
    cal = calibration_from_table(df)
    tab = analyze_samples(df, cal, expected_dol, k=k, rng=seed)
    out.mkdir(parents=True, exist_ok=True)
    tab.to_csv(out / "particles_summary.csv", index=False)
    cal_d = asdict(cal)
    _write_json(
        out / "calibration.json",
        {"calibration": cal_d, "expected_dol": expected_dol, "excluded": df.attrs["excluded"]},
    )
    fr = frame_for_dol(cal, expected_dol, k=k)
    plt = _agg()
    samples = list(tab["sample"])
    fig, axes = plt.subplots(
        len(samples), 1, figsize=(5, 1.8 * len(samples) + 0.6), squeeze=False, sharex=True
    )
    for ax, name, row in zip(axes[:, 0], samples, tab.itertuples(), strict=True):
        r = df.loc[df["sample"] == name, "ratio"]
        ax.hist(r, bins=60, density=True, color="0.4")
        ax.axvspan(fr.low, fr.high, color="tab:orange", alpha=0.25)
        ax.set_title(
            f"{name}: diverging {100 * row.diverging_fraction:.1f} % "
            f"({100 * row.diverging_ci_low:.1f}-{100 * row.diverging_ci_high:.1f})",
            fontsize=9,
        )
    axes[-1, 0].set_xlabel("I(Li)/I(Mn)")
    fig.tight_layout()
    fig.savefig(out / "histograms.png", dpi=120)
    plt.close(fig)
    for row in tab.itertuples():
        typer.echo(
            f"{row.sample}: n = {row.n}, DOL = {row.dol_mean:.3f}, diverging = "
            f"{100 * row.diverging_fraction:.1f} % (95 % CI {100 * row.diverging_ci_low:.1f}-"
            f"{100 * row.diverging_ci_high:.1f} %)"
        )
    if df.attrs["excluded"]:
        typer.echo(f"note: {file}: excluded {df.attrs['excluded']}", err=True)


@app.command("optical")
def optical_cmd(
    stack: Annotated[Path, typer.Argument(help="Image stack: multi-page TIFF or a folder.")],
    masks: Annotated[
        Path | None,
        typer.Option(help="Label image (TIFF/.npy); default: threshold + label segmentation."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("analysis_optical"),
    frame_interval: Annotated[float, typer.Option(help="Seconds between frames.")] = 1.0,
    times: Annotated[
        Path | None, typer.Option(help="Text file with one time (s) or SOC per frame.")
    ] = None,
    segments: Annotated[
        str | None,
        typer.Option(help="Frame ranges of (dis)charges, e.g. '0:100,100:200' (default: all)."),
    ] = None,
    spread_threshold: Annotated[
        float, typer.Option(help="Relative onset IQR above which a segment is asynchronous.")
    ] = 0.10,
    min_area: Annotated[int, typer.Option(help="Smallest particle (pixels) when segmenting.")] = 20,
) -> None:
    """Per-particle intensity traces, onsets and the synchronous/asynchronous verdict."""
    import pandas as pd

    from electrohet.analysis.optical import (
        analyze_traces,
        particle_traces,
        plot_traces,
        read_labels,
        read_stack,
        segment_particles,
    )

    st = read_stack(stack)
    lab = read_labels(masks) if masks else segment_particles(st, min_area=min_area)
    traces, ids = particle_traces(st, lab, source=str(masks or stack))
    if times is not None:
        if not times.is_file():
            raise DataError(f"{times}: file not found")
        x = np.loadtxt(times, dtype=float, ndmin=1)
        if x.size != st.shape[0]:
            raise DataError(f"{times}: {x.size} times for a stack of {st.shape[0]} frames")
        xlabel = "x (from --times)"
    else:
        if not frame_interval > 0:
            raise DataError(f"--frame-interval must be > 0, got {frame_interval}")
        x = np.arange(st.shape[0]) * frame_interval / 3600.0
        xlabel = "time / h"
    segs: list[tuple[str, slice]] = []
    if segments:
        for n, s in enumerate(segments.split(",")):
            try:
                a, b = (int(v) for v in s.split(":"))
            except ValueError as exc:
                raise DataError(f"--segments: cannot parse {s!r} (use start:stop)") from exc
            segs.append((f"segment {n + 1}", slice(a, b)))
    else:
        segs.append(("all frames", slice(0, st.shape[0])))
    out.mkdir(parents=True, exist_ok=True)
    tables, summary = [], []
    for n, (name, sl) in enumerate(segs):
        res = analyze_traces(
            traces[sl], x[sl], ids=ids, label=name, spread_threshold=spread_threshold
        )
        tables.append(res.table())
        summary.append(
            {
                "segment": name,
                "frames": [sl.start, sl.stop],
                "n_particles": int(ids.size),
                "n_unchanged": res.n_unchanged,
                "onset_iqr": res.onset_iqr,
                "onset_iqr_ci": res.onset_iqr_ci,
                "relative_spread": res.relative_spread,
                "spread_threshold": spread_threshold,
                "median_step_likeness": float(np.nanmedian(res.step_likeness)),
                "verdict": res.verdict,
                "verdict_confident": res.verdict_confident,
            }
        )
        fig = plot_traces(res, out / f"traces_{n + 1}.png", xlabel=xlabel)
        _agg().close(fig)
        typer.echo(
            f"{name}: {res.verdict} (onset IQR {res.onset_iqr:.3g} = "
            f"{100 * res.relative_spread:.0f} % of span), {ids.size} particles, "
            f"{res.n_unchanged} unchanged"
        )
    pd.concat(tables, ignore_index=True).to_csv(out / "optical_particles.csv", index=False)
    np.savetxt(out / "traces.csv", traces, delimiter=",", header=",".join(map(str, ids)))
    _write_json(out / "optical_summary.json", {"stack": str(stack), "segments": summary})
