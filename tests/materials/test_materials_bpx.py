"""BPX import: a BPX dict with the Chen 2020 values must rebuild chen2020_cell()."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest

from electrohet.design.bpx_import import cell_from_bpx
from electrohet.design.presets import CHEN2020_AREA, chen2020_cell
from electrohet.errors import ParameterError
from electrohet.materials.base import F

NMC_OCP = (
    "-0.8090 * x + 4.4875 - 0.0428 * tanh(18.5138 * (x - 0.5542))"
    " - 17.7326 * tanh(15.7890 * (x - 0.3117)) + 17.5842 * tanh(15.9308 * (x - 0.3120))"
)
GRAPHITE_OCP = (
    "1.9793 * exp(-39.3631 * x) + 0.2482 - 0.0909 * tanh(29.8538 * (x - 0.1234))"
    " - 0.04478 * tanh(14.9159 * (x - 0.2769)) - 0.0205 * tanh(30.4444 * (x - 0.6103))"
)
# Nyman 2008 with x = c_e in mol/m^3.
KAPPA = "0.1297 * (x / 1000) ** 3 - 2.51 * (x / 1000) ** 1.5 + 3.329 * (x / 1000)"
D_E = "8.794e-11 * (x / 1000) ** 2 - 3.972e-10 * (x / 1000) + 4.862e-10"

M_POS, M_NEG = 3.42e-6, 6.48e-7  # Chen 2020 prefactors, A/m^2 (m^3/mol)^1.5
CMAX_POS, CMAX_NEG = 63104.0, 33133.0


def _k(m: float, c_max: float) -> float:
    """BPX rate constant [mol/m^2/s] equivalent to prefactor m: k = m c_max sqrt(1000) / F."""
    return m * c_max * np.sqrt(1000.0) / F


def chen_bpx() -> dict:
    def electrode(thick, eps, eps_s, r, cmax, smin, smax, sigma, ocp, d, m):
        return {
            "Thickness [m]": thick,
            "Porosity": eps,
            "Transport efficiency": eps**1.5,
            "Conductivity [S.m-1]": sigma,
            "Particle radius [m]": r,
            "Surface area per unit volume [m-1]": 3 * eps_s / r,
            "Maximum concentration [mol.m-3]": cmax,
            "Minimum stoichiometry": smin,
            "Maximum stoichiometry": smax,
            "Diffusivity [m2.s-1]": d,
            "OCP [V]": ocp,
            "Reaction rate constant [mol.m-2.s-1]": _k(m, cmax),
        }

    return {
        "Header": {"BPX": "1.0.0", "Title": "Chen2020 LG M50", "Model": "DFN"},
        "Parameterisation": {
            "Cell": {
                "Electrode area [m2]": CHEN2020_AREA,
                "Number of electrode pairs connected in parallel to make a cell": 1,
                "Lower voltage cut-off [V]": 2.5,
                "Upper voltage cut-off [V]": 4.2,
                "Nominal cell capacity [A.h]": 5.0,
                "Reference temperature [K]": 298.15,
            },
            "Electrolyte": {
                "Cation transference number": 0.2594,
                "Conductivity [S.m-1]": KAPPA,
                "Diffusivity [m2.s-1]": D_E,
            },
            "Negative electrode": electrode(
                85.2e-6,
                0.25,
                0.75,
                5.86e-6,
                CMAX_NEG,
                0.0279,
                0.9014,
                215.0,
                GRAPHITE_OCP,
                3.3e-14,
                M_NEG,
            ),
            "Positive electrode": electrode(
                75.6e-6,
                0.335,
                0.665,
                5.22e-6,
                CMAX_POS,
                0.2661,
                0.9084,
                0.18,
                NMC_OCP,
                4.0e-15,
                M_POS,
            ),
            "Separator": {
                "Thickness [m]": 12e-6,
                "Porosity": 0.47,
                "Transport efficiency": 0.47**1.5,
            },
        },
        "State": {
            "Initial conditions": {
                "Initial state-of-charge": 1.0,
                "Initial temperature [K]": 298.15,
                "Initial electrolyte concentration [mol.m-3]": 1000.0,
            }
        },
    }


def _build(d: dict, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bpx warns when OCP(sto limits) misses the cut-offs
        return cell_from_bpx(d, **kw)


def _assert_layers_equal(a, b):
    # Round-off only: a R / 3 and eps / eps^1.5 reproduce eps_s and eps^-0.5 to ~1e-16.
    rel = 1e-12
    assert a.thickness == pytest.approx(b.thickness, rel=rel)
    assert a.porosity == pytest.approx(b.porosity, rel=rel)
    assert a.active_fraction == pytest.approx(b.active_fraction, rel=rel)
    assert a.particle_radius == pytest.approx(b.particle_radius, rel=rel)
    assert a.tortuosity_factor == pytest.approx(b.tortuosity_factor, rel=rel)
    assert a.matrix_conductivity == pytest.approx(b.matrix_conductivity, rel=rel)
    ma, mb = a.material, b.material
    for attr in ("c_max", "exchange_prefactor", "theta_0", "theta_100", "density"):
        assert getattr(ma, attr) == pytest.approx(getattr(mb, attr), rel=rel), attr
    theta = np.linspace(0.01, 0.99, 99)
    np.testing.assert_allclose(ma.ocp(theta), mb.ocp(theta), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ma.diffusivity(theta), mb.diffusivity(theta), rtol=1e-12)
    ce, cs = np.full(5, 900.0), np.linspace(0.1, 0.9, 5) * ma.c_max
    np.testing.assert_allclose(ma.exchange_current(ce, cs), mb.exchange_current(ce, cs), rtol=1e-12)


def test_bpx_round_trip_chen2020():
    ref = chen2020_cell()
    cell = _build(
        chen_bpx(),
        tabulate_expressions=False,  # exact expressions (the default tabulates them)
        densities={"positive": 3262.0, "negative": 1657.0},
        initial_stoichiometries={
            "positive": ref.positive.theta_init,
            "negative": ref.negative.theta_init,
        },
    )
    _assert_layers_equal(cell.positive.layers[0], ref.positive.layers[0])
    _assert_layers_equal(cell.negative.layers[0], ref.negative.layers[0])
    assert cell.positive.theta_init == pytest.approx(ref.positive.theta_init, rel=1e-12)
    assert cell.negative.theta_init == pytest.approx(ref.negative.theta_init, rel=1e-12)
    for attr in ("temperature", "v_min", "v_max", "area", "nominal_capacity"):
        assert getattr(cell, attr) == pytest.approx(getattr(ref, attr), rel=1e-12), attr
    assert cell.one_c() == pytest.approx(ref.one_c(), rel=1e-12)
    assert cell.separator.thickness == pytest.approx(ref.separator.thickness, rel=1e-12)
    assert cell.separator.tortuosity_factor == pytest.approx(
        ref.separator.tortuosity_factor, rel=1e-12
    )
    c = np.array([200.0, 1000.0, 1800.0])
    np.testing.assert_allclose(
        cell.electrolyte.conductivity(c), ref.electrolyte.conductivity(c), rtol=1e-12
    )
    np.testing.assert_allclose(
        cell.electrolyte.diffusivity(c), ref.electrolyte.diffusivity(c), rtol=1e-12
    )
    assert cell.electrolyte.transference == ref.electrolyte.transference
    assert cell.electrolyte.c0 == ref.electrolyte.c0


def test_bpx_soc_sets_initial_stoichiometry():
    d = chen_bpx()
    d["State"]["Initial conditions"]["Initial state-of-charge"] = 0.25
    cell = _build(d)
    # BPX convention: negative = min + SOC (max - min), positive = max - SOC (max - min).
    assert cell.negative.theta_init == pytest.approx(0.0279 + 0.25 * (0.9014 - 0.0279), rel=1e-14)
    assert cell.positive.theta_init == pytest.approx(0.9084 - 0.25 * (0.9084 - 0.2661), rel=1e-14)
    assert np.isnan(cell.positive.layers[0].material.density)  # BPX carries no density


def test_bpx_tables_and_file(tmp_path):
    d = chen_bpx()
    xs = list(np.linspace(0.0, 1.0, 11))
    d["Parameterisation"]["Positive electrode"]["Diffusivity [m2.s-1]"] = {
        "x": xs,
        "y": [1e-15 * (1 + 9 * x) for x in xs],
    }
    path = tmp_path / "chen.json"
    path.write_text(json.dumps(d))
    cell = _build(path)
    dfun = cell.positive.layers[0].material.diffusivity
    # Linear data -> linear interpolation is exact (to round-off).
    np.testing.assert_allclose(
        dfun(np.array([0.05, 0.5, 0.93])), [1.45e-15, 5.5e-15, 9.37e-15], rtol=1e-12
    )
    assert dfun(np.array([2.0]))[0] == pytest.approx(1e-14)  # constant beyond the table


def test_bpx_arrhenius_at_other_temperature():
    d = chen_bpx()
    d["Parameterisation"]["Positive electrode"]["Diffusivity activation energy [J.mol-1]"] = 20000.0
    cell = _build(d, temperature=308.15)
    factor = np.exp(20000.0 / 8.314462618 * (1 / 298.15 - 1 / 308.15))
    assert cell.positive.layers[0].material.diffusivity(np.array([0.5]))[0] == pytest.approx(
        4.0e-15 * factor, rel=1e-12
    )


def test_bpx_missing_key_is_named():
    d = chen_bpx()
    del d["Parameterisation"]["Positive electrode"]["Porosity"]
    with pytest.raises(ParameterError, match="Porosity"):
        _build(d)


def test_bpx_bad_value_is_named():
    d = chen_bpx()
    d["Parameterisation"]["Positive electrode"]["Porosity"] = 1.5
    with pytest.raises(ParameterError, match="Positive electrode.*porosity"):
        _build(d)


def test_bpx_unsafe_expression_rejected():
    d = copy.deepcopy(chen_bpx())
    d["Parameterisation"]["Electrolyte"]["Conductivity [S.m-1]"] = "__import__('os').getcwd()"
    with pytest.raises(ParameterError, match="Conductivity"):
        _build(d)


def test_bpx_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        cell_from_bpx(tmp_path / "nope.json")


def test_expression_interpreter_whitelist():
    from electrohet.design.bpx_import import _compile_expression

    f = _compile_expression("2 * x ** 2 - exp(-x) + tanh(x) / cosh(x)", "k")
    x = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(f(x), 2 * x**2 - np.exp(-x) + np.tanh(x) / np.cosh(x), rtol=1e-15)
    for bad in ["x.real", "open('f')", "y + 1", "[x]", "lambda: 1"]:
        with pytest.raises(ParameterError):
            _compile_expression(bad, "k")


# ---------------------------------------------------------------- untrusted input
# A BPX file is untrusted: its expressions must never be executed as Python (bpx's own
# validation writes them to a temporary .py file and imports it).


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ("exit(7)", "call of 'exit'"),
        ("input(x)", "call of 'input'"),
        ("__import__('os').system('echo pwned')", "call of an attribute"),
        ("10**10**10", "exponent 1e\\+10"),
        ("x ** 1000", "exponent 1000"),
        ("1e999 * x", "non-finite constant"),
        ("tanh(" * 100 + "x" + ")" * 100, "deeper than 60"),
        ("x + " * 3000 + "x", "characters exceeds|syntax nodes"),
    ],
)
def test_bpx_malicious_ocp_refused_with_one_clear_error(payload, needle):
    d = chen_bpx()
    d["Parameterisation"]["Positive electrode"]["OCP [V]"] = payload
    with pytest.raises(ParameterError, match=needle) as info:
        _build(d)
    msg = str(info.value)
    assert "Positive electrode.OCP [V]" in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (-1e-14, "must be finite and > 0"),
        ("-4e-15 + 0 * x", "must be finite and > 0"),
        ("4e-15 / (x - x)", "must be finite and > 0"),
        ({"x": [0.0, 1.0], "y": [4e-15, -1e-15]}, "must be finite and > 0"),
        (float("nan"), "must be finite"),
    ],
)
def test_bpx_non_physical_diffusivity_refused(value, needle):
    d = chen_bpx()
    d["Parameterisation"]["Positive electrode"]["Diffusivity [m2.s-1]"] = value
    with pytest.raises(ParameterError, match=needle) as info:
        _build(d)
    assert "Positive electrode.Diffusivity [m2.s-1]" in str(info.value)


def test_bpx_non_finite_number_named_with_range():
    d = chen_bpx()
    d["Parameterisation"]["Cell"]["Electrode area [m2]"] = float("inf")
    with pytest.raises(ParameterError, match=r"Cell\.Electrode area \[m2\]' = inf .*\(0, inf\]"):
        _build(d)


def test_bpx_invalid_json_and_yaml_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParameterError, match="not valid JSON"):
        cell_from_bpx(bad)
    y = tmp_path / "cell.yaml"
    y.write_text("Header: {}\n")
    with pytest.raises(ParameterError, match="only JSON"):
        cell_from_bpx(y)


def test_bpx_payload_file_runs_nothing_and_writes_nothing(tmp_path):
    """In a fresh process: exit(7), input(x) and 10**10**10 in a file are refused
    quickly, stdin is never read, and the temp folder stays empty."""
    import subprocess
    import sys
    from pathlib import Path

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    files = []
    for i, payload in enumerate(["exit(7)", "input(x)", "10**10**10"]):
        d = chen_bpx()
        d["Parameterisation"]["Negative electrode"]["OCP [V]"] = payload
        f = tmp_path / f"evil{i}.json"
        f.write_text(json.dumps(d))
        files.append(str(f))
    script = (
        "import sys\n"
        "from electrohet.design.bpx_import import cell_from_bpx\n"
        "from electrohet.errors import ParameterError\n"
        "for f in sys.argv[1:]:\n"
        "    try:\n"
        "        cell_from_bpx(f)\n"
        "    except ParameterError as e:\n"
        "        print('refused:', e)\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": src,
        "TMPDIR": str(tmpdir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tmp_path),
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
    }
    r = subprocess.run(
        [sys.executable, "-c", script, *files],
        input="typed on stdin\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("refused:") == 3, r.stdout
    assert "Traceback" not in r.stderr
    assert list(tmpdir.iterdir()) == []


def test_bpx_hysteresis_refused_naming_every_field():
    """A BPX file with hysteresis used to load its placeholder OCP silently (a 0 V
    negative OCP, a cell starting above its upper cut-off): now one error names every
    hysteresis field, in the electrode sections, the state and User-defined."""
    d = chen_bpx()
    par = d["Parameterisation"]
    par["Negative electrode"]["OCP [V]"] = 0.0
    par["Negative electrode"]["OCP (lithiation) [V]"] = GRAPHITE_OCP
    par["Negative electrode"]["OCP (delithiation) [V]"] = GRAPHITE_OCP
    par["User-defined"] = {"Negative particle hysteresis decay rate": 0.1}
    d["State"]["Initial conditions"]["Initial hysteresis state: Negative electrode"] = 0.0
    with pytest.raises(ParameterError) as info:
        _build(d)
    msg = str(info.value)
    assert "hysteresis is not supported" in msg
    for field in (
        "Parameterisation.Negative electrode.OCP (lithiation) [V]",
        "Parameterisation.Negative electrode.OCP (delithiation) [V]",
        "Parameterisation.User-defined.Negative particle hysteresis decay rate",
        "State.Initial conditions.Initial hysteresis state: Negative electrode",
    ):
        assert field in msg, field


def test_bpx_user_defined_branch_ocps_refused():
    d = chen_bpx()
    d["Parameterisation"]["User-defined"] = {
        "Negative electrode lithiation OCP [V]": GRAPHITE_OCP,
        "Negative electrode delithiation OCP [V]": GRAPHITE_OCP,
    }
    with pytest.raises(ParameterError, match="delithiation OCP"):
        _build(d)


def test_bpx_expressions_are_tabulated_within_the_stated_error():
    """By default every BPX expression becomes a fine table (a compiled interpolant
    for the model) within EXPRESSION_OCP_ATOL [V] / EXPRESSION_TRANSPORT_RTOL."""
    from electrohet.design.bpx_import import EXPRESSION_OCP_ATOL, EXPRESSION_TRANSPORT_RTOL
    from electrohet.model.material_kernels import linear_table

    exact = _build(chen_bpx(), tabulate_expressions=False)
    cell = _build(chen_bpx())
    theta = np.linspace(0.0, 1.0, 2001)
    for side in ("negative", "positive"):
        ma = getattr(cell, side).layers[0].material
        mb = getattr(exact, side).layers[0].material
        assert linear_table(ma.ocp) is not None
        # the midpoint estimate bounds the error of a smooth function to a factor ~1
        np.testing.assert_allclose(
            ma.ocp(theta), mb.ocp(theta), rtol=0, atol=2 * EXPRESSION_OCP_ATOL
        )
    c = np.linspace(0.0, 4000.0, 2001)
    for attr in ("conductivity", "diffusivity"):
        fa = getattr(cell.electrolyte, attr)
        assert linear_table(fa) is not None
        np.testing.assert_allclose(
            fa(c[1:]), getattr(exact.electrolyte, attr)(c[1:]), rtol=2 * EXPRESSION_TRANSPORT_RTOL
        )
