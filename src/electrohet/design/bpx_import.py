"""Build a :class:`~electrohet.design.layer.Cell` from a BPX parameter file.

BPX (Battery Parameter eXchange, https://github.com/FaradayInstitution/BPX) describes a
DFN-type porous-electrode cell.  The file is validated with the ``bpx`` package
(``parse_bpx_obj``) and then mapped onto electrohet's records:

=========================================  =============================================
BPX                                        electrohet
=========================================  =============================================
Thickness, Porosity                        ``Layer.thickness``, ``Layer.porosity``
Transport efficiency B = eps / tau         ``Layer.tortuosity = porosity / B``
Surface area per unit volume a, radius R   ``Layer.active_fraction = a R / 3``
Conductivity (effective, of the matrix)    ``Layer.conductivity`` (and sigma_AM)
Maximum concentration, min/max stoich.     ``c_max``, ``theta_0`` / ``theta_100``
OCP, Diffusivity (number, expr., table)    vectorised functions of theta
Reaction rate constant k [mol/m^2/s]       ``exchange_prefactor = F k / (c_max sqrt(c_e0))``
Electrolyte conductivity, diffusivity, t+  :class:`~electrohet.materials.base.Electrolyte`
Electrode area x electrode pairs           ``Cell.area``
Nominal capacity [A h]                     ``Cell.nominal_capacity = Q / area`` [A h/m^2]
Lower/upper voltage cut-off                ``Cell.v_min`` / ``Cell.v_max``
State: initial SOC, c_e, temperature       ``theta_init``, ``c0``, ``temperature``
=========================================  =============================================

Exchange current.  BPX defines i0 = F k sqrt((c_e / c_e0) (c_s / c_max) (1 - c_s / c_max))
with c_e0 the initial (reference) electrolyte concentration; electrohet's DFN form is
i0 = m c_e^0.5 (c_max - c_s)^0.5 c_s^0.5, hence m = F k / (c_max sqrt(c_e0)) in
A/m^2 (m^3/mol)^1.5.

Expressions.  BPX function strings (numbers, ``x``, + - * / **, exp, tanh, cosh) are
evaluated by a small whitelist interpreter over Python's ``ast``: nothing from the file
is passed to ``eval``/``exec`` by this module.  Tables are interpolated linearly
(``np.interp``, constant beyond the ends).  Arrhenius activation energies are applied
once at the cell temperature (the model is isothermal).

Not representable (raise :class:`~electrohet.errors.ParameterError`): blended electrodes,
SPM-only parameter sets, missing sections.  BPX has no active-material density and no
thermodynamic factor: pass ``densities=`` (default NaN, so masses are undefined) and the
factor is 1.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, ActiveMaterial, ArrayFn, Electrolyte, F, constant

_DEFAULT_CE0 = 1000.0  # mol/m^3, BPX / PyBaMM default reference electrolyte concentration

_UNARY_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp,
    "tanh": np.tanh,
    "cosh": np.cosh,
    "sinh": np.sinh,
    "log": np.log,
    "sqrt": np.sqrt,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}


def _compile_expression(expr: str, key: str) -> ArrayFn:
    """Turn a BPX expression of ``x`` into a vectorised NumPy function (whitelisted AST)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ParameterError(f"BPX {key!r}: cannot parse expression {expr!r} ({exc.msg})") from None

    def build(node: ast.AST) -> Callable[[np.ndarray], Any]:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            value = float(node.value)
            return lambda x: value
        if isinstance(node, ast.Name) and node.id == "x":
            return lambda x: x
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = build(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda x: -inner(x)
            return inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = build(node.left), build(node.right)
            return lambda x: op(left(x), right(x))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _UNARY_FUNCS
            and len(node.args) == 1
            and not node.keywords
        ):
            fn = _UNARY_FUNCS[node.func.id]
            arg = build(node.args[0])
            return lambda x: fn(arg(x))
        raise ParameterError(
            f"BPX {key!r}: expression {expr!r} uses {ast.dump(node)[:60]!r}; allowed are numbers, "
            f"x, + - * / **, and {', '.join(sorted(_UNARY_FUNCS))}"
        )

    body = build(tree.body)

    def fn(x: np.ndarray) -> np.ndarray:
        xa = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(body(xa), dtype=float), xa.shape).copy()

    fn.__name__ = "bpx_expression"
    fn.__doc__ = f"BPX expression for {key}: {expr}"
    return fn


def _table_function(xs: list[float], ys: list[float], key: str) -> ArrayFn:
    """Linear interpolation of a BPX table (constant beyond the ends)."""
    xp = np.asarray(xs, dtype=float)
    yp = np.asarray(ys, dtype=float)
    if xp.size < 2 or xp.shape != yp.shape:
        raise ParameterError(f"BPX {key!r}: a table needs >= 2 points and equal-length x and y")
    order = np.argsort(xp, kind="stable")
    xp, yp = xp[order], yp[order]
    if np.any(np.diff(xp) <= 0) or not (np.all(np.isfinite(xp)) and np.all(np.isfinite(yp))):
        raise ParameterError(f"BPX {key!r}: table x values must be finite and distinct")

    def fn(x: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=float), xp, yp)

    fn.__name__ = "bpx_table"
    return fn


def _to_function(value: Any, key: str, scale: float = 1.0) -> ArrayFn:
    """A BPX FloatFunctionTable (number, expression string or table) as an array function."""
    if isinstance(value, bool):
        raise ParameterError(f"BPX {key!r}: expected a number, expression or table, got {value!r}")
    if isinstance(value, int | float):
        return constant(float(value) * scale)
    if isinstance(value, str):
        base = _compile_expression(str(value), key)
    elif hasattr(value, "x") and hasattr(value, "y"):
        base = _table_function(list(value.x), list(value.y), key)
    else:
        raise ParameterError(f"BPX {key!r}: expected a number, expression or table, got {value!r}")
    if scale == 1.0:
        return base

    def scaled(x: np.ndarray) -> np.ndarray:
        return scale * base(x)

    scaled.__name__ = base.__name__
    return scaled


def _arrhenius(ea: float | None, t_ref: float, temperature: float) -> float:
    """exp(Ea / R (1/T_ref - 1/T)); 1 when no activation energy is given."""
    if ea is None or temperature == t_ref:
        return 1.0
    return math.exp(float(ea) / R_GAS * (1.0 / t_ref - 1.0 / temperature))


def _load(source: str | Path | Mapping[str, Any]) -> Any:
    """Parse and validate with the bpx package; validation errors become ParameterError."""
    try:
        import bpx
        from pydantic import ValidationError
    except ImportError as exc:  # pragma: no cover - bpx is a declared dependency
        raise ParameterError("BPX import needs the 'bpx' package (pip install bpx)") from exc
    try:
        if isinstance(source, Mapping):
            import copy

            return bpx.parse_bpx_obj(copy.deepcopy(dict(source)))
        path = Path(source)
        if not path.is_file():
            raise ParameterError(f"BPX file {str(path)!r} does not exist")
        return bpx.parse_bpx_file(str(path))
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            lines.append(f"{loc or '<root>'}: {err.get('msg', '')}")
        raise ParameterError("invalid BPX: " + "; ".join(lines)) from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"invalid BPX: {exc}") from None


def _electrode_layer(
    electrode: Any,
    section: str,
    positive: bool,
    temperature: float,
    t_ref: float,
    ce0: float,
    density: float,
) -> Layer:
    if not hasattr(electrode, "conductivity") or not hasattr(electrode, "porosity"):
        raise ParameterError(
            f"BPX 'Parameterisation.{section}': an SPM-only electrode (no porosity/conductivity) "
            "cannot build a porous-electrode layer"
        )
    if getattr(electrode, "particle", None) is not None:
        raise ParameterError(
            f"BPX 'Parameterisation.{section}.Particle': blended electrodes are not supported"
        )
    key = f"Parameterisation.{section}"
    c_max = float(electrode.maximum_concentration)
    sto_min = float(electrode.minimum_stoichiometry)
    sto_max = float(electrode.maximum_stoichiometry)
    if not 0.0 <= sto_min < sto_max <= 1.0:
        raise ParameterError(
            f"BPX '{key}': need 0 <= Minimum stoichiometry ({sto_min}) < "
            f"Maximum stoichiometry ({sto_max}) <= 1"
        )
    if c_max <= 0:
        raise ParameterError(f"BPX '{key}.Maximum concentration [mol.m-3]' = {c_max} must be > 0")
    k = float(electrode.reaction_rate_constant) * _arrhenius(
        electrode.reaction_rate_constant_activation_energy, t_ref, temperature
    )
    prefactor = F * k / (c_max * math.sqrt(ce0))
    d_scale = _arrhenius(electrode.diffusivity_activation_energy, t_ref, temperature)
    diffusivity = _to_function(electrode.diffusivity, f"{key}.Diffusivity [m2.s-1]", d_scale)
    ocp = _to_function(electrode.ocp, f"{key}.OCP [V]")
    sigma = float(electrode.conductivity)
    radius = float(electrode.particle_radius)
    area_density = float(electrode.surface_area_per_unit_volume)
    porosity = float(electrode.porosity)
    efficiency = float(electrode.transport_efficiency)
    if efficiency <= 0:
        raise ParameterError(f"BPX '{key}.Transport efficiency' = {efficiency} must be > 0")
    material = ActiveMaterial(
        name=f"{section} (BPX)",
        c_max=c_max,
        ocp=ocp,
        diffusivity=diffusivity,
        exchange_prefactor=prefactor,
        density=density,
        theta_0=sto_max if positive else sto_min,
        theta_100=sto_min if positive else sto_max,
        electronic_conductivity=constant(sigma),
        citation="BPX import",
    )
    try:
        return Layer(
            material=material,
            thickness=float(electrode.thickness),
            porosity=porosity,
            active_fraction=area_density * radius / 3.0,
            particle_radius=radius,
            tortuosity=porosity / efficiency,
            conductivity=sigma,
            name="positive" if positive else "negative",
        )
    except ParameterError as exc:
        raise ParameterError(f"BPX '{key}': {exc}") from None


def cell_from_bpx(
    source: str | Path | Mapping[str, Any],
    *,
    densities: Mapping[str, float] | None = None,
    initial_stoichiometries: Mapping[str, float] | None = None,
    temperature: float | None = None,
) -> Cell:
    """Build a full cell from a BPX file or dict.

    Parameters
    ----------
    source
        Path to a BPX JSON file, or the parsed dict.
    densities
        Active-material densities [kg/m^3] under ``"positive"`` / ``"negative"`` (BPX has
        none; default NaN).
    initial_stoichiometries
        Initial lithium fractions under ``"positive"`` / ``"negative"``, overriding the
        ones derived from ``State.Initial conditions.Initial state-of-charge`` (default SOC
        1, as in BPX).
    temperature
        Cell temperature [K]; default the BPX initial temperature, else ambient, else the
        reference temperature.

    Returns
    -------
    Cell
        Negative and positive electrodes of one layer each, separator, electrolyte.

    Raises
    ------
    ParameterError
        Invalid BPX (the message names the offending key) or a feature electrohet cannot
        represent.
    """
    parsed = _load(source)
    par = parsed.parameterisation
    for attr, label in (
        ("cell", "Cell"),
        ("electrolyte", "Electrolyte"),
        ("negative_electrode", "Negative electrode"),
        ("positive_electrode", "Positive electrode"),
        ("separator", "Separator"),
    ):
        if getattr(par, attr, None) is None:
            raise ParameterError(
                f"BPX 'Parameterisation.{label}' is missing (needed for a DFN cell)"
            )
    state = parsed.state
    ic = state.initial_conditions if state is not None else None
    thermal = state.thermal_environment if state is not None else None
    t_ref = float(par.cell.reference_temperature)
    if temperature is None:
        if ic is not None and ic.initial_temperature is not None:
            temperature = float(ic.initial_temperature)
        elif thermal is not None and getattr(thermal, "ambient_temperature", None) is not None:
            temperature = float(thermal.ambient_temperature)
        else:
            temperature = t_ref
    ce0 = _DEFAULT_CE0
    if ic is not None and ic.initial_electrolyte_concentration is not None:
        ce0 = float(ic.initial_electrolyte_concentration)
    if ce0 <= 0:
        raise ParameterError(
            f"BPX 'State.Initial conditions.Initial electrolyte concentration [mol.m-3]' = {ce0} "
            "must be > 0"
        )
    soc = 1.0
    if ic is not None and ic.initial_soc is not None:
        soc = float(ic.initial_soc)
    if not 0.0 <= soc <= 1.0:
        raise ParameterError(
            f"BPX 'State.Initial conditions.Initial state-of-charge' = {soc} is outside [0, 1]"
        )
    dens = {"positive": float("nan"), "negative": float("nan")}
    dens.update({k: float(v) for k, v in (densities or {}).items()})
    neg_layer = _electrode_layer(
        par.negative_electrode,
        "Negative electrode",
        False,
        temperature,
        t_ref,
        ce0,
        dens["negative"],
    )
    pos_layer = _electrode_layer(
        par.positive_electrode,
        "Positive electrode",
        True,
        temperature,
        t_ref,
        ce0,
        dens["positive"],
    )
    pm, nm = pos_layer.material, neg_layer.material
    theta_pos = pm.theta_0 + soc * (pm.theta_100 - pm.theta_0)
    theta_neg = nm.theta_0 + soc * (nm.theta_100 - nm.theta_0)
    if initial_stoichiometries:
        theta_pos = float(initial_stoichiometries.get("positive", theta_pos))
        theta_neg = float(initial_stoichiometries.get("negative", theta_neg))

    sep = par.separator
    sep_eff = float(sep.transport_efficiency)
    if sep_eff <= 0:
        raise ParameterError(
            f"BPX 'Parameterisation.Separator.Transport efficiency' = {sep_eff} must be > 0"
        )
    try:
        separator = Separator(
            thickness=float(sep.thickness),
            porosity=float(sep.porosity),
            tortuosity=float(sep.porosity) / sep_eff,
        )
    except ParameterError as exc:
        raise ParameterError(f"BPX 'Parameterisation.Separator': {exc}") from None

    el = par.electrolyte
    el_key = "Parameterisation.Electrolyte"
    electrolyte = Electrolyte(
        name="electrolyte (BPX)",
        conductivity=_to_function(
            el.conductivity,
            f"{el_key}.Conductivity [S.m-1]",
            _arrhenius(el.conductivity_activation_energy, t_ref, temperature),
        ),
        diffusivity=_to_function(
            el.diffusivity,
            f"{el_key}.Diffusivity [m2.s-1]",
            _arrhenius(el.diffusivity_activation_energy, t_ref, temperature),
        ),
        transference=float(el.cation_transference_number),
        thermodynamic_factor=1.0,
        c0=ce0,
        citation="BPX import",
    )

    cell = par.cell
    area = float(cell.electrode_area) * float(cell.number_of_electrodes or 1)
    try:
        return Cell(
            negative=Electrode([neg_layer], theta_init=theta_neg),
            separator=separator,
            positive=Electrode([pos_layer], theta_init=theta_pos),
            electrolyte=electrolyte,
            temperature=temperature,
            v_min=float(cell.lower_voltage_cutoff),
            v_max=float(cell.upper_voltage_cutoff),
            area=area,
            nominal_capacity=float(cell.nominal_cell_capacity) / area,
            name=str(parsed.header.title),
            meta={
                "source": "BPX",
                "bpx_version": str(parsed.header.bpx),
                "references": str(parsed.header.references or ""),
            },
        )
    except ParameterError as exc:
        raise ParameterError(f"BPX 'Parameterisation.Cell': {exc}") from None
