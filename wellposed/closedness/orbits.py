"""Nested supports on both sides: P is a finite union of Borel orbits, and closedness is a finite check.

When the row supports ``I_k`` form a chain under inclusion and so do the column supports ``J_k``, order
the rows so that every ``I_k`` is an initial segment (rows by the first chain member containing them) and
the columns likewise. Invertible upper-triangular L (rows) and R (columns) then keep every ``I_k`` and
``J_k`` (``L x_k`` stays supported in ``I_k``), so P is stable under ``A ↦ L A Rᵀ``. Under this action every
matrix is equivalent to exactly one partial permutation matrix w (Gaussian elimination), the orbits are
classified by the south-east rank function ``r_w(i, j) = rank A[i:, j:]``, and the closure of the orbit of
w is the set of matrices with ``rank A[i:, j:] ≤ r_w(i, j)`` for all i, j (matrix Schubert varieties:
Fulton 1992; Miller–Sturmfels 2005, ch. 15, for partial permutations; here with both orders reversed).

So P is the union of the orbits of the partial permutations it contains (a finite set W_P), and P is
closed when W_P is a down-set: every partial permutation w′ with ``r_{w′} ≤ r_w`` for some w ∈ W_P lies in
P (an elementary argument, docs/closedness.md §3.6). Conversely a w′ outside P below a member lies in the
closure (the matrix Schubert variety theorem); it is only used as the target of a curve search, so a
not-closed verdict always carries a re-verified curve. :func:`orbit_test` decides membership of each
partial permutation on the union with z3 (counted resource units) and checks the down-set property. It
covers LU-type patterns (not closed), staircases (rectangles anchored at one corner) and the Schubert
rule's patterns alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..backends.answer import Answer
from ..support import SupportPattern
from .budget import Budget
from .curves import membership_z3

__all__ = ["chain_orders", "partial_permutations", "orbit_test", "OrbitResult"]


@dataclass(frozen=True)
class OrbitResult:
    """Outcome of :func:`orbit_test`: ``answer`` is ``CLOSED``, ``NOT_CLOSED`` (with ``witness``, a partial
    permutation in the closure of P but not in P, and ``above``, one in P whose orbit closure contains it) or
    ``UNDECIDED`` (a membership query ran out of its resource units, or too many candidates)."""

    answer: Answer
    members: int = 0
    candidates: int = 0
    witness: tuple[tuple[int, int], ...] | None = None
    above: tuple[tuple[int, int], ...] | None = None
    details: dict[str, Any] = field(default_factory=dict)


def chain_orders(pattern: SupportPattern) -> tuple[list[int], list[int]] | None:
    """Row and column orders making every live ``I_k`` and ``J_k`` an initial segment, or None when the row
    supports or the column supports are not a chain under inclusion.

    Examples
    --------
    >>> from wellposed.families import family
    >>> chain_orders(family("lu:3"))  # I_k = {k..2}: rows in reverse order
    ([2, 1, 0], [2, 1, 0])
    >>> chain_orders(SupportPattern(["10", "11", "01"], ["11", "11"])) is None
    True
    """
    live = ~pattern.empty_components()
    orders = []
    for mask in (pattern.x_support[:, live], pattern.y_support[:, live]):
        sizes = mask.sum(axis=0)
        chain = np.argsort(sizes, kind="stable")
        for a, b in itertools.pairwise(chain.tolist()):
            if (mask[:, a] & ~mask[:, b]).any():
                return None
        # the level of an index: the position in the chain of the smallest support containing it
        level = np.full(mask.shape[0], len(chain), dtype=np.int64)
        for pos, k in reversed(list(enumerate(chain.tolist()))):
            level[mask[:, k]] = pos
        orders.append(sorted(range(mask.shape[0]), key=lambda i: (int(level[i]), i)))
    return orders[0], orders[1]


def partial_permutations(union: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """Every partial permutation matrix supported on ``union`` (as its sorted list of 1-entries), the empty one
    included, by increasing size.

    Examples
    --------
    >>> len(partial_permutations(np.ones((2, 2), bool)))  # 1 + 4 + 2
    7
    """
    m, n = union.shape
    out: list[tuple[tuple[int, int], ...]] = []
    for size in range(min(m, n) + 1):
        for rows in itertools.combinations(range(m), size):
            for cols in itertools.permutations(range(n), size):
                cells = tuple(zip(rows, cols, strict=True))
                if all(union[i, j] for i, j in cells):
                    out.append(cells)
    return out


def _rank_function(cells: tuple[tuple[int, int], ...], row_pos: np.ndarray, col_pos: np.ndarray,
                   m: int, n: int) -> np.ndarray:
    """``r_w(a, b)`` = number of 1-entries of w in rows at position ≥ a and columns at position ≥ b."""
    grid = np.zeros((m + 1, n + 1), dtype=np.int64)
    for i, j in cells:
        grid[row_pos[i], col_pos[j]] += 1
    return grid[::-1, ::-1].cumsum(axis=0).cumsum(axis=1)[::-1, ::-1]


def orbit_test(pattern: SupportPattern, *, budget: Budget | None = None, max_candidates: int | None = None,
               ) -> OrbitResult | None:
    """Decide closedness of a pattern with nested row supports and nested column supports (module docstring).

    Returns None when the supports are not chains. Each partial permutation on the union is tested for
    membership in P by z3 (``query_rlimit`` resource units each); more than ``orbit_candidates``
    (``max_candidates``) partial permutations, or any ``unknown``, gives ``UNDECIDED``.

    Examples
    --------
    >>> from wellposed.families import family
    >>> orbit_test(family("lu:2")).answer, orbit_test(family("lu:2")).witness
    (<Answer.NOT_CLOSED: 'not closed'>, ((0, 1), (1, 0)))
    >>> staircase = SupportPattern(["11", "11", "01"], ["10", "11", "11"])  # I_0 ⊂ I_1, J_1 ⊂ J_0
    >>> orbit_test(staircase).answer
    <Answer.CLOSED: 'closed'>

    Notes
    -----
    ``Σ_s C(m, s) C(n, s) s!`` partial permutations (209 for 4×4), one small z3 query each, and a pairwise
    comparison of their rank functions, ``O(W² m n)``.
    """
    orders = chain_orders(pattern)
    if orders is None:
        return None
    budget = budget if budget is not None else Budget()
    limit = budget.count("orbit_candidates") if max_candidates is None else max_candidates
    rlimit = budget.count("query_rlimit")
    m, n = pattern.m, pattern.n
    union = pattern.union_mask()
    cands = partial_permutations(union) if union.sum() <= 24 else None
    if cands is None or len(cands) > limit:
        return OrbitResult(Answer.UNDECIDED, details={"reason": "too many partial permutations on the union"})
    row_pos = np.empty(m + 1, dtype=np.int64)
    col_pos = np.empty(n + 1, dtype=np.int64)
    row_pos[orders[0]] = np.arange(m)
    col_pos[orders[1]] = np.arange(n)
    ranks = [_rank_function(c, row_pos, col_pos, m, n) for c in cands]
    inside = []
    for cells in cands:
        if not cells:
            inside.append(True)
            continue
        answer = membership_z3(pattern, {c: Fraction(1) for c in cells}, rlimit=rlimit, budget=budget)
        if answer is Answer.UNKNOWN:
            return OrbitResult(Answer.UNDECIDED, candidates=len(cands),
                               details={"reason": f"z3 ran out of resource units on the partial permutation {cells}"})
        inside.append(answer is Answer.TRUE)
    members = [t for t, ok in enumerate(inside) if ok]
    # only maximal members matter: w' ≤ w ≤ w_max
    for t, ok in enumerate(inside):
        if ok:
            continue
        for s in members:
            if (ranks[t] <= ranks[s]).all():
                return OrbitResult(Answer.NOT_CLOSED, len(members), len(cands), cands[t], cands[s],
                                   {"row_order": orders[0], "col_order": orders[1]})
    return OrbitResult(Answer.CLOSED, len(members), len(cands),
                       details={"row_order": orders[0], "col_order": orders[1], "members": len(members),
                                "partial_permutations": len(cands)})
