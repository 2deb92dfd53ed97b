"""Every input format of wellposed, in one table: what a file holds, how it is recognised, which function reads it.

:data:`FORMATS` lists one :class:`Format` per reader. A directory is matched as :data:`DIRECTORY`; any other
source by its suffix (lower case) first, otherwise by what it is: :data:`OTHER_FILE` (an existing file with
another suffix) or :data:`NOT_A_FILE` (a family spec such as ``lu:3``); a source that is not a file and starts
with a spec prefix (``case:``) goes to that prefix's format. :func:`format_for` does the matching and names the
formats of a kind when none fits. Readers are imported on first use, so looking a format up is cheap.

The table, as :func:`formats_markdown` renders it in ``docs/cli.md``, and the readers:

>>> for f in FORMATS:
...     print(f"{f.kind:8} {' '.join(f.matches):24} {f.reader}")
pattern  .json <other file>       io.patterns:read_case_file
pattern  .npz                     io.patterns:read_pattern_npz
pattern  case:                    catalogue:read_case_spec
pattern  <not a file>             families:family
batch    <directory>              io.batch_input:directory_input
batch    .npz                     io.batch_input:npz_input
batch    .jsonl <other file>      io.batch_input:jsonl_input
masks    .npz                     io.masks:read_npz_masks
masks    .npy                     io.masks:read_npy_mask
masks    .json                    io.masks:read_json_masks
masks    .pt .pth .ckpt .bin      io.masks:read_torch_masks
matrix   .npy                     io.arrays:read_matrix_npy

Each kind has one entry point that checks what the kind needs (existence, directories), asks
:func:`format_for` and calls the reader: :func:`wellposed.io.patterns.read_pattern` (through
:func:`wellposed.families.load_pattern`), :func:`wellposed.io.batch_input.open_batch_input`,
:func:`wellposed.io.masks.load_masks` and :func:`wellposed.io.arrays.read_matrix`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidSpecError, WellposedError

__all__ = ["Format", "FORMATS", "KINDS", "ARGUMENTS", "DIRECTORY", "OTHER_FILE", "NOT_A_FILE", "TORCH_SUFFIXES",
           "format_for", "formats_of", "formats_markdown", "spec_format"]

#: Matches a source that is a directory.
DIRECTORY = "<directory>"
#: Matches an existing file whose suffix no format of the kind names.
OTHER_FILE = "<other file>"
#: Matches a source that is not an existing file or directory (a family spec).
NOT_A_FILE = "<not a file>"
#: Suffixes of torch files (``torch.save``).
TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


@dataclass(frozen=True)
class Format:
    """One input format: the kind of data it holds, the sources it matches and its reader.

    Attributes
    ----------
    kind : str
        What is read: ``"pattern"``, ``"batch"``, ``"masks"`` or ``"matrix"``.
    matches : tuple of str
        Lower-case suffixes (``".npz"``), spec prefixes ending in ``:`` (``"case:"``), or :data:`DIRECTORY`,
        :data:`OTHER_FILE`, :data:`NOT_A_FILE`.
    reader : str
        ``"module:function"`` under ``wellposed`` (imported by :meth:`load`).
    what : str
        What the file holds and how to write it (error messages name it).
    """

    kind: str
    matches: tuple[str, ...]
    reader: str
    what: str

    def load(self) -> Callable[..., Any]:
        """The reader function (its module is imported now)."""
        module, _, name = self.reader.partition(":")
        return getattr(importlib.import_module(f"wellposed.{module}"), name)

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The suffixes it matches (without the markers :data:`DIRECTORY`, ...)."""
        return tuple(s for s in self.matches if s.startswith("."))

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The spec prefixes it matches (``"case:"``): sources that are not files and start with one."""
        return tuple(s for s in self.matches if s.endswith(":"))

    @property
    def reads_spec(self) -> bool:
        """Whether its reader takes a spec string (a prefix or :data:`NOT_A_FILE` format), not a file."""
        return NOT_A_FILE in self.matches or bool(self.prefixes)


#: The table: one entry per reader, in matching order within a kind.
FORMATS: tuple[Format, ...] = (
    Format("pattern", (".json", OTHER_FILE), "io.patterns:read_case_file",
           'a JSON case file such as {"x_support": ["10", "11"], "y_support": ["10", "11"]}'),
    Format("pattern", (".npz",), "io.patterns:read_pattern_npz",
           "arrays x_support and y_support: numpy.savez(path, x_support=I, y_support=J)"),
    Format("pattern", ("case:",), "catalogue:read_case_spec",
           "a case of the catalogue such as case:lu-2 (see `wellposed cases`)"),
    Format("pattern", (NOT_A_FILE,), "families:family", "a family spec such as lu:3 (see `wellposed families`)"),
    Format("batch", (DIRECTORY,), "io.batch_input:directory_input", "a directory of .json case files"),
    Format("batch", (".npz",), "io.batch_input:npz_input",
           "arrays x_support (B, m, r), y_support (B, n, r) and optionally names (B,)"),
    Format("batch", (".jsonl", OTHER_FILE), "io.batch_input:jsonl_input",
           'JSON lines, one pattern object per line ({"x_support": [...], "y_support": [...]} or {"spec": "lu:3"})'),
    Format("masks", (".npz",), "io.masks:read_npz_masks",
           "numpy.savez, one mask per array, or scipy.sparse.save_npz, one layer"),
    Format("masks", (".npy",), "io.masks:read_npy_mask", "one layer"),
    Format("masks", (".json",), "io.masks:read_json_masks", '{"masks": [["01", ...], ...]}'),
    Format("masks", TORCH_SUFFIXES, "io.masks:read_torch_masks", "a torch state_dict"),
    Format("matrix", (".npy",), "io.arrays:read_matrix_npy", "a numeric matrix; save A with numpy.save('A.npy', A)"),
)

#: The kinds of data read, in table order.
KINDS: tuple[str, ...] = tuple(dict.fromkeys(f.kind for f in FORMATS))
#: The command-line arguments that read each kind.
ARGUMENTS = {"pattern": "`SPEC` of `analyze`, `closedness`, `solve`", "batch": "`INPUT` of `batch`",
             "masks": "`MASKS` of `network`", "matrix": "`MATRIX` of `solve`, `factor`"}


def formats_of(kind: str) -> tuple[Format, ...]:
    """The formats of ``kind``, in matching order.

    >>> [f.suffixes for f in formats_of("masks")]
    [('.npz',), ('.npy',), ('.json',), ('.pt', '.pth', '.ckpt', '.bin')]
    """
    found = tuple(f for f in FORMATS if f.kind == kind)
    if not found:
        raise InvalidSpecError(f"kind = {kind!r} is not a kind of input; use one of {', '.join(KINDS)}.")
    return found


def _what_it_is(path: Path) -> str:
    try:
        if path.is_dir():
            return DIRECTORY
        return OTHER_FILE if path.exists() else NOT_A_FILE
    except OSError:  # e.g. a family spec longer than a file name may be
        return NOT_A_FILE


def _prefix_format(candidates: tuple[Format, ...], text: str) -> Format | None:
    key = text.strip().lower()
    return next((f for f in candidates if any(key.startswith(p) for p in f.prefixes)), None)


def spec_format(kind: str, spec: str) -> Format:
    """The format of ``kind`` that reads the string ``spec`` as a spec, never as a file: the format of its
    prefix (``case:``), else the :data:`NOT_A_FILE` format. Records of a JSONL batch (``{"spec": ...}``) are
    read this way.

    >>> spec_format("pattern", "case:lu-2").reader, spec_format("pattern", "lu:2").reader
    ('catalogue:read_case_spec', 'families:family')
    """
    candidates = formats_of(kind)
    found = _prefix_format(candidates, spec)
    if found is not None:
        return found
    for f in candidates:
        if NOT_A_FILE in f.matches:
            return f
    raise InvalidSpecError(f"kind = {kind!r} reads no spec strings; give a file.")


def format_for(kind: str, source: str | Path, *, parameter: str,
               error: type[WellposedError] = InvalidSpecError) -> Format:
    """The format of ``kind`` that reads ``source``: a directory format for a directory, else by suffix, else by
    what ``source`` is (another file, or not a file).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    source : str or path
        A file, a directory or (kind ``pattern``) a family spec.
    parameter : str
        How the error message names ``source`` (``"--out"``, ``"MATRIX"``, ``"paths"``).
    error : type
        The exception raised when no format fits (:class:`~wellposed.errors.InvalidSpecError`; reading a
        matrix raises :class:`~wellposed.errors.InvalidMatrixError`).

    Examples
    --------
    >>> format_for("pattern", "lu:3", parameter="SPEC").reader
    'families:family'
    >>> format_for("masks", "net.PTH", parameter="MASKS").reader
    'io.masks:read_torch_masks'
    >>> format_for("masks", "net.txt", parameter="MASKS")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: MASKS = 'net.txt' has suffix '.txt'; it must be a .npz file (numpy.savez, \
one mask per array, or scipy.sparse.save_npz, one layer), a .npy file (one layer), a .json file \
({"masks": [["01", ...], ...]}) or a .pt/.pth/.ckpt/.bin file (a torch state_dict).
    """
    candidates = formats_of(kind)
    path = Path(source)
    state = _what_it_is(path)
    if state == NOT_A_FILE:  # a spec prefix wins over a suffix: case:x.json names a case
        found = _prefix_format(candidates, str(source))
        if found is not None:
            return found
    if state == DIRECTORY:  # a directory is one, whatever its name
        for f in candidates:
            if DIRECTORY in f.matches:
                return f
    suffix = path.suffix.lower()
    for f in candidates:
        if suffix in f.suffixes:
            return f
    for f in candidates:
        if state in f.matches:
            return f
    allowed = [f"a {'/'.join(f.suffixes)} file ({f.what})" for f in candidates if f.suffixes]
    listed = allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " or " + allowed[-1]
    has = f"has suffix {suffix!r}" if suffix else ("is a directory" if state == DIRECTORY else "has no suffix")
    raise error(f"{parameter} = {str(source)!r} {has}; it must be {listed}.")


def formats_markdown() -> str:
    """The table of input formats as Markdown (the "Input files" section of ``docs/cli.md``).

    >>> print(formats_markdown().splitlines()[2])
    | `SPEC` of `analyze`, `closedness`, `solve` | `.json`, any other file | a JSON case file such as \
{"x_support": ["10", "11"], "y_support": ["10", "11"]} |
    """
    names = {DIRECTORY: "a directory", OTHER_FILE: "any other file", NOT_A_FILE: "not a file"}
    lines = ["| argument | source | holds |", "|---|---|---|"]
    for f in FORMATS:
        source = ", ".join(names.get(m, f"`{m}NAME`" if m.endswith(":") else f"`{m}`") for m in f.matches)
        lines.append(f"| {ARGUMENTS[f.kind]} | {source} | {f.what} |")
    return "\n".join(lines) + "\n"
