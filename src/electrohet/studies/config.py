"""TOML configuration of ``electrohet simulate`` and ``electrohet rate-study``.

Validated with pydantic; every bad value becomes one :class:`~electrohet.errors.ConfigError`
line naming the key, the value and the allowed range.  Lab units only where the key
says so (``thickness_um``, ``particle_radius_um``).

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

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from electrohet.errors import ConfigError, ParameterError

PRESETS = ("chen2020", "chen2020_half", "yari2020")

# Allowed ranges of the rate study (NMC622 vs Li, Yari 2020 window 3.0-4.3 V): a
# discharge cut-off between 2.0 and 4.0 V, a charge cut-off between 3.6 V (below it the
# cathode is barely charged) and 4.5 V (above it the NMC622 OCP and electrolyte are
# outside their validated range), C-rates up to 20C.
V_MIN_RANGE = (2.0, 4.0)
V_MAX_RANGE = (3.6, 4.5)
RATE_MAX = 20.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


def duplicates(names: list[str]) -> list[str]:
    """Names that occur more than once, in order of first repetition."""
    seen: set[str] = set()
    dup: list[str] = []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    return dup


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


def format_validation(exc: ValidationError, source: str) -> str:
    """The first error of a pydantic validation as one line naming the key and value."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    val = err.get("input")
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if err["type"] == "missing":
        return f"{source}: missing key '{key}'"
    msg = msg.removeprefix("Value error, ")
    if not key:  # a whole-section check: its message names the keys
        return f"{source}: {msg}"
    if isinstance(val, dict):  # a check of a table: its message names the keys
        return f"{source}: [{key}] {msg}"
    return f"{source}: {key} = {val!r}: {msg}"


#: the name other modules imported before it was made public
_format_validation = format_validation


def load_toml(path: str | Path) -> dict:
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config {str(p)!r} is a folder, not a TOML file")
    if not p.exists():
        raise ConfigError(f"config file {str(p)!r} not found")
    if not p.is_file():
        raise ConfigError(f"config {str(p)!r} is not a regular file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at position "
            f"{exc.start}); TOML configs must be UTF-8 text"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{p}: contains NUL bytes - a binary file, not a TOML config")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc


def parse_simulate_config(data: dict, source: str = "config") -> SimulateConfig:
    try:
        cfg = SimulateConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation(exc, source)) from None
    if cfg.cell.preset not in PRESETS:
        raise ParameterError(
            f"{source}: cell.preset = {cfg.cell.preset!r} is not a known parameter set; "
            f"allowed: {', '.join(PRESETS)}"
        )
    return cfg


def parse_study_config(data: dict, source: str = "config") -> RateStudyConfig:
    try:
        return RateStudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation(exc, source)) from None


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
