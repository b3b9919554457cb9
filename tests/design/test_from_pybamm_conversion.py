"""from_pybamm's conversion logic on a fake parameter source (no PyBaMM needed).

The fake source answers what :class:`~electrohet.design.pybamm_import.PyBaMMSource`
answers from PyBaMM (numbers, and functions of stoichiometry / concentration), with
simple closed forms, so that every naming conversion and every refusal can be checked
in the default suite.  The comparison against PyBaMM's DFN itself is in
test_from_pybamm.py.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from electrohet.design import from_pybamm
from electrohet.design.pybamm_import import TabulatedFunction, cell_from_source, tabulate
from electrohet.errors import ParameterError

M = {"negative": 6.48e-7, "positive": 3.42e-6}
CMAX = {"negative": 33133.0, "positive": 63104.0}


def _numbers() -> dict[str, float]:
    n = {
        "Ambient temperature [K]": 298.15,
        "Initial concentration in electrolyte [mol.m-3]": 1000.0,
        "Initial concentration in negative electrode [mol.m-3]": 29866.0,
        "Initial concentration in positive electrode [mol.m-3]": 17038.0,
        "Separator Bruggeman coefficient (electrolyte)": 1.5,
        "Separator porosity": 0.47,
        "Separator thickness [m]": 12e-6,
        "Electrode height [m]": 0.065,
        "Electrode width [m]": 1.58,
        "Number of electrodes connected in parallel to make a cell": 2.0,
        "Nominal cell capacity [A.h]": 10.0,
        "Lower voltage cut-off [V]": 2.5,
        "Upper voltage cut-off [V]": 4.2,
    }
    for dom, (eps, eps_s, r, L) in {
        "negative": (0.25, 0.75, 5.86e-6, 85.2e-6),
        "positive": (0.335, 0.665, 5.22e-6, 75.6e-6),
    }.items():
        D = dom.capitalize()
        n |= {
            f"Maximum concentration in {dom} electrode [mol.m-3]": CMAX[dom],
            f"{D} electrode porosity": eps,
            f"{D} electrode active material volume fraction": eps_s,
            f"{D} particle radius [m]": r,
            f"{D} electrode thickness [m]": L,
            f"{D} electrode Bruggeman coefficient (electrolyte)": 1.5,
            f"{D} electrode Bruggeman coefficient (electrode)": 1.5,
        }
    return n


class FakeSource:
    """A ParameterSource of closed forms; ``change`` swaps in other behaviours."""

    name = "fake"

    def __init__(self, numbers=None, extra_keys=(), **change):
        self.numbers = _numbers() | (numbers or {})
        self.extra_keys = list(extra_keys)
        self.change = change

    def keys(self):
        return list(self.numbers) + self.extra_keys

    def is_function(self, key):
        return key in self.extra_keys

    def number(self, key):
        return self.numbers[key]

    def ocp(self, domain, sto, T):
        if domain == "negative":
            return 0.1 + 1.5 * np.exp(-20.0 * sto)
        return 4.3 - 0.8 * sto - 0.05 * np.tanh(10 * (sto - 0.5))

    def diffusivity(self, domain, sto, T):
        return 1e-14 * (1.0 + sto)

    def exchange_current(self, domain, c_e, c_s, T):
        a_e = self.change.get("a_e", 0.5)
        j0 = M[domain] * c_e**a_e * (c_s * (CMAX[domain] - c_s)) ** 0.5
        if self.change.get("i0_kink"):  # not a product of powers
            j0 = j0 * (1.0 + 0.5 * np.tanh(10.0 * (c_s / CMAX[domain] - 0.5)))
        return j0

    def electrode_conductivity(self, domain, sto, T):
        if self.change.get("sigma_sto"):
            return 1.0 + sto
        return np.full_like(sto, 100.0 if domain == "negative" else 1.0)

    def electrolyte(self, prop, c_e, T):
        c = c_e / 1000.0
        if prop == "kappa":
            return 1.0 * c * np.exp(-0.5 * c) + 1e-3
        if prop == "D_e":
            return 3e-10 * np.exp(-0.3 * c)
        if prop == "t_plus":
            return 0.3 + (0.05 * c if self.change.get("t_plus_c") else 0.0 * c)
        if self.change.get("tdf_c"):
            return 1.0 + 0.5 * c
        return np.full_like(c_e, self.change.get("tdf", 1.0))

    def stoichiometry_window(self):
        return 0.03, 0.90, 0.27, 0.90

    def initial_concentrations(self, soc):
        return (0.03 + soc * 0.87) * CMAX["negative"], (0.90 - soc * 0.63) * CMAX["positive"]


def test_conversion_of_every_named_quantity():
    cell = cell_from_source(FakeSource(tdf=1.3))
    neg, pos = cell.negative.layers[0], cell.positive.layers[0]
    # PyBaMM's Bruggeman 1.5 is electrohet's 0.5 (tau = eps^-0.5, eps/tau = eps^1.5)
    assert neg.bruggeman == pytest.approx(0.5) and pos.bruggeman == pytest.approx(0.5)
    assert cell.separator.bruggeman == pytest.approx(0.5)
    assert pos.porosity / pos.tortuosity_factor == pytest.approx(0.335**1.5)
    # matrix conductivity: sigma (1 - eps)^b_s
    assert neg.conductivity == pytest.approx(100.0 * 0.75**1.5)
    assert pos.conductivity == pytest.approx(1.0 * 0.665**1.5)
    assert neg.material.exchange_prefactor == pytest.approx(M["negative"], rel=1e-12)
    assert pos.material.exchange_prefactor == pytest.approx(M["positive"], rel=1e-12)
    # area: height x width x electrodes in parallel; 1C from the nominal capacity
    assert cell.area == pytest.approx(0.065 * 1.58 * 2)
    assert cell.one_c() * cell.area == pytest.approx(10.0)
    assert cell.negative.theta_init == pytest.approx(29866.0 / 33133.0)
    assert (neg.material.theta_0, neg.material.theta_100) == (0.03, 0.90)
    assert (pos.material.theta_0, pos.material.theta_100) == (0.90, 0.27)
    assert cell.electrolyte.transference == pytest.approx(0.3)
    assert cell.electrolyte.thermodynamic_factor == pytest.approx(1.3)
    assert cell.temperature == 298.15 and (cell.v_min, cell.v_max) == (2.5, 4.2)
    # tables: OCP within the tolerance between nodes; transport relative 1e-4
    src = FakeSource()
    sto = np.linspace(0.0, 1.0, 10_001)
    for lay in (neg, pos):
        assert isinstance(lay.material.ocp, TabulatedFunction)
        err = np.abs(lay.material.ocp(sto) - src.ocp(lay.name, sto, 298.15))
        assert err.max() < 2e-5
    ce = np.linspace(0.0, 4000.0, 7777)
    kap = cell.electrolyte.conductivity(ce)
    np.testing.assert_allclose(kap, src.electrolyte("kappa", ce, 298.15), rtol=3e-4)
    # i0 at c0, theta = 0.5 as the fake's law
    cs = np.array([0.5 * CMAX["positive"]])
    i0 = pos.material.exchange_current(np.array([1000.0]), cs)
    assert i0[0] == pytest.approx(M["positive"] * np.sqrt(1000.0) * 0.5 * CMAX["positive"])


def test_initial_soc_uses_the_sources_initial_state():
    cell = cell_from_source(FakeSource(), initial_soc=0.0)
    assert cell.negative.theta_init == pytest.approx(0.03)
    assert cell.positive.theta_init == pytest.approx(0.90)
    with pytest.raises(ParameterError, match="initial_soc"):
        cell_from_source(FakeSource(), initial_soc=1.5)


def test_every_unsupported_feature_named_in_one_error():
    src = FakeSource(
        numbers={"Negative electrode Bruggeman coefficient (electrolyte)": 0.8},
        extra_keys=["Positive electrode porosity"],
        i0_kink=True,
        sigma_sto=True,
    )
    src.numbers.pop("Positive electrode porosity")
    with pytest.raises(ParameterError) as info:
        cell_from_source(src)
    msg = str(info.value)
    for phrase in (
        "Bruggeman coefficient (electrolyte) = 0.8 < 1",
        "'Positive electrode porosity' is a function",
        "negative exchange-current density is not m c_e^a_e (c_max - c_s)^a_v c_s^a_o",
        "electrode conductivity depends on stoichiometry",
    ):
        assert phrase in msg, phrase


def test_variable_electrolyte_and_i0_exponents_are_carried():
    """t+(c_e) and TDF(c_e) become tables of the source's values; an i0 with c_e^0.3
    gets measured exponents (0.3, 0.5, 0.5) and the prefactor m."""
    cell = cell_from_source(FakeSource(t_plus_c=True, tdf_c=True, a_e=0.3))
    el = cell.electrolyte
    assert isinstance(el.transference, TabulatedFunction)
    assert isinstance(el.thermodynamic_factor, TabulatedFunction)
    c = np.linspace(0.0, 4000.0, 41)
    np.testing.assert_allclose(el.transference_at(c), 0.3 + 0.05e-3 * c, rtol=1e-9)
    np.testing.assert_allclose(el.thermodynamic_factor_at(c), 1.0 + 0.5e-3 * c, rtol=1e-9)
    mat = cell.negative.layers[0].material
    np.testing.assert_allclose(mat.i0_exponents, (0.3, 0.5, 0.5), atol=1e-9)
    assert mat.exchange_prefactor == pytest.approx(M["negative"], rel=1e-9)
    # the 1/2 form stays the default form (no exponents): the import is unchanged
    plain = cell_from_source(FakeSource())
    assert plain.negative.layers[0].material.i0_exponents is None
    assert plain.electrolyte.transference == 0.3


def test_features_named_by_keys_and_options():
    src = FakeSource(
        extra_keys=[
            "Primary: Negative electrode OCP [V]",
            "Secondary: Negative electrode lithiation OCP [V]",
            "Negative electrode host site occupancy fraction (0)",
            "Negative minimum particle radius [m]",
        ]
    )
    with pytest.raises(ParameterError) as info:
        cell_from_source(src, options={"thermal": "lumped", "SEI": "none"})
    msg = str(info.value)
    for phrase in ("particle phases", "hysteresis", "MSMR", "particle-size", "'thermal'"):
        assert phrase in msg, phrase
    assert "'SEI'" not in msg  # a default value is fine


def test_tabulate_refines_where_needed_and_keeps_constants():
    assert tabulate(lambda x: np.full_like(x, 2.5), 0, 1, "c")(np.array([0.3]))[0] == 2.5
    fn = tabulate(lambda x: np.exp(-200 * x), 0.0, 1.0, "steep", atol=1e-6)
    xs = np.linspace(0, 1, 100_003)
    assert np.max(np.abs(fn(xs) - np.exp(-200 * xs))) < 2e-6
    assert fn.x.size < 5000  # refined near 0 only
    with pytest.raises(ParameterError, match="not finite"):
        tabulate(lambda x: np.where(x < 0.5, np.nan, x), 0.0, 1.0, "bad")


def test_without_pybamm_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pybamm", None)  # makes "import pybamm" fail
    with pytest.raises(ImportError, match=r"pip install electrohet\[pybamm\]"):
        from_pybamm("Chen2020")
