"""Rate-study commands of the CLI: ``rate-study`` (your designs from a TOML file) and
``demo`` (the Yari 2020 bilayers on the defaults).

Both check the output folder before computing (see :mod:`electrohet.outputs`), run
their designs on the sweep cluster (:mod:`electrohet.sweeps`), and on Ctrl-C / SIGTERM
save the finished designs (``rate_study_partial.csv`` and their netCDF runs, status
``"interrupted"``), stop the workers and exit with 130 / 143.
"""

from __future__ import annotations

from pathlib import Path

import typer

from electrohet.cli.options import overwrite_dir_option, scheduler_option
from electrohet.errors import ParameterError

# files whose presence means a rate-study folder already holds results
STUDY_RESULT_NAMES = ("rate_study.csv", "rate_study_partial.csv", "run_*.nc")


def register(app: typer.Typer) -> None:
    """Attach ``rate-study`` and ``demo`` to the root CLI application."""
    app.command("rate-study")(rate_study_cmd)
    app.command("demo")(demo)


def rate_study_cmd(
    config: Path = typer.Argument(..., help="TOML file: [study] settings and [[designs]]"),
    out: Path = typer.Option(Path("rate-study"), "--out", help="output folder"),
    overwrite: bool = overwrite_dir_option(),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    scheduler: str | None = scheduler_option(),
) -> None:
    """Rate-capability study of one- and two-layer designs (Yari 2020 protocol)."""
    from electrohet.design.yari2020 import LayerDesign
    from electrohet.studies.config import load_toml, parse_study_config
    from electrohet.studies.settings import StudySettings

    cfg = parse_study_config(load_toml(config), str(config))
    s = cfg.study
    settings = StudySettings(
        rates=s.rates,
        charge_rate=s.charge_rate,
        v_min=s.v_min,
        v_max=s.v_max,
        rest_minutes=s.rest_minutes,
        processes=s.processes,
        scheduler=scheduler,
        wiring=s.wiring,
        interface=s.interface,
        through_plane_limited=s.through_plane_limited,
        uncertainty=s.uncertainty,
        protocol=s.protocol,
        formation_cycles=s.formation_cycles,
        n_samples=s.n_samples,
    )
    designs = None
    if cfg.designs:
        designs = [
            LayerDesign(d.name, d.fc_bottom, d.fc_top, d.am_share_bottom) for d in cfg.designs
        ]
    _run_and_report(
        designs, settings, out, s.reference, s.label_rtol, quiet, overwrite, inputs=[config]
    )


def demo(
    out: Path = typer.Option(Path("electrohet-demo"), "--out", help="output folder"),
    processes: int = typer.Option(
        0, "--processes", help="worker processes of the local Dask cluster (0 = all cores)"
    ),
    scheduler: str | None = scheduler_option(),
    wiring: bool = typer.Option(
        True, "--wiring/--no-wiring", help="poorly wired particle share from carbon fraction"
    ),
    interface: bool = typer.Option(
        True,
        "--interface/--no-interface",
        help="coating/collector contact resistance from the bottom layer's carbon",
    ),
    through_plane: bool = typer.Option(
        False, "--through-plane-limited", help="older model: carbon only in the bulk sigma"
    ),
    uncertainty: bool = typer.Option(
        True, "--uncertainty/--no-uncertainty", help="label probabilities from the calibration"
    ),
    samples: int = typer.Option(
        16,
        "--samples",
        help="posterior draws rerun for P(constructive) (the scoreboard uses 200)",
    ),
    overwrite: bool = overwrite_dir_option(),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """The bilayer rate study of Yari 2020 on the built-in NMC622 defaults."""
    from electrohet.studies.settings import StudySettings

    if processes < 0:
        raise ParameterError(f"--processes = {processes} must be >= 0 (0 = all cores)")
    settings = StudySettings(
        processes=processes or None,
        scheduler=scheduler,
        wiring=wiring,
        interface=interface,
        through_plane_limited=through_plane,
        uncertainty=uncertainty,
        n_samples=samples,
    )
    _run_and_report(None, settings, out, "single", 0.01, quiet, overwrite)


def _save_partial(partial, out: Path, code: int, n_designs: int):
    """Write the finished runs of an interrupted study and raise :class:`Interrupted`."""
    from electrohet.interrupts import Interrupted, deferred_signals
    from electrohet.outputs import write_text_atomic
    from electrohet.studies.report import partial_table, save_runs
    from electrohet.sweeps import finished

    runs = finished(partial or [])
    table = partial_table(runs)
    with deferred_signals(reraise=False):
        for run in runs:
            for ds in run.datasets:
                ds.attrs["study_status"] = "interrupted"
        save_runs(runs, out)
        path = write_text_atomic(out / "rate_study_partial.csv", table.to_csv(index=False))
    # the jobs are the designs, then standalone single layers the study adds
    jobs = list(partial or [])
    n_done = len(finished(jobs[:n_designs]))
    extra = len(jobs) - n_designs
    more = (
        f" (and {len(finished(jobs[n_designs:]))} of {extra} standalone single-layer runs)"
        if extra > 0
        else ""
    )
    raise Interrupted(
        f"{n_done} of {n_designs} designs had finished{more}; saved to {path} (status "
        "'interrupted') and their netCDF files; workers stopped",
        code,
    )


def _run_and_report(
    designs,
    settings,
    out: Path,
    reference: str,
    label_rtol: float,
    quiet: bool,
    overwrite: bool = False,
    inputs: tuple | list = (),
) -> None:
    import time

    from electrohet.design.yari2020 import yari2020_designs
    from electrohet.interrupts import Interrupted
    from electrohet.outputs import output_dir
    from electrohet.studies.rate_study import rate_study

    n_designs = len(designs) if designs else len(yari2020_designs())
    # the lock is removed and an empty new folder too on every exit path
    with output_dir(out, STUDY_RESULT_NAMES, overwrite, inputs):
        t0 = time.perf_counter()
        try:
            study = rate_study(
                designs, settings, reference=reference, progress=not quiet, label_rtol=label_rtol
            )
        except Interrupted as exc:
            _save_partial(exc.partial, out, exc.exit_code, n_designs)
        wall = time.perf_counter() - t0
        files = study.save(out)
        _report(study, settings, wall, out, files)


def _report(study, settings, wall: float, out: Path, files) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from electrohet.outputs import write_with
    from electrohet.plot import (
        plot_layer_utilization,
        plot_lithiation_profile,
        plot_voltage_capacity,
    )
    from electrohet.studies.report import compact_table

    t = study.table
    typer.echo(compact_table(study, f"Rate study, {len(t)} designs, {wall:.1f} s"), nl=False)

    def _savefig(fig, name: str) -> None:
        write_with(out / name, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)

    for run in study.runs:
        safe = run.design.name.replace("/", "-")
        fig = plot_voltage_capacity(run.datasets, [f"{r:g}C" for r in run.rates])
        fig.axes[0].set_title(f"design {run.design.name}")
        _savefig(fig, f"voltage_{safe}.png")
        i1 = min(range(len(run.rates)), key=lambda i: abs(run.rates[i] - 1.0))
        fig = plot_lithiation_profile(run.datasets[i1])
        fig.axes[0].set_title(f"design {run.design.name}, 1C discharge")
        _savefig(fig, f"profile_{safe}_1C.png")
    _savefig(plot_layer_utilization(t), "layer_utilization.png")
    typer.echo(
        f"wrote {len(files)} files (full table rate_study.csv, netCDF runs) and figures to {out}/"
    )
