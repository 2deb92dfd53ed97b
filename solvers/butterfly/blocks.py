"""Block algebra of chainable Kronecker-sparse pairs: the product of two chainable factors splits into independent
small dense blocks; reshapes between the ``(a, b, c, d)`` data layout and those blocks, and products of factors.

Shared by the hierarchical factorization (:mod:`wellposed.solvers.butterfly.factorize`) and the fast apply of
:class:`~wellposed.solvers.butterfly.factors.FactorChain`; not re-exported by the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from wellposed.kronecker import KSPattern, product_pattern

__all__ = ["PairBlocks", "bmm", "combine", "chain_product", "bit_reversal", "l2r_pair"]


def bit_reversal(n: int) -> np.ndarray:
    """Bit-reversal permutation of ``range(n)``, ``n`` a power of two (not checked here; an involution). A fresh
    copy of a cached array (callers may keep or modify it)."""
    return _bit_reversal(int(n)).copy()


@lru_cache(maxsize=32)
def _bit_reversal(n: int) -> np.ndarray:
    L = n.bit_length() - 1
    idx = np.arange(n)
    out = np.zeros(n, dtype=np.int64)
    for bit in range(L):  # L = log2(n) vectorized passes, not a loop over entries
        out |= ((idx >> bit) & 1) << (L - 1 - bit)
    out.flags.writeable = False
    return out


# ----------------------------------------------------------------------------------------------------------
# Block views of a chainable pair (left pattern Pl, right pattern Pr).
#
# With p = a_r/a_l, q = d_l/d_r, r = c_l/p = b_r/q, the product Pl·Pr has pattern (a_l, b_l*q, p*c_r, d_r) and
# splits into a_l*d_r*p*q independent b_l×c_r blocks of rank <= r, indexed (alpha, delta, pi, kappa):
#   product[alpha, (beta,kappa), (pi,gamma), delta] = sum_rho left[alpha, beta, (pi,rho), (kappa,delta)]
#                                                           * right[(alpha,pi), (rho,kappa), gamma, delta].
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairBlocks:
    """The block layout of a chainable pair ``Pl · Pr`` (its product pattern is
    :func:`~wellposed.kronecker.product_pattern` ``((Pl, Pr))``)."""

    al: int
    bl: int
    p: int
    r: int
    q: int
    cr: int
    dr: int

    @staticmethod
    def of(Pl: KSPattern, Pr: KSPattern) -> PairBlocks:
        p, q = Pr.a // Pl.a, Pl.d // Pr.d
        return PairBlocks(Pl.a, Pl.b, p, Pl.c // p, q, Pr.c, Pr.d)

    def product_blocks(self, D: np.ndarray) -> np.ndarray:
        """(a_l, b_l q, p c_r, d_r) data -> (a_l, d_r, p, q, b_l, c_r) blocks (a view when possible)."""
        return D.reshape(self.al, self.bl, self.q, self.p, self.cr, self.dr).transpose(0, 5, 3, 2, 1, 4)

    def product_from_blocks(self, B: np.ndarray) -> np.ndarray:
        return B.transpose(0, 4, 3, 2, 5, 1).reshape(self.al, self.bl * self.q, self.p * self.cr, self.dr)

    def left_blocks(self, X: np.ndarray) -> np.ndarray:
        """(a_l, b_l, p r, q d_r) -> (a_l, d_r, p, q, b_l, r)."""
        return X.reshape(self.al, self.bl, self.p, self.r, self.q, self.dr).transpose(0, 5, 2, 4, 1, 3)

    def left_from_blocks(self, U: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(U.transpose(0, 4, 2, 5, 3, 1)).reshape(
            self.al, self.bl, self.p * self.r, self.q * self.dr
        )

    def right_blocks(self, Y: np.ndarray) -> np.ndarray:
        """(a_l p, r q, c_r, d_r) -> (a_l, d_r, p, q, r, c_r)."""
        return Y.reshape(self.al, self.p, self.r, self.q, self.cr, self.dr).transpose(0, 5, 1, 3, 2, 4)

    def product_blocks_bitrev(self, S: np.ndarray) -> np.ndarray:
        """Block view of a node stored with its columns in bit-reversed order (``d_r = 1``): entry
        ``[α, 0, π', κ, β, γ']`` is block ``(bitrev π', κ)`` at row ``β`` and column ``bitrev γ'``."""
        return S.reshape(self.al, self.bl, self.q, self.cr, self.p, self.dr).transpose(0, 5, 4, 2, 1, 3)

    def right_from_blocks(self, W: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(W.transpose(0, 2, 4, 3, 5, 1)).reshape(
            self.al * self.p, self.r * self.q, self.cr, self.dr
        )


@lru_cache(maxsize=256)
def l2r_pair(pats: tuple[KSPattern, ...], i: int) -> PairBlocks:
    """The block layout of split ``i`` of the left-to-right tree on ``pats`` (factor ``i`` against the product of
    the factors after it); cached, so a chain's patterns are combined once, not at every factorization."""
    return PairBlocks.of(pats[i], product_pattern(pats[i + 1 :]))


def bmm(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Batched ``X @ Y``; inner dimension one is a broadcast product, a short one goes through einsum (matmul
    would call gemm per block)."""
    if X.shape[-1] == 1:
        return X * Y
    if X.shape[-1] <= 4:
        return np.einsum("...ik,...kj->...ij", X, Y, order="C")
    return X @ Y


def combine(Pl: KSPattern, X: np.ndarray, Pr: KSPattern, Y: np.ndarray) -> tuple[KSPattern, np.ndarray]:
    """Product of two chainable Kronecker-sparse matrices, in (a, b, c, d) form: one batched matmul.

    >>> from wellposed.kronecker import dyadic_butterfly
    >>> Pl, Pr = dyadic_butterfly(4)
    >>> P, D = combine(Pl, np.ones(Pl.abcd), Pr, np.ones(Pr.abcd))
    >>> P, D.reshape(4, 4).tolist() == np.ones((4, 4)).tolist()  # all-ones factors: the all-ones 4×4
    (KSPattern(a=1, b=4, c=4, d=1), True)
    """
    pr = PairBlocks.of(Pl, Pr)
    return product_pattern((Pl, Pr)), pr.product_from_blocks(bmm(pr.left_blocks(X), pr.right_blocks(Y)))


def chain_product(pats: Sequence[KSPattern], datas: Sequence[np.ndarray]) -> tuple[KSPattern, np.ndarray]:
    """Product of a chainable run of factors as (pattern, data), multiplied along a balanced tree."""
    if len(pats) == 1:
        return pats[0], datas[0]
    h = len(pats) // 2
    Pl, X = chain_product(pats[:h], datas[:h])
    Pr, Y = chain_product(pats[h:], datas[h:])
    return combine(Pl, X, Pr, Y)
