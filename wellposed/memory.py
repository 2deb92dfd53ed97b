"""The memory budget of one computation, and the checks made before allocating.

Every large allocation (dense masks, Gram or product counts, batch slices) is checked against
:func:`max_bytes` first and refused with a :class:`~wellposed.errors.ResourceLimitError` that says what
would be needed, instead of being attempted.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import InvalidSpecError, ResourceLimitError

__all__ = ["MAX_BYTES_ENV", "DEFAULT_MAX_BYTES", "max_bytes", "format_bytes", "check_memory", "count_product"]

#: Environment variable with the memory budget of one computation, in bytes (suffixes K, M, G, T allowed).
MAX_BYTES_ENV = "WELLPOSED_MAX_BYTES"
#: Memory budget when :data:`MAX_BYTES_ENV` is not set: 8 GiB.
DEFAULT_MAX_BYTES = 8 * 2**30

#: Above this (64 TiB) the error message does not suggest raising the limit.
_PLAUSIBLE_BYTES = 64 * 2**40
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def max_bytes() -> int:
    """The memory budget in bytes: ``$WELLPOSED_MAX_BYTES`` (e.g. ``64G``) or :data:`DEFAULT_MAX_BYTES`.

    Sizes are checked against it *before* a dense structure is allocated, so that an input too large
    for the machine is a clear :class:`~wellposed.errors.ResourceLimitError` instead of an
    out-of-memory kill.

    Examples
    --------
    >>> import os
    >>> old = os.environ.pop("WELLPOSED_MAX_BYTES", None)
    >>> max_bytes() == 8 * 2**30
    True
    >>> os.environ["WELLPOSED_MAX_BYTES"] = "512M"
    >>> max_bytes()
    536870912
    >>> _ = os.environ.pop("WELLPOSED_MAX_BYTES") if old is None else os.environ.update(WELLPOSED_MAX_BYTES=old)
    """
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    digits = raw.rstrip("bBiIkKmMgGtT ")
    unit = raw[len(digits):].strip().upper()
    try:
        value = float(digits)
    except ValueError:
        value = float("nan")
    if unit not in _UNITS or not math.isfinite(value) or value <= 0 or len(digits) > 30:
        raise InvalidSpecError(
            f"{MAX_BYTES_ENV} = {raw!r} is not a memory size; give a positive number of bytes, optionally with "
            "a unit K, M, G or T (powers of 1024), e.g. WELLPOSED_MAX_BYTES=16G."
        )
    return int(value * _UNITS[unit])


def format_bytes(nbytes: float) -> str:
    """A byte count in binary units, e.g. ``'298 GiB'``.

    >>> format_bytes(320_000_000_000), format_bytes(8 * 2**30), format_bytes(1536)
    ('298 GiB', '8 GiB', '1.5 KiB')
    """
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            break
        value /= 1024
    if value >= 10_000:
        return f"{value:.3g} {unit}"
    return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def check_memory(nbytes: int, what: str, subject: str, fix: str = "") -> None:
    """Refuse, before allocating, a computation that would need more than :func:`max_bytes`.

    Parameters
    ----------
    nbytes : int
        Estimated peak memory of the structure about to be built.
    what : str
        What it is for, e.g. ``"the r×r Gram matrices"``.
    subject : str
        The input it comes from, with its value, e.g. ``"pattern 'wide' with r = 200000 components"``.
    fix : str
        How to make the input fit (the message always adds how to raise the limit).

    Raises
    ------
    ResourceLimitError
        Naming the subject, the memory needed, the limit and the fix.

    Examples
    --------
    >>> check_memory(10**6, "two masks", "lu:1000")
    >>> check_memory(320_000_000_000, "the r×r Gram matrices", "r = 200000")
    Traceback (most recent call last):
    ...
    wellposed.errors.ResourceLimitError: r = 200000: would need 298 GiB for the r×r Gram matrices; the limit \
is 8 GiB (WELLPOSED_MAX_BYTES). Use a smaller input, or set WELLPOSED_MAX_BYTES (e.g. \
WELLPOSED_MAX_BYTES=299G) if this machine has that much memory.
    """
    limit = max_bytes()
    if nbytes <= limit:
        return
    head = (f"{subject}: would need {format_bytes(nbytes)} for {what}; the limit is {format_bytes(limit)} "
            f"({MAX_BYTES_ENV}).")
    advice = fix.rstrip(".") if fix else "Use a smaller input"
    if nbytes > _PLAUSIBLE_BYTES:  # no point in suggesting a larger limit
        raise ResourceLimitError(f"{head} {advice}.")
    suggest = f"{math.ceil(nbytes / 2**30)}G" if nbytes >= 2**30 else f"{math.ceil(nbytes / 2**20)}M"
    raise ResourceLimitError(f"{head} {advice}, or set {MAX_BYTES_ENV} (e.g. {MAX_BYTES_ENV}={suggest}) if this "
                             "machine has that much memory.")


def count_product(a: np.ndarray, b: np.ndarray, what: str = "") -> np.ndarray:
    """Exact integer product of 0/1 (or small count) matrices through BLAS.

    numpy's integer matmul does not use BLAS; float64 products of 0/1 matrices are exact while the
    counts stay below 2**53, so this is both fast and exact for any mask that fits in memory. The
    memory (float64 copies of the inputs, the product, its rounding and the int64 result) is checked
    against :func:`max_bytes` first; ``what`` names the product in that error message.

    >>> count_product(np.array([[1, 1]], bool), np.array([[1], [1]], bool)).tolist()
    [[2]]
    """
    a_shape, b_shape = np.shape(a), np.shape(b)
    rows, cols = (a_shape[-2] if len(a_shape) >= 2 else 1), (b_shape[-1] if len(b_shape) >= 2 else 1)
    batch = math.prod(a_shape[:-2]) if len(a_shape) > 2 else 1
    need = 8 * (math.prod(a_shape) + math.prod(b_shape)) + 24 * batch * rows * cols
    check_memory(need, what or f"a {rows}×{cols} product of 0/1 masks",
                 f"masks of shapes {a_shape} and {b_shape}")
    return np.rint(np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)).astype(np.int64)
