"""Build a :class:`~electrohet.design.layer.Cell` from a BPX parameter file.

BPX (Battery Parameter eXchange, https://github.com/FaradayInstitution/BPX) describes a
DFN-type porous-electrode cell.  A BPX file is untrusted input, so it is read and
checked by electrohet itself (JSON only, size-limited) and never handed to the ``bpx``
package, whose validation writes every OCP expression to a temporary ``.py`` file and
executes it (an OCP of ``exit(7)`` would end the process).  The keys are mapped onto
electrohet's records:

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
is passed to ``eval``/``exec``, nothing is written to disk.  Limits: at most
:data:`MAX_EXPRESSION_CHARS` characters, :data:`MAX_EXPRESSION_NODES` nodes, nesting
depth :data:`MAX_EXPRESSION_DEPTH`, constant exponents of magnitude at most
:data:`MAX_EXPONENT`; constants must be finite.  Every function is sampled on its
physical range (stoichiometry limits; 0.5-1.5 x the initial electrolyte
concentration) and must be finite there, and positive for diffusivities and
conductivities.  Tables are interpolated linearly
(``np.interp``, constant beyond the ends).  Expressions are then tabulated once, finely
(OCPs to 1 uV, transport properties to 1e-6 relative, on theta in [0, 1] and c_e in
[0, 4 c_e0]; :func:`_tabulate_expression`), so that the model's compiled residual
evaluates every BPX function as a compiled interpolant.  Arrhenius activation energies are applied
once at the cell temperature (the model is isothermal).

Not representable (raise :class:`~electrohet.errors.ParameterError`): blended electrodes,
SPM-only parameter sets, missing sections, and OCP hysteresis in any form (the BPX
fields ``OCP (lithiation) [V]``, ``OCP (delithiation) [V]``, ``OCP hysteresis decay
constant``, ``Initial hysteresis state: ...``, or ``User-defined`` entries naming
hysteresis or (de)lithiation OCPs): such files may carry a placeholder ``OCP [V]``,
and reading it instead of the branches builds another cell (a file with user-defined
hysteresis loaded silently with a 0 V negative OCP and started at 4.291 V, above its
4.2 V cut-off).  BPX has no active-material density and no thermodynamic factor: pass
``densities=`` (default NaN, so masses are undefined) and the factor is 1.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.design.pybamm_import import ELECTROLYTE_SPAN, tabulate
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, ActiveMaterial, ArrayFn, Electrolyte, F, constant

_DEFAULT_CE0 = 1000.0  # mol/m^3, BPX / PyBaMM default reference electrolyte concentration

#: Limits of the expression interpreter (a BPX file is untrusted input).
MAX_EXPRESSION_CHARS = 10_000
MAX_EXPRESSION_NODES = 2_000
MAX_EXPRESSION_DEPTH = 60
MAX_EXPONENT = 100.0
#: Largest BPX file read [bytes] and nesting depth of its JSON.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 32
_SAMPLES = 101

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


class _Const:
    """A constant sub-expression, folded at compile time."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, x: np.ndarray) -> float:
        return self.value


def _compile_expression(expr: str, key: str) -> ArrayFn:
    """Turn a BPX expression of ``x`` into a vectorised NumPy function (whitelisted AST).

    Raises :class:`ParameterError` for anything but numbers, ``x``, ``+ - * / **`` and
    the functions of ``_UNARY_FUNCS``, and beyond the size/depth/exponent limits.
    """
    if not isinstance(expr, str):
        raise ParameterError(f"BPX {key!r}: expected an expression string, got {expr!r}")
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ParameterError(
            f"BPX {key!r}: expression of {len(expr)} characters exceeds the limit of "
            f"{MAX_EXPRESSION_CHARS}"
        )
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = getattr(exc, "msg", None) or type(exc).__name__
        raise ParameterError(
            f"BPX {key!r}: cannot parse expression {expr[:80]!r} ({msg})"
        ) from None
    n_nodes = sum(1 for _ in ast.walk(tree))
    if n_nodes > MAX_EXPRESSION_NODES:
        raise ParameterError(
            f"BPX {key!r}: expression has {n_nodes} syntax nodes; the limit is "
            f"{MAX_EXPRESSION_NODES}"
        )
    short = expr if len(expr) <= 80 else expr[:77] + "..."

    def reject(node: ast.AST) -> ParameterError:
        what = type(node).__name__
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            what = f"call of {node.func.id!r}"
        elif isinstance(node, ast.Call):
            what = "a call of an attribute or expression"
        elif isinstance(node, ast.Attribute):
            what = f"attribute {node.attr!r}"
        elif isinstance(node, ast.Name):
            what = f"name {node.id!r}"
        return ParameterError(
            f"BPX {key!r}: expression {short!r} uses {what}; allowed are numbers, x, "
            f"+ - * / **, and {', '.join(sorted(_UNARY_FUNCS))}"
        )

    def const(value: float) -> _Const:
        if not math.isfinite(value):
            raise ParameterError(
                f"BPX {key!r}: expression {short!r} has a non-finite constant ({value})"
            )
        return _Const(value)

    def build(node: ast.AST, depth: int) -> Callable[[np.ndarray], Any]:
        if depth > MAX_EXPRESSION_DEPTH:
            raise ParameterError(
                f"BPX {key!r}: expression nested deeper than {MAX_EXPRESSION_DEPTH} levels"
            )
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise reject(node)
            try:
                return const(float(node.value))
            except OverflowError:
                raise ParameterError(f"BPX {key!r}: number too large in {short!r}") from None
        if isinstance(node, ast.Name):
            if node.id != "x":
                raise reject(node)
            return lambda x: x
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return inner
            if isinstance(inner, _Const):
                return const(-inner.value)
            return lambda x: -inner(x)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = build(node.left, depth + 1), build(node.right, depth + 1)
            if (
                isinstance(node.op, ast.Pow)
                and isinstance(right, _Const)
                and abs(right.value) > MAX_EXPONENT
            ):
                raise ParameterError(
                    f"BPX {key!r}: exponent {right.value:g} in {short!r} exceeds the allowed "
                    f"magnitude {MAX_EXPONENT:g}"
                )
            if isinstance(left, _Const) and isinstance(right, _Const):
                with np.errstate(all="ignore"):
                    return const(float(op(np.float64(left.value), np.float64(right.value))))
            return lambda x: op(left(x), right(x))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _UNARY_FUNCS
            and len(node.args) == 1
            and not node.keywords
        ):
            fn = _UNARY_FUNCS[node.func.id]
            arg = build(node.args[0], depth + 1)
            return lambda x: fn(arg(x))
        raise reject(node)

    body = build(tree.body, 0)

    def fn(x: np.ndarray) -> np.ndarray:
        xa = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(body(xa), dtype=float), xa.shape).copy()

    fn.__name__ = "bpx_expression"
    fn.__doc__ = f"BPX expression for {key}: {expr}"
    return fn


def _table_function(xs: Any, ys: Any, key: str, scale: float = 1.0) -> ArrayFn:
    """Linear interpolation of a BPX table (constant beyond the ends), values times
    ``scale`` (applied to the knots, so the function stays a plain table)."""
    try:
        xp = np.asarray(xs, dtype=float)
        yp = np.asarray(ys, dtype=float) * scale
    except (TypeError, ValueError):
        raise ParameterError(f"BPX {key!r}: table x and y must be lists of numbers") from None
    if xp.ndim != 1 or xp.size < 2 or xp.shape != yp.shape:
        raise ParameterError(f"BPX {key!r}: a table needs >= 2 points and equal-length x and y")
    order = np.argsort(xp, kind="stable")
    xp, yp = xp[order], yp[order]
    if np.any(np.diff(xp) <= 0) or not (np.all(np.isfinite(xp)) and np.all(np.isfinite(yp))):
        raise ParameterError(f"BPX {key!r}: table x values must be finite and distinct")

    def fn(x: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=float), xp, yp)

    fn.__name__ = "bpx_table"
    fn.linear_table = (xp, yp)  # type: ignore[attr-defined]  # compiled interpolant
    return fn


def _to_function(
    value: Any,
    key: str,
    scale: float = 1.0,
    domain: tuple[float, float] | None = None,
    positive: bool = False,
    table_range: tuple[float, float] | None = None,
) -> ArrayFn:
    """A BPX FloatFunctionTable (number, expression string or table) as an array function.

    ``domain``: the function is sampled there and must be finite (and > 0 when
    ``positive``), else :class:`ParameterError` names the key and the bad value.
    ``table_range``: an expression is tabulated there (:func:`_tabulate_expression`).
    """
    if isinstance(value, bool):
        raise ParameterError(f"BPX {key!r}: expected a number, expression or table, got {value!r}")
    if isinstance(value, int | float):
        v = float(value) * scale
        if not math.isfinite(v) or (positive and v <= 0):
            need = "finite and > 0" if positive else "finite"
            raise ParameterError(f"BPX {key!r} = {value!r} must be {need}")
        return constant(v)
    if isinstance(value, str):
        base = _compile_expression(value, key)
    elif isinstance(value, Mapping) and "x" in value and "y" in value:
        base = _table_function(value["x"], value["y"], key, scale)
        scale = 1.0  # in the knots
    else:
        raise ParameterError(
            f"BPX {key!r}: expected a number, expression or table, got {str(value)[:80]!r}"
        )
    if scale == 1.0:
        fn = base
    else:

        def fn(x: np.ndarray) -> np.ndarray:
            return scale * base(x)

        fn.__name__ = base.__name__
    if domain is not None:
        lo, hi = domain
        xs = np.linspace(lo, hi, _SAMPLES)
        ys = fn(xs)
        bad = ~np.isfinite(ys) | ((ys <= 0) if positive else False)
        if np.any(bad):
            i = int(np.argmax(bad))
            need = "finite and > 0" if positive else "finite"
            raise ParameterError(
                f"BPX {key!r}: value {ys[i]:g} at x = {xs[i]:g} must be {need} on [{lo:g}, {hi:g}]"
            )
    if isinstance(value, str) and table_range is not None:
        return _tabulate_expression(fn, key, table_range, relative=positive)
    return fn


#: Interpolation tolerances of tabulated BPX expressions: OCPs [V] (absolute),
#: diffusivities and conductivities [-] (relative).
EXPRESSION_OCP_ATOL = 1e-6
EXPRESSION_TRANSPORT_RTOL = 1e-6


def _tabulate_expression(
    fn: ArrayFn, key: str, table_range: tuple[float, float], relative: bool
) -> ArrayFn:
    """An expression as a fine table, so that the model's compiled residual evaluates
    it (a compiled interpolant, :mod:`electrohet.model.material_kernels`).

    Sampled on ``table_range`` (theta in [0, 1]; c_e in [0, 4 c_e0]) by
    :func:`electrohet.design.pybamm_import.tabulate` until the midpoint interpolation
    error is below :data:`EXPRESSION_OCP_ATOL` [V] (OCPs) or
    :data:`EXPRESSION_TRANSPORT_RTOL` relative (``relative``: transport properties);
    the table's ``max_error`` holds the error found.  An expression that is not finite
    somewhere on the range (a pole at theta = 0 or 1) is kept as it is: the model then
    evaluates it in NumPy.
    """
    lo, hi = table_range
    try:
        if relative:
            return tabulate(fn, lo, hi, f"BPX {key}", rtol=EXPRESSION_TRANSPORT_RTOL)
        return tabulate(fn, lo, hi, f"BPX {key}", atol=EXPRESSION_OCP_ATOL)
    except ParameterError:
        return fn


def _arrhenius(ea: float | None, t_ref: float, temperature: float) -> float:
    """exp(Ea / R (1/T_ref - 1/T)); 1 when no activation energy is given."""
    if ea is None or temperature == t_ref:
        return 1.0
    return math.exp(float(ea) / R_GAS * (1.0 / t_ref - 1.0 / temperature))


class _Section:
    """A BPX object (dict) whose accessors name the full key in every error."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ParameterError(f"BPX {path!r} must be an object, got {str(data)[:60]!r}")
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def section(self, name: str, required: bool = True) -> _Section | None:
        if not self.has(name):
            if required:
                raise ParameterError(f"BPX {self.key(name)!r} is missing (needed for a DFN cell)")
            return None
        return _Section(self.data[name], self.key(name))

    def raw(self, name: str) -> Any:
        if not self.has(name):
            raise ParameterError(f"BPX {self.key(name)!r} is missing")
        return self.data[name]

    def number(
        self,
        name: str,
        low: float | None = None,
        high: float | None = None,
        *,
        low_open: bool = False,
        default: float | None = None,
        required: bool = True,
    ) -> float | None:
        """A finite number in [low, high] (``low_open``: (low, high])."""
        if not self.has(name):
            if default is not None or not required:
                return default
            raise ParameterError(f"BPX {self.key(name)!r} is missing")
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"BPX {self.key(name)!r} = {value!r} must be a number")
        v = float(value)
        ok = math.isfinite(v)
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v <= high
        if not ok:
            lb = "(" if low_open else "["
            lo_s = "-inf" if low is None else f"{low:g}"
            hi_s = "inf" if high is None else f"{high:g}"
            raise ParameterError(
                f"BPX {self.key(name)!r} = {value!r} is outside the allowed range "
                f"{lb}{lo_s}, {hi_s}]"
            )
        return v


def _json_depth_ok(obj: Any, limit: int) -> bool:
    stack = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _read_bpx(source: str | Path | Mapping[str, Any]) -> _Section:
    """The BPX document as a :class:`_Section` (JSON only, size- and depth-limited)."""
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ParameterError(f"BPX file {str(path)!r} does not exist")
        if path.suffix.lower() in (".yml", ".yaml"):
            raise ParameterError(f"BPX file {str(path)!r}: only JSON BPX files are supported")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParameterError(
                f"BPX file {str(path)!r} has {size} bytes; the limit is {MAX_FILE_BYTES}"
            )
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ParameterError(f"BPX file {str(path)!r} is not valid JSON ({exc})") from None
    if not _json_depth_ok(data, MAX_JSON_DEPTH):
        raise ParameterError(f"BPX document nested deeper than {MAX_JSON_DEPTH} levels")
    return _Section(data, "")


def _hysteresis_fields(data: Any, path: str = "") -> list[str]:
    """Dotted paths of every key of the document that describes OCP hysteresis."""
    found: list[str] = []
    stack = [(data, path)]
    while stack:
        item, where = stack.pop()
        if not isinstance(item, Mapping):
            continue
        for key, value in item.items():
            full = f"{where}.{key}" if where else str(key)
            low = str(key).lower()
            if "hysteresis" in low or "lithiation" in low:
                found.append(full)
            elif isinstance(value, Mapping):
                stack.append((value, full))
    return sorted(found)


def _electrode_layer(
    el: _Section,
    positive: bool,
    temperature: float,
    t_ref: float,
    ce0: float,
    density: float,
    tabulate_expressions: bool = True,
) -> Layer:
    key = el.path
    theta_range = (0.0, 1.0) if tabulate_expressions else None
    section = key.split(".")[-1]
    if el.has("Particle"):
        raise ParameterError(f"BPX '{key}.Particle': blended electrodes are not supported")
    if not el.has("Porosity") or not el.has("Conductivity [S.m-1]"):
        missing = "Porosity" if not el.has("Porosity") else "Conductivity [S.m-1]"
        raise ParameterError(
            f"BPX '{key}.{missing}' is missing: an SPM-only electrode cannot build a "
            "porous-electrode layer"
        )
    c_max = el.number("Maximum concentration [mol.m-3]", 0.0, low_open=True)
    sto_min = el.number("Minimum stoichiometry", 0.0, 1.0)
    sto_max = el.number("Maximum stoichiometry", 0.0, 1.0)
    if not sto_min < sto_max:
        raise ParameterError(
            f"BPX '{key}': need Minimum stoichiometry ({sto_min}) < "
            f"Maximum stoichiometry ({sto_max})"
        )
    ea_k = el.number("Reaction rate constant activation energy [J.mol-1]", 0.0, required=False)
    ea_d = el.number("Diffusivity activation energy [J.mol-1]", 0.0, required=False)
    k = el.number("Reaction rate constant [mol.m-2.s-1]", 0.0, low_open=True) * _arrhenius(
        ea_k, t_ref, temperature
    )
    prefactor = F * k / (c_max * math.sqrt(ce0))
    d_scale = _arrhenius(ea_d, t_ref, temperature)
    sto_range = (sto_min, sto_max)
    diffusivity = _to_function(
        el.raw("Diffusivity [m2.s-1]"),
        el.key("Diffusivity [m2.s-1]"),
        d_scale,
        domain=sto_range,
        positive=True,
        table_range=theta_range,
    )
    ocp = _to_function(
        el.raw("OCP [V]"), el.key("OCP [V]"), domain=sto_range, table_range=theta_range
    )
    sigma = el.number("Conductivity [S.m-1]", 0.0, low_open=True)
    radius = el.number("Particle radius [m]", 0.0, low_open=True)
    area_density = el.number("Surface area per unit volume [m-1]", 0.0, low_open=True)
    porosity = el.number("Porosity")
    efficiency = el.number("Transport efficiency", 0.0, low_open=True)
    thickness = el.number("Thickness [m]")
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
            thickness=thickness,
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
    tabulate_expressions: bool = True,
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
    tabulate_expressions
        Tabulate every expression string finely (:func:`_tabulate_expression`: OCPs to
        1 uV, transport properties to 1e-6 relative), so that the model runs its fully
        compiled residual (compiled interpolants); False keeps the expressions (exact,
        evaluated in NumPy by the model).

    Returns
    -------
    Cell
        Negative and positive electrodes of one layer each, separator, electrolyte.

    Raises
    ------
    ParameterError
        Invalid BPX (the message names the offending key, the value and the allowed
        range), an unsafe or oversized expression, or a feature electrohet cannot
        represent (blended electrodes, OCP hysteresis: every hysteresis field named).
    """
    doc = _read_bpx(source)
    hysteresis = _hysteresis_fields(doc.data)
    if hysteresis:
        raise ParameterError(
            "BPX OCP hysteresis is not supported (electrohet has one OCP per electrode): "
            + ", ".join(repr(k) for k in hysteresis)
        )
    header = doc.section("Header")
    model = str(header.raw("Model")) if header.has("Model") else "DFN"
    if model not in ("DFN", "SPMe", "SPM"):
        raise ParameterError(f"BPX 'Header.Model' = {model!r} must be DFN, SPMe or SPM")
    par = doc.section("Parameterisation")
    cell_s = par.section("Cell")
    el_s = par.section("Electrolyte")
    neg_s = par.section("Negative electrode")
    pos_s = par.section("Positive electrode")
    sep_s = par.section("Separator")
    state = doc.section("State", required=False)
    ic = state.section("Initial conditions", required=False) if state is not None else None
    thermal = state.section("Thermal environment", required=False) if state is not None else None

    t_ref = cell_s.number("Reference temperature [K]", 0.0, low_open=True)
    if temperature is None:
        if ic is not None and ic.has("Initial temperature [K]"):
            temperature = ic.number("Initial temperature [K]", 0.0, low_open=True)
        elif thermal is not None and thermal.has("Ambient temperature [K]"):
            temperature = thermal.number("Ambient temperature [K]", 0.0, low_open=True)
        else:
            temperature = t_ref
    ce0 = _DEFAULT_CE0
    soc = 1.0
    if ic is not None:
        ce0 = ic.number(
            "Initial electrolyte concentration [mol.m-3]", 0.0, low_open=True, default=ce0
        )
        soc = ic.number("Initial state-of-charge", 0.0, 1.0, default=soc)
    dens = {"positive": float("nan"), "negative": float("nan")}
    dens.update({k: float(v) for k, v in (densities or {}).items()})
    neg_layer = _electrode_layer(
        neg_s, False, temperature, t_ref, ce0, dens["negative"], tabulate_expressions
    )
    pos_layer = _electrode_layer(
        pos_s, True, temperature, t_ref, ce0, dens["positive"], tabulate_expressions
    )
    ce_range = (0.0, ELECTROLYTE_SPAN * ce0) if tabulate_expressions else None
    pm, nm = pos_layer.material, neg_layer.material
    theta_pos = pm.theta_0 + soc * (pm.theta_100 - pm.theta_0)
    theta_neg = nm.theta_0 + soc * (nm.theta_100 - nm.theta_0)
    if initial_stoichiometries:
        theta_pos = float(initial_stoichiometries.get("positive", theta_pos))
        theta_neg = float(initial_stoichiometries.get("negative", theta_neg))

    sep_eff = sep_s.number("Transport efficiency", 0.0, low_open=True)
    sep_eps = sep_s.number("Porosity")
    try:
        separator = Separator(
            thickness=sep_s.number("Thickness [m]"),
            porosity=sep_eps,
            tortuosity=sep_eps / sep_eff,
        )
    except ParameterError as exc:
        raise ParameterError(f"BPX 'Parameterisation.Separator': {exc}") from None

    c_range = (0.5 * ce0, 1.5 * ce0)
    ea_kappa = el_s.number("Conductivity activation energy [J.mol-1]", 0.0, required=False)
    ea_de = el_s.number("Diffusivity activation energy [J.mol-1]", 0.0, required=False)
    electrolyte = Electrolyte(
        name="electrolyte (BPX)",
        conductivity=_to_function(
            el_s.raw("Conductivity [S.m-1]"),
            el_s.key("Conductivity [S.m-1]"),
            _arrhenius(ea_kappa, t_ref, temperature),
            domain=c_range,
            positive=True,
            table_range=ce_range,
        ),
        diffusivity=_to_function(
            el_s.raw("Diffusivity [m2.s-1]"),
            el_s.key("Diffusivity [m2.s-1]"),
            _arrhenius(ea_de, t_ref, temperature),
            domain=c_range,
            positive=True,
            table_range=ce_range,
        ),
        transference=el_s.number("Cation transference number", 0.0, 1.0, low_open=True),
        thermodynamic_factor=1.0,
        c0=ce0,
        citation="BPX import",
    )

    n_pairs = cell_s.number(
        "Number of electrode pairs connected in parallel to make a cell",
        1.0,
        default=1.0,
    )
    area = cell_s.number("Electrode area [m2]", 0.0, low_open=True) * n_pairs
    title = header.raw("Title") if header.has("Title") else "BPX cell"
    try:
        return Cell(
            negative=Electrode([neg_layer], theta_init=theta_neg),
            separator=separator,
            positive=Electrode([pos_layer], theta_init=theta_pos),
            electrolyte=electrolyte,
            temperature=temperature,
            v_min=cell_s.number("Lower voltage cut-off [V]", 0.0, 10.0),
            v_max=cell_s.number("Upper voltage cut-off [V]", 0.0, 10.0),
            area=area,
            nominal_capacity=cell_s.number("Nominal cell capacity [A.h]", 0.0, low_open=True)
            / area,
            name=str(title)[:200],
            meta={
                "source": "BPX",
                "bpx_version": str(header.raw("BPX")) if header.has("BPX") else "",
                "references": str(header.data.get("References") or "")[:2000],
            },
        )
    except ParameterError as exc:
        raise ParameterError(f"BPX 'Parameterisation.Cell': {exc}") from None
