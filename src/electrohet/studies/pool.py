"""An interrupt-safe process pool for independent jobs (designs of a rate study, ...).

``concurrent.futures.ProcessPoolExecutor`` on its own cannot be stopped: on Ctrl-C its
``with`` block waits for every running job (minutes for a runaway one), and when the
parent is killed by SIGTERM the workers live on as orphans.  :func:`run_jobs`:

- workers ignore SIGINT (the parent decides) and ask the kernel to send them SIGTERM
  when the parent dies (Linux ``PR_SET_PDEATHSIG``), so they never outlive it;
- on KeyboardInterrupt / SIGTERM in the parent, pending jobs are cancelled, running
  workers are terminated (then killed after a grace period) and
  :class:`~electrohet.interrupts.Interrupted` is raised carrying the results that had
  finished (``None`` for the others), in job order.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from electrohet.interrupts import Interrupted, exit_code_of

_GRACE_S = 2.0


def _worker_init() -> None:
    """Worker start-up: ignore SIGINT, default SIGTERM, die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: rely on terminate() by the parent
        pass


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel pending jobs and end every worker process (SIGTERM, then SIGKILL)."""
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(_GRACE_S)
        if p.is_alive():
            p.kill()
            p.join(_GRACE_S)


def run_jobs(
    func: Callable[[Any], Any],
    jobs: Sequence[Any],
    processes: int | None = None,
    progress: bool = False,
    label: str = "jobs",
) -> list[Any]:
    """Run ``func(job)`` for every job, in parallel processes when useful.

    Parameters
    ----------
    func
        A picklable (module-level) function.
    jobs
        Its arguments, one per job.
    processes
        Worker processes (``None`` = number of CPUs, 1 = serial in this process).
    progress
        Show a progress bar.
    label
        Name of the jobs in the progress bar.

    Returns
    -------
    The results in job order.

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, after stopping every worker; ``partial`` holds the results
        that had finished (``None`` for the others).
    """
    jobs = list(jobs)
    n_proc = processes or os.cpu_count() or 1
    results: list[Any] = [None] * len(jobs)
    n_done = 0
    bar = _Bar(len(jobs), label) if progress else None
    try:
        if n_proc == 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                results[i] = func(job)
                n_done += 1
                if bar is not None:
                    bar.advance()
            return results
        pool = ProcessPoolExecutor(max_workers=min(n_proc, len(jobs)), initializer=_worker_init)
        try:
            futures = {pool.submit(func, job): i for i, job in enumerate(jobs)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    results[futures[fut]] = fut.result()
                    n_done += 1
                    if bar is not None:
                        bar.advance()
        except BaseException:
            _stop_workers(pool)
            raise
        pool.shutdown(wait=True)
        return results
    except KeyboardInterrupt as exc:
        raise Interrupted(
            f"{n_done} of {len(jobs)} {label} had finished",
            exit_code=exit_code_of(exc),
            partial=results,
        ) from None
    finally:
        if bar is not None:
            bar.close()


class _Bar:
    def __init__(self, total: int, label: str) -> None:
        from rich.progress import Progress

        self.p = Progress(transient=True)
        self.p.start()
        self.task = self.p.add_task(label, total=total)

    def advance(self) -> None:
        self.p.update(self.task, advance=1)

    def close(self) -> None:
        self.p.stop()


def finished(partial: Iterable[Any]) -> list[Any]:
    """The finished results of an interrupted run (``None`` entries dropped)."""
    return [r for r in partial if r is not None]
