"""Floating-point formats with a t-bit significand and round-to-nearest, ties-to-even rounding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wellposed.errors import InvalidMatrixError, InvalidSpecError

__all__ = [
    "FloatFormat",
    "PRESETS",
    "as_format",
    "round_to_format",
    "round_to_format_reference",
]

_OVERFLOW_MODES = ("inf", "saturate")


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: t-bit significand, optional exponent range.

    A nonzero value is ``±M · 2**(e - t + 1)`` with an integer ``M < 2**t``. Without an exponent range
    (``emin = emax = None``) every exponent is allowed: this is the model of the rank-one quantization
    theory, in which multiplying by a power of two commutes with rounding. With ``emin`` the grid below
    ``2**emin`` is uniform with step ``2**(emin - t + 1)`` (gradual underflow, subnormals); with ``emax`` the
    largest finite value is ``max_finite`` and larger values round to ``±inf`` (``overflow="inf"``, IEEE)
    or to ``±max_finite`` (``overflow="saturate"``).

    Parameters
    ----------
    t : int
        Significand bits including the implicit leading bit (11 for IEEE half, 24 for single), 1..53.
    emin, emax : int or None
        Exponent of the smallest normal and of the largest binade; both or neither.
    max_finite : float or None
        Largest finite value; defaults to ``(2 - 2**(1 - t)) * 2**emax``. Some 8-bit formats (e4m3) reserve
        the top code for NaN and have a smaller maximum.
    overflow : {"inf", "saturate"}
        What rounding does beyond ``max_finite``.
    name : str
        Label used in reports.

    Examples
    --------
    >>> fp16 = FloatFormat.preset("fp16")
    >>> fp16.t, fp16.emin, fp16.emax, fp16.max_finite
    (11, -14, 15, 65504.0)
    >>> FloatFormat(t=4).is_bounded
    False
    """

    t: int
    emin: int | None = None
    emax: int | None = None
    max_finite: float | None = None
    overflow: Literal["inf", "saturate"] = "inf"
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.t, bool) or not isinstance(self.t, (int, np.integer)) or not 1 <= self.t <= 53:
            raise InvalidSpecError(
                f"t={self.t!r} is not a valid significand width: use an integer between 1 and 53 "
                "(bits including the implicit leading bit, e.g. 11 for fp16)"
            )
        if (self.emin is None) != (self.emax is None):
            raise InvalidSpecError(
                f"emin={self.emin!r} and emax={self.emax!r}: give both exponent bounds or neither"
            )
        if self.emin is not None and self.emax is not None:
            for label, value in (("emin", self.emin), ("emax", self.emax)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise InvalidSpecError(f"{label}={value!r} must be an integer exponent")
            if not -1022 <= self.emin <= self.emax <= 1023:
                raise InvalidSpecError(
                    f"exponent range emin={self.emin!r}, emax={self.emax!r} must satisfy "
                    "-1022 <= emin <= emax <= 1023"
                )
            default_max = math.ldexp(2.0 - math.ldexp(1.0, 1 - self.t), self.emax)
            if self.max_finite is None:
                object.__setattr__(self, "max_finite", default_max)
            else:
                mf = float(self.max_finite)
                if not (math.isfinite(mf) and math.ldexp(1.0, self.emax) <= mf <= default_max):
                    raise InvalidSpecError(
                        f"max_finite={self.max_finite!r} must lie in [2**emax, (2 - 2**(1-t)) * 2**emax] = "
                        f"[{math.ldexp(1.0, self.emax)!r}, {default_max!r}]"
                    )
                object.__setattr__(self, "max_finite", mf)
        elif self.max_finite is not None:
            raise InvalidSpecError(f"max_finite={self.max_finite!r} needs an exponent range (emin, emax)")
        if self.overflow not in _OVERFLOW_MODES:
            raise InvalidSpecError(f"overflow={self.overflow!r} is not one of {_OVERFLOW_MODES!r}")
        object.__setattr__(self, "t", int(self.t))
        if not self.name:
            label = f"t={self.t}" if self.emin is None else f"t={self.t},e=[{self.emin},{self.emax}]"
            object.__setattr__(self, "name", label)

    @property
    def is_bounded(self) -> bool:
        """True when the exponent range is limited (underflow and overflow can happen)."""
        return self.emin is not None

    @property
    def unit_roundoff(self) -> float:
        """``u = 2**-t``: relative rounding error bound for normal numbers."""
        return math.ldexp(1.0, -self.t)

    @property
    def quantum(self) -> float:
        """Smallest positive value (the subnormal step ``2**(emin - t + 1)``); 0.0 when unbounded."""
        if self.emin is None:
            return 0.0
        return math.ldexp(1.0, self.emin - self.t + 1)

    def unbounded(self) -> FloatFormat:
        """The same significand width without exponent limits."""
        return FloatFormat(t=self.t)

    def saturating(self) -> FloatFormat:
        """The same format with overflow to ``±max_finite`` instead of ``±inf``."""
        if self.emin is None or self.overflow == "saturate":
            return self
        return FloatFormat(self.t, self.emin, self.emax, self.max_finite, "saturate", self.name)

    @classmethod
    def preset(cls, name: str) -> FloatFormat:
        """Return a named format: one of :data:`PRESETS` (``fp16``, ``bf16``, ``fp32``, ``fp8_e4m3``, ...)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise InvalidSpecError(
                f"format name {name!r} is unknown: use one of {sorted(PRESETS)!r} or FloatFormat(t=...)"
            ) from None


PRESETS: dict[str, FloatFormat] = {
    "fp64": FloatFormat(53, -1022, 1023, name="fp64"),
    "fp32": FloatFormat(24, -126, 127, name="fp32"),
    "fp16": FloatFormat(11, -14, 15, name="fp16"),
    "bf16": FloatFormat(8, -126, 127, name="bf16"),
    "fp8_e5m2": FloatFormat(3, -14, 15, name="fp8_e5m2"),
    "fp8_e4m3": FloatFormat(4, -6, 8, max_finite=448.0, overflow="saturate", name="fp8_e4m3"),
}


def as_format(fmt: FloatFormat | int | str, *, name: str = "fmt") -> FloatFormat:
    """Coerce ``fmt`` (a :class:`FloatFormat`, a significand width ``t`` or a preset name) to a format.

    Examples
    --------
    >>> as_format(5)
    FloatFormat(t=5, emin=None, emax=None, max_finite=None, overflow='inf', name='t=5')
    >>> as_format("bf16").t
    8
    """
    if isinstance(fmt, FloatFormat):
        return fmt
    if isinstance(fmt, str):
        return FloatFormat.preset(fmt)
    if isinstance(fmt, (int, np.integer)) and not isinstance(fmt, bool):
        return FloatFormat(t=int(fmt))
    raise InvalidSpecError(
        f"{name}={fmt!r} is not a float format: pass a FloatFormat, an integer t (significand bits) "
        f"or a preset name from {sorted(PRESETS)!r}"
    )


def _as_finite_array(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise InvalidMatrixError(f"{name} has dtype {arr.dtype!r}: a real numeric array is required")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InvalidMatrixError(f"{name} contains non-finite entries: only finite values can be rounded")
    return arr


def round_to_format(values: ArrayLike, fmt: FloatFormat | int | str) -> NDArray[np.float64]:
    """Round every entry to the nearest value of ``fmt``, ties to even significand.

    Parameters
    ----------
    values : array_like
        Finite real numbers (any shape).
    fmt : FloatFormat, int or str
        Target format, significand width ``t`` (no exponent limits) or preset name.

    Returns
    -------
    ndarray of float64
        Rounded values, same shape; ``±inf`` where a bounded format overflows with ``overflow="inf"``.

    Notes
    -----
    O(size) vectorized: the binade of each entry comes from ``frexp`` (exact), the entry is scaled by a
    power of two so that the grid becomes the integers, ``rint`` rounds half to even, and the result is
    scaled back; all steps are exact in float64 for ``t <= 53``. The plain-loop oracle is
    :func:`round_to_format_reference`.

    Examples
    --------
    >>> round_to_format([1.0, 1.125, 1.375, -2.6], 3)
    array([ 1. ,  1. ,  1.5, -2.5])
    >>> round_to_format([70000.0, 1e-8], "fp16")
    array([inf,  0.])
    """
    fmt = as_format(fmt)
    z = _as_finite_array(values, "values")
    _, exp = np.frexp(z)
    binade = exp.astype(np.int64) - 1
    if fmt.emin is not None:
        binade = np.maximum(binade, fmt.emin)
    shift = binade - (fmt.t - 1)
    out = np.ldexp(np.rint(np.ldexp(z, -shift)), shift)
    if fmt.max_finite is not None:
        over = np.abs(out) > fmt.max_finite
        if np.any(over):
            big = np.inf if fmt.overflow == "inf" else fmt.max_finite
            out = np.where(over, np.copysign(big, z), out)
    return out


def round_to_format_reference(values: ArrayLike, fmt: FloatFormat | int | str) -> NDArray[np.float64]:
    """Plain-loop rounding with exact rationals: the test oracle for :func:`round_to_format`.

    Examples
    --------
    >>> round_to_format_reference([1.25, 1.75], 2)
    array([1., 2.])
    """
    from fractions import Fraction

    fmt = as_format(fmt)
    z = _as_finite_array(values, "values")
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        exact = Fraction(float(value))
        if exact == 0:
            out[index] = float(value)
            continue
        magnitude = abs(exact)
        binade = 0
        while magnitude >= 2:
            magnitude /= 2
            binade += 1
        while magnitude < 1:
            magnitude *= 2
            binade -= 1
        if fmt.emin is not None:
            binade = max(binade, fmt.emin)
        step = Fraction(2) ** (binade - fmt.t + 1)
        ratio = abs(exact) / step
        low = ratio.numerator // ratio.denominator
        remainder = ratio - low
        if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and low % 2 == 1):
            low += 1
        rounded = float(low * step)
        if fmt.max_finite is not None and rounded > fmt.max_finite:
            rounded = math.inf if fmt.overflow == "inf" else fmt.max_finite
        out[index] = math.copysign(rounded, float(value))
    return out
