"""Pre-registration: frozen calibrations are unchanged, the code uses exactly what was
frozen, and no "predicted" row depends on an input that saw its claim."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from electrohet.calibrations import available, file_hash, load
from electrohet.validation.cases import all_cases
from electrohet.validation.provenance import DEFAULTS, seen_by


def test_every_frozen_file_matches_its_manifest_hash():
    man = json.loads(
        resources.files("electrohet.calibrations").joinpath("MANIFEST.json").read_text()
    )
    assert available()
    for cal_id in available():
        assert file_hash(cal_id) == man["calibrations"][cal_id]["sha256"]
        load(cal_id)  # raises on a mismatch


def test_every_case_input_is_declared():
    known_cals = set(available())
    for case in all_cases():
        for u in case.uses:
            kind, _, name = u.partition(":")
            assert kind in ("calibration", "default"), u
            assert name in (known_cals if kind == "calibration" else DEFAULTS), u
        seen_by(case.uses)  # loads and hash-checks every calibration


def test_claims_seen_by_inputs_cannot_be_predicted():
    """Whatever a case returns, a claim that one of its inputs was fitted to or chosen
    from is scored 'calibrated'; the claims left for prediction are listed here so a
    change of provenance shows in review."""
    from electrohet.validation.core import Measurement, status_of

    for case in all_cases():
        seen = seen_by(case.uses)
        for c in case.claims:
            st = status_of(c, Measurement("x", True), seen)
            assert st == ("calibrated" if c.id in seen else "predicted")


def test_the_rate_calibration_targets_single_layers_only():
    cal = load("yari2020_single_layer")
    assert set(cal.targets) == {
        "yari2020.gamma_single_4wt",
        "yari2020.gamma_single_1.5wt",
        "yari2020.gamma_single_1wt",
    }
    assert not any("sign_" in t or "bilayer" in t for t in cal.targets + cal.chosen_from)


def test_code_uses_exactly_the_frozen_priors_targets_and_fit():
    """The priors and targets in the code are the frozen ones (a prior moved after the
    freeze fails here), and the rate study's default calibration is the frozen file."""
    from electrohet.calibrations.yari2020 import (
        PARAMETERS,
        PRIORS,
        SINGLE_LAYER_TARGETS,
        from_frozen,
    )
    from electrohet.studies.rate_study import YARI2020_CALIBRATION

    cal = load("yari2020_single_layer")
    for p in cal.priors:
        mean, sd, source = PRIORS[p.name]
        assert (p.mean, p.sd, p.source) == (mean, sd, source)
    assert tuple(cal.parameters) == PARAMETERS
    raw = json.loads(
        resources.files("electrohet.calibrations")
        .joinpath("yari2020_single_layer.json")
        .read_text()
    )
    assert raw["target_values"] == {f"{k:g}": list(v) for k, v in SINGLE_LAYER_TARGETS.items()}
    fit = from_frozen("yari2020_single_layer")
    np.testing.assert_allclose(fit.log10_params, cal.result["map"])
    assert YARI2020_CALIBRATION == fit.params


def test_declared_defaults_match_the_code():
    """The defaults' declared values are the ones the code runs with."""
    from electrohet.aging.presets import KROEGER_CALIBRATION, YARI_CALIBRATION

    assert YARI_CALIBRATION.contact.gradient_weight == 6.0
    assert YARI_CALIBRATION.cracking.gradient_weight == 6.0
    assert YARI_CALIBRATION.contact.rate == pytest.approx(
        float(DEFAULTS["yari_aging_contact_rate"].value.split()[0])
    )
    assert KROEGER_CALIBRATION.contact.rate == pytest.approx(
        float(DEFAULTS["kroeger_contact_rate"].value.split()[0])
    )


def test_a_changed_calibration_file_is_refused(monkeypatch):
    from electrohet import calibrations
    from electrohet.errors import ParameterError

    real = calibrations._text

    def tampered(cal_id):
        return real(cal_id).replace(b'"version"', b'"version" ', 1)

    monkeypatch.setattr(calibrations, "_text", tampered)
    with pytest.raises(ParameterError, match="changed after it was frozen"):
        load("yari2020_single_layer")
