"""The pre-registered scoreboard of the seed papers' claims (``electrohet validate``).

Every claim of the five seed papers that electrohet can model is a row: the paper's
value with its wording and place, the model's value, and a status derived from the
declared provenance of the case's inputs (:mod:`electrohet.validation.provenance`,
frozen calibrations in :mod:`electrohet.calibrations`): *calibrated*, *predicted*,
*not reproduced* or *not run*.  See ``docs/validation.md``.
"""

from electrohet.validation.cases import all_cases
from electrohet.validation.core import STATUSES, Case, Claim, Measurement, status_of
from electrohet.validation.runner import Scoreboard, run_cases, to_json, to_markdown

__all__ = [
    "STATUSES",
    "Case",
    "Claim",
    "Measurement",
    "Scoreboard",
    "all_cases",
    "run_cases",
    "status_of",
    "to_json",
    "to_markdown",
    "validate",
]


def validate(quick: bool = False, out=".", cases: list[str] | None = None, progress=False):
    """Run the scoreboard and write ``scoreboard.md`` and ``scoreboard.json`` in ``out``.

    Parameters
    ----------
    quick
        Cheap settings for a structure check (< ~2 min); the full set takes <= 30 min
        on 2 cores.
    out
        Output folder (figures and per-case tables too).
    cases
        Case ids to run (default all).

    Returns
    -------
    Scoreboard
    """
    from pathlib import Path

    from electrohet.errors import ParameterError
    from electrohet.outputs import write_text_atomic

    sel = all_cases()
    if cases:
        known = {c.id for c in sel}
        bad = sorted(set(cases) - known)
        if bad:
            raise ParameterError(f"unknown case(s) {bad}; known: {sorted(known)}")
        sel = [c for c in sel if c.id in cases]
    outp = Path(out)
    board = run_cases(sel, quick, outp, progress)
    write_text_atomic(outp / "scoreboard.md", to_markdown(board))
    write_text_atomic(outp / "scoreboard.json", to_json(board))
    return board
