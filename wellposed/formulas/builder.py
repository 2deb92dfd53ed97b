"""Build the closedness, everything and membership sentences of a support pattern, with exact encodings."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from ..errors import InvalidMatrixError, InvalidSpecError
from ..support import SupportPattern
from .elimination import membership_formula, negate
from .nodes import (
    TRUE,
    Const,
    Exists,
    ForAll,
    Formula,
    Implies,
    Sentence,
    atom,
    conj,
    count_atoms,
)
from .queries import product_terms
from .symmetry import check_pattern, sign_patterns, spanning_forest, zero_patterns

__all__ = [
    "Encoding",
    "ALL_ENCODINGS",
    "EVERYTHING_ENCODING",
    "NO_ENCODINGS",
    "closedness_sentences",
    "iter_closedness_sentences",
    "everything_sentence",
    "everything_sentences",
    "iter_everything_sentences",
    "membership_sentence",
]



@dataclass(frozen=True)
class Encoding:
    """Which exact-equivalence encodings the closedness sentence uses (all on by default).

    Attributes
    ----------
    box : bool
        Closeness by the box norm, one pair of linear-in-ε atoms per entry ``|A_ij − (X'Y'ᵀ)_ij| < ε``,
        instead of one degree-4 atom ``Σ (A_ij − (X'Y'ᵀ)_ij)² < ε``.
    zero_outside : bool
        Entries of ``A`` outside the union of the rank-one supports are the constant 0 (no variable).
    gauge : bool
        In the closure part only, the first allowed entry of each column of ``X'`` is fixed to 1.
    zero_patterns : bool
        One sentence per zero/nonzero pattern ``Z`` of ``A`` (``A_ij ≠ 0`` exactly on ``Z``).
    scaling : bool
        With ``zero_patterns``: the entries of ``A`` on a spanning forest of ``Z`` are fixed to 1
        (diagonal scaling ``D1 A D2`` preserves ``P`` and its closure).
    symmetry : bool
        With ``zero_patterns``: one ``Z`` per orbit of the pattern's automorphism group.
    signs : bool
        With ``zero_patterns``: one sentence per sign vector of the entries of ``A`` off the spanning
        forest (after the ±1 scaling that makes the forest positive), one per orbit of the stabilizer
        of ``Z`` with ``symmetry``. Off by default (see ``docs/qe.md``, Measurements).
    eliminate : bool
        In the membership part (``A ∈ P``), the factor with more variables is eliminated by linear
        algebra: ``∃y: M y = a`` becomes the minor conditions of ``rank [M | a] ≤ rank M``.
    factor_gauge : bool
        In the membership part, the first nonzero entry of each column of the factor that is kept is 1
        (a quantifier-free side condition; exact because columns may be rescaled).

    See ``docs/qe.md`` for the equivalence proof of each encoding.

    Examples
    --------
    >>> Encoding().box, NO_ENCODINGS.box
    (True, False)
    >>> Encoding(zero_patterns=False).label()
    'box+zero_outside+gauge'
    """

    box: bool = True
    zero_outside: bool = True
    gauge: bool = True
    zero_patterns: bool = True
    scaling: bool = True
    symmetry: bool = True
    signs: bool = False
    eliminate: bool = False
    factor_gauge: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, bool):
                raise InvalidSpecError(f"Encoding.{f.name} = {value!r} must be True or False.")

    def label(self) -> str:
        """Names of the encodings in effect, joined by ``+`` (``"none"`` if none)."""
        on = [f.name for f in fields(self) if getattr(self, f.name)]
        if not self.zero_patterns:
            on = [n for n in on if n not in ("scaling", "symmetry", "signs")]
        return "+".join(on) or "none"

    def without(self, name: str) -> Encoding:
        """The same encoding with ``name`` switched off."""
        if name not in {f.name for f in fields(self)}:
            raise InvalidSpecError(
                f"encoding name {name!r} is unknown; choose from {[f.name for f in fields(self)]}."
            )
        return Encoding(**{f.name: (getattr(self, f.name) and f.name != name) for f in fields(self)})


ALL_ENCODINGS = Encoding()
#: The encoding of the everything sentences run first by ``decide_by_qe``: the defaults plus ``eliminate``.
EVERYTHING_ENCODING = Encoding(eliminate=True)
NO_ENCODINGS = Encoding(**{f.name: False for f in fields(Encoding)})


# ------------------------------------------------------------------------------------------ validation
def _check_encoding(encoding: Any) -> Encoding:
    if not isinstance(encoding, Encoding):
        raise InvalidSpecError(f"encoding = {encoding!r} must be a wellposed.formulas.Encoding instance.")
    return encoding


def _idx(*ks: int) -> str:
    return "".join(str(k + 1) for k in ks) if max(ks) < 9 else "c".join(str(k + 1) for k in ks)


# ------------------------------------------------------------------------------------------ polynomials
def _factor_symbols(p: SupportPattern, xname: str, yname: str) -> tuple[dict, dict]:
    xs = {(i, k): sympy.Symbol(f"{xname}{_idx(i, k)}") for i, k in zip(*np.nonzero(p.x_support), strict=True)}
    ys = {(j, k): sympy.Symbol(f"{yname}{_idx(j, k)}") for j, k in zip(*np.nonzero(p.y_support), strict=True)}
    return xs, ys


def _product(p: SupportPattern, xs: dict, ys: dict) -> list[list[sympy.Expr]]:
    """Entries of X Yᵀ as polynomials (entries with an overridden constant are substituted)."""
    terms = product_terms(p)
    return [[sympy.Add(*[xs[(i, k)] * ys[(j, k)] for k in terms.get((i, j), [])]) for j in range(p.n)]
            for i in range(p.m)]


def _block(quantifier: type, variables: Sequence[Any], body: Formula) -> Formula:
    vs = tuple(v for v in variables if isinstance(v, sympy.Symbol))
    if not vs or isinstance(body, Const):
        return body
    return quantifier(vs, body)


# ------------------------------------------------------------------------------------------ sentences
def _prepare(pattern: Any) -> SupportPattern:
    p = check_pattern(pattern)
    return p if p.is_trivial() else p.drop_empty()


def closedness_sentences(pattern: SupportPattern, encoding: Encoding = ALL_ENCODINGS) -> list[Sentence]:
    """Sentences whose disjunction says "P is not closed" (P is closed iff every one is false).

    The base sentence is ``∃A [∀X,Y: XYᵀ ≠ A] ∧ [∀ε>0 ∃X',Y': ‖X'Y'ᵀ − A‖ < ε]`` over the allowed
    entries; the options of ``encoding`` transform it into equivalent, smaller sentences.

    Parameters
    ----------
    pattern : SupportPattern
    encoding : Encoding
        Encodings to apply (default: all).

    Returns
    -------
    list of Sentence
        One sentence, or one per nonzero pattern of A with ``encoding.zero_patterns`` (smallest
        first). Empty components are dropped first; a pattern with no nonempty component yields no
        sentence (P = {0} is closed).

    Examples
    --------
    >>> from wellposed.families import family
    >>> [s.name for s in closedness_sentences(family("full:1,2,1"))]
    ['closedness[Z=10]', 'closedness[Z=11]']
    >>> s = closedness_sentences(family("lu:2"), Encoding(zero_patterns=False))[0]
    >>> s.num_variables
    15

    Notes
    -----
    Building is polynomial (``O(mnr)`` atoms per sentence), plus ``O(|G| 2^u u)`` for the zero-pattern
    enumeration; deciding the sentences is doubly exponential in their number of variables.
    """
    return list(iter_closedness_sentences(pattern, encoding))


def iter_closedness_sentences(pattern: SupportPattern, encoding: Encoding = ALL_ENCODINGS) -> Iterator[Sentence]:
    """Lazy :func:`closedness_sentences` (same order), for callers that may stop at a true sentence.

    Arguments are validated on the call, before the first sentence is requested.

    Examples
    --------
    >>> from wellposed.families import family
    >>> next(iter_closedness_sentences(family("lu:3"))).name
    'closedness[Z=100.000.000]'
    """
    p = _prepare(pattern)
    enc = _check_encoding(encoding)
    if p.is_trivial():
        return iter(())
    return (_closedness_sentence(p, enc, z, sg) for z, sg in _splits(p, enc, enc.zero_outside))


def _splits(p: SupportPattern, enc: Encoding, zero_outside: bool
            ) -> Iterator[tuple[np.ndarray | None, dict[tuple[int, int], int] | None]]:
    """The (nonzero pattern, signs) pairs one sentence each is built for, in order."""
    if not enc.zero_patterns:
        yield None, None
        return
    for z in zero_patterns(p, enc.symmetry, zero_outside):
        if enc.signs:
            for sg in sign_patterns(p, z, enc.symmetry):
                yield z, sg
        else:
            yield z, None


def _matrix_a(p: SupportPattern, enc: Encoding, z: np.ndarray | None, signs: dict[tuple[int, int], int] | None,
              zero_outside: bool) -> tuple[dict[tuple[int, int], sympy.Expr], list[sympy.Symbol], list[Formula]]:
    """Entries of A (constants or variables), its variables, and the conditions on them (nonzero, signs)."""
    union = p.union_mask()
    a_entries: dict[tuple[int, int], sympy.Expr] = {}
    a_vars: list[sympy.Symbol] = []
    conditions: list[Formula] = []
    forest = set(spanning_forest(z)) if (z is not None and (enc.scaling or signs is not None)) else set()
    for i in range(p.m):
        for j in range(p.n):
            if zero_outside and not union[i, j]:
                a_entries[(i, j)] = sympy.Integer(0)
            elif z is not None and not z[i, j]:
                a_entries[(i, j)] = sympy.Integer(0)
            elif (i, j) in forest and enc.scaling:
                a_entries[(i, j)] = sympy.Integer(1)
            else:
                sym = sympy.Symbol(f"a{_idx(i, j)}")
                a_entries[(i, j)] = sym
                a_vars.append(sym)
                if signs is not None:
                    conditions.append(atom(sym, ">" if signs.get((i, j), 1) > 0 else "<"))
                elif z is not None:
                    conditions.append(atom(sym, "!="))
    return a_entries, a_vars, conditions


def _split_name(z: np.ndarray | None, signs: dict[tuple[int, int], int] | None) -> str:
    if z is None:
        return ""
    name = "[Z=" + ".".join("".join("1" if v else "0" for v in row) for row in z)
    if signs:
        name += ",S=" + "".join("+" if signs[pos] > 0 else "-" for pos in sorted(signs))
    return name + "]"


def _closedness_sentence(p: SupportPattern, enc: Encoding, z: np.ndarray | None,
                         signs: dict[tuple[int, int], int] | None = None) -> Sentence:
    m, n = p.m, p.n
    a_entries, a_vars, nonzero = _matrix_a(p, enc, z, signs, enc.zero_outside)
    # membership part: ∀X,Y: XYᵀ ≠ A (the eliminated factor and the gauge of the other one are optional)
    xs, ys = _factor_symbols(p, "x", "y")
    member_vars, member = membership_formula(p, a_entries, xs, ys, enc.eliminate, enc.factor_gauge)
    not_member = _block(ForAll, member_vars, negate(member))
    # closure part: ∀ε>0 ∃X',Y': X'Y'ᵀ within ε of A
    us, vs = _factor_symbols(p, "u", "v")
    if enc.gauge:
        for k in range(p.r):
            pivot = int(np.flatnonzero(p.x_support[:, k])[0])
            us[(pivot, k)] = sympy.Integer(1)
    prod2 = _product(p, us, vs)
    eps = sympy.Symbol("e")
    diffs = [prod2[i][j] - a_entries[(i, j)] for i in range(m) for j in range(n)]
    diffs = [d for d in (sympy.expand(d) for d in diffs) if d != 0]
    if enc.box:
        close = conj(conj([atom(d, "<", eps), atom(-d, "<", eps)]) for d in diffs)
    else:
        close = atom(sympy.Add(*[d**2 for d in diffs]), "<", eps)
    approx = ForAll((eps,), Implies(atom(eps, ">"), _block(Exists, [*us.values(), *vs.values()], close)))
    body = conj([*nonzero, not_member, approx])
    formula = _block(Exists, a_vars, body)
    zname = _split_name(z, signs)
    info: dict[str, Any] = {
        "pattern": p.to_json(),
        "encoding": enc.label(),
        "zero_pattern": None if z is None else [[int(v) for v in row] for row in z],
        "signs": None if signs is None else [[i, j, v] for (i, j), v in sorted(signs.items())],
        "a_variables": len(a_vars),
        "atoms": count_atoms(formula),
    }
    s = Sentence(formula, "closedness", "closedness" + zname,
                 "some A" + ("" if z is None else " with this nonzero pattern") +
                 " is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)", info)
    s.info["variables"] = s.num_variables
    return s


def everything_sentence(pattern: SupportPattern) -> Sentence:
    """``∀A supported on the union ∃X,Y: XYᵀ = A`` (true ⇒ P is every such matrix, hence closed).

    Examples
    --------
    >>> from wellposed.families import family
    >>> everything_sentence(family("diag:2")).num_variables
    6
    """
    p = _prepare(pattern)
    if p.is_trivial():
        return Sentence(TRUE, "everything", "everything",
                        "P = {0} is every matrix supported on the empty union")
    union = p.union_mask()
    a_vars = {(int(i), int(j)): sympy.Symbol(f"a{_idx(int(i), int(j))}")
              for i, j in zip(*np.nonzero(union), strict=True)}
    xs, ys = _factor_symbols(p, "x", "y")
    prod = _product(p, xs, ys)
    equal = conj(atom(prod[i][j], "=", a) for (i, j), a in a_vars.items())
    formula = _block(ForAll, list(a_vars.values()), _block(Exists, [*xs.values(), *ys.values()], equal))
    s = Sentence(formula, "everything", "everything",
                 "every matrix supported on the union of the rank-one supports is a product XYᵀ "
                 "(true ⇒ P is that linear space, closed)", {"pattern": p.to_json()})
    s.info["variables"] = s.num_variables
    return s


def everything_sentences(pattern: SupportPattern, encoding: Encoding = ALL_ENCODINGS) -> list[Sentence]:
    """Sentences whose conjunction says "every matrix supported on the union is a product XYᵀ".

    The base sentence is :func:`everything_sentence`; with ``encoding.zero_patterns`` it is split into one
    sentence per nonzero pattern ``Z`` of ``A`` (and per sign vector with ``signs``), each
    ``∀A with pattern Z (normalized) ∃X,Y: XYᵀ = A``, using the same exact reductions as the closedness
    sentences (scaling, symmetry, signs; ``eliminate`` and ``factor_gauge`` in the ``∃X,Y`` part;
    ``box``, ``gauge`` and ``zero_outside`` do not apply: ``A`` is always on the union). P is every such
    matrix iff **every** sentence is true.

    Examples
    --------
    >>> from wellposed.families import family
    >>> [s.name for s in everything_sentences(family("full:1,2,1"))]
    ['everything[Z=10]', 'everything[Z=11]']
    >>> everything_sentences(family("full:1,2,1"), Encoding(zero_patterns=False))[0].num_variables
    5
    """
    return list(iter_everything_sentences(pattern, encoding))


def iter_everything_sentences(pattern: SupportPattern, encoding: Encoding = ALL_ENCODINGS) -> Iterator[Sentence]:
    """Lazy :func:`everything_sentences` (same order), for callers that may stop at a false sentence."""
    p = _prepare(pattern)
    enc = _check_encoding(encoding)
    if p.is_trivial():
        return iter([everything_sentence(p)])
    return (_everything_split(p, enc, z, sg) for z, sg in _splits(p, enc, True))


def _everything_split(p: SupportPattern, enc: Encoding, z: np.ndarray | None,
                      signs: dict[tuple[int, int], int] | None) -> Sentence:
    a_entries, a_vars, conditions = _matrix_a(p, enc, z, signs, True)
    xs, ys = _factor_symbols(p, "x", "y")
    member_vars, member = membership_formula(p, a_entries, xs, ys, enc.eliminate, enc.factor_gauge)
    body = _block(Exists, member_vars, member)
    hypothesis = conj(conditions)
    formula = _block(ForAll, a_vars, body if hypothesis == TRUE else Implies(hypothesis, body))
    if not a_vars and isinstance(formula, Implies):
        formula = formula.rhs
    s = Sentence(formula, "everything", "everything" + _split_name(z, signs),
                 "every matrix supported on the union" + ("" if z is None else " with this nonzero pattern") +
                 " is a product XYᵀ (all true ⇒ P is that linear space, closed)",
                 {"pattern": p.to_json(), "encoding": enc.label(),
                  "zero_pattern": None if z is None else [[int(v) for v in row] for row in z],
                  "signs": None if signs is None else [[i, j, v] for (i, j), v in sorted(signs.items())],
                  "a_variables": len(a_vars), "atoms": count_atoms(formula)})
    s.info["variables"] = s.num_variables
    return s


def _rational(value: Any, where: str) -> sympy.Rational:
    if isinstance(value, (bool, np.bool_)):
        raise InvalidMatrixError(f"{where} = {value!r} is a boolean; give a number.")
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        raise InvalidMatrixError(f"{where} = {value!r} is not finite; give a finite rational number.")
    try:
        if isinstance(value, (float, np.floating)):
            frac = Fraction(float(value))
        elif isinstance(value, sympy.Rational):
            return value
        elif isinstance(value, (int, np.integer, Fraction, str)):
            frac = Fraction(value) if not isinstance(value, np.integer) else Fraction(int(value))
        else:
            raise TypeError
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidMatrixError(
            f"{where} = {value!r} is not a rational number; use ints, floats, fractions.Fraction, "
            "sympy.Rational or strings such as '1/3'."
        ) from None
    return sympy.Rational(frac.numerator, frac.denominator)


def membership_sentence(pattern: SupportPattern, a0: Any) -> Sentence:
    """``∃X,Y: XYᵀ = A0`` for a given rational matrix ``A0`` (true ⇒ ``A0 ∈ P``).

    Parameters
    ----------
    pattern : SupportPattern
    a0 : array-like, shape (m, n)
        Entries are ints, finite floats (taken exactly), Fractions, sympy Rationals or strings
        like ``"1/3"``.

    Examples
    --------
    >>> from wellposed.families import family
    >>> s = membership_sentence(family("lu:2"), [[0, 1], [1, 0]])
    >>> s.num_variables
    6
    >>> membership_sentence(family("diag:2"), [[0, 1], [0, 0]]).formula
    Const(value=False)
    """
    p = check_pattern(pattern)
    rows = _matrix_rows(a0, p)
    q = _prepare(p)
    if q.is_trivial():
        value = all(v == 0 for row in rows for v in row)
        return Sentence(Const(value), "membership", "membership", "A0 = 0 (P = {0})")
    xs, ys = _factor_symbols(q, "x", "y")
    prod = _product(q, xs, ys)
    equal = conj(atom(prod[i][j], "=", rows[i][j]) for i in range(q.m) for j in range(q.n))
    formula = _block(Exists, [*xs.values(), *ys.values()], equal)
    return Sentence(formula, "membership", "membership", "A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P)",
                    {"pattern": q.to_json(), "a0": [[str(v) for v in row] for row in rows]})


def _matrix_rows(a0: Any, p: SupportPattern) -> list[list[sympy.Rational]]:
    if isinstance(a0, np.ndarray):
        if a0.ndim != 2:
            raise InvalidMatrixError(f"a0 has shape {a0.shape}; it must be the m×n = {p.m}×{p.n} matrix.")
        raw = a0.tolist()
    else:
        try:
            raw = [list(row) for row in a0]
        except TypeError:
            raise InvalidMatrixError(
                f"a0 = {a0!r} is not a 2-D array of numbers (shape {p.m}×{p.n})."
            ) from None
    if len(raw) != p.m or any(len(row) != p.n for row in raw):
        raise InvalidMatrixError(
            f"a0 = {a0!r} does not have shape {p.m}×{p.n} (rows × columns of A for this pattern)."
        )
    return [[_rational(v, f"a0[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(raw)]

