"""Safe outputs shared by every command: atomic writes and output locks.

* :func:`atomic_output` / :func:`atomic_write_text` / :func:`atomic_write_bytes` — an output file is
  written to a temporary file in the same folder, flushed to disk and renamed over the target, so a
  reader never sees a half-written file and a failed write leaves the previous content untouched.
* :func:`lock_output` — an exclusive, non-blocking lock on a file that a run appends to (resumable
  outputs); a second run on the same file gets :class:`~wellposed.errors.OutputConflictError`.

Every operating-system failure on an output becomes :class:`~wellposed.errors.OutputError` naming the
parameter, the path, the reason and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputConflictError, OutputError

__all__ = [
    "atomic_output",
    "atomic_write_text",
    "atomic_write_bytes",
    "lock_output",
    "read_locked",
    "write_locked",
    "truncate_locked",
    "output_error",
]


def output_error(parameter: str, path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """An :class:`OutputError` for ``exc`` raised while writing ``path`` given as ``parameter``."""
    reason = exc.strerror or str(exc)
    fix = {
        errno.ENOSPC: "free disk space or write elsewhere",
        errno.EDQUOT: "free disk space or write elsewhere",
        errno.EACCES: "choose a writable location",
        errno.EPERM: "choose a writable location",
        errno.EROFS: "choose a writable location",
        errno.EISDIR: "give a file name, not a directory",
        errno.ELOOP: "the path contains a symbolic link loop; give a real path",
        errno.ENOTDIR: "a parent of the path is a file, not a folder",
        errno.EEXIST: "a parent of the path is a file, not a folder",
        errno.ENAMETOOLONG: "use a shorter path",
    }.get(exc.errno or 0, "choose another path")
    return OutputError(f"{parameter} = {str(path)!r}: cannot write ({reason}); {fix}.")


def _check_target(path: Path, parameter: str) -> None:
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # e.g. a symlink loop while resolving
        raise output_error(parameter, path, exc) from None
    if is_dir:
        raise OutputError(f"{parameter} = {str(path)!r} is a directory; give a file name inside it.")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], parameter: str = "--out", suffix: str | None = None
                  ) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    Use it for writers that want a file name (``numpy.savez``, ``matplotlib`` ``savefig``). On an
    exception the temporary file is removed and ``path`` is untouched; ``OSError`` becomes
    :class:`OutputError`. ``suffix`` defaults to the target's, since some writers choose the format
    from it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('done', ['a.txt'])
    """
    target = Path(path)
    _check_target(target, parameter)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix if suffix is not None
                                    else target.suffix + ".part", dir=folder)
        os.close(fd)
        # mkstemp makes the file private (0600); give it the mode a plain open() would: the existing
        # file's, else 0666 minus the umask
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(name, mode)
    except OSError as exc:
        raise output_error(parameter, target, exc) from None
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise output_error(parameter, target, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, parameter: str = "--out") -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename); return the path."""
    with atomic_output(path, parameter) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, parameter: str = "--out") -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (temporary file + rename); return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"), parameter)


@contextlib.contextmanager
def lock_output(path: str | os.PathLike[str], parameter: str = "--out") -> Iterator[BinaryIO]:
    """Open ``path`` for appending (created if missing) under an exclusive lock; yield the binary handle.

    A second process asking for the same file while the lock is held gets :class:`OutputConflictError`
    at once (no waiting). The lock is released when the process ends, even after ``kill -9``.
    """
    import fcntl

    target = Path(path)
    _check_target(target, parameter)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fh = open(target, "ab+")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise output_error(parameter, target, exc) from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputConflictError(
                f"{parameter} = {str(target)!r} is being written by another running process; wait for it to "
                "finish or choose another output file.") from None
        yield fh
    finally:
        fh.close()


def read_locked(fh: BinaryIO, path: Path, parameter: str = "--out", *, content: bool = True) -> bytes:
    """The whole content of a file opened by :func:`lock_output` (``b""`` without reading when not
    ``content``); :class:`OutputError` if it is not a regular file (a device, a pipe, a socket) or cannot
    be read."""
    try:
        regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
        if regular:
            fh.seek(0)
            return fh.read() if content else b""
    except OSError as exc:
        raise output_error(parameter, path, exc) from None
    raise OutputError(f"{parameter} = {str(path)!r} is not a regular file (a device, a pipe or a socket); give "
                      "the name of a file.")


def write_locked(fh: BinaryIO, path: Path, data: bytes, parameter: str = "--out", *, truncate: bool = False) -> None:
    """Append ``data`` (after emptying the file when ``truncate``) to a file opened by :func:`lock_output`,
    and make it durable (flush + fsync); an operating-system failure is :class:`OutputError`."""
    try:
        if truncate:
            fh.truncate(0)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    except OSError as exc:
        raise output_error(parameter, path, exc) from None


def truncate_locked(fh: BinaryIO, path: Path, size: int, parameter: str = "--out") -> None:
    """Cut a file opened by :func:`lock_output` to ``size`` bytes (drop a partly written last record)."""
    try:
        fh.truncate(size)
    except OSError as exc:
        raise output_error(parameter, path, exc) from None
