"""A progress bar for long loops (steps of an experiment, cycles of an aging run).

>>> bar = progress_bar(3, "steps")  # doctest: +SKIP
>>> for _ in range(3):
...     bar.update(1)  # doctest: +SKIP
>>> bar.close()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Protocol


class ProgressBar(Protocol):
    """What the loops of electrohet call on a progress bar."""

    def update(self, n: int) -> None:
        """Advance the bar by ``n`` units."""

    def close(self) -> None:
        """Remove the bar."""


class RichBar:
    """A transient :mod:`rich` progress bar with the :class:`ProgressBar` interface.

    Parameters
    ----------
    total
        Number of units (steps, cycles) the loop will report.
    desc
        Label shown in front of the bar.
    """

    def __init__(self, total: int, desc: str = "steps") -> None:
        from rich.progress import Progress

        self.p = Progress(transient=True)
        self.p.start()
        self.task = self.p.add_task(desc, total=total)

    def update(self, n: int) -> None:
        """Advance the bar by ``n`` units."""
        self.p.update(self.task, advance=n)

    def close(self) -> None:
        """Stop and remove the bar."""
        self.p.stop()


def progress_bar(total: int, desc: str = "steps") -> ProgressBar:
    """A progress bar on the terminal: tqdm where installed, else rich.

    Parameters
    ----------
    total
        Number of units the loop will report through ``update``.
    desc
        Label of the bar (``"steps"``, ``"cycles"``).

    Returns
    -------
    ProgressBar
        An object with ``update(n)`` and ``close()``; the bar disappears when closed.
    """
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return RichBar(total, desc)
    return tqdm(total=total, desc=desc, leave=False)


def show_detail(bar: ProgressBar, text: str) -> None:
    """Show ``text`` (e.g. time and voltage within a step) beside the bar.

    Works with the bars of :func:`progress_bar` (tqdm's postfix, rich's description);
    a bar without either is left as it is.

    Parameters
    ----------
    bar
        A bar from :func:`progress_bar`.
    text
        Short text, e.g. ``"t = 120 s, V = 3.912 V"``.
    """
    postfix = getattr(bar, "set_postfix_str", None)
    if postfix is not None:
        postfix(text, refresh=False)
        return
    if isinstance(bar, RichBar):
        bar.p.update(bar.task, description=f"steps ({text})")
