"""Reading inputs and writing outputs: one table of input formats, safe and resumable outputs.

Input
    :mod:`~wellposed.io.formats` — the table of every input format (:data:`~wellposed.io.formats.FORMATS`)
    and :func:`~wellposed.io.formats.format_for`; the readers: :mod:`~wellposed.io.patterns` (case files,
    pattern ``.npz``, family specs through :func:`wellposed.families.family`), :mod:`~wellposed.io.batch_input`
    (JSONL, ``.npz`` batches, directories, cut in chunks) and :mod:`~wellposed.io.records` (decoding the
    pattern records of a chunk), :mod:`~wellposed.io.masks` (network layer masks), :mod:`~wellposed.io.arrays`
    (``.npy`` / ``.npz`` header checks, numeric matrices); :mod:`~wellposed.io.bounded_json` (JSON with
    bounded depth and integer size).
Output
    :mod:`~wellposed.io.outputs` — atomic writes and output locks; :mod:`~wellposed.io.resumable` — the
    resumable output (header with a fingerprint, lock, recovery of a torn last line, resume) written by
    ``wellposed batch`` and ``wellposed census``.

The names below are loaded on first use, so importing :mod:`wellposed.io` does not import numpy.
"""

from __future__ import annotations

from wellposed._lazy import lazy_exports

__all__ = ["FORMATS", "Format", "format_for", "read_pattern", "load_masks", "MaskSet", "read_matrix",
           "open_batch_input", "atomic_output", "atomic_write_text", "atomic_write_bytes", "lock_output",
           "loads_bounded", "open_resumable", "read_output"]

_HOMES = {
    "FORMATS": "formats", "Format": "formats", "format_for": "formats",
    "read_pattern": "patterns", "load_masks": "masks", "MaskSet": "masks", "read_matrix": "arrays",
    "open_batch_input": "batch_input",
    "atomic_output": "outputs", "atomic_write_text": "outputs", "atomic_write_bytes": "outputs",
    "lock_output": "outputs", "loads_bounded": "bounded_json",
    "open_resumable": "resumable", "read_output": "resumable",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
