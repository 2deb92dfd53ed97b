"""Bounded JSON decoding: a hostile or corrupt input is a clear error, never a ``RecursionError``.

:func:`loads_bounded` is ``json.loads`` with bounded nesting depth and integer size, so a malformed record is
an :class:`~wellposed.errors.InvalidSpecError` naming where it was read. :func:`optional_orjson` gives the
fast codec used by the batch readers and writers.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from ..errors import InvalidSpecError

__all__ = ["MAX_JSON_DEPTH", "MAX_INT_DIGITS", "loads_bounded", "optional_orjson"]

#: Deepest nesting accepted in a JSON input (pattern records need 3 levels; census records about 8).
MAX_JSON_DEPTH = 64
#: Longest integer literal accepted in a JSON input (decimal digits).
MAX_INT_DIGITS = 100


def optional_orjson() -> Any:
    """orjson, the fast JSON codec (a dependency), or None: the json module then does everything."""
    try:
        return importlib.import_module("orjson")
    except ImportError:  # pragma: no cover - installed with wellposed
        return None


def _depth_ok(obj: Any, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits (the limit is {MAX_INT_DIGITS})")
    return int(text)


def loads_bounded(text: str | bytes, where: str) -> Any:
    """``json.loads`` with nesting depth ≤ :data:`MAX_JSON_DEPTH` and integers of ≤ :data:`MAX_INT_DIGITS`
    digits; anything else is an :class:`InvalidSpecError` naming ``where``.

    Examples
    --------
    >>> loads_bounded('{"a": [1, 2]}', "line 1")
    {'a': [1, 2]}
    >>> loads_bounded("[" * 100000, "line 7")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: line 7: JSON nested deeper than 64 levels; a pattern record needs 3.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    # a cheap pre-check: nesting cannot exceed the number of opening brackets
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        opened = 0
        depth = 0
        in_string = escaped = False
        for ch in text:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                opened += 1
                depth = max(depth, opened)
                if depth > MAX_JSON_DEPTH:
                    break
            elif ch in "]}":
                opened -= 1
        if depth > MAX_JSON_DEPTH:
            raise InvalidSpecError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; a pattern record "
                                   "needs 3.")
    try:
        obj = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}.") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidSpecError(f"{where}: unacceptable JSON: {exc}.") from None
    if not _depth_ok(obj, MAX_JSON_DEPTH):  # pragma: no cover - the pre-check already refuses these
        raise InvalidSpecError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    return obj
