import numpy as np
import pytest

from electrohet.design import Layer, ParticleEnsemble, PercolationLaw
from electrohet.design.formulation import Formulation, heterogeneity_factor, slurry_solid_fraction
from electrohet.design.presets import chen2020_positive_layer
from electrohet.errors import ParameterError
from electrohet.studies.rate_study import yari2020_designs


def test_fractions_must_sum_to_one():
    with pytest.raises(ParameterError, match="must equal 1 within 1e-9"):
        chen2020_positive_layer(porosity=0.3, active_fraction=0.6, cbd_fraction=0.2)
    with pytest.raises(ParameterError, match="exceeds 1"):
        chen2020_positive_layer(porosity=0.5, active_fraction=0.6)
    lay = chen2020_positive_layer(porosity=0.3, active_fraction=0.6)
    assert lay.cbd_fraction == pytest.approx(0.1, abs=1e-15)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("thickness", -1e-6, "thickness"),
        ("porosity", 1.2, "porosity"),
        ("porosity", 0.0, "porosity"),
        ("particle_radius", 0.0, "particle_radius"),
    ],
)
def test_bad_layer_values_name_the_key(key, value, match):
    with pytest.raises(ParameterError, match=match):
        chen2020_positive_layer(**{key: value})


def test_bruggeman_and_given_tortuosity():
    lay = chen2020_positive_layer()
    assert lay.tortuosity_factor == pytest.approx(0.335**-0.5, rel=1e-14)
    assert chen2020_positive_layer(tortuosity=3.0).tortuosity_factor == 3.0


def test_percolation_law_values():
    law = PercolationLaw(sigma_0=100.0, threshold=0.01, exponent=2.0, sigma_floor=1e-4)
    assert law(0.005) == 1e-4
    # sigma_floor + sigma_0 ((0.05 - 0.01) / 0.99)^2
    assert law(0.05) == pytest.approx(1e-4 + 100.0 * (0.04 / 0.99) ** 2, rel=1e-14)
    lay = Layer(
        material=chen2020_positive_layer().material,
        thickness=1e-5,
        porosity=0.3,
        active_fraction=0.6,
        particle_radius=5e-6,
        carbon_mass_fraction=0.05,
        percolation=law,
    )
    assert lay.matrix_conductivity == pytest.approx(law(0.05))
    with pytest.raises(ParameterError, match="conductivity"):
        Layer(
            material=lay.material,
            thickness=1e-5,
            porosity=0.3,
            active_fraction=0.6,
            particle_radius=5e-6,
        )


def test_heterogeneity_factor_of_yari_bilayers():
    """Yari 2020 Table 1: delta = 0.2, 0.4, 0.6 (equal solid loadings give exactly that)."""
    assert heterogeneity_factor([1, 1], [0.02, 0.03]) == pytest.approx(0.2, rel=1e-12)
    assert heterogeneity_factor([1, 1], [0.01, 0.04]) == pytest.approx(0.6, rel=1e-12)
    assert heterogeneity_factor([1], [0.025]) == 0.0
    # with the paper's AM shares the factor is within 0.01 of the tabulated value
    expected = {"2/3": 0.2, "1.5/3.5": 0.4, "1/4": 0.6, "3/2": 0.2, "3.5/1.5": 0.4, "4/1": 0.6}
    for d in yari2020_designs():
        if d.name in expected:
            assert d.delta == pytest.approx(expected[d.name], abs=0.01)


def test_slurry_equation_and_formulation():
    # eq. 1 by hand: 1/phi = 1 + rho_a (s_a + s_c f_c) t_s / (1 - f_c)
    phi = slurry_solid_fraction(0.025, 0.64e-6, 4700.0, 300.0, 60000.0)
    assert 1 / phi == pytest.approx(1 + 4700 * (300 + 60000 * 0.025) * 0.64e-6 / 0.975, rel=1e-14)
    f = Formulation(active=0.94, carbon=0.025, binder=0.035, active_density=4700.0)
    a, c = f.volume_fractions(0.3)
    assert a + c == pytest.approx(0.7, rel=1e-14)
    va = 0.94 / 4700
    assert a / 0.7 == pytest.approx(va / (va + 0.025 / 1950 + 0.035 / 1780), rel=1e-14)
    with pytest.raises(ParameterError, match="must equal 1"):
        Formulation(active=0.9, carbon=0.025, binder=0.035, active_density=4700.0)


def test_ensemble_validation():
    with pytest.raises(ParameterError, match="sum to 1"):
        ParticleEnsemble(radius=[1e-6, 2e-6], weight=[0.5, 0.6])
    with pytest.raises(ParameterError, match="radius"):
        ParticleEnsemble(radius=[-1e-6])
    e = ParticleEnsemble(radius=[1e-6, 2e-6], weight=[0.25, 0.75])
    np.testing.assert_allclose(
        e.specific_area(0.6), 3 * 0.6 * np.array([0.25, 0.75]) / np.array([1e-6, 2e-6])
    )
