"""Curve search: look for a limit matrix A* ∉ P reached by a Laurent curve of small degree.

Candidates ``A*`` are 0/1 matrices on the union of the supports, fewest nonzeros first (P is invariant
under row and column scaling, so 0/1 targets cover many sign patterns). For each candidate, z3 first
checks ``A* ∉ P`` (the system ``X Yᵀ = A*`` is unsat, :func:`membership_z3`); then it looks for a curve
``X(ε) = Σ_{|e| ≤ d} X_e ε^e``, ``Y(ε) = Σ_{|e| ≤ d} Y_e ε^e`` whose product has no negative power of ε
and constant term ``A*``: a system of bilinear equations in the coefficients. A rational solution gives
a certificate, which the caller re-verifies independently. Both queries are built by
:mod:`wellposed.formulas.queries` and answered in process under counted budgets
(:func:`wellposed.closedness.budget.z3_check`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..backends.answer import Answer
from ..formulas.queries import curve_query, membership_query
from ..support import SupportPattern
from .budget import BASE, Budget, z3_check
from .certificates import Laurent, LimitMatrix, NotClosedCertificate

__all__ = ["find_curve", "curve_search", "membership_z3"]


def membership_z3(pattern: SupportPattern, limit: Any, *, rlimit: int = BASE["query_rlimit"],
                  budget: Budget | None = None, spent: list[int] | None = None) -> Answer:
    """z3's answer to ``∃X, Y: X Yᵀ = limit`` (:func:`~wellposed.formulas.queries.membership_query`).

    ``TRUE``: the limit is in P; ``FALSE``: it is not; ``UNKNOWN``: the resource limit ``rlimit`` was reached
    (deterministic, the same on every machine). ``limit`` is m×n rows or a mapping ``{(i, j): value}`` of
    exact rationals. The z3 resource units spent are appended to ``spent`` when given.

    Examples
    --------
    >>> from wellposed.families import family
    >>> membership_z3(family("lu:2"), [[0, 1], [1, 0]])
    <Answer.FALSE: 'false'>
    >>> membership_z3(family("lu:2"), [[1, 1], [1, 0]])
    <Answer.TRUE: 'true'>

    Notes
    -----
    ``|I| + |J|`` real unknowns and ``m n`` bilinear equations, solved by z3's nlsat procedure (complete for
    nonlinear real arithmetic, doubly exponential in the worst case) in a fresh ``z3.Context``.
    """
    target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
    result = z3_check(membership_query(pattern, target.entries), rlimit, budget)
    if spent is not None:
        spent.append(result.units)
    return result.answer


def find_curve(pattern: SupportPattern, limit: Sequence[Sequence[Fraction]] | Mapping[tuple[int, int], Fraction],
               degree: int = 1, *, rlimit: int = BASE["query_rlimit"], budget: Budget | None = None,
               spent: list[int] | None = None,
               ) -> tuple[dict[tuple[int, int], Laurent], dict[tuple[int, int], Laurent]] | None:
    """Find a Laurent curve of degree ≤ ``degree`` with ``X(ε)Y(ε)ᵀ = limit + O(ε)``, or None.

    Returns ``(x_curve, y_curve)`` with rational coefficients, or None if z3 finds none (unsat,
    unknown after ``rlimit`` resource units, or only irrational solutions). The units spent are appended
    to ``spent`` when given.

    Examples
    --------
    >>> from wellposed.families import family
    >>> F0, F1 = Fraction(0), Fraction(1)
    >>> find_curve(family("lu:2"), [[F0, F1], [F1, F0]]) is not None
    True
    >>> find_curve(family("full:2,2,1"), [[F1, F0], [F0, F1]]) is None
    True

    Notes
    -----
    ``(2d + 1)(|I| + |J|)`` real unknowns and ``(2d + 1)`` bilinear equations per covered entry
    (orders ``-2d, …, 0``; :func:`~wellposed.formulas.queries.curve_query`), solved by z3's nlsat.
    """
    target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
    query = curve_query(pattern, target.entries, degree)
    result = z3_check(query, rlimit, budget, model=True)
    if spent is not None:
        spent.append(result.units)
    if result.answer is not Answer.TRUE or result.model is None:
        return None
    x_terms: dict[tuple[int, int], dict[int, Fraction]] = {}
    y_terms: dict[tuple[int, int], dict[int, Fraction]] = {}
    for name, value in result.model.items():
        if value is None:  # an irrational algebraic number: no exact certificate
            return None
        side, a, k, e = query.keys[name]
        if value != 0:
            (x_terms if side == "x" else y_terms).setdefault((a, k), {})[e] = value
    x_curve = {key: tuple(sorted(v.items())) for key, v in x_terms.items()}
    y_curve = {key: tuple(sorted(v.items())) for key, v in y_terms.items()}
    return x_curve, y_curve


def rectangle_member(pattern: SupportPattern, cells: Sequence[tuple[int, int]]) -> bool:
    """Whether the 0/1 matrix with support ``cells`` is a sum of all-ones rectangles ``R × C ⊆ S_k`` with
    distinct components k and disjoint supports: then it is ``X Yᵀ`` with ``x_k = 1_R``, ``y_k = 1_C``, so in P.

    A sufficient test of membership without a solver (exhaustive over the components and rectangles that
    can hold the first uncovered entry).

    Examples
    --------
    >>> from wellposed.families import family
    >>> rectangle_member(family("lu:2"), [(0, 0), (1, 0), (1, 1)]), rectangle_member(family("lu:2"), [(0, 1), (1, 0)])
    (True, False)
    """
    x, y = pattern.x_support, pattern.y_support

    def split(left: frozenset[tuple[int, int]], used: frozenset[int]) -> bool:
        if not left:
            return True
        i, j = min(left)
        for k in range(pattern.r):
            if k in used or not (x[i, k] and y[j, k]):
                continue
            rows = [a for a in range(pattern.m) if a != i and x[a, k] and (a, j) in left]
            cols = [b for b in range(pattern.n) if b != j and y[b, k] and (i, b) in left]
            for nr in range(len(rows) + 1):
                for rr in itertools.combinations(rows, nr):
                    for nc in range(len(cols) + 1):
                        for cc in itertools.combinations(cols, nc):
                            block = {(a, b) for a in (i, *rr) for b in (j, *cc)}
                            if block <= left and split(left - block, used | {k}):
                                return True
        return False

    return split(frozenset(cells), frozenset())


def _violates_bounds(minors: list[tuple[tuple[int, ...], tuple[int, ...]]], chosen: set[tuple[int, int]]) -> bool:
    """Whether the 0/1 matrix with support ``chosen`` has a nonzero minor among those vanishing on P (then it
    is not in the closure of P either)."""
    import flint

    for rows, cols in minors:
        if sum((a, b) in chosen for a in rows for b in cols) < len(rows):
            continue  # fewer nonzeros than the size: the minor vanishes
        if flint.fmpz_mat([[int((a, b) in chosen) for b in cols] for a in rows]).det() != 0:
            return True
    return False


def curve_search(pattern: SupportPattern, *, degree: int = 1, budget: Budget | None = None,
                 max_candidates: int | None = None) -> NotClosedCertificate | None:
    """Search 0/1 limit candidates for a not-closed certificate (see the module docstring).

    Parameters
    ----------
    pattern : SupportPattern
    degree : int
        Largest ``|exponent|`` in the curve (``degree = 1`` allows ε⁻¹, 1, ε).
    budget : Budget, optional
        Deterministic limits: each z3 query gets ``query_rlimit`` resource units, the whole search
        stops once it has spent ``curve_rlimit`` units, asked z3 about ``curve_candidates`` candidates
        (``max_candidates`` overrides the latter) or enumerated ``curve_enumerated`` candidates. A
        wall-clock cap in the budget raises :class:`~wellposed.errors.WallClockCapError`.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["11", "11"], ["10", "01", "11"])  # two full-row components
    >>> cert = curve_search(p)
    >>> cert.limit_as_strings()
    [['1', '1', '0'], ['0', '0', '1']]
    >>> cert.verify()["proof"]
    'z3-unsat'

    Notes
    -----
    Two exact filters run before any solver: a candidate that is a sum of all-ones rectangles inside
    distinct supports is in P (:func:`rectangle_member`), and one with a nonzero minor among those that
    vanish on P (max-flow rank bounds, :func:`~wellposed.closedness.determinantal.rank_conditions`) is not
    in the closure; neither can be a limit outside P. Then at most ``max_candidates`` pairs of z3 queries;
    each is NP-hard in general, so the summed resource units bound the whole search. Sound, not complete.
    """
    from .determinantal import rank_conditions

    budget = budget if budget is not None else Budget()
    limit_candidates = budget.count("curve_candidates") if max_candidates is None else max_candidates
    rlimit, total = budget.count("query_rlimit"), budget.count("curve_rlimit")
    enumerated_max = budget.count("curve_enumerated")
    union = pattern.union_mask()
    cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(union), strict=True)]
    minors = rank_conditions(pattern) if pattern.m * pattern.n <= 64 else []
    tried = enumerated = 0
    spent: list[int] = []
    for nnz in range(2, len(cells) + 1):
        for chosen in itertools.combinations(cells, nnz):
            if tried >= limit_candidates or sum(spent) >= total or enumerated >= enumerated_max:
                return None
            enumerated += 1
            if rectangle_member(pattern, chosen) or _violates_bounds(minors, set(chosen)):
                continue
            tried += 1
            limit = [[Fraction(0)] * pattern.n for _ in range(pattern.m)]
            for i, j in chosen:
                limit[i][j] = Fraction(1)
            if membership_z3(pattern, limit, rlimit=rlimit, budget=budget, spent=spent) is not Answer.FALSE:
                continue
            curve = find_curve(pattern, limit, degree=degree, rlimit=rlimit, budget=budget, spent=spent)
            if curve is None:
                continue
            target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
            return NotClosedCertificate(pattern, target, curve[0], curve[1], {"kind": "z3-unsat"}, "curve-search")
    return None
