"""Griffe extension for the API reference: Sphinx roles in docstrings become links.

The docstrings use Sphinx-style roles (:class:`~electrohet.model.Simulation`,
:func:`numpy.interp`); mkdocstrings renders Markdown.  A role whose target is an object
of electrohet becomes an autorefs link (the last name shown when the target starts
with ``~``, as in Sphinx); any other target (NumPy, SciPy, numba, private names and
constants, which the reference does not render) becomes inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc):`(~?)([\w.]+)`")


def _replace(m: re.Match[str]) -> str:
    short, target = m.group(1) == "~", m.group(2)
    text = target.rsplit(".", 1)[-1] if short else target
    parts = target.split(".")
    # constants (UPPER_CASE) are often undocumented and then not rendered: no link
    linkable = not any(p.startswith("_") for p in parts) and not parts[-1].isupper()
    if parts[0] == "electrohet" and linkable:
        return f"[`{text}`][{target}]"
    return f"`{text}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_replace, obj.docstring.value)
