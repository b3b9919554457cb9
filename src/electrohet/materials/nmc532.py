"""NMC532 (LiNi0.5Mn0.3Co0.2O2): the parameter set for Sharma 2022 and Kroeger.

Sources
-------
Mohtat, P., Lee, S., Sulzer, V., Siegel, J. B., Stefanopoulou, A. G. "Differential
Expansion and Voltage Model for Li-ion Batteries at Practical Charging Rates",
J. Electrochem. Soc. 167 (2020) 110561: NMC532 OCP fit (a quintic plus an exponential
in the electrode's own lithium fraction x), c_max = 35380 mol/m^3 of that fit, solid
diffusivity 8e-15 m^2/s and rate prefactor 4.824e-6 A/m^2 (m^3/mol)^1.5 (values as
distributed in PyBaMM's ``Mohtat2020`` parameter set).
Kroeger et al. (single-particle ICP-OES of polycrystalline NMC532, University of
Muenster): NMC532 charged at 6 mA/g to 3.6, 3.7, 4.0 and
4.4 V (cell vs graphite) reached 23, 41, 61 and 81 % of the theoretical 278 mAh/g;
used in the tests as an independent check of the theta axis below.

Adaptation (documented, not published)
--------------------------------------
Mohtat's x spans the fitted electrode's usable lithium (x = 0 at 4.35 V) with a
fitted c_max of 35380 mol/m^3, below the theoretical LiMO2 content.  We keep the
theoretical c_max (density / molar mass) for theta = c / c_max and map

    1 - theta = S (1 - x),    S = 35380 / c_max = 0.722,

i.e. Mohtat's usable span is 72 % of the theoretical lithium.  With this map the OCP
reproduces Kroeger's calibration points to within ~50 mV (see tests).
"""

from __future__ import annotations

import numpy as np

from electrohet.materials.base import ActiveMaterial, constant

#: Molar mass of LiNi0.5Mn0.3Co0.2O2 [kg/mol] (IUPAC atomic weights).
NMC532_MOLAR_MASS = (6.941 + 0.5 * 58.693 + 0.3 * 54.938 + 0.2 * 58.933 + 2 * 15.999) * 1e-3

#: True density [kg/m^3]: crystallographic density of the R-3m cell (a = 2.870 A,
#: c = 14.24 A, Z = 3) is 4.73 g/cm^3.
NMC532_DENSITY = 4730.0

#: Theoretical maximum lithium concentration [mol/m^3] (one Li per LiMO2): 278 mAh/g.
NMC532_C_MAX = NMC532_DENSITY / NMC532_MOLAR_MASS

#: c_max of the Mohtat 2020 fit [mol/m^3], which defines the span of its x axis.
MOHTAT2020_C_MAX = 35380.0

#: Linear map 1 - theta = S (1 - x) from Mohtat's x to the theoretical fraction theta.
NMC532_MOHTAT_SCALE = MOHTAT2020_C_MAX / NMC532_C_MAX


def nmc532_ocp_mohtat2020(x: np.ndarray) -> np.ndarray:
    """NMC532 OCP vs Li [V] in Mohtat's lithium fraction x (Mohtat 2020).

    U = 4.3452 - 1.6518 x + 1.6225 x^2 - 2.0843 x^3 + 3.5146 x^4 - 2.2166 x^5
    - 0.5623e-4 exp(109.451 x - 100.006).  Strictly decreasing on [0, 1]
    (4.345 V at x = 0, 2.82 V at x = 1).
    """
    s = np.asarray(x, dtype=float)
    return (
        4.3452
        - 1.6518 * s
        + 1.6225 * s**2
        - 2.0843 * s**3
        + 3.5146 * s**4
        - 2.2166 * s**5
        - 0.5623e-4 * np.exp(109.451 * s - 100.006)
    )


def nmc532_ocp(theta: np.ndarray) -> np.ndarray:
    """NMC532 OCP vs Li [V] at theta = c / c_max (theoretical lithium fraction).

    Mohtat 2020 fit at x = 1 - (1 - theta) / S, S = :data:`NMC532_MOHTAT_SCALE`
    (documented adaptation, see the module docstring).  Decreasing for theta in
    [0.2, 1]; 4.30 V at theta = 0.298, 3.64 V at theta = 0.95.  Below theta = 1 - S = 0.278
    (above 4.35 V) the polynomial is extrapolated.
    """
    th = np.asarray(theta, dtype=float)
    return nmc532_ocp_mohtat2020(1.0 - (1.0 - th) / NMC532_MOHTAT_SCALE)


#: Solid diffusivity [m^2/s] (Mohtat 2020).
NMC532_DIFFUSIVITY = 8.0e-15

#: Exchange current density at c_e = 1 M, x = 0.5 of Mohtat's fit [A/m^2]:
#: 4.824e-6 * sqrt(1000) * 17690 = 2.70 A/m^2.
NMC532_I0_REF = 4.824e-6 * np.sqrt(1000.0) * 0.5 * MOHTAT2020_C_MAX

#: Prefactor m [A/m^2 (m^3/mol)^1.5] giving ``NMC532_I0_REF`` at c_e = 1 M and
#: theta = 0.5 with the theoretical c_max.
NMC532_EXCHANGE_PREFACTOR = NMC532_I0_REF / (np.sqrt(1000.0) * 0.5 * NMC532_C_MAX)

NMC532 = ActiveMaterial(
    name="NMC532 (Mohtat2020)",
    c_max=NMC532_C_MAX,
    ocp=nmc532_ocp,
    diffusivity=constant(NMC532_DIFFUSIVITY),
    exchange_prefactor=float(NMC532_EXCHANGE_PREFACTOR),
    density=NMC532_DENSITY,
    crystal_density=NMC532_DENSITY,
    theta_0=0.97,
    theta_100=0.298,
    electronic_conductivity=constant(0.18),
    citation=(
        "OCP, D_s, i0: Mohtat et al., J. Electrochem. Soc. 167 (2020) 110561, x-axis "
        "scaled by S = 35380 / c_max = 0.722 to the theoretical lithium fraction"
    ),
)
"""NMC532 for half cells in 3.0-4.3 V.

theta_100 = 0.298 is the 4.3 V point of the OCP; theta_0 = 0.97 is the practical
lithiated end after a slow discharge (the same convention as the NMC622 set).  The window
holds (0.97 - 0.298) x 277.6 = 186.6 mAh/g of OCP capacity; measured C/10 discharge
capacities of NMC532 to 4.3 V are lower (~165-175 mAh/g) because the last few per cent of
lithium return slowly (low D_s near theta = 1, Sharma 2022), which the model itself has to
produce.  The electronic conductivity is Chen 2020's NMC811 electrode value (constant).
"""
