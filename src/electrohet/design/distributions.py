"""Particle classes from distributions: the quadrature behind a :class:`ParticleEnsemble`.

A real electrode has a continuum of particles at every location: radii spread around
a mean, some particles touch the carbon-binder domain (CBD) and some reach it only
through poorly conducting neighbours, some carry a thick CEI film and some are cut off
altogether.  This module describes those populations by distributions and turns them
into K discrete classes (nodes R_k, l_k, ... with volume weights w_k) that the P2D-E
model solves for (docs/physics.md §1.5):

* :class:`LognormalRadius` - lognormal particle radii (number-, area- or
  volume-weighted, optionally truncated), exact moments in closed form;
* :class:`ContactPaths` - contact paths through the active material; the poorly-wired
  share grows as the layer's carbon fraction falls (:func:`poorly_wired_share`, the
  documented link between carbon fraction and wiring);
* :class:`GaussianCEI` - CEI film thickness, Gaussian, r_f = thickness / kappa_CEI;
* :func:`build_ensemble` - tensor-product quadrature over the three, plus an isolated
  class;
* :func:`cei_graded_layers` - an electrode layer split into sub-layers whose CEI mean
  rises from the current collector to the separator (Zhang 2023).

Quadrature rules (``method``): ``"quantile"`` cuts the (volume-weighted) distribution
into K classes of equal volume and gives each the radius that keeps its interfacial
area exact (the volume-weighted harmonic mean of the bin), so total area is exact for
every K; ``"gauss"`` uses K-point Gauss-Legendre nodes in the volume quantile, which
converges faster for smooth responses but does not keep the area exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from electrohet.design.ensemble import ParticleEnsemble
from electrohet.errors import ParameterError, check_range

METHODS = ("quantile", "gauss")
WEIGHTINGS = {"number": 0, "area": 2, "volume": 3}

KAPPA_CEI_DEFAULT = 2.0e-7
"""Ionic conductivity of a cathode-electrolyte interphase [S/m] (calibrated).

Zhang et al. (Joule 2023) give no continuum value; SEI/CEI ionic conductivities in the
literature span ~1e-8 to 1e-5 S/m (e.g. 5e-6 S/m for the SEI in Ramadass et al.,
J. Electrochem. Soc. 151 (2004) A196).  2e-7 S/m makes the 3-28 nm graded CEI of
:func:`electrohet.design.ensemble_presets.zhang_cei_cell` lower the mean C/2 discharge
voltage by ~50 mV (CEI) and ~90 mV (thick CEI) against the pristine electrode - the
order of the 43.8 and 79.4 mV Zhang report.  A calibrated, not a measured, number.
"""


def _check_k(key: str, k: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ParameterError(f"{key} = {k!r} must be an integer >= 1 (number of classes)")
    return int(k)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ParameterError(f"quadrature method = {method!r} must be one of {METHODS}")
    return method


def _gauss_quantiles(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on (0, 1)."""
    x, w = np.polynomial.legendre.leggauss(k)
    return 0.5 * (x + 1.0), 0.5 * w


# ---------------------------------------------------------------------------- radius
@dataclass(frozen=True)
class LognormalRadius:
    """Lognormal particle-radius distribution, optionally truncated to [r_min, r_max].

    The density (of the chosen ``weighting``) is that of ln R ~ N(mu, s^2).  Multiplying
    a lognormal density by R^m gives another lognormal with mu + m s^2, so number-,
    area- and volume-weighted forms convert exactly.

    Parameters
    ----------
    mu
        Mean of ln(R / 1 m) of the ``weighting`` distribution [-].
    s
        Standard deviation of ln R [-], >= 0 (0 = monodisperse).
    weighting
        What the distribution counts: ``"number"``, ``"area"`` (as PyBaMM's
        "area-weighted particle-size distribution") or ``"volume"``.
    r_min, r_max
        Truncation [m] (0 and inf = none).
    """

    mu: float
    s: float
    weighting: str = "volume"
    r_min: float = 0.0
    r_max: float = math.inf

    def __post_init__(self) -> None:
        check_range("radius_distribution.s", self.s, 0, 3)
        if self.weighting not in WEIGHTINGS:
            raise ParameterError(
                f"radius_distribution.weighting = {self.weighting!r} must be one of "
                f"{tuple(WEIGHTINGS)}"
            )
        check_range("radius_distribution.r_min", self.r_min, 0)
        if not self.r_max > self.r_min:
            raise ParameterError(
                f"radius_distribution.r_max = {self.r_max!r} must exceed r_min = {self.r_min!r}"
            )
        median = math.exp(self.mu)
        if not 1e-9 <= median <= 1e-3:
            raise ParameterError(
                f"radius_distribution median radius = {median:.3g} m is outside the allowed "
                "range [1e-9, 1e-3] m"
            )

    @classmethod
    def from_mean_sd(
        cls,
        mean: float,
        sd: float,
        weighting: str = "area",
        r_min: float = 0.0,
        r_max: float = math.inf,
    ) -> LognormalRadius:
        """Lognormal with arithmetic ``mean`` [m] and standard deviation ``sd`` [m].

        ``mu = ln(mean^2 / sqrt(mean^2 + sd^2))``, ``s^2 = ln(1 + sd^2 / mean^2)``; with
        ``weighting="area"``, ``sd = 0.3 mean``, ``r_max = 2.5 mean`` this is the default
        distribution of PyBaMM's ``get_size_distribution_parameters``.
        """
        check_range("radius_distribution.mean", mean, 0, low_inclusive=False)
        check_range("radius_distribution.sd", sd, 0)
        s2 = math.log1p((sd / mean) ** 2)
        return cls(math.log(mean) - 0.5 * s2, math.sqrt(s2), weighting, r_min, r_max)

    # -- volume-weighted view -------------------------------------------------------
    @property
    def mu_volume(self) -> float:
        """mu of the volume-weighted lognormal [-]."""
        return self.mu + (3 - WEIGHTINGS[self.weighting]) * self.s**2

    def _z(self, r: float | np.ndarray, m: int = 0) -> np.ndarray:
        """Standardised log radius of the R^m-tilted volume distribution."""
        with np.errstate(divide="ignore"):
            lr = np.log(np.asarray(r, dtype=float))
        return (lr - self.mu_volume - m * self.s**2) / self.s

    def _partial_moment(self, a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
        """int_a^b R^m f_v(R) dR for the untruncated volume lognormal."""
        scale = math.exp(m * self.mu_volume + 0.5 * (m * self.s) ** 2)
        return scale * (ndtr(self._z(b, m)) - ndtr(self._z(a, m)))

    def classes(self, k: int, method: str = "quantile") -> tuple[np.ndarray, np.ndarray]:
        """K radius classes: (radius [m], volume weight [-]) with weights summing to 1."""
        k = _check_k("n_radius", k)
        _check_method(method)
        if self.s == 0.0:
            r0 = math.exp(self.mu)
            return np.full(k, r0), np.full(k, 1.0 / k)
        u_lo = float(ndtr(self._z(self.r_min))) if self.r_min > 0 else 0.0
        u_hi = float(ndtr(self._z(self.r_max))) if math.isfinite(self.r_max) else 1.0
        mass = u_hi - u_lo
        if method == "quantile":
            u = u_lo + mass * np.linspace(0.0, 1.0, k + 1)
            edges = np.exp(self.mu_volume + self.s * ndtri(u))
            edges[0], edges[-1] = self.r_min, self.r_max
            w = np.diff(u) / mass
            inv = self._partial_moment(edges[:-1], edges[1:], -1) / mass  # int f_v / R
            return w / inv, w
        x, gw = _gauss_quantiles(k)
        radius = np.exp(self.mu_volume + self.s * ndtri(u_lo + mass * x))
        return radius, gw

    def area_mean_radius(self) -> float:
        """Area-weighted mean radius of the (truncated) distribution [m]: 1 / E_v[1/R]."""
        num = self._partial_moment(np.array(self.r_min), np.array(self.r_max), 0)
        den = self._partial_moment(np.array(self.r_min), np.array(self.r_max), -1)
        return float(num / den)


# ---------------------------------------------------------------------------- wiring
def poorly_wired_share(
    carbon_mass_fraction: float,
    f_half: float = 0.015,
    steepness: float = 4.0,
    share_max: float = 0.9,
) -> float:
    """Share of particles wired to the carbon network only through other particles [-].

    A logistic decrease in the carbon mass fraction f_c:
    ``p(f_c) = share_max / (1 + (f_c / f_half)^steepness)``; half of ``share_max`` at
    ``f_half``.  This is electrohet's documented link between a layer's carbon content
    and its particle wiring: with f_c = 4 wt% (well-carbonated, Yari 2020) about 2 % of
    particles are poorly wired; at 1.5 wt% half are; at 1 wt% ~75 %.  The form follows
    the percolation picture of the CBD (coverage of particles by a percolating carbon
    network falls steeply as f_c approaches the percolation threshold); its constants
    are defaults, not fits.
    """
    check_range("carbon_mass_fraction", carbon_mass_fraction, 0, 1)
    check_range("poorly_wired.f_half", f_half, 0, 1, low_inclusive=False)
    check_range("poorly_wired.steepness", steepness, 0.5, 20)
    check_range("poorly_wired.share_max", share_max, 0, 1)
    return float(share_max / (1.0 + (carbon_mass_fraction / f_half) ** steepness))


@dataclass(frozen=True)
class ContactPaths:
    """Contact-path distribution: well-wired particles (l = 0) and poorly wired ones.

    A poorly wired particle reaches the CBD through n particle diameters of active
    material, n exponentially distributed with mean ``mean_diameters``.  The model's
    contact resistance l / sigma_AM spreads the path over the whole particle surface,
    whereas real paths run through particle-particle contacts much narrower than a
    particle; ``constriction`` (particle surface / contact cross-section) carries that
    into an effective path l = constriction * n * 2 R_ref.

    Parameters
    ----------
    poorly_wired
        Volume share of poorly wired particles [-], in [0, 1).
    mean_diameters
        Mean number of particle diameters in a poor path [-] (> 0).
    diameter
        Reference particle diameter 2 R [m].
    constriction
        Particle surface area / contact cross-section of a path [-], >= 1.
    """

    poorly_wired: float
    mean_diameters: float = 2.0
    diameter: float = 10e-6
    constriction: float = 1.0

    def __post_init__(self) -> None:
        check_range("contact.poorly_wired", self.poorly_wired, 0, 1, high_inclusive=False)
        check_range("contact.mean_diameters", self.mean_diameters, 0, 100, low_inclusive=False)
        check_range("contact.diameter", self.diameter, 0, 1e-3, low_inclusive=False)
        check_range("contact.constriction", self.constriction, 1, 1e4)

    @classmethod
    def from_carbon_fraction(
        cls,
        carbon_mass_fraction: float,
        mean_diameters: float = 2.0,
        diameter: float = 10e-6,
        constriction: float = 1.0,
        **share_kw,
    ) -> ContactPaths:
        """Wiring of a layer with carbon mass fraction f_c (see :func:`poorly_wired_share`)."""
        share = poorly_wired_share(carbon_mass_fraction, **share_kw)
        return cls(share, mean_diameters, diameter, constriction)

    def classes(self, k: int, method: str = "quantile") -> tuple[np.ndarray, np.ndarray]:
        """(path [m], volume weight [-]): one well-wired class and k-1 poorly wired ones.

        With k = 1 a single class carries the mean path of the population.
        """
        k = _check_k("n_contact", k)
        _check_method(method)
        lam = self.constriction * self.mean_diameters * self.diameter  # mean path [m]
        if k == 1 or self.poorly_wired == 0.0:
            if k == 1:
                return np.array([self.poorly_wired * lam]), np.ones(1)
            paths = np.zeros(k)
            return paths, np.full(k, 1.0 / k)
        m = k - 1
        if method == "quantile":
            u = np.linspace(0.0, 1.0, m + 1)
            # conditional mean of a unit exponential between its quantiles u_i, u_i+1:
            # int_a^b n e^-n dn = (a + 1) e^-a - (b + 1) e^-b, with e^-q(u) = 1 - u
            surv = 1.0 - u
            q = np.zeros_like(u)
            q[:-1] = -np.log(surv[:-1])
            g = np.zeros_like(u)
            g[:-1] = (q[:-1] + 1.0) * surv[:-1]
            n = (g[:-1] - g[1:]) / (surv[:-1] - surv[1:])
            wp = np.diff(u)
        else:
            x, wp = _gauss_quantiles(m)
            n = -np.log1p(-x)
        paths = np.concatenate([[0.0], lam * n])
        w = np.concatenate([[1.0 - self.poorly_wired], self.poorly_wired * wp])
        return paths, w


# ---------------------------------------------------------------------------- CEI
@dataclass(frozen=True)
class GaussianCEI:
    """CEI film thickness ~ N(mean, sd^2), truncated at ``t_min`` / ``t_max``.

    Parameters
    ----------
    mean, sd
        Thickness mean and standard deviation [m].
    kappa
        Ionic conductivity of the CEI [S/m]; r_f = thickness / kappa [Ohm m^2].
    t_min, t_max
        Truncation [m] (Zhang 2023: 3-28 nm).
    """

    mean: float
    sd: float
    kappa: float = KAPPA_CEI_DEFAULT
    t_min: float = 0.0
    t_max: float = math.inf

    def __post_init__(self) -> None:
        check_range("cei.mean", self.mean, 0, 1e-6)
        check_range("cei.sd", self.sd, 0, 1e-6)
        check_range("cei.kappa", self.kappa, 0, None, low_inclusive=False)
        check_range("cei.t_min", self.t_min, 0)
        if not self.t_max > self.t_min:
            raise ParameterError(
                f"cei.t_max = {self.t_max!r} must exceed cei.t_min = {self.t_min!r}"
            )

    def classes(self, k: int, method: str = "quantile") -> tuple[np.ndarray, np.ndarray]:
        """(film resistance r_f [Ohm m^2], volume weight [-]) of k thickness classes."""
        k = _check_k("n_cei", k)
        _check_method(method)
        if self.sd == 0.0 or k == 1:
            t = float(np.clip(self.mean, self.t_min, self.t_max))
            return np.full(k, t / self.kappa), np.full(k, 1.0 / k)
        a = (self.t_min - self.mean) / self.sd
        b = (self.t_max - self.mean) / self.sd
        ua, ub = float(ndtr(a)), float(ndtr(b))
        if method == "quantile":
            u = ua + (ub - ua) * np.linspace(0.0, 1.0, k + 1)
            z = ndtri(u)
            phi = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)  # 0 at +-inf
            zmean = (phi[:-1] - phi[1:]) / np.diff(u)  # conditional mean of each bin
            w = np.full(k, 1.0 / k)
        else:
            x, w = _gauss_quantiles(k)
            zmean = ndtri(ua + (ub - ua) * x)
        t = np.clip(self.mean + self.sd * zmean, self.t_min, self.t_max)
        return t / self.kappa, w

    def thickness(self, k: int, method: str = "quantile") -> np.ndarray:
        """Thickness of each class [m]."""
        return self.classes(k, method)[0] * self.kappa


# ---------------------------------------------------------------------------- product
def build_ensemble(
    radius: LognormalRadius | float,
    n_radius: int = 1,
    contact: ContactPaths | None = None,
    n_contact: int = 1,
    cei: GaussianCEI | None = None,
    n_cei: int = 1,
    isolated_fraction: float = 0.0,
    method: str = "quantile",
    contact_resistance: float = 0.0,
) -> ParticleEnsemble:
    """Tensor-product quadrature over radius x contact x CEI, plus an isolated class.

    The distributions are taken as independent, so the class weights multiply.  With
    ``isolated_fraction`` > 0 one extra class of the area-mean radius holds that volume
    share and carries no current (its lithium is trapped).

    Parameters
    ----------
    radius
        Radius distribution, or a single radius [m].
    n_radius, n_contact, n_cei
        Number of classes of each distribution (K = product, + 1 if isolated).
    contact, cei
        Optional contact-path and CEI distributions.
    isolated_fraction
        Volume share of isolated particles [-], in [0, 1).
    method
        ``"quantile"`` or ``"gauss"`` (module docstring).
    contact_resistance
        Base contact resistance r_c0 of every class [Ohm m^2].
    """
    _check_method(method)
    check_range("isolated_fraction", isolated_fraction, 0, 1, high_inclusive=False)
    if isinstance(radius, LognormalRadius):
        r, wr = radius.classes(n_radius, method)
        r_iso = radius.area_mean_radius()
    else:
        check_range("radius", radius, 0, None, low_inclusive=False)
        n_radius = _check_k("n_radius", n_radius)
        r, wr = np.full(n_radius, float(radius)), np.full(n_radius, 1.0 / n_radius)
        r_iso = float(radius)
    if contact is not None:
        lp, wl = contact.classes(n_contact, method)
    else:
        lp, wl = np.zeros(1), np.ones(1)
    if cei is not None:
        rf, wf = cei.classes(n_cei, method)
    else:
        rf, wf = np.zeros(1), np.ones(1)
    R, L, RF = (g.ravel() for g in np.meshgrid(r, lp, rf, indexing="ij"))
    W = np.einsum("i,j,k->ijk", wr, wl, wf).ravel()
    W = W / W.sum()
    iso = np.zeros(W.size, dtype=bool)
    if isolated_fraction > 0:
        R = np.append(R, r_iso)
        L = np.append(L, 0.0)
        RF = np.append(RF, float(np.sum(W * RF)))
        W = np.append(W * (1.0 - isolated_fraction), isolated_fraction)
        iso = np.append(iso, True)
    W = W / W.sum()
    return ParticleEnsemble(
        radius=R,
        weight=W,
        film_resistance=RF,
        contact_path=L,
        contact_resistance=contact_resistance,
        isolated=iso,
    )


def cei_profile_mean(xi: np.ndarray | float, mean_cc: float, mean_sep: float) -> np.ndarray:
    """Mean CEI thickness [m] at relative depth ``xi`` (0 = current collector, 1 = separator).

    Linear in depth between ``mean_cc`` and ``mean_sep`` (Zhang 2023: ~5 nm near the
    current collector, ~20 nm near the separator).
    """
    x = np.asarray(xi, dtype=float)
    return mean_cc + (mean_sep - mean_cc) * x


def cei_graded_layers(
    layer,
    n_sublayers: int,
    mean_cc: float = 5e-9,
    mean_sep: float = 20e-9,
    sd: float = 4e-9,
    t_min: float = 3e-9,
    t_max: float = 28e-9,
    kappa: float = KAPPA_CEI_DEFAULT,
    n_cei: int = 3,
    radius: LognormalRadius | None = None,
    n_radius: int = 1,
    method: str = "quantile",
    scale: float = 1.0,
) -> list:
    """Split ``layer`` into sub-layers whose CEI thickness is Gaussian with a rising mean.

    Sub-layer i (0 at the current collector) gets a :class:`GaussianCEI` with mean
    ``cei_profile_mean((i + 0.5) / n)`` and standard deviation ``sd``, truncated to
    [t_min, t_max] (Zhang 2023 fig. S8: 3-28 nm, thicker near the separator).
    ``scale`` multiplies all thicknesses ("thick CEI" = 2).  Returns the list of
    :class:`~electrohet.design.layer.Layer` ordered from the current collector.
    """
    n = _check_k("n_sublayers", n_sublayers)
    check_range("cei.scale", scale, 0, 10)
    out = []
    pts = None if layer.n_points is None else max(1, layer.n_points // n)
    for i in range(n):
        mean = float(cei_profile_mean((i + 0.5) / n, mean_cc, mean_sep))
        cei = GaussianCEI(mean * scale, sd * scale, kappa, t_min * scale, t_max * scale)
        ens = build_ensemble(
            radius if radius is not None else layer.particle_radius,
            n_radius=n_radius,
            cei=cei,
            n_cei=n_cei,
            method=method,
        )
        out.append(
            layer.with_(
                thickness=layer.thickness / n,
                ensemble=ens,
                n_points=pts,
                name=f"{layer.name or 'layer'}[{i}]",
            )
        )
    return out


def ensemble_summary(ens: ParticleEnsemble) -> dict[str, float]:
    """Volume-weighted means of an ensemble (for printing and tests)."""
    w = ens.weight
    return {
        "n_classes": float(ens.n_classes),
        "area_mean_radius_m": float(1.0 / np.sum(w / ens.radius)),
        "mean_film_resistance_ohm_m2": float(np.sum(w * ens.film_resistance)),
        "mean_contact_path_m": float(np.sum(w * ens.contact_path)),
        "isolated_fraction": float(np.sum(w[ens.isolated])),
    }


def weights_checked(weights: Sequence[float]) -> np.ndarray:
    """Validate volume weights: >= 0 and summing to 1 within 1e-9."""
    w = np.asarray(weights, dtype=float)
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
        raise ParameterError(
            f"weights = {w.tolist()} must be >= 0 and sum to 1 within 1e-9 (sum {w.sum():.12g})"
        )
    return w
