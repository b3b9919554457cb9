"""Interrupts of long runs: Ctrl-C (SIGINT) and SIGTERM.

The CLI wraps every command in :func:`handle_termination`: SIGINT raises
:class:`KeyboardInterrupt` and SIGTERM raises :class:`Terminated` (a
``KeyboardInterrupt``), so one ``except KeyboardInterrupt`` in a long loop handles
both.  A command that catches it saves what has finished (status ``"interrupted"``)
and raises :class:`Interrupted`; the CLI prints one line and exits with
128 + the signal number (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


class Interrupted(Exception):
    """A run stopped by a signal after saving what had finished.

    Parameters
    ----------
    message
        What was saved and where.
    exit_code
        Process exit code: 130 (SIGINT) or 143 (SIGTERM).
    partial
        Results that had finished (for library callers), or ``None``.
    """

    def __init__(self, message: str, exit_code: int = 130, partial: Any = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.partial = partial


def make_interruptible(sim) -> dict:
    """Let Ctrl-C / SIGTERM end ``sim.solve`` with the states recorded so far.

    The simulations (``electrohet.model`` and ``electrohet.voxel``) turn a
    :class:`~electrohet.errors.SolverError` raised in their step loop into a partial
    Dataset; setting ``sim.interrupt_handler`` makes a KeyboardInterrupt (Ctrl-C or
    SIGTERM), inside a step or between steps, into one (see :func:`run_failure`).
    Returns a dict whose ``"cause"`` is set to the interrupt when that happened.
    """
    from electrohet.errors import SolverError

    state: dict = {"cause": None}

    def _to_solver_error(exc: KeyboardInterrupt) -> SolverError:
        state["cause"] = exc
        by = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
        return SolverError(f"interrupted by {by}")

    sim.interrupt_handler = _to_solver_error
    return state


def run_failure(exc: BaseException, handler) -> BaseException:
    """What ends a simulation's step loop: a solver failure as it is; an interrupt is
    re-raised when no ``handler`` was set (the library default), else ``handler(exc)``
    (partial results, see :func:`make_interruptible`)."""
    if isinstance(exc, KeyboardInterrupt):
        if handler is None:
            raise exc
        return handler(exc)
    return exc


def exit_code_of(exc: BaseException) -> int:
    """128 + signal number of an interrupt exception (SIGTERM: 143, else SIGINT: 130)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, Terminated):
            return 128 + signal.SIGTERM
        if isinstance(e, Interrupted):
            return e.exit_code
        e = e.__cause__ or e.__context__
    return 128 + signal.SIGINT


_received: list[int] = []


def received_signal() -> int | None:
    """The last signal caught by :func:`handle_termination`'s handlers, or ``None``.

    typer turns a KeyboardInterrupt into a plain exit code 130 and loses which signal it
    was; the CLI asks here.
    """
    return _received[-1] if _received else None


def _raise_interrupt(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _received.append(signum)
    raise KeyboardInterrupt()


def _raise_terminated(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _received.append(signum)
    raise Terminated()


@contextmanager
def handle_termination() -> Iterator[None]:
    """SIGINT -> KeyboardInterrupt, SIGTERM -> :class:`Terminated` inside the block.

    SIGINT's handler is installed explicitly, so a run started with SIGINT ignored (a
    background job of a non-interactive shell) can still be stopped by it.  The
    previous handlers are restored on exit.  Only the main thread can install handlers;
    elsewhere the block runs unchanged.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    old_int = signal.signal(signal.SIGINT, _raise_interrupt)
    old_term = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


@contextmanager
def deferred_signals(reraise: bool = True) -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM while saving results; re-raise the first one afterwards.

    A second Ctrl-C while partial results are written must not leave a half-written
    file behind.  Inside the block the signals are recorded, not acted on; after it,
    the first recorded one is raised as :class:`KeyboardInterrupt` /
    :class:`Terminated` (unless ``reraise`` is false: the caller is stopping anyway).
    """
    import threading

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def _record(signum, frame) -> None:  # noqa: ARG001
        received.append(signum)

    old_int = signal.signal(signal.SIGINT, _record)
    old_term = signal.signal(signal.SIGTERM, _record)
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if received and reraise:
        if received[0] == signal.SIGTERM:
            raise Terminated()
        raise KeyboardInterrupt()


@contextmanager
def finish_writing(what: str = "the results") -> Iterator[list[int]]:
    """Let a results write finish when Ctrl-C arrives during it; a second one aborts.

    Inside the block, the first SIGINT/SIGTERM is recorded and a line on stderr says
    the write goes on; a second one raises :class:`KeyboardInterrupt` /
    :class:`Terminated` at once (the atomic write then leaves no partial file).  After
    the block, a recorded signal becomes :class:`Interrupted` (the command exits with
    128 + the signal number, its results complete on disk).

    Parameters
    ----------
    what
        What is being written, for the message (e.g. ``"run.nc"``).

    Yields
    ------
    The list of signals received so far (empty when none).
    """
    import sys
    import threading

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def _first_defers(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        received.append(signum)
        if len(received) == 1:
            print(
                f"finishing the write of {what}; press Ctrl-C again to abort it",
                file=sys.stderr,
                flush=True,
            )
            return
        _received.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    old_int = signal.signal(signal.SIGINT, _first_defers)
    old_term = signal.signal(signal.SIGTERM, _first_defers)
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if received:
        _received.append(received[0])
        raise Interrupted(f"{what} written completely before stopping", 128 + int(received[0]))
