"""The batch run: classify every record of an input into a resumable output, on local workers or a cluster.

:func:`run_batch` opens the input (:func:`wellposed.io.batch_input.open_batch_input`), opens the output through
the resumable writer shared with ``wellposed census`` (:func:`wellposed.io.resumable.open_resumable`), skips
the records already there, and maps the chunks of the rest (:func:`wellposed.executors.ordered_map`) to rows
(:mod:`wellposed.batch.rows`), appended in input order.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import InvalidSpecError, OutputError
from ..executors import check_jobs, ordered_map
from ..io.batch_input import ArrayChunk, Chunk, DirectoryInput, FileChunk, open_batch_input
from ..io.resumable import BATCH_OUTPUT, conflict, make_header, meta_path, open_resumable
from .rows import DIR_FIELDS, classify_arrays, classify_files, classify_lines, columns, format_rows

__all__ = ["BatchSummary", "run_batch", "CHUNK", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

#: Records per unit of work.
CHUNK = 4096
#: Version of the output header (``{"wellposed_batch": FORMAT_VERSION, ...}``).
FORMAT_VERSION = BATCH_OUTPUT.version


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did."""

    total: int
    processed: int
    skipped: int
    errors: int
    first_errors: tuple[str, ...]
    out: Path


@dataclass(frozen=True)
class _Job:
    """What every chunk of one run shares (picklable, shipped with each chunk)."""

    closedness: bool
    effort: float
    timeout: float | None
    where: str
    fmt: str
    columns: tuple[str, ...]


def _work(args: tuple[Chunk, _Job]) -> tuple[bytes, int, int, list[str]]:
    """One chunk of work: its rows, formatted; how many, how many errors and the first error messages."""
    chunk, job = args
    if isinstance(chunk, ArrayChunk):
        rows = classify_arrays(chunk, job.closedness, job.effort, job.timeout)
    elif isinstance(chunk, FileChunk):
        rows = classify_files(chunk, job.closedness, job.effort, job.timeout)
    else:  # JSON lines: shipped with the chunk, or a byte range the worker reads
        rows = classify_lines(chunk.records(), job.closedness, job.timeout, job.where, effort=job.effort)
    errors = [r["error"] for r in rows if not r["ok"]]
    return format_rows(rows, job.fmt, list(job.columns)), len(rows), len(errors), errors[:5]


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


def _options_identity(closedness: bool, **closedness_options: Any) -> dict[str, Any]:
    """The options that change rows: ``closedness`` and, when it is on, the options it receives."""
    options: dict[str, Any] = {"closedness": bool(closedness)}
    if closedness:
        options.update((k, _plain(v)) for k, v in sorted(closedness_options.items()))
    return options


def _header(input_id: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return make_header(BATCH_OUTPUT, {"input": input_id, "options": options}, input=input_id, options=options)


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


def _row_keys(body: bytes, fmt: str, cols: list[str], directory: bool, dst: Path) -> dict[Any, str]:
    """Keys of the rows already in the output: ``line`` → ``""``, or ``file`` → ``file_sha256`` for a directory."""
    import csv
    import json

    text = body.decode("utf-8", errors="replace")
    done: dict[Any, str] = {}
    try:
        if fmt == "jsonl":
            for number, line in enumerate(text.split("\n")[:-1], start=2):  # rows end at "\n" only
                try:
                    row = json.loads(line)
                    if directory:
                        done[str(row["file"])] = str(row["file_sha256"])
                    else:
                        done[int(row["line"])] = ""
                except (ValueError, RecursionError, KeyError, TypeError):
                    raise conflict(BATCH_OUTPUT, dst, f"has a line {number} that is not a batch row ({line[:60]!r}); "
                                                      "it was modified by another program") from None
        else:
            at = [cols.index(c) for c in (DIR_FIELDS if directory else ("line",))]
            for fields in csv.reader(io.StringIO(text, newline="")):
                if directory:
                    done[fields[at[0]]] = fields[at[1]]
                else:
                    done[int(fields[at[0]])] = ""
    except (csv.Error, ValueError, IndexError) as exc:
        raise conflict(BATCH_OUTPUT, dst, f"has a row that is not a batch row ({exc}); it was modified by another "
                                          "program") from None
    return done


def _check_directory(source: DirectoryInput, done: dict[Any, str], dst: Path) -> None:
    """Refuse to resume when a file with a row has changed or disappeared since it was classified."""
    changed, removed = source.changes(done)
    if removed or changed:
        what = []
        if changed:
            what.append(f"{len(changed)} file(s) changed since they were classified ({', '.join(changed[:3])}"
                        + (", …" if len(changed) > 3 else "") + ")")
        if removed:
            what.append(f"{len(removed)} file(s) are no longer in {str(source.path)!r} ({', '.join(removed[:3])}"
                        + (", …" if len(removed) > 3 else "") + ")")
        raise conflict(BATCH_OUTPUT, dst, "was written from another state of the input directory: "
                                          + " and ".join(what))


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
    validate.integer(chunk, "chunk", low=1, hint="records per unit of work")
    from ..closedness.budget import Budget, z3_version

    Budget(effort, timeout)  # validates both
    if dst.is_dir():
        raise OutputError(f"--out = {str(dst)!r} is a directory; give a file name inside it (e.g. "
                          f"{str(dst / ('rows' + suffix))!r}).")
    if src.is_file() and dst.exists() and os.path.samefile(src, dst):
        raise InvalidSpecError(f"out = {str(dst)!r} is the input file; choose another output file.")
    source_input = open_batch_input(src, exclude=frozenset({dst.absolute(), meta_path(dst).absolute()}))
    directory = isinstance(source_input, DirectoryInput)
    timeout = None if timeout is None else float(timeout)
    # verdicts are a function of the pattern, the options and the z3 version: all three are in the header
    z3 = z3_version() if closedness else None
    header = _header(source_input.identity(),
                     _options_identity(closedness, effort=float(effort), timeout=timeout, z3=z3))
    cols = columns(closedness, directory)
    job = _Job(bool(closedness), float(effort), timeout, source_input.where, fmt, tuple(cols))

    def found(body: bytes) -> dict[Any, str]:
        done = _row_keys(body, fmt, cols, directory, dst)
        if isinstance(source_input, DirectoryInput):
            _check_directory(source_input, done, dst)
        return done

    def refuse(stored: dict[str, Any]) -> dict[str, Any]:
        raise conflict(BATCH_OUTPUT, dst, "was written from another input or with other options ("
                                          + "; ".join(_differences(stored, header)) + ")")

    with open_resumable(dst, header, BATCH_OUTPUT, parse=found, mismatch=refuse, fmt=fmt, columns=cols,
                        restart=restart) as run:
        done = run.found

        def chunks() -> Iterator[tuple[Chunk, _Job]]:
            for piece in source_input.chunks(done, chunk, ship=scheduler is not None):
                yield piece, job

        processed = errors = 0
        first: list[str] = []
        results = ordered_map(_work, chunks(), jobs=jobs, scheduler=scheduler)
        try:
            for data, count, nerr, errs in results:
                run.output.append(data)
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
