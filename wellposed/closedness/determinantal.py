"""Closed by a solver: P is the closed algebraic set D cut out by the zero pattern and rank-bounded minors.

Rank bounds (no solver): for rows R and columns C, ``rank (XYᵀ)[R, C]`` is at most the number of
vertex-disjoint paths row → component → column (:func:`generic_rank_bound`, Menger), so every square
minor whose bound is below its size vanishes on P (:func:`rank_conditions`), and P ⊆ D. The z3 test
(:func:`determinantal_z3`) asks whether some ``A ∈ D`` has no factorization; ``unsat`` proves ``D ⊆ P``,
so P = D is closed (``theorem:determinantal``, or ``theorem:full-space`` when D is every matrix on the
union). The sentence is built by :func:`wellposed.formulas.queries.determinantal_query` and decided in a
fresh z3 process under counted limits (:func:`wellposed.closedness.budget.z3_decide`).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..backends.answer import Answer
from ..formulas.queries import determinantal_query
from ..support import SupportPattern
from .budget import BASE, Budget, z3_decide

__all__ = ["generic_rank_bound", "rank_conditions", "determinantal_z3", "full_space_z3"]


def generic_rank_bound(pattern: SupportPattern, rows: tuple[int, ...], cols: tuple[int, ...]) -> int:
    """Upper bound (attained for generic factors) on ``rank (X Yᵀ)[rows, cols]`` over all of P.

    It is the largest number of vertex-disjoint paths row → component → column in the graph with an
    edge (i, k) when ``I[i, k]`` and (k, j) when ``J[j, k]``: any set of vertices meeting every such
    path is a factorization bottleneck (Menger; Lindström–Gessel–Viennot for the generic case).

    Examples
    --------
    >>> from wellposed.families import family
    >>> generic_rank_bound(family("lu:3"), (0, 1), (0, 1))
    2
    >>> generic_rank_bound(family("lu:3"), (0,), (0, 1, 2))
    1

    Notes
    -----
    One unit-capacity max flow on ``|rows| + 2r + |cols| + 2`` nodes (networkx), ``O(r (m + n) r)``.
    """
    import networkx as nx

    g = nx.DiGraph()
    x, y = pattern.x_support, pattern.y_support
    for i in rows:
        g.add_edge("s", ("row", i), capacity=1)
        for kk in np.flatnonzero(x[i]):
            g.add_edge(("row", i), ("in", int(kk)), capacity=1)
    for k in range(pattern.r):
        g.add_edge(("in", k), ("out", k), capacity=1)
    for j in cols:
        g.add_edge(("col", j), "t", capacity=1)
        for kk in np.flatnonzero(y[j]):
            g.add_edge(("out", int(kk)), ("col", j), capacity=1)
    if "s" not in g or "t" not in g:
        return 0
    return int(nx.maximum_flow_value(g, "s", "t"))


def rank_conditions(pattern: SupportPattern) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Square minors ``(rows, cols)`` of A, inside the union, that vanish on all of P.

    A minor of size s vanishes on P when :func:`generic_rank_bound` of its rows and columns is < s;
    these minors, with the zero pattern, cut out a closed algebraic set D ⊇ P.

    Examples
    --------
    >>> from wellposed.families import family
    >>> rank_conditions(family("full:3,3,2"))
    [((0, 1, 2), (0, 1, 2))]
    """
    m, n = pattern.m, pattern.n
    out = []
    for s in range(2, min(m, n) + 1):
        for rows in itertools.combinations(range(m), s):
            for cols in itertools.combinations(range(n), s):
                if generic_rank_bound(pattern, rows, cols) < s:
                    out.append((rows, cols))
    return out


def determinantal_z3(pattern: SupportPattern, *, rlimit: int = BASE["determinantal_rlimit"],
                     budget: Budget | None = None, max_minors: int = 64, minors: bool = True,
                     ) -> tuple[Answer | None, list[tuple[tuple[int, ...], tuple[int, ...]]]]:
    """Ask z3 whether P equals the closed set D of matrices on the union whose rank-bounded minors vanish.

    Returns ``(answer, minors)``: ``answer`` is z3's answer to ``∃A ∈ D ∀X,Y: X Yᵀ ≠ A`` (with the
    witness A normalized by diagonal scalings, which preserve D and P: row 0 and column 0 in {0, 1}) —
    ``FALSE`` (unsat) proves ``D ⊆ P``, and since ``P ⊆ D`` always, ``P = D`` is closed; ``TRUE`` or
    ``UNKNOWN`` prove nothing. None (not asked) when there are more than ``max_minors`` minors or
    ``min(m, n) > 5``. With ``minors=False`` (no condition, no normalization) this is the full-space
    test (:func:`full_space_z3`). ``rlimit`` z3 resource units and ``budget``'s
    ``determinantal_allocations`` memory allocations bound the query (counts: the answer is the same on
    every machine); a wall-clock cap in ``budget`` raises :class:`~wellposed.errors.WallClockCapError`
    instead of answering.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["100", "110", "111"], ["110", "001", "111"])
    >>> answer, found = determinantal_z3(p)
    >>> answer, found
    (<Answer.FALSE: 'false'>, [((0, 1), (0, 1)), ((0, 1), (1, 2))])

    Notes
    -----
    The minors are found by max-flow bounds (:func:`rank_conditions`), at most
    ``Σ_s C(m, s) C(n, s)`` flows; the z3 query has one quantifier alternation.
    """
    m, n, _ = pattern.shape
    found: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    if minors:
        if min(m, n) > 5:  # the minor enumeration alone would be too large
            return None, []
        found = rank_conditions(pattern)
        if len(found) > max_minors:
            return None, found
    query = determinantal_query(pattern, found if minors else None)
    allocations = (budget or Budget()).count("determinantal_allocations")
    return z3_decide(query, rlimit, allocations, budget), found


def full_space_z3(pattern: SupportPattern, *, rlimit: int = BASE["determinantal_rlimit"],
                  budget: Budget | None = None) -> Answer:
    """Ask z3 whether every matrix supported on the union of the supports lies in P.

    The sentence ``∃A ∀X,Y: X Yᵀ ≠ A`` (A on the union, X, Y on the supports) is handed to z3's
    quantifier solver. Returns ``FALSE`` (unsat: P is the whole space ℝ^{union}, hence closed), ``TRUE``
    (some matrix is missing: no conclusion about closedness) or ``UNKNOWN``.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> full_space_z3(SupportPattern(["11", "11"], ["10", "11", "11"]))
    <Answer.FALSE: 'false'>
    >>> from wellposed.families import family
    >>> full_space_z3(family("lu:2"))
    <Answer.TRUE: 'true'>

    Notes
    -----
    ``|union| + |I| + |J|`` variables with one quantifier alternation: z3 decides small cases in
    milliseconds, the cost grows doubly exponentially; ``rlimit`` (z3 resource units, a count) bounds it
    the same way on every machine.
    """
    allocations = (budget or Budget()).count("determinantal_allocations")
    return z3_decide(determinantal_query(pattern, None), rlimit, allocations, budget)
