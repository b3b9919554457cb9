"""Independent runs of a sweep (designs of a rate study, thickness points, posterior
reruns) on ``dask.distributed``.

:func:`run_jobs` submits ``func(job)`` for every job to a Dask cluster and returns the
results in job order:

- by default a :class:`~distributed.LocalCluster` of ``processes`` worker processes,
  one thread each, started for the sweep and closed after it;
- an existing cluster when a scheduler address is given (``scheduler=`` or the
  environment variable :data:`SCHEDULER_ENV`, ``ELECTROHET_SCHEDULER``); it is left
  running afterwards;
- ``processes=1`` (or a single job) runs in this process, without a cluster;
- inside a :func:`session` the sweeps share its cluster (a calibration runs many small
  sweeps), and inside a Dask worker a nested sweep runs serially in that worker.

Interrupts (Ctrl-C / SIGTERM, see :mod:`electrohet.interrupts`): pending runs are
cancelled, the local cluster's worker processes are ended and
:class:`~electrohet.interrupts.Interrupted` is raised carrying the results that had
finished (``None`` for the others), in job order.  Worker processes of a local cluster
also end when the parent process dies (Dask's parent-alive pipe), so none outlives it.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from electrohet.errors import ParameterError
from electrohet.interrupts import Interrupted, deferred_signals, exit_code_of

#: Environment variable holding the address of a running Dask scheduler
#: (e.g. ``tcp://10.0.0.5:8786``) that sweeps use instead of a local cluster.
SCHEDULER_ENV = "ELECTROHET_SCHEDULER"

# Dask logs its own shutdown at WARNING/ERROR (lost connections of stopped workers);
# a command's stderr carries only its own errors, one line each
_QUIET = logging.CRITICAL
# clients of the enclosing session() blocks, innermost last
_SESSIONS: list[Any] = []
# seconds a local cluster gets to close before its worker processes are killed
_CLOSE_TIMEOUT_S = 5.0


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: ``scheduler``, else :data:`SCHEDULER_ENV`, else ``None``
    (a local cluster)."""
    addr = scheduler if scheduler else os.environ.get(SCHEDULER_ENV, "").strip()
    return addr or None


def worker_count(processes: int | None, n_jobs: int) -> int:
    """Worker processes of a local cluster: ``processes`` (``None`` = number of CPUs),
    at most one per job."""
    n = processes or os.cpu_count() or 1
    return max(1, min(n, n_jobs))


def run_jobs(
    func: Callable[[Any], Any],
    jobs: Sequence[Any],
    processes: int | None = None,
    progress: bool = False,
    label: str = "jobs",
    scheduler: str | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``func(job)`` for every job, on a Dask cluster when useful.

    Parameters
    ----------
    func
        A picklable function (module-level, or a closure cloudpickle can ship).
    jobs
        Its arguments, one per job.
    processes
        Worker processes of the local cluster (``None`` = number of CPUs; 1 = serial in
        this process, no cluster).  Ignored when a scheduler is given.
    progress
        Show a progress bar.
    label
        Name of the jobs in the progress bar and the interrupt message.
    scheduler
        Address of a running Dask scheduler; ``None`` = :data:`SCHEDULER_ENV` if set,
        else a local cluster.
    on_result
        Called as ``on_result(index, result)`` in this process as each job finishes
        (in completion order), e.g. to report progress.

    Returns
    -------
    The results in job order.

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, after cancelling the pending jobs and stopping the local
        workers; ``partial`` holds the results that had finished (``None`` for the
        others).
    Exception
        The first error a job raised (the other jobs are cancelled).
    """
    jobs = list(jobs)
    results: list[Any] = [None] * len(jobs)
    done = [0]
    bar = _Bar(len(jobs), label) if progress else None

    def collect(i: int, value: Any) -> None:
        results[i] = value
        done[0] += 1
        if bar is not None:
            bar.advance()
        if on_result is not None:
            on_result(i, value)

    addr = scheduler_address(scheduler)
    try:
        if (
            in_worker()
            or len(jobs) <= 1
            or (not _SESSIONS and addr is None and worker_count(processes, len(jobs)) == 1)
        ):
            for i, job in enumerate(jobs):
                collect(i, func(job))
        elif _SESSIONS:
            _gather(_SESSIONS[-1], func, jobs, collect)
        else:
            with _client(addr, worker_count(processes, len(jobs))) as client:
                _gather(client, func, jobs, collect)
        return results
    except KeyboardInterrupt as exc:
        raise Interrupted(
            f"{done[0]} of {len(jobs)} {label} had finished",
            exit_code=exit_code_of(exc),
            partial=results,
        ) from None
    finally:
        if bar is not None:
            bar.close()


@contextmanager
def session(processes: int | None = None, scheduler: str | None = None) -> Iterator[None]:
    """One cluster for every :func:`run_jobs` inside the block.

    A calibration runs many small sweeps (a few single layers per parameter point);
    starting a local cluster for each would cost seconds every time.  Inside the block
    they share one: a local cluster of ``processes`` workers (``None`` = number of
    CPUs), or the scheduler at ``scheduler`` / :data:`SCHEDULER_ENV`.  With
    ``processes=1`` and no scheduler (or inside a Dask worker) nothing is started and
    the sweeps run serially.  An interrupt or error leaving the block stops the local
    workers at once.
    """
    addr = scheduler_address(scheduler)
    if in_worker() or (addr is None and worker_count(processes, 1 << 30) == 1):
        yield
        return
    with _client(addr, worker_count(processes, 1 << 30)) as client:
        _SESSIONS.append(client)
        try:
            yield
        finally:
            _SESSIONS.pop()


def in_worker() -> bool:
    """Whether this code runs inside a Dask worker (a nested sweep then runs serially)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _gather(client, func, jobs: list, collect: Callable[[int, Any], None]) -> None:
    """Submit every job and hand each result to ``collect`` as it finishes."""
    from distributed import as_completed

    futures = [client.submit(func, job, pure=False) for job in jobs]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in as_completed(futures):
            collect(index[fut.key], fut.result())
    finally:
        # on an error or an interrupt the other runs are not wanted any more
        client.cancel([f for f in futures if not f.done()])


@contextmanager
def _client(address: str | None, n_workers: int) -> Iterator[Any]:
    """A Dask client of the scheduler at ``address``, or of a new local cluster."""
    from distributed import Client, LocalCluster

    if address is not None:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError(
                f"cannot reach the Dask scheduler at {address!r} ({exc}); start it "
                f"(dask scheduler) or unset --scheduler / {SCHEDULER_ENV}"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    with _quiet_dask():
        cluster: Any = None
        local: Any = None
        try:
            # a Ctrl-C while the workers start would leave a half-started cluster that
            # Dask then fails to close at exit: it is held until the cluster is up and
            # acted on just after (the workers are then stopped at once, see below)
            with deferred_signals():
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=_QUIET,
                )
                local = Client(cluster)
            yield local
        except BaseException:
            # an interrupt or a failed run: a worker in the middle of a long run does
            # not stop when asked (Dask waits, then kills it); end them at once
            if cluster is not None:
                _close(local, cluster, stop_workers=True)
            raise
        _close(local, cluster, stop_workers=False)


def _close(client, cluster, stop_workers: bool) -> None:
    """Close a local cluster; with ``stop_workers``, SIGTERM its worker processes first."""
    if stop_workers:
        for nanny in list(cluster.workers.values()):
            pid = nanny.pid
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:  # already gone
                    pass
    try:
        if client is not None:
            client.close(timeout=_CLOSE_TIMEOUT_S)
    finally:
        cluster.close(timeout=_CLOSE_TIMEOUT_S)


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own loggers at CRITICAL while a local cluster runs and closes."""
    names = ("distributed", "tornado", "asyncio")
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(_QUIET)
    try:
        yield
    finally:
        for n, level in old.items():
            logging.getLogger(n).setLevel(level)


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
