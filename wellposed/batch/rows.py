"""Batch rows: classify the records of a chunk (vectorized kernel) and write them as JSON lines or CSV.

A row is ``line`` (its record's position, see :mod:`wellposed.io.batch_input`), for a directory ``file`` and
``file_sha256``, ``ok`` and ``error``, then the classification fields :data:`~wellposed.analysis.ROW_FIELDS`
and, with closedness, :data:`~wellposed.analysis.CLOSEDNESS_FIELDS` (:func:`columns`). Patterns of equal
shape inside a chunk are classified together by :func:`wellposed.batch.kernel.classify_batch` (classes, DTO
and the relaxed condition C1+C2 with their first failures); only a pattern whose r×r tables alone exceed
the memory budget goes through :func:`wellposed.analysis.analyze`. Rows are identical to
``analyze(p).to_row()``, built from the same list of fields.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np

from ..analysis import CLOSEDNESS_FIELDS, ROW_FIELDS, analyze
from ..classify import (
    C1_FAILS,
    C2_FAILS,
    REASON_DTO,
    REASON_NO_CEC,
    REASON_RELAXED_HOLDS,
    REASON_TRIVIAL,
    describe_pair,
    not_tractable_reason,
)
from ..io.batch_input import ArrayChunk, FileChunk
from ..io.bounded_json import optional_orjson
from ..io.records import decode_records
from ..memory import max_bytes
from ..support import SupportPattern
from .kernel import Relaxed, classify_batch, pattern_bytes

__all__ = ["classify_lines", "classify_arrays", "classify_files", "columns", "format_rows", "DIR_FIELDS"]

logger = logging.getLogger(__name__)

#: Rows come out exactly as with the json module (see :func:`format_rows`).
_orjson = optional_orjson()
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder for every row
#: The fields a directory row has after ``line``.
DIR_FIELDS = ("file", "file_sha256")
_CLOSEDNESS_COLUMNS = frozenset(CLOSEDNESS_FIELDS)
#: A row of the vectorized path: its line, ``ok``, then the classification fields.
_ROW_KEYS = ("line", "ok", *ROW_FIELDS)

_RELAXED_HOLDS, _C1_FAILS, _C2_FAILS = REASON_RELAXED_HOLDS, C1_FAILS, C2_FAILS  # worded by wellposed.classify
_NOT_NEEDED, _HOLDS = int(Relaxed.NOT_NEEDED), int(Relaxed.HOLDS)  # plain ints: compared once per row
_C1_FAILS_CODE, _C2_FAILS_CODE = int(Relaxed.C1_FAILS), int(Relaxed.C2_FAILS)
#: (dto, tractable, tractable_method, tractable_reason, failing_pair) of a pattern decided by DTO, of one without
#: classes (every component empty).
#: Above this many components a pattern is classified by the sparse one-pattern path, not the batch kernel
#: (monarch:111, r = 12321, took over 20 minutes in the kernel's r×r word tables).
KERNEL_MAX_R = 512

_BY_DTO = (True, True, "dto", REASON_DTO, None)
_TRIVIAL = (True, True, "dto", REASON_TRIVIAL, None)


def _vector_records(x: np.ndarray, y: np.ndarray, names: list[str], lines: list[int] | None = None
                    ) -> list[dict[str, Any]]:
    """Batch rows for B patterns of one shape, identical to ``analyze(p, closedness=False).to_row()``.

    Every verdict (DTO, relaxed C1+C2 and their first failures) comes from
    :func:`~wellposed.batch.kernel.classify_batch`; this only words them. With ``lines``, each row starts
    with ``"line": lines[b], "ok": True`` (a batch output row). Patterns with more than
    :data:`KERNEL_MAX_R` components, or whose kernel tables alone exceed the memory budget
    (:func:`~wellposed.batch.kernel.pattern_bytes` > :func:`~wellposed.memory.max_bytes`), are analyzed one
    by one with :func:`~wellposed.analysis.analyze`: the kernel's r×r tables cost ``r² ⌈(m + n)/64⌉`` word
    operations per pattern, the sparse path of :func:`~wellposed.classify.classify` follows the masks' size.

    >>> lu = np.tril(np.ones((2, 2), bool))[None]
    >>> _vector_records(lu, lu, ["lu"])[0]["tractable_reason"]  # doctest: +ELLIPSIS
    'not tractable by DTO (components 0 and 1 have nested ...) nor by the relaxed condition (C2 fails: ...)'
    """
    bsz, m, r = x.shape
    n = y.shape[1]
    if r > KERNEL_MAX_R or pattern_bytes(m, n, r) > max_bytes():  # r² tables: slower than the sparse path
        return _one_by_one(x, y, names, lines)
    out = classify_batch(x, y)
    # per row: the verdict's words; then every column is named by its field, and rows follow ROW_FIELDS
    words: list[tuple[bool, bool, str, str, list[int] | None]] = []
    for ncls, k, l, ik, jk, il, jl, ikl, jkl, code, fail, other, i, j in zip(
        out["num_classes"].tolist(), out["pair_k"].tolist(), out["pair_l"].tolist(), *out["pair_counts"].T.tolist(),
        out["relaxed"].tolist(), out["fail_class"].tolist(), out["clash_other"].tolist(), out["clash_row"].tolist(),
        out["clash_col"].tolist(), strict=True,
    ):
        if code == _NOT_NEEDED:
            words.append(_BY_DTO if ncls else _TRIVIAL)
            continue
        text = describe_pair(k, l, (ik, jk), (il, jl), (ikl, jkl))
        if code == _HOLDS:
            words.append((False, True, "relaxed", _RELAXED_HOLDS.format(text), [k, l]))
            continue
        if code == _C1_FAILS_CODE:
            why = _C1_FAILS.format(other, fail, i, j)
        elif code == _C2_FAILS_CODE:
            why = _C2_FAILS.format(fail)
        else:
            why = REASON_NO_CEC
        words.append((False, False, "none", not_tractable_reason(text, why), [k, l]))
    dto, tractable, method, reason, pair = zip(*words, strict=True) if words else ((),) * 5
    by_field: dict[str, Sequence[Any]] = {
        "name": names, "m": [m] * bsz, "n": [n] * bsz, "r": [r] * bsz, "dto": dto, "tractable": tractable,
        "tractable_method": method, "tractable_reason": reason, "failing_pair": pair,
        "num_classes": out["num_classes"].tolist(), "num_complete_classes": out["num_complete"].tolist(),
    }
    fields = [by_field[f] for f in ROW_FIELDS]
    if lines is None:  # the classification fields only
        return list(map(dict, map(zip, repeat(ROW_FIELDS), zip(*fields, strict=True))))
    return list(map(dict, map(zip, repeat(_ROW_KEYS), zip(lines, [True] * bsz, *fields, strict=True))))


def _one_by_one(x: np.ndarray, y: np.ndarray, names: list[str], lines: list[int] | None
                ) -> list[dict[str, Any]]:
    """Rows of patterns too large for :func:`~wellposed.batch.kernel.classify_batch`: ``analyze().to_row()``."""
    logger.info("%d pattern(s) of shape %d×%d, r = %d: analyzed one by one (too large for the batch kernel)",
                x.shape[0], x.shape[1], y.shape[1], x.shape[2])
    records = []
    for b in range(x.shape[0]):
        rec = analyze(SupportPattern(x[b], y[b], name=names[b]), closedness=False).to_row()
        records.append(rec if lines is None else {"line": lines[b], "ok": True, **rec})
    return records


def classify_lines(
    items: list[tuple[int, str]], closedness: bool = False, timeout: float | None = None, where: str = "line",
    labels: list[str] | None = None, effort: float = 1.0,
) -> list[dict[str, Any]]:
    """Classify a chunk of raw records; returns rows in input order (errors become error rows).

    The records are decoded by :func:`wellposed.io.records.decode_records` (groups of equal shape at once;
    error messages start with ``labels[i]``, default ``f"{where} {line_number}"``), then classified by
    :func:`_vector_records`. A record nested deeper than
    :data:`~wellposed.io.bounded_json.MAX_JSON_DEPTH` levels or holding an integer of thousands of digits is
    an error row.

    Examples
    --------
    >>> rows = classify_lines([(1, '{"spec": "lu:2"}'), (2, "[" * 100000)])
    >>> rows[0]["tractable"], rows[1]["error"]
    (False, 'line 2: JSON nested deeper than 64 levels; a pattern record needs 3.')
    """
    def label(pos: int) -> str:
        return labels[pos] if labels is not None else f"{where} {items[pos][0]}"

    decoded = decode_records(items, label)
    rows: list[dict[str, Any] | None] = [None] * len(items)
    for pos, message in decoded.errors.items():
        rows[pos] = {"line": items[pos][0], "ok": False, "error": message}
    for block in decoded.blocks:
        recs = _vector_records(block.x, block.y, block.names, [items[pos][0] for pos in block.positions])
        for b, (pos, rec) in enumerate(zip(block.positions, recs, strict=True)):
            if closedness:
                rec.update(_closedness_fields(SupportPattern(block.x[b], block.y[b], name=block.names[b]), effort,
                                              timeout))
            rows[pos] = rec
    return [r for r in rows if r is not None]


def _closedness_fields(p: SupportPattern, effort: float, timeout: float | None) -> dict[str, Any]:
    from ..closedness import decide_closedness

    v = decide_closedness(p, effort=effort, timeout=timeout).to_json()
    return {k: v.get(k) for k in CLOSEDNESS_FIELDS}


def columns(closedness: bool, directory: bool = False) -> list[str]:
    """The columns of a batch output (the keys of its rows, in order).

    >>> columns(False)[:4], len(columns(True, directory=True))
    (['line', 'ok', 'error', 'name'], 20)
    """
    return (["line"] + (list(DIR_FIELDS) if directory else []) + ["ok", "error"] + list(ROW_FIELDS)
            + (list(CLOSEDNESS_FIELDS) if closedness else []))


def format_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> bytes:
    """The bytes of output rows: JSON lines (compact, UTF-8) or CSV records with the given columns.

    A lone surrogate (a name written ``"\\ud800"`` in the input) is written as its JSON escape ``\\ud800``.

    >>> format_rows([{"line": 1, "ok": True, "name": "é", "failing_pair": [0, 1]}], "jsonl", [])
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


def classify_arrays(chunk: ArrayChunk, closedness: bool, effort: float, timeout: float | None
                    ) -> list[dict[str, Any]]:
    """Rows for a slice of an .npz batch (record number = 1-based index in the arrays)."""
    x, y, names, first, skip = chunk.x, chunk.y, chunk.names, chunk.first, chunk.skip
    keep = [b for b in range(x.shape[0]) if first + b not in skip]
    rows = _vector_records(x[keep], y[keep], [names[b] for b in keep], [first + b for b in keep])
    if closedness:
        for b, row in zip(keep, rows, strict=True):
            row.update(_closedness_fields(SupportPattern(x[b], y[b], name=names[b]), effort, timeout))
    return rows


def classify_files(chunk: FileChunk, closedness: bool, effort: float, timeout: float | None
                   ) -> list[dict[str, Any]]:
    """Rows for directory members: ``line``, then ``file`` and ``file_sha256``, then the usual fields."""
    rows = classify_lines([(f.line, f.text) for f in chunk.files], closedness, timeout,
                          labels=[f"file {f.name!r}" for f in chunk.files], effort=effort)
    ident = {f.line: (f.name, f.sha256) for f in chunk.files}
    out = []
    for row in rows:
        name, digest = ident[row["line"]]
        out.append({"line": row["line"], "file": name, "file_sha256": digest,
                    **{k: v for k, v in row.items() if k != "line"}})
    return out
