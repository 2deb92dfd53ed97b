"""Curve search: look for a limit matrix A* ∉ P reached by a Laurent curve of small degree.

Candidates ``A*`` are 0/1 matrices on the union of the supports, fewest nonzeros first (P is invariant
under row and column scaling, so 0/1 targets cover many sign patterns). For each candidate, z3 first
checks ``A* ∉ P`` (the system ``X Yᵀ = A*`` is unsat); then it looks for a curve
``X(ε) = Σ_{|e| ≤ d} X_e ε^e``, ``Y(ε) = Σ_{|e| ≤ d} Y_e ε^e`` whose product has no negative power of ε
and constant term ``A*``: a system of bilinear equations in the coefficients. A rational solution gives
a certificate, which the caller re-verifies independently.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np

from ..support import SupportPattern
from .budget import BASE, Budget, z3_check
from .certificates import Laurent, LimitMatrix, NotClosedCertificate, check_not_in_p_z3

__all__ = ["find_curve", "curve_search"]


def _rational(value: Any) -> Fraction | None:
    import z3

    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    return None


def find_curve(pattern: SupportPattern, limit: list[list[Fraction]], degree: int = 1, *,
               rlimit: int = BASE["query_rlimit"], budget: Budget | None = None, spent: list[int] | None = None
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
    (orders ``-2d, …, 0``), solved by z3's nlsat.
    """
    import z3

    m, n, r = pattern.shape
    exps = range(-degree, degree + 1)
    ctx = z3.Context()
    xv = {(int(i), int(k), e): z3.Real(f"x_{i}_{k}_{e + degree}", ctx)
          for i, k in zip(*np.nonzero(pattern.x_support), strict=True) for e in exps}
    yv = {(int(j), int(k), e): z3.Real(f"y_{j}_{k}_{e + degree}", ctx)
          for j, k in zip(*np.nonzero(pattern.y_support), strict=True) for e in exps}
    solver = z3.SolverFor("QF_NRA", ctx=ctx)
    union = pattern.union_mask()
    for i in range(m):
        for j in range(n):
            if not union[i, j]:
                if limit[i][j] != 0:
                    return None
                continue
            ks = [k for k in range(r) if pattern.x_support[i, k] and pattern.y_support[j, k]]
            for order in range(-2 * degree, 1):
                terms = [xv[i, k, e] * yv[j, k, order - e] for k in ks for e in exps if -degree <= order - e <= degree]
                target = limit[i][j] if order == 0 else Fraction(0)
                solver.add(z3.Sum(terms) == z3.Q(target.numerator, target.denominator, ctx))
    answer, units = z3_check(solver, rlimit, budget)
    if spent is not None:
        spent.append(units)
    if answer != "sat":
        return None
    model = solver.model()
    x_curve: dict[tuple[int, int], dict[int, Fraction]] = {}
    y_curve: dict[tuple[int, int], dict[int, Fraction]] = {}
    for store, variables in ((x_curve, xv), (y_curve, yv)):
        for (a, k, e), var in variables.items():
            q = _rational(model.eval(var, model_completion=True))
            if q is None:
                return None
            if q != 0:
                store.setdefault((a, k), {})[e] = q
    return ({key: tuple(sorted(v.items())) for key, v in x_curve.items()},
            {key: tuple(sorted(v.items())) for key, v in y_curve.items()})


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
        stops once it has spent ``curve_rlimit`` units or tried ``curve_candidates`` candidates
        (``max_candidates`` overrides the latter). A wall-clock cap in the budget raises
        :class:`~wellposed.errors.WallClockCapError`.

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
    At most ``max_candidates`` pairs of z3 queries; each is NP-hard in general, so the summed resource
    units bound the whole search. Sound, not complete.
    """
    budget = budget if budget is not None else Budget()
    limit_candidates = budget.count("curve_candidates") if max_candidates is None else max_candidates
    rlimit, total = budget.count("query_rlimit"), budget.count("curve_rlimit")
    union = pattern.union_mask()
    cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(union), strict=True)]
    tried = 0
    spent: list[int] = []
    for nnz in range(2, len(cells) + 1):
        for chosen in itertools.combinations(cells, nnz):
            if tried >= limit_candidates or sum(spent) >= total:
                return None
            tried += 1
            limit = [[Fraction(0)] * pattern.n for _ in range(pattern.m)]
            for i, j in chosen:
                limit[i][j] = Fraction(1)
            if check_not_in_p_z3(pattern, limit, rlimit=rlimit, budget=budget, spent=spent) != "unsat":
                continue
            curve = find_curve(pattern, limit, degree=degree, rlimit=rlimit, budget=budget, spent=spent)
            if curve is None:
                continue
            target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
            return NotClosedCertificate(pattern, target, curve[0], curve[1], {"kind": "z3-unsat"}, "curve-search")
    return None

