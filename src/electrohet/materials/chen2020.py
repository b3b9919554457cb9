"""LG M50 (NMC811 / graphite-SiOx) and LiPF6 in EC:EMC: the Chen 2020 parameter set.

Sources
-------
Chen, C.-H., Brosa Planella, F., O'Regan, K., Gastol, D., Widanage, W. D., Kendrick, E.
"Development of Experimental Techniques for Parameterization of Multi-scale Lithium-ion
Battery Models", J. Electrochem. Soc. 167 (2020) 080534: OCP fits (eqs. 8-9), solid
diffusivities, radii, volume fractions, thicknesses, exchange-current prefactors,
stoichiometry windows (Table VII).
Nyman, A., Behm, M., Lindbergh, G. "Electrochemical characterisation and modelling of the
mass transport phenomena in LiPF6-EC-EMC electrolyte", Electrochim. Acta 53 (2008)
6356: electrolyte conductivity and diffusivity fits, t+ = 0.2594.

Mass-specific quantities (mAh/g) use crystallographic densities, not the ``density``
of the published set (3262 / 1657 kg/m^3: electrode-level values of its thermal
parameters, which made the specific capacity of NMC811 ~1.47x too high):

* NMC811, LiNi0.8Mn0.1Co0.1O2, R-3m, Z = 3, a = 2.872 A, c = 14.20 A (typical Rietveld
  values of NMC811, e.g. Noh et al., J. Power Sources 233 (2013) 121, Table 1):
  rho_x = 3 M / (N_A V) = 4.78 g/cm^3 with M = 97.28 g/mol (IUPAC atomic weights);
  theoretical capacity F / (3.6 M) = 275.5 mAh/g.
* Graphite, 2H (P6_3/mmc), Z = 4, a = 2.464 A, c = 6.711 A (Trucano & Chen, Nature 258
  (1975) 136): rho_x = 2.26 g/cm^3; theoretical capacity of LiC6 per gram of C6
  F / (3.6 x 72.066) = 372 mAh/g.  Chen's negative is graphite with some SiOx, whose
  composition the paper does not give; the graphite value is used.

Chen's c_max values are effective fit parameters: 63104 mol/m^3 for NMC811 exceeds the
lithium-site density of the crystal, rho_x / M = 49.1e3 mol/m^3 (x 1.29), so the *full*
lithium range theta in [0, 1] of this set holds 354 mAh/g, above the theoretical 275.5;
its usable window [0.2661, 0.9084] holds 227 mAh/g.  For graphite-SiOx, 33133 mol/m^3
against 31.4e3 for LiC6 (the SiOx may account for part).  Left as published.
"""

from __future__ import annotations

import numpy as np

from electrohet.materials.base import ActiveMaterial, Electrolyte, compilable, constant

_N_A = 6.02214076e23  # Avogadro constant [1/mol]

#: Molar mass of LiNi0.8Mn0.1Co0.1O2 [kg/mol] (IUPAC atomic weights).
NMC811_MOLAR_MASS = (6.941 + 0.8 * 58.693 + 0.1 * 54.938 + 0.1 * 58.933 + 2 * 15.999) * 1e-3

#: Crystallographic density of NMC811 [kg/m^3]: R-3m hexagonal cell a = 2.872 A,
#: c = 14.20 A, Z = 3 (see module docstring): 4.78 g/cm^3.
NMC811_CRYSTAL_DENSITY = (
    3 * NMC811_MOLAR_MASS / _N_A / (np.sqrt(3.0) / 2 * 2.872**2 * 14.20 * 1e-30)
)

#: Molar mass of the C6 host of LiC6 [kg/mol].
GRAPHITE_C6_MOLAR_MASS = 6 * 12.011e-3

#: Crystallographic density of 2H graphite [kg/m^3]: a = 2.464 A, c = 6.711 A, Z = 4
#: (Trucano & Chen 1975): 2.26 g/cm^3.
GRAPHITE_CRYSTAL_DENSITY = 4 * 12.011e-3 / _N_A / (np.sqrt(3.0) / 2 * 2.464**2 * 6.711 * 1e-30)


@compilable
def graphite_ocp_chen2020(x: np.ndarray) -> np.ndarray:
    """Graphite-SiOx OCP vs Li [V] (Chen 2020 eq. 8), x = theta = c/c_max."""
    return (
        1.9793 * np.exp(-39.3631 * x)
        + 0.2482
        - 0.0909 * np.tanh(29.8538 * (x - 0.1234))
        - 0.04478 * np.tanh(14.9159 * (x - 0.2769))
        - 0.0205 * np.tanh(30.4444 * (x - 0.6103))
    )


@compilable
def nmc811_ocp_chen2020(x: np.ndarray) -> np.ndarray:
    """NMC811 OCP vs Li [V] (Chen 2020 eq. 9), x = theta = c/c_max."""
    return (
        -0.8090 * x
        + 4.4875
        - 0.0428 * np.tanh(18.5138 * (x - 0.5542))
        - 17.7326 * np.tanh(15.7890 * (x - 0.3117))
        + 17.5842 * np.tanh(15.9308 * (x - 0.3120))
    )


@compilable
def lipf6_ec_emc_conductivity_nyman2008(c_e: np.ndarray) -> np.ndarray:
    """Conductivity of LiPF6 in EC:EMC (3:7) [S/m] at 25 C (Nyman 2008), c_e in mol/m^3."""
    c = c_e / 1000.0
    cp = np.maximum(c, 0.0)
    return 0.1297 * cp**3 - 2.51 * cp**1.5 + 3.329 * cp


@compilable
def lipf6_ec_emc_diffusivity_nyman2008(c_e: np.ndarray) -> np.ndarray:
    """Salt diffusivity of LiPF6 in EC:EMC (3:7) [m^2/s] at 25 C (Nyman 2008)."""
    c = c_e / 1000.0
    return 8.794e-11 * c**2 - 3.972e-10 * c + 4.862e-10


GRAPHITE_CHEN2020 = ActiveMaterial(
    name="graphite-SiOx (Chen2020)",
    c_max=33133.0,
    ocp=graphite_ocp_chen2020,
    diffusivity=constant(3.3e-14),
    exchange_prefactor=6.48e-7,
    density=1657.0,
    theta_0=0.0279,
    theta_100=0.9014,
    electronic_conductivity=constant(215.0),
    citation="Chen et al., J. Electrochem. Soc. 167 (2020) 080534",
    crystal_density=float(GRAPHITE_CRYSTAL_DENSITY),
)

NMC811_CHEN2020 = ActiveMaterial(
    name="NMC811 (Chen2020)",
    c_max=63104.0,
    ocp=nmc811_ocp_chen2020,
    diffusivity=constant(4.0e-15),
    exchange_prefactor=3.42e-6,
    density=3262.0,
    theta_0=0.9084,
    theta_100=0.2661,
    electronic_conductivity=constant(0.18),
    citation="Chen et al., J. Electrochem. Soc. 167 (2020) 080534",
    crystal_density=float(NMC811_CRYSTAL_DENSITY),
)

LIPF6_EC_EMC_NYMAN2008 = Electrolyte(
    name="1 M LiPF6 in EC:EMC 3:7 (Nyman2008)",
    conductivity=lipf6_ec_emc_conductivity_nyman2008,
    diffusivity=lipf6_ec_emc_diffusivity_nyman2008,
    transference=0.2594,
    thermodynamic_factor=1.0,
    c0=1000.0,
    citation="Nyman et al., Electrochim. Acta 53 (2008) 6356",
)
