"""The scoreboard's cases, one module per paper or claim group."""

from __future__ import annotations

from importlib import import_module

from electrohet.validation.core import Case

#: (module, attribute) of every case, in report order
_REGISTRY = (
    ("yari_rate", "CASE"),
    ("aging", "YARI_CASE"),
    ("aging", "KROEGER_CASE"),
    ("sharma", "CASE"),
    ("zhang_cei", "CASE"),
    ("zhang_thickness", "CASE"),
    ("bridge", "CASE"),
    ("lin", "CASE"),
)


def all_cases() -> list[Case]:
    """Every registered case."""
    return [getattr(import_module(f"{__name__}.{m}"), a) for m, a in _REGISTRY]
