"""Coating / current-collector contact resistance against the carbon at the foil."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.conductivity import InterfaceResistanceLaw
from electrohet.errors import ParameterError


def test_power_law_and_reference_value():
    law = InterfaceResistanceLaw(1e-3, r_max=1e9)  # floor negligible
    assert law(0.025) == pytest.approx(1e-3, rel=1e-9)
    # conductance ~ (f_c - f_c*)^t: the resistance ratio of two formulations (analytic)
    ratio = law(0.01) / law(0.04)
    assert ratio == pytest.approx(((0.04 - 0.0014) / (0.01 - 0.0014)) ** 2, rel=1e-9)


def test_monotone_finite_and_floor():
    law = InterfaceResistanceLaw(1e-3, r_max=0.5)
    fc = np.linspace(0.0, 0.1, 41)
    r = np.array([law(f) for f in fc])
    assert np.all(np.diff(r) <= 0) and np.all(np.isfinite(r))
    assert law(0.0) == law(0.001) == pytest.approx(0.5)  # at/below the threshold: bare contact
    assert InterfaceResistanceLaw(0.0)(0.01) == 0.0


@pytest.mark.parametrize(
    ("kw", "key"),
    [({"r_ref": -1.0}, "interface.r_ref"), ({"r_ref": 1e-3, "exponent": 0.0}, "exponent")],
)
def test_bad_parameters_name_the_key(kw, key):
    with pytest.raises(ParameterError, match=key):
        InterfaceResistanceLaw(**kw)
