"""Matrix (carbon-binder network) conductivity from the carbon mass fraction.

The effective electronic conductivity of a composite electrode rises steeply once the
carbon black percolates.  electrohet uses the classic percolation law

    sigma_eff = sigma_0 ((f_c - f_c*) / (1 - f_c*))^t      for f_c > f_c*

(Kirkpatrick 1973, Rev. Mod. Phys. 45, 574; the exponent t ~ 2 is universal for 3D
networks), with f_c the carbon mass fraction of the solids.  Below the threshold the
matrix conducts only through the active material itself, ``sigma_floor``.

Calibration (documented in ``docs/model.md``): the default NMC622 parameters are chosen
so that single-layer Yari 2020 electrodes reach gamma ~0.90 at 4 wt% carbon, < 0.85 at
1.5 wt% and < 0.70 at 1 wt% (docs/physics.md §4.1); see :data:`YARI2020_PERCOLATION`.
"""

from __future__ import annotations

from dataclasses import dataclass

from electrohet.errors import check_range


@dataclass(frozen=True)
class PercolationLaw:
    """Percolation law sigma_eff(f_c) for the electrode matrix conductivity.

    Parameters
    ----------
    sigma_0
        Conductivity prefactor [S/m] (value extrapolated to f_c = 1).
    threshold
        Percolation threshold f_c* (carbon mass fraction) [-].
    exponent
        Critical exponent t [-].
    sigma_floor
        Conductivity below/at the threshold [S/m] (conduction through the active
        material only); also added above the threshold.
    """

    sigma_0: float
    threshold: float
    exponent: float = 2.0
    sigma_floor: float = 1e-3

    def __post_init__(self) -> None:
        check_range("percolation.sigma_0", self.sigma_0, 0, low_inclusive=False)
        check_range("percolation.threshold", self.threshold, 0, 1, high_inclusive=False)
        check_range("percolation.exponent", self.exponent, 0, low_inclusive=False)
        check_range("percolation.sigma_floor", self.sigma_floor, 0)

    def __call__(self, carbon_fraction: float) -> float:
        """Effective matrix conductivity [S/m] at carbon mass fraction ``carbon_fraction``."""
        fc = check_range("carbon_mass_fraction", carbon_fraction, 0, 1)
        if fc <= self.threshold:
            return self.sigma_floor
        x = (fc - self.threshold) / (1.0 - self.threshold)
        return self.sigma_floor + self.sigma_0 * x**self.exponent


#: Calibrated against Yari 2020's single-layer gamma values with the NMC622 defaults of
#: :mod:`electrohet.materials.nmc622` (D_s = 6e-15 m^2/s, R = 5 um, 11 mg/cm^2, 30 %
#: porosity): a scan of gamma against a constant matrix conductivity gave gamma = 0.90 for
#: sigma >= 1e-2 S/m, 0.87 at 3e-3, 0.61 at 1e-3 and 0.31 at 3e-4 S/m.  With t = 2 the
#: threshold f_c* = 0.14 wt% and sigma_0 = 10.8 S/m put sigma(1 wt%) = 8e-4 S/m
#: (gamma < 0.70), sigma(1.5 wt%) = 2.0e-3 S/m (gamma < 0.85) and sigma(4 wt%) =
#: 1.6e-2 S/m (gamma ~0.90), Yari's three anchors.  These are *effective* through-plane
#: conductivities of a 1D model that lumps contact resistances into sigma_eff.
YARI2020_PERCOLATION = PercolationLaw(
    sigma_0=10.8, threshold=0.0014, exponent=2.0, sigma_floor=1e-5
)


#: Bulk (through-plane) matrix conductivity of the default rate-study model, in which
#: the through-plane path does *not* limit (Yari 2020 §3.3.1: the layer at the collector
#: and the in-plane wiring of particles set the rate capability, not the through-plane
#: electronic path).  Same threshold and exponent as :data:`YARI2020_PERCOLATION`,
#: sigma_0 x 50: sigma(1 wt%) = 0.04 S/m, sigma(4 wt%) = 0.8 S/m, above the ~1e-2 S/m
#: at which the single-layer gamma stops depending on sigma (scan above).
YARI2020_BULK = PercolationLaw(sigma_0=540.0, threshold=0.0014, exponent=2.0, sigma_floor=1e-5)


@dataclass(frozen=True)
class InterfaceResistanceLaw:
    """Coating / current-collector contact resistance r_int(f_c) [Ohm m^2].

    The coating touches the aluminium foil only where the carbon-binder domain (CBD)
    does; the contact conductance therefore scales with the share of the foil covered by
    the *percolating* carbon network of the layer that touches it.  electrohet uses the
    percolation power law of :class:`PercolationLaw` for that conductance,

        1 / r_int = g_ref ((f_c - f_c*) / (f_ref - f_c*))^t + g_floor,   g_ref = 1 / r_ref

    with f_c the carbon mass fraction of the layer at the collector, the same threshold
    f_c* and exponent t as the bulk law, and g_floor the conductance of bare active
    material on the foil (keeps r_int finite at and below the threshold).

    Westphal et al. (J. Energy Storage 11 (2017) 76-85) separated the coating/collector
    contact resistance from the coating's bulk resistivity with a two-point method and
    found it a large, formulation- and processing-dependent part of the electrode's
    electronic resistance; Yari et al. (2020) cite them for the role of the carbon next to
    the collector.  The *form* above is electrohet's assumption and ``r_ref`` a value
    calibrated on single layers (``docs/model.md``), not one of Westphal's numbers.

    Parameters
    ----------
    r_ref
        Contact resistance at ``f_ref`` [Ohm m^2] (1 Ohm cm^2 = 1e-4 Ohm m^2).
    f_ref
        Reference carbon mass fraction [-].
    threshold
        Percolation threshold f_c* [-].
    exponent
        Exponent t [-].
    r_max
        Resistance of a carbon-free contact, 1 / g_floor [Ohm m^2].
    """

    r_ref: float
    f_ref: float = 0.025
    threshold: float = 0.0014
    exponent: float = 2.0
    r_max: float = 1.0

    def __post_init__(self) -> None:
        check_range("interface.r_ref", self.r_ref, 0, 1.0)
        check_range("interface.f_ref", self.f_ref, 0, 1, low_inclusive=False)
        check_range("interface.threshold", self.threshold, 0, self.f_ref, high_inclusive=False)
        check_range("interface.exponent", self.exponent, 0, 10, low_inclusive=False)
        check_range("interface.r_max", self.r_max, 0, low_inclusive=False)

    def __call__(self, carbon_fraction: float) -> float:
        """Contact resistance [Ohm m^2] at carbon mass fraction ``carbon_fraction``."""
        fc = check_range("carbon_mass_fraction", carbon_fraction, 0, 1)
        if self.r_ref == 0.0:
            return 0.0
        x = max(fc - self.threshold, 0.0) / (self.f_ref - self.threshold)
        g = x**self.exponent / self.r_ref + 1.0 / self.r_max
        return 1.0 / g
