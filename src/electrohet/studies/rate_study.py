"""Rate-capability studies of layered electrodes (Yari 2020 bilayers and your own).

For every design: one CCCV charge from the discharged state (CC at the charge rate to
v_max, CV until C/20, rest), then from that charged state a CC discharge at each rate
(after the rest).  Yari 2020 recharges before every rate; starting each discharge from
the same CCCV-charged state is equivalent up to the C/20 tail of the CV step and
halves the work.  Each design is independent, so designs run in parallel on a Dask
cluster (:mod:`electrohet.sweeps`).

Per design the study reports the discharge energy and capacity at every rate, the
Peukert fit (docs/physics.md §4.1: E = beta I^-alpha) with standard errors, gamma = 2^-alpha,
the *true* per-layer utilisation from the model, the paper's *inferred* u2 and psi
(eqs. 7-8, from standalone single-layer runs of each layer's formulation at the same
total loading), and a constructive / destructive / same label against the single layer.

This module orchestrates a study (:func:`rate_study`, :class:`RateStudy`); the work is
done by modules of one job each, whose names it re-exports:

* :mod:`electrohet.design.yari2020` - the designs (:class:`LayerDesign`, the catalogue);
* :mod:`electrohet.studies.settings` - :class:`StudySettings` and its groups;
* :mod:`electrohet.studies.cells` - the cell of a design under the mechanisms;
* :mod:`electrohet.studies.runner` - the rate test of every design on the cluster;
* :mod:`electrohet.studies.statistics` - gamma, labels, the summary table;
* :mod:`electrohet.studies.report` - netCDF/CSV files and the text table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from electrohet.calibrations.yari2020 import Calibration, from_frozen
from electrohet.design.layer import Cell
from electrohet.design.yari2020 import LayerDesign, yari2020_designs
from electrohet.errors import ParameterError
from electrohet.outputs import write_text_atomic
from electrohet.studies.cells import yari2020_cell_factory
from electrohet.studies.report import compact_table, run_file_name, save_runs
from electrohet.studies.runner import (
    DesignRuns,
    charge_steps,
    discharge_steps,
    formation_steps,
    run_designs,
)
from electrohet.studies.settings import StudySettings
from electrohet.studies.statistics import (
    gamma_of_energies,
    label_design,
    label_probability,
    summary_table,
)

__all__ = [
    "DesignRuns",
    "LayerDesign",
    "RateStudy",
    "StudySettings",
    "charge_steps",
    "compact_table",
    "discharge_steps",
    "formation_steps",
    "gamma_of_energies",
    "label_design",
    "label_probability",
    "rate_study",
    "run_designs",
    "run_file_name",
    "save_runs",
    "summary_table",
    "yari2020_cell_factory",
    "yari2020_designs",
]


def __getattr__(name: str):
    # YARI2020_CALIBRATION: the parameters of the frozen single-layer calibration
    # (``electrohet/calibrations/yari2020_single_layer.json``), read on first use
    if name == "YARI2020_CALIBRATION":
        return from_frozen("yari2020_single_layer").params
    raise AttributeError(name)


@dataclass
class RateStudy:
    """Results of :func:`rate_study`: the summary table and every run."""

    table: pd.DataFrame
    runs: list[DesignRuns]
    standalone: dict[float, DesignRuns]
    settings: StudySettings
    calibration: Calibration | None = None

    def save(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write ``rate_study.csv`` and one netCDF per design and rate into ``out_dir``
        (each file atomically, see :mod:`electrohet.outputs`)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv = write_text_atomic(out / "rate_study.csv", self.table.to_csv(index=False))
        return [csv, *save_runs(self.runs, out)]


def rate_study(
    designs: Sequence[LayerDesign] | None = None,
    settings: StudySettings | None = None,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell] = yari2020_cell_factory,
    reference: str = "single",
    progress: bool = False,
    label_rtol: float = 0.01,
    calibration: Calibration | None = None,
) -> RateStudy:
    """Run the bilayer rate study and build its summary table.

    Parameters
    ----------
    designs
        Designs to run (default: Yari 2020 Table 1).  One must be named ``reference``.
    settings
        :class:`StudySettings`.
    cell_factory
        Builds the cell of a design.
    reference
        Name of the homogeneous reference design.
    label_rtol
        Minimum relative gamma difference for a constructive/destructive label when
        ``settings.uncertainty`` is off.
    calibration
        Calibrated parameters and covariance whose uncertainty is propagated to the
        labels (default: the frozen ``yari2020_single_layer`` calibration).  Its
        parameters are used for the nominal runs too, wherever ``settings`` leaves them
        ``None``; its posterior samples (``settings.n_samples`` resampled draws) are rerun for
        the label probability.
    """
    designs = list(designs or yari2020_designs())
    settings = settings or StudySettings()
    names = [d.name for d in designs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        # names are keys: run files, table rows, the reference
        raise ParameterError(
            f"design name(s) {dup} used by more than one design; names must be unique"
        )
    if reference not in names:
        raise ParameterError(f"reference design {reference!r} not among the designs {names}")
    # standalone single layers of every formulation used in a layer (Yari's Q1, Q2);
    # a single-layer design of the same formulation is reused
    fcs = sorted(
        {d.fc_bottom for d in designs} | {d.fc_top for d in designs if d.fc_top is not None}
    )
    singles = {d.fc_bottom: i for i, d in enumerate(designs) if not d.layered}
    extra = [fc for fc in fcs if fc not in singles]
    standalone_designs = [LayerDesign(f"standalone {100 * fc:g}%", fc) for fc in extra]
    calibration = calibration or from_frozen("yari2020_single_layer")
    # the mechanisms switched on carry calibrated parameters; a value given explicitly
    # in ``settings`` is kept, the others come from ``calibration`` (nominal and samples)
    active = set()
    if settings.interface:
        active |= {"interface_resistance_ref", "interface_exponent"}
    if settings.wiring:
        active.add("constriction")
    free = [k for k in sorted(active) if getattr(settings, k) is None]
    settings = replace(settings, **{k: calibration.params[k] for k in free})
    use_cal = (
        settings.uncertainty
        and not settings.through_plane_limited
        and bool(free)
        and settings.n_samples > 0
        and calibration.samples.shape[0] > 0
    )
    variants: list[dict] = []
    sample_w = np.zeros(0)
    if use_cal:
        sets, sample_w = calibration.sample_params(settings.n_samples)
        variants = [{k: v for k, v in ps.items() if k in free} for ps in sets]
    runs_all = run_designs(
        designs + standalone_designs,
        settings,
        cell_factory,
        progress,
        variants=variants,
        n_variant_designs=len(designs),
    )
    runs = runs_all[: len(designs)]
    standalone = {fc: runs[i] for fc, i in singles.items()}
    standalone.update(zip(extra, runs_all[len(designs) :], strict=True))

    table = summary_table(runs, standalone, settings, reference, label_rtol, sample_w)
    return RateStudy(table, runs, standalone, settings, calibration if variants else None)
