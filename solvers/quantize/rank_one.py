"""Optimal t-bit floating-point quantization of rank-one matrices x yᵀ by an exact breakpoint search."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wellposed.errors import InvalidMatrixError, InvalidSpecError

from .breakpoints import _search_unbounded, _searches_y
from .floats import FloatFormat, as_format, round_to_format
from .rank_one_error import rank_one_error

__all__ = [
    "RankOneQuantization",
    "BatchQuantization",
    "quantize_rank_one",
    "quantize_rank_one_batch",
    "naive_rank_one",
]


@dataclass(frozen=True)
class RankOneQuantization:
    """Result of :func:`quantize_rank_one`: quantized factors and the errors that justify them.

    Attributes
    ----------
    x_hat, y_hat : ndarray
        Quantized vectors, every entry a value of ``fmt``.
    error : float
        ``‖x yᵀ − x̂ ŷᵀ‖_F`` (absolute Frobenius error).
    naive_error : float
        Same error for round-to-nearest of x and y separately.
    norm : float
        ``‖x yᵀ‖_F = ‖x‖ ‖y‖``.
    certified : bool
        True when the search is exhaustive for ``fmt``: always for unbounded exponents; for a bounded format
        when the unbounded optimum fits the exponent range after a power-of-two rebalancing.
    candidates : int
        Number of breakpoints examined (``2**(t-1)`` per nonzero entry of the searched vector).
    fmt : FloatFormat
        Target format.
    """

    x_hat: NDArray[np.float64]
    y_hat: NDArray[np.float64]
    error: float
    naive_error: float
    norm: float
    certified: bool
    candidates: int
    fmt: FloatFormat

    @property
    def relative_error(self) -> float:
        """``error / ‖x yᵀ‖`` (0.0 for a zero matrix)."""
        return self.error / self.norm if self.norm > 0 else 0.0

    @property
    def naive_relative_error(self) -> float:
        """``naive_error / ‖x yᵀ‖`` (0.0 for a zero matrix)."""
        return self.naive_error / self.norm if self.norm > 0 else 0.0

    def to_dense(self) -> NDArray[np.float64]:
        """The quantized rank-one matrix ``x̂ ŷᵀ``."""
        return np.outer(self.x_hat, self.y_hat)


@dataclass(frozen=True)
class BatchQuantization:
    """Result of :func:`quantize_rank_one_batch` for P independent rank-one terms (row p of X and Y).

    Attributes
    ----------
    x_hat, y_hat : ndarray, shape (P, m) and (P, n)
    error, naive_error, norm : ndarray, shape (P,)
        Absolute Frobenius errors of each term and ``‖x_p‖ ‖y_p‖``.
    certified : ndarray of bool, shape (P,)
    fmt : FloatFormat
    """

    x_hat: NDArray[np.float64]
    y_hat: NDArray[np.float64]
    error: NDArray[np.float64]
    naive_error: NDArray[np.float64]
    norm: NDArray[np.float64]
    certified: NDArray[np.bool_]
    fmt: FloatFormat


# ----------------------------------------------------------------------------------------------------------
# validation and the round-to-nearest baseline
# ----------------------------------------------------------------------------------------------------------


def _as_real_2d(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.dtype.kind == "c":
        raise InvalidMatrixError(
            f"{name} is complex: only real vectors are supported (the breakpoint search is for real scalings)"
        )
    if arr.dtype.kind not in "biuf":
        raise InvalidMatrixError(f"{name} has dtype {arr.dtype!r}: a real numeric array is required")
    if arr.ndim != 2:
        raise InvalidMatrixError(f"{name} must be 2-D (P, length); got shape {arr.shape!r}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InvalidMatrixError(f"{name} contains non-finite entries: quantize finite values only")
    return arr


#: Largest log2 of ``‖x‖·‖y‖`` of a rank-one term: its square (the error scale) then stays finite in float64.
MAX_LOG2_TERM_NORM = 500


def _log2_norm_bound(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row, ``log2(max|v| · √len)`` ≥ ``log2 ‖v‖`` (``-inf`` for a zero row), without overflow."""
    peak = np.max(np.abs(v), axis=1) if v.shape[1] else np.zeros(v.shape[0])
    with np.errstate(divide="ignore"):
        return np.log2(peak) + 0.5 * math.log2(max(v.shape[1], 1))


def _check_term_scale(xs: NDArray[np.float64], ys: NDArray[np.float64]) -> None:
    """Refuse rank-one terms ``x yᵀ`` whose squared norm could overflow float64 in the search."""
    if xs.size == 0 or ys.size == 0:
        return
    total = _log2_norm_bound(xs) + _log2_norm_bound(ys)
    worst = int(np.argmax(total))
    bound = float(total[worst])
    if bound > MAX_LOG2_TERM_NORM:
        raise InvalidMatrixError(
            f"rank-one term {worst} has ‖x‖·‖y‖ up to about 2**{bound:.0f} (1e{bound * math.log10(2):.0f}); "
            f"its square overflows float64 during the search. The limit is 2**{MAX_LOG2_TERM_NORM} (about 1e150): "
            "rescale x and y (e.g. divide both by a power of two; rounding commutes with such scalings)."
        )


def _row_exponents(rows: NDArray[np.float64]) -> NDArray[np.int64]:
    """Per row, the exponent e with the largest |entry| in [2**(e-1), 2**e) (0 for a zero row)."""
    top = np.max(np.abs(rows), axis=1) if rows.shape[1] else np.zeros(rows.shape[0])
    return np.frexp(top)[1].astype(np.int64)


def _scaled_error(xs_s: NDArray[np.float64], ys_s: NDArray[np.float64], x_hat: NDArray[np.float64],
                  y_hat: NDArray[np.float64], ex: NDArray[np.int64], ey: NDArray[np.int64]) -> NDArray[np.float64]:
    """``‖x yᵀ − x̂ ŷᵀ‖`` per row, computed on the rows scaled by ``2**-ex``, ``2**-ey`` and scaled back."""
    err = rank_one_error(xs_s, ys_s, np.ldexp(x_hat, -ex[:, None]), np.ldexp(y_hat, -ey[:, None]))
    return np.ldexp(np.asarray(err, dtype=np.float64).reshape(-1), ex + ey)


def _as_real_vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidMatrixError(
            f"{name} must be a non-empty vector (1-D, or a single row/column); got shape {arr.shape!r}"
        )
    return _as_real_2d(arr[None, :], name)[0]


def naive_rank_one(
    x: ArrayLike, y: ArrayLike, fmt: FloatFormat | int | str
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Round x and y separately to nearest: the baseline the optimum is compared with.

    Returns
    -------
    x_round, y_round : ndarray
    error : float
        ``‖x yᵀ − x̃ ỹᵀ‖_F`` (``inf`` if a bounded format overflows).

    Examples
    --------
    >>> xr, yr, err = naive_rank_one([1.2, 0.7], [0.9, 1.1], 2)
    >>> xr, yr
    (array([1.  , 0.75]), array([1., 1.]))
    """
    fmt = as_format(fmt)
    xv, yv = _as_real_vector(x, "x"), _as_real_vector(y, "y")
    _check_term_scale(xv[None, :], yv[None, :])
    xr, yr = round_to_format(xv, fmt), round_to_format(yv, fmt)
    if not (np.all(np.isfinite(xr)) and np.all(np.isfinite(yr))):
        return xr, yr, math.inf
    return xr, yr, float(rank_one_error(xv, yv, xr, yr))


# ----------------------------------------------------------------------------------------------------------
# bounded exponent range
# ----------------------------------------------------------------------------------------------------------


def _shift_window(v: NDArray[np.float64], fmt: FloatFormat) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per row, the integer shifts s for which ``v * 2**s`` is exactly representable in ``fmt``."""
    if fmt.emin is None or fmt.max_finite is None:
        raise InvalidSpecError(f"fmt={fmt!r} has no exponent range: shift windows need a bounded format")
    nonzero = v != 0
    mant, ex = np.frexp(np.abs(v))
    ex = ex.astype(np.int64)
    integer = np.ldexp(mant, 53).astype(np.int64)  # exact: |mant| < 1 with 53 bits
    low_bit = np.where(nonzero, integer & -integer, 1)
    tz = np.round(np.log2(low_bit.astype(np.float64))).astype(np.int64)
    # lowest set bit of |v| has exponent ex - 53 + tz; it must be >= emin - t + 1
    need = (fmt.emin - fmt.t + 1) - (ex - 53 + tz)
    lo = np.where(nonzero, need, np.iinfo(np.int64).min // 4).max(axis=1)
    top = np.where(nonzero, np.abs(v), 0.0).max(axis=1)
    safe_top = np.where(top > 0, top, 1.0)
    hi = np.floor(np.log2(fmt.max_finite / safe_top)).astype(np.int64)
    hi = np.where(np.ldexp(safe_top, hi) > fmt.max_finite, hi - 1, hi)
    hi = np.where(np.ldexp(safe_top, hi + 1) <= fmt.max_finite, hi + 1, hi)
    empty = top == 0
    big = np.iinfo(np.int64).max // 4
    return np.where(empty, -big, lo), np.where(empty, big, hi)


def _bounded_fit(
    xs: NDArray[np.float64], ys: NDArray[np.float64], x_hat: NDArray[np.float64],
    y_hat: NDArray[np.float64], fmt: FloatFormat
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Move the unbounded optimum into ``fmt`` by a power-of-two rebalancing, or do a best effort."""
    lo_x, hi_x = _shift_window(x_hat, fmt)
    lo_y, hi_y = _shift_window(y_hat, fmt)
    lo = np.maximum(lo_x, -hi_y)
    hi = np.minimum(hi_x, -lo_y)
    certified = lo <= hi
    mid = np.where(certified, (lo + hi) // 2, 0)
    x_out = np.ldexp(x_hat, mid[:, None])
    y_out = np.ldexp(y_hat, -mid[:, None])
    bad = np.flatnonzero(~certified)
    if bad.size:
        # best effort: for a window of shifts, round x̂ 2**s into fmt (saturating) and take the best response
        sat = fmt.saturating()
        centre = (lo_x[bad] - hi_y[bad] + hi_x[bad] - lo_y[bad]) // 4
        window = np.arange(-40, 41)
        shifts = np.clip(centre[:, None] + window[None, :], -2000, 2000)
        xb = round_to_format(np.ldexp(x_hat[bad][:, None, :], shifts[..., None]), sat)
        nb = np.sum(xb * xb, axis=2)
        alpha = np.where(nb > 0, np.sum(xs[bad][:, None, :] * xb, axis=2) / np.where(nb > 0, nb, 1.0), 0.0)
        yb = round_to_format(alpha[..., None] * ys[bad][:, None, :], sat)
        err = rank_one_error(np.broadcast_to(xs[bad][:, None, :], xb.shape),
                             np.broadcast_to(ys[bad][:, None, :], yb.shape), xb, yb)
        pick = np.argmin(err, axis=1)
        r = np.arange(bad.size)
        x_out[bad], y_out[bad] = xb[r, pick], yb[r, pick]
    return x_out, y_out, certified


# ----------------------------------------------------------------------------------------------------------
# public entry points
# ----------------------------------------------------------------------------------------------------------


def quantize_rank_one_batch(
    X: ArrayLike, Y: ArrayLike, fmt: FloatFormat | int | str
) -> BatchQuantization:
    """Optimally quantize P rank-one matrices ``x_p y_pᵀ`` at once (rows of X and Y).

    For every row the returned ``(x̂_p, ŷ_p)`` minimizes ``‖x_p y_pᵀ − x̂ ŷᵀ‖_F`` over all pairs of vectors
    with entries in ``fmt`` (exactly for unbounded exponents; see ``certified`` for bounded formats).

    Parameters
    ----------
    X : array_like, shape (P, m)
    Y : array_like, shape (P, n)
    fmt : FloatFormat, int or str
        Target format, significand width ``t`` (1..24) or preset name.

    Returns
    -------
    BatchQuantization

    Notes
    -----
    For a fixed x̂ the best ŷ is the nearest point of the grid to ``μ y`` with ``μ = xᵀx̂/‖x̂‖²`` (the error is
    ``‖x̂‖²‖ŷ − μy‖²`` plus a constant), and symmetrically; powers of two commute with rounding, so an
    optimum is ``x̂ = round(λx)``, ``ŷ = round(μ(λ) y)`` with ``λ ∈ [1, 2)``. Each nonzero ``x_i`` has exactly
    ``2**(t-1)`` breakpoints in [1, 2) (midpoints between consecutive floats, across the binade change of
    ``λ x_i``). They are sorted exactly (a double-double residual breaks float ties), the sums ``xᵀx̂`` and
    ``‖x̂‖²`` follow by cumulative sums, and ``yᵀŷ``, ``‖ŷ‖²`` as functions of μ are looked up in the same
    structure built for y (reduced to [1, 2) by powers of two). Cost O((m+n) 2**(t-1) log) time and memory
    per row instead of O(mn 2**t). Candidates are ranked in float64 with the expanded identity and the best
    few are re-evaluated with a cancellation-free formula. Bounded formats: the unbounded optimum is moved
    into range by a power-of-two rebalancing between x̂ and ŷ; it is then optimal (the bounded grid is a
    subset of the unbounded one) and ``certified``; otherwise a best effort over shifts is returned,
    ``certified`` is False and a warning is emitted. The plain-loop oracle is
    :func:`~wellposed.solvers.quantize.quantize_rank_one_reference`.

    Examples
    --------
    >>> X = np.array([[1.0, 0.3], [0.9, -0.45]]); Y = np.array([[0.7, 1.1], [1.3, 0.2]])
    >>> res = quantize_rank_one_batch(X, Y, 3)
    >>> bool(np.all(res.error <= res.naive_error))
    True
    """
    fmt = as_format(fmt)
    xs, ys = _as_real_2d(X, "X"), _as_real_2d(Y, "Y")
    if xs.shape[0] != ys.shape[0]:
        raise InvalidMatrixError(
            f"X has {xs.shape[0]} rows and Y has {ys.shape[0]}: give one row of each per rank-one term"
        )
    _check_term_scale(xs, ys)
    if fmt.t > 24:
        raise InvalidSpecError(
            f"fmt.t={fmt.t!r} is too wide for the exhaustive search (2**(t-1) breakpoints per entry): "
            "use t <= 24"
        )
    # the search and the errors run on copies scaled by powers of two to a largest entry in [1/2, 1) per row
    # (exact, and rounding to t bits with unbounded exponents commutes with it): squares of entries near 1e-160
    # would fall into the subnormal range and lose the comparisons the search makes
    ex, ey = _row_exponents(xs), _row_exponents(ys)
    xs_s, ys_s = np.ldexp(xs, -ex[:, None]), np.ldexp(ys, -ey[:, None])
    x_hat_s, y_hat_s, _ = _search_unbounded(xs_s, ys_s, fmt.t)
    x_hat, y_hat = np.ldexp(x_hat_s, ex[:, None]), np.ldexp(y_hat_s, ey[:, None])
    certified = np.ones(xs.shape[0], dtype=bool)
    if fmt.is_bounded:
        x_hat, y_hat, certified = _bounded_fit(xs, ys, x_hat, y_hat, fmt)
        if not np.all(certified):
            warnings.warn(
                f"{int(np.sum(~certified))} of {certified.size} rank-one terms do not fit the exponent range "
                f"of {fmt.name}: best-effort quantization returned for them (certified=False)",
                RuntimeWarning,
                stacklevel=2,
            )
    error = _scaled_error(xs_s, ys_s, x_hat, y_hat, ex, ey)
    xr, yr = round_to_format(xs, fmt), round_to_format(ys, fmt)
    finite = np.all(np.isfinite(xr), axis=1) & np.all(np.isfinite(yr), axis=1)
    naive = np.full(xs.shape[0], np.inf)
    if np.any(finite):
        naive[finite] = _scaled_error(xs_s[finite], ys_s[finite], xr[finite], yr[finite], ex[finite], ey[finite])
    worse = error > naive  # only possible for uncertified bounded rows
    if np.any(worse):
        x_hat[worse], y_hat[worse], error[worse] = xr[worse], yr[worse], naive[worse]
    norm = np.linalg.norm(xs, axis=1) * np.linalg.norm(ys, axis=1)
    return BatchQuantization(x_hat, y_hat, error, naive, norm, certified, fmt)


def quantize_rank_one(x: ArrayLike, y: ArrayLike, fmt: FloatFormat | int | str) -> RankOneQuantization:
    """Best t-bit floating-point approximation ``x̂ ŷᵀ`` of the rank-one matrix ``x yᵀ``.

    Parameters
    ----------
    x : array_like, shape (m,)
    y : array_like, shape (n,)
    fmt : FloatFormat, int or str
        Target format: significand width ``t`` (unbounded exponents, 1..24), a :class:`FloatFormat` or a
        preset name such as ``"fp16"`` or ``"bf16"``.

    Returns
    -------
    RankOneQuantization
        ``x_hat``, ``y_hat``, absolute ``error`` and ``naive_error``, ``certified``.

    Notes
    -----
    Exact breakpoint search, see :func:`quantize_rank_one_batch`; O((m+n) 2**(t-1) log((m+n) 2**t)).

    Examples
    --------
    With 2-bit significands (grid 1, 1.5, 2, 3, ...) rounding x and y separately loses 23 %; the optimum
    scales x up before rounding and loses 13 %:

    >>> res = quantize_rank_one([1.0, 1.3], [1.0, 1.3], 2)
    >>> res.x_hat, res.y_hat
    (array([1.5, 2. ]), array([0.75, 0.75]))
    >>> round(res.relative_error, 4), round(res.naive_relative_error, 4)
    (0.13, 0.2332)
    """
    fmt = as_format(fmt)
    xv, yv = _as_real_vector(x, "x"), _as_real_vector(y, "y")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = quantize_rank_one_batch(xv[None, :], yv[None, :], fmt)
    for item in caught:
        warnings.warn(item.message, item.category, stacklevel=2)
    searched = yv if _searches_y(xv.size, yv.size) else xv
    n_cand = int(np.count_nonzero(searched)) * (1 << (fmt.t - 1)) if np.any(xv) and np.any(yv) else 0
    return RankOneQuantization(
        x_hat=batch.x_hat[0],
        y_hat=batch.y_hat[0],
        error=float(batch.error[0]),
        naive_error=float(batch.naive_error[0]),
        norm=float(batch.norm[0]),
        certified=bool(batch.certified[0]),
        candidates=int(n_cand),
        fmt=fmt,
    )

