"""Hierarchical Kronecker-sparse (butterfly) factorization by batched truncated SVDs, with error certificates."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from wellposed.solvers.butterfly.blocks import PairBlocks, bmm, chain_product
from wellposed.solvers.butterfly.factors import FactorChain, KSFactor

from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, chain_shape, check_chain, product_pattern

__all__ = [
    "ButterflyResult",
    "factorize",
    "split_errors_exact",
    "two_factor_reference",
    "bit_reversal_permutation",
    "ORDERS",
]

ORDERS = ("balanced", "left-to-right", "right-to-left")
Order = Literal["balanced", "left-to-right", "right-to-left"]
_Side = Literal["left", "right", "balanced"]


def _herm(M: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(M, -1, -2)) if np.iscomplexobj(M) else np.swapaxes(M, -1, -2)


def _sqnorm(x: np.ndarray) -> float:
    """``‖x‖²`` through einsum: BLAS level-1 calls (vdot, norm) can stall for milliseconds when a threaded
    BLAS competes for busy cores, einsum never does."""
    x = np.ascontiguousarray(x).reshape(-1)
    if np.iscomplexobj(x):
        x = x.view(np.float64 if x.dtype == np.complex128 else np.float32)
    return float(np.einsum("i,i->", x, x))


def _abT(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Batched real ``P @ Q^T``; few rows go through einsum (no per-block gemm call, no copy of strided data)."""
    if P.shape[-2] <= 4:
        return np.einsum("...ik,...jk->...ij", P, Q, order="C")
    return P @ np.swapaxes(Q, -1, -2)


def _gram_rows(B: np.ndarray) -> np.ndarray:
    """``B @ B^H`` for a batch of blocks; complex blocks as three real products of the real and imaginary
    views (no conjugated copy of ``B``, which may be a large strided view of the input)."""
    if not np.iscomplexobj(B):
        return _abT(B, B)
    Br, Bi = B.real, B.imag
    X = _abT(Bi, Br)
    if B.strides[-1] == B.itemsize:  # interleaved real view: Re(G) in one contiguous product
        Bf = B.view(np.float64 if B.dtype == np.complex128 else np.float32)
        re = _abT(Bf, Bf)
    else:
        re = _abT(Br, Br) + _abT(Bi, Bi)
    return re + 1j * (X - np.swapaxes(X, -1, -2))


def _gram_cols(B: np.ndarray) -> np.ndarray:
    """``B^H @ B`` for a batch of blocks (``= conj(B^T (B^T)^H)``)."""
    G = _gram_rows(np.swapaxes(B, -1, -2))
    return np.conj(G) if np.iscomplexobj(G) else G


def _discarded(w: np.ndarray, n_drop: int, G: np.ndarray, inner: int) -> np.ndarray:
    """Certified lower bound on the discarded energy: the ``n_drop`` smallest Gram eigenvalues, each lowered
    by a bound on its floating-point error, clipped at 0. The Gram product over ``inner`` terms is off by at
    most ``~inner·eps·‖B‖_F²`` in 2-norm and the eigensolver adds ``~dim·eps·‖G‖``; we subtract
    ``4·(inner + dim)·eps·trace(G)`` from each eigenvalue."""
    if n_drop <= 0:
        return np.zeros(w.shape[:-1])
    dim = G.shape[-1]
    scale = np.abs(np.trace(G, axis1=-2, axis2=-1).real)
    slack = 4.0 * (inner + dim) * np.finfo(np.float64).eps * scale
    return np.clip(w[..., :n_drop] - slack[..., None], 0.0, None).sum(axis=-1)


class _Run:
    """Mutable bookkeeping of one factorization run: recorded split errors (lower bounds) and the energy of
    the data on the product pattern (read off the root Gram matrices, which saves a pass over ``A``)."""

    def __init__(self, L: int) -> None:
        self.tails = np.full(L - 1, np.nan)
        self.energy: float | None = None


class _NonFinite(Exception):
    """Internal: a Gram matrix came out non-finite (nan/inf in the input, or overflow)."""


def _check_gram(G: np.ndarray, run: _Run | None) -> None:
    if not np.isfinite(G).all():
        raise _NonFinite
    if run is not None and run.energy is None:  # the root split sees every entry of the product pattern once
        run.energy = float(np.trace(G, axis1=-2, axis2=-1).real.sum())


def _truncate(
    B: np.ndarray, r: int, side: _Side, run: _Run | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best rank-``r`` factorization ``B ≈ U @ W`` of a batch of blocks (..., m, n), via the smaller Gram matrix.

    ``side='left'``: ``U`` has orthonormal columns; ``'right'``: ``W`` has orthonormal rows; ``'balanced'``:
    singular values split as square roots. Returns ``(U, W, tail)`` with ``tail`` the discarded energy per block.
    Zero-padded to exactly ``r`` columns / rows when ``r > min(m, n)``.
    """
    m, n = B.shape[-2:]
    k = min(r, m, n)
    batch = B.shape[:-2]
    if m <= n:
        G = _gram_rows(B)
        _check_gram(G, run)
        w, E = np.linalg.eigh(G)
        U0 = E[..., :, m - k :][..., ::-1]
        lam = np.clip(w[..., m - k :][..., ::-1], 0.0, None)
        tail = _discarded(w, m - k, G, n)
        Z = bmm(_herm(U0), B)  # = S V^H
        if side == "left":
            U, W = U0, Z
        elif side == "right":
            Q, R = np.linalg.qr(_herm(Z))
            U, W = U0 @ _herm(R), _herm(Q)
        else:
            s = np.sqrt(np.sqrt(lam))
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
            U, W = U0 * s[..., None, :], Z * inv[..., :, None]
    else:
        G = _gram_cols(B)
        _check_gram(G, run)
        w, E = np.linalg.eigh(G)
        V0 = E[..., :, n - k :][..., ::-1]
        lam = np.clip(w[..., n - k :][..., ::-1], 0.0, None)
        tail = _discarded(w, n - k, G, m)
        Z = bmm(B, V0)  # = U S
        if side == "right":
            U, W = Z, _herm(V0)
        elif side == "left":
            Q, R = np.linalg.qr(Z)
            U, W = Q, R @ _herm(V0)
        else:
            s = np.sqrt(np.sqrt(lam))
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
            U, W = Z * inv[..., None, :], _herm(V0) * s[..., :, None]
    if k < r:
        U = np.concatenate([U, np.zeros((*batch, m, r - k), dtype=U.dtype)], axis=-1)
        W = np.concatenate([W, np.zeros((*batch, r - k, n), dtype=W.dtype)], axis=-2)
    return U, W, tail


def _tail_only(B: np.ndarray, r: int) -> np.ndarray:
    """Discarded energy of the best rank-``r`` approximation of each block (eigenvalues only)."""
    m, n = B.shape[-2:]
    k = min(r, m, n)
    G = _gram_rows(B) if m <= n else _gram_cols(B)
    w = np.linalg.eigvalsh(G)
    return _discarded(w, min(m, n) - k, G, max(m, n))


def _split_point(n: int, order: Order) -> int:
    if order == "left-to-right":
        return 1
    if order == "right-to-left":
        return n - 1
    return n // 2


def _factor_plain(
    pats: tuple[KSPattern, ...], D: np.ndarray, offset: int, order: Order, run: _Run, root: bool
) -> list[np.ndarray]:
    if len(pats) == 1:
        return [D]
    s = _split_point(len(pats), order)
    Pl, Pr = product_pattern(pats[:s]), product_pattern(pats[s:])
    pr = PairBlocks.of(Pl, Pr)
    U, W, tail = _truncate(pr.product_blocks(D), pr.r, "balanced", run)
    if root:
        run.tails[offset + s - 1] = float(tail.sum())
    X, Y = pr.left_from_blocks(U), pr.right_from_blocks(W)
    del U, W
    left = _factor_plain(pats[:s], X, offset, order, run, False)
    right = _factor_plain(pats[s:], Y, offset + s, order, run, False)
    return left + right


def _orthonormalize_left(pats: tuple[KSPattern, ...], datas: list[np.ndarray], next_a: int) -> list[np.ndarray]:
    """QR sweep from the left: every factor gets orthonormal columns in each block with respect to its
    right neighbour (the last one with respect to a neighbour starting with ``a = next_a``); the triangular
    parts are pushed to the right and the last one dropped. The product of the result is a block isometry."""
    out = list(datas)
    for i in range(len(pats)):
        nxt = pats[i + 1] if i + 1 < len(pats) else None
        a_next = nxt.a if nxt is not None else next_a
        P = pats[i]
        p = a_next // P.a
        r = P.c // p
        # Left blocks with respect to any right neighbour starting with a_next: (a, d, p, b, r); q = 1, d_r = d.
        U = out[i].reshape(P.a, P.b, p, r, P.d).transpose(0, 4, 2, 1, 3)
        Q, R = np.linalg.qr(U)
        if Q.shape[-1] < r:
            Q = np.concatenate([Q, np.zeros((*Q.shape[:-1], r - Q.shape[-1]), dtype=Q.dtype)], axis=-1)
            R = np.concatenate([R, np.zeros((*R.shape[:-2], r - R.shape[-2], r), dtype=R.dtype)], axis=-2)
        out[i] = np.ascontiguousarray(Q.transpose(0, 3, 2, 4, 1)).reshape(P.abcd)
        if nxt is not None:
            pr = PairBlocks.of(P, nxt)
            W = pr.right_blocks(out[i + 1])  # (a, d_next, p, q, r, c_next)
            Rq = R.reshape(pr.al, pr.q, pr.dr, pr.p, r, r).transpose(0, 2, 3, 1, 4, 5)
            out[i + 1] = pr.right_from_blocks(Rq @ W)
    return out


def _factor_ortho(
    pats: tuple[KSPattern, ...], D: np.ndarray, offset: int, order: Order, run: _Run
) -> list[np.ndarray]:
    """Orthonormalized hierarchical factorization. Invariant: ``D`` is the orthogonal projection of ``A`` on
    the set ``{Lctx @ Z @ Rctx}`` for block isometries ``Lctx``, ``Rctx``; then every recorded split error
    is at most the optimal two-factor error of ``A`` at that split point."""
    if len(pats) == 1:
        return [D]
    s = _split_point(len(pats), order)
    Pl, Pr = product_pattern(pats[:s]), product_pattern(pats[s:])
    pr = PairBlocks.of(Pl, Pr)
    B = pr.product_blocks(D)
    if s == 1:
        U, W, tail = _truncate(B, pr.r, "left", run)
        run.tails[offset] = float(tail.sum())
        del B
        return [pr.left_from_blocks(U)] + _factor_ortho(pats[1:], pr.right_from_blocks(W), offset + 1, order, run)
    U, W, tail = _truncate(B, pr.r, "right", run)
    run.tails[offset + s - 1] = float(tail.sum())
    if s == len(pats) - 1:
        del B
        left = _factor_ortho(pats[:s], pr.left_from_blocks(U), offset, order, run)
        return left + [pr.right_from_blocks(W)]
    left = _factor_ortho(pats[:s], pr.left_from_blocks(U), offset, order, run)
    del U, W
    left = _orthonormalize_left(pats[:s], left, Pr.a)
    _, QL = chain_product(pats[:s], left)
    target = pr.right_from_blocks(_herm(pr.left_blocks(QL)) @ B)
    del B, QL
    return left + _factor_ortho(pats[s:], target, offset + s, order, run)


# ----------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------
def bit_reversal_permutation(n: int) -> np.ndarray:
    """Bit-reversal permutation of ``range(n)`` for ``n`` a power of two (an involution).

    Examples
    --------
    >>> bit_reversal_permutation(8)
    array([0, 4, 2, 6, 1, 5, 3, 7])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
        raise InvalidMatrixError(f"bit reversal needs a power-of-two size, got n={n!r}; pad or drop bit_reversal.")
    L = int(n).bit_length() - 1
    idx = np.arange(n)
    out = np.zeros(n, dtype=np.int64)
    for bit in range(L):  # L = log2(n) vectorized passes, not a loop over entries
        out |= ((idx >> bit) & 1) << (L - 1 - bit)
    return out


@dataclass(frozen=True)
class ButterflyResult:
    """Outcome of :func:`factorize`.

    Attributes
    ----------
    chain : FactorChain
        The factors; ``A ≈ chain.to_dense()`` (columns permuted back when ``column_permutation`` is set).
    error, rel_error : float
        ``‖A − Â‖_F`` and ``‖A − Â‖_F / ‖A‖_F``, measured on the computed factors.
    split_errors : numpy.ndarray
        Length ``L−1``: entry ``s`` is a lower bound on the optimal two-factor error ``E_s`` of ``A`` at the
        split between factors ``s`` and ``s+1`` (``nan`` where not computed). Every chain lies in every
        two-factor set, so ``E* ≥ max_s split_errors[s]``.
    certificate_ratio : float
        ``error / max_s split_errors``: an upper bound on ``error / E*`` (``inf`` if the lower bound is 0
        and the error is not, ``1.0`` if both are 0).
    seconds : float
        Wall-clock time of the factorization (validation included, error measurement included).
    """

    chain: FactorChain
    error: float
    rel_error: float
    split_errors: np.ndarray
    certificate_ratio: float
    seconds: float
    order: str
    orthonormalized: bool
    off_support_error: float
    column_permutation: np.ndarray | None = field(default=None)

    @property
    def lower_bound(self) -> float:
        """``max_s split_errors[s]``: a certified lower bound on the best error over the whole chain set."""
        finite = self.split_errors[np.isfinite(self.split_errors)]
        return float(finite.max()) if finite.size else self.off_support_error

    def to_dense(self) -> np.ndarray:
        """Dense approximation of ``A`` (the permutation, if any, undone)."""
        M = self.chain.to_dense()
        if self.column_permutation is None:
            return M
        return M[:, np.argsort(self.column_permutation)]

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Approximation of ``A @ X`` through the factors (``O(nnz * batch)``)."""
        X = np.asarray(X)
        if self.column_permutation is not None:
            if X.ndim not in (1, 2) or X.shape[0] != self.column_permutation.size:
                raise InvalidMatrixError(f"X must have {self.column_permutation.size} rows, got shape {X.shape!r}.")
            X = X[self.column_permutation]
        return self.chain.apply(X)

    def save(self, path: str) -> None:
        """Save the chain as ``.npz`` (see :meth:`FactorChain.save`) with the result's metadata."""
        meta: dict[str, Any] = {
            "rel_error": np.float64(self.rel_error),
            "error": np.float64(self.error),
            "split_errors": self.split_errors,
            "certificate_ratio": np.float64(self.certificate_ratio),
            "order": np.array(self.order),
            "orthonormalized": np.bool_(self.orthonormalized),
        }
        if self.column_permutation is not None:
            meta["column_permutation"] = self.column_permutation
        self.chain.save(path, **meta)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (no factor data)."""

        def num(x: float) -> float | str | None:
            return None if math.isnan(x) else (str(x) if math.isinf(x) else float(x))

        return {
            "shape": list(self.chain.shape),
            "patterns": [list(p.abcd) for p in self.chain.patterns],
            "nnz": self.chain.nnz,
            "dtype": str(self.chain.dtype),
            "order": self.order,
            "orthonormalized": self.orthonormalized,
            "bit_reversal": self.column_permutation is not None,
            "error": num(self.error),
            "rel_error": num(self.rel_error),
            "off_support_error": num(self.off_support_error),
            "split_errors": [num(float(x)) for x in self.split_errors],
            "lower_bound": num(self.lower_bound),
            "certificate_ratio": num(self.certificate_ratio),
            "seconds": self.seconds,
        }


def _validate_matrix(A: object, scan: bool = True) -> np.ndarray:
    if isinstance(A, np.ndarray):
        M = A
    else:
        try:
            M = np.asarray(A)
        except Exception as exc:  # noqa: BLE001 - anything numpy cannot read is bad input
            raise InvalidMatrixError(f"A must be a 2-D numeric array, got {type(A).__name__}: {exc}") from exc
    if M.ndim != 2:
        raise InvalidMatrixError(f"A must be a 2-D array, got shape {M.shape!r}; reshape it to (rows, cols).")
    if M.size == 0:
        raise InvalidMatrixError(f"A is empty (shape {M.shape!r}); there is nothing to factorize.")
    if M.dtype.kind not in "biufc":
        raise InvalidMatrixError(f"A must be real or complex, got dtype {M.dtype!r}.")
    M = M.astype(np.complex128 if M.dtype.kind == "c" else np.float64, copy=False)
    if scan:
        _require_finite(M)
    return M


def _require_finite(M: np.ndarray) -> None:
    """Raise InvalidMatrixError naming the first nan/inf entry, or the overflow, of ``M``."""
    bad = np.argwhere(~np.isfinite(M))
    if bad.size:
        first = tuple(int(i) for i in bad[0])
        raise InvalidMatrixError(
            f"A has non-finite entries (first at {first!r}: {M[first]!r}); replace nan/inf before factorizing."
        )
    if not math.isfinite(_sqnorm(M)):
        raise InvalidMatrixError("A is too large in magnitude: its squared Frobenius norm overflows; rescale A.")


def _permute_columns(M: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """``M[:, perm]`` gathered in row chunks that fit in cache (a plain fancy index walks column by column)."""
    out = np.empty_like(M)
    step = max(1, (1 << 20) // max(1, M.shape[1] * M.itemsize))
    for i in range(0, M.shape[0], step):  # chunks of rows, each one vectorized gather
        np.take(M[i : i + step], perm, axis=1, out=out[i : i + step])
    return out


def _restrict(A: np.ndarray, P: KSPattern) -> tuple[np.ndarray, float]:
    """Entries of A on the Kronecker-sparse pattern P as an (a, b, c, d) array, and the energy off P."""
    a, b, c, d = P.abcd
    if a == 1 and d == 1:
        return A.reshape(1, b, c, 1), 0.0
    A6 = A.reshape(a, b, d, a, c, d)
    ia = np.arange(a)[:, None]
    id_ = np.arange(d)[None, :]
    D = np.ascontiguousarray(A6[ia, :, id_, ia, :, id_].transpose(0, 2, 3, 1))
    rest = A6.copy()
    rest[ia, :, id_, ia, :, id_] = 0
    return D, _sqnorm(rest)


def _residual2(pats: tuple[KSPattern, ...], datas: Sequence[np.ndarray], D0: np.ndarray, s: int) -> float:
    """``‖D0 − F_1⋯F_L‖²`` inside the product pattern, computed in the block layout of split point ``s``
    (left and right sub-products multiplied separately, then one batched matmul per block)."""
    if len(pats) == 1:
        diff = D0 - datas[0]
        return _sqnorm(diff)
    Pl, X = chain_product(pats[:s], datas[:s])
    Pr, Y = chain_product(pats[s:], datas[s:])
    pr = PairBlocks.of(Pl, Pr)
    U, W, B = pr.left_blocks(X), pr.right_blocks(Y), pr.product_blocks(D0)
    # Chunks along the longest batch axis keep temporaries in cache and avoid copying strided views.
    ax = int(np.argmax(B.shape[:4]))
    per = B.size // B.shape[ax]
    step = max(1, (1 << 16) // max(1, per))
    total = 0.0
    for i in range(0, B.shape[ax], step):
        sl = (slice(None),) * ax + (slice(i, i + step),)
        R = bmm(U[sl], W[sl])
        np.subtract(B[sl], R, out=R)
        total += _sqnorm(R)
    return total


def factorize(
    A: np.ndarray,
    chain: Sequence[KSPattern],
    order: Order = "balanced",
    orthonormalize: bool = False,
    bit_reversal: bool = False,
    certificate: Literal["free", "exact"] = "free",
) -> ButterflyResult:
    """Approximate ``A`` by a product of Kronecker-sparse factors with the given chainable patterns.

    Hierarchical algorithm: a binary tree over the ``L−1`` split points; each split of a node is a
    two-factor problem whose rank-one supports are disjoint or identical, solved exactly by ONE batched
    truncated SVD of its decoupled blocks.

    Parameters
    ----------
    A : array_like of shape (m, n)
        Real or complex, finite, non-empty; ``(m, n)`` must equal the chain's shape.
    chain : sequence of KSPattern
        Chainable patterns, leftmost first (see :func:`wellposed.kronecker_spec.parse_chain_spec`).
    order : {'balanced', 'left-to-right', 'right-to-left'}
        Tree over split points: split in the middle, or peel off the leftmost / rightmost factor first.
    orthonormalize : bool, default False
        Orthonormalized variant: every node is the projection of ``A`` on block isometries built from the
        factors already fixed. Then ``error² ≤ off² + Σ_s tail_s`` and each recorded split error is at most
        ``E_s(A)``, so the certificate covers every split point at no extra cost and
        ``error ≤ sqrt(L−1) · E*``.
    bit_reversal : bool, default False
        Factorize ``A[:, perm]`` with ``perm`` the bit-reversal permutation (the DFT matrix is then an exact
        butterfly product); the permutation is kept in the result and undone by ``apply`` / ``to_dense``.
    certificate : {'free', 'exact'}
        ``'free'``: lower bounds that the algorithm gets for nothing (the root split; every split when
        orthonormalized). ``'exact'``: also compute ``E_s(A)`` at every split point (see
        :func:`split_errors_exact`; costs about ``Σ_s min(b_s, c_s)`` passes over ``A``).

    Returns
    -------
    ButterflyResult

    Raises
    ------
    InvalidMatrixError
        ``A`` empty, not 2-D, not numeric, non-finite, or of the wrong shape.
    InvalidChainError
        The chain is invalid or not chainable.
    InvalidSpecError
        Unknown ``order`` or ``certificate``.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> H = np.array([[1.0]])
    >>> for _ in range(4):
    ...     H = np.block([[H, H], [H, -H]])
    >>> res = factorize(H, dyadic_butterfly(16))
    >>> res.rel_error < 1e-14, len(res.chain)
    (True, 4)
    >>> F = np.fft.fft(np.eye(8))
    >>> factorize(F, dyadic_butterfly(8), bit_reversal=True, orthonormalize=True).rel_error < 1e-14
    True

    Notes
    -----
    Each split of a node with ``n_blocks`` blocks of size ``b×c`` and rank ``r`` costs one batched Gram
    product and eigendecomposition: ``O(n_blocks · b·c·min(b, c))``. For the ``N×N`` dyadic butterfly the
    left-to-right and right-to-left trees cost ``O(N²)`` (blocks ``2×N/2`` at the root, halving after) and
    the balanced tree ``O(N^2.5)`` (blocks ``√N×√N`` at the root). The error is measured on the factors by
    multiplying them back inside the product's Kronecker-sparse pattern (``O(N² r)``), not densely.

    References
    ----------
    L. Zheng, E. Riccietti, R. Gribonval, SIMODS 2023 (arXiv:2110.01230); Q.-T. Le, L. Zheng,
    E. Riccietti, R. Gribonval, arXiv:2411.04506.
    """
    t0 = time.perf_counter()
    if order not in ORDERS:
        raise InvalidSpecError(f"order must be one of {ORDERS!r}, got {order!r}.")
    if certificate not in ("free", "exact"):
        raise InvalidSpecError(f"certificate must be 'free' or 'exact', got {certificate!r}.")
    if not isinstance(orthonormalize, (bool, np.bool_)) or not isinstance(bit_reversal, (bool, np.bool_)):
        raise InvalidSpecError(
            f"orthonormalize and bit_reversal must be booleans, got {orthonormalize!r} and {bit_reversal!r}."
        )
    pats = check_chain(chain)
    # Finiteness is checked on the fly: the root Gram matrices see every entry on the product pattern, the
    # entries off it are summed in _restrict; anything non-finite triggers a scan that names the entry.
    M = _validate_matrix(A, scan=False)
    shape = chain_shape(pats)
    if M.shape != shape:
        raise InvalidMatrixError(
            f"A has shape {M.shape!r} but the chain {' '.join(str(p) for p in pats)} multiplies to {shape!r}; "
            "pick a chain of the matrix's shape (e.g. butterfly:N for N×N, N a power of two)."
        )
    perm = None
    if bit_reversal:
        perm = bit_reversal_permutation(M.shape[1])
    M_in = M
    try:
        # nan/inf and overflow are reported as InvalidMatrixError below, not as RuntimeWarnings
        with np.errstate(over="ignore", invalid="ignore"):
            if perm is not None:
                M = _permute_columns(M, perm)
            D0, off2 = _restrict(M, product_pattern(pats))
            if not math.isfinite(off2):
                raise _NonFinite
            run = _Run(len(pats))
            if orthonormalize:
                datas = _factor_ortho(pats, D0, 0, order, run)
            else:
                datas = _factor_plain(pats, D0, 0, order, run, True)
            on2 = run.energy if run.energy is not None else _sqnorm(D0)
            if not math.isfinite(on2):
                raise _NonFinite
    except _NonFinite:
        _require_finite(M_in)
        raise InvalidMatrixError("A overflows during the factorization; rescale A.") from None
    normA2 = off2 + on2
    factors = tuple(KSFactor(p, d) for p, d in zip(pats, datas, strict=True))
    # The middle split keeps both sub-products small (N^1.5 entries each for the dyadic butterfly).
    err = math.sqrt(off2 + _residual2(pats, [f.data for f in factors], D0, len(pats) // 2))
    # Certified lower bounds: sums of non-negative terms, lowered by their relative rounding error.
    shrink = max(0.0, 1.0 - 4.0 * M.size * np.finfo(np.float64).eps)
    lower = np.sqrt((off2 + run.tails) * shrink)
    if certificate == "exact":
        lower = np.fmax(lower, split_errors_exact(M, pats))
    finite = lower[np.isfinite(lower)]
    lb = float(finite.max()) if finite.size else math.sqrt(off2 * shrink)
    ratio = 1.0 if err == 0.0 and lb == 0.0 else (err / lb if lb > 0 else math.inf)
    normA = math.sqrt(normA2)
    return ButterflyResult(
        chain=FactorChain(factors),
        error=err,
        rel_error=err / normA if normA > 0 else 0.0,
        split_errors=lower,
        certificate_ratio=ratio,
        seconds=time.perf_counter() - t0,
        order=order,
        orthonormalized=bool(orthonormalize),
        off_support_error=math.sqrt(off2),
        column_permutation=perm,
    )


def split_errors_exact(A: np.ndarray, chain: Sequence[KSPattern]) -> np.ndarray:
    """Optimal two-factor errors ``E_s`` of ``A`` at every split point ``s`` of a chainable chain.

    ``E_s`` is the error of the best product ``(F_1⋯F_s)(F_(s+1)⋯F_L)`` with both sides free inside their
    product patterns; it is a lower bound on the error of any chain (the optimum ``E*`` included).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> rng = np.random.default_rng(1)
    >>> E = split_errors_exact(rng.standard_normal((8, 8)), dyadic_butterfly(8))
    >>> E.shape, bool((E > 0).all())
    ((2,), True)

    Notes
    -----
    One batched eigendecomposition of Gram matrices per split point:
    ``O(Σ_s n_blocks_s · b_s·c_s·min(b_s, c_s))``.
    """
    pats = check_chain(chain)
    M = _validate_matrix(A)
    if M.shape != chain_shape(pats):
        raise InvalidMatrixError(f"A has shape {M.shape!r}, the chain multiplies to {chain_shape(pats)!r}.")
    D0, off2 = _restrict(M, product_pattern(pats))
    out = np.empty(len(pats) - 1)
    for s in range(1, len(pats)):  # one batched call per split point
        pr = PairBlocks.of(product_pattern(pats[:s]), product_pattern(pats[s:]))
        out[s - 1] = math.sqrt(off2 + float(_tail_only(pr.product_blocks(D0), pr.r).sum()))
    return out


def two_factor_reference(A: np.ndarray, left: KSPattern, right: KSPattern) -> float:
    """Optimal two-factor error by the disjoint-or-identical theorem on the masks (plain loops; test oracle).

    Groups the middle indices by their rank-one support (row set of the left column, column set of the
    right row), checks the supports are pairwise disjoint or identical, and sums the SVD tails of each
    class rectangle plus the energy off the union. Independent of the block algebra used by
    :func:`factorize`; slow (``O(m n r)`` Python-level work).

    Examples
    --------
    >>> two_factor_reference(np.eye(4), KSPattern(1, 2, 2, 2), KSPattern(2, 2, 2, 1)) < 1e-12
    True
    """
    check_chain([left, right])
    M = np.asarray(A)
    Lm, Rm = left.mask(), right.mask()
    classes: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
    for k in range(Lm.shape[1]):
        rows = tuple(int(i) for i in np.flatnonzero(Lm[:, k]))
        cols = tuple(int(j) for j in np.flatnonzero(Rm[k, :]))
        if rows and cols:
            classes[(rows, cols)] = classes.get((rows, cols), 0) + 1
    covered = np.zeros(M.shape, dtype=bool)
    total = 0.0
    for (rows, cols), size in classes.items():
        if covered[np.ix_(rows, cols)].any():
            raise InvalidChainError("rank-one supports overlap without being identical; not a chainable pair.")
        covered[np.ix_(rows, cols)] = True
        sv = np.linalg.svd(M[np.ix_(rows, cols)], compute_uv=False)
        total += float(np.sum(sv[size:] ** 2))
    total += float(np.sum(np.abs(M[~covered]) ** 2))
    return math.sqrt(total)
