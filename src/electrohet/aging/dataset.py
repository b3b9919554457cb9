"""Per-cycle results of an aging run as an ``xarray.Dataset`` (dim ``cycle``).

Variables (units in attrs): discharge/charge capacity and energy, retention, lithium
inventory (cyclable, trapped in isolated particles, consumed by CEI; LLI and its
balance error), LAM and the isolated share (by volume and by number of particles),
and per slot (``x`` x ``particle_class``) the CEI thickness, crack fraction, added
contact path, isolated share of its particles (``isolated_fraction``) and whether none
is left connected (``isolated``), with per-layer means.  ``resolved`` marks cycles
that were simulated; the measurements of jumped cycles are interpolated (PCHIP)
between their resolved neighbours (their degradation states lie on the jump's path).
Per-class lithium fractions at the snapshot cycles are ``theta_charged`` /
``theta_discharged`` (connected particles) and ``theta_isolated`` (the class's isolated
particles, trapped; dims ``snapshot``, ``x``, ``particle_class``).

:func:`cycle_frame` gives the per-cycle table in the format of
:func:`electrohet.analysis.aging.cycle_table` and :func:`particle_state` a one-frame
result that :func:`electrohet.analysis.from_model.particle_sample_from_result` reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from electrohet.errors import DataError

_MEAS = (
    "discharge_capacity",
    "charge_capacity",
    "discharge_energy",
    "discharge_current",
    "li_cyclable",
    "li_trapped",
    "li_balance_error",
)


def _interp_jumped(rows: list[dict]) -> None:
    """Fill the measurements of jumped cycles from the resolved regular cycles:
    shape-preserving piecewise-cubic (PCHIP, Fritsch & Carlson 1980) interpolation,
    which follows the curvature of an accelerating fade without overshooting (a chord
    across a 50-cycle jump misses it by up to ~0.6 % capacity); linear with fewer than
    three resolved cycles."""
    from scipy.interpolate import PchipInterpolator

    cyc = np.array([r["cycle"] for r in rows], dtype=float)
    res = np.array([r["resolved"] and not r["checkup"] for r in rows])
    jumped = np.array([not r["resolved"] for r in rows])
    if not np.any(jumped):
        return
    for key in _MEAS:
        vals = np.array([r.get(key, np.nan) for r in rows], dtype=float)
        ok = res & np.isfinite(vals)
        if not np.any(ok):
            continue
        if np.count_nonzero(ok) >= 3:
            filled = PchipInterpolator(cyc[ok], vals[ok], extrapolate=True)(cyc[jumped])
        else:
            filled = np.interp(cyc[jumped], cyc[ok], vals[ok])
        for i, v in zip(np.flatnonzero(jumped), filled, strict=True):
            rows[i][key] = float(v)


def _negative_mean(run, values: np.ndarray, vol: np.ndarray) -> float:
    """Volume mean of a per-slot state over the negative electrode's slots (NaN for a
    half cell)."""
    neg = ~run.pos
    if not np.any(neg):
        return float("nan")
    return float(np.sum(values[neg] * vol[neg]) / np.sum(vol[neg]))


def build_aging_dataset(run, rec) -> xr.Dataset:
    """Assemble the record of an :class:`~electrohet.aging.driver.AgingRun`."""
    ms = run.sim.mesh
    rows = rec.cycles
    _interp_jumped(rows)
    kmax = ms.n_classes_max
    n_cells = ms.n_cells
    nc = len(rows)
    area = run.cell.area

    def grid(key: str, fill=np.nan, dtype=float) -> np.ndarray:
        out = np.full((nc, n_cells, kmax), fill, dtype=dtype)
        for i, r in enumerate(rows):
            out[i, ms.slot_cell[run.pos], ms.slot_class[run.pos]] = r[key][run.pos]
        return out

    def col(key: str) -> np.ndarray:
        return np.array([r.get(key, np.nan) for r in rows], dtype=float)

    qd = col("discharge_capacity")
    regular = np.array([not r["checkup"] for r in rows], dtype=bool)
    ref = qd[regular][0] if np.any(regular) and np.isfinite(qd[regular][0]) else np.nan
    w = np.full((n_cells, kmax), np.nan)
    w[ms.slot_cell, ms.slot_class] = ms.slot_weight
    rad = np.full((n_cells, kmax), np.nan)
    rad[ms.slot_cell, ms.slot_class] = ms.slot_radius
    vol = run.vf * run.dxs

    def layer_mean(key: str) -> np.ndarray:
        n_l = len(ms.layers)
        out = np.full((nc, n_l), np.nan)
        for li in range(n_l):
            sel = run.pos & (ms.slot_layer == li)
            if not np.any(sel):
                continue
            for i, r in enumerate(rows):
                out[i, li] = float(np.sum(r[key][sel] * vol[sel]) / np.sum(vol[sel]))
        return out

    li0 = rec.li_initial
    sig = np.full((nc, n_cells), np.nan)
    pos_cells = ms.elec_region == 2  # POS
    for i, r in enumerate(rows):
        sig[i, ms.elec_cells[pos_cells]] = r["sigma_factor"][pos_cells]
    data = {
        "resolved": ("cycle", np.array([r["resolved"] for r in rows], dtype=bool), {}),
        "checkup": ("cycle", np.array([r["checkup"] for r in rows], dtype=bool), {}),
        "discharge_capacity": ("cycle", qd, {"units": "Ah/m^2"}),
        "charge_capacity": ("cycle", col("charge_capacity"), {"units": "Ah/m^2"}),
        "discharge_energy": ("cycle", col("discharge_energy"), {"units": "Wh/m^2"}),
        "discharge_current": ("cycle", col("discharge_current"), {"units": "A/m^2"}),
        "retention": (
            "cycle",
            qd / ref,
            {"units": "1", "long_name": "discharge capacity / first regular cycle's"},
        ),
        "li_cyclable": ("cycle", col("li_cyclable"), {"units": "mol/m^2"}),
        "li_trapped": ("cycle", col("li_trapped"), {"units": "mol/m^2"}),
        "li_cei": (
            "cycle",
            col("li_cei"),
            {"units": "mol/m^2", "long_name": "lithium bound in CEI (and SEI, when enabled)"},
        ),
        "sei_thickness": (
            "cycle",
            np.array([_negative_mean(run, r["L"], vol) for r in rows], dtype=float),
            {"units": "m", "long_name": "volume-mean SEI thickness of the negative (0 if off)"},
        ),
        "lli": (
            "cycle",
            (col("li_trapped") + col("li_cei")) / li0,
            {"units": "1", "long_name": "loss of lithium inventory (trapped + CEI) / initial"},
        ),
        "li_balance_error": (
            "cycle",
            col("li_balance_error"),
            {"units": "1", "long_name": "(cyclable + trapped + CEI - initial) / initial"},
        ),
        "lam": (
            "cycle",
            col("lam"),
            {"units": "1", "long_name": "positive active volume isolated in the run (LAM)"},
        ),
        "isolated_share": (
            "cycle",
            col("isolated_share_number"),
            {"units": "1", "long_name": "isolated share of positive particles by number"},
        ),
        "cei_thickness": (("cycle", "x", "particle_class"), grid("L"), {"units": "m"}),
        "crack_fraction": (("cycle", "x", "particle_class"), grid("crack"), {"units": "1"}),
        "contact_path_added": (("cycle", "x", "particle_class"), grid("dpath"), {"units": "m"}),
        "isolated": (
            ("cycle", "x", "particle_class"),
            grid("isolated", False, bool),
            {"long_name": "no particle of the class left connected"},
        ),
        "isolated_fraction": (
            ("cycle", "x", "particle_class"),
            grid("iso_frac"),
            {"units": "1", "long_name": "isolated share of the class's particles"},
        ),
        "cei_thickness_layer": (("cycle", "layer"), layer_mean("L"), {"units": "m"}),
        "crack_fraction_layer": (("cycle", "layer"), layer_mean("crack"), {"units": "1"}),
        "isolated_share_layer": (
            ("cycle", "layer"),
            layer_mean("iso_frac"),
            {"units": "1", "long_name": "isolated share of the layer's active volume"},
        ),
        "matrix_conductivity_factor": (
            ("cycle", "x"),
            sig,
            {"units": "1", "long_name": "matrix conductivity / fresh (NaN off-electrode)"},
        ),
        "collector_resistance": (
            "cycle",
            col("collector_resistance"),
            {
                "units": "Ohm m^2",
                "long_name": "coating / current-collector contact resistance (series)",
            },
        ),
        "class_weight": (("x", "particle_class"), w, {"units": "1"}),
        "radius": (("x", "particle_class"), rad, {"units": "m"}),
    }
    snaps = sorted(rec.snapshots)
    coords = {
        "cycle": ("cycle", np.array([r["cycle"] for r in rows], dtype=int), {}),
        "x": ("x", ms.x, {"units": "m", "long_name": "distance from negative current collector"}),
        "particle_class": ("particle_class", np.arange(kmax), {}),
        "layer": ("layer", np.arange(len(ms.layers)), {}),
        "layer_name": ("layer", np.array(ms.layer_names, dtype=str), {}),
        "snapshot": ("snapshot", np.array(snaps, dtype=int), {"long_name": "cycle"}),
    }
    for key, idx in (("theta_charged", 0), ("theta_discharged", 1), ("theta_isolated", 2)):
        arr = np.full((len(snaps), n_cells, kmax), np.nan)
        for i, c in enumerate(snaps):
            arr[i, ms.slot_cell, ms.slot_class] = rec.snapshots[c][idx]
        arr[:, ~np.isin(np.arange(n_cells), ms.slot_cell[run.pos])] = np.nan
        data[key] = (("snapshot", "x", "particle_class"), arr, {"units": "1"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "cell": run.cell.name,
            "area_m2": float(area),
            "status": rec.status,
            "message": rec.message,
            "li_initial_mol_m2": float(li0),
            "mechanisms": ",".join(run.mech.names),
            "n_cycles_requested": int(run.protocol.n_cycles),
            "n_resolved": int(rec.n_resolved),
            "n_rejected_jumps": int(rec.n_rejected),
            "wall_time_s": float(rec.wall),
            "jumping": int(run.jump.enabled),
        }
    )
    return ds


def cycle_frame(ds: xr.Dataset, resolved_only: bool = False) -> pd.DataFrame:
    """Per-cycle table in the format of :func:`electrohet.analysis.aging.cycle_table`.

    Capacities in Ah and energies in Wh (times the cell area), currents in A.
    """
    if "discharge_capacity" not in ds or "cycle" not in ds.dims:
        raise DataError("cycle_frame: not an aging Dataset (no discharge_capacity by cycle)")
    a = float(ds.attrs.get("area_m2", 1.0))
    sel = ds.resolved.values if resolved_only else np.ones(ds.sizes["cycle"], bool)
    qd = ds.discharge_capacity.values[sel] * a
    qc = ds.charge_capacity.values[sel] * a
    tab = pd.DataFrame(
        {
            "cycle_id": ds.cycle.values[sel],
            "discharge_capacity": qd,
            "discharge_energy": ds.discharge_energy.values[sel] * a,
            "charge_capacity": qc,
            "discharge_current": ds.discharge_current.values[sel] * a,
        }
    )
    tab["throughput"] = tab["charge_capacity"].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        tab["coulombic_efficiency"] = np.where(qc > 0, qd / qc, np.nan)
    tab.attrs["source"] = str(ds.attrs.get("cell", "aging run"))
    tab.attrs["excluded"] = {}
    return tab


def particle_state(ds: xr.Dataset, cycle: int, state: str = "charged") -> xr.Dataset:
    """Per-class lithium fractions of a snapshot cycle as a two-frame model result
    (``time`` = 0 and 1 s, identical) with ``theta_mean`` and ``class_weight``.

    Every class appears twice: its connected particles (``particle_class`` k, weight
    ``w (1 - f)``, the class's ``theta_charged``/``theta_discharged``) and its
    isolated ones (``particle_class`` K + k, weight ``w f``, lithium fraction trapped
    at isolation), ``f`` the class's isolated share at that cycle.  Classes isolated
    as a whole keep the model's (frozen) lithium fraction.
    """
    key = {"charged": "theta_charged", "discharged": "theta_discharged"}.get(state)
    if key is None:
        raise DataError(f"particle_state: state = {state!r} must be 'charged' or 'discharged'")
    snaps = list(ds.snapshot.values)
    if cycle not in snaps:
        raise DataError(f"particle_state: cycle {cycle} is not a snapshot (have {snaps})")
    th = ds[key].sel(snapshot=cycle)
    keep = np.isfinite(th.values).any(axis=1)
    th = th.isel(x=keep)
    w = ds.class_weight.isel(x=keep).fillna(0.0)
    w = w.where(np.isfinite(th.values), 0.0).values
    f = np.zeros_like(w)
    th_iso = th.values.copy()
    if "isolated_fraction" in ds and "theta_isolated" in ds:
        f = np.nan_to_num(ds.isolated_fraction.sel(cycle=cycle).isel(x=keep).values)
        whole = ds.isolated.sel(cycle=cycle).isel(x=keep).values
        trapped = ds.theta_isolated.sel(snapshot=cycle).isel(x=keep).values
        th_iso = np.where(whole | ~np.isfinite(trapped), th.values, trapped)
    k = th.sizes["particle_class"]
    theta = np.concatenate([th.values, th_iso], axis=1)
    weight = np.concatenate([w * (1.0 - f), w * f], axis=1)
    weight = np.where(np.isfinite(theta), weight, 0.0)
    theta = np.nan_to_num(theta)
    return xr.Dataset(
        {
            "theta_mean": (("time", "x", "particle_class"), np.stack([theta] * 2), {"units": "1"}),
            "class_weight": (("x", "particle_class"), weight, {"units": "1"}),
            "isolated": (("particle_class",), np.arange(2 * k) >= k, {}),
        },
        coords={"time": [0.0, 1.0], "x": th.x.values, "particle_class": np.arange(2 * k)},
    )
