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
(:func:`wellposed.batch.kernel.classify_batch`: classes, DTO and the relaxed condition C1+C2 with their first
failures); only a pattern whose r×r tables alone exceed the memory budget goes through
:func:`wellposed.analysis.analyze`. Rows are identical to ``analyze(p).to_row()``.

Output header (fingerprint)
---------------------------
A resumable output records what produced it::

    {"wellposed_batch": 1, "fingerprint": F, "input": {...}, "options": {...}}

``input`` is ``{"kind": "jsonl" | "npz", "size": BYTES, "sha256": HEX}`` for a file and
``{"kind": "directory"}`` for a directory (each row then names its file and that file's digest);
``options`` holds what changes rows: ``closedness`` and, with it, the closedness options (``effort``, ``timeout``);
``F`` is the SHA-256 of both. In a JSONL output this object is the first line (readers skip it, e.g.
with :func:`wellposed.io.resumable.read_output`). A CSV output stays plain CSV (column names, then rows);
its header object is the sidecar file ``OUT.meta.json`` beside it (``runs/a.csv`` → ``runs/a.csv.meta.json``),
written atomically before the first row.

Resume
------
The output is written by the resumable writer shared with ``wellposed census``
(:func:`wellposed.io.resumable.open_resumable`), locked for the whole run: a second run on the same output fails
at once with :class:`~wellposed.errors.OutputConflictError`. Restarting with the same output
resumes: finished rows are kept, a partly written last row is dropped (a CSV row ends at a line end
outside quotes), and only missing records are processed — by ``line`` for a file, by ``file`` name for a
directory (files added since are classified; a classified file that changed or disappeared is a
conflict). An output written from another input or with other options, by ``wellposed census`` or by
another program is refused with :class:`~wellposed.errors.OutputConflictError` saying what differs;
``restart=True`` (``--restart``) starts it over. A run killed at any point and resumed leaves the same
bytes as an uninterrupted run.

Modules
-------
:mod:`~wellposed.batch.runner` (:func:`run_batch`), :mod:`~wellposed.batch.rows` (rows of a chunk and their
formats), :mod:`~wellposed.batch.kernel` (the vectorized classification); inputs are read by
:mod:`wellposed.io.batch_input` and :mod:`wellposed.io.records`.
"""

from __future__ import annotations

from .rows import classify_lines
from .runner import CHUNK, FORMAT_VERSION, BatchSummary, run_batch

__all__ = ["BatchSummary", "run_batch", "classify_lines", "CHUNK", "FORMAT_VERSION"]
