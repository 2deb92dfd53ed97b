"""Integer parameters of spec strings (``lu:3``, ``butterfly:16:2``, ...), shared by every family grammar."""

from __future__ import annotations

from .errors import InvalidSpecError

__all__ = ["MAX_FAMILY_INT", "spec_int", "spec_ints"]

#: Largest integer accepted as a family parameter (sizes are further limited by memory, see
#: :func:`wellposed.memory.max_bytes`).
MAX_FAMILY_INT = 10**18


def spec_int(spec: str, name: str, t: str, low: int = 1, high: int = MAX_FAMILY_INT) -> int:
    """One integer parameter ``name`` of ``spec``, written ``t``, in ``[low, high]``.

    >>> spec_int("lu:3", "n", " 3 ")
    3
    >>> spec_int("lu:x", "n", "x")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: 'lu:x': n = 'x' is not an integer; write a whole number such as 3.
    """
    t = t.strip()
    if len(t) > 40 or not t.isascii() or not (t.isdigit() or (t[:1] in "+-" and t[1:].isdigit())):
        raise InvalidSpecError(f"{spec!r}: {name} = {t!r} is not an integer; write a whole number such as 3.")
    v = int(t)
    if not low <= v <= high:
        what = f"must be ≥ {low}" if v < low else f"is too large (at most {high})"
        raise InvalidSpecError(f"{spec!r}: {name} = {v} {what}.")
    return v


def spec_ints(spec: str, text: str, count: int, names: str) -> list[int]:
    """``count`` comma-separated integers ≥ 1 named by the comma-separated ``names``."""
    parts = [t.strip() for t in text.split(",")] if text else []
    if len(parts) != count:
        raise InvalidSpecError(f"{spec!r}: expected {count} comma-separated integer(s) {names}, got {text!r}.")
    return [spec_int(spec, name.strip(), t) for name, t in zip(names.split(","), parts, strict=True)]
