"""Optimal t-bit floating-point quantization of rank-one matrices x yᵀ by an exact breakpoint search."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wellposed.errors import InvalidMatrixError, InvalidSpecError

from .floats import FloatFormat, as_format, round_to_format

__all__ = [
    "RankOneQuantization",
    "BatchQuantization",
    "quantize_rank_one",
    "quantize_rank_one_batch",
    "naive_rank_one",
    "rank_one_error",
    "quantize_rank_one_reference",
    "MAX_EVENTS",
]

#: Largest number of breakpoints ``(m + n) * 2**(t-1)`` handled for one rank-one term.
MAX_EVENTS = 1 << 25
_CHUNK_EVENTS = 1 << 22
_SHORTLIST = 8
_DIRECT_MAX = 8  # y of at most this length: evaluate round(μ y) directly per candidate
_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitting constant for float64


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
# validation and error evaluation
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


def _as_real_vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidMatrixError(
            f"{name} must be a non-empty vector (1-D, or a single row/column); got shape {arr.shape!r}"
        )
    return _as_real_2d(arr[None, :], name)[0]


def rank_one_error(
    x: ArrayLike, y: ArrayLike, x_hat: ArrayLike, y_hat: ArrayLike
) -> NDArray[np.float64] | float:
    """Frobenius error ``‖x yᵀ − x̂ ŷᵀ‖`` without forming the m×n matrices; batched over leading axes.

    Uses the orthogonal split ``x = α x̂ + r`` (``α = xᵀx̂/‖x̂‖²``, ``r ⊥ x̂``), which gives
    ``‖r‖²‖y‖² + ‖x̂‖²‖α y − ŷ‖²``: both terms are computed without the cancellation of the expanded
    identity ``‖x‖²‖y‖² − 2(xᵀx̂)(yᵀŷ) + ‖x̂‖²‖ŷ‖²``.

    Notes
    -----
    O(m + n) per term.

    Examples
    --------
    >>> x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    >>> x_hat, y_hat = np.array([1.0, 2.0]), np.array([3.0, -1.5])
    >>> float(rank_one_error(x, y, x_hat, y_hat))
    1.118033988749895
    >>> float(np.linalg.norm(np.outer(x, y) - np.outer(x_hat, y_hat)))
    1.118033988749895
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xh, yh = np.asarray(x_hat, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)
    if xa.shape != xh.shape or ya.shape != yh.shape or xa.shape[:-1] != ya.shape[:-1]:
        raise InvalidMatrixError(
            f"shapes x {xa.shape!r}, x_hat {xh.shape!r}, y {ya.shape!r}, y_hat {yh.shape!r} do not match: "
            "x and x_hat (resp. y and y_hat) must have equal shapes and the same leading axes"
        )
    norm_xh = np.sum(xh * xh, axis=-1)
    safe = np.where(norm_xh > 0, norm_xh, 1.0)
    alpha = np.where(norm_xh > 0, np.sum(xa * xh, axis=-1) / safe, 0.0)
    resid = xa - alpha[..., None] * xh
    gap = alpha[..., None] * ya - yh
    sq = np.sum(resid * resid, axis=-1) * np.sum(ya * ya, axis=-1) + norm_xh * np.sum(gap * gap, axis=-1)
    out = np.sqrt(np.maximum(sq, 0.0))
    return float(out) if out.ndim == 0 else out


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
# the breakpoint search (unbounded exponent range)
# ----------------------------------------------------------------------------------------------------------


def _two_product(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Dekker: ``a*b = hi + lo`` exactly (no over/underflow in our normalized range)."""
    hi = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    a_hi = ca - (ca - a)
    a_lo = a - a_hi
    b_hi = cb - (cb - b)
    b_lo = b - b_hi
    lo = ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return hi, lo


def _break_float_ties(
    order: NDArray[np.int64], order_key: NDArray[np.float64], cq: NDArray[np.float64],
    safe_frac: NDArray[np.float64], nonzero: NDArray[np.bool_], rows: int, size: int
) -> None:
    """Reorder, in place, runs of equal float breakpoints ``cq/f`` by their exact value.

    Two distinct breakpoints differ by more than 2**(-t-54), while the residual ``δ = (cq - λ f)/f`` of
    the rounded quotient λ is known to about 2**-105, so sorting a run by δ gives the exact order.
    """
    sorted_key = np.take_along_axis(order_key, order, axis=1)
    same = sorted_key[:, 1:] == sorted_key[:, :-1]
    same &= np.isfinite(sorted_key[:, 1:])
    if not np.any(same):
        return
    in_run = np.zeros((rows, size), dtype=bool)
    in_run[:, 1:] |= same
    in_run[:, :-1] |= same
    r_idx, c_idx = np.nonzero(in_run)
    events = order[r_idx, c_idx]
    flat_cq = cq.reshape(rows, size)[r_idx, events]
    flat_f = np.broadcast_to(safe_frac, cq.shape).reshape(rows, size)[r_idx, events]
    lam = sorted_key[r_idx, c_idx]
    hi, lo = _two_product(lam, flat_f)
    delta = ((flat_cq - hi) - lo) / flat_f
    sub = np.lexsort((delta, lam, r_idx))  # r_idx, c_idx come row-major, so this keeps each run in place
    order[r_idx, c_idx] = events[sub]


@dataclass
class _Side:
    """Breakpoint events of ``round(λ v)`` for λ ∈ [1, 2), rows sorted by exact λ."""

    key: NDArray[np.float64]  # (P, E) sorted breakpoints (float), +inf for zero entries
    pos: NDArray[np.int64]  # (P, E) position in sorted order of event (i, k) laid out as i*K + k
    cum1: NDArray[np.float64]  # (P, E+1) Σ w f v after 0..E events
    cum2: NDArray[np.float64]  # (P, E+1) Σ w v² after 0..E events
    old: NDArray[np.float64]  # (P, m, K) value before event k of entry i (normalized significand scale)
    new: NDArray[np.float64]  # (P, m, K) value after event k of entry i
    sign: NDArray[np.float64]  # (P, m)
    exp: NDArray[np.int64]  # (P, m) exponent of entry relative to the row maximum
    frac: NDArray[np.float64]  # (P, m) significand in [1, 2), 0 for zero entries
    shift: NDArray[np.int64]  # (P,) row exponent: v = sign * frac * 2**(exp + shift)
    norm2: NDArray[np.float64]  # (P,) ‖v / 2**shift‖²


def _build_side(v: NDArray[np.float64], t: int, exact_order: bool) -> _Side:
    rows, m = v.shape
    half = 1 << (t - 1)
    nonzero = v != 0
    mant, ex = np.frexp(np.abs(v))
    frac = np.where(nonzero, 2.0 * mant, 0.0)
    ex = ex.astype(np.int64) - 1
    shift = np.where(nonzero, ex, np.iinfo(np.int64).min // 4).max(axis=1)
    shift = np.where(nonzero.any(axis=1), shift, 0)
    rel = np.where(nonzero, ex - shift[:, None], 0)
    weight = np.where(nonzero, np.ldexp(1.0, 2 * rel), 0.0)  # 4**rel
    sign = np.where(v < 0, -1.0, 1.0)

    # midpoints q_k of binade [1, 2): (2**(t-1) + k + 1/2) * 2**(1-t), k = 0..K-1
    mids = np.ldexp(np.arange(half, 2 * half, dtype=np.float64) + 0.5, 1 - t)
    ulp_half = math.ldexp(1.0, -t)
    first = np.searchsorted(mids, frac, side="left")  # first midpoint >= frac
    k = np.arange(half)
    idx = (first[..., None] + k) % half  # (P, m, K)
    c = np.where(k < half - first[..., None], 1.0, 2.0)
    q = mids[idx]
    old = c * (q - ulp_half)
    new = c * (q + ulp_half)
    safe_frac = np.where(nonzero, frac, 1.0)[..., None]
    cq = c * q
    key = np.where(nonzero[..., None], cq / safe_frac, np.inf)
    order_key = key.reshape(rows, m * half)
    order = np.argsort(order_key, axis=1)
    if exact_order:
        _break_float_ties(order, order_key, cq, safe_frac, nonzero, rows, m * half)
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.broadcast_to(np.arange(m * half), order.shape), axis=1)

    w = weight[..., None]
    step = np.ldexp(c, 1 - t)  # new - old
    d1 = (w * frac[..., None] * step).reshape(rows, m * half)
    d2 = (w * step * 2.0 * cq).reshape(rows, m * half)  # new² - old²
    start1 = np.sum(weight * frac * old[..., 0], axis=1)
    start2 = np.sum(weight * old[..., 0] ** 2, axis=1)
    cum1 = np.empty((rows, m * half + 1))
    cum2 = np.empty((rows, m * half + 1))
    cum1[:, 0], cum2[:, 0] = start1, start2
    np.cumsum(np.take_along_axis(d1, order, axis=1), axis=1, out=cum1[:, 1:])
    np.cumsum(np.take_along_axis(d2, order, axis=1), axis=1, out=cum2[:, 1:])
    cum1[:, 1:] += start1[:, None]
    cum2[:, 1:] += start2[:, None]
    return _Side(
        key=np.take_along_axis(order_key, order, axis=1),
        pos=pos.reshape(rows, m, half),
        cum1=cum1,
        cum2=cum2,
        old=old,
        new=new,
        sign=sign,
        exp=rel,
        frac=frac,
        shift=shift,
        norm2=np.sum(weight * frac * frac, axis=1),
    )


def _count_crossed(events: NDArray[np.float64], queries: NDArray[np.float64]) -> NDArray[np.int64]:
    """Row-wise ``searchsorted(events[p], queries[p], side="right")`` (one merged stable sort if P > 1)."""
    rows, n_ev = events.shape
    if rows == 1:
        return np.searchsorted(events[0], queries[0], side="right")[None, :]
    keys = np.concatenate([events, queries], axis=1)
    order = np.argsort(keys, axis=1, kind="stable")  # events first among equal keys: side="right"
    counts = np.cumsum(order < n_ev, axis=1)
    out = np.empty_like(counts)
    np.put_along_axis(out, order, counts, axis=1)
    return out[:, n_ev:]


def _configuration(side: _Side, cand: NDArray[np.int64]) -> NDArray[np.float64]:
    """Normalized quantized vectors (sign * v * 2**exp) after events 0..cand[p, s] of each row."""
    rows, m, half = side.pos.shape
    n_short = cand.shape[1]
    stride = m * half + 1
    base = (np.arange(rows)[:, None] * m + np.arange(m)[None, :]) * stride  # (P, m)
    flat = (side.pos + base[..., None]).reshape(-1)  # sorted: rows of pos are increasing in k
    queries = cand[:, :, None] + base[:, None, :]  # (P, S, m)
    crossed = np.searchsorted(flat, queries.reshape(-1), side="right").reshape(rows, n_short, m)
    crossed -= (np.arange(rows)[:, None, None] * m + np.arange(m)[None, None, :]) * half
    last = np.clip(crossed - 1, 0, half - 1)
    pick_new = np.take_along_axis(side.new[:, None, :, :], last[..., None], axis=3)[..., 0]
    value = np.where(crossed > 0, pick_new, side.old[:, None, :, 0])
    value = np.where(side.frac[:, None, :] > 0, value, 0.0)
    return side.sign[:, None, :] * np.ldexp(value, side.exp[:, None, :])


def _normalized(v: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Rows scaled by powers of two so that the largest magnitude lies in [1, 2); returns (scaled, shift)."""
    nonzero = v != 0
    _, ex = np.frexp(np.abs(v))
    shift = np.where(nonzero, ex.astype(np.int64) - 1, np.iinfo(np.int64).min // 4).max(axis=1)
    shift = np.where(nonzero.any(axis=1), shift, 0)
    return np.ldexp(v, -shift[:, None]), shift


def _search_chunk(
    xs: NDArray[np.float64], ys: NDArray[np.float64], t: int, direct: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], int]:
    """Exact search for rows with nonzero x and y. Returns x̂, ŷ (original scale), squared error, #cand.

    ``direct``: evaluate ``round(μ y)`` for every candidate (O(n) each, for short y) instead of looking the
    sums up in the breakpoint structure of y (O(log) each).
    """
    sx = _build_side(xs, t, exact_order=True)
    a_val, b_val = sx.cum1[:, 1:], sx.cum2[:, 1:]
    mu = a_val / b_val
    x_norm = sx.sign * np.ldexp(sx.frac, sx.exp)
    if direct:
        y_norm, y_shift = _normalized(ys)
        cand_y = round_to_format(mu[..., None] * y_norm[:, None, :], t)
        g1 = np.einsum("pcn,pn->pc", cand_y, y_norm)
        g2 = np.einsum("pcn,pcn->pc", cand_y, cand_y)
        del cand_y
        y_norm2 = np.sum(y_norm * y_norm, axis=1)
    else:
        sy = _build_side(ys, t, exact_order=False)
        mant, ex = np.frexp(mu)
        mu_red = 2.0 * mant  # in [1, 2)
        kexp = ex - 1
        crossed = _count_crossed(sy.key, mu_red)
        g1 = np.ldexp(np.take_along_axis(sy.cum1, crossed, axis=1), kexp)
        g2 = np.ldexp(np.take_along_axis(sy.cum2, crossed, axis=1), 2 * kexp)
        y_norm = sy.sign * np.ldexp(sy.frac, sy.exp)
        y_shift, y_norm2 = sy.shift, sy.norm2
    total = (sx.norm2 * y_norm2)[:, None]
    screened = total - 2.0 * a_val * g1 + b_val * g2
    n_cand = screened.shape[1]
    n_short = min(_SHORTLIST, n_cand)
    short = np.argpartition(screened, n_short - 1, axis=1)[:, :n_short]
    # exact re-evaluation of the shortlist with the cancellation-free error formula
    xh = _configuration(sx, short)  # (P, S, m)
    bb = np.sum(xh * xh, axis=2)
    alpha = np.sum(x_norm[:, None, :] * xh, axis=2) / bb
    yh = round_to_format(alpha[..., None] * y_norm[:, None, :], t)
    err = np.square(rank_one_error(np.broadcast_to(x_norm[:, None, :], xh.shape),
                                   np.broadcast_to(y_norm[:, None, :], yh.shape), xh, yh))
    best = np.argmin(err, axis=1)
    rows = np.arange(xs.shape[0])
    x_out = np.ldexp(xh[rows, best], sx.shift[:, None])
    y_out = np.ldexp(yh[rows, best], y_shift[:, None])
    sq = np.ldexp(err[rows, best], 2 * (sx.shift + y_shift))
    return x_out, y_out, sq, n_cand


def _search_unbounded(
    xs: NDArray[np.float64], ys: NDArray[np.float64], t: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    rows, m = xs.shape
    n = ys.shape[1]
    if n > _DIRECT_MAX and m <= _DIRECT_MAX:  # the optimum is symmetric: search on the longer side
        y_hat, x_hat, n_cand = _search_unbounded(ys, xs, t)
        return x_hat, y_hat, n_cand
    half = 1 << (t - 1)
    direct = n <= _DIRECT_MAX
    per_row = (m + n) * half
    if per_row > MAX_EVENTS:
        raise InvalidSpecError(
            f"t={t!r} with vectors of length m={m}, n={n} needs (m+n)*2**(t-1) = {per_row} breakpoints, "
            f"above the limit {MAX_EVENTS}: lower t or quantize smaller blocks"
        )
    cost = m * half * (n + 2) if direct else per_row
    x_hat = np.zeros_like(xs)
    y_hat = np.zeros_like(ys)
    live = np.flatnonzero(np.any(xs != 0, axis=1) & np.any(ys != 0, axis=1))
    chunk = max(1, _CHUNK_EVENTS // cost)
    n_cand = 0
    for start in range(0, live.size, chunk):  # chunks bound memory; each chunk is fully vectorized
        sel = live[start : start + chunk]
        xo, yo, _, n_cand = _search_chunk(xs[sel], ys[sel], t, direct)
        x_hat[sel], y_hat[sel] = xo, yo
    return x_hat, y_hat, n_cand


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
    :func:`quantize_rank_one_reference`.

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
    x_hat, y_hat, _ = _search_unbounded(xs, ys, fmt.t)
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
    error = np.asarray(rank_one_error(xs, ys, x_hat, y_hat), dtype=np.float64).reshape(-1)
    xr, yr = round_to_format(xs, fmt), round_to_format(ys, fmt)
    finite = np.all(np.isfinite(xr), axis=1) & np.all(np.isfinite(yr), axis=1)
    naive = np.full(xs.shape[0], np.inf)
    if np.any(finite):
        naive[finite] = rank_one_error(xs[finite], ys[finite], xr[finite], yr[finite])
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
    searched = yv if (yv.size > _DIRECT_MAX and xv.size <= _DIRECT_MAX) else xv
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


# ----------------------------------------------------------------------------------------------------------
# plain-loop reference (test oracle): exact rationals, one λ per breakpoint interval
# ----------------------------------------------------------------------------------------------------------


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
    """Plain-loop exact search in rational arithmetic (test oracle for :func:`quantize_rank_one`).

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
