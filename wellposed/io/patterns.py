"""Read one support pattern: a ``.json`` case file, an ``.npz`` file of masks, a ``case:NAME`` of the
catalogue or a family spec.

The readers are the ``pattern`` entries of :data:`wellposed.io.formats.FORMATS`; :func:`read_pattern`
chooses one (:func:`wellposed.families.load_pattern` is the public name). The grammar of family specs
is :func:`wellposed.families.family`'s.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import InvalidSpecError, InvalidSupportError
from ..support import SupportPattern
from .arrays import check_array_file
from .bounded_json import loads_bounded
from .formats import format_for

__all__ = ["read_pattern", "read_case_file", "case_from_bytes", "read_pattern_npz"]


def read_pattern(spec: str | Path) -> SupportPattern:
    """A pattern from a file path (``.json`` or ``.npz``), a case of the catalogue (``case:lu-2``) or a family spec.

    An existing file is read as a file; ``case:NAME`` names a case (:mod:`wellposed.catalogue`); any other
    ``.json`` or ``.npz`` name is a missing file; anything else is a family spec.
    Raises :class:`~wellposed.errors.InvalidSpecError` for unreadable files and unknown families, and
    :class:`~wellposed.errors.InvalidSupportError` for malformed masks.

    Examples
    --------
    >>> read_pattern("diag:2").x_support.astype(int).tolist()
    [[1, 0], [0, 1]]
    >>> read_pattern("cases/nowhere.json")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: pattern file 'cases/nowhere.json' does not exist (or is not a file); give a \
.json/.npz case file or a family spec such as lu:3.
    """
    text = str(spec)
    fmt = format_for("pattern", spec, parameter="SPEC")
    if fmt.reads_spec:
        return fmt.load()(text)
    path = Path(spec)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError:  # e.g. a name longer than the system allows
        is_dir = is_file = False
    if is_dir:
        raise InvalidSpecError(f"{text!r} is a directory, not a pattern file; `wellposed batch {text} --out OUT.jsonl` "
                               "classifies every .json case file in it.")
    if not is_file:
        raise InvalidSpecError(f"pattern file {text!r} does not exist (or is not a file); give a .json/.npz "
                               f"case file or a family spec such as lu:3.")
    return fmt.load()(spec)


def read_pattern_npz(source: str | Path) -> SupportPattern:
    """A pattern from an ``.npz`` file with arrays ``x_support`` and ``y_support`` (named after the file)."""
    import numpy as np

    path, text = Path(source), str(source)
    check_array_file(path, f"pattern file {text!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("x_support", "y_support") if k not in data.files]
            if missing:
                layers = (f" (its arrays {data.files[:4]} look like the layer masks of a network: run "
                          f"`wellposed network {text}`)" if len(data.files) >= 2 and not set(data.files) &
                          {"x_support", "y_support"} else "")
                raise InvalidSpecError(f"{text!r}: .npz file lacks array(s) {missing}; save with "
                                       f"np.savez(path, x_support=I, y_support=J){layers}.")
            x, y = data["x_support"], data["y_support"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, InvalidSpecError):
            raise
        raise InvalidSpecError(f"{text!r}: cannot read .npz file: {exc}") from None
    try:
        return SupportPattern(x, y, name=path.stem)
    except InvalidSupportError as exc:
        raise InvalidSupportError(f"{text!r}: {exc}") from None


def read_case_file(source: str | Path) -> SupportPattern:
    """A pattern from a JSON case file (``{"x_support": [...], "y_support": [...], "name": ...}``); a pattern
    without a name is named after the file."""
    path, text = Path(source), str(source)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidSpecError(f"{text!r}: cannot read file: {exc.strerror or exc}.") from None
    return case_from_bytes(raw, text, path.stem)


def case_from_bytes(raw: bytes, where: str, default_name: str) -> SupportPattern:
    """A pattern from the bytes of a JSON case file; ``where`` names it in error messages and a pattern
    without a name is called ``default_name``.

    >>> case_from_bytes(b'{"x_support": ["1"], "y_support": ["1"]}', "a.json", "a").name
    'a'
    """
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSpecError(f"{where!r}: not a UTF-8 text file (byte {exc.start}); a case file is JSON such as "
                               '{"x_support": ["10", "11"], "y_support": ["10", "11"]}.') from None
    data = loads_bounded(decoded, repr(where))
    pattern = SupportPattern.from_json(data, where=where)
    if not pattern.name:
        pattern = pattern.with_masks(pattern.x_support, pattern.y_support, name=default_name)
    return pattern
