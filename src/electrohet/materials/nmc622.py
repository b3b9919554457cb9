"""NMC622 against lithium in LiPF6 EC:EMC: the parameter set for the Yari 2020 half cells.

Yari 2020 (bilayer; ACS Appl. Energy Mater. 3 (2020) 11820) built Li | NMC622 coin cells
(Celgard 2325, 1 M LiPF6 in EC:EMC 3:7 + 2 wt% VC) cycled in 3.0-4.3 V; C/10 = 0.175 mA per mg of
active material, i.e. a practical capacity of about 175 mAh/g.

Sources
-------
Verbrugge, M., Baker, D., Koch, B., Xiao, X., Gu, W. "Thermodynamic Model for
Substitutional Materials: Application to Lithiated Graphite, Spinel Manganese Oxide, Iron
Phosphate, and Layered Nickel-Manganese-Cobalt Oxide", J. Electrochem. Soc. 164 (2017)
E3243, Table 1: multi-species, multi-reaction (MSMR) OCP parameters of NMC622
(U0_j, X_j, w_j for four reactions).
Chen et al., J. Electrochem. Soc. 167 (2020) 080534: solid diffusivity and exchange
current density of the Ni-rich layered oxide NMC811 (used here as a proxy, see below).
Nyman et al., Electrochim. Acta 53 (2008) 6356: LiPF6 in EC:EMC 3:7.

Adaptation (documented, not published)
--------------------------------------
The MSMR lithium fraction x of Verbrugge 2017 counts only the host sites the fitted
electrode actually cycled (x -> 0 near 4.6 V), not the theoretical LiMO2 content.  We map
it linearly onto the theoretical lithium fraction theta = c / c_max used by the model,

    1 - theta = S (1 - x),    S = NMC622_MSMR_SCALE = 0.77,

so that the MSMR capacity span equals 77 % of the theoretical 276.5 mAh/g.  S is chosen
so that the 4.3 V OCP lies at theta = 0.328 and the window theta in [0.328, 0.97] holds
177.5 mAh/g, the practical capacity implied by Yari's C/10 definition (175 mAh/g).
"""

from __future__ import annotations

from dataclasses import replace

import numba
import numpy as np

from electrohet.materials.base import R_GAS, T_REF, ActiveMaterial, F, LithiumMetal, constant
from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008

#: Molar mass of LiNi0.6Mn0.2Co0.2O2 [kg/mol] (IUPAC atomic weights).
NMC622_MOLAR_MASS = (6.941 + 0.6 * 58.693 + 0.2 * 54.938 + 0.2 * 58.933 + 2 * 15.999) * 1e-3

#: True density of NMC622 [kg/m^3].  The crystallographic density from the R-3m cell
#: (a = 2.868 A, c = 14.21 A, Z = 3) is 4.76 g/cm^3; helium-pycnometry values of
#: commercial powders are ~4.7 g/cm^3, which we use.  It is also the set's
#: ``crystal_density`` (the density of mass-specific quantities): c_max below and the
#: Yari 2020 preset geometry (11 mg/cm^2 -> thickness) are built on it, so with 4.70
#: the mass-specific capacities equal F / (3.6 M) per unit theta exactly; the X-ray
#: value 4.77 would lower them by 1.5 % and change the calibrated Yari cells' loading.
NMC622_DENSITY = 4700.0

#: Maximum lithium concentration [mol/m^3] = density / molar mass (one Li per LiMO2),
#: so that the theoretical capacity is F / (3.6 M) = 276.5 mAh/g.
NMC622_C_MAX = NMC622_DENSITY / NMC622_MOLAR_MASS

# Verbrugge 2017, Table 1, NMC622: standard potentials U0_j [V], site fractions X_j [-]
# (sum 1) and ideality factors w_j [-] of the four MSMR reactions.
_MSMR_U0 = np.array([3.62274, 3.72645, 3.90575, 4.22955])
_MSMR_X = np.array([0.13442, 0.32460, 0.21118, 0.32980])
_MSMR_W = np.array([0.96710, 1.39712, 3.50500, 5.52757])

#: Linear map from the MSMR fraction x to theta: 1 - theta = S (1 - x) (see module doc).
NMC622_MSMR_SCALE = 0.77

_F_RT = F / (R_GAS * T_REF)


def _msmr_occupancy(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filled fraction x(U), empty fraction 1 - x(U) and dx/dU of the MSMR model.

    Both fractions are summed from logistic terms separately, so neither loses precision
    by cancellation near x = 0 or x = 1.
    """
    z = _F_RT * (u[..., None] - _MSMR_U0) / _MSMR_W
    filled = 0.5 * (1.0 - np.tanh(0.5 * z))  # 1 / (1 + exp(z)) without overflow
    empty = 0.5 * (1.0 + np.tanh(0.5 * z))
    x = np.sum(_MSMR_X * filled, axis=-1)
    v = np.sum(_MSMR_X * empty, axis=-1)
    dxdu = -np.sum(_MSMR_X * _F_RT / _MSMR_W * filled * empty, axis=-1)
    return x, v, dxdu


# Lookup table of logit(x) = ln x - ln(1 - x) on a 1 mV grid: the initial guess for Newton.
_U_TABLE = np.linspace(2.0, 5.5, 3501)
_x_t, _v_t, _ = _msmr_occupancy(_U_TABLE)
_LOGIT_TABLE = np.log(_x_t) - np.log(_v_t)  # strictly decreasing in U
del _x_t, _v_t


@numba.njit(cache=True)
def _msmr_invert(target, u_table, logit_table, u0, xj, wj, f_rt):  # pragma: no cover - compiled
    """Compiled inversion of logit(x(U)) = target (same steps as the NumPy reference)."""
    out = np.empty(target.size)
    n = u_table.size
    for i in range(target.size):
        t = target[i]
        # table lookup: logit_table is strictly decreasing in U
        if t >= logit_table[0]:
            u = u_table[0]
        elif t <= logit_table[n - 1]:
            u = u_table[n - 1]
        else:
            lo, hi = 0, n - 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if logit_table[mid] > t:
                    lo = mid
                else:
                    hi = mid
            a = (t - logit_table[lo]) / (logit_table[hi] - logit_table[lo])
            u = u_table[lo] + a * (u_table[hi] - u_table[lo])
        for _ in range(2):
            xf = 0.0
            vf = 0.0
            dxdu = 0.0
            for j in range(u0.size):
                z = f_rt * (u - u0[j]) / wj[j]
                filled = 0.5 * (1.0 - np.tanh(0.5 * z))
                empty = 0.5 * (1.0 + np.tanh(0.5 * z))
                xf += xj[j] * filled
                vf += xj[j] * empty
                dxdu -= xj[j] * f_rt / wj[j] * filled * empty
            g = np.log(xf) - np.log(vf) - t
            dg = dxdu * (1.0 / xf + 1.0 / vf)
            u = min(max(u - g / dg, u_table[0]), u_table[n - 1])
        out[i] = u
    return out


def msmr_ocp_verbrugge2017(x: np.ndarray) -> np.ndarray:
    """OCP [V vs Li] of NMC622 at MSMR lithium fraction x (Verbrugge 2017, Table 1).

    Inverts x(U) = sum_j X_j / (1 + exp(F (U - U0_j) / (w_j R T))) at T = 298.15 K:
    table lookup of logit(x) on a 1 mV grid, then two Newton steps in logit space
    (converged to < 1e-9 V inside the table range 2.0-5.5 V; outside it the result is
    clamped to that range).  Compiled (numba); :func:`msmr_ocp_reference` is the NumPy
    form of the same steps, kept as the test reference.

    Parameters
    ----------
    x
        MSMR lithium fraction [-], clipped to [1e-12, 1 - 1e-12].
    """
    xa = np.asarray(x, dtype=float)
    xs = np.clip(xa, 1e-12, 1.0 - 1e-12).ravel()
    target = np.log(xs) - np.log1p(-xs)
    u = _msmr_invert(target, _U_TABLE, _LOGIT_TABLE, _MSMR_U0, _MSMR_X, _MSMR_W, _F_RT)
    return u.reshape(xa.shape)


def msmr_ocp_reference(x: np.ndarray) -> np.ndarray:
    """NumPy reference of :func:`msmr_ocp_verbrugge2017` (same algorithm, not compiled)."""
    xs = np.clip(np.asarray(x, dtype=float), 1e-12, 1.0 - 1e-12)
    target = np.log(xs) - np.log1p(-xs)
    u = np.interp(-target, -_LOGIT_TABLE, _U_TABLE)
    for _ in range(2):
        xf, vf, dxdu = _msmr_occupancy(u)
        g = np.log(xf) - np.log(vf) - target
        dg = dxdu * (1.0 / xf + 1.0 / vf)
        u = np.clip(u - g / dg, _U_TABLE[0], _U_TABLE[-1])
    return u


def nmc622_ocp(theta: np.ndarray) -> np.ndarray:
    """NMC622 OCP vs Li [V] at theta = c / c_max (theoretical lithium fraction).

    Verbrugge 2017 MSMR fit evaluated at x = 1 - (1 - theta) / S with
    S = :data:`NMC622_MSMR_SCALE` (documented adaptation, see the module docstring).
    Strictly decreasing for theta in (1 - S, 1); 4.30 V at theta = 0.328, 3.60 V at
    theta = 0.95.
    """
    th = np.asarray(theta, dtype=float)
    x = 1.0 - (1.0 - th) / NMC622_MSMR_SCALE
    return msmr_ocp_verbrugge2017(x)


#: Solid diffusivity [m^2/s].  No composition-resolved NMC622 value was adopted.  Reported
#: NMC622 values lie in 1e-15 .. 1e-14 m^2/s; within that range 6.0e-15 m^2/s (with 5 um
#: particle radius) was *calibrated* so that a well-wired single layer of the Yari 2020
#: design reaches the paper's gamma ~0.90 at 4 wt% carbon (0.5-3C energies; see
#: docs/model.md, "Calibration of the Yari 2020 study").  Chen 2020's NMC811 GITT value
#: (4.0e-15) gives gamma 0.87 there.
NMC622_DIFFUSIVITY = 6.0e-15

#: Exchange current density at c_e = 1000 mol/m^3 and theta = 0.5 [A/m^2], taken equal to
#: that of Chen 2020's NMC811 (m = 3.42e-6 with c_max = 63104 mol/m^3 gives 3.41 A/m^2).
NMC622_I0_REF = 3.42e-6 * np.sqrt(1000.0) * 0.5 * 63104.0

#: Prefactor m of i0 = m c_e^0.5 (c_max - c_s)^0.5 c_s^0.5 [A/m^2 (m^3/mol)^1.5] giving
#: ``NMC622_I0_REF`` at c_e = 1 M, theta = 0.5.
NMC622_EXCHANGE_PREFACTOR = NMC622_I0_REF / (np.sqrt(1000.0) * 0.5 * NMC622_C_MAX)

NMC622_YARI2020 = ActiveMaterial(
    name="NMC622 (Yari2020)",
    c_max=NMC622_C_MAX,
    ocp=nmc622_ocp,
    diffusivity=constant(NMC622_DIFFUSIVITY),
    exchange_prefactor=float(NMC622_EXCHANGE_PREFACTOR),
    density=NMC622_DENSITY,
    crystal_density=NMC622_DENSITY,
    theta_0=0.97,
    theta_100=0.328,
    electronic_conductivity=constant(0.18),
    citation=(
        "OCP: Verbrugge et al., J. Electrochem. Soc. 164 (2017) E3243, Table 1 (MSMR, "
        "NMC622), x-axis scaled by S = 0.77 to match 177.5 mAh/g in 3.0-4.3 V (Yari 2020); "
        "D_s, i0: Chen et al., J. Electrochem. Soc. 167 (2020) 080534 (NMC811 proxy)"
    ),
)
"""NMC622 for Yari 2020 half cells.

theta_100 = 0.328 is the 4.3 V point of the OCP; theta_0 = 0.97 is the lithium fraction
at the end of a slow discharge to 3.0 V (OCV ~3.58 V after relaxation: the last few per
cent of lithium do not re-enter at practical rates, Sharma 2022).  The window holds
(0.97 - 0.328) x 276.5 = 177.5 mAh/g.  The electronic conductivity 0.18 S/m is Chen 2020's
NMC811 electrode value (constant; SOC-dependent tables are a separate option).
"""

#: Electrolyte of the Yari 2020 cells: 1 M LiPF6 in EC:EMC 3:7 (+ 2 wt% VC, whose effect
#: on transport is neglected); transport from Nyman 2008 (the same solvent ratio).
LIPF6_EC_EMC_YARI2020 = replace(
    LIPF6_EC_EMC_NYMAN2008,
    name="1 M LiPF6 in EC:EMC 3:7 + 2 wt% VC (Yari2020; transport: Nyman2008)",
)

#: Lithium-metal counter electrode: i0 = 10 A/m^2 (1 mA/cm^2) at 1 M, alpha = 0.5.
#: Reported Li/LiPF6-carbonate exchange current densities span ~0.1-10 mA/cm^2 with the
#: method (impedance of symmetric cells at the low end, transient ultramicroelectrode
#: voltammetry higher: Boyle et al., ACS Energy Lett. 5 (2020) 701).  With this value a
#: 1 mA/cm^2 current (C/2 of a 2 mAh/cm^2 electrode) costs ~25 mV at the foil.
LI_METAL_DEFAULT = LithiumMetal(
    i0_ref=10.0,
    c_ref=1000.0,
    exponent=0.5,
    name="Li metal",
    citation="i0 = 10 A/m^2 at 1 M: order of measured values (e.g. Boyle et al., "
    "ACS Energy Lett. 5 (2020) 701); docs/physics.md §2",
)
