"""Resumable outputs: a run appends records to a file that a rerun resumes, never mixing two runs' records.

An output starts with a header naming what produced it (:class:`OutputKind`: ``wellposed batch`` or
``wellposed census``), a format version and a fingerprint (:func:`fingerprint`, the SHA-256 of what changes
the records). :func:`open_resumable` locks the file for the whole run
(:func:`~wellposed.io.outputs.lock_output`), writes the header of a new (or ``restart``-ed) file, checks the
header of an existing one (:func:`check_header`: another command, another format version, another
fingerprint are an :class:`~wellposed.errors.OutputConflictError`), hands the finished records to the
caller, cuts a partly written last record (a run killed while writing) and yields the
:class:`ResumableOutput` to append to. A refused output is left untouched.

Two layouts: JSON lines (``fmt="jsonl"``), the header being the first line; CSV (``fmt="csv"``), plain CSV
whose header object is the sidecar ``OUT.meta.json`` (:func:`meta_path`), written atomically before the
first row. :func:`read_output` reads both.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from ..errors import OutputConflictError
from .outputs import atomic_output, atomic_write_text, lock_output, read_locked, truncate_locked, write_locked

__all__ = ["OutputKind", "BATCH_OUTPUT", "CENSUS_OUTPUT", "OUTPUT_KINDS", "META_SUFFIX", "fingerprint",
           "make_header", "conflict", "check_header", "open_resumable", "ResumableOutput", "Resumed", "meta_path",
           "csv_cut", "read_output"]

#: Suffix of the sidecar that holds the header of a CSV output (``OUT.csv`` → ``OUT.csv.meta.json``).
META_SUFFIX = ".meta.json"

T = TypeVar("T")


@dataclass(frozen=True)
class OutputKind:
    """Who writes a resumable output, and how.

    Attributes
    ----------
    key : str
        The header's first key, whose value is the format version (``{"wellposed_batch": 1, ...}``).
    command : str
        The command that writes it (error messages).
    noun : str
        ``"batch"`` / ``"census"`` (``"is not a census output"``, ``"has census format 2"``).
    items : str
        What its lines are called (``"rows"``, ``"records"``).
    version : int
        The format version this wellposed writes.
    separators : tuple of str
        The JSON separators of its header (and of its records, for a census).
    """

    key: str
    command: str
    noun: str
    items: str
    version: int
    separators: tuple[str, str]

    def encode(self, obj: dict[str, Any]) -> bytes:
        """One JSON line (UTF-8, not ASCII-escaped) in this kind's layout.

        >>> CENSUS_OUTPUT.encode({"a": [1, "é"]}), BATCH_OUTPUT.encode({"a": [1, "é"]})
        (b'{"a": [1, "\\xc3\\xa9"]}\\n', b'{"a":[1,"\\xc3\\xa9"]}\\n')
        """
        return (json.dumps(obj, ensure_ascii=False, separators=self.separators) + "\n").encode("utf-8")


BATCH_OUTPUT = OutputKind("wellposed_batch", "wellposed batch", "batch", "rows", 1, (",", ":"))
CENSUS_OUTPUT = OutputKind("wellposed_census", "wellposed census", "census", "records", 1, (", ", ": "))
#: Every kind of resumable output: a file of one is refused by the others.
OUTPUT_KINDS = (BATCH_OUTPUT, CENSUS_OUTPUT)


def fingerprint(obj: Any) -> str:
    """The SHA-256 of ``obj`` as canonical JSON (sorted keys, compact).

    >>> fingerprint({"b": 1, "a": [True]}) == fingerprint({"a": [True], "b": 1})
    True
    """
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def make_header(kind: OutputKind, fingerprinted: Any, **fields: Any) -> dict[str, Any]:
    """``{kind.key: kind.version, "fingerprint": fingerprint(fingerprinted), **fields}``."""
    return {kind.key: kind.version, "fingerprint": fingerprint(fingerprinted), **fields}


def conflict(kind: OutputKind, path: Path, what: str, parameter: str = "--out") -> OutputConflictError:
    """The refusal of ``path``: ``what`` is wrong with it, and the two ways out."""
    return OutputConflictError(
        f"{parameter} = {str(path)!r} {what}; rerun with --restart (in Python: restart=True) to start it over (its "
        f"{kind.items} are deleted), or choose another {parameter}.")


def check_header(stored: Any, header: dict[str, Any], kind: OutputKind, path: Path, first: bytes, *,
                 mismatch: Callable[[dict[str, Any]], dict[str, Any]],
                 legacy: Callable[[Any], None] | None = None, parameter: str = "--out") -> dict[str, Any]:
    """The header to keep for an output whose stored header is ``stored`` (decoded from ``first``).

    Refuses (:class:`~wellposed.errors.OutputConflictError`) an output of another kind, then (``legacy``,
    which raises) an output of an older wellposed, an output without a header of this kind, and another
    format version. The stored header is kept when its fingerprint is this run's; otherwise ``mismatch``
    decides: it raises, or returns the header to keep (a census retrying undecided keys).
    """
    for other in OUTPUT_KINDS:
        if other is not kind and isinstance(stored, dict) and other.key in stored:
            raise conflict(kind, path, f"was written by `{other.command}`, not `{kind.command}`", parameter)
    if legacy is not None:
        legacy(stored)
    if not isinstance(stored, dict) or kind.key not in stored:
        begins = first[:60].decode("utf-8", errors="replace")
        raise conflict(kind, path, f"is not a {kind.noun} output with a fingerprint header (it begins {begins!r}); "
                                   "it was written by another program or by an older wellposed", parameter)
    if stored[kind.key] != kind.version:
        raise conflict(kind, path, f"has {kind.noun} format {stored[kind.key]!r}; this wellposed writes format "
                                   f"{kind.version}", parameter)
    if stored.get("fingerprint") == header["fingerprint"]:
        return dict(stored)
    return mismatch(stored)


class ResumableOutput:
    """The locked output of a run: append records, or replace the whole file atomically."""

    def __init__(self, fh: BinaryIO, path: Path, kind: OutputKind, parameter: str) -> None:
        self._fh, self.path, self.kind, self.parameter = fh, path, kind, parameter

    def append(self, data: bytes) -> None:
        """Append ``data`` (whole records) and make it durable."""
        write_locked(self._fh, self.path, data, self.parameter)

    def replace(self, header: dict[str, Any], records: Iterable[dict[str, Any]]) -> None:
        """Rewrite the file with ``header`` and ``records`` (JSON lines), atomically: the file is replaced only
        once the new content is on disk. Call it while the output is still open (nobody appends meanwhile)."""
        with atomic_output(self.path, self.parameter) as tmp, tmp.open("wb") as fh:
            fh.write(self.kind.encode(header))
            for rec in records:
                fh.write(self.kind.encode(rec))


@dataclass(frozen=True)
class Resumed(Generic[T]):
    """What :func:`open_resumable` found: the output to append to, the header to keep and the parsed records."""

    output: ResumableOutput
    header: dict[str, Any]
    found: T


@contextlib.contextmanager
def open_resumable(path: str | Path, header: dict[str, Any], kind: OutputKind, *, parse: Callable[[bytes], T],
                   mismatch: Callable[[dict[str, Any]], dict[str, Any]], legacy: Callable[[Any], None] | None = None,
                   fmt: str = "jsonl", columns: list[str] | None = None, restart: bool = False,
                   parameter: str = "--out") -> Iterator[Resumed[T]]:
    """Open ``path`` for a run of ``kind`` with ``header``: locked, checked, recovered; yield :class:`Resumed`.

    ``parse`` reads the complete records after the header (bytes; ``b""`` for a new output) and may raise
    to refuse them; a partly written last record is cut only after that. ``mismatch`` and ``legacy`` are
    those of :func:`check_header`. ``fmt="csv"`` needs the ``columns`` of the CSV header line.
    ``restart`` empties the file first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "o.jsonl"
    >>> header = make_header(CENSUS_OUTPUT, {"n": 1}, options={"n": 1})
    >>> def refuse(stored): raise conflict(CENSUS_OUTPUT, out, "was written with other options")
    >>> with open_resumable(out, header, CENSUS_OUTPUT, parse=bytes.splitlines, mismatch=refuse) as run:
    ...     run.output.append(b'{"key": 1}\\n{"key": 2')  # killed while writing the second record
    >>> with open_resumable(out, header, CENSUS_OUTPUT, parse=bytes.splitlines, mismatch=refuse) as run:
    ...     run.found
    [b'{"key": 1}']
    >>> out.read_bytes().count(b"\\n")  # the torn record was cut
    2
    """
    dst = Path(path)
    with lock_output(dst, parameter) as fh:
        data = read_locked(fh, dst, parameter, content=not restart)  # also refuses a device, a pipe or a socket
        head = kind.encode(header)
        recover = _recover_csv if fmt == "csv" else _recover_jsonl
        kept, found = recover(fh, dst, data, head, header, kind, parse, mismatch, legacy, columns, parameter)
        yield Resumed(ResumableOutput(fh, dst, kind, parameter), kept, found)


def _recover_jsonl(fh: BinaryIO, dst: Path, data: bytes, head: bytes, header: dict[str, Any], kind: OutputKind,
                   parse: Callable[[bytes], T], mismatch: Callable[[dict[str, Any]], dict[str, Any]],
                   legacy: Callable[[Any], None] | None, columns: list[str] | None, parameter: str
                   ) -> tuple[dict[str, Any], T]:
    nl = data.find(b"\n")
    line = data[:nl] if nl >= 0 else data
    ours = line.startswith(b'{"' + kind.key.encode() + b'":')
    if head.startswith(data) or (ours and (nl < 0 or len(data) == nl + 1)):
        # new, emptied by restart, killed while writing its header, or no records
        write_locked(fh, dst, head, parameter, truncate=True)
        return header, parse(b"")
    try:
        stored = json.loads(line)
    except (ValueError, RecursionError):
        stored = None
    kept = check_header(stored, header, kind, dst, line, mismatch=mismatch, legacy=legacy, parameter=parameter)
    cut = data.rfind(b"\n") + 1
    found = parse(data[nl + 1:cut])
    if cut < len(data):  # only now: a refused output stays untouched
        truncate_locked(fh, dst, cut, parameter)
    return kept, found


def _recover_csv(fh: BinaryIO, dst: Path, data: bytes, head: bytes, header: dict[str, Any], kind: OutputKind,
                 parse: Callable[[bytes], T], mismatch: Callable[[dict[str, Any]], dict[str, Any]],
                 legacy: Callable[[Any], None] | None, columns: list[str] | None, parameter: str
                 ) -> tuple[dict[str, Any], T]:
    if columns is None:
        raise TypeError("a CSV output needs its columns")
    first = (",".join(columns) + "\n").encode("utf-8")
    if first.startswith(data):  # new, emptied by restart, or killed before its first row
        # rows first, then the sidecar: an old row never meets a new sidecar
        write_locked(fh, dst, b"", parameter, truncate=True)
        atomic_write_text(meta_path(dst), head.decode("utf-8"), parameter)
        write_locked(fh, dst, first, parameter, truncate=True)
        return header, parse(b"")
    meta = meta_path(dst)
    try:
        stored_text = meta.read_bytes()
    except OSError:
        raise conflict(kind, dst, f"has no fingerprint file {meta.name!r} beside it; it was written by another "
                                  "program or by an older wellposed", parameter) from None
    try:
        stored = json.loads(stored_text)
    except (ValueError, RecursionError):
        stored = None
    kept = check_header(stored, header, kind, dst, stored_text, mismatch=mismatch, legacy=legacy,
                        parameter=parameter)
    nl = data.find(b"\n")
    if data[: nl + 1] != first:
        raise conflict(kind, dst, f"has columns {data[:nl][:120]!r}, not this run's; it was modified by another "
                                  "program", parameter)
    cut = csv_cut(data)
    found = parse(data[nl + 1:cut])
    if cut < len(data):  # only now: a refused output stays untouched
        truncate_locked(fh, dst, cut, parameter)
    return kept, found


def meta_path(dst: Path) -> Path:
    """The sidecar holding the header of a CSV output: ``runs/a.csv`` → ``runs/a.csv.meta.json``."""
    return dst.with_name(dst.name + META_SUFFIX)


def csv_cut(data: bytes) -> int:
    """Byte length of the complete CSV records of ``data``: a record ends at a ``\\n`` outside quotes.

    >>> csv_cut(b'a,b\\n1,"x\\ny"\\n2,"z')
    12
    """
    cut = pos = quotes = 0
    for line in data.split(b"\n")[:-1]:  # the piece after the last "\n" is an unfinished line
        pos += len(line) + 1
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            cut = pos
    return cut


def read_output(out: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the rows of a resumable output (JSONL rows as written; CSV rows as dicts of strings).

    A partly written last row (an interrupted run) is left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from wellposed.batch import run_batch
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.jsonl").write_text('{"spec": "lu:2"}\\n')
    >>> _ = run_batch(d / "in.jsonl", d / "out.csv")
    >>> header, rows = read_output(d / "out.csv")
    >>> header["options"], rows[0]["line"], rows[0]["tractable"]
    ({'closedness': False}, '1', 'False')
    """
    path = Path(out)
    if path.suffix.lower() == ".csv":
        header = json.loads(meta_path(path).read_text(encoding="utf-8"))
        data = path.read_bytes()
        text = data[: csv_cut(data)].decode("utf-8", errors="replace")
        return header, list(csv.DictReader(io.StringIO(text, newline="")))
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace").split("\n")[:-1]
    if not lines:
        return {}, []
    return json.loads(lines[0]), [json.loads(t) for t in lines[1:]]
