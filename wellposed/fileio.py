"""Safe file I/O shared by every command: atomic outputs, output locks and bounded JSON decoding.

* :func:`atomic_output` / :func:`atomic_write_text` / :func:`atomic_write_bytes` — an output file is
  written to a temporary file in the same folder, flushed to disk and renamed over the target, so a
  reader never sees a half-written file and a failed write leaves the previous content untouched.
* :func:`lock_output` — an exclusive, non-blocking lock on a file that a run appends to (resumable
  outputs); a second run on the same file gets :class:`~wellposed.errors.OutputConflictError`.
* :func:`loads_bounded` — ``json.loads`` with bounded nesting depth and integer size, so a hostile or
  corrupt record is a clear :class:`~wellposed.errors.InvalidSpecError`, never a ``RecursionError``.

Every operating-system failure on an output becomes :class:`~wellposed.errors.OutputError` naming the
parameter, the path, the reason and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from .errors import InvalidSpecError, OutputConflictError, OutputError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_INT_DIGITS",
    "atomic_output",
    "atomic_write_text",
    "atomic_write_bytes",
    "lock_output",
    "read_locked",
    "write_locked",
    "truncate_locked",
    "loads_bounded",
    "output_error",
    "read_npy_header",
    "NPY_HEADER_ERRORS",
]

#: Deepest nesting accepted in a JSON input (pattern records need 3 levels; census records about 8).
MAX_JSON_DEPTH = 64
#: Longest integer literal accepted in a JSON input (decimal digits).
MAX_INT_DIGITS = 100


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


def _depth_ok(obj: Any, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits (the limit is {MAX_INT_DIGITS})")
    return int(text)


def loads_bounded(text: str | bytes, where: str) -> Any:
    """``json.loads`` with nesting depth ≤ :data:`MAX_JSON_DEPTH` and integers of ≤ :data:`MAX_INT_DIGITS`
    digits; anything else is an :class:`InvalidSpecError` naming ``where``.

    Examples
    --------
    >>> loads_bounded('{"a": [1, 2]}', "line 1")
    {'a': [1, 2]}
    >>> loads_bounded("[" * 100000, "line 7")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: line 7: JSON nested deeper than 64 levels; a pattern record needs 3.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    # a cheap pre-check: nesting cannot exceed the number of opening brackets
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        opened = 0
        depth = 0
        in_string = escaped = False
        for ch in text:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                opened += 1
                depth = max(depth, opened)
                if depth > MAX_JSON_DEPTH:
                    break
            elif ch in "]}":
                opened -= 1
        if depth > MAX_JSON_DEPTH:
            raise InvalidSpecError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; a pattern record "
                                   "needs 3.")
    try:
        obj = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}.") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidSpecError(f"{where}: unacceptable JSON: {exc}.") from None
    if not _depth_ok(obj, MAX_JSON_DEPTH):  # pragma: no cover - the pre-check already refuses these
        raise InvalidSpecError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    return obj


#: What reading a .npy header (alone or inside an .npz archive) raises when the file is corrupt: numpy
#: parses the header text with tokenize and ``ast.literal_eval``.
NPY_HEADER_ERRORS = (OSError, ValueError, EOFError, KeyError, SyntaxError, TypeError, zipfile.BadZipFile,
                     zlib.error, tokenize.TokenError)


def read_npy_header(fh: IO[bytes]) -> tuple[tuple[int, ...], Any]:
    """Shape and dtype from the .npy header at the position of ``fh``, without reading the data; leaves
    ``fh`` at the start of the data. A corrupt header raises one of :data:`NPY_HEADER_ERRORS`.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> np.save(buf, np.zeros((2, 3), dtype=bool))
    >>> _ = buf.seek(0)
    >>> read_npy_header(buf)
    ((2, 3), dtype('bool'))
    """
    import numpy as np

    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format {version} is not supported here")
    return tuple(int(v) for v in shape), np.dtype(dtype)
