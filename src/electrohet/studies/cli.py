"""Model commands of the CLI: ``simulate``, ``rate-study`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from electrohet.errors import SolverError


def register(app: typer.Typer) -> None:
    """Attach the model commands to the root CLI application."""
    app.command("simulate")(simulate)
    app.command("rate-study")(rate_study_cmd)
    app.command("demo")(demo)


def simulate(
    config: Path = typer.Argument(..., help="TOML file: cell, experiment, mesh, solver"),
    out: Path = typer.Option(Path("run.nc"), "--out", help="netCDF file for the results"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Run one experiment on one cell and save the results (netCDF)."""
    from electrohet.model import MeshOptions, Simulation, SolverOptions
    from electrohet.protocols import Experiment
    from electrohet.studies.config import build_cell, load_toml, parse_simulate_config
    from electrohet.studies.rate_study import _to_netcdf

    cfg = parse_simulate_config(load_toml(config), str(config))
    cell = build_cell(cfg)
    exp = Experiment(cfg.experiment.steps, repeat=cfg.experiment.repeat)
    sim = Simulation(
        cell,
        MeshOptions(cfg.mesh.points_per_domain, cfg.mesh.radial_points, cfg.mesh.surface),
        SolverOptions(rtol=cfg.solver.rtol, max_step=cfg.solver.max_step),
    )
    ds = sim.solve(exp, initial_soc=cfg.experiment.initial_soc, progress=not quiet)
    out.parent.mkdir(parents=True, exist_ok=True)
    _to_netcdf(ds, str(out))
    q = float(ds.capacity[-1]) * 0.1
    typer.echo(
        f"{cell.name}: {ds.sizes['time']} states, final voltage {float(ds.voltage[-1]):.4f} V, "
        f"net discharge {q:.4f} mAh/cm2 -> {out}"
    )
    if ds.attrs["status"] != "completed":
        raise SolverError(
            f"run stopped early ({ds.attrs['message']}); partial results saved to {out}"
        )


def rate_study_cmd(
    config: Path = typer.Argument(..., help="TOML file: [study] settings and [[designs]]"),
    out: Path = typer.Option(Path("rate-study"), "--out", help="output folder"),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Rate-capability study of one- and two-layer designs (Yari 2020 protocol)."""
    from electrohet.studies.config import load_toml, parse_study_config
    from electrohet.studies.rate_study import LayerDesign, StudySettings

    cfg = parse_study_config(load_toml(config), str(config))
    s = cfg.study
    settings = StudySettings(
        rates=s.rates,
        charge_rate=s.charge_rate,
        v_min=s.v_min,
        v_max=s.v_max,
        rest_minutes=s.rest_minutes,
        processes=s.processes,
        wiring=s.wiring,
        interface=s.interface,
        through_plane_limited=s.through_plane_limited,
        uncertainty=s.uncertainty,
    )
    designs = None
    if cfg.designs:
        designs = [
            LayerDesign(d.name, d.fc_bottom, d.fc_top, d.am_share_bottom) for d in cfg.designs
        ]
    _run_and_report(designs, settings, out, s.reference, s.label_rtol, quiet)


def demo(
    out: Path = typer.Option(Path("electrohet-demo"), "--out", help="output folder"),
    processes: int = typer.Option(0, "--processes", help="worker processes (0 = all cores)"),
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
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """The bilayer rate study of Yari 2020 on the built-in NMC622 defaults."""
    from electrohet.studies.rate_study import StudySettings

    settings = StudySettings(
        processes=processes or None,
        wiring=wiring,
        interface=interface,
        through_plane_limited=through_plane,
        uncertainty=uncertainty,
    )
    _run_and_report(None, settings, out, "single", 0.01, quiet)


def _run_and_report(
    designs, settings, out: Path, reference: str, label_rtol: float, quiet: bool
) -> None:
    import time

    import matplotlib.pyplot as plt

    from electrohet.plot import (
        plot_layer_utilization,
        plot_lithiation_profile,
        plot_voltage_capacity,
    )
    from electrohet.studies.rate_study import compact_table, rate_study

    t0 = time.perf_counter()
    study = rate_study(
        designs, settings, reference=reference, progress=not quiet, label_rtol=label_rtol
    )
    wall = time.perf_counter() - t0
    files = study.save(out)
    typer.echo(
        compact_table(study, f"Rate study, {len(study.table)} designs, {wall:.1f} s"), nl=False
    )
    for run in study.runs:
        fig = plot_voltage_capacity(run.datasets, [f"{r:g}C" for r in run.rates])
        fig.axes[0].set_title(f"design {run.design.name}")
        fig.savefig(out / f"voltage_{run.design.name.replace('/', '-')}.png", dpi=120)
        plt.close(fig)
        i1 = min(range(len(run.rates)), key=lambda i: abs(run.rates[i] - 1.0))
        fig = plot_lithiation_profile(run.datasets[i1])
        fig.axes[0].set_title(f"design {run.design.name}, 1C discharge")
        fig.savefig(out / f"profile_{run.design.name.replace('/', '-')}_1C.png", dpi=120)
        plt.close(fig)
    fig = plot_layer_utilization(study.table)
    fig.savefig(out / "layer_utilization.png", dpi=120)
    plt.close(fig)
    typer.echo(
        f"wrote {len(files)} files (full table rate_study.csv, netCDF runs) and figures to {out}/"
    )
