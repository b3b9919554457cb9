"""Rate laws of the degradation mechanisms, per particle slot and per cycle.

A *slot* is one particle class at one finite-volume cell of the positive electrode
(:class:`~electrohet.model.mesh.CellMesh`).  Each mechanism turns what a resolved
cycle did to a slot (:class:`~electrohet.aging.cycle.CycleResult`: the swing of its mean lithium
fraction, its largest radial lithium difference and the side-reaction charge of its
surface potential history) into the increments of its slow states per cycle.  All are switchable
(``enabled``) and validated on construction (negative rates are rejected naming the
key).

Mechanisms
----------
CEI growth (:class:`CEIGrowth`)
    Electrolyte oxidation on the cathode surface with a Tafel dependence on the
    surface potential and an Arrhenius temperature dependence, slowed by the film it
    builds (solvent diffusion through the film, the "mixed" limit of the SEI laws of
    Pinson & Bazant, J. Electrochem. Soc. 160 (2013) A243, and Single, Latz &
    Horstmann, ChemSusChem 11 (2018) 1950, applied to the cathode as in the CEI
    model of Jana, Woo & Garcia, J. Electrochem. Soc. 166 (2019) A5233 ("electrolyte
    oxidation kinetics")):

    ``i_cei = i_cei,0 exp(alpha F (E_s - U_cei)/(R T)) exp(-E_a/R (1/T - 1/T_ref)) /
    (1 + L/L_D)``  [A per m^2 particle surface],

    with ``E_s = phi_s - phi_e - i_k r_k`` the surface potential.  Each electron binds
    one lithium in the film (LiF/Li2CO3-type products), so a slot loses
    ``a_k A_k dx Q_cei / F`` mol of cyclable lithium per m^2 of electrode and its film
    grows by ``dL = V_cei Q_cei / F``; its film resistance is ``L / kappa_cei``.
    Fresh crack surface carries no film: the mean film thickness is diluted by the
    area gain ``A_old/A_new`` when the crack area grows.
SEI growth (:class:`SEIGrowth`, off by default)
    Electrolyte reduction on the negative particles, reaction limited (Safari et al.,
    J. Electrochem. Soc. 156 (2009) A145; the "reaction limited" law of Marquis'
    thesis, Oxford 2020, eq. 5.92, which PyBaMM implements):

    ``i_sei = i_sei,0 exp(-alpha F (E_s - U_sei)/(R T)) exp(-E_a/R (1/T - 1/T_ref))``
    [A per m^2 particle surface, a reduction: lithium consumed],

    with ``E_s = phi_s - phi_e - i_k r_k`` the surface potential inside the film
    (``r_k`` includes the SEI's own ``L rho_sei``).  ``z`` lithium per SEI molecule:
    the film grows by ``dL = V_sei Q_sei / (z F)`` and a slot loses ``a_k dx Q_sei /
    F`` mol of cyclable lithium per m^2 of electrode; its film resistance is
    ``L rho_sei``.  It exists so that a degradation shared with PyBaMM can be
    compared like for like (``benchmarks/bench_aging.py``).
Cracking (:class:`Cracking`)
    A fatigue (Paris-type) law in the lithium-fraction swing, which sets the
    diffusion-induced stress amplitude (Deshpande, Verbrugge, Cheng, Wang & Liu,
    J. Electrochem. Soc. 159 (2012) A1730; swing-driven NMC cracking measured by
    Zhang et al. 2023): ``dc/dN = k_cr (s/dtheta_ref)^m (1 - c)`` with the load
    ``s = dtheta + g max|theta_surf - theta_mean|``: the swing of the particle's
    lithium fraction plus ``g`` times its largest radial lithium difference, which
    sets the diffusion-induced stress at a given current (Christensen & Newman,
    J. Electrochem. Soc. 153 (2006) A1019), so faster cycling loads particles more.  The crack
    fraction ``c`` adds reactive surface ``A = 1 + beta_area c`` (faster kinetics,
    more CEI) and multiplies the contact-loss rate by ``1 + beta_contact c``.
Contact loss (:class:`ContactLoss`)
    The conduction path from a particle to the carbon-binder network lengthens with
    the repeated volume change of the particle (Yari et al. 2020's hot-spot
    hypothesis: classes that swing most lose contact first) and faster where there
    is less carbon per particle:
    ``dl/dN = k_c (s/dtheta_ref)^m (f_c,ref/f_c)^q (1 + beta_contact c)`` with the
    same load ``s`` as cracking.
    The added path raises the contact resistance by ``dl / sigma_AM(theta)``
    (docs/physics.md §1.5).  A particle whose added path exceeds its own isolation
    threshold ``L`` is *isolated*: it carries no current and its lithium is trapped
    at the content it had then (Kroeger's inactive lithium); its material is lost
    (LAM).  A slot stands for many particles whose thresholds differ (contact
    quality varies from particle to particle): ``L`` is log-normal with median
    ``l_iso`` and log-standard deviation ``s`` (``threshold_spread``), so the
    isolated fraction of a slot is the smooth ``F(l) = Phi(ln(l / l_iso) / s)`` of
    its contact state (Phi the standard normal CDF).  The log-normal form and
    ``s = 0.3`` are assumptions (no measured distribution of contact-loss
    thresholds is known to us): particle properties of NMC electrodes (sizes,
    contact areas) are commonly log-normal, and ``s = 0.3`` matches the log-spread
    of the former even spread of slot thresholds over ``l_iso (1 +- 0.5)`` (0.31).
    ``s = 0`` is the discrete limit: the whole slot isolates when ``l`` reaches
    ``l_iso``.  The lost contacts are broken links of the carbon-binder
    network, so the matrix conductivity of each location falls with its contact
    damage ``D`` (volume mean over its classes of the particles' mean
    ``E[min(l / L, 1)]``; ``min(l / l_iso, 1)`` in the discrete limit) as a
    percolating network does, ``sigma = sigma_0 (1 - D)^t`` (``t`` =
    ``network_exponent``; 2 is the 3D percolation conductivity exponent, Stauffer &
    Aharony, "Introduction to Percolation Theory", 1994; 0 switches it off).  Current
    to the whole electrode crosses the layer at the collector, so damage there costs
    most: Yari 2020's explanation of the poor-bottom bilayers' fast aging.
Collector contact (``ContactLoss.collector_exponent``)
    The coating touches the aluminium foil through the carbon-binder network of the
    layer at the foil; its contact conductance follows the percolation law of that
    network (:class:`~electrohet.design.conductivity.InterfaceResistanceLaw`,
    ``g ~ (f_c - f_c*)^t_int``; Westphal et al., J. Energy Storage 11 (2017) 76 for
    the size of this contact resistance).  Contacts lost at the foil remove that
    network's links as they do in the bulk, so the conductance falls as
    ``g = g_0 (1 - D_cc)^t_c`` with ``D_cc`` the contact damage of the positive cell
    at the foil; ``t_c = t_int`` (the contact law's exponent) treats the damage as a
    loss of percolating carbon, ``f_c - f_c* -> (f_c - f_c*)(1 - D_cc)``.  The whole
    cell current crosses this contact, and its fresh resistance is largest when the
    layer at the foil is carbon-poor, so the same relative damage costs a poor-bottom
    electrode most (Yari 2020 §3.3.1: the layer at the collector sets the rate
    capability).  It acts on the cell's ``contact_resistance`` (0 in the
    through-plane-limited presets, where it does nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from scipy.special import ndtr

from electrohet.errors import ParameterError, check_range
from electrohet.materials.base import R_GAS, T_REF, F


def _positive(key: str, v: float, strict: bool = False) -> None:
    check_range(key, v, 0.0, None, low_inclusive=not strict)


@dataclass(frozen=True)
class CEIGrowth:
    """Cathode-electrolyte interphase growth (see module docstring).

    Parameters
    ----------
    i0
        Side-reaction exchange current density i_cei,0 at E_s = U_cei [A/m^2], >= 0.
    u_ref
        Reference potential U_cei vs Li/Li+ [V].
    alpha
        Anodic transfer coefficient of the oxidation [-], in (0, 1].
    activation_energy
        E_a [J/mol], >= 0.
    limiting_thickness
        L_D: film thickness that halves the rate [m], > 0.
    molar_volume
        V_cei, film volume per mole of electrons [m^3/mol], > 0.
    conductivity
        kappa_cei, ionic conductivity of the film [S/m], > 0.
    initial_thickness
        Film thickness of the fresh electrode [m], >= 0.
    enabled
        Switch.
    """

    i0: float = 1e-9
    u_ref: float = 4.1
    alpha: float = 0.5
    activation_energy: float = 5.0e4
    limiting_thickness: float = 5e-9
    molar_volume: float = 3.0e-5
    conductivity: float = 5.0e-6
    initial_thickness: float = 1e-9
    enabled: bool = True

    def __post_init__(self) -> None:
        _positive("cei.i0", self.i0)
        check_range("cei.u_ref", self.u_ref, 2.0, 6.0)
        check_range("cei.alpha", self.alpha, 0.0, 1.0, low_inclusive=False)
        _positive("cei.activation_energy", self.activation_energy)
        _positive("cei.limiting_thickness", self.limiting_thickness, strict=True)
        _positive("cei.molar_volume", self.molar_volume, strict=True)
        _positive("cei.conductivity", self.conductivity, strict=True)
        _positive("cei.initial_thickness", self.initial_thickness)

    def current(
        self, surface_potential: np.ndarray, thickness: np.ndarray, temperature: float
    ) -> np.ndarray:
        """Side-reaction current density [A/m^2 of particle surface].

        ``surface_potential`` (S, T) [V], ``thickness`` (S,) [m].
        """
        if not self.enabled:
            return np.zeros_like(surface_potential)
        f_rt = F / (R_GAS * temperature)
        arr = np.exp(-self.activation_energy / R_GAS * (1.0 / temperature - 1.0 / T_REF))
        film = 1.0 / (1.0 + thickness / self.limiting_thickness)
        expo = np.minimum(self.alpha * f_rt * (surface_potential - self.u_ref), 200.0)
        return self.i0 * arr * film[:, None] * np.exp(expo)

    def film_resistance(self, thickness: np.ndarray) -> np.ndarray:
        """Area-specific film resistance L / kappa_cei [Ohm m^2]."""
        return thickness / self.conductivity

    def thickness_rate(self, q_cei: np.ndarray) -> np.ndarray:
        """Film growth per cycle [m] from the side charge per surface [C/m^2]."""
        if not self.enabled:
            return np.zeros_like(q_cei)
        return self.molar_volume * q_cei / F


@dataclass(frozen=True)
class SEIGrowth:
    """Reaction-limited SEI growth on the negative electrode (see module docstring).

    Defaults are those of O'Kane et al., Phys. Chem. Chem. Phys. 24 (2022) 7909 (the
    OKane2022 set): i0 = 1.5e-7 A/m^2, U_sei = 0.4 V, V_sei = 9.585e-5 m^3/mol,
    rho_sei = 2e5 Ohm m, 5 nm initial film, z = 1; alpha = 0.5 (symmetric).

    Parameters
    ----------
    i0
        Exchange current density of the SEI reaction [A/m^2], >= 0.
    u_ref
        SEI open-circuit potential vs Li/Li+ [V].
    alpha
        Cathodic transfer coefficient [-], in (0, 1].
    activation_energy
        E_a [J/mol], >= 0.
    molar_volume
        V_sei, film volume per mole of SEI [m^3/mol], > 0.
    lithium_per_molecule
        z, lithium (electrons) per SEI molecule [-], > 0.
    resistivity
        rho_sei, ionic resistivity of the film [Ohm m], >= 0.
    initial_thickness
        Film thickness of the fresh electrode [m], >= 0.
    enabled
        Switch (off by default: the presets model the positive electrode).
    """

    i0: float = 1.5e-7
    u_ref: float = 0.4
    alpha: float = 0.5
    activation_energy: float = 0.0
    molar_volume: float = 9.585e-5
    lithium_per_molecule: float = 1.0
    resistivity: float = 2.0e5
    initial_thickness: float = 5e-9
    enabled: bool = False

    def __post_init__(self) -> None:
        _positive("sei.i0", self.i0)
        check_range("sei.u_ref", self.u_ref, -1.0, 2.0)
        check_range("sei.alpha", self.alpha, 0.0, 1.0, low_inclusive=False)
        _positive("sei.activation_energy", self.activation_energy)
        _positive("sei.molar_volume", self.molar_volume, strict=True)
        _positive("sei.lithium_per_molecule", self.lithium_per_molecule, strict=True)
        _positive("sei.resistivity", self.resistivity)
        _positive("sei.initial_thickness", self.initial_thickness)

    def current(
        self, surface_potential: np.ndarray, thickness: np.ndarray, temperature: float
    ) -> np.ndarray:
        """Side-reaction current density [A/m^2 of particle surface], > 0 (lithium
        consumed); ``surface_potential`` (S, T) [V], ``thickness`` (S,) [m] (unused: the
        film acts through the potential drop ``i_k L rho_sei`` in ``E_s``)."""
        if not self.enabled:
            return np.zeros_like(surface_potential)
        f_rt = F / (R_GAS * temperature)
        arr = np.exp(-self.activation_energy / R_GAS * (1.0 / temperature - 1.0 / T_REF))
        expo = np.minimum(-self.alpha * f_rt * (surface_potential - self.u_ref), 200.0)
        return self.i0 * arr * np.exp(expo)

    def film_resistance(self, thickness: np.ndarray) -> np.ndarray:
        """Area-specific film resistance L rho_sei [Ohm m^2]."""
        return thickness * self.resistivity

    def thickness_rate(self, q_sei: np.ndarray) -> np.ndarray:
        """Film growth per cycle [m] from the side charge per surface [C/m^2]."""
        if not self.enabled:
            return np.zeros_like(q_sei)
        return self.molar_volume * q_sei / (self.lithium_per_molecule * F)


@dataclass(frozen=True)
class Cracking:
    """Swing-driven particle cracking (Paris-type law, see module docstring).

    Parameters
    ----------
    rate
        k_cr, crack fraction growth per cycle at the reference swing [1/cycle], >= 0.
    reference_swing
        dtheta_ref [-], > 0.
    exponent
        Paris exponent m [-], >= 0.
    area_gain
        beta_area: reactive-area gain of a fully cracked particle [-], >= 0.
    gradient_weight
        g, weight of the radial lithium difference in the load [-], >= 0.
    initial
        Crack fraction of the fresh electrode [-], in [0, 1).
    enabled
        Switch.
    """

    rate: float = 2e-3
    reference_swing: float = 0.5
    exponent: float = 2.0
    area_gain: float = 1.0
    gradient_weight: float = 2.0
    initial: float = 0.0
    enabled: bool = True

    def __post_init__(self) -> None:
        _positive("cracking.rate", self.rate)
        _positive("cracking.reference_swing", self.reference_swing, strict=True)
        _positive("cracking.exponent", self.exponent)
        _positive("cracking.area_gain", self.area_gain)
        _positive("cracking.gradient_weight", self.gradient_weight)
        check_range("cracking.initial", self.initial, 0.0, 1.0, high_inclusive=False)

    def growth(
        self, swing: np.ndarray, crack: np.ndarray, gradient: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """dc/dN [1/cycle]."""
        if not self.enabled:
            return np.zeros_like(swing)
        load = swing + self.gradient_weight * gradient
        return self.rate * (load / self.reference_swing) ** self.exponent * (1.0 - crack)

    def area_factor(self, crack: np.ndarray) -> np.ndarray:
        """Reactive surface relative to the fresh particle, 1 + beta_area c [-]."""
        return 1.0 + self.area_gain * crack


@dataclass(frozen=True)
class ContactLoss:
    """Contact-path lengthening and isolation (see module docstring).

    Parameters
    ----------
    rate
        k_c, path growth per cycle at the reference swing and carbon fraction [m/cycle],
        >= 0.
    reference_swing
        dtheta_ref [-], > 0.
    exponent
        m [-], >= 0.
    carbon_reference
        f_c,ref, carbon mass fraction at which the carbon factor is 1 [-], > 0.
    carbon_exponent
        q [-], >= 0 (0: no dependence on the layer's carbon content).
    crack_coupling
        beta_contact [-], >= 0.
    gradient_weight
        g, weight of the radial lithium difference in the load [-], >= 0.
    network_exponent
        t, exponent of the matrix-conductivity loss (1 - D)^t [-], >= 0 (0: off).
    collector_exponent
        t_c, exponent of the coating / current-collector contact conductance loss
        (1 - D_cc)^t_c, D_cc the contact damage at the foil [-], >= 0 (0: off).
    isolation_length
        l_iso: median added path at which a particle is isolated [m], > 0.
    isolation_spread
        Relative spread of the slots' median thresholds [-], in [0, 1): slot medians
        are spread evenly over ``l_iso (1 +- spread)``, assigned by a low-discrepancy
        sequence over the slots so that neighbouring classes and locations get
        different thresholds.  The way to spread thresholds in the discrete limit
        (``threshold_spread = 0``); with a particle distribution in every slot
        (the default) it is 0.
    threshold_spread
        s, log-standard deviation of the particles' isolation thresholds within a
        slot [-], in [0, 3]: the isolated fraction of a slot is
        ``Phi(ln(l / l_iso,k) / s)``.  0 = discrete isolation (a slot isolates as a
        whole at ``l_iso,k``).  Default 0.3 (an assumption, see the module docstring).
    enabled
        Switch.
    """

    rate: float = 2e-8
    reference_swing: float = 0.5
    exponent: float = 2.0
    carbon_reference: float = 0.025
    carbon_exponent: float = 1.0
    crack_coupling: float = 1.0
    gradient_weight: float = 2.0
    network_exponent: float = 0.0
    collector_exponent: float = 0.0
    isolation_length: float = 5e-6
    isolation_spread: float = 0.0
    threshold_spread: float = 0.3
    enabled: bool = True

    def __post_init__(self) -> None:
        _positive("contact.rate", self.rate)
        _positive("contact.reference_swing", self.reference_swing, strict=True)
        _positive("contact.exponent", self.exponent)
        _positive("contact.carbon_reference", self.carbon_reference, strict=True)
        _positive("contact.carbon_exponent", self.carbon_exponent)
        _positive("contact.crack_coupling", self.crack_coupling)
        _positive("contact.gradient_weight", self.gradient_weight)
        _positive("contact.network_exponent", self.network_exponent)
        _positive("contact.collector_exponent", self.collector_exponent)
        _positive("contact.isolation_length", self.isolation_length, strict=True)
        check_range(
            "contact.isolation_spread", self.isolation_spread, 0.0, 1.0, high_inclusive=False
        )
        check_range("contact.threshold_spread", self.threshold_spread, 0.0, 3.0)

    @property
    def continuous(self) -> bool:
        """Whether slots isolate gradually (a threshold distribution per slot)."""
        return self.threshold_spread > 0

    def isolated_fraction(self, dpath: np.ndarray, median: np.ndarray) -> np.ndarray:
        """Isolated share of a slot's particles, ``Phi(ln(dl / l_iso,k) / s)`` [-].

        ``dpath`` added contact path [m], ``median`` the slot's median threshold
        ``l_iso,k`` [m] (:meth:`thresholds`).  ``s = 0``: the step ``dl >= l_iso,k``.
        """
        dl = np.asarray(dpath, dtype=float)
        if not self.continuous:
            return (dl >= median).astype(float)
        with np.errstate(divide="ignore"):
            z = np.log(np.maximum(dl, 0.0) / median) / self.threshold_spread
        return ndtr(z)

    def damage(self, dpath: np.ndarray, median: np.ndarray) -> np.ndarray:
        """Mean contact damage of a slot's particles, ``E[min(dl / L, 1)]`` [-].

        Isolated particles (``L <= dl``) count 1, connected ones ``dl / L``; for the
        log-normal ``L`` (median ``l_iso,k``, log-sd ``s``)
        ``E[min(dl/L, 1)] = F(dl) + (dl / l_iso,k) exp(s^2/2) Phi((-ln(dl/l_iso,k) -
        s^2) / s)``.  ``s = 0``: ``min(dl / l_iso,k, 1)``.
        """
        dl = np.maximum(np.asarray(dpath, dtype=float), 0.0)
        ratio = dl / median
        if not self.continuous:
            return np.minimum(ratio, 1.0)
        s = self.threshold_spread
        with np.errstate(divide="ignore"):
            lr = np.log(ratio)
        live = ratio * np.exp(0.5 * s * s) * ndtr((-lr - s * s) / s)
        return np.minimum(ndtr(lr / s) + live, 1.0)

    def thresholds(self, n: int) -> np.ndarray:
        """Isolation threshold of each of ``n`` slots [m]."""
        q = np.mod(np.arange(n) * 0.6180339887498949 + 0.5, 1.0)  # golden-ratio sequence
        return self.isolation_length * (1.0 + self.isolation_spread * (2.0 * q - 1.0))

    def growth(
        self,
        swing: np.ndarray,
        crack: np.ndarray,
        carbon_fraction: np.ndarray,
        gradient: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """dl/dN [m/cycle]; ``carbon_fraction`` per slot (NaN = no carbon factor)."""
        if not self.enabled:
            return np.zeros_like(swing)
        load = swing + self.gradient_weight * gradient
        fc = np.where(np.isfinite(carbon_fraction), carbon_fraction, self.carbon_reference)
        carbon = (self.carbon_reference / np.maximum(fc, 1e-6)) ** self.carbon_exponent
        return (
            self.rate
            * (load / self.reference_swing) ** self.exponent
            * carbon
            * (1.0 + self.crack_coupling * crack)
        )


@dataclass(frozen=True)
class Mechanisms:
    """The set of degradation mechanisms of an aging run (each switchable)."""

    cei: CEIGrowth = field(default_factory=CEIGrowth)
    cracking: Cracking = field(default_factory=Cracking)
    contact: ContactLoss = field(default_factory=ContactLoss)
    sei: SEIGrowth = field(default_factory=SEIGrowth)

    @classmethod
    def from_dict(cls, d: dict) -> Mechanisms:
        """Build from ``{"cei": {...}, "cracking": {...}, "contact": {...}, "sei": {...}}``."""
        known = {"cei": CEIGrowth, "cracking": Cracking, "contact": ContactLoss, "sei": SEIGrowth}
        for key in d:
            if key not in known:
                raise ParameterError(
                    f"mechanisms.{key}: unknown mechanism (allowed: {', '.join(known)})"
                )
        kw = {}
        for key, typ in known.items():
            sub = dict(d.get(key, {}))
            allowed = {f.name for f in fields(typ)}
            bad = sorted(set(sub) - allowed)
            if bad:
                raise ParameterError(
                    f"mechanisms.{key}: unknown key(s) {bad} (allowed: {sorted(allowed)})"
                )
            kw[key] = typ(**sub)
        return cls(**kw)

    @property
    def names(self) -> list[str]:
        """Names of the enabled mechanisms."""
        return [n for n in ("cei", "cracking", "contact", "sei") if getattr(self, n).enabled]
