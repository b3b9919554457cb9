"""Declared provenance of every input a scoreboard case depends on.

Each frozen calibration (:mod:`electrohet.calibrations`) names its targets.  Defaults,
switches and hand-set parameters are listed here with their value, where they live,
their source, and ``chosen_from``: the claims whose outcome they were set or tuned
against (honestly declared, including the project's history).  A claim that any input
of a case saw can only be scored "calibrated" by that case; a test
(``tests/validation/test_preregistration.py``) checks that every "predicted" row is
clean and that every frozen file still matches its hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from electrohet.calibrations import load


@dataclass(frozen=True)
class Default:
    """A default or hand-set parameter and its provenance.

    Attributes
    ----------
    name
        Identifier used in a case's ``uses`` as ``default:<name>``.
    where
        Module attribute holding it.
    value
        The value, as text with units.
    source
        Independent evidence (citation, measurement, argument with numbers) or the
        calibration target it was set from.
    chosen_from
        Claim ids it was set or tuned against.
    """

    name: str
    where: str
    value: str
    source: str
    chosen_from: tuple[str, ...] = ()


DEFAULTS: dict[str, Default] = {
    d.name: d
    for d in (
        Default(
            "yari_single_layer_spreads",
            "electrohet.calibrations.yari2020.SINGLE_LAYER_TARGETS",
            "0.90 +- 0.01 (4 wt%), 0.83 +- 0.02 (1.5 wt%), 0.65 +- 0.05 (1 wt%)",
            "readings of the wording 'about 0.90', 'below 0.85', 'less than 0.7' (§3.3.1)",
            (
                "yari2020.gamma_single_4wt",
                "yari2020.gamma_single_1.5wt",
                "yari2020.gamma_single_1wt",
            ),
        ),
        Default(
            "percolation_threshold",
            "electrohet.design.conductivity (threshold f_c* = 0.14 wt%, shared by the bulk "
            "and interface laws)",
            "f_c* = 0.0014",
            "chosen with sigma_0 so that a through-plane percolation law met Yari's three "
            "single-layer anchors (YARI2020_PERCOLATION, an earlier session)",
            (
                "yari2020.gamma_single_4wt",
                "yari2020.gamma_single_1.5wt",
                "yari2020.gamma_single_1wt",
            ),
        ),
        Default(
            "yari_cccv_protocol",
            "electrohet.studies.settings.RateProtocol.protocol",
            "2 C/10 formation cycles; per rate CC-CV charge, CC-CV discharge (C/20), 15 min",
            "Yari 2020 §2.3 (experimental); gamma from the CC discharge energy by the bound "
            "argument in studies.runner._discharge_energies.  That choice was made after the 1/4 "
            "bilayer had been run under both energy definitions (gamma 0.66 CC-only, 0.93 "
            "with the CV step; v1 calibration), so the 1/4 claims count as seen",
            ("yari2020.sign_1/4", "yari2020.destructive_drop_20pct"),
        ),
        Default(
            "aging_load_weight_g",
            "electrohet.aging.presets.YARI_CALIBRATION (gradient_weight = 6)",
            "g = 6",
            "set so that Kroeger's isolated share rises from 1C to 2C (stop 20 history)",
            ("kroeger.diverging_2c_gt_1c",),
        ),
        Default(
            "yari_aging_contact_rate",
            "electrohet.aging.presets.YARI_CALIBRATION.contact.rate",
            "1.315e-9 m/cycle",
            "bisected on the Yari LTO|NMC622 single-layer retention after 200 1C cycles "
            "(without the C/10 titrations; benchmarks/aging_yari_acceptance.py)",
            ("yari2020.lto_retention_single",),
        ),
        Default(
            "yari_aging_collector_exponent",
            "electrohet.aging.presets.COLLECTOR_EXPONENT",
            "t of yari2020_single_layer v2 (1.918)",
            "interface exponent t of the frozen v2 rate calibration (single layers only)",
        ),
        Default(
            "kroeger_contact_rate",
            "electrohet.aging.presets.KROEGER_CALIBRATION.contact.rate",
            "4.22e-10 m/cycle",
            "bisected on the rise of the isolated share after 100 1C cycles (6 -> 8 %)",
            ("kroeger.diverging_1c_100",),
        ),
        Default(
            "kroeger_fresh_isolated",
            "electrohet.aging.presets.nmc532_aging_cell(isolated_fraction=0.06)",
            "6 % of the active volume isolated when fresh",
            "Kroeger's fresh diverging share (6 +- 1 %), used as an input",
            ("kroeger.diverging_fresh",),
        ),
        Default(
            "bridge_diffusion_radius",
            "electrohet.micro.effective (diffusion radius of Electrode.from_volume)",
            "R = sqrt(15 <c>) of a steady solid-diffusion solve",
            "a measurement, but adopted after a volume-to-surface radius had left 52 mV at "
            "1C on the clogged real crop (the bridge's own history, docs/voxel.md)",
            ("electrohet.bridge_real", "electrohet.bridge_synthetic_1c"),
        ),
        Default(
            "sharma_cbd_conductivity",
            "electrohet.voxel.scenarios.sharma_formation(cbd_conductivity=50)",
            "50 S/m",
            "carbon-binder domain conductivity, order of measured CBD values (10-100 S/m)",
        ),
        Default(
            "zhang_cei_gradient",
            "electrohet.voxel.scenarios.zhang_cei_scenarios",
            "CEI 3 -> 28 nm collector -> separator",
            "Zhang 2023's model range of CEI thickness (an input of their scenario)",
        ),
    )
}


def seen_by(uses: tuple[str, ...]) -> set[str]:
    """Claim ids seen by the inputs ``uses`` (targets of calibrations, defaults' origins).

    Loading a calibration checks its hash (a changed file raises).
    """
    seen: set[str] = set()
    for u in uses:
        kind, _, name = u.partition(":")
        if kind == "calibration":
            cal = load(name)
            seen |= set(cal.targets) | set(cal.chosen_from)
        elif kind == "default":
            seen |= set(DEFAULTS[name].chosen_from)
        else:
            raise ValueError(f"unknown provenance kind in {u!r}")
    return seen
