"""Read an aging run from a TOML configuration (``electrohet age CONFIG.toml``).

Validated with pydantic through :mod:`electrohet.config`, like every TOML config: an
unknown key, a value of the wrong type (e.g. ``n_cycles = "ten"``) or out of range is
one :class:`~electrohet.errors.ConfigError` line naming the key and the value.

Sections: ``[cell]`` (``preset`` = ``"yari_lto_nmc622"`` with ``fc_bottom``,
``fc_top``, ``n_radius``, ``conduction``, ``wiring``; or ``"nmc532"`` with
``n_radius``, ``isolated_fraction``), ``[protocol]`` (``cycle`` list of steps,
``n_cycles``, optional ``checkup`` and ``checkup_every``, ``formation`` and
``formation_cycles``), ``[mechanisms]`` (``calibration = "yari"``,
``"yari_through_plane"``, ``"kroeger"`` or ``"default"``, then
overrides in ``[mechanisms.cei]``, ``[mechanisms.cracking]``, ``[mechanisms.contact]``,
``[mechanisms.sei]``),
``[mesh]`` (``points_per_domain``, ``radial_points``), ``[jump]`` (``enabled``,
``rtol``, ``max_jump``, ``order``, ``stop_at_isolation``) and ``snapshot_cycles`` (top
level).
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, create_model

from electrohet.config import StrictConfigModel as _Strict
from electrohet.config import load_toml, parse_config
from electrohet.errors import ConfigError

CALIBRATIONS = ("yari", "yari_through_plane", "kroeger", "default")


class AgingCellConfig(_Strict):
    preset: Literal["yari_lto_nmc622", "nmc532"] = "yari_lto_nmc622"
    fc_bottom: float | None = Field(default=None, gt=0, lt=1)
    fc_top: float | None = Field(default=None, gt=0, lt=1)
    n_radius: int | None = Field(default=None, ge=1, le=50)
    isolated_fraction: float | None = Field(default=None, ge=0, lt=1)
    conduction: str | None = None
    wiring: bool | None = None


class AgingProtocolConfig(_Strict):
    cycle: list[str] = Field(min_length=1)
    n_cycles: int = Field(ge=1, le=10**9)
    checkup: list[str] | None = None
    checkup_every: int = Field(default=0, ge=0)
    formation: list[str] | None = None
    formation_cycles: int | None = Field(default=None, ge=0, le=1000)


class AgingMeshConfig(_Strict):
    points_per_domain: int = Field(default=20, ge=1, le=2000)
    radial_points: int = Field(default=20, ge=3, le=500)


class AgingJumpConfig(_Strict):
    enabled: bool = True
    rtol: float = Field(default=0.03, gt=0, le=1)
    max_jump: int = Field(default=50, ge=1)
    order: Literal[1, 2] = 2
    stop_at_isolation: bool = True


@cache
def _overrides_model(cls: type) -> type[BaseModel]:
    """A pydantic model of optional overrides of the fields of dataclass ``cls`` (types
    from its annotations; ranges are checked by the dataclass itself)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: (hints[f.name] | None, None) for f in dataclasses.fields(cls) if f.init}
    return create_model(f"{cls.__name__}Overrides", __base__=_Strict, **fields)  # type: ignore[call-overload]


def _mechanisms_model() -> type[BaseModel]:
    from electrohet.aging.mechanisms import CEIGrowth, ContactLoss, Cracking, SEIGrowth

    return create_model(
        "AgingMechanismsConfig",
        __base__=_Strict,
        calibration=(Literal[CALIBRATIONS], "yari"),  # type: ignore[valid-type]
        cei=(_overrides_model(CEIGrowth), None),
        cracking=(_overrides_model(Cracking), None),
        contact=(_overrides_model(ContactLoss), None),
        sei=(_overrides_model(SEIGrowth), None),
    )


@cache
def aging_config_model() -> type[BaseModel]:
    """The pydantic schema of an aging TOML config."""
    return create_model(
        "AgingConfig",
        __base__=_Strict,
        cell=(AgingCellConfig, AgingCellConfig()),
        protocol=(AgingProtocolConfig, ...),
        mechanisms=(_mechanisms_model() | None, None),
        mesh=(AgingMeshConfig, AgingMeshConfig()),
        jump=(AgingJumpConfig, AgingJumpConfig()),
        snapshot_cycles=(list[int], []),
    )


def parse_aging_config(data: dict, source: str = "config") -> BaseModel:
    """Validate an aging config (a dict read from TOML).

    Raises
    ------
    ConfigError
        One line naming the key and the value (see
        :func:`electrohet.config.format_validation`).
    """
    return parse_config(aging_config_model(), data, source)


def _set(model: BaseModel | None) -> dict:
    """The keys given in a config section (``None`` values left out)."""
    if model is None:
        return {}
    return {k: v for k, v in model.model_dump(exclude_unset=True).items() if v is not None}


def load_aging_config(path: str | Path):
    """Return an :class:`~electrohet.aging.driver.AgingRun` built from ``path``.

    Raises
    ------
    ConfigError
        The file is missing, not TOML or does not validate (one line naming the key).
    ParameterError, ProtocolError
        A value the schema lets through is out of the model's range (e.g. a step
        string that does not parse).
    """
    from electrohet.aging.driver import AgingRun, JumpOptions
    from electrohet.aging.mechanisms import Mechanisms
    from electrohet.aging.presets import (
        KROEGER_CALIBRATION,
        YARI_CALIBRATION,
        YARI_THROUGH_PLANE_CALIBRATION,
        nmc532_aging_cell,
        yari_lto_nmc622_cell,
    )
    from electrohet.aging.protocol import AgingProtocol
    from electrohet.model.mesh import MeshOptions

    cfg = parse_aging_config(load_toml(path), str(path))
    c = _set(cfg.cell)  # type: ignore[attr-defined]
    preset = c.pop("preset", "yari_lto_nmc622")
    if preset == "yari_lto_nmc622":
        if "isolated_fraction" in c:
            raise ConfigError(f"{path}: cell.isolated_fraction does not apply to preset {preset!r}")
        cell = yari_lto_nmc622_cell(c.pop("fc_bottom", 0.025), **c)
    else:
        for k in ("fc_bottom", "fc_top", "conduction", "wiring"):
            if k in c:
                raise ConfigError(f"{path}: cell.{k} does not apply to preset 'nmc532'")
        cell = nmc532_aging_cell(**c)
    protocol = AgingProtocol(**_set(cfg.protocol))  # type: ignore[attr-defined]
    calibrations = {
        "yari": YARI_CALIBRATION,
        "yari_through_plane": YARI_THROUGH_PLANE_CALIBRATION,
        "kroeger": KROEGER_CALIBRATION,
        "default": Mechanisms(),
    }
    mcfg = cfg.mechanisms  # type: ignore[attr-defined]
    base = calibrations[mcfg.calibration if mcfg is not None else "yari"]
    kw = {}
    for name in ("cei", "cracking", "contact", "sei"):
        over = _set(getattr(mcfg, name)) if mcfg is not None else {}
        kw[name] = dataclasses.replace(getattr(base, name), **over)
    mech = Mechanisms(**kw)
    mesh = MeshOptions(**_set(cfg.mesh))  # type: ignore[attr-defined]
    jump = JumpOptions(**_set(cfg.jump))  # type: ignore[attr-defined]
    snaps = tuple(cfg.snapshot_cycles)  # type: ignore[attr-defined]
    return AgingRun(cell, protocol, mech, mesh, jump, snaps)
