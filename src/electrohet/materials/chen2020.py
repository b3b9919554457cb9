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
"""

from __future__ import annotations

import numpy as np

from electrohet.materials.base import ActiveMaterial, Electrolyte, compilable, constant


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
