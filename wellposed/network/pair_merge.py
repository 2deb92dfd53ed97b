"""The adjacent-pair merge: two adjacent factors whose products are every matrix on their boolean product.

For a pair ``(W_a, W_b)`` of adjacent factors (``W_b`` applied after ``W_a``), the two-factor pattern of
``W_b W_a`` has the boolean product ``bool(M_b M_a)`` as its union of rank-one supports. When the two-factor
engine's whole-space proofs show that every matrix on that union is a product ``W_b W_a``, the pair can be
replaced by one free factor on the boolean product without changing ``P`` (docs/chains.md §2). Two proofs are
used, both exactly re-checkable:

* ``theorem:full-space`` (:func:`wellposed.closedness.theorems.linear_slice_onto`): one side of every
  component fixed to integers makes the product a linear map of exact rank ``|union|``; a matrix on the
  union (or a curve of them) is then split exactly by solving that linear system, so not-closed certificates
  of the merged chain lift to the original layers;
* ``theorem:peeling`` (:func:`wellposed.closedness.peeling.peeling_onto`, re-checked by
  :func:`~wellposed.closedness.peeling.check_peeling`): proves the same, but its construction divides by
  entries of the matrix, so a curve of the merged chain does not lift to a polynomial curve; it is used for
  closed verdicts (and for not-closed verdicts whose evidence needs no curve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CertificateError
from .masks import bool_product
from .pairs import pair_pattern

__all__ = ["PairMerge", "everything_pair", "split_by_slice"]

_Poly = dict[int, Fraction]
_Sparse = dict[tuple[int, int], _Poly]


@dataclass(frozen=True)
class PairMerge:
    """Factors ``k`` and ``k + 1`` (0-based, network order) of a chain multiply to every matrix on their
    boolean product, proved by ``method`` with ``evidence`` (the two-factor engine's evidence for the pattern
    ``x = M_{k+1}``, ``y = M_kᵀ``)."""

    k: int
    method: str
    evidence: dict[str, Any]

    def merged(self, masks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The chain with the pair replaced by one free factor on the boolean product."""
        ms = [np.asarray(m, bool) for m in masks]
        return [*ms[:self.k], bool_product([ms[self.k], ms[self.k + 1]]), *ms[self.k + 2:]]

    def to_json(self, layers: Sequence[int], earlier: np.ndarray, later: np.ndarray) -> dict[str, Any]:
        """The record of the merge: the original layers, the pair's masks (``out × in`` rows of 0/1, earlier
        first), the proof's method and its evidence (re-checked by
        :func:`wellposed.network.chain_verify.check_pair_merge`)."""
        text = lambda m: ["".join("1" if v else "0" for v in row) for row in m]  # noqa: E731
        return {"layers": [int(v) for v in layers], "masks": [text(earlier), text(later)], "method": self.method,
                "evidence": self.evidence}


def everything_pair(masks: Sequence[np.ndarray], *, skip: int = 0) -> PairMerge | None:
    """The first adjacent pair (from position ``skip``) whose products are every matrix on their boolean
    product, proved by a linear slice (preferred: it lifts curves) or by peeling; None when no pair is proved.

    Both searches are bounded by counts (``2^r`` side choices times two integer draws for the slice, at most
    :data:`~wellposed.closedness.peeling.MAX_SLICES` rank tests for peeling); pairs with more than
    :data:`~wellposed.closedness.peeling.MAX_FREE_ENTRIES` allowed entries are not looked at (the slices are
    dense matrices).

    >>> up = np.triu(np.ones((2, 2), bool))
    >>> everything_pair([up, up.T, np.ones((2, 2), bool)]).method
    'theorem:full-space'
    """
    from ..closedness.peeling import MAX_FREE_ENTRIES, peeling_onto
    from ..closedness.theorems import linear_slice_onto

    for k in range(skip, len(masks) - 1):
        if int(masks[k].sum()) + int(masks[k + 1].sum()) > MAX_FREE_ENTRIES:
            continue
        p = pair_pattern(masks[k + 1], masks[k])
        if p.is_trivial() or not p.union_mask().any():
            continue
        onto = linear_slice_onto(p)
        if onto is not None:
            return PairMerge(k, "theorem:full-space", onto)
        evidence = peeling_onto(p)
        if evidence is not None:
            return PairMerge(k, "theorem:peeling", evidence)
    return None


def split_by_slice(later: np.ndarray, earlier: np.ndarray, evidence: dict[str, Any], value: _Sparse
                   ) -> tuple[_Sparse, _Sparse]:
    """Write a (Laurent) matrix supported on ``bool(M_later M_earlier)`` as ``W_later W_earlier`` exactly,
    following linear-slice evidence: the fixed sides are the evidence's integers, the varying entries solve the
    slice's linear system, one power of ``ε`` at a time (the system is linear, so the solution is again a
    Laurent polynomial). Returns ``(W_later, W_earlier)`` as sparse Laurent matrices.

    Raises :class:`~wellposed.errors.CertificateError` when ``value`` leaves the boolean product or the slice
    does not reach it.
    """
    import flint

    p = pair_pattern(later, earlier)
    x, y = p.x_support, p.y_support
    fx = np.array(evidence["fixed_x"], dtype=np.int64) * x
    fy = np.array(evidence["fixed_y"], dtype=np.int64) * y
    sides = evidence["sides"]
    cells = [(int(c[0]), int(c[1])) for c in np.argwhere(p.union_mask())]
    index = {c: t for t, c in enumerate(cells)}
    if any(ij not in index for ij in value):
        raise CertificateError("a merged factor's entry lies outside the boolean product of its pair.")
    variables = [("y", int(j), k) for k in range(p.r) if sides[k] == "vary Y" for j in np.flatnonzero(y[:, k])] + \
        [("x", int(i), k) for k in range(p.r) if sides[k] == "vary X" for i in np.flatnonzero(x[:, k])]
    mat = [[0] * len(variables) for _ in cells]
    for col, (side, a, k) in enumerate(variables):
        for t, (i, j) in enumerate(cells):
            if side == "y" and j == a:
                mat[t][col] = int(fx[i, k])
            elif side == "x" and i == a:
                mat[t][col] = int(fy[j, k])
    wl: _Sparse = {}
    we: _Sparse = {}
    for k in range(p.r):  # the fixed sides: constant curves
        if sides[k] == "vary Y":
            wl.update({(int(i), k): {0: Fraction(int(fx[i, k]))} for i in np.flatnonzero(fx[:, k])})
        else:
            we.update({(k, int(j)): {0: Fraction(int(fy[j, k]))} for j in np.flatnonzero(fy[:, k])})
    powers = sorted({e for poly in value.values() for e in poly})
    for e in powers:
        rhs = [value.get(c, {}).get(e, Fraction(0)) for c in cells]
        aug = flint.fmpq_mat([[*row, flint.fmpq(b.numerator, b.denominator)] for row, b in zip(mat, rhs, strict=True)])
        red, rank = aug.rref()
        for row in range(rank):
            pivot = next(c for c in range(len(variables) + 1) if red[row, c] != 0)
            if pivot == len(variables):
                raise CertificateError("the linear slice does not reach a merged factor's value.")
            v = red[row, len(variables)]
            coef = Fraction(int(v.p), int(v.q))
            if coef == 0:
                continue
            side, a, k = variables[pivot]
            target, key = (we, (k, a)) if side == "y" else (wl, (a, k))
            target.setdefault(key, {})[e] = coef
    return wl, we
