"""Plain-loop reference for the rank-one quantization (test oracle): exact rationals, one λ per breakpoint interval."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .rank_one import _as_real_vector

__all__ = ["quantize_rank_one_reference"]


def _round_fraction(value: Fraction, t: int) -> Fraction:
    if value == 0:
        return Fraction(0)
    magnitude = abs(value)
    binade = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** binade > magnitude:
        binade -= 1
    if Fraction(2) ** (binade + 1) <= magnitude:
        binade += 1
    step = Fraction(2) ** (binade - t + 1)
    ratio = magnitude / step
    low = ratio.numerator // ratio.denominator
    rest = ratio - low
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and low % 2 == 1):
        low += 1
    return (low * step) if value > 0 else -(low * step)


def quantize_rank_one_reference(x: ArrayLike, y: ArrayLike, t: int) -> tuple[NDArray[np.float64], ...]:
    """Plain-loop exact search in rational arithmetic (test oracle for :func:`.rank_one.quantize_rank_one`).

    Lists every breakpoint of ``round(λ x_i)`` in [1, 2) by walking the float grid, tries the midpoint of
    every interval between consecutive breakpoints, takes ``ŷ = round(μ y)`` and evaluates the squared
    error exactly. Returns ``(x_hat, y_hat, error)``.

    Notes
    -----
    O(m 2**t · (m + n)) rational operations: for tiny cases only.

    Examples
    --------
    >>> xh, yh, err = quantize_rank_one_reference([1.0, 1.3], [1.0, 1.3], 2)
    >>> round(float(err) / (1.0 + 1.3**2), 4)  # relative error, as quantize_rank_one finds
    0.13
    """
    xv, yv = _as_real_vector(x, "x"), _as_real_vector(y, "y")
    xs = [Fraction(float(v)) for v in xv]
    ys = [Fraction(float(v)) for v in yv]
    total = sum(v * v for v in xs) * sum(v * v for v in ys)
    breaks = {Fraction(1), Fraction(2)}
    for xi in xs:
        if xi == 0:
            continue
        a = abs(xi)
        # midpoints between consecutive t-bit floats, scanned from the binade of a up to 2a
        binade = a.numerator.bit_length() - a.denominator.bit_length() - 1
        while True:
            step = Fraction(2) ** (binade - t + 1)
            start = Fraction(2) ** binade
            for j in range(1 << (t - 1)):
                mid = start + (j + Fraction(1, 2)) * step
                lam = mid / a
                if 1 <= lam < 2:
                    breaks.add(lam)
            if Fraction(2) ** (binade + 1) >= 2 * a:
                break
            binade += 1
    points = sorted(breaks)
    best: tuple[Fraction, list[Fraction], list[Fraction]] | None = None
    for left, right in zip(points[:-1], points[1:], strict=True):
        lam = (left + right) / 2
        xh = [_round_fraction(lam * v, t) for v in xs]
        nxh = sum(v * v for v in xh)
        if nxh == 0:
            continue
        xdot = sum(a * b for a, b in zip(xs, xh, strict=True))
        mu = xdot / nxh
        yh = [_round_fraction(mu * v, t) for v in ys]
        err = total - 2 * xdot * sum(a * b for a, b in zip(ys, yh, strict=True))
        err += nxh * sum(v * v for v in yh)
        if best is None or err < best[0]:
            best = (err, xh, yh)
    if best is None:
        return np.zeros(len(xs)), np.zeros(len(ys)), np.array(math.sqrt(float(total)))
    err, xh, yh = best
    return (np.array([float(v) for v in xh]), np.array([float(v) for v in yh]),
            np.array(math.sqrt(float(err))))
