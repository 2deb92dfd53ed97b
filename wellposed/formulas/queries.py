"""Exact polynomial queries answered in process by a solver's API: membership, Laurent curves, determinantal.

The closedness sentences of :mod:`wellposed.formulas.builder` are sympy formulas printed for external QE
tools, whose terms are normalized (expanded, sorted) on purpose. The searches of the closedness engine
ask z3 many small questions through its Python API under *counted* budgets (``rlimit``): how many
resource units a query spends depends on the exact terms handed to z3, down to the order of the
summands and of the variable declarations. So these queries are built here as ordered terms, which
:mod:`wellposed.backends.z3_api` turns into z3 terms one for one, and never through sympy (which would
reorder them, and is too slow for regions of thousands of entries).

Every query about the products ``X Yᵀ`` of a pattern uses :func:`product_terms`, the one place that says
which pairs ``(x_ik, y_jk)`` make the entry ``(XYᵀ)_ij``.

Terms: :class:`Var`, :class:`Num` (an exact rational), :class:`Int` (an integer literal), :class:`Ref` (a
definition of the prelude), :class:`Add` (a sum, in order), :class:`Mul` (a product, folded left to
right). Formulas: :class:`Eq`, :class:`And`, :class:`Or`, :class:`Not`, :class:`Exists`, :class:`ForAll`,
:data:`FALSE` (the connectives and constants of :mod:`~wellposed.formulas.connectives`, shared with
the closedness sentences). A :class:`Query` lists its *prelude* (named definitions, built first and kept
while the query lives), its declared (free, existential) variables and its assertions. Everything else is built
where it occurs, and dropped once used: the query fixes which solver terms exist and in which order they
are created, which is part of the question for a solver whose counted budget (and printed text) follows
its term numbering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..support import SupportPattern
from .connectives import FALSE, And, Const, Exists, ForAll, Not, Or

__all__ = [
    "Var", "Num", "Int", "Ref", "Add", "Mul", "Term", "Eq", "And", "Or", "Not", "Exists", "ForAll", "Const", "FALSE",
    "Formula", "Query", "product_terms", "membership_query", "curve_query", "determinantal_query",
]


@dataclass(frozen=True)
class Var:
    """A real variable."""

    name: str


@dataclass(frozen=True)
class Num:
    """An exact rational constant, written as a quotient ``p/q`` (z3: ``Q(p, q)``)."""

    value: Fraction


@dataclass(frozen=True)
class Int:
    """An integer constant, written as a numeral (z3: ``RealVal(k)``)."""

    value: int


@dataclass(frozen=True)
class Ref:
    """The term or formula defined under ``name`` in the query's prelude."""

    name: str


@dataclass(frozen=True)
class Add:
    """``args[0] + args[1] + …`` (one n-ary sum, in this order)."""

    args: tuple[Term, ...]


@dataclass(frozen=True)
class Mul:
    """``(args[0] · args[1]) · args[2] …`` (binary products, folded left to right)."""

    args: tuple[Term, ...]


Term = Var | Num | Int | Ref | Add | Mul


@dataclass(frozen=True)
class Eq:
    """``lhs = rhs``."""

    lhs: Term
    rhs: Term


Formula = (Eq | Const | And["Formula"] | Or["Formula"] | Not["Formula"] | Exists[Var, "Formula"]
           | ForAll[Var, "Formula"] | Ref)


@dataclass(frozen=True)
class Query:
    """Is the conjunction of ``assertions`` satisfiable (over the reals)?

    Attributes
    ----------
    name : str
        Short identifier (transcripts).
    variables : tuple of Var
        The declared variables, in declaration order (they are existential).
    assertions : tuple of Formula
        Asserted in this order.
    prelude : tuple of (str, Term or Formula)
        Definitions, built first and in this order (then the variables; then the solver is created and
        the assertions are added), referred to by :class:`Ref`.
    logic : str or None
        ``"QF_NRA"`` (quantifier-free nonlinear real arithmetic: answered in process) or None (the
        solver's default strategy, for quantified queries).
    keys : dict
        What each declared variable stands for, by name (e.g. ``("x", i, k, e)``), to read models.
    """

    name: str
    variables: tuple[Var, ...]
    assertions: tuple[Formula, ...]
    logic: str | None = "QF_NRA"
    keys: dict[str, tuple[Any, ...]] = field(default_factory=dict, compare=False)
    prelude: tuple[tuple[str, Term | Formula], ...] = ()

    @property
    def contradictory(self) -> bool:
        """True when an assertion is the constant FALSE (no solver is needed)."""
        return FALSE in self.assertions


def product_terms(pattern: SupportPattern) -> dict[tuple[int, int], list[int]]:
    """``{(i, j): [k, …]}``: the components ``k`` with ``I[i, k]`` and ``J[j, k]``, i.e. the products
    ``x_ik y_jk`` summed in ``(XYᵀ)_ij``, for every entry of the union of the supports (row-major order).

    Examples
    --------
    >>> from wellposed.families import family
    >>> product_terms(family("lu:2"))
    {(0, 0): [0], (0, 1): [0], (1, 0): [0], (1, 1): [0, 1]}
    """
    x, y = pattern.x_support, pattern.y_support
    union = pattern.union_mask()
    return {(int(i), int(j)): [k for k in range(pattern.r) if x[i, k] and y[j, k]]
            for i, j in zip(*np.nonzero(union), strict=True)}


def _factor_vars(pattern: SupportPattern, suffixes: Sequence[str] = ("",)
                 ) -> tuple[dict[tuple[int, int, str], Var], dict[tuple[int, int, str], Var]]:
    xs = {(int(i), int(k), s): Var(f"x_{i}_{k}{s}") for i, k in zip(*np.nonzero(pattern.x_support), strict=True)
          for s in suffixes}
    ys = {(int(j), int(k), s): Var(f"y_{j}_{k}{s}") for j, k in zip(*np.nonzero(pattern.y_support), strict=True)
          for s in suffixes}
    return xs, ys


def membership_query(pattern: SupportPattern, limit: Mapping[tuple[int, int], Fraction]) -> Query:
    """``∃X, Y supported on I, J: X Yᵀ = A`` for the matrix ``A`` with nonzero entries ``limit``.

    Satisfiable iff ``A ∈ P``. One variable ``x_i_k`` / ``y_j_k`` per allowed entry, one bilinear
    equation per entry of the union; a nonzero entry outside the union makes the query contradictory.

    Examples
    --------
    >>> from wellposed.families import family
    >>> q = membership_query(family("lu:2"), {(0, 1): Fraction(1), (1, 0): Fraction(1)})
    >>> [v.name for v in q.variables], len(q.assertions)
    (['x_0_0', 'x_1_0', 'x_1_1', 'y_0_0', 'y_1_0', 'y_1_1'], 4)
    >>> membership_query(family("diag:2"), {(0, 1): Fraction(1)}).contradictory
    True
    """
    union = pattern.union_mask()
    xs, ys = _factor_vars(pattern)
    variables = (*xs.values(), *ys.values())
    if any(not union[i, j] for (i, j), v in limit.items() if v != 0):
        return Query("membership", variables, (FALSE,))
    eqs = tuple(Eq(Add(tuple(Mul((xs[i, k, ""], ys[j, k, ""])) for k in ks)), Num(Fraction(limit.get((i, j), 0))))
                for (i, j), ks in product_terms(pattern).items())
    return Query("membership", variables, eqs)


def curve_query(pattern: SupportPattern, limit: Mapping[tuple[int, int], Fraction], degree: int = 1) -> Query:
    """A Laurent curve ``X(ε) = Σ_{|e| ≤ d} X_e εᵉ``, ``Y(ε)`` likewise, with ``X(ε)Y(ε)ᵀ = A + O(ε)``.

    Unknowns ``x_i_k_t`` / ``y_j_k_t`` (coefficient of ``ε^{t − d}``); per entry of the union, the
    coefficients of the orders ``−2d, …, −1`` vanish and that of order 0 equals ``A_ij``. ``keys`` maps
    each variable to ``("x", i, k, e)`` or ``("y", j, k, e)``.

    Examples
    --------
    >>> from wellposed.families import family
    >>> q = curve_query(family("lu:2"), {(0, 1): Fraction(1), (1, 0): Fraction(1)})
    >>> len(q.variables), len(q.assertions), q.keys["y_1_0_0"]
    (18, 12, ('y', 1, 0, -1))
    """
    exps = range(-degree, degree + 1)
    union = pattern.union_mask()
    xs, ys = _factor_vars(pattern, [f"_{e + degree}" for e in exps])
    keys = {v.name: (side, a, k, int(s[1:]) - degree) for side, table in (("x", xs), ("y", ys))
            for (a, k, s), v in table.items()}
    variables = (*xs.values(), *ys.values())
    if any(not union[i, j] for (i, j), v in limit.items() if v != 0):
        return Query("curve", variables, (FALSE,), keys=keys)
    eqs = []
    for (i, j), ks in product_terms(pattern).items():
        for order in range(-2 * degree, 1):
            terms = tuple(Mul((xs[i, k, f"_{e + degree}"], ys[j, k, f"_{order - e + degree}"]))
                          for k in ks for e in exps if -degree <= order - e <= degree)
            eqs.append(Eq(Add(terms), Num(Fraction(limit.get((i, j), 0)) if order == 0 else Fraction(0))))
    return Query("curve", variables, tuple(eqs), keys=keys)


def determinantal_query(pattern: SupportPattern,
                        minors: Sequence[tuple[tuple[int, ...], tuple[int, ...]]] | None) -> Query:
    """``∃A ∈ D ∀X, Y: X Yᵀ ≠ A`` (unsatisfiable iff ``D ⊆ P``), A supported on the union of the supports.

    With ``minors`` (square minors that vanish on P), D is the set of matrices on the union whose minors
    vanish, and the witness ``A`` is normalized by diagonal scalings (which preserve D and P): its row 0 and
    column 0 hold only 0s and 1s. With ``minors=None``, D is every matrix on the union (the full-space
    query, no normalization). Quantified: ``logic`` is None.

    Examples
    --------
    >>> from wellposed.families import family
    >>> q = determinantal_query(family("full:2,2,1"), [((0, 1), (0, 1))])
    >>> q.variables, q.logic, q.assertions, type(dict(q.prelude)["sentence"]).__name__
    ((), None, (Ref(name='sentence'),), 'Exists')
    """
    union = pattern.union_mask()
    zero = Ref("zero")
    a = {(int(i), int(j)): Var(f"a_{i}_{j}") for i, j in zip(*np.nonzero(union), strict=True)}
    xs, ys = _factor_vars(pattern)
    products = product_terms(pattern)
    # definitions in the order of the z3 terms: the constant 0, the variables, the product equations, "no
    # factorization", the conditions on A, the sentence
    prelude: list[tuple[str, Term | Formula]] = [("zero", Int(0))]
    prelude += [(v.name, v) for v in (*a.values(), *xs.values(), *ys.values())]
    prelude += [(f"eq_{i}_{j}", Eq(Add(tuple(Mul((xs[i, k, ""], ys[j, k, ""])) for k in products[i, j])), var))
                for (i, j), var in a.items()]
    no_factorization = Not(And(tuple(Ref(f"eq_{i}_{j}") for i, j in a)))
    prelude.append(("inner", ForAll((*xs.values(), *ys.values()), no_factorization)))
    if minors is None:
        prelude.append(("sentence", Exists(tuple(a.values()), Ref("inner"))))
        return Query("full-space", (), (Ref("sentence"),), logic=None, prelude=tuple(prelude))

    def det(rows: tuple[int, ...], cols: tuple[int, ...]) -> Term:  # Laplace expansion along the first row
        if len(rows) == 1:
            return a.get((rows[0], cols[0]), zero)
        return Add(tuple(Mul((Int((-1) ** c), a.get((rows[0], cols[c]), zero), det(rows[1:], cols[:c] + cols[c + 1:])))
                         for c in range(len(cols))))

    conditions: list[Formula] = [Eq(det(rows, cols), Int(0)) for rows, cols in minors]
    conditions += [Or((Eq(var, Int(0)), Eq(var, Int(1)))) for (i, j), var in a.items() if i == 0 or j == 0]
    prelude += [(f"condition_{t}", c) for t, c in enumerate(conditions)]
    prelude.append(("sentence", Exists(tuple(a.values()),
                                       And((*(Ref(f"condition_{t}") for t in range(len(conditions))), Ref("inner"))))))
    return Query("determinantal", (), (Ref("sentence"),), logic=None, prelude=tuple(prelude))
