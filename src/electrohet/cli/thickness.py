"""``electrohet thickness-study``: specific capacity against electrode thickness.

Defaults reproduce the Zhang 2023 setup (Fig. S9): the NMC811 half cell of
:func:`~electrohet.studies.thickness.zhang2023_cell` at 80, 160 and 240 um, C/3, cut-offs
3.5, 3.2 and 3.0 V.  An optional TOML file sets the same values plus the cell and mesh::

    [thickness]
    thickness_um = [80, 160, 240]
    rates = ["C/3"]                # or numbers in C
    cutoffs = [3.5, 3.2, 3.0]      # V

    [cell]
    preset = "zhang2023"  # zhang2023 | zhang2023_full | chen2020_half | chen2020 | yari2020
    porosity = 0.25                # zhang2023 presets only
    particle_radius_um = 5.22
    conductivity = 0.18            # S/m
    tortuosity = 2.0               # omit for Bruggeman
    one_c_mAh_g = 280.0

    [mesh]
    points = 10                    # coarse finite volumes per electrode at 80 um
    radial = 10                    # coarse shells per particle
    refine = 2                     # fine mesh = refine x coarse
    convergence_tol = 0.005
    mesh_check = true

Command-line options override the file.  Ctrl-C / SIGTERM save the finished points to
``thickness_study_partial.csv`` and exit with 130 / 143.  Other presets are scaled in thickness by
:func:`~electrohet.studies.thickness.scaled_factory`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from electrohet.cli.options import scheduler_option
from electrohet.errors import ParameterError

RESULT_NAMES = (
    "thickness_study.csv",
    "thickness_study_partial.csv",
    "thickness_study.nc",
    "thickness_runs.nc",
    "thickness_study.png",
)


def thickness_study_cmd(
    config: Path | None = typer.Argument(
        None, help="optional TOML file ([thickness], [cell], [mesh])"
    ),
    thickness: str | None = typer.Option(
        None, "--thickness", help="positive-electrode thicknesses in um, e.g. 80,160,240"
    ),
    rates: str | None = typer.Option(None, "--rates", help="C-rates, e.g. C/3,1C"),
    cutoffs: str | None = typer.Option(
        None, "--cutoffs", help="cut-off voltages in V, e.g. 3.5,3.2,3.0"
    ),
    points: int | None = typer.Option(
        None, "--points", help="coarse finite volumes per electrode at 80 um"
    ),
    radial: int | None = typer.Option(None, "--radial", help="coarse radial shells per particle"),
    no_mesh_check: bool = typer.Option(False, "--no-mesh-check", help="fine mesh only"),
    out: Path = typer.Option(Path("thickness-study"), "--out", help="output folder"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace results in --out"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress lines"),
    processes: int = typer.Option(
        1,
        "--processes",
        help="worker processes of the local Dask cluster (0 = all cores, 1 = serial)",
    ),
    scheduler: str | None = scheduler_option(),
) -> None:
    """Specific capacity vs electrode thickness, rate and cut-off (Zhang 2023 Fig. S9 defaults)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from electrohet.interrupts import Interrupted, deferred_signals
    from electrohet.outputs import prepare_output_dir, write_text_atomic, write_with
    from electrohet.studies.config import (
        comma_floats,
        load_toml,
        parse_rate,
        parse_thickness_config,
        thickness_cell_factory,
    )
    from electrohet.studies.thickness import (
        ZHANG2023_CUTOFFS,
        ZHANG2023_RATES,
        ZHANG2023_THICKNESSES,
        ThicknessSettings,
        format_table,
        plot_study,
        save_study,
        thickness_study,
    )

    data = load_toml(config) if config is not None else {}
    cfg = parse_thickness_config(data, str(config))
    sw = cfg.thickness
    ths_um = (
        comma_floats(thickness, "--thickness")
        if thickness is not None
        else (sw.thickness_um or [t * 1e6 for t in ZHANG2023_THICKNESSES])
    )
    for t in ths_um:
        if not 0 < t <= 5000:
            raise ParameterError(f"thickness {t:g} um is outside the allowed range (0, 5000] um")
    if rates is not None:
        rs = [parse_rate(r) for r in rates.split(",") if r.strip()]
    elif sw.rates is not None:
        rs = [parse_rate(r) for r in sw.rates]
    else:
        rs = list(ZHANG2023_RATES)
    if not rs:
        raise ParameterError("--rates: no values given")
    cs = (
        comma_floats(cutoffs, "--cutoffs")
        if cutoffs is not None
        else (sw.cutoffs or list(ZHANG2023_CUTOFFS))
    )
    for v in cs:
        if not 1.0 <= v <= 5.0:
            raise ParameterError(f"cut-off {v:g} V is outside the allowed range [1, 5] V")
    m = cfg.mesh
    if points is not None and not 1 <= points <= 500:
        raise ParameterError(f"--points = {points} must lie in [1, 500]")
    if not 0 <= processes <= 256:
        raise ParameterError(f"--processes = {processes} must lie in [0, 256] (0 = all cores)")
    if radial is not None and not 3 <= radial <= 200:
        raise ParameterError(f"--radial = {radial} must lie in [3, 200]")
    settings = ThicknessSettings(
        points=points if points is not None else m.points,
        radial=radial if radial is not None else m.radial,
        refine=m.refine,
        convergence_tol=m.convergence_tol,
        mesh_check=m.mesh_check and not no_mesh_check,
        processes=processes or None,
        scheduler=scheduler,
    )
    factory = thickness_cell_factory(cfg.cell)
    lock = prepare_output_dir(out, RESULT_NAMES, overwrite=overwrite)
    try:
        try:
            study = thickness_study(
                factory,
                [t * 1e-6 for t in ths_um],
                rs,
                cs,
                settings,
                progress=None if quiet else lambda s: typer.echo(s),
            )
        except Interrupted as exc:
            if exc.partial is None:
                raise Interrupted(
                    f"{exc}; nothing had finished, nothing written", exc.exit_code
                ) from None
            table = exc.partial.table.assign(study_status="interrupted")
            with deferred_signals(reraise=False):
                path = write_text_atomic(
                    out / "thickness_study_partial.csv", table.to_csv(index=False)
                )
            raise Interrupted(f"{exc}; finished points saved to {path}", exc.exit_code) from None
        files = save_study(study, out)
        fig = plot_study(study)
        write_with(out / "thickness_study.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
    finally:
        lock.release()
    typer.echo(
        f"Thickness study, {cfg.cell.preset}, {len(study.table)} points, {study.wall_s:.1f} s "
        f"(capacity per g of active material; fine mesh; mesh d = (fine - coarse) / fine)"
    )
    typer.echo(format_table(study), nl=False)
    n_bad = int((study.table["status"] != "ok").sum())
    n_flag = int(study.table["mesh_flag"].sum())
    typer.echo(
        f"{n_bad} point(s) not ok, {n_flag} flagged as not mesh-converged "
        f"(> {100 * settings.convergence_tol:g} %); wrote {len(files) + 1} files to {out}/"
    )
