"""A small typed first-order AST over real polynomials: atoms, connectives and quantifier blocks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy

from .connectives import FALSE, TRUE, And, Const, Exists, ForAll, Not, Or, UnsupportedNodeError

__all__ = [
    "UnsupportedNodeError",
    "RELATIONS",
    "Atom",
    "Const",
    "TRUE",
    "FALSE",
    "And",
    "Or",
    "Not",
    "Implies",
    "Exists",
    "ForAll",
    "Formula",
    "Sentence",
    "atom",
    "conj",
    "disj",
    "free_symbols",
    "bound_symbols",
    "prenex",
    "integer_terms",
    "count_atoms",
]

#: Relations an atom may use; every atom reads ``lhs REL 0``.
RELATIONS = ("=", "!=", "<", "<=", ">", ">=")


def _check_polynomial(expr: sympy.Expr) -> sympy.Expr:
    if not isinstance(expr, sympy.Expr):
        raise UnsupportedNodeError(
            f"atom lhs = {expr!r} is a {type(expr).__name__}, not a sympy expression; build atoms from "
            "polynomials in sympy Symbols with rational coefficients."
        )
    expr = sympy.expand(expr)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    if any(not isinstance(s, sympy.Symbol) for s in syms):
        raise UnsupportedNodeError(f"atom lhs = {expr!r} has a non-symbol free variable.")
    if syms:
        try:
            poly = sympy.Poly(expr, *syms)
        except sympy.PolynomialError as exc:
            raise UnsupportedNodeError(
                f"atom lhs = {expr!r} is not a polynomial in {syms}: {exc}; only polynomial "
                "arithmetic (+, -, *, integer powers) with rational coefficients is allowed."
            ) from None
        domain = str(poly.get_domain())
    else:
        domain = "ZZ" if expr.is_Integer else ("QQ" if expr.is_Rational else "?")
    if domain not in ("ZZ", "QQ"):
        raise UnsupportedNodeError(
            f"atom lhs = {expr!r} has coefficients in {domain}; only rational coefficients are allowed "
            "(convert floats with fractions.Fraction or sympy.Rational)."
        )
    return expr


@dataclass(frozen=True)
class Atom:
    """The atomic formula ``lhs REL 0`` with ``lhs`` a polynomial with rational coefficients."""

    lhs: sympy.Expr
    rel: str

    def __post_init__(self) -> None:
        if self.rel not in RELATIONS:
            raise UnsupportedNodeError(f"rel = {self.rel!r} is not a relation; allowed: {RELATIONS}.")
        object.__setattr__(self, "lhs", _check_polynomial(self.lhs))




@dataclass(frozen=True)
class Implies:
    """Implication ``lhs ⇒ rhs``."""

    lhs: Formula
    rhs: Formula


Formula = (Atom | Const | And["Formula"] | Or["Formula"] | Not["Formula"] | Implies | Exists[sympy.Symbol, "Formula"]
           | ForAll[sympy.Symbol, "Formula"])


@dataclass(frozen=True)
class Sentence:
    """A closed formula together with what its truth means.

    Attributes
    ----------
    formula : Formula
        The sentence (no free variables).
    kind : str
        ``"closedness"`` (true ⇒ not closed), ``"everything"`` (true ⇒ P is every matrix supported on
        the union, hence closed) or ``"membership"`` (true ⇒ the given matrix is in P).
    name : str
        Short identifier (used in transcripts and file names).
    meaning : str
        One sentence in words: what the formula says.
    info : dict
        Metadata: the zero pattern, the encodings used, variable counts.
    """

    formula: Formula
    kind: str
    name: str
    meaning: str
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        free = free_symbols(self.formula)
        if free:
            raise UnsupportedNodeError(
                f"sentence {self.name!r} has free variables {sorted(s.name for s in free)}; "
                "quantify them (a sentence must be closed)."
            )

    @property
    def num_variables(self) -> int:
        """Number of bound variables."""
        return len(bound_symbols(self.formula))


# ---------------------------------------------------------------------------------------------- helpers
def atom(lhs: Any, rel: str, rhs: Any = 0) -> Formula:
    """The atom ``lhs REL rhs`` as ``lhs - rhs REL 0``, folded to TRUE/FALSE when constant.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> atom(x**2, ">=", 1)
    Atom(lhs=x**2 - 1, rel='>=')
    >>> atom(sympy.Integer(2), "<", 1)
    Const(value=False)
    """
    expr = _check_polynomial(sympy.sympify(lhs) - sympy.sympify(rhs))
    if rel not in RELATIONS:
        raise UnsupportedNodeError(f"rel = {rel!r} is not a relation; allowed: {RELATIONS}.")
    if not expr.free_symbols:
        value = sympy.Rational(expr)
        truth = {"=": value == 0, "!=": value != 0, "<": value < 0, "<=": value <= 0,
                 ">": value > 0, ">=": value >= 0}[rel]
        return TRUE if truth else FALSE
    return Atom(expr, rel)


def conj(parts: Iterable[Formula]) -> Formula:
    """Conjunction with constant folding and flattening (TRUE for no part)."""
    out: list[Formula] = []
    for p in parts:
        if p == FALSE:
            return FALSE
        if p == TRUE:
            continue
        out.extend(p.args if isinstance(p, And) else (p,))
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else And(tuple(out))


def disj(parts: Iterable[Formula]) -> Formula:
    """Disjunction with constant folding and flattening (FALSE for no part)."""
    out: list[Formula] = []
    for p in parts:
        if p == TRUE:
            return TRUE
        if p == FALSE:
            continue
        out.extend(p.args if isinstance(p, Or) else (p,))
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else Or(tuple(out))


def _children(f: Formula) -> Iterator[Formula]:
    if isinstance(f, (And, Or)):
        yield from f.args
    elif isinstance(f, Not):
        yield f.arg
    elif isinstance(f, Implies):
        yield f.lhs
        yield f.rhs
    elif isinstance(f, (Exists, ForAll)):
        yield f.body
    elif not isinstance(f, (Atom, Const)):
        raise UnsupportedNodeError(f"unknown formula node {f!r} of type {type(f).__name__}.")


def free_symbols(f: Formula) -> frozenset[sympy.Symbol]:
    """Variables occurring free in ``f``."""
    if isinstance(f, Atom):
        return frozenset(f.lhs.free_symbols)
    if isinstance(f, (Exists, ForAll)):
        return free_symbols(f.body) - frozenset(f.vars)
    out: frozenset[sympy.Symbol] = frozenset()
    for c in _children(f):
        out |= free_symbols(c)
    return out


def bound_symbols(f: Formula) -> list[sympy.Symbol]:
    """Quantified variables in order of appearance (outermost first)."""
    out: list[sympy.Symbol] = []
    if isinstance(f, (Exists, ForAll)):
        out.extend(f.vars)
    for c in _children(f):
        out.extend(bound_symbols(c))
    return out


def count_atoms(f: Formula) -> int:
    """Number of atoms in ``f``."""
    if isinstance(f, Atom):
        return 1
    return sum(count_atoms(c) for c in _children(f))


def _negate(f: Formula) -> Formula:
    """Push one negation inward through quantifiers and connectives (atoms stay wrapped)."""
    if isinstance(f, Const):
        return Const(not f.value)
    if isinstance(f, Not):
        return f.arg
    if isinstance(f, Exists):
        return ForAll(f.vars, _negate(f.body))
    if isinstance(f, ForAll):
        return Exists(f.vars, _negate(f.body))
    if isinstance(f, And):
        return Or(tuple(_negate(a) for a in f.args))
    if isinstance(f, Or):
        return And(tuple(_negate(a) for a in f.args))
    if isinstance(f, Implies):
        return And((f.lhs, _negate(f.rhs)))
    if isinstance(f, Atom):
        return Not(f)
    raise UnsupportedNodeError(f"unknown formula node {f!r} of type {type(f).__name__}.")


Prefix = list[tuple[str, tuple[sympy.Symbol, ...]]]


def _prenex(f: Formula) -> tuple[Prefix, Formula]:
    if isinstance(f, (Atom, Const)):
        return [], f
    if isinstance(f, (Exists, ForAll)):
        q = "E" if isinstance(f, Exists) else "A"
        inner, matrix = _prenex(f.body)
        return [(q, f.vars), *inner], matrix
    if isinstance(f, Not):
        if isinstance(f.arg, Atom):
            return [], f
        return _prenex(_negate(f.arg))
    if isinstance(f, Implies):
        lp, lm = _prenex(_negate(f.lhs))
        rp, rm = _prenex(f.rhs)
        return lp + rp, disj([lm, rm])
    if isinstance(f, (And, Or)):
        prefix: Prefix = []
        mats = []
        for a in f.args:
            p, m = _prenex(a)
            prefix.extend(p)
            mats.append(m)
        return prefix, (conj(mats) if isinstance(f, And) else disj(mats))
    raise UnsupportedNodeError(f"unknown formula node {f!r} of type {type(f).__name__}.")


def prenex(f: Formula) -> tuple[Prefix, Formula]:
    """Prenex normal form: ``([(q, vars), ...], matrix)`` with ``q`` in ``{"E", "A"}``.

    Requires every variable to be bound at most once and no bound variable to occur free elsewhere
    (the builder guarantees this), so that quantifier blocks can be pulled out of conjunctions,
    disjunctions and implications unchanged. Adjacent blocks of the same quantifier are merged.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> prefix, matrix = prenex(Not(Exists((x,), ForAll((y,), atom(x * y, "=", 1)))))
    >>> [(q, [v.name for v in vs]) for q, vs in prefix]
    [('A', ['x']), ('E', ['y'])]
    >>> matrix
    Not(arg=Atom(lhs=x*y - 1, rel='='))
    """
    bound = bound_symbols(f)
    if len(set(bound)) != len(bound):
        raise UnsupportedNodeError("prenex: a variable is bound twice; rename bound variables apart.")
    if free_symbols(f) & set(bound):
        raise UnsupportedNodeError("prenex: a bound variable also occurs free; rename bound variables apart.")
    prefix, matrix = _prenex(f)
    merged: Prefix = []
    for q, vs in prefix:
        if merged and merged[-1][0] == q:
            merged[-1] = (q, merged[-1][1] + vs)
        else:
            merged.append((q, vs))
    return merged, matrix


def integer_terms(a: Atom) -> list[tuple[int, tuple[tuple[sympy.Symbol, int], ...]]]:
    """Terms of ``c · lhs`` with integer coefficients, ``c > 0`` the lcm of the denominators.

    ``c · lhs REL 0`` is equivalent to ``lhs REL 0`` since ``c > 0``. Terms are listed in a fixed
    order (graded lexicographic in the variable names) so that printers are deterministic.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> integer_terms(Atom(x * y / 2 - sympy.Rational(1, 3), "<"))
    [(3, ((x, 1), (y, 1))), (-2, ())]
    """
    syms = sorted(a.lhs.free_symbols, key=lambda s: s.name)
    poly = sympy.Poly(a.lhs, *syms) if syms else None
    if poly is None:
        value = Fraction(str(sympy.Rational(a.lhs)))
        return [(value.numerator, ())] if value else []
    terms = poly.terms()
    denominators = [Fraction(str(sympy.Rational(c))).denominator for _, c in terms]
    scale = math.lcm(*denominators) if denominators else 1
    out = []
    for monom, coeff in terms:
        value = Fraction(str(sympy.Rational(coeff))) * scale
        powers = tuple((s, int(e)) for s, e in zip(syms, monom, strict=True) if e)
        out.append((int(value), powers))
    out.sort(key=lambda t: (-sum(e for _, e in t[1]), [(s.name, -e) for s, e in t[1]]))
    return out
