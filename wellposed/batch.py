"""Streaming, resumable batch classification of many support patterns.

Input: a JSONL file (one pattern object per line: ``{"x_support": [...], "y_support": [...], "name": ...}``
or ``{"spec": "lu:3"}``), a directory of ``.json`` case files, or an ``.npz`` file with arrays
``x_support`` (B, m, r), ``y_support`` (B, n, r) and optionally ``names`` (B,) — the fastest input for
masks produced with numpy. Output: JSONL or CSV (by extension), one row per input record, each carrying
its ``line`` number (1-based line of the JSONL file — lines end at ``\n`` only —, 1-based position of
the file in sorted order for a directory, or 1-based index in the .npz arrays). Rows of a directory also
carry ``file`` (the file name) and ``file_sha256`` (the SHA-256 of the bytes that were classified).
Blank lines are skipped. A malformed record (bad JSON, nesting deeper than 64 levels, an integer of more
than 100 digits in a deeply nested line, a bad mask) becomes an error row naming its line.

Patterns of equal shape inside a chunk are classified together by the vectorized kernel
(:func:`wellposed.batch_kernel.classify_batch`: classes, DTO and the relaxed condition C1+C2 with their first
failures); only a pattern whose r×r tables alone exceed the memory budget goes through
:func:`wellposed.classify.classify`. Rows are identical to the one-by-one output.

Output header (fingerprint)
---------------------------
A resumable output records what produced it::

    {"wellposed_batch": 1, "fingerprint": F, "input": {...}, "options": {...}}

``input`` is ``{"kind": "jsonl" | "npz", "size": BYTES, "sha256": HEX}`` for a file and
``{"kind": "directory"}`` for a directory (each row then names its file and that file's digest);
``options`` holds what changes rows: ``closedness`` and, with it, the closedness options (``effort``, ``timeout``);
``F`` is the SHA-256 of both. In a JSONL output this object is the first line (readers skip it, e.g.
with :func:`read_output`). A CSV output stays plain CSV (column names, then rows); its header object is
the sidecar file ``OUT.meta.json`` beside it (``runs/a.csv`` → ``runs/a.csv.meta.json``), written
atomically before the first row.

Resume
------
The output is locked for the whole run (:func:`wellposed.fileio.lock_output`): a second run on the same
output fails at once with :class:`~wellposed.errors.OutputConflictError`. Restarting with the same output
resumes: finished rows are kept, a partly written last row is dropped (a CSV row ends at a line end
outside quotes), and only missing records are processed — by ``line`` for a file, by ``file`` name for a
directory (files added since are classified; a classified file that changed or disappeared is a
conflict). An output written from another input or with other options, by ``wellposed census`` or by
another program is refused with :class:`~wellposed.errors.OutputConflictError` saying what differs;
``restart=True`` (``--restart``) starts it over. A run killed at any point and resumed leaves the same
bytes as an uninterrupted run.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import hashlib
import importlib
import io
import json
import logging
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .analysis import BATCH_FIELDS, CLOSEDNESS_FIELDS, batch_record
from .batch_kernel import Relaxed, classify_batch, pattern_bytes
from .classify import (
    C1_FAILS,
    C2_FAILS,
    REASON_DTO,
    REASON_NO_CEC,
    REASON_RELAXED_HOLDS,
    REASON_TRIVIAL,
    classify,
    describe_pair,
    not_tractable_reason,
)
from .errors import InvalidSpecError, OutputConflictError, OutputError, ResourceLimitError, WellposedError
from .executors import check_jobs, ordered_map
from .io.arrays import NPY_HEADER_ERRORS, read_npy_header
from .io.bounded_json import MAX_JSON_DEPTH, loads_bounded
from .io.outputs import atomic_write_text, lock_output, read_locked, truncate_locked, write_locked
from .support import SupportPattern, max_bytes


def _fast_json() -> Any:
    """orjson, the fast JSON codec (a dependency), or None: the json module then does everything."""
    try:
        return importlib.import_module("orjson")
    except ImportError:  # pragma: no cover - installed with wellposed
        return None


#: Rows and records come out exactly as with the json module (see :func:`classify_lines`, :func:`_format_rows`).
_orjson = _fast_json()

__all__ = ["BatchSummary", "run_batch", "classify_lines", "iter_input", "read_output", "FORMAT_VERSION",
           "META_SUFFIX"]

logger = logging.getLogger(__name__)

CHUNK = 4096
#: Version of the output header (``{"wellposed_batch": FORMAT_VERSION, ...}``).
FORMAT_VERSION = 1
#: Suffix of the sidecar that holds the header of a CSV output (``OUT.csv`` → ``OUT.csv.meta.json``).
META_SUFFIX = ".meta.json"
_HEADER_KEY = "wellposed_batch"
_CENSUS_KEY = "wellposed_census"
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder for every row
_DIR_FIELDS = ("file", "file_sha256")
_CLOSEDNESS_COLUMNS = frozenset(CLOSEDNESS_FIELDS)


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did."""

    total: int
    processed: int
    skipped: int
    errors: int
    first_errors: tuple[str, ...]
    out: Path


# ---------------------------------------------------------------- input
def iter_input(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, raw_json_text)``; blank lines are skipped."""
    if path.is_dir():
        for idx, f in enumerate(_dir_files(path), start=1):
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                text = json.dumps({"__error__": f"{f.name}: cannot read file: {exc}"})
            yield idx, text
        return
    with path.open("rb") as fh:  # lines end at b"\n" only, and are blank by the bytes test, as in _read_range
        for idx, raw in enumerate(fh, start=1):
            if raw.strip():  # not str.strip: that also drops U+2028, U+00A0, ... which _read_range keeps
                yield idx, raw.decode("utf-8", errors="replace")


def _dir_files(path: Path, exclude: frozenset[Path] = frozenset()) -> list[Path]:
    """The ``.json`` files of a directory input in name order (``exclude``: the output and its sidecar)."""
    return sorted(p for p in path.iterdir()
                  if p.suffix.lower() == ".json" and p.is_file() and p.absolute() not in exclude)


def _read_case(f: Path) -> tuple[str, str]:
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


#: A chunk of work (tagged): the records themselves; a byte range of the input file that the worker
#: reads itself (local runs: the parent then only scans line ends instead of shipping the text); a
#: slice of .npz arrays; or directory members (line, file name, sha256, text).
_Items = list[tuple[int, str]]
_Range = tuple[str, int, int, int, frozenset[int]]  # path, start, end, first line number, lines to skip
_Arrays = tuple[np.ndarray, np.ndarray, list[str], int, frozenset[int]]  # x, y, names, first record, skip
_Files = list[tuple[int, str, str, str]]
_Payload = tuple[str, Any]

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


def _read_range(spec: _Range) -> _Items:
    path, start, end, first, skip = spec
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    items: _Items = []
    for offset, raw in enumerate(data.split(b"\n")):
        line_no = first + offset
        if line_no in skip or not raw.strip():
            continue
        items.append((line_no, raw.decode("utf-8", errors="replace")))
    return items


def _scan_ranges(path: Path, done: set[int], chunk: int) -> Iterator[_Range]:
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
                    yield str(path), start, offset, first, frozenset(skip)
                count = 0
                skip = set()
    if count and len(skip) < count:
        yield str(path), start, offset, first, frozenset(skip)


_FAST_KEYS = frozenset({"x_support", "y_support", "name", "id"})
_SCALARS = (str, int, float, bool, type(None))


def _parse_slow(label: str, obj: Any) -> SupportPattern:
    """Validate one decoded record with full error messages (the general path)."""
    if isinstance(obj, dict) and "__error__" in obj:
        raise InvalidSpecError(str(obj["__error__"]))
    if isinstance(obj, dict) and "spec" in obj:
        from .families import family

        try:
            return family(str(obj["spec"]))
        except WellposedError as exc:
            raise InvalidSpecError(f"{label}: {exc}") from None
    try:
        return SupportPattern.from_json(obj, where=label)
    except WellposedError as exc:
        raise InvalidSpecError(str(exc)) from None


def _fast_fields(obj: Any, exact: bool = True) -> tuple[int, int, int, list[str], list[str], str] | None:
    """(m, n, r, x rows, y rows, name) of what may be a plain record of 0/1 strings, else None.

    Only the first row is looked at here; :func:`_stack_group` checks every row of a whole group of
    records at once. ``exact=False`` (``obj`` was decoded by orjson, which turns an integer beyond 64 bits
    into a float) refuses a float name, so that the record is decoded again by ``json.loads``.
    """
    if type(obj) is not dict:
        return None
    xs, ys = obj.get("x_support"), obj.get("y_support")
    if type(xs) is not list or type(ys) is not list or not xs or not ys or not obj.keys() <= _FAST_KEYS:
        return None
    first = xs[0]
    name = obj.get("name", obj.get("id", ""))
    kind = type(name)
    if type(first) is not str or not first or kind not in _SCALARS or (kind is float and not exact):
        return None  # a nested name goes through the bounded slow path
    return len(xs), len(ys), len(first), xs, ys, (str(name) if kind is str else str(name or ""))


def _plain_rows(rows: list[Any], length: int) -> bool:
    """Are all ``rows`` strings of ``length`` characters? (The per-record check of :func:`_stack_group`.)"""
    return all(type(t) is str and len(t) == length for t in rows)


def _mask_codes(rows: list[str], length: int) -> np.ndarray | None:
    """``rows`` (strings) as a (len(rows), length) uint8 array of character codes minus ``ord('0')``.

    None when some row does not have ``length`` characters. The rows are joined with a ``"\\n"`` after
    each: when the text holds exactly one ``"\\n"`` per row and every one of them ends a slice of
    ``length + 1`` characters, no row holds a ``"\\n"`` and every row has ``length`` characters. A character
    beyond Latin-1 becomes ``"?"`` (one byte per character still), so it is refused with the other non-0/1
    characters. Raises TypeError if a row is not a string.
    """
    if not rows:
        return np.zeros((0, length), np.uint8)
    text = "\n".join(rows) + "\n"
    if len(text) != len(rows) * (length + 1) or text.count("\n") != len(rows):
        return None
    codes = np.frombuffer(text.encode("latin-1", "replace"), dtype=np.uint8).reshape(len(rows), length + 1)
    if not (codes[:, length] == 10).all():
        return None
    return codes[:, :length] - 48


def _stack_group(members: list[tuple[int, list[str], list[str], str]], m: int, n: int, r: int
                 ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Masks of the records of one (m, n, r) group whose rows are all '0'/'1' strings of length r.

    Returns the indices of those records in ``members`` and their masks, (G, m, r) and (G, n, r) bool;
    the other records are left to the slow path, which names what is wrong with them.
    """
    keep = list(range(len(members)))
    try:  # every row of the group at once
        bx = _mask_codes(list(chain.from_iterable(t[1] for t in members)), r)
        by = _mask_codes(list(chain.from_iterable(t[2] for t in members)), r)
    except TypeError:  # a row that is not a string
        bx = by = None
    if bx is None or by is None:  # some record is malformed: sort the records out one by one
        keep = [b for b, t in enumerate(members) if _plain_rows(t[1], r) and _plain_rows(t[2], r)]
        bx = _mask_codes(list(chain.from_iterable(members[b][1] for b in keep)), r)
        by = _mask_codes(list(chain.from_iterable(members[b][2] for b in keep)), r)
        if bx is None or by is None:  # pragma: no cover - every kept row is a string of length r
            raise AssertionError("rows checked one by one must stack")
    bx, by = bx.reshape(len(keep), m, r), by.reshape(len(keep), n, r)
    ok = np.asarray((bx <= 1).all(axis=(1, 2)) & (by <= 1).all(axis=(1, 2)))
    if not ok.all():
        keep = [b for b, good in zip(keep, ok.tolist(), strict=True) if good]
        bx, by = bx[ok], by[ok]
    return keep, bx.astype(bool), by.astype(bool)


@dataclass(frozen=True)
class _Layout:
    """How a plain record is written by ``json.dumps``: compact (``separators=(",", ":")``) or by default."""

    head: str  # up to the first row of x_support
    sep: str  # between two rows
    mid: str  # from the end of the last row of x_support to the first row of y_support
    name: re.Pattern[str]  # an optional "name" last, without escapes or control characters


_NAME_CHARS = r'([^"\\\x00-\x1f]*)'
#: Records written in one of these layouts, ``{"x_support":["01",...],"y_support":["11",...]}`` with an optional
#: ``"name"`` last, are read straight from their characters (:func:`_plain_record`, :func:`_plain_masks`).
_LAYOUTS = (
    _Layout('{"x_support":["', '","', '"],"y_support":["', re.compile(',"name":"' + _NAME_CHARS + '"}')),
    _Layout('{"x_support": ["', '", "', '"], "y_support": ["', re.compile(', "name": "' + _NAME_CHARS + '"}')),
)
_JSON_SPACE = " \t\r\n"


def _plain_record(raw: str) -> tuple[int, int, int, int, str, str] | None:
    """(layout, m, n, r, masks part, name) of a line that looks like a plain record in a layout of
    :data:`_LAYOUTS`, else None (the line is then decoded as JSON).

    The masks part (up to the closing ``"]`` of ``y_support``) is only located here, from the first row's
    length and the separators; :func:`_plain_masks` then compares every character of it with the text of
    an m×r and an n×r mask in that layout, so a line it accepts is that JSON object and nothing else.

    >>> _plain_record('{"x_support":["10","01","11"],"y_support":["01","11"],"name":"p"}')[:4]
    (0, 3, 2, 2)
    >>> _plain_record('{"x_support": ["10"], "y_support": ["01"]}')[:4]
    (1, 1, 1, 2)
    >>> _plain_record('{"y_support": ["01"], "x_support": ["10"]}') is None
    True
    """
    for index in range(len(_LAYOUTS)):
        if raw.startswith(_LAYOUTS[index].head):
            break
    else:
        return None
    layout = _LAYOUTS[index]
    h, s = len(layout.head), len(layout.sep)
    r = raw.find('"', h) - h
    mid = raw.find(layout.mid, h)
    start = mid + len(layout.mid)
    end = raw.find('"]', start)
    if r < 1 or mid < 0 or end < 0 or (mid - h + s) % (r + s) or (end - start + s) % (r + s):
        return None
    rest = raw[end + 2:].rstrip(_JSON_SPACE)
    if rest == "}":
        name = ""
    else:
        match = layout.name.fullmatch(rest)
        if match is None:
            return None
        name = match.group(1)
    return index, (mid - h + s) // (r + s), (end - start + s) // (r + s), r, raw[:end + 2], name


def _plain_masks(layout: int, m: int, n: int, r: int, parts: list[str]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which masks parts (:func:`_plain_record`) are exactly m×r and n×r masks of 0/1 in ``layout``, and those masks.

    Returns ``ok`` (bool, one per part) and the masks of the accepted parts, (G, m, r) and (G, n, r) bool.
    Each part is compared with the text of all-zero masks, where a digit may differ from ``"0"`` in its
    last bit only (``"1"``); the rows are then read in place (a part followed by at least as many spaces
    as a row separator has characters is m, resp. n, blocks of ``r + len(sep)`` characters).
    """
    lay = _LAYOUTS[layout]
    head, sep = len(lay.head), len(lay.sep)
    text = (lay.head + lay.sep.join(["0" * r] * m) + lay.mid + lay.sep.join(["0" * r] * n) + '"]')
    size = len(text)
    width = -(-(size + sep) // 8) * 8  # each part and at least ``sep`` spaces: rows of whole 8-byte words
    template = np.frombuffer((text + " " * (width - size)).encode(), dtype=np.uint8)
    digits = (template == 48).astype(np.uint8)  # where a character may differ from the template in bit 0
    joined = (" " * (width - size)).join(parts) + " " * (width - size)
    if len(joined) != width * len(parts):  # pragma: no cover - the length follows from (layout, m, n, r)
        raise AssertionError("plain records of one layout and shape have one length")
    chars = np.frombuffer(joined.encode("latin-1", "replace"), dtype=np.uint8).reshape(len(parts), width)
    # compared 8 characters at a time: equal to the template but for bit 0 of a digit
    differ = chars.view("<u8") ^ template.view("<u8")
    ok = np.asarray(((differ & ~digits.view("<u8")) == 0).all(axis=1))
    start_y = head + m * (r + sep) - sep + len(lay.mid)
    x = chars[ok, head:head + m * (r + sep)].reshape(-1, m, r + sep)[:, :, :r] == 49
    y = chars[ok, start_y:start_y + n * (r + sep)].reshape(-1, n, r + sep)[:, :, :r] == 49
    return ok, x, y


def _decode(raw: str, label: str) -> Any:
    """``json.loads`` of one record (the exact path); what it refuses other than bad JSON — an integer of
    more than 4300 digits, nesting deeper than the interpreter's recursion limit — is decoded again by
    :func:`~wellposed.fileio.loads_bounded`, which names the problem (never a traceback)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError(f"{label}: invalid JSON at column {exc.colno}: {exc.msg}.") from None
    except (ValueError, RecursionError):
        return loads_bounded(raw, label)


def _bounded(raw: str, obj: Any, label: str) -> Any:
    """``obj`` (decoded from ``raw``) if it cannot nest deeper than the limit, else ``raw`` decoded by
    :func:`~wellposed.fileio.loads_bounded` (the slow path: records that are not plain 0/1 strings)."""
    if raw.count("[") + raw.count("{") <= MAX_JSON_DEPTH:  # cannot nest deeper than the limit
        return obj
    return loads_bounded(raw, label)


# ---------------------------------------------------------------- classification of a chunk
_RELAXED_HOLDS, _C1_FAILS, _C2_FAILS = REASON_RELAXED_HOLDS, C1_FAILS, C2_FAILS  # worded by wellposed.classify
_NOT_NEEDED, _HOLDS = int(Relaxed.NOT_NEEDED), int(Relaxed.HOLDS)  # plain ints: compared once per row
_C1_FAILS_CODE, _C2_FAILS_CODE = int(Relaxed.C1_FAILS), int(Relaxed.C2_FAILS)


def _vector_records(x: np.ndarray, y: np.ndarray, names: list[str], lines: list[int] | None = None
                    ) -> list[dict[str, Any]]:
    """Batch rows for B patterns of one shape, identical to ``batch_record(classify(p))``.

    Every verdict (DTO, relaxed C1+C2 and their first failures) comes from
    :func:`~wellposed.batch_kernel.classify_batch`; this only words them. With ``lines``, each row starts
    with ``"line": lines[b], "ok": True`` (a batch output row). Patterns whose kernel tables alone exceed
    the memory budget (:func:`~wellposed.batch_kernel.pattern_bytes` > :func:`~wellposed.support.max_bytes`,
    e.g. r in the tens of thousands) are classified one by one with :func:`~wellposed.classify.classify`.

    >>> lu = np.tril(np.ones((2, 2), bool))[None]
    >>> _vector_records(lu, lu, ["lu"])[0]["tractable_reason"]  # doctest: +ELLIPSIS
    'not tractable by DTO (components 0 and 1 have nested ...) nor by the relaxed condition (C2 fails: ...)'
    """
    bsz, m, r = x.shape
    n = y.shape[1]
    if pattern_bytes(m, n, r) > max_bytes():  # the kernel's tables of one pattern do not fit
        return _one_by_one(x, y, names, lines)
    out = classify_batch(x, y)
    records: list[dict[str, Any]] = []
    append = records.append
    for line, name, code, ncls, ncomp, k, l, ik, jk, il, jl, ikl, jkl, fail, other, i, j in zip(
        lines if lines is not None else [0] * bsz, names, out["relaxed"].tolist(), out["num_classes"].tolist(),
        out["num_complete"].tolist(), out["pair_k"].tolist(), out["pair_l"].tolist(), *out["pair_counts"].T.tolist(),
        out["fail_class"].tolist(), out["clash_other"].tolist(), out["clash_row"].tolist(), out["clash_col"].tolist(),
        strict=True,
    ):
        if code == _NOT_NEEDED:
            append({"line": line, "ok": True, "name": name, "m": m, "n": n, "r": r, "dto": True, "tractable": True,
                    "tractable_method": "dto", "tractable_reason": REASON_DTO if ncls else REASON_TRIVIAL,
                    "failing_pair": None, "num_classes": ncls, "num_complete_classes": ncomp})
            continue
        text = describe_pair(k, l, (ik, jk), (il, jl), (ikl, jkl))
        if code == _HOLDS:
            append({"line": line, "ok": True, "name": name, "m": m, "n": n, "r": r, "dto": False, "tractable": True,
                    "tractable_method": "relaxed", "tractable_reason": _RELAXED_HOLDS.format(text),
                    "failing_pair": [k, l], "num_classes": ncls, "num_complete_classes": ncomp})
            continue
        if code == _C1_FAILS_CODE:
            why = _C1_FAILS.format(other, fail, i, j)
        elif code == _C2_FAILS_CODE:
            why = _C2_FAILS.format(fail)
        else:
            why = REASON_NO_CEC
        append({"line": line, "ok": True, "name": name, "m": m, "n": n, "r": r, "dto": False, "tractable": False,
                "tractable_method": "none", "tractable_reason": not_tractable_reason(text, why),
                "failing_pair": [k, l], "num_classes": ncls, "num_complete_classes": ncomp})
    if lines is None:  # the classification fields only (rows are built with their line: the common case)
        for rec in records:
            del rec["line"], rec["ok"]
    return records


def _one_by_one(x: np.ndarray, y: np.ndarray, names: list[str], lines: list[int] | None
                ) -> list[dict[str, Any]]:
    """Rows of patterns too large for :func:`~wellposed.batch_kernel.classify_batch`, one ``classify()`` each."""
    logger.info("%d pattern(s) of shape %d×%d, r = %d: classified one by one (too large for the batch kernel)",
                x.shape[0], x.shape[1], y.shape[1], x.shape[2])
    records = []
    for b in range(x.shape[0]):
        rec = batch_record(classify(SupportPattern(x[b], y[b], name=names[b])))
        records.append(rec if lines is None else {"line": lines[b], "ok": True, **rec})
    return records


def classify_lines(
    items: list[tuple[int, str]], closedness: bool = False, timeout: float | None = None, where: str = "line",
    labels: list[str] | None = None, effort: float = 1.0,
) -> list[dict[str, Any]]:
    """Classify a chunk of raw records; returns rows in input order (errors become error rows).

    Records made of '0'/'1' strings are decoded for a whole group of equal shape at once: those written
    by ``json.dumps`` (compact or default separators: ``{"x_support": ["01", ...], "y_support": [...]}``,
    optionally a plain ``"name"`` last) straight from their characters, others with orjson (checked
    against the json module where the two may differ); anything else (nested lists, family specs,
    malformed input) goes through full validation, decoded with
    :func:`~wellposed.fileio.loads_bounded` when its line has more brackets than
    :data:`~wellposed.fileio.MAX_JSON_DEPTH`. Error messages start with ``labels[i]`` (default
    ``f"{where} {line_number}"``). A record nested deeper than ``MAX_JSON_DEPTH`` levels or holding an
    integer of thousands of digits is an error row too.

    Examples
    --------
    >>> rows = classify_lines([(1, '{"spec": "lu:2"}'), (2, "[" * 100000)])
    >>> rows[0]["tractable"], rows[1]["error"]
    (False, 'line 2: JSON nested deeper than 64 levels; a pattern record needs 3.')
    """
    rows: list[dict[str, Any] | None] = [None] * len(items)
    fast: dict[tuple[int, int, int], list[tuple[int, list[str], list[str], str]]] = {}
    decoded: dict[int, Any] = {}
    # per shape: blocks of (positions, x (G, m, r), y (G, n, r), names), classified together
    blocks: dict[tuple[int, int, int], list[tuple[list[int], np.ndarray, np.ndarray, list[str]]]] = {}

    def label(pos: int) -> str:
        return labels[pos] if labels is not None else f"{where} {items[pos][0]}"

    def error(pos: int, exc: Exception) -> None:
        rows[pos] = {"line": items[pos][0], "ok": False, "error": str(exc)}

    def slow(pos: int) -> None:
        if pos not in decoded:
            try:
                decoded[pos] = _decode(items[pos][1], label(pos))
            except InvalidSpecError as exc:
                error(pos, exc)
                return
        try:
            p = _parse_slow(label(pos), _bounded(items[pos][1], decoded[pos], label(pos)))
        except WellposedError as exc:
            error(pos, exc)
            return
        blocks.setdefault((p.m, p.n, p.r), []).append(([pos], p.x_support[None], p.y_support[None], [p.name]))

    plain: dict[tuple[int, int, int, int], list[tuple[int, str, str]]] = {}
    others: list[int] = []
    for pos, (_, raw) in enumerate(items):
        c = _plain_record(raw)
        if c is None:
            others.append(pos)
        else:
            plain.setdefault(c[:4], []).append((pos, c[4], c[5]))
    for (layout, m, n, r), lines in plain.items():
        ok, bx, by = _plain_masks(layout, m, n, r, [t[1] for t in lines])
        accepted = [t for t, good in zip(lines, ok.tolist(), strict=True) if good]
        if len(accepted) < len(lines):  # not 0/1 masks after all (or not that JSON): the general path
            others.extend(t[0] for t, good in zip(lines, ok.tolist(), strict=True) if not good)
        if accepted:
            blocks.setdefault((m, n, r), []).append(([t[0] for t in accepted], bx, by, [t[2] for t in accepted]))

    loads_fast = _orjson.loads if _orjson is not None else None
    for pos in others:
        raw = items[pos][1]
        f = None
        if loads_fast is not None:
            try:
                f = _fast_fields(loads_fast(raw), exact=False)
            except ValueError:  # orjson refuses it: json.loads decides (it also reads NaN, huge integers, ...)
                pass
        if f is None:  # decoded again by json.loads: orjson turns integers beyond 64 bits into floats
            try:
                obj = decoded[pos] = _decode(raw, label(pos))
            except InvalidSpecError as exc:
                error(pos, exc)
                continue
            f = _fast_fields(obj)
        if f is None:
            slow(pos)
        else:
            fast.setdefault(f[:3], []).append((pos, f[3], f[4], f[5]))
    for (m, n, r), members in fast.items():
        keep, bx, by = _stack_group(members, m, n, r)
        for b in sorted(set(range(len(members))) - set(keep)):
            slow(members[b][0])
        if keep:
            blocks.setdefault((m, n, r), []).append(([members[b][0] for b in keep], bx, by,
                                                     [members[b][3] for b in keep]))
    for group in blocks.values():
        positions = [pos for block in group for pos in block[0]]
        x = group[0][1] if len(group) == 1 else np.concatenate([block[1] for block in group])
        y = group[0][2] if len(group) == 1 else np.concatenate([block[2] for block in group])
        names = [name for block in group for name in block[3]]
        recs = _vector_records(x, y, names, [items[pos][0] for pos in positions])
        for b, (pos, rec) in enumerate(zip(positions, recs, strict=True)):
            if closedness:
                rec.update(_closedness_fields(SupportPattern(x[b], y[b], name=names[b]), effort, timeout))
            rows[pos] = rec
    return [r for r in rows if r is not None]


def _closedness_fields(p: SupportPattern, effort: float, timeout: float | None) -> dict[str, Any]:
    from .closedness import decide_closedness

    v = decide_closedness(p, effort=effort, timeout=timeout).to_json()
    return {k: v.get(k) for k in CLOSEDNESS_FIELDS}


# ---------------------------------------------------------------- output rows
def _columns(closedness: bool, directory: bool = False) -> list[str]:
    cols = list(BATCH_FIELDS[:1]) + (list(_DIR_FIELDS) if directory else []) + ["ok", "error"]
    return cols + list(BATCH_FIELDS[1:]) + (list(CLOSEDNESS_FIELDS) if closedness else [])


def _format_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> bytes:
    """The bytes of output rows: JSON lines (compact, UTF-8) or CSV records with the given columns.

    A lone surrogate (a name written ``"\\ud800"`` in the input) is written as its JSON escape ``\\ud800``.

    >>> _format_rows([{"line": 1, "ok": True, "name": "é", "failing_pair": [0, 1]}], "jsonl", [])
    b'{"line":1,"ok":true,"name":"\\xc3\\xa9","failing_pair":[0,1]}\\n'
    """
    if fmt == "jsonl":
        if _orjson is not None and _CLOSEDNESS_COLUMNS.isdisjoint(columns):
            # rows of str, int, bool, None and lists of int: orjson writes the json module's bytes, faster
            # (closedness rows may hold floats, which the two write differently, and stay with json)
            dumps = _orjson.dumps
            try:
                return b"".join([dumps(r) + b"\n" for r in rows])
            except TypeError:  # a lone surrogate, an integer beyond 64 bits: the json module writes them
                pass
        encode = _ROW_ENCODER.encode
        return "".join([encode(r) + "\n" for r in rows]).encode("utf-8", "backslashreplace")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for r in rows:
        # the csv module leaves a lone "\r" unquoted when the line terminator is "\n": quote every field then
        # (lists and dicts are written as JSON, which escapes "\r")
        out = quoted if any(isinstance(v, str) and "\r" in v for v in r.values()) else writer
        out.writerow([_csv_field(v) if isinstance(v, (list, dict)) else v for v in [r.get(c, "") for c in columns]])
    return buf.getvalue().encode("utf-8", "backslashreplace")


def _csv_field(value: list[Any] | dict[str, Any]) -> str:
    """A list or dict as a CSV field: its JSON text (``json.dumps``, default separators).

    >>> _csv_field([0, 1]), _csv_field([True]), _csv_field({"a": None})
    ('[0, 1]', '[true]', '{"a": null}')
    """
    if isinstance(value, list) and all(type(v) is int for v in value):  # a failing pair: the common case
        return "[" + ", ".join(map(str, value)) + "]"
    return json.dumps(value)


def _classify_arrays(payload: _Arrays, closedness: bool, effort: float, timeout: float | None
                     ) -> list[dict[str, Any]]:
    """Rows for a slice of an .npz batch (record number = 1-based index in the arrays)."""
    x, y, names, first, skip = payload
    keep = [b for b in range(x.shape[0]) if first + b not in skip]
    rows = _vector_records(x[keep], y[keep], [names[b] for b in keep], [first + b for b in keep])
    if closedness:
        for b, row in zip(keep, rows, strict=True):
            row.update(_closedness_fields(SupportPattern(x[b], y[b], name=names[b]), effort, timeout))
    return rows


def _classify_files(files: _Files, closedness: bool, effort: float, timeout: float | None
                    ) -> list[dict[str, Any]]:
    """Rows for directory members: ``line``, then ``file`` and ``file_sha256``, then the usual fields."""
    rows = classify_lines([(ln, text) for ln, _, _, text in files], closedness, timeout,
                          labels=[f"file {name!r}" for _, name, _, _ in files], effort=effort)
    ident = {ln: (name, digest) for ln, name, digest, _ in files}
    out = []
    for row in rows:
        name, digest = ident[row["line"]]
        out.append({"line": row["line"], "file": name, "file_sha256": digest,
                    **{k: v for k, v in row.items() if k != "line"}})
    return out


@dataclass(frozen=True)
class _Job:
    """What every chunk of one run shares (picklable, shipped with each chunk)."""

    closedness: bool
    effort: float
    timeout: float | None
    where: str
    fmt: str
    columns: tuple[str, ...]


def _work(args: tuple[_Payload, _Job]) -> tuple[bytes, int, int, list[str]]:
    (tag, payload), job = args
    if tag == "items":
        rows = classify_lines(payload, job.closedness, job.timeout, job.where, effort=job.effort)
    elif tag == "range":
        rows = classify_lines(_read_range(payload), job.closedness, job.timeout, job.where, effort=job.effort)
    elif tag == "arrays":
        rows = _classify_arrays(payload, job.closedness, job.effort, job.timeout)
    else:
        rows = _classify_files(payload, job.closedness, job.effort, job.timeout)
    errors = [r["error"] for r in rows if not r["ok"]]
    return _format_rows(rows, job.fmt, list(job.columns)), len(rows), len(errors), errors[:5]


# ---------------------------------------------------------------- output header and resume
def _plain(value: Any) -> Any:
    """A JSON form of an option value: dataclasses, objects with ``to_json``, enums, containers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "to_json", None)):
        return _plain(value.to_json())
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fingerprint(input_id: dict[str, Any], options: dict[str, Any]) -> str:
    blob = json.dumps({"input": input_id, "options": options}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _input_identity(src: Path, kind: str) -> dict[str, Any]:
    """``{"kind": "directory"}``, or the kind, size and SHA-256 of an input file."""
    if kind == "directory":
        return {"kind": kind}
    digest, size = hashlib.sha256(), 0
    try:
        with src.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise InvalidSpecError(f"input {str(src)!r}: cannot read ({exc.strerror or exc}); check the path and its "
                               "permissions.") from None
    return {"kind": kind, "size": size, "sha256": digest.hexdigest()}


def _options_identity(closedness: bool, **closedness_options: Any) -> dict[str, Any]:
    """The options that change rows: ``closedness`` and, when it is on, the options it receives."""
    options: dict[str, Any] = {"closedness": bool(closedness)}
    if closedness:
        options.update((k, _plain(v)) for k, v in sorted(closedness_options.items()))
    return options


def _header(input_id: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return {_HEADER_KEY: FORMAT_VERSION, "fingerprint": _fingerprint(input_id, options), "input": input_id,
            "options": options}


def _short(value: Any) -> str:
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 24 else text[:20] + "…" + text[-1]


def _differences(stored: dict[str, Any], header: dict[str, Any]) -> list[str]:
    """What differs between a stored header and this run's, as ``"input sha256: 'ab…' in the output, …"``."""
    diffs = []
    for section in ("input", "options"):
        old, new = stored.get(section), header[section]
        if not isinstance(old, dict):
            diffs.append(f"{section}: {_short(old)} in the output, {_short(new)} now")
            continue
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                diffs.append(f"{section} {key}: {_short(old.get(key))} in the output, {_short(new.get(key))} now")
    return diffs or ["the fingerprints differ"]


def _conflict(dst: Path, what: str) -> OutputConflictError:
    return OutputConflictError(
        f"--out = {str(dst)!r} {what}; rerun with --restart (in Python: restart=True) to start it over (its rows are "
        "deleted), or choose another --out.")


def _check_header(stored: Any, header: dict[str, Any], dst: Path, first: bytes) -> None:
    """Refuse an output whose header is not this run's (another command, input, options or program)."""
    begins = first[:60].decode("utf-8", errors="replace")
    if isinstance(stored, dict) and _CENSUS_KEY in stored:
        raise _conflict(dst, "was written by `wellposed census`, not `wellposed batch`")
    if not isinstance(stored, dict) or _HEADER_KEY not in stored:
        raise _conflict(dst, f"is not a batch output with a fingerprint header (it begins {begins!r}); it "
                             "was written by another program or by an older wellposed")
    if stored[_HEADER_KEY] != FORMAT_VERSION:
        raise _conflict(dst, f"has batch format {stored[_HEADER_KEY]!r}; this wellposed writes format "
                             f"{FORMAT_VERSION}")
    if stored.get("fingerprint") != header["fingerprint"]:
        raise _conflict(dst, "was written from another input or with other options ("
                             + "; ".join(_differences(stored, header)) + ")")


def _meta_path(dst: Path) -> Path:
    return dst.with_name(dst.name + META_SUFFIX)


def _header_text(header: dict[str, Any]) -> str:
    return _ROW_ENCODER.encode(header) + "\n"


def _csv_cut(data: bytes) -> int:
    """Byte length of the complete CSV records of ``data``: a record ends at a ``\\n`` outside quotes."""
    cut = pos = quotes = 0
    for line in data.split(b"\n")[:-1]:  # the piece after the last "\n" is an unfinished line
        pos += len(line) + 1
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            cut = pos
    return cut


def _recover(fh: BinaryIO, dst: Path, fmt: str, header: dict[str, Any], columns: list[str], directory: bool,
             restart: bool, check: Callable[[dict[Any, str]], None] | None = None) -> dict[Any, str]:
    """Keys of the rows already in the output (``line``, or ``file`` → ``file_sha256`` for a directory).

    Checks the output's header against this run's, and its rows with ``check`` (which raises to refuse
    them), drops a partly written last row, and writes the header when the output is new (or ``restart``).
    Raises :class:`OutputConflictError` otherwise; a refused output is left untouched.
    """
    data = read_locked(fh, dst, content=not restart)  # also refuses a device, a pipe or a socket
    head = _header_text(header).encode("utf-8")
    if fmt == "csv":
        first = (",".join(columns) + "\n").encode("utf-8")
        if first.startswith(data):  # new, emptied by --restart, or killed before its first row
            # rows first, then the sidecar: an old row never meets a new sidecar
            write_locked(fh, dst, b"", truncate=True)
            atomic_write_text(_meta_path(dst), head.decode("utf-8"), "--out")
            write_locked(fh, dst, first, truncate=True)
            return {}
        meta = _meta_path(dst)
        try:
            stored_text = meta.read_bytes()
        except OSError:
            raise _conflict(dst, f"has no fingerprint file {meta.name!r} beside it; it was written by another "
                                 "program or by an older wellposed") from None
        try:
            stored = json.loads(stored_text)
        except (ValueError, RecursionError):
            stored = None
        _check_header(stored, header, dst, stored_text)
        nl = data.find(b"\n")
        if data[: nl + 1] != first:
            raise _conflict(dst, f"has columns {data[:nl][:120]!r}, not this run's; it was modified by "
                                 "another program")
        cut = _csv_cut(data)
        body = data[nl + 1:cut].decode("utf-8", errors="replace")
    else:
        nl = data.find(b"\n")
        line = data[:nl] if nl >= 0 else data
        ours = line.startswith(b'{"' + _HEADER_KEY.encode() + b'":')
        if head.startswith(data) or (ours and (nl < 0 or len(data) == nl + 1)):
            # new, emptied by --restart, killed while writing its header, or no rows
            write_locked(fh, dst, head, truncate=True)
            return {}
        try:
            stored = json.loads(line)
        except (ValueError, RecursionError):
            stored = None
        _check_header(stored, header, dst, line)
        cut = data.rfind(b"\n") + 1
        body = data[nl + 1:cut].decode("utf-8", errors="replace")
    done = _row_keys(body, fmt, columns, directory, dst)
    if check is not None:
        check(done)
    if cut < len(data):  # only now: a refused output stays untouched
        truncate_locked(fh, dst, cut)
    return done


def _row_keys(body: str, fmt: str, columns: list[str], directory: bool, dst: Path) -> dict[Any, str]:
    done: dict[Any, str] = {}
    try:
        if fmt == "jsonl":
            for number, text in enumerate(body.split("\n")[:-1], start=2):  # rows end at "\n" only
                try:
                    row = json.loads(text)
                    if directory:
                        done[str(row["file"])] = str(row["file_sha256"])
                    else:
                        done[int(row["line"])] = ""
                except (ValueError, RecursionError, KeyError, TypeError):
                    raise _conflict(dst, f"has a line {number} that is not a batch row ({text[:60]!r}); it was "
                                         "modified by another program") from None
        else:
            at = [columns.index(c) for c in (_DIR_FIELDS if directory else ("line",))]
            for fields in csv.reader(io.StringIO(body, newline="")):
                if directory:
                    done[fields[at[0]]] = fields[at[1]]
                else:
                    done[int(fields[at[0]])] = ""
    except (csv.Error, ValueError, IndexError) as exc:
        raise _conflict(dst, f"has a row that is not a batch row ({exc}); it was modified by another "
                             "program") from None
    return done


def _check_directory(src: Path, files: list[Path], done: dict[Any, str], dst: Path) -> None:
    """Refuse to resume when a file with a row has changed or disappeared since it was classified."""
    by_name = {f.name: f for f in files}
    removed = sorted(name for name in done if name not in by_name)
    changed = sorted(name for name, digest in done.items()
                     if name in by_name and _read_case(by_name[name])[0] != digest)
    if removed or changed:
        what = []
        if changed:
            what.append(f"{len(changed)} file(s) changed since they were classified ({', '.join(changed[:3])}"
                        + (", …" if len(changed) > 3 else "") + ")")
        if removed:
            what.append(f"{len(removed)} file(s) are no longer in {str(src)!r} ({', '.join(removed[:3])}"
                        + (", …" if len(removed) > 3 else "") + ")")
        raise _conflict(dst, "was written from another state of the input directory: " + " and ".join(what))


def read_output(out: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the rows of a batch output (JSONL rows as written; CSV rows as dicts of strings).

    A partly written last row (an interrupted run) is left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.jsonl").write_text('{"spec": "lu:2"}\\n')
    >>> _ = run_batch(d / "in.jsonl", d / "out.csv")
    >>> header, rows = read_output(d / "out.csv")
    >>> header["options"], rows[0]["line"], rows[0]["tractable"]
    ({'closedness': False}, '1', 'False')
    """
    path = Path(out)
    if path.suffix.lower() == ".csv":
        header = json.loads(_meta_path(path).read_text(encoding="utf-8"))
        data = path.read_bytes()
        text = data[: _csv_cut(data)].decode("utf-8", errors="replace")
        return header, list(csv.DictReader(io.StringIO(text, newline="")))
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace").split("\n")[:-1]
    if not lines:
        return {}, []
    return json.loads(lines[0]), [json.loads(t) for t in lines[1:]]


# ---------------------------------------------------------------- the run
def run_batch(
    source: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    closedness: bool = False,
    effort: float = 1.0,
    timeout: float | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    scheduler: str | None = None,
    restart: bool = False,
) -> BatchSummary:
    """Classify every record of ``source`` into ``out`` (JSONL or CSV by extension); resumable.

    Parameters
    ----------
    source : path
        JSONL file, ``.npz`` batch or directory of ``.json`` case files.
    out : path
        ``.jsonl`` / ``.json`` (JSON lines) or ``.csv``. If it exists and was written from the same input
        with the same options, rows already there are kept and their records skipped; otherwise
        :class:`~wellposed.errors.OutputConflictError` (see the module docstring for the header).
    jobs : int
        Worker processes (1 = in-process).
    closedness : bool
        Also decide closedness for each pattern (slow; see :mod:`wellposed.closedness`).
    effort : float
        Scales the closedness engine's counted budgets (only used with ``closedness``); rows depend on it.
    timeout : float, optional
        The user's wall-clock safety cap per pattern (only with ``closedness``; default none). A row
        it stops says ``cap:wall-clock``: such rows depend on the machine.
    chunk : int
        Records per unit of work.
    progress : callable, optional
        Called with the number of records finished after each chunk.
    scheduler : str, optional
        Dask scheduler address (``"tcp://host:8786"``): run the chunks on that cluster instead
        (see :func:`wellposed.executors.ordered_map`); the output is identical to a local run.
    restart : bool
        Start ``out`` over (delete its rows) instead of resuming it.

    Raises
    ------
    InvalidSpecError
        A parameter is invalid, or the input cannot be read (a malformed record is an error row instead).
    OutputError
        ``out`` cannot be written (a directory, no permission, a symbolic link loop, a full disk).
    OutputConflictError
        Another process is writing ``out``, or it holds rows of another input, other options, another
        command or another program.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.jsonl").write_text('{"spec": "lu:2"}\\n{"spec": "diag:2"}\\nnot json\\n')
    >>> s = run_batch(d / "in.jsonl", d / "out.jsonl")
    >>> s.processed, s.errors
    (3, 1)
    >>> json.loads((d / "out.jsonl").read_text().splitlines()[0])["options"]  # the header line
    {'closedness': False}
    >>> run_batch(d / "in.jsonl", d / "out.jsonl").skipped  # a rerun resumes: nothing left to do
    3
    >>> run_batch(d / "in.jsonl", d / "out.jsonl", closedness=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wellposed.errors.OutputConflictError: --out = '...' was written ... (options closedness: False in the output, ...
    """
    src, dst = Path(source), Path(out)
    if not src.exists():
        raise InvalidSpecError(
            f"input {str(src)!r} does not exist; give a JSONL file, an .npz batch or a directory of .json files."
        )
    suffix = dst.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv"):
        raise InvalidSpecError(f"out = {str(dst)!r}: use a .jsonl or .csv extension.")
    fmt = "csv" if suffix == ".csv" else "jsonl"
    check_jobs(jobs)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InvalidSpecError(f"chunk = {chunk!r} must be a positive integer (records per unit of work).")
    from .closedness.budget import Budget, z3_version

    Budget(effort, timeout)  # validates both
    if dst.is_dir():
        raise OutputError(f"--out = {str(dst)!r} is a directory; give a file name inside it (e.g. "
                          f"{str(dst / ('rows' + suffix))!r}).")
    if src.is_file() and dst.exists() and os.path.samefile(src, dst):
        raise InvalidSpecError(f"out = {str(dst)!r} is the input file; choose another output file.")
    kind = "directory" if src.is_dir() else ("npz" if src.suffix.lower() == ".npz" else "jsonl")
    directory = kind == "directory"
    where = "file" if directory else ("record" if kind == "npz" else "line")
    arrays = _load_npz_batch(src) if kind == "npz" else None
    timeout = None if timeout is None else float(timeout)
    # verdicts are a function of the pattern, the options and the z3 version: all three are in the header
    z3 = z3_version() if closedness else None
    header = _header(_input_identity(src, kind),
                     _options_identity(closedness, effort=float(effort), timeout=timeout, z3=z3))
    columns = _columns(closedness, directory)
    job = _Job(bool(closedness), float(effort), timeout, where, fmt, tuple(columns))
    files = _dir_files(src, frozenset({dst.absolute(), _meta_path(dst).absolute()})) if directory else []

    with lock_output(dst, "--out") as fh:
        check = (lambda keys: _check_directory(src, files, keys, dst)) if directory else None
        done = _recover(fh, dst, fmt, header, columns, directory, restart, check)

        def chunks() -> Iterator[tuple[_Payload, _Job]]:
            if arrays is not None:
                x, y, names = arrays
                for s0 in range(0, len(x), chunk):
                    s1 = min(len(x), s0 + chunk)
                    skip = frozenset(i for i in range(s0 + 1, s1 + 1) if i in done)
                    if len(skip) < s1 - s0:
                        yield ("arrays", (x[s0:s1], y[s0:s1], names[s0:s1], s0 + 1, skip)), job
                return
            if directory:
                members: _Files = []
                for line_no, f in enumerate(files, start=1):
                    if f.name not in done:
                        members.append((line_no, f.name, *_read_case(f)))
                        if len(members) >= chunk:
                            yield ("files", members), job
                            members = []
                if members:
                    yield ("files", members), job
                return
            if scheduler is None:
                for spec in _scan_ranges(src, set(done), chunk):
                    yield ("range", spec), job
                return
            buf: _Items = []
            for item in iter_input(src):
                if item[0] in done:
                    continue
                buf.append(item)
                if len(buf) >= chunk:
                    yield ("items", buf), job
                    buf = []
            if buf:
                yield ("items", buf), job

        processed = errors = 0
        first: list[str] = []
        results = ordered_map(_work, chunks(), jobs=jobs, scheduler=scheduler)
        try:
            for data, count, nerr, errs in results:
                write_locked(fh, dst, data)
                processed += count
                errors += nerr
                first.extend(errs[: max(0, 5 - len(first))])
                if progress is not None:
                    progress(count)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    return BatchSummary(total=processed + len(done), processed=processed, skipped=len(done), errors=errors,
                        first_errors=tuple(first), out=dst)
