"""Validation of scalar arguments: the one home of "an integer in a range", "a finite number", "a flag",
"a wall-clock cap" and "an effort".

Every checker returns the value in its plain Python type or raises an error of :mod:`wellposed.errors`
(:class:`~wellposed.errors.InvalidSpecError` unless the caller names another subclass) whose message names
the parameter, the value and what would be accepted. Booleans are never numbers here (``True`` is not 1),
and numpy scalars are accepted like Python numbers.

Examples
--------
>>> integer(3, "jobs", low=1, high=8)
3
>>> integer(True, "jobs", low=1)
Traceback (most recent call last):
...
wellposed.errors.InvalidSpecError: jobs = True must be an integer ≥ 1.
>>> number(0.5, "lr", low=0, high=1, open_low=True, open_high=True)
0.5
>>> timeout(None), effort(2)
(None, 2.0)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import InvalidSpecError, WellposedError

__all__ = ["integer", "number", "flag", "timeout", "effort", "MAX_TIMEOUT", "MAX_EFFORT"]

#: Largest wall-clock cap accepted, in seconds (about 11 days): the operating system's wait for a child
#: process takes milliseconds in a 32-bit integer (about 24.8 days), and a cap beyond this is no cap at all.
MAX_TIMEOUT = 1e6
#: Largest ``effort`` (the factor on every counted budget of the closedness engine).
MAX_EFFORT = 1000.0


def _range_text(low: float | None, high: float | None, open_low: bool = False, open_high: bool = False) -> str:
    if low is not None and high is not None:
        if not open_low and not open_high:
            return f"from {low:g} to {high:g}"
        return f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
    if low is not None:
        return f"{'>' if open_low else '≥'} {low:g}"
    if high is not None:
        return f"{'<' if open_high else '≤'} {high:g}"
    return ""


def _fail(error: type[WellposedError], parameter: str, value: Any, need: str, hint: str) -> WellposedError:
    subject = f"{parameter} = {value!r}" if parameter else repr(value)  # no name: an argparse type's message
    return error(f"{subject} must be {need}" + (f" ({hint})" if hint else "") + ".")


def integer(value: Any, parameter: str, *, low: int | None = None, high: int | None = None, hint: str = "",
            error: type[WellposedError] = InvalidSpecError) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) in ``[low, high]``; else ``error``.

    >>> integer(10**30, "n", low=1, high=512, hint="worker processes")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: n = 1000000000000000000000000000000 must be an integer from 1 to 512 \
(worker processes).
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, _np_bool()))
    if ok and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    rng = _range_text(low, high)
    raise _fail(error, parameter, value, "an integer" + (f" {rng}" if rng else ""), hint)


def number(value: Any, parameter: str, *, low: float | None = None, high: float | None = None,
           open_low: bool = False, open_high: bool = False, hint: str = "",
           error: type[WellposedError] = InvalidSpecError) -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool) in the given range; else ``error``.

    >>> number(float("nan"), "tol", low=0, high=1, open_high=True, hint="e.g. 1e-12")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: tol = nan must be a finite number in [0, 1) (e.g. 1e-12).
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, _np_bool())) and math.isfinite(value)
    if ok:
        above = low is None or (value > low if open_low else value >= low)
        below = high is None or (value < high if open_high else value <= high)
        if above and below:
            return float(value)
    rng = _range_text(low, high, open_low, open_high)
    raise _fail(error, parameter, value, "a finite number" + (f" {rng}" if rng else ""), hint)


def flag(value: Any, parameter: str, error: type[WellposedError] = InvalidSpecError) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1, not a string); else ``error``.

    >>> flag("yes", "closedness")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: closedness = 'yes' must be True or False.
    """
    if isinstance(value, (bool, _np_bool())):
        return bool(value)
    raise _fail(error, parameter, value, "True or False", "")


def timeout(value: Any, parameter: str = "timeout", error: type[WellposedError] = InvalidSpecError
            ) -> float | None:
    """A user's wall-clock safety cap: ``None`` (no cap) or seconds in ``(0, MAX_TIMEOUT]``.

    >>> timeout(0, "--timeout")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: --timeout = 0 must be a finite number in (0, 1e+06] (seconds, at most \
1e6 = about 11 days; leave it out (None) for no cap).
    """
    if value is None:
        return None
    return number(value, parameter, low=0, high=MAX_TIMEOUT, open_low=True,
                  hint="seconds, at most 1e6 = about 11 days; leave it out (None) for no cap", error=error)


def effort(value: Any, parameter: str = "effort", error: type[WellposedError] = InvalidSpecError) -> float:
    """The factor on the closedness engine's counted budgets: a number in ``(0, MAX_EFFORT]``."""
    return number(value, parameter, low=0, high=MAX_EFFORT, open_low=True,
                  hint="1 = default budgets, 2 = twice the solver steps and candidates", error=error)


def _np_bool() -> type:
    import numpy as np

    return np.bool_
