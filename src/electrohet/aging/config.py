"""Read an aging run from a TOML configuration (``electrohet age CONFIG.toml``).

Sections: ``[cell]`` (``preset`` = ``"yari_lto_nmc622"`` with ``fc_bottom``,
``fc_top``, ``n_radius``, ``conduction``, ``wiring``; or ``"nmc532"`` with
``n_radius``, ``isolated_fraction``), ``[protocol]`` (``cycle`` list of steps,
``n_cycles``, optional ``checkup`` and ``checkup_every``, ``formation`` and
``formation_cycles``), ``[mechanisms]`` (``calibration = "yari"``,
``"yari_through_plane"`` or ``"default"``, then
overrides in ``[mechanisms.cei]``, ``[mechanisms.cracking]``, ``[mechanisms.contact]``),
``[mesh]`` (``points_per_domain``, ``radial_points``), ``[jump]`` (``enabled``,
``rtol``, ``max_jump``, ``order``, ``stop_at_isolation``) and ``snapshot_cycles`` (top
level).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from electrohet.errors import ConfigError

_SECTIONS = {"cell", "protocol", "mechanisms", "mesh", "jump", "snapshot_cycles"}


def _take(d: dict, section: str, allowed: set[str]) -> dict:
    sub = d.get(section, {})
    if not isinstance(sub, dict):
        raise ConfigError(f"[{section}] must be a table, got {type(sub).__name__}")
    bad = sorted(set(sub) - allowed)
    if bad:
        raise ConfigError(f"[{section}]: unknown key(s) {bad} (allowed: {sorted(allowed)})")
    return dict(sub)


def load_aging_config(path: str | Path):
    """Return an :class:`~electrohet.aging.driver.AgingRun` built from ``path``."""
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
    from electrohet.studies.config import load_toml

    d = load_toml(path)
    bad = sorted(set(d) - _SECTIONS)
    if bad:
        raise ConfigError(f"{path}: unknown section(s) {bad} (allowed: {sorted(_SECTIONS)})")
    c = _take(
        d,
        "cell",
        {"preset", "fc_bottom", "fc_top", "n_radius", "isolated_fraction", "conduction", "wiring"},
    )
    preset = c.pop("preset", "yari_lto_nmc622")
    if preset == "yari_lto_nmc622":
        c.pop("isolated_fraction", None)
        cell = yari_lto_nmc622_cell(c.pop("fc_bottom", 0.025), **c)
    elif preset == "nmc532":
        for k in ("fc_bottom", "fc_top", "conduction", "wiring"):
            if k in c:
                raise ConfigError(f"[cell].{k} does not apply to preset 'nmc532'")
        cell = nmc532_aging_cell(**c)
    else:
        raise ConfigError(f"[cell].preset = {preset!r} is not one of 'yari_lto_nmc622', 'nmc532'")
    p = _take(
        d,
        "protocol",
        {"cycle", "n_cycles", "checkup", "checkup_every", "formation", "formation_cycles"},
    )
    if "cycle" not in p or "n_cycles" not in p:
        raise ConfigError("[protocol] needs 'cycle' (list of steps) and 'n_cycles'")
    protocol = AgingProtocol(**p)
    mraw = _take(d, "mechanisms", {"calibration", "cei", "cracking", "contact"})
    calib = mraw.pop("calibration", "yari")
    calibrations = {
        "yari": YARI_CALIBRATION,
        "yari_through_plane": YARI_THROUGH_PLANE_CALIBRATION,
        "kroeger": KROEGER_CALIBRATION,
        "default": Mechanisms(),
    }
    if calib not in calibrations:
        raise ConfigError(
            f"[mechanisms].calibration = {calib!r} is not one of {', '.join(calibrations)}"
        )
    base = calibrations[calib]
    kw = {}
    for name in ("cei", "cracking", "contact"):
        over = mraw.get(name, {})
        cur = getattr(base, name)
        allowed = {f.name for f in dataclasses.fields(cur)}
        unknown = sorted(set(over) - allowed)
        if unknown:
            raise ConfigError(
                f"[mechanisms.{name}]: unknown key(s) {unknown} (allowed: {sorted(allowed)})"
            )
        kw[name] = dataclasses.replace(cur, **over)
    mech = Mechanisms(**kw)
    mesh = MeshOptions(**_take(d, "mesh", {"points_per_domain", "radial_points"}))
    jump = JumpOptions(
        **_take(d, "jump", {"enabled", "rtol", "max_jump", "order", "stop_at_isolation"})
    )
    snaps = d.get("snapshot_cycles", [])
    if not isinstance(snaps, list):
        raise ConfigError("snapshot_cycles must be a list of cycle numbers")
    return AgingRun(cell, protocol, mech, mesh, jump, tuple(snaps))
