"""Streaming, resumable batch classification of many support patterns.

Input: a JSONL file (one pattern object per line: ``{"x_support": [...], "y_support": [...], "name": ...}``
or ``{"spec": "lu:3"}``), a directory of ``.json`` case files, or an ``.npz`` file with arrays
``x_support`` (B, m, r), ``y_support`` (B, n, r) and optionally ``names`` (B,) — the fastest input for
masks produced with numpy. Output: JSONL or CSV (by extension), one row per input record, each carrying
its ``line`` number (1-based line of the JSONL file — lines end at ``\n`` only —, 1-based position of
the file in sorted order for a directory, or 1-based index in the .npz arrays). Blank lines are skipped.

Patterns of equal shape inside a chunk are classified together with one batched Gram product
(:func:`wellposed.classify.classify_batch`); only patterns that need the relaxed condition go through
:func:`wellposed.classify.classify` one by one. Rows are identical to the one-by-one output.

Restarting with the same output file resumes: finished rows are kept, a partly written last row
is dropped, and only missing line numbers are processed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import BATCH_FIELDS, CLOSEDNESS_FIELDS, batch_record
from .classify import (
    REASON_DTO,
    REASON_NO_CEC,
    REASON_TRIVIAL,
    classify,
    classify_batch,
    describe_pair,
    not_tractable_reason,
)
from .errors import InvalidSpecError, WellposedError
from .executors import ordered_map
from .support import SupportPattern

__all__ = ["BatchSummary", "run_batch", "classify_lines", "iter_input"]

CHUNK = 4096
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder for every row


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
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        for idx, f in enumerate(files, start=1):
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                text = json.dumps({"__error__": f"{f.name}: cannot read file: {exc}"})
            yield idx, text
        return
    with path.open("rb") as fh:  # lines end at b"\n" only, as in _read_range
        for idx, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace")
            if line.strip():
                yield idx, line


#: A chunk of work: either the records themselves, or a byte range of the input file that the worker
#: reads itself (local runs: the parent then only scans line ends instead of shipping the text).
_Items = list[tuple[int, str]]
_Range = tuple[str, int, int, int, frozenset[int]]  # path, start, end, first line number, lines to skip
_Arrays = tuple[np.ndarray, np.ndarray, list[str], int, frozenset[int]]  # x, y, names, first record, skip


def _load_npz_batch(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Arrays ``x_support`` (B, m, r) and ``y_support`` (B, n, r), optional ``names`` (B,) of an .npz batch."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("x_support", "y_support") if k not in data.files]
            if missing:
                raise InvalidSpecError(
                    f"{str(path)!r}: an .npz batch needs arrays x_support (B, m, r) and y_support (B, n, r); "
                    f"missing {missing}. Save with np.savez(path, x_support=X, y_support=Y[, names=N])."
                )
            x, y = data["x_support"], data["y_support"]
            names = [str(t) for t in data["names"]] if "names" in data.files else [""] * len(x)
    except (OSError, ValueError) as exc:
        raise InvalidSpecError(f"{str(path)!r}: cannot read .npz batch: {exc}") from None
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2] or len(names) != len(x):
        raise InvalidSpecError(
            f"{str(path)!r}: x_support has shape {x.shape} and y_support {y.shape} (names: {len(names)}); "
            "need (B, m, r) and (B, n, r) with the same B and r (and B names)."
        )
    for arr, label in ((x, "x_support"), (y, "y_support")):
        if arr.dtype != bool:
            if arr.dtype.kind not in "biuf" or ((arr != 0) & (arr != 1)).any():
                raise InvalidSpecError(f"{str(path)!r}: {label} must contain only 0/1 (dtype {arr.dtype}).")
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


def _parse_slow(line_no: int, obj: Any, where: str) -> SupportPattern:
    """Validate one decoded record with full error messages (the general path)."""
    if isinstance(obj, dict) and "__error__" in obj:
        raise InvalidSpecError(str(obj["__error__"]))
    if isinstance(obj, dict) and "spec" in obj:
        from .families import family

        try:
            return family(str(obj["spec"]))
        except WellposedError as exc:
            raise InvalidSpecError(f"{where} {line_no}: {exc}") from None
    try:
        return SupportPattern.from_json(obj, where=f"{where} {line_no}")
    except WellposedError as exc:
        raise InvalidSpecError(str(exc)) from None


def _fast_fields(obj: Any) -> tuple[int, int, int, str, str, str] | None:
    """(m, n, r, joined x rows, joined y rows, name) for a plain record of 0/1 strings, else None."""
    if type(obj) is not dict or not obj.keys() <= _FAST_KEYS:
        return None
    xs, ys = obj.get("x_support"), obj.get("y_support")
    if type(xs) is not list or type(ys) is not list or not xs or not ys:
        return None
    try:
        lengths = set(map(len, xs)) | set(map(len, ys))
        jx, jy = "".join(xs), "".join(ys)
    except TypeError:
        return None
    if len(lengths) != 1:
        return None
    r = lengths.pop()
    if r == 0:
        return None
    return len(xs), len(ys), r, jx, jy, str(obj.get("name", obj.get("id", "")) or "")


# ---------------------------------------------------------------- classification of a chunk
def _vector_records(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Batch rows for B patterns of one shape, identical to ``batch_record(classify(p))``."""
    bsz, m, r = x.shape
    n = y.shape[1]
    out = classify_batch(x, y)
    k_arr, l_arr = np.maximum(out["pair_k"], 0), np.maximum(out["pair_l"], 0)
    bi = np.arange(bsz)
    # |I_k|, |I_l|, |I_k ∩ I_l| (and for J) of the failing pair, for every pattern at once
    xk, xl = x[bi, :, k_arr], x[bi, :, l_arr]
    yk, yl = y[bi, :, k_arr], y[bi, :, l_arr]
    ix = [xk.sum(1).tolist(), xl.sum(1).tolist(), (xk & xl).sum(1).tolist()]
    iy = [yk.sum(1).tolist(), yl.sum(1).tolist(), (yk & yl).sum(1).tolist()]
    dto_l, ncls_l, ncomp_l = out["dto"].tolist(), out["num_classes"].tolist(), out["num_complete"].tolist()
    relax_l, kl, ll = out["needs_relaxed"].tolist(), out["pair_k"].tolist(), out["pair_l"].tolist()
    records: list[dict[str, Any]] = []
    for b in range(bsz):
        if relax_l[b]:
            records.append(batch_record(classify(SupportPattern(x[b], y[b], name=names[b]))))
            continue
        dto = dto_l[b]
        if dto:
            reason = REASON_DTO if ncls_l[b] else REASON_TRIVIAL
            pair = None
        else:
            k, l = kl[b], ll[b]
            text = describe_pair(k, l, (ix[0][b], iy[0][b]), (ix[1][b], iy[1][b]), (ix[2][b], iy[2][b]))
            reason = not_tractable_reason(text, REASON_NO_CEC)
            pair = [k, l]
        records.append({
            "name": names[b], "m": m, "n": n, "r": r, "dto": dto, "tractable": dto,
            "tractable_method": "dto" if dto else "none", "tractable_reason": reason,
            "failing_pair": pair, "num_classes": ncls_l[b], "num_complete_classes": ncomp_l[b],
        })
    return records


def classify_lines(
    items: list[tuple[int, str]], closedness: bool = False, timeout: float = 10.0, where: str = "line"
) -> list[dict[str, Any]]:
    """Classify a chunk of raw records; returns rows in input order (errors become error rows).

    Records made of '0'/'1' strings are decoded for a whole group of equal shape at once; anything
    else (nested lists, family specs, malformed input) goes through full validation.
    """
    rows: list[dict[str, Any] | None] = [None] * len(items)
    fast: dict[tuple[int, int, int], list[tuple[int, str, str, str]]] = {}
    decoded: dict[int, Any] = {}
    patterns: dict[tuple[int, int, int], list[tuple[int, np.ndarray, np.ndarray, str]]] = {}

    def error(pos: int, exc: Exception) -> None:
        rows[pos] = {"line": items[pos][0], "ok": False, "error": str(exc)}

    def slow(pos: int) -> None:
        try:
            p = _parse_slow(items[pos][0], decoded[pos], where)
        except WellposedError as exc:
            error(pos, exc)
            return
        patterns.setdefault((p.m, p.n, p.r), []).append((pos, p.x_support, p.y_support, p.name))

    for pos, (line_no, raw) in enumerate(items):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            error(pos, InvalidSpecError(f"{where} {line_no}: invalid JSON at column {exc.colno}: {exc.msg}."))
            continue
        decoded[pos] = obj
        f = _fast_fields(obj)
        if f is None:
            slow(pos)
        else:
            fast.setdefault(f[:3], []).append((pos, f[3], f[4], f[5]))
    for (m, n, r), members in fast.items():
        bx = np.frombuffer("".join(t[1] for t in members).encode("latin-1", "replace"), dtype=np.uint8) - 48
        by = np.frombuffer("".join(t[2] for t in members).encode("latin-1", "replace"), dtype=np.uint8) - 48
        bx, by = bx.reshape(len(members), m, r), by.reshape(len(members), n, r)
        ok = (bx <= 1).all(axis=(1, 2)) & (by <= 1).all(axis=(1, 2))
        for b in np.flatnonzero(~ok).tolist():
            slow(members[b][0])
        good = np.flatnonzero(ok)
        if good.size:
            group = patterns.setdefault((m, n, r), [])
            xg, yg = bx[good].astype(bool), by[good].astype(bool)
            group.extend((members[b][0], xg[i], yg[i], members[b][3]) for i, b in enumerate(good.tolist()))
    for shape_group in patterns.values():
        recs = _vector_records(np.stack([t[1] for t in shape_group]), np.stack([t[2] for t in shape_group]),
                               [t[3] for t in shape_group])
        for (pos, x, y, name), rec in zip(shape_group, recs, strict=True):
            row = {"line": items[pos][0], "ok": True, **rec}
            if closedness:
                row.update(_closedness_fields(SupportPattern(x, y, name=name), timeout))
            rows[pos] = row
    return [r for r in rows if r is not None]


def _closedness_fields(p: SupportPattern, timeout: float) -> dict[str, Any]:
    from .closedness import decide_closedness

    v = decide_closedness(p, timeout=timeout).to_json()
    return {k: v.get(k) for k in CLOSEDNESS_FIELDS}


# ---------------------------------------------------------------- output
def _columns(closedness: bool) -> list[str]:
    cols = list(BATCH_FIELDS[:1]) + ["ok", "error"] + list(BATCH_FIELDS[1:])
    return cols + (list(CLOSEDNESS_FIELDS) if closedness else [])


def _format_rows(rows: list[dict[str, Any]], fmt: str, closedness: bool) -> str:
    if fmt == "jsonl":
        encode = _ROW_ENCODER.encode
        return "".join([encode(r) + "\n" for r in rows])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(closedness), extrasaction="ignore", lineterminator="\n")
    for r in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    return buf.getvalue()


def _classify_arrays(payload: _Arrays, closedness: bool, timeout: float) -> list[dict[str, Any]]:
    """Rows for a slice of an .npz batch (record number = 1-based index in the arrays)."""
    x, y, names, first, skip = payload
    keep = [b for b in range(x.shape[0]) if first + b not in skip]
    recs = _vector_records(x[keep], y[keep], [names[b] for b in keep])
    rows = []
    for b, rec in zip(keep, recs, strict=True):
        row = {"line": first + b, "ok": True, **rec}
        if closedness:
            row.update(_closedness_fields(SupportPattern(x[b], y[b], name=names[b]), timeout))
        rows.append(row)
    return rows


def _work(args: tuple[_Items | _Range | _Arrays, bool, float, str, str]) -> tuple[str, int, int, list[str]]:
    payload, closedness, timeout, where, fmt = args
    if isinstance(payload, list):
        rows = classify_lines(payload, closedness, timeout, where)
    elif len(payload) == 5 and isinstance(payload[0], np.ndarray):
        rows = _classify_arrays(payload, closedness, timeout)
    else:
        rows = classify_lines(_read_range(payload), closedness, timeout, where)
    errors = [r["error"] for r in rows if not r["ok"]]
    return _format_rows(rows, fmt, closedness), len(rows), len(errors), errors[:5]


def _recover(out: Path, fmt: str, closedness: bool) -> set[int]:
    """Line numbers already in ``out``; truncates a partly written last row. Creates the header."""
    done: set[int] = set()
    if not out.exists() or out.stat().st_size == 0:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            if fmt == "csv":
                fh.write(",".join(_columns(closedness)) + "\n")
        return done
    data = out.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        with out.open("r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    text = data.decode("utf-8", errors="replace")
    if fmt == "jsonl":
        for row in text.split("\n")[:-1]:  # rows end at "\n" only (U+2028 may sit in a name)
            try:
                done.add(int(json.loads(row)["line"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise InvalidSpecError(
                    f"out = {str(out)!r} exists but is not a batch output (row {row[:60]!r}); choose another "
                    "--out or delete the file to start over."
                ) from None
    else:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header != _columns(closedness):
            raise InvalidSpecError(
                f"out = {str(out)!r} has a different header ({header!r}); it was written by another batch "
                "configuration (e.g. with/without --closedness). Choose another --out or delete the file."
            )
        for fields in reader:
            if fields:
                done.add(int(fields[0]))
    return done


def run_batch(
    source: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    closedness: bool = False,
    timeout: float = 10.0,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    scheduler: str | None = None,
) -> BatchSummary:
    """Classify every record of ``source`` into ``out`` (JSONL or CSV by extension); resumable.

    Parameters
    ----------
    source : path
        JSONL file or directory of ``.json`` case files.
    out : path
        ``.jsonl`` / ``.json`` (JSON lines) or ``.csv``. If it exists, rows already there are kept and
        their line numbers are skipped.
    jobs : int
        Worker processes (1 = in-process).
    scheduler : str, optional
        Dask scheduler address (``"tcp://host:8786"``): run the chunks on that cluster instead
        (see :func:`wellposed.executors.ordered_map`); the output is identical to a local run.
    closedness : bool
        Also decide closedness for each pattern (slow; see :mod:`wellposed.closedness`).
    progress : callable, optional
        Called with the number of records finished after each chunk.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.jsonl").write_text('{"spec": "lu:2"}\\n{"spec": "diag:2"}\\nnot json\\n')
    >>> s = run_batch(d / "in.jsonl", d / "out.jsonl")
    >>> s.processed, s.errors
    (3, 1)
    >>> run_batch(d / "in.jsonl", d / "out.jsonl").skipped  # a rerun resumes: nothing left to do
    3
    """
    src, dst = Path(source), Path(out)
    if not src.exists():
        raise InvalidSpecError(
            f"input {str(src)!r} does not exist; give a JSONL file or a directory of .json files."
        )
    suffix = dst.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv"):
        raise InvalidSpecError(f"out = {str(dst)!r}: use a .jsonl or .csv extension.")
    fmt = "csv" if suffix == ".csv" else "jsonl"
    if not isinstance(jobs, int) or jobs < 1:
        raise InvalidSpecError(f"jobs = {jobs!r} must be a positive integer.")
    where = "file" if src.is_dir() else ("record" if src.suffix.lower() == ".npz" else "line")
    done = _recover(dst, fmt, closedness)

    def chunks() -> Iterator[tuple[_Items | _Range | _Arrays, bool, float, str, str]]:
        if src.suffix.lower() == ".npz" and src.is_file():
            x, y, names = _load_npz_batch(src)
            for s0 in range(0, len(x), chunk):
                s1 = min(len(x), s0 + chunk)
                skip = frozenset(i for i in range(s0 + 1, s1 + 1) if i in done)
                if len(skip) < s1 - s0:
                    yield (x[s0:s1], y[s0:s1], names[s0:s1], s0 + 1, skip), closedness, timeout, where, fmt
            return
        if scheduler is None and src.is_file():
            for spec in _scan_ranges(src, done, chunk):
                yield spec, closedness, timeout, where, fmt
            return
        buf: _Items = []
        for item in iter_input(src):
            if item[0] in done:
                continue
            buf.append(item)
            if len(buf) >= chunk:
                yield buf, closedness, timeout, where, fmt
                buf = []
        if buf:
            yield buf, closedness, timeout, where, fmt

    processed = errors = 0
    first: list[str] = []
    with dst.open("a", encoding="utf-8") as fh:
        results = ordered_map(_work, chunks(), jobs=jobs, scheduler=scheduler)
        try:
            for text, count, nerr, errs in results:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
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
