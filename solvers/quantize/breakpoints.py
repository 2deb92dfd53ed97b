"""The exact breakpoint search behind :func:`~wellposed.solvers.quantize.quantize_rank_one` (unbounded exponents).

For ``λ ∈ [1, 2)`` every nonzero ``x_i`` has ``2**(t-1)`` breakpoints of ``round(λ x_i)``; they are sorted exactly,
the sums ``xᵀx̂`` and ``‖x̂‖²`` follow by cumulative sums, the best response ``ŷ = round(μ y)`` is evaluated directly
(short y) or looked up in the same structure built for y, and a shortlist is re-evaluated without cancellation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wellposed.errors import InvalidSpecError

from .floats import round_to_format
from .rank_one_error import rank_one_error

__all__ = ["MAX_EVENTS"]

#: Largest number of breakpoints ``(m + n) * 2**(t-1)`` handled for one rank-one term.
MAX_EVENTS = 1 << 25
_CHUNK_EVENTS = 1 << 22
_SHORTLIST = 8
_DIRECT_MAX = 8  # y of at most this length: evaluate round(μ y) directly per candidate
_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitting constant for float64


def _searches_y(m: int, n: int) -> bool:
    """Is the search run on the breakpoints of y (x of length m short, y of length n long)? The optimum is
    symmetric in x and y."""
    return n > _DIRECT_MAX and m <= _DIRECT_MAX


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
    """Optimal ``(x̂, ŷ)`` of every row for the significand width ``t`` (unbounded exponents), and #cand."""
    rows, m = xs.shape
    n = ys.shape[1]
    if _searches_y(m, n):  # the optimum is symmetric: search on the longer side
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

