"""Claims, measurements and the status rule of the scoreboard.

A :class:`Claim` is one statement of a seed paper: its wording, where it is, the
paper's value and the rule by which a model value agrees with it, all written down
before the model is run.  A case (:class:`Case`) runs the model and returns one
:class:`Measurement` per claim.  The status of a row follows from the *declared*
provenance alone (:func:`status_of`):

* **calibrated** - the claim is a target of a calibration the case uses;
* **predicted** - no calibration, prior or default the case uses saw the claim, and
  the model agrees by the declared rule;
* **not reproduced** - as predicted, but the model disagrees (or the run failed);
* **not run** - the claim needs data or a model electrohet does not have (said why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("calibrated", "predicted", "not reproduced", "not run")


@dataclass(frozen=True)
class Claim:
    """One claim of a seed paper.

    Attributes
    ----------
    id
        Stable identifier, ``<paper>.<quantity>`` (e.g. ``yari2020.sign_4/1``).
    paper
        Short name of the paper (Yari 2020, Sharma 2022, Zhang 2023, Lin 2021, Kroeger).
    place
        Where in the paper (section, figure, table).
    wording
        The paper's words (or a close paraphrase of a figure).
    paper_value
        The paper's value as text, with units.
    rule
        How a model value is judged to agree, stated before any run.
    """

    id: str
    paper: str
    place: str
    wording: str
    paper_value: str
    rule: str


@dataclass
class Measurement:
    """The model's value for one claim.

    Attributes
    ----------
    model_value
        The model's value as text, with units (``None`` = not run).
    agrees
        Whether it agrees by the claim's rule (``None`` = not judged / not run).
    detail
        Diagnosis, uncertainty, settings worth knowing.
    value
        Machine-readable number(s), for the JSON report.
    """

    model_value: str | None
    agrees: bool | None
    detail: str = ""
    value: Any = None


@dataclass(frozen=True)
class Case:
    """A group of claims checked by one model run (or one set of runs).

    Attributes
    ----------
    id
        Case identifier.
    title
        One line for the report.
    claims
        The claims the case scores.
    uses
        Everything with provenance the case's inputs depend on: ``calibration:<id>``
        (a frozen file of :mod:`electrohet.calibrations`) or ``default:<name>``
        (an entry of :data:`electrohet.validation.provenance.DEFAULTS`).
    run
        ``run(quick, out_dir) -> {claim id: Measurement}``.
    quick
        Whether the quick set includes the case (cheap settings, < ~30 s).
    """

    id: str
    title: str
    claims: tuple[Claim, ...]
    uses: tuple[str, ...]
    run: Callable[[bool, Path], dict[str, Measurement]]
    quick: bool = True
    figures: tuple[str, ...] = field(default_factory=tuple)


def status_of(claim: Claim, m: Measurement, seen_by: set[str]) -> str:
    """Status of ``claim`` given its measurement and the claims seen by the case's inputs.

    ``seen_by`` = every claim id that is a target of a calibration the case uses, or
    that a default the case uses was chosen from.
    """
    if m.model_value is None:
        return "not run"
    if claim.id in seen_by:
        return "calibrated"
    return "predicted" if m.agrees else "not reproduced"
