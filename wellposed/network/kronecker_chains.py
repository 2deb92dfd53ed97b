"""Kronecker-sparse chains among layer masks: every exact representation of a mask, a chainable choice."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..kronecker import KSPattern, is_chainable

__all__ = ["ks_chain", "KS_REFERENCE"]

KS_REFERENCE = ("Q.-T. Le, L. Zheng, E. Riccietti, R. Gribonval, Butterfly factorization with error "
                "guarantees (arXiv:2411.04506)")


def _ks_representations(mask: np.ndarray) -> list[KSPattern]:
    """All patterns ``(a, b, c, d)`` with ``mask == I_a ⊗ 1_{b×c} ⊗ I_d`` exactly.

    The mask is one exactly when it has ``a b c d`` nonzeros and each nonzero ``(i, j)`` has the same
    block index (``i // (b d) == j // (c d)``) and the same position inside the identity
    (``i % d == j % d``): the Kronecker mask holds exactly ``a b c d`` such entries. ``O(nnz)`` per
    candidate, no mask built.
    """
    rows, cols = mask.shape
    ii, jj = np.nonzero(mask)
    nnz = int(ii.size)
    out = []
    g = math.gcd(rows, cols)
    for a in range(1, g + 1):
        if g % a:
            continue
        g2 = math.gcd(rows // a, cols // a)
        for d in range(1, g2 + 1):
            if g2 % d:
                continue
            b, c = rows // (a * d), cols // (a * d)
            if a * b * c * d == nnz and np.array_equal(ii // (b * d), jj // (c * d)) \
                    and np.array_equal(ii % d, jj % d):
                out.append(KSPattern(a, b, c, d))
    return out


def ks_chain(masks: Sequence[np.ndarray]) -> list[KSPattern] | None:
    """A chainable Kronecker-sparse chain matching the masks exactly, leftmost factor (``W_L``) first.

    Each mask may have several ``(a, b, c, d)`` representations (the identity is ``(n,1,1,1)`` and
    ``(1,1,1,n)``); a chainable choice is searched by dynamic programming over the chain.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> chain = dyadic_butterfly(8)  # leftmost factor first
    >>> [str(p) for p in ks_chain([p.mask() for p in reversed(chain)])]
    ['(1,2,2,4)', '(2,2,2,2)', '(4,2,2,1)']
    >>> ks_chain([np.tril(np.ones((2, 2), bool))]) is None
    True
    """
    order = [np.asarray(m, dtype=bool) for m in reversed(masks)]  # product order K_1 = W_L, ...
    reps = [_ks_representations(m) for m in order]
    if any(not r for r in reps):
        return None
    # back[k][p] = predecessor representation reaching p at factor k through chainable pairs
    reach: list[dict[KSPattern, KSPattern | None]] = [dict.fromkeys(reps[0])]
    for k in range(1, len(reps)):
        cur: dict[KSPattern, KSPattern | None] = {}
        for q in reps[k]:
            for p in reach[-1]:
                if is_chainable((p, q)):
                    cur[q] = p
                    break
        if not cur:
            return None
        reach.append(cur)
    chain = [next(iter(reach[-1]))]
    for k in range(len(reps) - 1, 0, -1):
        prev = reach[k][chain[-1]]
        assert prev is not None  # every entry past the first has a predecessor
        chain.append(prev)
    return chain[::-1]

