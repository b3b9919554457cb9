"""Material registry: names, lookups and the error for an unknown name."""

from __future__ import annotations

import pytest

from electrohet.errors import ParameterError
from electrohet.materials import ActiveMaterial, get_material, list_materials
from electrohet.materials.chen2020 import NMC811_CHEN2020

EXPECTED = ["LTO", "NMC532", "NMC622_Yari2020", "NMC811_Chen2020", "graphite_Chen2020"]


def test_list_materials():
    assert list_materials() == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_get_material_returns_records(name):
    mat = get_material(name)
    assert isinstance(mat, ActiveMaterial)
    assert mat.c_max > 0 and mat.density > 0
    assert get_material(name) is mat  # the same immutable record every time


def test_get_material_identity_chen():
    assert get_material("NMC811_Chen2020") is NMC811_CHEN2020


@pytest.mark.parametrize("bad", ["nmc622", "NMC111", "", None])
def test_unknown_name_lists_allowed(bad):
    with pytest.raises(ParameterError) as err:
        get_material(bad)  # type: ignore[arg-type]
    msg = str(err.value)
    assert repr(bad) in msg
    for name in EXPECTED:
        assert name in msg
