"""TOML schemas of ``electrohet simulate``, ``rate-study`` and ``thickness-study``.

Validated with pydantic through :mod:`electrohet.config`; every bad value becomes one
:class:`~electrohet.errors.ConfigError` line naming the key, the value and the allowed
range.  Lab units only where the key says so (``thickness_um``, ``particle_radius_um``).

Example (``simulate``)::

    [cell]
    preset = "chen2020"            # chen2020 | chen2020_half | yari2020

    [[positive.layers]]            # optional: replaces the preset's positive layers
    thickness_um = 40.0            # listed from the current collector to the separator
    porosity = 0.30
    active_fraction = 0.62
    particle_radius_um = 5.0
    conductivity = 0.18            # S/m, or carbon_mass_fraction = 0.025 (percolation law)

    [experiment]
    steps = ["Discharge at 1C until 2.5 V", "Rest for 10 minutes"]
    repeat = 1

    [mesh]
    points_per_domain = 20
    radial_points = 20
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from electrohet.config import ConfigModel as _Strict
from electrohet.config import duplicates, format_validation, load_toml, parse_config
from electrohet.errors import ParameterError
from electrohet.studies.settings import RATE_MAX, V_MAX_RANGE, V_MIN_RANGE

__all__ = [
    "duplicates",
    "format_validation",
    "load_toml",
    "parse_simulate_config",
    "parse_study_config",
    "build_cell",
    "comma_floats",
    "parse_rate",
    "parse_thickness_config",
    "thickness_cell_factory",
]

PRESETS = ("chen2020", "chen2020_half", "yari2020")


class LayerConfig(_Strict):
    thickness_um: float = Field(gt=0, le=5000)
    porosity: float = Field(gt=0, lt=1)
    active_fraction: float = Field(gt=0, lt=1)
    cbd_fraction: float | None = Field(default=None, ge=0, lt=1)
    particle_radius_um: float = Field(gt=0, le=1000)
    conductivity: float | None = Field(default=None, gt=0)
    carbon_mass_fraction: float | None = Field(default=None, ge=0, lt=1)
    tortuosity: float | None = Field(default=None, ge=1)
    bruggeman: float = Field(default=0.5, ge=0, le=5)
    material: str | None = None
    n_points: int | None = Field(default=None, ge=1, le=1000)
    name: str = ""


class ElectrodeConfig(_Strict):
    layers: list[LayerConfig] = Field(min_length=1)
    theta_init: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _unique_names(self):
        # layer names are keys of the results (layer utilisation, loadings by name);
        # an unnamed layer i is "positive layer i"
        names = [lc.name or f"positive layer {i + 1}" for i, lc in enumerate(self.layers)]
        dup = duplicates(names)
        if dup:
            raise ValueError(
                f"layers: the name(s) {dup} are used by more than one layer; give each "
                "layer its own name"
            )
        return self


class CellConfig(_Strict):
    preset: str = "chen2020"
    v_min: float | None = Field(default=None, gt=0, lt=10)
    v_max: float | None = Field(default=None, gt=0, lt=10)
    temperature: float | None = Field(default=None, gt=150, lt=500)
    fc_bottom: float | None = Field(default=None, ge=0, lt=1)
    fc_top: float | None = Field(default=None, ge=0, lt=1)


class ExperimentConfig(_Strict):
    steps: list[str] = Field(min_length=1)
    repeat: int = Field(default=1, ge=1, le=100000)
    initial_soc: float | None = Field(default=None, ge=0, le=1)


class MeshConfig(_Strict):
    points_per_domain: int = Field(default=20, ge=1, le=2000)
    radial_points: int = Field(default=20, ge=3, le=500)
    surface: Literal["linear", "flux"] = "linear"


class SolverConfig(_Strict):
    rtol: float = Field(default=1e-5, gt=0, lt=0.1)
    max_step: float = Field(default=600.0, gt=0)


class SimulateConfig(_Strict):
    cell: CellConfig = CellConfig()
    positive: ElectrodeConfig | None = None
    experiment: ExperimentConfig
    mesh: MeshConfig = MeshConfig()
    solver: SolverConfig = SolverConfig()


class DesignConfig(_Strict):
    name: str
    fc_bottom: float = Field(gt=0, lt=1)
    fc_top: float | None = Field(default=None, gt=0, lt=1)
    am_share_bottom: float = Field(default=0.5, gt=0, lt=1)


class StudyConfig(_Strict):
    # the range of each rate is checked before their number (see _check_rates)
    rates: list[float] = Field(default=[0.5, 1.0, 2.0, 3.0])
    charge_rate: float = Field(default=0.5, gt=0, le=RATE_MAX)
    v_min: float = Field(default=3.0, ge=V_MIN_RANGE[0], le=V_MIN_RANGE[1])
    v_max: float = Field(default=4.3, ge=V_MAX_RANGE[0], le=V_MAX_RANGE[1])
    rest_minutes: float = Field(default=15.0, ge=0, le=24 * 60)
    processes: int | None = Field(default=None, ge=1, le=256)
    reference: str = "single"
    label_rtol: float = Field(default=0.01, ge=0, lt=1)
    wiring: bool = True
    interface: bool = True
    through_plane_limited: bool = False
    uncertainty: bool = True
    protocol: Literal["cccv", "cc"] = "cccv"
    formation_cycles: int = Field(default=2, ge=0, le=10)
    n_samples: int = Field(default=16, ge=0, le=10_000)

    @field_validator("rates")
    @classmethod
    def _check_rates(cls, rates: list[float]) -> list[float]:
        for r in rates:
            if not 0 < r <= RATE_MAX:
                raise ValueError(f"rate {r!r} C is outside the allowed range (0, {RATE_MAX:g}] C")
        if len(rates) < 3:
            raise ValueError(
                f"{len(rates)} rate(s) given; a Peukert fit needs at least 3 rates in "
                f"(0, {RATE_MAX:g}] C"
            )
        if len(set(rates)) != len(rates):
            raise ValueError("the rates must be distinct")
        return rates

    @model_validator(mode="after")
    def _check(self):
        if not self.v_min < self.v_max:
            raise ValueError(f"v_min = {self.v_min} V must be below v_max = {self.v_max} V")
        return self


class RateStudyConfig(_Strict):
    study: StudyConfig = StudyConfig()
    designs: list[DesignConfig] | None = None

    @model_validator(mode="after")
    def _unique_names(self):
        # design names are keys: file names (run_<name>_*.nc), table rows, the reference
        dup = duplicates([d.name for d in self.designs or []])
        if dup:
            raise ValueError(
                f"designs: the name(s) {dup} are used by more than one design; each "
                "[[designs]] entry needs its own name"
            )
        return self


#: the name other modules imported before it was made public
_format_validation = format_validation


def parse_simulate_config(data: dict, source: str = "config") -> SimulateConfig:
    cfg = parse_config(SimulateConfig, data, source)
    if cfg.cell.preset not in PRESETS:
        raise ParameterError(
            f"{source}: cell.preset = {cfg.cell.preset!r} is not a known parameter set; "
            f"allowed: {', '.join(PRESETS)}"
        )
    return cfg


def parse_study_config(data: dict, source: str = "config") -> RateStudyConfig:
    return parse_config(RateStudyConfig, data, source)


def build_cell(cfg: SimulateConfig):
    """The :class:`~electrohet.design.layer.Cell` described by a simulate config."""
    from electrohet.design import presets
    from electrohet.design.conductivity import YARI2020_PERCOLATION
    from electrohet.design.layer import Electrode, Layer
    from electrohet.materials import get_material

    c = cfg.cell
    if c.preset == "chen2020":
        cell = presets.chen2020_cell()
    elif c.preset == "chen2020_half":
        cell = presets.chen2020_half_cell()
    else:
        cell = presets.yari2020_cell(c.fc_bottom if c.fc_bottom is not None else 0.025, c.fc_top)
    if cfg.positive is not None:
        base = cell.positive.layers[0]
        layers = []
        for i, lc in enumerate(cfg.positive.layers):
            mat = get_material(lc.material) if lc.material else base.material
            perc = YARI2020_PERCOLATION if lc.conductivity is None else None
            layers.append(
                Layer(
                    material=mat,
                    thickness=lc.thickness_um * 1e-6,
                    porosity=lc.porosity,
                    active_fraction=lc.active_fraction,
                    cbd_fraction=lc.cbd_fraction,
                    particle_radius=lc.particle_radius_um * 1e-6,
                    conductivity=lc.conductivity,
                    carbon_mass_fraction=lc.carbon_mass_fraction,
                    percolation=perc,
                    tortuosity=lc.tortuosity,
                    bruggeman=lc.bruggeman,
                    n_points=lc.n_points,
                    name=lc.name or f"positive layer {i + 1}",
                )
            )
        theta = (
            cfg.positive.theta_init
            if cfg.positive.theta_init is not None
            else cell.positive.theta_init
        )
        cell = cell.with_(positive=Electrode(layers, theta))
    changes = {
        k: v
        for k, v in (("v_min", c.v_min), ("v_max", c.v_max), ("temperature", c.temperature))
        if v is not None
    }
    return cell.with_(**changes) if changes else cell


# ---- thickness-study (``electrohet thickness-study``, :mod:`electrohet.studies.thickness`)

THICKNESS_PRESETS = ("zhang2023", "zhang2023_full", "chen2020_half", "chen2020", "yari2020")


class ThicknessSweepConfig(_Strict):
    thickness_um: list[float] | None = Field(default=None, min_length=1)
    rates: list[float | str] | None = Field(default=None, min_length=1)
    cutoffs: list[float] | None = Field(default=None, min_length=1)


class ThicknessCellConfig(_Strict):
    preset: str = "zhang2023"
    porosity: float | None = Field(default=None, gt=0, lt=1)
    particle_radius_um: float | None = Field(default=None, gt=0, le=1000)
    conductivity: float | None = Field(default=None, gt=0)
    tortuosity: float | None = Field(default=None, ge=1)
    one_c_mAh_g: float | None = Field(default=None, gt=0)


class ThicknessMeshConfig(_Strict):
    points: int = Field(default=10, ge=1, le=500)
    radial: int = Field(default=10, ge=3, le=200)
    refine: int = Field(default=2, ge=1, le=8)
    convergence_tol: float = Field(default=0.005, gt=0, lt=1)
    mesh_check: bool = True


class ThicknessConfig(_Strict):
    thickness: ThicknessSweepConfig = ThicknessSweepConfig()
    cell: ThicknessCellConfig = ThicknessCellConfig()
    mesh: ThicknessMeshConfig = ThicknessMeshConfig()


_RATE = re.compile(
    r"^\s*(?:(?P<num>\d*\.?\d+(?:[eE][-+]?\d+)?)\s*)?(?P<c>C)?\s*(?:/\s*(?P<den>\d*\.?\d+))?\s*$"
)


def parse_rate(text: str | float) -> float:
    """A C-rate from ``"C/3"``, ``"0.5C"``, ``"2C"`` or a number [1/h]."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _RATE.match(str(text))
        if m is None or (m["num"] is None and m["c"] is None) or (m["den"] and not m["c"]):
            raise ParameterError(f"rate {text!r} is not a C-rate (e.g. C/3, 0.5C, 2)")
        den = float(m["den"] or 1.0)
        if den <= 0:
            raise ParameterError(f"rate {text!r}: the divisor must be > 0")
        value = float(m["num"] or 1.0) / den
    if not (0 < value <= 20):
        raise ParameterError(f"rate {text!r} = {value:g}C is outside the allowed range (0, 20] C")
    return value


def comma_floats(text: str, what: str) -> list[float]:
    """Numbers from a comma-separated option value (``"80,160,240"``); ``what`` names the
    option in the error."""
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"{what} {text!r}: expected comma-separated numbers") from None
    if not vals:
        raise ParameterError(f"{what}: no values given")
    return vals


def thickness_cell_factory(c: ThicknessCellConfig):
    """``thickness [m] -> Cell`` of a thickness config's ``[cell]`` section."""
    from electrohet.design import presets
    from electrohet.studies.thickness import scaled_factory, zhang2023_cell

    if c.preset not in THICKNESS_PRESETS:
        raise ParameterError(
            f"cell.preset = {c.preset!r} is unknown; allowed: {', '.join(THICKNESS_PRESETS)}"
        )
    if c.preset.startswith("zhang2023"):
        kw: dict = {"counter": "graphite" if c.preset == "zhang2023_full" else "lithium"}
        for key, name, scale in (
            ("porosity", "porosity", 1.0),
            ("particle_radius_um", "particle_radius", 1e-6),
            ("conductivity", "conductivity", 1.0),
            ("tortuosity", "tortuosity", 1.0),
            ("one_c_mAh_g", "one_c_mAh_g", 1.0),
        ):
            v = getattr(c, key)
            if v is not None:
                kw[name] = v * scale
        return lambda th: zhang2023_cell(th, **kw)
    given = [
        k
        for k in ("porosity", "particle_radius_um", "conductivity", "tortuosity", "one_c_mAh_g")
        if getattr(c, k) is not None
    ]
    if given:
        raise ParameterError(
            f"cell.{given[0]} applies to the zhang2023 presets only, not to {c.preset!r}"
        )
    cell = {
        "chen2020_half": presets.chen2020_half_cell,
        "chen2020": presets.chen2020_cell,
        "yari2020": lambda: presets.yari2020_cell(0.025),
    }[c.preset]()
    return scaled_factory(cell)


def parse_thickness_config(data: dict, source: str = "config") -> ThicknessConfig:
    """Validate a thickness-study config (a dict read from TOML; ``{}`` = defaults)."""
    return parse_config(ThicknessConfig, data, source)
