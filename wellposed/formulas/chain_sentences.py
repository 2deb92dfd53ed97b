"""Closedness and membership sentences of a chain of fixed-support factors ``P = {X₁ X₂ ⋯ X_L}``.

The factors are given in *product order*, leftmost first: ``X₁`` is ``d₀ × d₁``, ``X₂`` is ``d₁ × d₂``, …
(a network's layers ``W_L ⋯ W_1`` are the factors ``X₁ = W_L``, …, ``X_L = W_1``). The sentences are
those of :mod:`wellposed.formulas.builder` for two factors, written for any number of factors, and are
printed by the same printers (:func:`~wellposed.formulas.printers.render`): z3 (SMT-LIB) and QEPCAD B.

* :func:`chain_closedness_sentences` — ``∃A [∀X: X₁⋯X_L ≠ A] ∧ [∀ε>0 ∃X': ‖X'₁⋯X'_L − A‖_max < ε]``, P is
  closed iff every sentence is false;
* :func:`chain_membership_sentence` — ``∃X: X₁⋯X_L = A₀`` (printed for the QE tools);
* :func:`chain_membership_query` — the same question as an ordered query of
  :mod:`wellposed.formulas.queries`, answered in process by z3 under a counted ``rlimit``;
* :func:`chain_determinantal_query` — ``∃A ∈ D ∀X: X₁⋯X_L ≠ A`` for the set ``D`` cut out by given minors
  (unsatisfiable iff ``D ⊆ P``), decided by z3 in a fresh process.

The encodings (proved in ``docs/chains.md``): entries of ``A`` outside the boolean product of the masks
are 0; one sentence per nonzero pattern ``Z`` of ``A`` (the empty one is skipped: ``0 ∈ P``), with the
entries of a spanning forest of ``Z`` fixed to 1 (outer diagonal scalings ``D A D'`` preserve ``P``); in the
closure part, one allowed entry per inner index is fixed to 1 (the inner diagonal gauge
``X_ℓ D_ℓ, D_ℓ⁻¹ X_{ℓ+1}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from itertools import product as cartesian
from typing import Any

import numpy as np
import sympy

from ..errors import InvalidSupportError
from ..support import as_mask
from .builder import _matrix_rows, _rational
from .nodes import Const, Exists, ForAll, Formula, Implies, Not, Sentence, atom, conj, count_atoms
from .queries import FALSE, Add, Eq, Mul, Num, Query, Var
from .symmetry import spanning_forest

__all__ = [
    "check_factors",
    "chain_paths",
    "chain_closedness_sentences",
    "chain_membership_sentence",
    "chain_membership_query",
    "chain_determinantal_query",
    "emit_chain",
]

#: Letters of the factor variables: membership part, closure part (factor ℓ uses the ℓ-th letter).
_MEMBER = "bcdfgh"
_CLOSE = "uvwpqs"


def check_factors(factors: Any, name: str = "factors") -> tuple[np.ndarray, ...]:
    """Validate a chain of 0/1 masks in product order (leftmost first) and return bool arrays.

    Raises :class:`~wellposed.errors.InvalidSupportError` naming the factor when a mask is not a 2-D 0/1
    array, when consecutive shapes do not chain (columns of ``X_ℓ`` = rows of ``X_{ℓ+1}``), or when there
    are more factors than the sentences have letters for (6).

    Examples
    --------
    >>> [m.shape for m in check_factors([np.ones((2, 3)), np.ones((3, 1))])]
    [(2, 3), (3, 1)]
    >>> check_factors([np.ones((2, 3)), np.ones((2, 2))])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: factors do not chain: factors[0] has 3 columns but factors[1] \
has 2 rows (shape (2, 2)); give the factors in product order X1, X2, … with X_l of shape d_(l-1) × d_l.
    """
    if isinstance(factors, (str, bytes, np.ndarray)) or not isinstance(factors, Sequence) or not factors:
        raise InvalidSupportError(f"{name} = {factors!r:.80} must be a non-empty list of 2-D 0/1 arrays "
                                  "(product order, leftmost factor first).")
    if len(factors) > len(_MEMBER):
        raise InvalidSupportError(f"{name} has {len(factors)} factors; the chain sentences take at most "
                                  f"{len(_MEMBER)}.")
    out = tuple(as_mask(f, f"{name}[{i}]") for i, f in enumerate(factors))
    for ell in range(1, len(out)):
        if out[ell].shape[0] != out[ell - 1].shape[1]:
            raise InvalidSupportError(
                f"{name} do not chain: {name}[{ell - 1}] has {out[ell - 1].shape[1]} columns but {name}[{ell}] "
                f"has {out[ell].shape[0]} rows (shape {out[ell].shape}); give the factors in product order "
                "X1, X2, … with X_l of shape d_(l-1) × d_l."
            )
    return out


def chain_paths(factors: Sequence[np.ndarray]) -> dict[tuple[int, int], list[tuple[int, ...]]]:
    """``{(i, j): [path, …]}``: the index paths ``(i, k₁, …, k_{L-1}, j)`` through allowed entries, i.e. the
    monomials ``X₁[i,k₁] X₂[k₁,k₂] ⋯ X_L[k_{L-1},j]`` summed in the entry ``(i, j)`` of the product (row-major
    order of the entries, lexicographic order of the paths).

    Examples
    --------
    >>> chain_paths([np.array([[1, 1]]), np.eye(2), np.array([[1], [0]])])
    {(0, 0): [(0, 0, 0, 0)]}
    """
    paths: list[tuple[int, ...]] = [(i,) for i in range(factors[0].shape[0])]
    for f in factors:
        paths = [(*p, k) for p in paths for k in np.flatnonzero(f[p[-1]]).tolist()]
    out: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    for p in sorted(paths, key=lambda q: (q[0], q[-1], q)):
        out.setdefault((p[0], p[-1]), []).append(p)
    return out


def _name(letter: str, *ks: int) -> str:
    return letter + ("".join(str(k + 1) for k in ks) if max(ks) < 9 else "c".join(str(k + 1) for k in ks))


def _symbols(factors: Sequence[np.ndarray], letters: str) -> list[dict[tuple[int, int], sympy.Expr]]:
    return [{(int(i), int(k)): sympy.Symbol(_name(letters[ell], int(i), int(k)))
             for i, k in zip(*np.nonzero(f), strict=True)} for ell, f in enumerate(factors)]


def _product(paths: Mapping[tuple[int, int], list[tuple[int, ...]]],
             syms: Sequence[Mapping[tuple[int, int], sympy.Expr]], i: int, j: int) -> sympy.Expr:
    return sympy.Add(*[sympy.Mul(*[syms[ell][(p[ell], p[ell + 1])] for ell in range(len(syms))])
                       for p in paths.get((i, j), [])])


def _block(quantifier: type, variables: Sequence[Any], body: Formula) -> Formula:
    vs = tuple(v for v in variables if isinstance(v, sympy.Symbol))
    if not vs or isinstance(body, Const):
        return body
    return quantifier(vs, body)


def _fvars(syms: Sequence[Mapping[tuple[int, int], sympy.Expr]]) -> list[Any]:
    return [v for s in syms for v in s.values()]


def chain_closedness_sentences(factors: Any, *, gauge: bool = True, zero_patterns: bool = True,
                               scaling: bool = True) -> list[Sentence]:
    """Sentences whose disjunction says "``P = {X₁⋯X_L}`` is not closed" (closed iff every one is false).

    Parameters
    ----------
    factors : list of 0/1 arrays
        The masks in product order, leftmost first (checked by :func:`check_factors`).
    gauge : bool
        Fix one allowed entry per inner index to 1 in the closure part.
    zero_patterns : bool
        One sentence per nonzero pattern ``Z`` of ``A`` inside the boolean product (smallest first;
        the empty pattern is skipped since ``0 ∈ P``); else one sentence.
    scaling : bool
        With ``zero_patterns``: the entries of ``A`` on a spanning forest of ``Z`` are 1.

    Returns
    -------
    list of Sentence
        Empty when the boolean product is zero (``P = {0}``).

    Examples
    --------
    >>> up = np.triu(np.ones((2, 2), int))
    >>> ss = chain_closedness_sentences([np.eye(2), up.T, up])
    >>> len(ss), ss[0].name
    (15, 'chain-closedness[Z=10.00]')
    >>> chain_closedness_sentences([up.T, up, np.eye(2)], zero_patterns=False)[0].num_variables
    17

    Notes
    -----
    ``O(2^u)`` sentences for ``u`` entries in the boolean product, each with ``O(paths)`` atoms; deciding
    them is doubly exponential in their number of variables.
    """
    fs = check_factors(factors)
    for label, value in (("gauge", gauge), ("zero_patterns", zero_patterns), ("scaling", scaling)):
        if not isinstance(value, bool):
            raise InvalidSupportError(f"{label} = {value!r} must be True or False.")
    paths = chain_paths(fs)
    union = np.zeros((fs[0].shape[0], fs[-1].shape[1]), bool)
    for i, j in paths:
        union[i, j] = True
    if not union.any():
        return []
    if not zero_patterns:
        return [_closedness_sentence(fs, paths, union, None, gauge, scaling)]
    cells = list(zip(*np.nonzero(union), strict=True))
    zs = []
    for bits in cartesian((0, 1), repeat=len(cells)):
        if not any(bits):
            continue
        z = np.zeros_like(union)
        for (i, j), b in zip(cells, bits, strict=True):
            z[i, j] = bool(b)
        zs.append(z)
    zs.sort(key=lambda z: (int(z.sum()), [-int(v) for v in z.ravel()]))
    return [_closedness_sentence(fs, paths, union, z, gauge, scaling) for z in zs]


def _closedness_sentence(fs: tuple[np.ndarray, ...], paths: Mapping[tuple[int, int], list[tuple[int, ...]]],
                         union: np.ndarray, z: np.ndarray | None, gauge: bool, scaling: bool) -> Sentence:
    m, n = union.shape
    forest = set(spanning_forest(z)) if (z is not None and scaling) else set()
    a: dict[tuple[int, int], sympy.Expr] = {}
    a_vars: list[sympy.Symbol] = []
    nonzero: list[Formula] = []
    for i in range(m):
        for j in range(n):
            if not union[i, j] or (z is not None and not z[i, j]):
                a[(i, j)] = sympy.Integer(0)
            elif (i, j) in forest:
                a[(i, j)] = sympy.Integer(1)
            else:
                sym = sympy.Symbol(_name("a", i, j))
                a[(i, j)] = sym
                a_vars.append(sym)
                if z is not None:
                    nonzero.append(atom(sym, "!="))
    member = _symbols(fs, _MEMBER)
    equal = conj(atom(_product(paths, member, i, j), "=", a[(i, j)]) for i in range(m) for j in range(n))
    not_member = _block(ForAll, _fvars(member), Not(equal) if not isinstance(equal, Const)
                        else Const(not equal.value))
    close = _symbols(fs, _CLOSE)
    if gauge:  # X_ℓ D, D⁻¹ X_{ℓ+1}: the first allowed entry of column k of X_ℓ (ℓ < L) is 1 ...
        for ell in range(len(fs) - 1):
            for k in range(fs[ell].shape[1]):
                rows = np.flatnonzero(fs[ell][:, k])
                if rows.size and fs[ell + 1][k].any():
                    close[ell][(int(rows[0]), k)] = sympy.Integer(1)
    eps = sympy.Symbol("e")
    diffs = [sympy.expand(_product(paths, close, i, j) - a[(i, j)]) for i in range(m) for j in range(n)]
    box = conj(conj([atom(d, "<", eps), atom(-d, "<", eps)]) for d in diffs if d != 0)
    approx = ForAll((eps,), Implies(atom(eps, ">"), _block(Exists, _fvars(close), box)))
    formula = _block(Exists, a_vars, conj([*nonzero, not_member, approx]))
    zname = "" if z is None else "[Z=" + ".".join("".join("1" if v else "0" for v in row) for row in z) + "]"
    info: dict[str, Any] = {
        "factors": [["".join("1" if v else "0" for v in row) for row in f] for f in fs],
        "encoding": "+".join(["box", "zero_outside"] + (["gauge"] if gauge else [])
                             + (["zero_patterns"] if z is not None else []) + (["scaling"] if forest else [])),
        "zero_pattern": None if z is None else [[int(v) for v in row] for row in z],
        "a_variables": len(a_vars),
        "atoms": count_atoms(formula),
    }
    s = Sentence(formula, "closedness", "chain-closedness" + zname,
                 "some A" + ("" if z is None else " with this nonzero pattern") + " is a limit of products "
                 "X'1⋯X'L but not itself a product X1⋯XL (true ⇒ P is not closed)", info)
    s.info["variables"] = s.num_variables
    return s


def chain_membership_sentence(factors: Any, a0: Any) -> Sentence:
    """``∃X₁,…,X_L supported on the masks: X₁⋯X_L = A₀`` for a rational matrix ``A₀`` (true ⇒ ``A₀ ∈ P``).

    Examples
    --------
    >>> up = np.triu(np.ones((2, 2), int))
    >>> s = chain_membership_sentence([np.eye(2), up.T, up], [[0, 1], [1, 0]])
    >>> s.num_variables
    8
    >>> chain_membership_sentence([np.eye(2), np.eye(2)], [[0, 1], [0, 0]]).formula
    Const(value=False)
    """
    fs = check_factors(factors)
    rows = _rows(a0, fs)
    paths = chain_paths(fs)
    member = _symbols(fs, _MEMBER)
    m, n = len(rows), len(rows[0])
    equal = conj(atom(_product(paths, member, i, j), "=", rows[i][j]) for i in range(m) for j in range(n))
    formula = _block(Exists, _fvars(member), equal)
    return Sentence(formula, "membership", "chain-membership",
                    "A0 = X1⋯XL for some feasible factors (true ⇒ A0 ∈ P)",
                    {"factors": [["".join("1" if v else "0" for v in row) for row in f] for f in fs],
                     "a0": [[str(v) for v in row] for row in rows]})


def _rows(a0: Any, fs: tuple[np.ndarray, ...]) -> list[list[sympy.Rational]]:
    from ..support import SupportPattern

    shape_only = SupportPattern(np.ones((fs[0].shape[0], 1), bool), np.ones((fs[-1].shape[1], 1), bool))
    return _matrix_rows(a0, shape_only)


def chain_membership_query(factors: Any, limit: Mapping[tuple[int, int], Any]) -> Query:
    """``∃X₁,…,X_L: X₁⋯X_L = A`` for the matrix ``A`` with nonzero entries ``limit`` (an ordered query).

    Satisfiable iff ``A ∈ P``. One variable ``x{ℓ}_{i}_{k}`` per allowed entry, one equation per entry of
    the boolean product; a nonzero entry outside it makes the query contradictory.

    Examples
    --------
    >>> up = np.triu(np.ones((2, 2), int))
    >>> q = chain_membership_query([np.eye(2), up.T, up], {(0, 1): 1, (1, 0): 1})
    >>> len(q.variables), len(q.assertions)
    (8, 4)
    >>> chain_membership_query([np.eye(2), np.eye(2)], {(0, 1): 1}).contradictory
    True
    """
    fs = check_factors(factors)
    m, n = fs[0].shape[0], fs[-1].shape[1]
    values: dict[tuple[int, int], Fraction] = {}
    for key, v in limit.items():
        if (not isinstance(key, tuple) or len(key) != 2 or not all(isinstance(t, (int, np.integer)) for t in key)
                or not (0 <= key[0] < m and 0 <= key[1] < n)):
            raise InvalidSupportError(f"limit key {key!r} is not an entry (i, j) of the {m}×{n} product.")
        q = _rational(v, f"limit[{key!r}]")
        values[(int(key[0]), int(key[1]))] = Fraction(int(q.p), int(q.q))
    xs = [{(int(i), int(k)): Var(f"x{ell + 1}_{i}_{k}") for i, k in zip(*np.nonzero(f), strict=True)}
          for ell, f in enumerate(fs)]
    variables = tuple(v for x in xs for v in x.values())
    keys = {v.name: (ell + 1, i, k) for ell, x in enumerate(xs) for (i, k), v in x.items()}
    paths = chain_paths(fs)
    if any(v != 0 and key not in paths for key, v in values.items()):
        return Query("chain-membership", variables, (FALSE,), keys=keys)
    eqs = tuple(Eq(Add(tuple(Mul(tuple(xs[ell][(p[ell], p[ell + 1])] for ell in range(len(fs)))) for p in ps)),
                   Num(values.get(key, Fraction(0))))
                for key, ps in paths.items())
    return Query("chain-membership", variables, eqs, keys=keys)


def chain_determinantal_query(factors: Any, minors: Sequence[tuple[tuple[int, ...], tuple[int, ...]]]) -> Query:
    """``∃A ∈ D ∀X₁,…,X_L: X₁⋯X_L ≠ A`` (unsatisfiable iff ``D ⊆ P``), a quantified query.

    ``A`` has one variable per entry of the boolean product; ``D`` is the set of such matrices whose listed
    square minors ``(rows, cols)`` vanish. The witness is normalized by the outer diagonal scalings
    ``A ↦ D A D'`` (they map ``P`` and ``D`` onto themselves): its row 0 and column 0 hold only 0s and 1s.

    Examples
    --------
    >>> q = chain_determinantal_query([np.ones((2, 1)), np.ones((1, 2))], [((0, 1), (0, 1))])
    >>> q.name, q.logic, type(dict(q.prelude)["sentence"]).__name__
    ('chain-determinantal', None, 'Exists')
    """
    from . import queries as qy

    fs = check_factors(factors)
    paths = chain_paths(fs)
    zero = qy.Ref("zero")
    a = {(i, j): qy.Var(f"a_{i}_{j}") for i, j in paths}
    xs = [{(int(i), int(k)): qy.Var(f"x{ell + 1}_{i}_{k}") for i, k in zip(*np.nonzero(f), strict=True)}
          for ell, f in enumerate(fs)]
    factor_vars = tuple(v for x in xs for v in x.values())
    prelude: list[tuple[str, Any]] = [("zero", qy.Int(0))]
    prelude += [(v.name, v) for v in (*a.values(), *factor_vars)]
    def monomial(p: tuple[int, ...]) -> Any:
        return qy.Mul(tuple(xs[ell][(p[ell], p[ell + 1])] for ell in range(len(fs))))

    prelude += [(f"eq_{i}_{j}", qy.Eq(qy.Add(tuple(monomial(p) for p in paths[i, j])), var))
                for (i, j), var in a.items()]
    prelude.append(("inner", qy.ForAll(factor_vars, qy.Not(qy.And(tuple(qy.Ref(f"eq_{i}_{j}") for i, j in a))))))

    def det(rows: tuple[int, ...], cols: tuple[int, ...]) -> Any:  # Laplace expansion along the first row
        if len(rows) == 1:
            return a.get((rows[0], cols[0]), zero)
        return qy.Add(tuple(qy.Mul((qy.Int((-1) ** c), a.get((rows[0], cols[c]), zero),
                                    det(rows[1:], cols[:c] + cols[c + 1:]))) for c in range(len(cols))))

    conditions: list[Any] = [qy.Eq(det(tuple(r), tuple(c)), qy.Int(0)) for r, c in minors]
    conditions += [qy.Or((qy.Eq(var, qy.Int(0)), qy.Eq(var, qy.Int(1)))) for (i, j), var in a.items()
                   if i == 0 or j == 0]
    prelude += [(f"condition_{t}", c) for t, c in enumerate(conditions)]
    prelude.append(("sentence", qy.Exists(tuple(a.values()), qy.And((*(qy.Ref(f"condition_{t}")
                                                                      for t in range(len(conditions))),
                                                                    qy.Ref("inner"))))))
    return Query("chain-determinantal", (), (qy.Ref("sentence"),), logic=None, prelude=tuple(prelude))


def emit_chain(factors: Any, fmt: str, **options: bool) -> str:
    """All closedness sentences of the chain in format ``fmt`` (``smtlib`` in one script with
    ``push``/``pop``, ``qepcad`` one complete input per sentence), through the printers of
    :mod:`wellposed.formulas.printers`. ``options`` go to :func:`chain_closedness_sentences`.

    Examples
    --------
    >>> up = np.triu(np.ones((2, 2), int))
    >>> emit_chain([np.eye(2), up.T, up], "smtlib").count("(check-sat-using nlqsat)")
    15
    >>> emit_chain([np.eye(2), up.T, up], "qepcad").count("finish")
    15
    """
    from .printers import FORMATS, render

    if fmt not in FORMATS:
        raise InvalidSupportError(f"fmt = {fmt!r} is not a known format; choose one of {sorted(FORMATS)}.")
    sentences = chain_closedness_sentences(factors, **options)
    blocks = []
    if fmt != "qepcad":
        lead = {"smtlib": "; ", "mathematica": "(* ", "redlog": "% "}[fmt]
        end = " *)" if fmt == "mathematica" else ""
        blocks.append(f"{lead}{len(sentences)} sentence(s); P = {{X1⋯XL}} is closed iff every one is false{end}\n")
    for s in sentences:
        text = render(s, fmt)
        blocks.append(f"(push 1)\n{text}(pop 1)\n" if fmt == "smtlib" else text)
    return "".join(blocks)
