"""Li4Ti5O12 (LTO, spinel): a flat 1.55 V negative electrode (Yari 2020 LTO | NMC cells).

theta = c / c_max is the fraction of the three lithium per formula unit that the spinel
takes up, Li(4 + 3 theta)Ti5O12, so theta = 1 is Li7Ti5O12.

Sources
-------
Ohzuku, T., Ueda, A., Yamamoto, N. "Zero-Strain Insertion Material of Li[Li1/3Ti5/3]O4
for Rechargeable Lithium Cells", J. Electrochem. Soc. 142 (1995) 1431: flat two-phase
plateau at 1.55 V vs Li, three Li per Li4Ti5O12 (175 mAh/g), negligible volume change.
Verbrugge et al., J. Electrochem. Soc. 164 (2017) E3243: the MSMR functional form
x = X / (1 + exp(F (U - U0) / (w R T))) used here with a single reaction.

Adaptation (documented, not a published LTO fit)
------------------------------------------------
A one-reaction MSMR isotherm, U = U0 + w (R T / F) ln((1 - theta) / theta), with
U0 = 1.55 V (Ohzuku 1995) and w = 0.5: within +-25 mV of 1.55 V for theta in
[0.13, 0.87], rising to 1.61 V at theta = 0.01 and falling to 1.49 V at theta = 0.99.  The
real two-phase plateau is flatter in its middle and steeper at its ends; this form is
smooth and strictly monotone, which the solver needs.
"""

from __future__ import annotations

import numpy as np

from electrohet.materials.base import R_GAS, T_REF, ActiveMaterial, F, constant

#: Molar mass of Li4Ti5O12 [kg/mol] (IUPAC atomic weights).
LTO_MOLAR_MASS = (4 * 6.941 + 5 * 47.867 + 12 * 15.999) * 1e-3

#: Density of Li4Ti5O12 [kg/m^3]: spinel cell a = 8.36 A holding 8 Li[Li1/3Ti5/3]O4 units
#: gives 3.48 g/cm^3.
LTO_DENSITY = 3480.0

#: Maximum inserted-lithium concentration [mol/m^3]: three Li per formula unit,
#: theoretical capacity 3 F / (3.6 M) = 175 mAh/g.
LTO_C_MAX = 3.0 * LTO_DENSITY / LTO_MOLAR_MASS

#: Plateau potential vs Li [V] (Ohzuku 1995).
LTO_U0 = 1.55

#: Ideality factor w of the one-reaction isotherm [-] (chosen, see module docstring).
LTO_IDEALITY = 0.5


def lto_ocp(theta: np.ndarray) -> np.ndarray:
    """LTO OCP vs Li [V] at theta = c / c_max.

    U = U0 + w (R T / F) ln((1 - theta) / theta) with U0 = 1.55 V, w = 0.5, T = 298.15 K;
    theta is clipped to [1e-12, 1 - 1e-12].  Strictly decreasing.
    """
    th = np.clip(np.asarray(theta, dtype=float), 1e-12, 1.0 - 1e-12)
    return LTO_U0 + LTO_IDEALITY * R_GAS * T_REF / F * (np.log1p(-th) - np.log(th))


#: Solid diffusivity [m^2/s]: middle of the wide range reported for Li4Ti5O12 by GITT/EIS
#: (~1e-17 .. 1e-13 m^2/s); treat as an order of magnitude.
LTO_DIFFUSIVITY = 1.0e-15

#: Exchange current density at c_e = 1 M, theta = 0.5 [A/m^2] (order of magnitude of
#: intercalation electrodes; LTO is known as a fast, high-rate anode).
LTO_I0_REF = 2.0

#: Prefactor m [A/m^2 (m^3/mol)^1.5] giving ``LTO_I0_REF`` at c_e = 1 M, theta = 0.5.
LTO_EXCHANGE_PREFACTOR = LTO_I0_REF / (np.sqrt(1000.0) * 0.5 * LTO_C_MAX)

LTO = ActiveMaterial(
    name="Li4Ti5O12 (LTO)",
    c_max=LTO_C_MAX,
    ocp=lto_ocp,
    diffusivity=constant(LTO_DIFFUSIVITY),
    exchange_prefactor=float(LTO_EXCHANGE_PREFACTOR),
    density=LTO_DENSITY,
    crystal_density=LTO_DENSITY,
    theta_0=0.02,
    theta_100=0.98,
    electronic_conductivity=constant(1.0e-2),
    citation=(
        "Plateau 1.55 V, 175 mAh/g: Ohzuku et al., J. Electrochem. Soc. 142 (1995) 1431; "
        "one-reaction MSMR form (Verbrugge 2017) with w = 0.5; D_s, i0: order of magnitude"
    ),
)
"""LTO negative electrode: theta_0 = 0.02 (0 % SOC, delithiated), theta_100 = 0.98;
the window holds 0.96 x 175 = 168 mAh/g."""
