"""Batch inputs, read in chunks of records: a JSONL file, an ``.npz`` batch, or a directory of case files.

The readers are the ``batch`` entries of :data:`wellposed.io.formats.FORMATS`; :func:`open_batch_input`
chooses one and returns the input (:class:`JsonlInput`, :class:`NpzInput`, :class:`DirectoryInput`), which
says what it is (:meth:`identity`, recorded in the output header) and cuts itself into chunks of work:

* :class:`RangeChunk` — a byte range of a JSONL file that the worker reads itself (local runs: the parent
  only scans line ends instead of shipping the text); :class:`LineChunk` — the JSONL records themselves
  (runs on a cluster, whose workers may not see the file);
* :class:`ArrayChunk` — a slice of the arrays of an ``.npz`` batch;
* :class:`FileChunk` — directory members (:class:`CaseFile`: position, name, SHA-256, text).

Each record keeps its ``line``: the 1-based line of the JSONL file (lines end at ``\\n`` only; blank lines
are skipped), the 1-based index in the ``.npz`` arrays, or the 1-based position of the file in name order.
Records already in the output (``done``) are left out of the chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidSpecError, ResourceLimitError
from .arrays import NPY_HEADER_ERRORS, read_npy_header
from .formats import format_for

__all__ = ["open_batch_input", "jsonl_input", "npz_input", "directory_input", "JsonlInput", "NpzInput",
           "DirectoryInput", "BatchInput", "LineChunk", "RangeChunk", "ArrayChunk", "FileChunk", "CaseFile", "Chunk",
           "iter_lines", "read_case"]

#: A record of a JSON-lines chunk: (line number, raw JSON text).
Line = tuple[int, str]


# ---------------------------------------------------------------- chunks
@dataclass(frozen=True)
class LineChunk:
    """JSONL records shipped with the chunk: ``(line, text)`` pairs."""

    lines: tuple[Line, ...]

    def records(self) -> list[Line]:
        return list(self.lines)


@dataclass(frozen=True)
class RangeChunk:
    """Bytes ``start:end`` of the JSONL file ``path``, whose first line is line ``first_line``; the lines in
    ``skip`` (already done) and blank lines are left out when read."""

    path: str
    start: int
    end: int
    first_line: int
    skip: frozenset[int]

    def records(self) -> list[Line]:
        """The ``(line, text)`` records of the range (read now, by the worker)."""
        with open(self.path, "rb") as fh:
            fh.seek(self.start)
            data = fh.read(self.end - self.start)
        items: list[Line] = []
        for offset, raw in enumerate(data.split(b"\n")):
            line_no = self.first_line + offset
            if line_no in self.skip or not raw.strip():
                continue
            items.append((line_no, raw.decode("utf-8", errors="replace")))
        return items


@dataclass(frozen=True)
class ArrayChunk:
    """Patterns ``first, first + 1, ...`` (1-based) of an ``.npz`` batch: masks (G, m, r) and (G, n, r), names;
    the record numbers in ``skip`` are already done."""

    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    first: int
    skip: frozenset[int]


@dataclass(frozen=True)
class CaseFile:
    """A member of a directory input: its 1-based position in name order, name, SHA-256 and text (an unreadable
    file is an error record, ``{"__error__": ...}``)."""

    line: int
    name: str
    sha256: str
    text: str


@dataclass(frozen=True)
class FileChunk:
    """Members of a directory input."""

    files: tuple[CaseFile, ...]


Chunk = LineChunk | RangeChunk | ArrayChunk | FileChunk


# ---------------------------------------------------------------- inputs
def _file_identity(path: Path, kind: str) -> dict[str, Any]:
    """The kind, size and SHA-256 of an input file."""
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise InvalidSpecError(f"input {str(path)!r}: cannot read ({exc.strerror or exc}); check the path and its "
                               "permissions.") from None
    return {"kind": kind, "size": size, "sha256": digest.hexdigest()}


def iter_lines(path: Path) -> Iterator[Line]:
    """Yield ``(line_number, raw_json_text)`` of a JSONL file; lines end at ``b"\\n"`` only, blank lines (by the
    bytes test, as :meth:`RangeChunk.records`) are skipped."""
    with path.open("rb") as fh:
        for idx, raw in enumerate(fh, start=1):
            if raw.strip():  # not str.strip: that also drops U+2028, U+00A0, ... which RangeChunk keeps
                yield idx, raw.decode("utf-8", errors="replace")


def _scan_ranges(path: Path, done: Container[int], chunk: int) -> Iterator[RangeChunk]:
    """Byte ranges of ``chunk`` lines each, leaving out ranges whose lines are all done."""
    start = offset = 0
    first = count = 0
    skip: set[int] = set()
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if count == 0:
                start, first = offset, line_no
            offset += len(raw)
            count += 1
            if line_no in done:
                skip.add(line_no)
            if count >= chunk:
                if len(skip) < count:
                    yield RangeChunk(str(path), start, offset, first, frozenset(skip))
                count = 0
                skip = set()
    if count and len(skip) < count:
        yield RangeChunk(str(path), start, offset, first, frozenset(skip))


@dataclass(frozen=True)
class JsonlInput:
    """A JSON-lines file, one pattern record per line."""

    path: Path
    kind: ClassVar[str] = "jsonl"
    #: How error rows name a record (``line 7``).
    where: ClassVar[str] = "line"

    def identity(self) -> dict[str, Any]:
        """``{"kind": "jsonl", "size": BYTES, "sha256": HEX}``."""
        return _file_identity(self.path, self.kind)

    def chunks(self, done: Container[Any], size: int, ship: bool = False) -> Iterator[Chunk]:
        """Chunks of ``size`` lines not in ``done``: byte ranges, or (``ship``) the records themselves."""
        if not ship:
            yield from _scan_ranges(self.path, done, size)
            return
        buf: list[Line] = []
        for item in iter_lines(self.path):
            if item[0] in done:
                continue
            buf.append(item)
            if len(buf) >= size:
                yield LineChunk(tuple(buf))
                buf = []
        if buf:
            yield LineChunk(tuple(buf))


@dataclass(frozen=True)
class NpzInput:
    """An ``.npz`` batch: masks ``x`` (B, m, r) and ``y`` (B, n, r) as bool, and B names (loaded and checked)."""

    path: Path
    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    kind: ClassVar[str] = "npz"
    where: ClassVar[str] = "record"

    def identity(self) -> dict[str, Any]:
        """``{"kind": "npz", "size": BYTES, "sha256": HEX}``."""
        return _file_identity(self.path, self.kind)

    def chunks(self, done: Container[Any], size: int, ship: bool = False) -> Iterator[Chunk]:
        """Slices of ``size`` patterns, leaving out the record numbers in ``done``."""
        for s0 in range(0, len(self.x), size):
            s1 = min(len(self.x), s0 + size)
            skip = frozenset(i for i in range(s0 + 1, s1 + 1) if i in done)
            if len(skip) < s1 - s0:
                yield ArrayChunk(self.x[s0:s1], self.y[s0:s1], self.names[s0:s1], s0 + 1, skip)


def read_case(f: Path) -> tuple[str, str]:
    """(sha256 of the bytes, text) of a directory member; an unreadable file gives an error record."""
    try:
        raw = f.read_bytes()
    except OSError as exc:
        return "", json.dumps({"__error__": f"file {f.name!r}: cannot read file ({exc.strerror or exc})."})
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return digest, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return digest, json.dumps({"__error__": f"file {f.name!r}: not UTF-8 text ({exc.reason} at byte "
                                                f"{exc.start}); save it as UTF-8."})


@dataclass(frozen=True)
class DirectoryInput:
    """A directory of ``.json`` case files, taken in name order (each row names its file and its digest)."""

    path: Path
    files: tuple[Path, ...]
    kind: ClassVar[str] = "directory"
    where: ClassVar[str] = "file"

    def identity(self) -> dict[str, Any]:
        """``{"kind": "directory"}``: the rows name each file and its SHA-256."""
        return {"kind": self.kind}

    def chunks(self, done: Container[Any], size: int, ship: bool = False) -> Iterator[Chunk]:
        """Members whose name is not in ``done``, read now (name, SHA-256, text), ``size`` per chunk."""
        members: list[CaseFile] = []
        for line_no, f in enumerate(self.files, start=1):
            if f.name not in done:
                members.append(CaseFile(line_no, f.name, *read_case(f)))
                if len(members) >= size:
                    yield FileChunk(tuple(members))
                    members = []
        if members:
            yield FileChunk(tuple(members))

    def changes(self, done: dict[str, str]) -> tuple[list[str], list[str]]:
        """Names of the files of ``done`` (name → SHA-256) that changed since, and of those that disappeared."""
        by_name = {f.name: f for f in self.files}
        removed = sorted(name for name in done if name not in by_name)
        changed = sorted(name for name, digest in done.items()
                         if name in by_name and read_case(by_name[name])[0] != digest)
        return changed, removed


BatchInput = JsonlInput | NpzInput | DirectoryInput


def jsonl_input(path: Path, exclude: frozenset[Path] = frozenset()) -> JsonlInput:
    """The ``batch`` reader of JSON-lines files (``.jsonl`` and any other file but ``.npz``)."""
    return JsonlInput(path)


def npz_input(path: Path, exclude: frozenset[Path] = frozenset()) -> NpzInput:
    """The ``batch`` reader of ``.npz`` batches (arrays checked from their headers, then loaded)."""
    x, y, names = _load_npz_batch(path)
    return NpzInput(path, x, y, tuple(names))


def directory_input(path: Path, exclude: frozenset[Path] = frozenset()) -> DirectoryInput:
    """The ``batch`` reader of directories: its ``.json`` files in name order, but those in ``exclude``
    (absolute paths: the output and its sidecar)."""
    return DirectoryInput(path, tuple(sorted(p for p in path.iterdir()
                                             if p.suffix.lower() == ".json" and p.is_file()
                                             and p.absolute() not in exclude)))


def open_batch_input(source: str | Path, exclude: frozenset[Path] = frozenset()) -> BatchInput:
    """The batch input ``source`` (a format of :data:`~wellposed.io.formats.FORMATS` of kind ``batch``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.jsonl").write_text('{"spec": "lu:2"}\\n\\n{"spec": "diag:2"}\\n')
    >>> source = open_batch_input(d / "in.jsonl")
    >>> source.kind, [chunk.records() for chunk in source.chunks(done={1}, size=10)]
    ('jsonl', [[(3, '{"spec": "diag:2"}')]])
    """
    src = Path(source)
    if not src.exists():
        raise InvalidSpecError(
            f"input {str(src)!r} does not exist; give a JSONL file, an .npz batch or a directory of .json files."
        )
    reader = format_for("batch", src, parameter="input").load()
    return reader(src, exclude)


# ---------------------------------------------------------------- .npz batches
_NPZ_FIX = ("save the batch with np.savez(path, x_support=X, y_support=Y[, names=N]), X of shape (B, m, r) "
            "and Y of shape (B, n, r) holding 0/1 or bool, N an array of B strings")


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype[Any], int]]:
    """``{array name: (shape, dtype, data bytes)}`` of an .npz archive, read from the member headers only."""
    where = repr(str(path))
    try:
        with path.open("rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InvalidSpecError(f"input {where}: cannot read ({exc.strerror or exc}); check the path and its "
                               "permissions.") from None
    if magic.startswith(b"\x93NUMPY"):
        raise InvalidSpecError(f"input {where} is a .npy file (a single array), not an .npz archive; {_NPZ_FIX}.")
    if not magic.startswith(b"PK"):
        raise InvalidSpecError(f"input {where} is not an .npz archive (not a zip file: corrupt or another "
                               f"format); {_NPZ_FIX}.")
    headers: dict[str, tuple[tuple[int, ...], np.dtype[Any], int]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as member:
                    shape, dtype = read_npy_header(member)
                    offset = member.tell()
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if info.file_size < offset + nbytes:
                    raise ValueError(f"member {info.filename!r} declares shape {shape} ({nbytes} bytes) but "
                                     f"holds {max(0, info.file_size - offset)} bytes (truncated or corrupt)")
                headers[info.filename[:-4]] = (tuple(shape), dtype, nbytes)
    except NPY_HEADER_ERRORS as exc:
        raise InvalidSpecError(f"input {where}: cannot read the .npz archive ({exc}); {_NPZ_FIX}.") from None
    return headers


def _check_npz(path: Path, headers: dict[str, tuple[tuple[int, ...], np.dtype[Any], int]]) -> None:
    """Shapes, dtypes and memory of an .npz batch, checked from its headers before loading anything."""
    where = repr(str(path))
    missing = [k for k in ("x_support", "y_support") if k not in headers]
    if missing:
        raise InvalidSpecError(f"input {where}: an .npz batch needs arrays x_support and y_support; missing "
                               f"{missing} (it has {sorted(headers)}); {_NPZ_FIX}.")
    for label in ("x_support", "y_support"):
        shape, dtype, _ = headers[label]
        if dtype.kind not in "biuf" or dtype.fields is not None:
            what = "object" if dtype.kind == "O" else "not numeric"
            raise InvalidSpecError(f"input {where}: {label} has dtype {dtype} ({what}); masks must be 0/1 or bool: "
                                   f"{_NPZ_FIX}.")
        if len(shape) != 3:
            raise InvalidSpecError(f"input {where}: {label} has shape {shape}; need 3 axes "
                                   f"({'(B, m, r)' if label == 'x_support' else '(B, n, r)'}); {_NPZ_FIX}.")
    (xs, _, xb), (ys, _, yb) = headers["x_support"][:3], headers["y_support"][:3]
    if xs[0] != ys[0] or xs[2] != ys[2]:
        raise InvalidSpecError(f"input {where}: x_support has shape {xs} and y_support {ys}; need (B, m, r) and "
                               "(B, n, r) with the same B and r.")
    for size, text in ((xs[1], "m (rows of x_support)"), (ys[1], "n (rows of y_support)"),
                       (xs[2], "r (components)")):
        if size == 0:
            raise InvalidSpecError(f"input {where}: x_support has shape {xs} and y_support {ys}: {text} = 0; every "
                                   "pattern needs m, n, r ≥ 1.")
    names_bytes = 0
    if "names" in headers:
        shape, dtype, names_bytes = headers["names"]
        if dtype.kind not in "US":
            raise InvalidSpecError(f"input {where}: names has dtype {dtype}; save names as a string array "
                                   "(np.array(names, dtype=str)).")
        if shape != (xs[0],):
            raise InvalidSpecError(f"input {where}: names has shape {shape}; need ({xs[0]},), one name per "
                                   "pattern.")
    need = 2 * (xb + yb) + xs[0] * (xs[1] + ys[1]) * xs[2] + 2 * names_bytes  # loaded + bool copies
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        memory = 0
    if memory and need > memory // 2:
        raise ResourceLimitError(f"input {where}: arrays x_support {xs} and y_support {ys} need about "
                                 f"{need / 2**30:.1f} GiB of memory, more than half of this machine's "
                                 f"{memory / 2**30:.1f} GiB; split the batch into several .npz files.")


def _load_npz_batch(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Arrays ``x_support`` (B, m, r) and ``y_support`` (B, n, r), optional ``names`` (B,) of an .npz batch.

    Shapes, dtypes and sizes are checked from the archive's headers before any array is loaded.
    """
    _check_npz(path, _npz_headers(path))
    where = repr(str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x_support"], data["y_support"]
            names = ([t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in data["names"].tolist()]
                     if "names" in data.files else [""] * len(x))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise InvalidSpecError(f"input {where}: cannot read the .npz archive ({exc}); {_NPZ_FIX}.") from None
    for arr, label in ((x, "x_support"), (y, "y_support")):
        if arr.dtype != bool and ((arr != 0) & (arr != 1)).any():
            raise InvalidSpecError(f"input {where}: {label} must contain only 0/1 (dtype {arr.dtype}); {_NPZ_FIX}.")
    return x.astype(bool), y.astype(bool), names
