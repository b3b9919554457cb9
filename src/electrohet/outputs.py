"""Safe output handling: check before computing, lock, write atomically.

A run that computes for minutes must not fail *afterwards* because its output cannot
be written, must not leave a truncated file when the disk fills up, and two runs
writing into one place must not corrupt each other.  So:

- :func:`prepare_output_file` / :func:`prepare_output_dir` check the target before any
  computing (parent folder creatable and writable, no existing result unless
  ``overwrite``) and take an exclusive lock (a second run into the same target fails
  at once with a message naming the other run's process id);
- :func:`atomic_write` writes to a temporary name in the target's folder and renames
  it into place only when complete (``os.replace`` is atomic on POSIX), removing the
  temporary file on any error; an OS error (disk full, file-size limit, permission)
  becomes one :class:`~electrohet.errors.OutputError` line;
- :func:`write_netcdf` serialises a Dataset in memory first, so the HDF5 library never
  sees a failing write (on a full disk it used to crash the process).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from electrohet.errors import OutputError

LOCK_NAME = ".electrohet.lock"


class OutputLock:
    """An exclusive, non-blocking ``flock`` on a lock file; released by :meth:`release`.

    The kernel drops the lock when the process dies, so a killed run never leaves a
    stale lock behind (the file itself may stay after a SIGKILL; it holds only the
    owner's pid).  :meth:`release` removes the file; a run that opened it just before
    notices that the path no longer names the file it locked and starts over.
    """

    def __init__(self, lock_path: Path, target: Path, remove_on_release: bool) -> None:
        self.path = lock_path
        self.remove_on_release = remove_on_release
        for _ in range(5):
            fd = self._acquire(lock_path, target)
            # release() removes the lock file; a run that opened it just before that
            # holds a lock on a deleted file: the path must still name the file locked
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
            except OSError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            raise OutputError(f"cannot lock {target}: its lock file {lock_path} keeps changing")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd: int | None = fd

    @staticmethod
    def _acquire(lock_path: Path, target: Path) -> int:
        """Open ``lock_path`` and take the lock; the file descriptor."""
        import fcntl

        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError.from_os_error(exc, target) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            try:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            except OSError:
                owner = "?"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(
                    f"{target} is in use by another electrohet run (pid {owner}); wait for it "
                    "to finish or choose another --out"
                ) from None
            raise OutputError.from_os_error(exc, target) from None
        return fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self.fd is None:
            return
        if self.remove_on_release:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _check_writable_dir(folder: Path, target: Path) -> None:
    """Create ``folder`` if needed and prove it is writable by creating a file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write {target}: {folder} exists and is not a folder") from None
    except OSError as exc:
        raise OutputError.from_os_error(exc, target) from None
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".electrohet-probe-", dir=folder)
    except OSError as exc:
        raise OutputError.from_os_error(exc, target) from None
    os.close(fd)
    os.unlink(probe)


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p.absolute()


def check_not_input(
    path: str | os.PathLike,
    inputs: Sequence[str | os.PathLike] = (),
    result_names: Sequence[str] | None = None,
) -> None:
    """Refuse an output that would write over one of the run's inputs.

    Never allowed, not even with ``--overwrite``: the output is an input file, lies
    inside an input folder (a Zarr store, a folder of TIFFs), or (for an output folder,
    ``result_names`` given) is the folder of an input whose name is one of the result
    files the run writes.

    Raises
    ------
    OutputError
        Naming the output and the input.
    """
    out = _resolved(Path(path))
    for raw in inputs:
        if raw is None:
            continue
        inp = _resolved(Path(raw))
        clash = out == inp or (inp.is_dir() and inp in out.parents)
        if result_names is not None and not clash and inp.parent == out:
            clash = any(inp.match(pat) for pat in result_names)
        if clash:
            raise OutputError(
                f"output {path} would write over the input {raw}; choose another --out "
                "(inputs are never overwritten, not even with --overwrite)"
            )


def prepare_output_file(
    path: str | os.PathLike,
    overwrite: bool = False,
    lock: bool = True,
    inputs: Sequence[str | os.PathLike] = (),
) -> OutputLock | None:
    """Check an output file before computing and lock it against concurrent runs.

    Parameters
    ----------
    path
        The file the run will write.  Missing parent folders are created.
    overwrite
        Allow replacing an existing file (it is only replaced when the new one is
        complete, see :func:`atomic_write`).
    lock
        Take an exclusive lock (``.<name>.lock`` beside the file, removed on release).
    inputs
        The run's input files and folders: ``path`` must not be one of them (see
        :func:`check_not_input`).

    Returns
    -------
    The lock (release it when the file is written), or ``None`` when ``lock`` is false.

    Raises
    ------
    OutputError
        The path is an input or a folder, exists (without ``overwrite``), its folder
        cannot be created or written, or another run holds the lock.
    """
    target = Path(path)
    check_not_input(target, inputs)
    if target.is_dir():
        raise OutputError(f"output {target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise OutputError(f"output {target} exists; pass --overwrite to replace it")
    folder = target.parent if str(target.parent) else Path(".")
    _check_writable_dir(folder, target)
    if not lock:
        return None
    return OutputLock(folder / f".{target.name}.lock", target, remove_on_release=True)


def prepare_output_dir(
    path: str | os.PathLike,
    result_names: Sequence[str] = (),
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> OutputLock:
    """Check an output folder before computing and lock it against concurrent runs.

    Parameters
    ----------
    path
        The folder (created if missing).
    result_names
        Files whose presence means the folder already holds results (glob patterns
        allowed); without ``overwrite`` they are an error.
    overwrite
        Allow replacing earlier results.
    inputs
        The run's input files and folders, never written over (see
        :func:`check_not_input`).

    Returns
    -------
    The lock (``<folder>/.electrohet.lock``, removed on release); release it when the
    run has written everything.
    """
    folder = Path(path)
    check_not_input(folder, inputs, result_names)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {folder} exists and is a file")
    _check_writable_dir(folder, folder)
    lock = OutputLock(folder / LOCK_NAME, folder, remove_on_release=True)
    if not overwrite:
        found = sorted({p.name for pat in result_names for p in folder.glob(pat)})
        if found:
            lock.release()
            shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise OutputError(
                f"output folder {folder} already holds results ({shown}); pass --overwrite "
                "to replace them or choose another --out"
            )
    return lock


@contextlib.contextmanager
def output_dir(
    path: str | os.PathLike,
    result_names: Sequence[str] = (),
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> Iterator[Path]:
    """The output policy of a command writing a folder, as a ``with`` block.

    Checks and locks the folder (:func:`prepare_output_dir`) before the block; after
    it, on every exit path (success, error, interrupt), the lock is released (its file
    removed) and a folder this call created is removed again when it is still empty,
    so an error leaves no empty ``--out`` folder behind.

    Yields
    ------
    The folder as a :class:`~pathlib.Path`.
    """
    folder = Path(path)
    existed = folder.exists()
    try:
        lock = prepare_output_dir(folder, result_names, overwrite, inputs)
    except BaseException:
        if not existed:
            _remove_if_empty(folder)
        raise
    try:
        yield folder
    finally:
        lock.release()
        if not existed:
            _remove_if_empty(folder)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails (and is ignored) when anything is in it


def jsonable(obj):
    """``obj`` with NumPy scalars/arrays as Python values and NaN/Infinity as ``None``.

    JSON has no NaN or Infinity (``json.dumps`` writes them, but they are not valid
    JSON and strict parsers refuse the file); a non-finite number becomes ``null``.
    """
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def json_text(obj, indent: int | None = 2) -> str:
    """Valid JSON text of ``obj`` (see :func:`jsonable`; ``allow_nan=False`` enforces it)."""
    import json

    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def write_json(path: str | os.PathLike, obj, indent: int | None = 2) -> Path:
    """Write ``obj`` as valid JSON (null for NaN/Infinity) to ``path`` atomically."""
    return write_text_atomic(path, json_text(obj, indent) + "\n")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary file is removed on any error.  An ``OSError`` (disk full, file-size
    limit, permission) is re-raised as one-line :class:`OutputError`.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError.from_os_error(exc, target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError.from_os_error(exc, target) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write ``data`` to ``path`` atomically (fsync'ed before the rename)."""
    target = Path(path)
    with atomic_write(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return target


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_with(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and rename the result to ``path`` atomically."""
    target = Path(path)
    with atomic_write(target) as tmp:
        writer(tmp)
    return target


def netcdf_bytes(ds) -> memoryview:
    """A Dataset as netCDF4/HDF5 bytes (attrs that netCDF cannot hold become strings)."""
    clean = ds.copy()
    clean.attrs = {
        k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in ds.attrs.items()
    }
    return clean.to_netcdf(engine="h5netcdf")


def write_netcdf(ds, path: str | os.PathLike) -> Path:
    """Write a Dataset to ``path`` (netCDF4, h5netcdf) atomically.

    The file is built in memory first and then written with plain file I/O, so a full
    disk is an :class:`OutputError` and never a crash inside the HDF5 library or a
    truncated file.
    """
    return write_bytes_atomic(path, netcdf_bytes(ds))
