"""The membership part of a sentence ("A ∈ P") with one factor eliminated by linear algebra, and the gauge of
the factor that stays.

``A ∈ P`` reads ``∃X,Y: XYᵀ = A``. For fixed ``X`` the equations are linear in ``Y`` and split by the
columns of ``A``: column ``j`` asks for a vector ``y_j`` with ``M_j y_j = a_j``, where ``M_j = X[:, K_j]``
keeps the components ``K_j = {k : J[j, k] = 1}`` allowed in that column. Such a ``y_j`` exists iff
``a_j`` lies in the column space of ``M_j``, i.e. ``rank [M_j | a_j] ≤ rank M_j``, which is the
quantifier-free condition

    ∧_{s ≥ 1}  ( every s×s minor of M_j vanishes  ⇒  every s×s minor of [M_j | a_j] vanishes ).

So ``A ∈ P`` iff ``∃X: ∧_j colspan_j(X, A)``: every variable of ``Y`` is gone, at the price of minors of
degree up to ``min(m, |K_j| + 1)`` (see ``docs/qe.md`` for the proof). The side with more variables is
eliminated (``Y`` on ties).

The factor that stays can be gauge-fixed: the condition depends on ``X`` only through the column spaces
of the ``M_j``, which do not change when a column of ``X`` is multiplied by a nonzero number; so ``X`` may
be taken with the first nonzero entry of each column equal to 1. The same holds without elimination
(multiply ``x_k`` by ``c`` and ``y_k`` by ``1/c``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import sympy

from ..support import SupportPattern
from .nodes import FALSE, TRUE, Const, Formula, Implies, Not, atom, conj, disj, free_symbols

__all__ = ["membership_formula", "column_space_formula", "first_nonzero_gauge", "eliminated_side"]


def eliminated_side(pattern: SupportPattern) -> str:
    """``"y"`` or ``"x"``: the factor with more allowed entries (``"y"`` on ties), the one elimination removes.

    Examples
    --------
    >>> from wellposed.families import family
    >>> eliminated_side(family("lu:2")), eliminated_side(family("full:1,3,1")), eliminated_side(family("full:3,1,1"))
    ('y', 'y', 'x')
    """
    return "y" if int(pattern.y_support.sum()) >= int(pattern.x_support.sum()) else "x"


def implies(lhs: Formula, rhs: Formula) -> Formula:
    """``lhs ⇒ rhs`` with constant folding."""
    if lhs == FALSE or rhs == TRUE:
        return TRUE
    if lhs == TRUE:
        return rhs
    if rhs == FALSE:
        return negate(lhs)
    return Implies(lhs, rhs)


def negate(f: Formula) -> Formula:
    """``¬f`` with constant folding."""
    return Const(not f.value) if isinstance(f, Const) else Not(f)


def _minors(matrix: sympy.Matrix, s: int, must_have: int | None = None) -> list[sympy.Expr]:
    """The nonzero s×s minors of ``matrix`` (only those using column ``must_have`` when given)."""
    rows, cols = matrix.shape
    out = []
    for rs in itertools.combinations(range(rows), s):
        for cs in itertools.combinations(range(cols), s):
            if must_have is not None and must_have not in cs:
                continue
            d = sympy.expand(matrix.extract(list(rs), list(cs)).det(method="berkowitz"))
            if d != 0:
                out.append(d)
    return out


def column_space_formula(columns: list[list[sympy.Expr]], target: list[sympy.Expr]) -> Formula:
    """Quantifier-free "``target`` lies in the span of ``columns``" (vectors of equal length) by minors.

    Examples
    --------
    >>> x, a, b = sympy.symbols("x a b")
    >>> f = column_space_formula([[x, 0]], [a, b])  # (a, b) ∈ span{(x, 0)}
    >>> f.args[0]  # rank 0: x = 0 ⇒ a = b = 0
    Implies(lhs=Atom(lhs=x, rel='='), rhs=And(args=(Atom(lhs=a, rel='='), Atom(lhs=b, rel='='))))
    >>> f.args[1]  # rank ≤ 1: the 2×2 minor of [x a; 0 b] vanishes
    Atom(lhs=b*x, rel='=')
    """
    length = len(target)
    keep = [i for i in range(length) if target[i] != 0 or any(c[i] != 0 for c in columns)]
    if not keep:
        return TRUE
    mat = sympy.Matrix([[c[i] for c in columns] + [target[i]] for i in keep])
    t = len(columns)
    parts = []
    for s in range(1, min(len(keep), t + 1) + 1):
        low = conj(atom(d, "=") for d in _minors(mat[:, :t], s)) if s <= t else TRUE
        high = conj(atom(d, "=") for d in _minors(mat, s, must_have=t))
        parts.append(implies(low, high))
    return conj(parts)


def first_nonzero_gauge(variables: Mapping[tuple[int, int], sympy.Expr], shape: tuple[int, int]) -> Formula:
    """"The first nonzero allowed entry of each column is 1": ``(v_1 = … = v_{q−1} = 0) ⇒ v_q ∈ {0, 1}``."""
    parts = []
    for k in range(shape[1]):
        column = [variables[(i, k)] for i in range(shape[0]) if (i, k) in variables]
        for q, v in enumerate(column):
            before = conj(atom(w, "=") for w in column[:q])
            parts.append(implies(before, disj([atom(v, "="), atom(v, "=", 1)])))
    return conj(parts)


def membership_formula(pattern: SupportPattern, a_entries: Mapping[tuple[int, int], sympy.Expr],
                       xs: Mapping[tuple[int, int], sympy.Symbol], ys: Mapping[tuple[int, int], sympy.Symbol],
                       eliminate: bool, gauge: bool) -> tuple[list[sympy.Symbol], Formula]:
    """``(variables, body)`` with ``∃ variables: body`` equivalent to ``A ∈ P`` (``A`` given by ``a_entries``).

    Without ``eliminate`` the body is the equations ``XYᵀ = A``; with it, the larger factor is eliminated
    (:func:`column_space_formula` per column, or per row when ``X`` goes). With ``gauge`` the factor that
    stays (``X`` without elimination) gets :func:`first_nonzero_gauge`.
    """
    m, n, r = pattern.m, pattern.n, pattern.r
    x, y = pattern.x_support, pattern.y_support
    if not eliminate:
        parts = []
        for i in range(m):
            for j in range(n):
                entry = sympy.Add(*[xs[(i, k)] * ys[(j, k)] for k in range(r) if x[i, k] and y[j, k]])
                parts.append(atom(entry, "=", a_entries[(i, j)]))
        body = conj(parts)
        kept = xs
        shape = (m, r)
        variables = [*xs.values(), *ys.values()]
    else:
        side = eliminated_side(pattern)
        if side == "y":  # keep X: column j of A in the span of the columns k ∈ K_j of X
            kept, shape, other, count = xs, (m, r), y, n
            def entry(t: int, i: int) -> sympy.Expr:
                return a_entries[(i, t)]
        else:  # keep Y: row i of A in the span of the columns k ∈ I_i of Y
            kept, shape, other, count = ys, (n, r), x, m
            def entry(t: int, i: int) -> sympy.Expr:
                return a_entries[(t, i)]
        length = shape[0]
        parts = []
        for t in range(count):
            ks = np.flatnonzero(other[t])
            columns = [[kept.get((i, int(k)), sympy.Integer(0)) for i in range(length)] for k in ks]
            parts.append(column_space_formula(columns, [entry(t, i) for i in range(length)]))
        body = conj(parts)
        variables = list(kept.values())
    if gauge:
        body = conj([first_nonzero_gauge(kept, shape), body])
    used = free_symbols(body)
    return [v for v in variables if v in used], body
