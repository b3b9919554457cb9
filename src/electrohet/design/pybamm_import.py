"""Build an electrohet :class:`~electrohet.design.layer.Cell` from a PyBaMM parameter set.

:func:`from_pybamm` takes the name of a built-in PyBaMM lithium-ion parameter set (or a
``pybamm.ParameterValues``) and returns the cell that PyBaMM's default DFN
(``pybamm.lithium_ion.DFN()``: isothermal, symmetric Butler-Volmer, Fickian single
particles, Bruggeman transport) describes with it.  PyBaMM is optional and imported only
when the function is called (``pip install electrohet[pybamm]``).

Every function of state is evaluated by PyBaMM itself: the importer builds PyBaMM's own
model expressions (``pybamm.LithiumIonParameters``: ``U(sto, T)`` with its entropic
term and end asymptotes, ``D(c_s, T)``, ``j0(c_e, c_s, T)``, ``kappa_e``, ``D_e``,
``t_plus``, ``thermodynamic_factor``, ``sigma``) with ``pybamm.Vector`` inputs,
processes them with the ``ParameterValues`` and calls ``.evaluate()``; nothing of
PyBaMM's formulas is re-implemented.  The values are tabulated on an adaptive grid
(linear interpolation, constant beyond the ends) refined until the midpoint
interpolation error is below ``ocp_tolerance`` [V] for the OCPs (default 10 uV) and
below 1e-4 relative for transport properties; each table keeps its estimate as
``max_error``.

Naming conventions (PyBaMM -> electrohet):

=================================================  ==========================================
PyBaMM                                             electrohet
=================================================  ==========================================
Bruggeman coefficient (electrolyte) b_e,           ``Layer.bruggeman = b_e - 1``
  eps_e^b_e = eps_e / tau_e                          (tau_e = eps_e^-(b_e - 1))
conductivity sigma, Bruggeman (electrode) b_s      ``Layer.conductivity = sigma (1 - eps_e)^b_s``
                                                     (PyBaMM's electrode transport efficiency)
active material volume fraction, particle radius   ``active_fraction``, ``particle_radius``
j0(c_e, c_s, T) = m c_e^a_e (c_max - c_s)^a_v       ``exchange_prefactor = m`` (at T),
  c_s^a_o (exponents measured; 1/2 by default)       ``i0_exponents`` (None for 1/2)
t_plus(c_e), thermodynamic_factor(c_e)             ``Electrolyte.transference``,
                                                     ``.thermodynamic_factor``: numbers,
                                                     or tables where they vary
Electrode height x width x electrodes in parallel  ``Cell.area``
Nominal cell capacity [A.h]                        ``Cell.nominal_capacity = Q / area``
Ambient temperature [K]                            ``Cell.temperature`` (isothermal DFN)
Lithium-metal electrode (half-cell sets)           :class:`~electrohet.materials.base.LithiumMetal`
  j0_Li_metal(c_e, 1/V_bar_Li, T)                    ``i0_ref (c_e / c0)^exponent``
  thickness / conductivity                           ``Cell.contact_resistance = L_n / sigma_n``
Initial concentrations                             ``theta_init = c_init / c_max``, ``c0``
ElectrodeSOH min/max stoichiometries               ``theta_0`` / ``theta_100``
=================================================  ==========================================

**Bruggeman.**  electrohet's ``Layer.bruggeman`` is the exponent of the *tortuosity*
(tau = eps^-b), PyBaMM's the exponent of the *transport efficiency* (eps^b_e): passing
PyBaMM's 1.5 unconverted builds another cell (transport efficiency eps^2.5).  The
importer converts; code that copies PyBaMM values by hand must subtract 1.

Refused (:class:`~electrohet.errors.ParameterError` naming every feature at once), as
detected from the parameter values, not from the set's name: composite electrodes
(several particle phases), OCP hysteresis, MSMR electrodes, particle-size
distributions, exchange-current densities that are not a product of powers
m c_e^a_e (c_max - c_s)^a_v c_s^a_o (to 0.2 % on c_e = 0.25-3 c0, theta = 0.05-0.95),
stoichiometry-dependent electrode conductivity, a time-dependent ambient
temperature, position-dependent geometry or initial concentrations, Bruggeman
coefficients below 1, a lithium-metal exchange current that is not a power of c_e, and
any PyBaMM model option other than the DFN defaults and asymmetric Butler-Volmer
kinetics (thermal models, SEI, plating,
particle mechanics, loss of active material, double-layer "surface form", contact
resistance, ...).
Parameters that the default DFN does not use (thermal, SEI, plating, cracking) are
listed in ``Cell.meta["unused"]`` and otherwise ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from electrohet.errors import ParameterError
from electrohet.materials.base import ActiveMaterial, Electrolyte, constant

#: Relative tolerance on the linear interpolation of transport properties [-].
TRANSPORT_RTOL = 1e-4
#: Largest number of points of one table [-].
MAX_TABLE_POINTS = 40_001
#: Narrowest interval the adaptive refinement splits [same units as x].
MIN_TABLE_WIDTH = 1e-7
#: Electrolyte concentrations are tabulated on [0, ELECTROLYTE_SPAN x c0] [-].
ELECTROLYTE_SPAN = 4.0
#: Relative tolerance of the exchange-current exponent test [-] (PyBaMM regularises
#: the square roots; at theta = 0.05 its RegPower departs from the root by ~1e-4).
I0_EXPONENT_RTOL = 2e-3

PYBAMM_EXTRA = "pip install electrohet[pybamm]"
_LI_METAL_I0 = "Exchange-current density for lithium metal electrode [A.m-2]"

#: PyBaMM DFN options that the electrohet model reproduces (the defaults).  Anything
#: else passed as ``options`` is refused.
_DEFAULT_OPTIONS: dict[str, str] = {
    "calculate discharge energy": "false",
    "calculate heat source for isothermal models": "false",
    "cell geometry": "arbitrary",
    "contact resistance": "false",
    "convection": "none",
    "current collector": "uniform",
    "diffusivity": "single",
    "dimensionality": "0",
    "electrolyte conductivity": "default",
    "exchange-current density": "single",
    "heat of mixing": "false",
    "hydrolysis": "false",
    "intercalation kinetics": "symmetric Butler-Volmer",
    "interface utilisation": "full",
    "lithium plating": "none",
    "lithium plating porosity change": "false",
    "loss of active material": "none",
    "number of MSMR reactions": "none",
    "open-circuit potential": "single",
    "operating mode": "current",
    "particle": "Fickian diffusion",
    "particle mechanics": "none",
    "particle phases": "1",
    "particle shape": "spherical",
    "particle size": "single",
    "SEI": "none",
    "SEI film resistance": "none",
    "SEI on cracks": "false",
    "SEI porosity change": "false",
    "stress-induced diffusion": "false",
    "surface form": "false",
    "surface temperature": "ambient",
    "thermal": "isothermal",
    "total interfacial current density as a state": "false",
    "transport efficiency": "Bruggeman",
    "voltage as a state": "false",
    "working electrode": "both",
    "x-average side reactions": "false",
    "use lumped thermal capacity": "false",
}

#: Parameter groups the isothermal default DFN does not use: (label, name fragments).
_UNUSED_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("thermal", ("heat", "thermal", "Initial temperature", "density [kg.m-3]", "emissivity")),
    ("SEI", ("SEI",)),
    ("lithium plating", ("plating", "plated", "stripping", "Dead lithium")),
    ("particle mechanics", ("cracking", "crack", "Young", "Poisson", "Paris", "volume change")),
    ("loss of active material", ("LAM",)),
    ("double layer", ("double-layer",)),
    ("contact resistance", ("Contact resistance",)),
    ("current collectors", ("current collector", "tab ")),
)


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------
class TabulatedFunction:
    """A function sampled on a grid, linearly interpolated (constant beyond the ends).

    Parameters
    ----------
    x, y
        Grid (strictly increasing) and values, in the units of the sampled function.
    name
        What was sampled (for messages and ``repr``).
    max_error
        Largest |linear interpolation - function| found at the midpoints of the final
        grid, in the units of ``y``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, name: str, max_error: float) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.__name__ = name
        self.max_error = float(max_error)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=float), self.x, self.y)

    @property
    def linear_table(self) -> tuple[np.ndarray, np.ndarray]:
        """The knots ``(x, y)``: the model's compiled residual interpolates them with
        the arithmetic of ``np.interp`` (:func:`electrohet.model.material_kernels.interp`)."""
        return self.x, self.y

    def __repr__(self) -> str:
        return (
            f"TabulatedFunction({self.__name__!r}, {self.x.size} points on "
            f"[{self.x[0]:g}, {self.x[-1]:g}], max error {self.max_error:.2g})"
        )


def tabulate(
    fn: Callable[[np.ndarray], np.ndarray],
    low: float,
    high: float,
    name: str,
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
    n_start: int = 513,
) -> Callable[[np.ndarray], np.ndarray]:
    """Sample ``fn`` on [low, high], refining until linear interpolation is accurate.

    Intervals whose midpoint value differs from the linear interpolation by more than
    ``atol + rtol |f|`` are halved (down to :data:`MIN_TABLE_WIDTH`, at most
    :data:`MAX_TABLE_POINTS` points).  A function that is constant on the grid is
    returned as :func:`~electrohet.materials.base.constant` (the model then uses the
    number directly).

    Parameters
    ----------
    fn
        Vectorised function of one array.
    low, high
        Sampled range.
    name
        Label of the table (used in error messages).
    atol, rtol
        Absolute (units of ``fn``) and relative (-) interpolation tolerances.
    n_start
        Points of the initial uniform grid.

    Returns
    -------
    callable
        A :class:`TabulatedFunction` or a constant.

    Raises
    ------
    ParameterError
        ``fn`` is not finite somewhere on the grid.
    """
    x = np.linspace(low, high, n_start)
    y = _finite(fn(x), x, name)
    if np.all(y == y[0]):
        return constant(float(y[0]))
    err = math.inf
    while True:
        xm = 0.5 * (x[:-1] + x[1:])
        ym = _finite(fn(xm), xm, name)
        dev = np.abs(ym - 0.5 * (y[:-1] + y[1:]))
        err = float(dev.max())
        bad = (dev > atol + rtol * np.abs(ym)) & (np.diff(x) > 2 * MIN_TABLE_WIDTH)
        if not bad.any() or x.size + int(bad.sum()) > MAX_TABLE_POINTS:
            break
        x = np.concatenate([x, xm[bad]])
        y = np.concatenate([y, ym[bad]])
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return TabulatedFunction(x, y, name, err)


def _finite(values: Any, x: np.ndarray, name: str) -> np.ndarray:
    y = np.broadcast_to(np.asarray(values, dtype=float).reshape(-1), x.shape).copy()
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError(f"PyBaMM {name}: value {y[i]} at {x[i]:g} is not finite")
    return y


# --------------------------------------------------------------------------------------
# where the numbers come from
# --------------------------------------------------------------------------------------
class ParameterSource(Protocol):
    """What :func:`cell_from_source` needs from a parameter set (SI units throughout).

    ``domain`` is ``"negative"`` or ``"positive"``; arrays are 1-D float arrays.
    :class:`PyBaMMSource` implements it with PyBaMM's own evaluation.
    """

    name: str

    def keys(self) -> Iterable[str]:
        """All parameter names of the set."""

    def is_function(self, key: str) -> bool:
        """Whether the parameter is a function (not a number)."""

    def number(self, key: str) -> float:
        """A scalar parameter."""

    def ocp(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        """Open-circuit potential [V] as the DFN uses it."""

    def diffusivity(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        """Particle diffusivity [m^2/s]."""

    def exchange_current(
        self, domain: str, c_e: np.ndarray, c_s: np.ndarray, T: float
    ) -> np.ndarray:
        """Exchange-current density [A/m^2] at c_e, c_s [mol/m^3]."""

    def electrode_conductivity(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        """Electrode (solid) conductivity [S/m]."""

    def electrolyte(self, prop: str, c_e: np.ndarray, T: float) -> np.ndarray:
        """``prop`` in {"kappa", "D_e", "t_plus", "tdf"} at c_e [mol/m^3]."""

    def li_metal_exchange_current(self, c_e: np.ndarray, T: float) -> np.ndarray:
        """Exchange-current density of a lithium-metal counter electrode [A/m^2]."""

    def stoichiometry_window(self) -> tuple[float, float, float, float] | None:
        """(x_0, x_100, y_100, y_0) from the electrode state of health, or None (a half
        cell: x_0 = x_100 = NaN)."""

    def initial_concentrations(self, soc: float) -> tuple[float, float]:
        """(negative, positive) initial particle concentrations [mol/m^3] at ``soc``
        (negative NaN for a half cell)."""


class PyBaMMSource:
    """A ``pybamm.ParameterValues`` seen through PyBaMM's own model expressions."""

    def __init__(self, parameter_values: Any, name: str = "") -> None:
        import pybamm

        self._pybamm = pybamm
        self.pv = parameter_values
        self.name = name
        keys = set(parameter_values.keys())
        self.half_cell = (
            "Maximum concentration in negative electrode [mol.m-3]" not in keys
            and _LI_METAL_I0 in keys
        )
        self.options = {"working electrode": "positive"} if self.half_cell else None
        self.param = pybamm.LithiumIonParameters(self.options)

    def keys(self) -> Iterable[str]:
        return [k for k in self.pv.keys() if k != "citations"]

    def is_function(self, key: str) -> bool:
        value = self.pv[key]
        # a Python function or an interpolant's (name, (x, y)) data
        return callable(value) or isinstance(value, tuple)

    def number(self, key: str) -> float:
        value = self.pv[key]
        if isinstance(value, self._pybamm.Symbol):  # e.g. a pybamm.Scalar
            value = self.pv.evaluate(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"PyBaMM {key!r} must be a number, got {str(value)[:60]!r}"
            ) from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ParameterError(f"PyBaMM {key!r} = {value!r} must be a finite number")
        return number

    def _eval(self, symbol: Any, like: np.ndarray) -> np.ndarray:
        out = self.pv.process_symbol(symbol).evaluate()
        return np.broadcast_to(np.asarray(out, dtype=float).reshape(-1), like.shape).copy()

    def _domain(self, domain: str) -> Any:
        return self.param.n if domain == "negative" else self.param.p

    def ocp(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        pb = self._pybamm
        expr = self._domain(domain).prim.U(pb.Vector(sto), pb.Scalar(T))
        return self._eval(expr, sto)

    def diffusivity(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        pb = self._pybamm
        prim = self._domain(domain).prim
        expr = prim.D(pb.Vector(sto) * prim.c_max, pb.Scalar(T))
        return self._eval(expr, sto)

    def exchange_current(
        self, domain: str, c_e: np.ndarray, c_s: np.ndarray, T: float
    ) -> np.ndarray:
        pb = self._pybamm
        expr = self._domain(domain).prim.j0(pb.Vector(c_e), pb.Vector(c_s), pb.Scalar(T))
        return self._eval(expr, c_e)

    def electrode_conductivity(self, domain: str, sto: np.ndarray, T: float) -> np.ndarray:
        pb = self._pybamm
        expr = self._domain(domain).sigma(pb.Vector(sto), pb.Scalar(T))
        return self._eval(expr, sto)

    def electrolyte(self, prop: str, c_e: np.ndarray, T: float) -> np.ndarray:
        pb = self._pybamm
        fn = {
            "kappa": self.param.kappa_e,
            "D_e": self.param.D_e,
            "t_plus": self.param.t_plus,
            "tdf": self.param.thermodynamic_factor,
        }[prop]
        return self._eval(fn(pb.Vector(c_e), pb.Scalar(T)), c_e)

    def li_metal_exchange_current(self, c_e: np.ndarray, T: float) -> np.ndarray:
        pb = self._pybamm
        # PyBaMM's lithium-metal interface evaluates it at c_Li = 1 / V_bar_Li
        expr = self.param.j0_Li_metal(pb.Vector(c_e), 1 / self.param.V_bar_Li, pb.Scalar(T))
        return self._eval(expr, c_e)

    def stoichiometry_window(self) -> tuple[float, float, float, float] | None:
        lib = self._pybamm.lithium_ion
        try:
            if self.half_cell:
                sol = lib.electrode_soh_half_cell.get_min_max_stoichiometries(
                    self.pv, options=self.options
                )
                return math.nan, math.nan, float(sol["x_100"]), float(sol["x_0"])
            x0, x100, y100, y0 = lib.get_min_max_stoichiometries(self.pv)
        except Exception:  # noqa: BLE001  (PyBaMM's SOH solve failed: no window)
            return None
        return float(x0), float(x100), float(y100), float(y0)

    def initial_concentrations(self, soc: float) -> tuple[float, float]:
        pv = self.pv.set_initial_state(soc, inplace=False, options=self.options)
        c_n = math.nan
        if not self.half_cell:
            c_n = float(pv["Initial concentration in negative electrode [mol.m-3]"])
        return c_n, float(pv["Initial concentration in positive electrode [mol.m-3]"])


# --------------------------------------------------------------------------------------
# the conversion
# --------------------------------------------------------------------------------------
@dataclass
class _Check:
    """Collects every feature electrohet cannot carry, for one ParameterError."""

    source: ParameterSource
    problems: list[str]

    def add(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def number(self, key: str, default: float | None = None) -> float:
        """A scalar parameter; a function or a missing key is recorded (NaN returned)."""
        keys = set(self.source.keys())
        if key not in keys:
            if default is not None:
                return default
            self.add(f"{key!r} is missing")
            return math.nan
        if self.source.is_function(key):
            self.add(f"{key!r} is a function (position- or time-dependent); a number is needed")
            return math.nan
        try:
            return self.source.number(key)
        except ParameterError as exc:
            self.add(str(exc))
            return math.nan


def _key_features(keys: list[str]) -> list[str]:
    """Features named by the parameter keys themselves."""
    out = []

    def named(pred: Callable[[str], bool]) -> list[str]:
        return sorted(k for k in keys if pred(k))

    phases = named(lambda k: k.startswith(("Primary: ", "Secondary: ")))
    if phases:
        out.append(
            f"composite electrode with several particle phases ({len(phases)} keys such as "
            f"{phases[0]!r})"
        )
    hyst = named(lambda k: "hysteresis" in k.lower() or "lithiation OCP" in k)
    if hyst:
        out.append(f"OCP hysteresis ({', '.join(repr(k) for k in hyst[:4])})")
    msmr = named(lambda k: "host site" in k)
    if msmr:
        out.append(f"MSMR electrode ({len(msmr)} keys such as {msmr[0]!r})")
    psd = named(
        lambda k: (
            "particle-size distribution" in k
            or "minimum particle radius" in k
            or "maximum particle radius" in k
        )
    )
    if psd:
        out.append(f"particle-size distribution ({', '.join(repr(k) for k in psd[:3])})")
    return out


#: PyBaMM options with another value than the default that electrohet also reproduces.
_ALSO_CARRIED: dict[str, set[str]] = {"intercalation kinetics": {"asymmetric Butler-Volmer"}}


def _option_features(options: Mapping[str, Any] | None) -> list[str]:
    out = []
    for key, value in (options or {}).items():
        default = _DEFAULT_OPTIONS.get(key)
        if str(value) in _ALSO_CARRIED.get(key, set()):
            continue
        if default is None:
            out.append(f"PyBaMM option {key!r} = {value!r} (not a DFN option electrohet knows)")
        elif str(value) != default:
            out.append(f"PyBaMM option {key!r} = {value!r} (electrohet reproduces {default!r})")
    return out


def _unused_groups(keys: list[str]) -> list[str]:
    found = []
    for label, fragments in _UNUSED_GROUPS:
        if any(any(f in k for f in fragments) for k in keys):
            found.append(label)
    return found


def _spread(values: np.ndarray) -> float:
    """Largest relative departure of ``values`` from their first element [-]."""
    ref = float(values[0])
    scale = max(abs(ref), 1e-300)
    return float(np.max(np.abs(values - ref)) / scale)


def _exchange_prefactor(
    src: ParameterSource, domain: str, c_max: float, c0: float, T: float, chk: _Check
) -> tuple[float, tuple[float, float, float] | None]:
    """m and the exponents of i0 = m c_e^a_e (c_max - c_s)^a_v c_s^a_o.

    The form with exponents 1/2 is tried first (exponents None: the material's default
    form, as before); else the exponents are measured by a least-squares fit of
    ln i0 on the (c_e, theta) grid and the law is checked there (relative departure
    below :data:`I0_EXPONENT_RTOL`).
    """
    ce_pts = c0 * np.array([0.25, 0.5, 1.0, 2.0, 3.0])
    th_pts = np.array([0.05, 0.2, 0.5, 0.8, 0.95])
    ce, th = (a.ravel() for a in np.meshgrid(ce_pts, th_pts))
    cs = th * c_max
    j0 = src.exchange_current(domain, ce, cs, T)
    m = j0 / np.sqrt(ce * cs * (c_max - cs))
    if not (np.all(np.isfinite(m)) and np.all(m > 0)):
        chk.add(
            f"{domain} exchange-current density is not finite and positive on c_e = "
            "0.25-3 c0, theta = 0.05-0.95"
        )
        return math.nan, None
    # the prefactor where PyBaMM's square-root regularisation is negligible
    ref = (ce == c0) & (th == 0.5)
    m_ref = float(m[ref][0])
    dev = float(np.max(np.abs(m / m_ref - 1.0)))
    if dev <= I0_EXPONENT_RTOL:
        return m_ref, None
    # measured exponents: ln i0 = ln m + a_e ln c_e + a_v ln(c_max - c_s) + a_o ln c_s
    A = np.column_stack([np.ones_like(ce), np.log(ce), np.log(c_max - cs), np.log(cs)])
    coef = np.linalg.lstsq(A, np.log(j0), rcond=None)[0]
    a_e, a_v, a_o = (float(a) for a in coef[1:])
    law = j0 / (ce**a_e * (c_max - cs) ** a_v * cs**a_o)
    m_ref = float(law[ref][0])
    dev = float(np.max(np.abs(law / m_ref - 1.0)))
    if dev > I0_EXPONENT_RTOL:
        chk.add(
            f"{domain} exchange-current density is not m c_e^a_e (c_max - c_s)^a_v c_s^a_o "
            f"(best exponents {a_e:.3g}, {a_v:.3g}, {a_o:.3g} leave {100 * dev:.3g} % over "
            "c_e = 0.25-3 c0, theta = 0.05-0.95)"
        )
    return m_ref, (a_e, a_v, a_o)


def _electrode(
    src: ParameterSource,
    chk: _Check,
    domain: str,
    T: float,
    c0: float,
    ocp_tolerance: float,
    theta_init: float,
    window: tuple[float, float] | None,
    asymmetric: bool = False,
):
    """Layer of one electrode (None where a problem was found).

    With ``asymmetric`` (PyBaMM's "asymmetric Butler-Volmer": anodic exponent alpha,
    cathodic 1 - alpha, alpha = the set's "Butler-Volmer transfer coefficient") the
    transfer coefficients are the set's and the i0 exponents are given explicitly
    (PyBaMM's j0 does not depend on alpha).
    """
    from electrohet.design.layer import Layer

    D = domain.capitalize()
    c_max = chk.number(f"Maximum concentration in {domain} electrode [mol.m-3]")
    eps = chk.number(f"{D} electrode porosity")
    eps_s = chk.number(f"{D} electrode active material volume fraction")
    radius = chk.number(f"{D} particle radius [m]")
    thickness = chk.number(f"{D} electrode thickness [m]")
    b_e = chk.number(f"{D} electrode Bruggeman coefficient (electrolyte)")
    b_s = chk.number(f"{D} electrode Bruggeman coefficient (electrode)")
    density = chk.number(f"{D} electrode density [kg.m-3]", default=math.nan)
    if not all(math.isfinite(v) for v in (c_max, eps, eps_s, radius, thickness, b_e, b_s)):
        return None
    if b_e < 1.0:
        chk.add(
            f"{D} electrode Bruggeman coefficient (electrolyte) = {b_e:g} < 1: tortuosity "
            "eps^(1 - b) would be below 1"
        )
    sto_probe = np.linspace(0.01, 0.99, 25)
    sigma = src.electrode_conductivity(domain, sto_probe, T)
    if _spread(sigma) > 1e-9:
        chk.add(
            f"{domain} electrode conductivity depends on stoichiometry "
            f"({sigma.min():.3g}-{sigma.max():.3g} S/m); electrohet's layer conductivity "
            "is a constant"
        )
    m, exponents = _exchange_prefactor(src, domain, c_max, c0, T, chk)
    alpha = 0.5
    if asymmetric:
        alpha = chk.number(f"{D} electrode Butler-Volmer transfer coefficient")
        if exponents is None:
            exponents = (0.5, 0.5, 0.5)
    if chk.problems:
        return None
    ocp = tabulate(
        lambda s: src.ocp(domain, s, T), 0.0, 1.0, f"{domain} OCP [V]", atol=ocp_tolerance
    )
    diff = tabulate(
        lambda s: src.diffusivity(domain, s, T),
        0.0,
        1.0,
        f"{domain} particle diffusivity [m2.s-1]",
        rtol=TRANSPORT_RTOL,
    )
    if window is None:
        theta_0 = theta_100 = theta_init
    else:
        theta_0, theta_100 = window
    material = ActiveMaterial(
        name=f"{domain} ({src.name or 'PyBaMM'})",
        c_max=c_max,
        ocp=ocp,
        diffusivity=diff,
        exchange_prefactor=m,
        i0_exponents=exponents,
        alpha_a=alpha,
        alpha_c=1.0 - alpha,
        density=density,
        theta_0=theta_0,
        theta_100=theta_100,
        electronic_conductivity=constant(float(sigma[0])),
        citation=f"PyBaMM parameter set {src.name or '(ParameterValues)'}",
    )
    try:
        return Layer(
            material=material,
            thickness=thickness,
            porosity=eps,
            active_fraction=eps_s,
            particle_radius=radius,
            bruggeman=b_e - 1.0,
            conductivity=float(sigma[0]) * (1.0 - eps) ** b_s,
            name=domain,
        )
    except ParameterError as exc:
        chk.add(f"{domain} electrode: {exc}")
        return None


def _lithium_metal(src: ParameterSource, chk: _Check, c0: float, T: float):
    """The lithium-metal counter electrode: i0 = i0_ref (c_e / c0)^a, a checked."""
    from electrohet.materials.base import LithiumMetal

    ce = c0 * np.array([0.25, 0.5, 1.0, 2.0, 3.0])
    j0 = src.li_metal_exchange_current(ce, T)
    if not (np.all(np.isfinite(j0)) and np.all(j0 > 0)):
        chk.add("lithium-metal exchange-current density is not finite and positive")
        return None
    a = float(np.log(j0[3] / j0[2]) / np.log(2.0))
    law = j0[2] * (ce / c0) ** a
    dev = float(np.max(np.abs(law / j0 - 1.0)))
    if dev > I0_EXPONENT_RTOL:
        chk.add(
            f"lithium-metal exchange-current density is not a power of c_e (departs from "
            f"c_e^{a:.3g} by {100 * dev:.3g} %)"
        )
        return None
    return LithiumMetal(i0_ref=float(j0[2]), c_ref=c0, exponent=a, citation=src.name)


def cell_from_source(
    src: ParameterSource,
    *,
    options: Mapping[str, Any] | None = None,
    initial_soc: float | None = None,
    temperature: float | None = None,
    ocp_tolerance: float = 1e-5,
):
    """The electrohet cell of a parameter source (see :func:`from_pybamm`).

    Parameters
    ----------
    src
        The parameter set (a :class:`ParameterSource`).
    options, initial_soc, temperature, ocp_tolerance
        As in :func:`from_pybamm`.

    Returns
    -------
    Cell
        One layer per electrode.

    Raises
    ------
    ParameterError
        One message listing every feature of the set electrohet cannot carry.
    """
    from electrohet.design.layer import Cell, Electrode, Separator

    keys = sorted(src.keys())
    key_set = set(keys)
    half = (
        "Maximum concentration in negative electrode [mol.m-3]" not in key_set
        and _LI_METAL_I0 in key_set
    )
    chk = _Check(src, [])
    opts = dict(options or {})
    if half and opts.get("working electrode", "positive") == "positive":
        opts.pop("working electrode", None)  # the half cell's own option
    asym = opts.get("intercalation kinetics") == "asymmetric Butler-Volmer"
    for text in _key_features(keys) + _option_features(opts):
        chk.add(text)
    if "Maximum concentration in positive electrode [mol.m-3]" not in key_set:
        chk.add(
            "not a lithium-ion porous-electrode (DFN) parameter set: no 'Maximum "
            "concentration in positive electrode [mol.m-3]'"
        )
    if chk.problems:
        _raise(src, chk)

    if temperature is None:
        temperature = chk.number("Ambient temperature [K]")
    T = float(temperature)
    c0 = chk.number("Initial concentration in electrolyte [mol.m-3]")
    if not (math.isfinite(T) and math.isfinite(c0)):
        _raise(src, chk)

    # electrolyte: t+ and the thermodynamic factor, numbers or (when they vary with
    # c_e) tables like the conductivity's
    ce_probe = c0 * np.linspace(0.1, 3.0, 30)
    t_plus = src.electrolyte("t_plus", ce_probe, T)
    tdf = src.electrolyte("tdf", ce_probe, T)

    # initial state and stoichiometry window
    window = src.stoichiometry_window()
    if initial_soc is not None:
        if not 0.0 <= initial_soc <= 1.0:
            raise ParameterError(f"initial_soc = {initial_soc} must lie in [0, 1]")
        c_n0, c_p0 = src.initial_concentrations(float(initial_soc))
    else:
        c_n0 = (
            math.nan
            if half
            else chk.number("Initial concentration in negative electrode [mol.m-3]")
        )
        c_p0 = chk.number("Initial concentration in positive electrode [mol.m-3]")
    cmax_p = chk.number("Maximum concentration in positive electrode [mol.m-3]")
    th_p0 = c_p0 / cmax_p
    win_n = win_p = None
    if window is not None:
        x0, x100, y100, y0 = window
        win_n, win_p = (x0, x100), (y0, y100)

    if half:
        neg: Any = _lithium_metal(src, chk, c0, T)
        th_n0 = math.nan
    else:
        th_n0 = c_n0 / chk.number("Maximum concentration in negative electrode [mol.m-3]")
        neg = _electrode(src, chk, "negative", T, c0, ocp_tolerance, th_n0, win_n, asym)
    pos = _electrode(src, chk, "positive", T, c0, ocp_tolerance, th_p0, win_p, asym)

    b_sep = chk.number("Separator Bruggeman coefficient (electrolyte)")
    if math.isfinite(b_sep) and b_sep < 1.0:
        chk.add(f"Separator Bruggeman coefficient (electrolyte) = {b_sep:g} < 1")
    sep_eps = chk.number("Separator porosity")
    sep_l = chk.number("Separator thickness [m]")
    height = chk.number("Electrode height [m]")
    width = chk.number("Electrode width [m]")
    n_par = chk.number("Number of electrodes connected in parallel to make a cell", default=1.0)
    q_nom = chk.number("Nominal cell capacity [A.h]")
    v_min = chk.number("Lower voltage cut-off [V]")
    v_max = chk.number("Upper voltage cut-off [V]")
    r_foil = 0.0
    if half:
        # PyBaMM's lithium-metal electrode: a potential drop i L_n / sigma_n
        r_foil = chk.number("Negative electrode thickness [m]") / chk.number(
            "Negative electrode conductivity [S.m-1]"
        )
    if chk.problems or neg is None or pos is None:
        _raise(src, chk)

    c_hi = ELECTROLYTE_SPAN * c0
    electrolyte = Electrolyte(
        name=f"electrolyte ({src.name or 'PyBaMM'})",
        conductivity=tabulate(
            lambda c: src.electrolyte("kappa", c, T),
            0.0,
            c_hi,
            "electrolyte conductivity [S.m-1]",
            rtol=TRANSPORT_RTOL,
        ),
        diffusivity=tabulate(
            lambda c: src.electrolyte("D_e", c, T),
            0.0,
            c_hi,
            "electrolyte diffusivity [m2.s-1]",
            rtol=TRANSPORT_RTOL,
        ),
        transference=_transport_number(src, "t_plus", t_plus, c_hi, T, "transference number"),
        thermodynamic_factor=_transport_number(src, "tdf", tdf, c_hi, T, "thermodynamic factor"),
        c0=c0,
        citation=f"PyBaMM parameter set {src.name or '(ParameterValues)'}",
    )
    area = height * width * n_par
    try:
        separator = Separator(thickness=sep_l, porosity=sep_eps, bruggeman=b_sep - 1.0)
        return Cell(
            negative=neg if half else Electrode([neg], theta_init=th_n0),
            separator=separator,
            positive=Electrode([pos], theta_init=th_p0),
            electrolyte=electrolyte,
            temperature=T,
            v_min=v_min,
            v_max=v_max,
            area=area,
            nominal_capacity=q_nom / area,
            contact_resistance=r_foil,
            name=src.name or "PyBaMM parameter set",
            meta={
                "source": "PyBaMM",
                "parameter_set": src.name,
                "unused": _unused_groups(keys),
                "stoichiometry_window": "ElectrodeSOH" if window else "initial state",
            },
        )
    except ParameterError as exc:
        raise ParameterError(f"PyBaMM set {src.name!r}: {exc}") from None


def _transport_number(
    src: ParameterSource, prop: str, probe: np.ndarray, c_hi: float, T: float, label: str
) -> Any:
    """t+ or the thermodynamic factor: its number where it does not vary over the probe
    (c_e = 0.1-3 c0), else a table of PyBaMM's values on [0, c_hi] (relative accuracy
    :data:`TRANSPORT_RTOL`, as the conductivity's)."""
    if _spread(probe) <= 1e-9:
        return float(probe[0])
    return tabulate(
        lambda c: src.electrolyte(prop, c, T),
        0.0,
        c_hi,
        f"electrolyte {label} [-]",
        rtol=TRANSPORT_RTOL,
    )


def _raise(src: ParameterSource, chk: _Check) -> None:
    label = repr(src.name) if src.name else "(ParameterValues)"
    items = "; ".join(f"({i + 1}) {p}" for i, p in enumerate(chk.problems))
    raise ParameterError(
        f"PyBaMM parameter set {label} uses {len(chk.problems)} feature(s) electrohet "
        f"cannot carry: {items}"
    )


def from_pybamm(
    name_or_parameter_values: str | Any,
    *,
    options: Mapping[str, Any] | None = None,
    initial_soc: float | None = None,
    temperature: float | None = None,
    ocp_tolerance: float = 1e-5,
):
    """Build the electrohet cell of a PyBaMM lithium-ion parameter set.

    The cell is the one PyBaMM's default DFN (``pybamm.lithium_ion.DFN()``) simulates
    with these parameters; see the module docstring for the mapping and the refused
    features.  Note the Bruggeman convention: electrohet's ``Layer.bruggeman`` is
    PyBaMM's "Bruggeman coefficient (electrolyte)" minus 1 (the importer converts).

    Parameters
    ----------
    name_or_parameter_values
        A built-in set name (``"Chen2020"``, ``"Marquis2019"``...), a
        ``pybamm.ParameterValues`` or a dict of PyBaMM parameters.
    options
        The PyBaMM model options the set is meant for; any value other than the DFN
        default is refused (electrohet is isothermal, without SEI, plating, ...),
        except ``"intercalation kinetics": "asymmetric Butler-Volmer"`` (the set's
        "Butler-Volmer transfer coefficient" alpha: alpha_a = alpha, alpha_c = 1 -
        alpha).
    initial_soc
        Initial state of charge [0-1], set with PyBaMM's own ``set_initial_state``;
        default: the set's initial concentrations.
    temperature
        Cell temperature [K]; default the set's ambient temperature (PyBaMM's
        isothermal DFN runs at it).  Arrhenius factors and entropic OCP terms are
        applied once at this temperature.
    ocp_tolerance
        Largest linear-interpolation error allowed in the OCP tables [V].

    Returns
    -------
    Cell
        One layer per electrode, ``meta["unused"]`` naming the parameter groups the
        DFN does not use.

    Raises
    ------
    ImportError
        PyBaMM is not installed.
    ParameterError
        The set uses features electrohet cannot carry (all named in one message), or
        has invalid values.
    """
    try:
        import pybamm
    except ImportError as exc:  # pragma: no cover - exercised without PyBaMM
        raise ImportError(f"electrohet.design.from_pybamm needs PyBaMM: {PYBAMM_EXTRA}") from exc
    name = ""
    if isinstance(name_or_parameter_values, str):
        name = name_or_parameter_values
        try:
            pv = pybamm.ParameterValues(name)
        except Exception as exc:  # noqa: BLE001  (unknown name: PyBaMM's own message)
            raise ParameterError(f"PyBaMM parameter set {name!r}: {exc}") from None
    elif isinstance(name_or_parameter_values, pybamm.ParameterValues):
        pv = name_or_parameter_values
    elif isinstance(name_or_parameter_values, Mapping):
        pv = pybamm.ParameterValues(dict(name_or_parameter_values))
    else:
        raise ParameterError(
            "from_pybamm: expected a set name, a pybamm.ParameterValues or a dict, got "
            f"{type(name_or_parameter_values).__name__}"
        )
    if not name:
        cites = pv.get("citations", None) if hasattr(pv, "get") else None
        name = str(cites[0]) if isinstance(cites, list | tuple) and cites else ""
    return cell_from_source(
        PyBaMMSource(pv, name),
        options=options,
        initial_soc=initial_soc,
        temperature=temperature,
        ocp_tolerance=ocp_tolerance,
    )
