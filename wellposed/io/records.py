"""Decoding the pattern records of a JSON-lines chunk into masks, fast where the text allows it.

:func:`decode_records` turns ``(line, text)`` records into blocks of masks of one shape
(:class:`MaskBlock`, classified together by the batch kernel) and error messages. Records made of '0'/'1'
strings are decoded for a whole group of equal shape at once: those written by ``json.dumps`` (compact or
default separators: ``{"x_support": ["01", ...], "y_support": [...]}``, optionally a plain ``"name"`` last)
straight from their characters (:func:`_plain_record`, :func:`_plain_masks`), others with orjson (checked
against the json module where the two may differ); anything else (nested lists, family specs, malformed
input) goes through full validation, decoded with :func:`~wellposed.io.bounded_json.loads_bounded` when its
line has more brackets than :data:`~wellposed.io.bounded_json.MAX_JSON_DEPTH`. A record nested deeper than
``MAX_JSON_DEPTH`` levels or holding an integer of thousands of digits is an error too. Every path gives
the masks the json module would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from ..errors import InvalidSpecError, WellposedError
from ..support import SupportPattern
from .bounded_json import MAX_JSON_DEPTH, loads_bounded, optional_orjson

__all__ = ["MaskBlock", "DecodedChunk", "decode_records"]

#: Records come out exactly as with the json module alone (see :func:`decode_records`).
_orjson = optional_orjson()


@dataclass(frozen=True)
class MaskBlock:
    """Decoded records of one shape: their positions in the chunk, masks (G, m, r) and (G, n, r), names."""

    positions: list[int]
    x: np.ndarray
    y: np.ndarray
    names: list[str]


@dataclass(frozen=True)
class DecodedChunk:
    """The records of a chunk: blocks of masks, one per shape, and the error message of each bad record
    (by position in the chunk)."""

    blocks: list[MaskBlock]
    errors: dict[int, str]


def decode_records(items: Sequence[tuple[int, str]], label: Callable[[int], str]) -> DecodedChunk:
    """Masks of the ``(line, text)`` records ``items``; error messages start with ``label(position)``.

    Examples
    --------
    >>> out = decode_records([(1, '{"x_support": ["10", "11"], "y_support": ["11", "01", "01"]}'), (2, "[")],
    ...                      lambda pos: f"line {pos + 1}")
    >>> [(b.positions, b.x.shape, b.y.shape) for b in out.blocks]
    [([0], (1, 2, 2), (1, 3, 2))]
    >>> out.errors
    {1: 'line 2: invalid JSON at column 2: Expecting value.'}
    """
    errors: dict[int, str] = {}
    fast: dict[tuple[int, int, int], list[tuple[int, list[str], list[str], str]]] = {}
    decoded: dict[int, Any] = {}
    # per shape: blocks of (positions, x (G, m, r), y (G, n, r), names), classified together
    blocks: dict[tuple[int, int, int], list[tuple[list[int], np.ndarray, np.ndarray, list[str]]]] = {}

    def error(pos: int, exc: Exception) -> None:
        errors[pos] = str(exc)

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
    merged = []
    for group in blocks.values():
        positions = [pos for block in group for pos in block[0]]
        x = group[0][1] if len(group) == 1 else np.concatenate([block[1] for block in group])
        y = group[0][2] if len(group) == 1 else np.concatenate([block[2] for block in group])
        merged.append(MaskBlock(positions, x, y, [name for block in group for name in block[3]]))
    return DecodedChunk(merged, errors)


_FAST_KEYS = frozenset({"x_support", "y_support", "name", "id"})
_SCALARS = (str, int, float, bool, type(None))


def _parse_slow(label: str, obj: Any) -> SupportPattern:
    """Validate one decoded record with full error messages (the general path)."""
    if isinstance(obj, dict) and "__error__" in obj:
        raise InvalidSpecError(str(obj["__error__"]))
    if isinstance(obj, dict) and "spec" in obj:
        from .formats import spec_format

        try:  # a spec, never a file: a family (lu:3) or a case of the catalogue (case:lu-2)
            spec = str(obj["spec"])
            return spec_format("pattern", spec).load()(spec)
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
    :func:`~wellposed.io.bounded_json.loads_bounded`, which names the problem (never a traceback). A record
    that may nest deeper than the limit goes to it first: under a raised recursion limit, json.loads of
    ``"[" * 100000`` overflows the C stack (a segmentation fault) before any RecursionError."""
    if raw.count("[") + raw.count("{") > MAX_JSON_DEPTH:
        return loads_bounded(raw, label)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError(f"{label}: invalid JSON at column {exc.colno}: {exc.msg}.") from None
    except (ValueError, RecursionError):
        return loads_bounded(raw, label)


def _bounded(raw: str, obj: Any, label: str) -> Any:
    """``obj`` (decoded from ``raw``) if it cannot nest deeper than the limit, else ``raw`` decoded by
    :func:`~wellposed.io.bounded_json.loads_bounded` (the slow path: records that are not plain 0/1 strings)."""
    if raw.count("[") + raw.count("{") <= MAX_JSON_DEPTH:  # cannot nest deeper than the limit
        return obj
    return loads_bounded(raw, label)
