"""Quantization of Kronecker-sparse (butterfly) factor chains: optimal pairs, pairwise and left-to-right."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSChain, KSPattern, check_chain
from wellposed.kronecker_analysis import kronecker_classes

from .floats import FloatFormat, as_format, round_to_format
from .rank_one import quantize_rank_one_batch

__all__ = [
    "ChainQuantization",
    "METHODS",
    "quantize_pair",
    "quantize_factors",
    "quantize_chain",
    "pair_supports_disjoint",
]

METHODS = ("pairwise", "l2r", "naive")
Method = Literal["pairwise", "l2r", "naive"]


@dataclass(frozen=True)
class ChainQuantization:
    """Quantized factors of a Kronecker-sparse chain.

    Attributes
    ----------
    patterns : tuple of KSPattern
    factors : tuple of ndarray
        Quantized data, each of shape (a, b, c, d), every entry a value of ``fmt``.
    method : str
        ``"pairwise"``, ``"l2r"`` or ``"naive"``.
    fmt : FloatFormat
    optimal : bool
        True when the result is a proven global optimum of ``‖F_1⋯F_L − F̂_1⋯F̂_L‖_F``: two factors whose
        rank-one supports are disjoint, every term certified.
    pair_disjoint : tuple of bool
        For each quantized pair (in processing order): whether its rank-one supports are disjoint (then the
        pair is solved exactly, term by term).
    """

    patterns: tuple[KSPattern, ...]
    factors: tuple[NDArray[np.float64], ...]
    method: str
    fmt: FloatFormat
    optimal: bool
    pair_disjoint: tuple[bool, ...]

    def to_chain(self) -> Any:
        """The quantized factors as a :class:`~wellposed.solvers.butterfly.FactorChain` (``to_dense``, ``apply``,
        ``save``); raises :class:`~wellposed.errors.InvalidMatrixError` if a factor overflowed the format."""
        from wellposed.solvers.butterfly.factors import FactorChain, KSFactor

        return FactorChain(tuple(KSFactor(p, f) for p, f in zip(self.patterns, self.factors, strict=True)))


# ----------------------------------------------------------------------------------------------------------
# Kronecker-sparse helpers
# ----------------------------------------------------------------------------------------------------------


def _as_data(data: ArrayLike, pattern: KSPattern, name: str) -> NDArray[np.float64]:
    arr = np.asarray(data)
    if arr.dtype.kind == "c":
        raise InvalidMatrixError(f"{name} is complex: only real factors can be quantized")
    if arr.dtype.kind not in "biuf":
        raise InvalidMatrixError(f"{name} has dtype {arr.dtype!r}: real numeric data is required")
    if arr.shape != pattern.abcd:
        raise InvalidMatrixError(f"{name} has shape {arr.shape!r}; pattern {pattern} needs data of shape "
                                 f"{pattern.abcd}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InvalidMatrixError(f"{name} contains non-finite entries")
    return arr


def pair_supports_disjoint(left: KSPattern, right: KSPattern) -> bool:
    """Whether the rank-one terms of ``F_left @ F_right`` have pairwise disjoint supports.

    Term j (column j of the left factor times row j of the right one) has support ``S_j``; the supports of
    a valid pair are pairwise disjoint or identical, so they are disjoint exactly when every class of
    identical supports has one term (:func:`wellposed.kronecker_analysis.kronecker_classes`, ``O(log)``).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly, monarch
    >>> pair_supports_disjoint(*dyadic_butterfly(4)), pair_supports_disjoint(*monarch(4))
    (True, True)
    >>> pair_supports_disjoint(KSPattern(1, 2, 2, 1), KSPattern(1, 2, 2, 1))  # dense 2x2 times 2x2
    False
    """
    return kronecker_classes(KSChain((left, right))).max_size == 1


def _validate_chain(
    patterns: Sequence[KSPattern], factors: Sequence[ArrayLike]
) -> tuple[tuple[KSPattern, ...], list[NDArray[np.float64]]]:
    if len(patterns) == 0 or len(patterns) != len(factors):
        raise InvalidChainError(
            f"got {len(patterns)} patterns and {len(factors)} factors: give one KSPattern per factor, at least one"
        )
    pats = check_chain(patterns, chainable=False)
    datas = [_as_data(f, p, f"factors[{i}]") for i, (p, f) in enumerate(zip(pats, factors, strict=True))]
    _check_scale(datas)
    return pats, datas


#: Largest log2 of a bound on the Frobenius norm of a product of consecutive factors: squared norms and
#: squared errors (up to 2**1000) then stay finite in float64 (largest 2**1024).
MAX_LOG2_NORM = 500


def _check_scale(datas: Sequence[NDArray[np.float64]]) -> None:
    """Refuse factors whose partial products could overflow float64 once squared.

    ``‖F_i ⋯ F_j‖_F ≤ Π ‖F_k‖_F ≤ Π max|F_k| · √nnz(F_k)``; the pair search and the error evaluation
    square such norms, so every bound must stay below ``2**MAX_LOG2_NORM`` (about 1e150).
    """
    logs = []
    for dat in datas:
        peak = float(np.max(np.abs(dat))) if dat.size else 0.0
        logs.append(-math.inf if peak == 0.0 else math.log2(peak) + 0.5 * math.log2(dat.size))
    for i in range(len(logs)):
        total = 0.0
        for j in range(i, len(logs)):
            total += logs[j]
            if total > MAX_LOG2_NORM:
                which = f"factors[{i}]" if i == j else f"the product of factors[{i}] to factors[{j}]"
                raise InvalidMatrixError(
                    f"{which} may reach a norm of about 2**{total:.0f} (1e{total * math.log10(2):.0f}); its square "
                    f"overflows float64 during quantization. The limit is 2**{MAX_LOG2_NORM} (about 1e150): rescale "
                    "the factors (divide one by 2**k and multiply its neighbour by 2**k, which keeps the product), "
                    "or divide the whole chain by a power of two."
                )


# ----------------------------------------------------------------------------------------------------------
# pair quantization
# ----------------------------------------------------------------------------------------------------------


def _terms(left: KSPattern, ldata: NDArray[np.float64], right: KSPattern, rdata: NDArray[np.float64]) -> tuple[
    NDArray[np.float64], NDArray[np.float64]
]:
    """Rank-one terms of a pair: row j of X is column j of F_left, row j of Y is row j of F_right."""
    a, b, c, d = left.abcd
    a2, b2, c2, d2 = right.abcd
    X = ldata.transpose(0, 2, 3, 1).reshape(a * c * d, b)
    Y = rdata.transpose(0, 1, 3, 2).reshape(a2 * b2 * d2, c2)
    return X, Y


def _untermed_left(left: KSPattern, X: NDArray[np.float64]) -> NDArray[np.float64]:
    a, b, c, d = left.abcd
    return np.ascontiguousarray(X.reshape(a, c, d, b).transpose(0, 3, 1, 2))


def _untermed_right(right: KSPattern, Y: NDArray[np.float64]) -> NDArray[np.float64]:
    a2, b2, c2, d2 = right.abcd
    return np.ascontiguousarray(Y.reshape(a2, b2, d2, c2).transpose(0, 1, 3, 2))


def _quantize_terms(
    left: KSPattern, ldata: NDArray[np.float64], right: KSPattern, rdata: NDArray[np.float64], fmt: FloatFormat
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]:
    """Quantize each rank-one term; also return the real rescaling μ_j of the right rows (for l2r)."""
    X, Y = _terms(left, ldata, right, rdata)
    res = quantize_rank_one_batch(X, Y, fmt)
    nx = np.sum(res.x_hat * res.x_hat, axis=1)
    mu = np.where(nx > 0, np.sum(X * res.x_hat, axis=1) / np.where(nx > 0, nx, 1.0), 0.0)
    return res.x_hat, res.y_hat, mu, bool(np.all(res.certified))


def quantize_pair(
    left_pattern: KSPattern, left: ArrayLike, right_pattern: KSPattern, right: ArrayLike, fmt: FloatFormat | int | str
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """Quantize two consecutive Kronecker-sparse factors so that their product is as close as possible.

    Each inner index j gives a rank-one term (column j of the left factor times row j of the right one);
    all terms are quantized at once with :func:`~wellposed.solvers.quantize.rank_one.quantize_rank_one_batch`. When
    the terms have disjoint supports the product error is the sum of the term errors, so the result is the
    exact optimum over all quantized pairs with these supports.

    Parameters
    ----------
    left_pattern, right_pattern : KSPattern
    left, right : array_like
        Factor data in the (a, b, c, d) layout.
    fmt : FloatFormat, int or str

    Returns
    -------
    left_q, right_q : ndarray
        Quantized data.
    optimal : bool
        Whether the pair is a proven optimum (disjoint supports and every term certified).

    Notes
    -----
    One batched exact search over a·c·d terms of lengths b and c': O(a c d (b + c') 2**(t-1) log).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> left, right = dyadic_butterfly(4)
    >>> rng = np.random.default_rng(0)
    >>> Lq, Rq, optimal = quantize_pair(left, rng.standard_normal(left.abcd), right, rng.standard_normal(right.abcd), 4)
    >>> optimal
    True
    """
    fmt = as_format(fmt)
    lp, rp = check_chain((left_pattern, right_pattern), chainable=False)
    ldata, rdata = _as_data(left, lp, "left"), _as_data(right, rp, "right")
    xh, yh, _, certified = _quantize_terms(lp, ldata, rp, rdata, fmt)
    optimal = certified and pair_supports_disjoint(lp, rp)
    return _untermed_left(lp, xh), _untermed_right(rp, yh), optimal


def quantize_factors(
    patterns: Sequence[KSPattern],
    factors: Sequence[ArrayLike],
    fmt: FloatFormat | int | str,
    method: Method = "pairwise",
) -> ChainQuantization:
    """Quantize the factors of a Kronecker-sparse chain ``F_1 @ ... @ F_L``.

    Parameters
    ----------
    patterns : sequence of KSPattern
    factors : sequence of array_like, data of shape (a, b, c, d)
    fmt : FloatFormat, int or str
    method : {"pairwise", "l2r", "naive"}
        ``pairwise``: quantize (F_1, F_2), (F_3, F_4), ... each as an optimal pair, the last factor of an
        odd chain by rounding. ``l2r`` (left to right): quantize the pair (G_1, F_2) with G_1 = F_1, keep the
        quantized left factor, and carry the right factor rescaled by the real best response
        (row j times μ_j = x_jᵀx̂_j/‖x̂_j‖²) as G_2 into the next pair; the last pair's quantized right
        factor ends the chain. ``naive``: round every entry.

    Returns
    -------
    ChainQuantization

    Notes
    -----
    Two factors with disjoint rank-one supports (all consecutive dyadic butterfly pairs) are solved
    exactly by both methods. For L > 2 both are heuristics. Cost: one batched pair search per pair,
    O(Σ_ℓ nnz(F_ℓ) 2**(t-1) log).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> from wellposed.solvers.butterfly import FactorChain, KSFactor
    >>> rng = np.random.default_rng(1)
    >>> pats = dyadic_butterfly(8)
    >>> data = [rng.standard_normal(p.abcd) for p in pats]
    >>> exact = FactorChain(tuple(KSFactor(p, d) for p, d in zip(pats, data))).to_dense()
    >>> errs = {}
    >>> for method in ("naive", "pairwise", "l2r"):
    ...     q = quantize_factors(pats, data, 4, method)
    ...     errs[method] = np.linalg.norm(q.to_chain().to_dense() - exact)
    >>> bool(errs["l2r"] < errs["naive"])
    True
    """
    fmt = as_format(fmt)
    if method not in METHODS:
        raise InvalidSpecError(f"method={method!r} is not one of {METHODS!r}")
    pats, datas = _validate_chain(patterns, factors)
    n_f = len(pats)
    out: list[NDArray[np.float64]] = [np.empty(0)] * n_f
    disjoint: list[bool] = []
    all_certified = True
    if method == "naive" or n_f == 1:
        out = [round_to_format(dat, fmt) for dat in datas]
        if not all(np.all(np.isfinite(o)) for o in out):
            raise InvalidMatrixError(f"rounding the factors overflows format {fmt.name}: rescale the factors")
    elif method == "pairwise":
        for i in range(0, n_f - 1, 2):
            xh, yh, _, cert = _quantize_terms(pats[i], datas[i], pats[i + 1], datas[i + 1], fmt)
            out[i], out[i + 1] = _untermed_left(pats[i], xh), _untermed_right(pats[i + 1], yh)
            disjoint.append(pair_supports_disjoint(pats[i], pats[i + 1]))
            all_certified &= cert
        if n_f % 2 == 1:
            out[-1] = round_to_format(datas[-1], fmt.saturating())
    else:
        carry = datas[0]
        for i in range(n_f - 1):
            xh, yh, mu, cert = _quantize_terms(pats[i], carry, pats[i + 1], datas[i + 1], fmt)
            out[i] = _untermed_left(pats[i], xh)
            disjoint.append(pair_supports_disjoint(pats[i], pats[i + 1]))
            all_certified &= cert
            if i == n_f - 2:
                out[i + 1] = _untermed_right(pats[i + 1], yh)
            else:
                _, Y = _terms(pats[i], carry, pats[i + 1], datas[i + 1])
                carry = _untermed_right(pats[i + 1], mu[:, None] * Y)
    optimal = n_f == 2 and method != "naive" and all(disjoint) and all_certified
    return ChainQuantization(pats, tuple(out), method, fmt, optimal, tuple(disjoint))


def quantize_chain(chain: Any, fmt: FloatFormat | int | str, method: Method = "pairwise") -> Any:
    """Quantize a factor-chain object and return a new chain of the same type.

    ``chain`` is duck-typed like the butterfly solver's ``FactorChain``: it has ``.factors``, each with
    ``.pattern`` (a :class:`~wellposed.kronecker.KSPattern`) and ``.data``; the result is built as
    ``chain.with_factors([type(f)(f.pattern, q) for ...])`` (a ``FactorChain`` keeps its permutations), or
    ``type(chain)([...])`` when the chain has no ``with_factors``. A sequence of ``(KSPattern, data)`` pairs is also
    accepted and a list of such pairs is returned.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> rng = np.random.default_rng(2)
    >>> pairs = [(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(4)]
    >>> q = quantize_chain(pairs, 3)
    >>> [str(p) for p, _ in q]
    ['(1,2,2,2)', '(2,2,2,1)']
    """
    if hasattr(chain, "factors"):
        items = list(chain.factors)
        res = quantize_factors([f.pattern for f in items], [f.data for f in items], fmt, method)
        quantized = [type(f)(f.pattern, q) for f, q in zip(items, res.factors, strict=True)]
        if hasattr(chain, "with_factors"):  # a FactorChain: keep its permutations
            return chain.with_factors(quantized)
        return type(chain)(quantized)
    try:
        pairs = [(p, d) for p, d in chain]
    except (TypeError, ValueError):
        raise InvalidChainError(
            f"chain of type {type(chain).__name__!r} is neither a factor chain (with .factors) nor a "
            "sequence of (pattern, data) pairs"
        ) from None
    res = quantize_factors([p for p, _ in pairs], [d for _, d in pairs], fmt, method)
    return [(p, q) for (p, _), q in zip(pairs, res.factors, strict=True)]
