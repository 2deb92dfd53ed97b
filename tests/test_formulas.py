"""Tests of the formula AST and the closedness / membership / everything sentence builder."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed import SupportPattern
from wellposed.errors import InvalidMatrixError, InvalidSpecError, InvalidSupportError
from wellposed.families import family
from wellposed.formulas import (
    ALL_ENCODINGS,
    FALSE,
    NO_ENCODINGS,
    TRUE,
    And,
    Atom,
    Const,
    Encoding,
    Exists,
    ForAll,
    Implies,
    Not,
    Or,
    Sentence,
    UnsupportedNodeError,
    atom,
    automorphisms,
    closedness_sentences,
    everything_sentence,
    membership_sentence,
    prenex,
    spanning_forest,
    zero_patterns,
)
from wellposed.formulas.nodes import bound_symbols, free_symbols, integer_terms
from wellposed.formulas.symmetry import _zero_patterns_reference

from .strategies import patterns

x, y, z = sympy.symbols("x y z")


def evaluate(f, values):
    """Truth value of a quantifier-free formula under an assignment (test oracle)."""
    if isinstance(f, Const):
        return f.value
    if isinstance(f, Atom):
        v = f.lhs.subs(values)
        assert v.is_number, f"unassigned variables in {f}"
        return {"=": v == 0, "!=": v != 0, "<": v < 0, "<=": v <= 0, ">": v > 0, ">=": v >= 0}[f.rel]
    if isinstance(f, And):
        return all(evaluate(a, values) for a in f.args)
    if isinstance(f, Or):
        return any(evaluate(a, values) for a in f.args)
    if isinstance(f, Not):
        return not evaluate(f.arg, values)
    if isinstance(f, Implies):
        return (not evaluate(f.lhs, values)) or evaluate(f.rhs, values)
    raise TypeError(f)


# ---------------------------------------------------------------------------------------------- nodes
def test_atom_folds_constants_and_normalizes():
    assert atom(sympy.Integer(3), ">", 1) == TRUE
    assert atom(sympy.Integer(0), "!=") == FALSE
    a = atom(x * (y + 1), "<", x)
    assert isinstance(a, Atom) and sympy.expand(a.lhs - x * y) == 0


@pytest.mark.parametrize("bad", [sympy.sin(x), sympy.sqrt(x), 1 / x, x**sympy.Rational(1, 2), sympy.pi * x,
                                 sympy.Float(0.5) * x])
def test_atom_refuses_non_polynomials(bad):
    with pytest.raises(UnsupportedNodeError):
        Atom(bad, "=")


def test_atom_refuses_unknown_relation_and_bad_blocks():
    with pytest.raises(UnsupportedNodeError, match="rel"):
        Atom(x, "==")
    with pytest.raises(UnsupportedNodeError):
        Exists((), TRUE)
    with pytest.raises(UnsupportedNodeError, match="repeats"):
        ForAll((x, x), TRUE)
    with pytest.raises(UnsupportedNodeError):
        Exists(("x",), TRUE)  # type: ignore[arg-type]


def test_sentence_must_be_closed():
    with pytest.raises(UnsupportedNodeError, match="free variables"):
        Sentence(atom(x, "="), "membership", "bad", "")
    s = Sentence(Exists((x,), atom(x, "=")), "membership", "ok", "")
    assert s.num_variables == 1


def test_prenex_pulls_blocks_and_flips_under_negation():
    f = And((ForAll((x,), Not(atom(x * y, "=", 1))),
             ForAll((z,), Implies(atom(z, ">"), Exists((y,), atom(y, "<", z))))))
    with pytest.raises(UnsupportedNodeError, match="bound"):
        prenex(f)  # y is free in the first conjunct and bound in the second
    g = Exists((y,), And((ForAll((x,), Not(atom(x * y, "=", 1))),)))
    prefix, matrix = prenex(Not(g))
    assert [(q, [v.name for v in vs]) for q, vs in prefix] == [("A", ["y"]), ("E", ["x"])]
    assert matrix == atom(x * y, "=", 1)
    h = Implies(Exists((x,), atom(x, ">")), ForAll((y,), atom(y, ">")))
    prefix, matrix = prenex(h)
    assert [q for q, _ in prefix] == ["A"]  # ∀x ∀y merged
    assert isinstance(matrix, Or)


def test_integer_terms_clears_denominators_positively():
    terms = integer_terms(Atom(-x / 3 + y**2 / 2 + sympy.Rational(5, 6), "<="))
    assert terms == [(3, ((y, 2),)), (-2, ((x, 1),)), (5, ())]


# ---------------------------------------------------------------------------------------------- encodings
def test_encoding_validation_and_labels():
    with pytest.raises(InvalidSpecError, match="box"):
        Encoding(box=1)  # type: ignore[arg-type]
    assert NO_ENCODINGS.label() == "none"
    assert ALL_ENCODINGS.without("gauge").gauge is False
    with pytest.raises(InvalidSpecError, match="unknown"):
        ALL_ENCODINGS.without("nope")


def test_unencoded_sentence_has_the_textbook_variable_count():
    # mn + 2(|I| + |J|) + 1 variables
    for name in ["lu:2", "full:2,2,1", "diag:2", "full:2,3,1"]:
        p = family(name)
        (s,) = closedness_sentences(p, NO_ENCODINGS)
        assert s.num_variables == p.m * p.n + 2 * p.num_free_entries() + 1
        assert not free_symbols(s.formula)


def test_encodings_shrink_variables():
    p = family("lu:2")
    (plain,) = closedness_sentences(p, NO_ENCODINGS)
    (gauged,) = closedness_sentences(p, Encoding(zero_patterns=False))
    assert gauged.num_variables == plain.num_variables - p.r  # gauge fixes one entry per column
    split = closedness_sentences(p)
    assert max(s.num_variables for s in split) < gauged.num_variables


def test_zero_outside_removes_a_variables():
    p = family("diag:2")
    (s,) = closedness_sentences(p, Encoding(zero_patterns=False))
    names = {v.name for v in bound_symbols(s.formula)}
    assert {"a11", "a22"} <= names and not {"a12", "a21"} & names


def test_trivial_pattern_gives_no_sentence():
    p = SupportPattern(["1"], ["0"])
    assert closedness_sentences(p) == []
    assert everything_sentence(p).formula == TRUE


def test_bad_arguments_are_named():
    with pytest.raises(InvalidSupportError, match="pattern"):
        closedness_sentences("lu:2")  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="encoding"):
        closedness_sentences(family("lu:2"), encoding="all")  # type: ignore[arg-type]
    with pytest.raises(InvalidMatrixError, match="shape"):
        membership_sentence(family("lu:2"), [[1, 2, 3]])
    with pytest.raises(InvalidMatrixError, match="finite"):
        membership_sentence(family("lu:2"), [[1, float("nan")], [0, 1]])
    with pytest.raises(InvalidMatrixError, match="rational"):
        membership_sentence(family("lu:2"), [[1, "x"], [0, 1]])
    with pytest.raises(InvalidMatrixError, match="boolean"):
        membership_sentence(family("lu:2"), [[True, 0], [0, 1]])
    with pytest.raises(InvalidSpecError, match="2\\^"):
        closedness_sentences(family("full:5,5,1"))


# ---------------------------------------------------------------------------------------------- symmetry
def _act(a: np.ndarray, s: np.ndarray, t: np.ndarray, tr: bool) -> np.ndarray:
    b = np.zeros_like(a)
    b[np.ix_(s, t)] = a
    return b.T if tr else b


@pytest.mark.parametrize("name", ["lu:2", "full:2,2,1", "diag:2", "full:2,3,2", "lu:3", "full:3,3,2"])
def test_automorphisms_preserve_the_pattern(name):
    p = family(name)
    group = automorphisms(p)
    key = p.canonical_key()
    for s, t, tr in group:
        x_new = np.zeros_like(p.x_support)
        x_new[s] = p.x_support
        y_new = np.zeros_like(p.y_support)
        y_new[t] = p.y_support
        q = SupportPattern(y_new, x_new) if tr else SupportPattern(x_new, y_new)
        assert q.canonical_key() == key
        assert np.array_equal(_act(p.union_mask(), s, t, tr), p.union_mask())


def test_automorphism_counts():
    assert len(automorphisms(family("full:3,3,2"))) == 72
    assert len(automorphisms(family("full:2,3,1"))) == 12
    assert len(automorphisms(family("lu:3"))) == 2


@settings(max_examples=40, deadline=None)
@given(patterns(max_m=3, max_n=3, max_r=2))
def test_zero_patterns_match_plain_loop_reference_and_cover_all_orbits(p):
    if p.is_trivial():
        return
    for symmetry in (False, True):
        fast = zero_patterns(p, symmetry=symmetry)
        slow = _zero_patterns_reference(p, symmetry=symmetry)
        assert [z.tolist() for z in fast] == [z.tolist() for z in slow]
    union = p.union_mask()
    reps = zero_patterns(p)
    covered = {_act(z, s, t, tr).tobytes() for z in reps for s, t, tr in automorphisms(p)}
    assert len(covered) == 2 ** int(union.sum()) - 1  # every nonempty pattern is in some orbit
    assert all(not (z & ~union).any() and z.any() for z in reps)


# ---------------------------------------------------------------------------------------------- scaling
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**16 - 1), st.integers(0, 1000))
def test_spanning_forest_scaling_is_always_possible(m, n, bits, seed):
    mask = np.array([(bits >> q) & 1 for q in range(m * n)], dtype=bool).reshape(m, n)
    forest = spanning_forest(mask)
    # forest size = vertices touched - connected components (check with networkx)
    import networkx as nx

    g = nx.Graph()
    g.add_edges_from((("r", i), ("c", j)) for i, j in zip(*np.nonzero(mask), strict=True))
    assert len(forest) == g.number_of_nodes() - nx.number_connected_components(g)
    assert all(mask[i, j] for i, j in forest)
    # planted: a random A with this pattern is scaled to ones on the forest by exact rationals
    rng = np.random.default_rng(seed)
    a = [[Fraction(int(rng.integers(1, 9)) * int(rng.choice([-1, 1]))) if mask[i, j] else Fraction(0)
          for j in range(n)] for i in range(m)]
    rs: dict[int, Fraction] = {}
    cs: dict[int, Fraction] = {}
    for i, j in _tree_order(forest):
        if i in rs and j not in cs:
            cs[j] = 1 / (rs[i] * a[i][j])
        elif j in cs and i not in rs:
            rs[i] = 1 / (cs[j] * a[i][j])
        elif i not in rs and j not in cs:
            rs[i] = Fraction(1)
            cs[j] = 1 / a[i][j]
    for i, j in forest:
        assert rs[i] * a[i][j] * cs[j] == 1


def _tree_order(forest):
    """Forest edges reordered so that every edge after the first of its tree touches a seen vertex."""
    left = list(forest)
    seen: set = set()
    out = []
    while left:
        for e in left:
            if ("r", e[0]) in seen or ("c", e[1]) in seen or not any(
                    ("r", f[0]) in seen or ("c", f[1]) in seen for f in left):
                out.append(e)
                seen |= {("r", e[0]), ("c", e[1])}
                left.remove(e)
                break
    return out


# ---------------------------------------------------------------------------------------------- membership
@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["lu:2", "full:2,3,1", "diag:3", "full:2,2,2", "lu:3"]), st.integers(0, 10**6))
def test_membership_sentence_holds_at_a_planted_factorization(name, seed):
    p = family(name)
    rng = np.random.default_rng(seed)
    xv = rng.integers(-3, 4, size=p.x_support.shape) * p.x_support
    yv = rng.integers(-3, 4, size=p.y_support.shape) * p.y_support
    s = membership_sentence(p, (xv @ yv.T).tolist())
    assert isinstance(s.formula, Exists)
    values = {sympy.Symbol(f"x{i + 1}{k + 1}"): int(xv[i, k]) for i, k in zip(*np.nonzero(p.x_support), strict=True)}
    values |= {sympy.Symbol(f"y{j + 1}{k + 1}"): int(yv[j, k]) for j, k in zip(*np.nonzero(p.y_support), strict=True)}
    assert evaluate(s.formula.body, values)
    # perturbing one entry of A0 breaks the planted witness
    a_bad = (xv @ yv.T).astype(object)
    a_bad[0, 0] += Fraction(1, 3)
    bad = membership_sentence(p, a_bad)
    assert isinstance(bad.formula, Const) or not evaluate(bad.formula.body, values)


def test_membership_outside_union_is_constant_false_and_exact_rationals():
    assert membership_sentence(family("diag:2"), [[1, 1], [0, 1]]).formula == FALSE
    s = membership_sentence(family("full:1,1,1"), [[0.1]])
    (coef, _), (const, _) = integer_terms(s.formula.body)
    assert Fraction(-const, coef) == Fraction(0.1)  # the binary value of 0.1, not 1/10
    s2 = membership_sentence(family("full:1,1,1"), [["1/3"]])
    assert integer_terms(s2.formula.body) == [(3, ((sympy.Symbol("x11"), 1), (sympy.Symbol("y11"), 1))), (-1, ())]


def test_closedness_sentence_semantics_on_the_lu_witness():
    """The LU 2×2 witness A = [[0,1],[1,0]]: its sentence's closure part holds along the known curve."""
    p = family("lu:2")
    (s,) = [t for t in closedness_sentences(p) if t.info["zero_pattern"] == [[0, 1], [1, 0]]]
    assert s.num_variables == 11 and s.info["a_variables"] == 0
    prefix, matrix = prenex(s.formula)
    assert [q for q, _ in prefix] == ["A", "E"]
    eps = sympy.Rational(1, 100)
    k = 1 / eps
    # X_k = [[1/k, 0], [1, -1]], Y_k = [[1, 0], [k, k]] ; gauge divides column 1 by 1/k and column 2 by 1
    u = {"u21": k, "u22": 1}  # column 1 rescaled: x = [1, k]; column 2: x22 = -1 -> pivot row 2 fixed to 1
    v = {"v11": 1 / k, "v21": 1, "v22": -k}
    assign = {sympy.Symbol(n): val for n, val in {**u, **v}.items()}
    assign[sympy.Symbol("e")] = 2 * eps
    close = _closure_matrix(s)
    assert evaluate(close, assign)
    assign[sympy.Symbol("e")] = eps / 1000
    assert not evaluate(close, {**assign, sympy.Symbol("v11"): 0})


def _closure_matrix(s):
    body = s.formula.body if isinstance(s.formula, Exists) else s.formula
    parts = body.args if isinstance(body, And) else (body,)
    (approx,) = [p for p in parts if isinstance(p, ForAll) and p.vars == (sympy.Symbol("e"),)]
    return approx.body.rhs.body


def test_everything_sentence_shape():
    s = everything_sentence(family("lu:2"))
    assert isinstance(s.formula, ForAll) and isinstance(s.formula.body, Exists)
    assert len(s.formula.vars) == 4
    assert s.num_variables == 4 + 6


def test_sentences_are_deterministic_and_named_by_pattern():
    a = closedness_sentences(family("full:2,2,2"))
    b = closedness_sentences(family("full:2,2,2"))
    assert a == b
    assert len({s.name for s in a}) == len(a)
    assert all(math.isfinite(s.info["atoms"]) for s in a)
    assert list(itertools.accumulate(s.num_variables for s in a))  # non-empty
