"""Exactness of the QE encodings eliminate, factor_gauge and signs, and of the split everything sentences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed import SupportPattern
from wellposed.backends import Answer, decide_by_qe, everything_by_qe, everything_split_by_qe
from wellposed.backends.qepcad_backend import QepcadBackend
from wellposed.backends.z3_backend import Z3Backend
from wellposed.families import family
from wellposed.formulas import (
    ALL_ENCODINGS,
    Encoding,
    closedness_sentences,
    column_space_formula,
    everything_sentences,
    render,
    sign_patterns,
    spanning_forest,
    stabilizer,
)
from wellposed.formulas.nodes import FALSE, TRUE, And, Atom, Const, Implies, Not, Or
from wellposed.formulas.symmetry import _normalize_signs

NEW = {
    "eliminate": Encoding(eliminate=True),
    "factor_gauge": Encoding(factor_gauge=True),
    "signs": Encoding(signs=True),
    "all three": Encoding(eliminate=True, factor_gauge=True, signs=True),
}


def _truth(f, values):
    """Evaluate a quantifier-free formula at exact values (the oracle for the minor conditions)."""
    if isinstance(f, Const):
        return f.value
    if isinstance(f, Atom):
        v = sympy.Rational(f.lhs.subs(values))
        return {"=": v == 0, "!=": v != 0, "<": v < 0, "<=": v <= 0, ">": v > 0, ">=": v >= 0}[f.rel]
    if isinstance(f, And):
        return all(_truth(a, values) for a in f.args)
    if isinstance(f, Or):
        return any(_truth(a, values) for a in f.args)
    if isinstance(f, Not):
        return not _truth(f.arg, values)
    if isinstance(f, Implies):
        return (not _truth(f.lhs, values)) or _truth(f.rhs, values)
    raise TypeError(f)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.data())
def test_column_space_formula_is_the_rank_test(rows, cols, data):
    # symbols stand for the entries; the formula at the values must say rank [M | a] == rank M
    entries = st.integers(-2, 2)
    mvals = [[data.draw(entries) for _ in range(cols)] for _ in range(rows)]
    avals = [data.draw(entries) for _ in range(rows)]
    structural = [[data.draw(st.booleans()) for _ in range(cols)] for _ in range(rows)]
    msym = [[sympy.Symbol(f"m{i}{k}") if structural[i][k] else sympy.Integer(0) for k in range(cols)]
            for i in range(rows)]
    asym = [sympy.Symbol(f"t{i}") for i in range(rows)]
    f = column_space_formula([[msym[i][k] for i in range(rows)] for k in range(cols)], asym)
    values = {s: v for row_s, row_v in zip(msym, mvals, strict=True) for s, v in zip(row_s, row_v, strict=True)
              if isinstance(s, sympy.Symbol)}
    values.update(dict(zip(asym, avals, strict=True)))
    m = sympy.Matrix([[values.get(s, 0) if isinstance(s, sympy.Symbol) else 0 for s in row] for row in msym])
    a = sympy.Matrix(avals)
    expected = m.row_join(a).rank() == m.rank()
    assert _truth(f, values) is expected


def test_column_space_formula_constants():
    assert column_space_formula([], []) == TRUE
    assert column_space_formula([[sympy.Integer(0)]], [sympy.Integer(1)]) == FALSE


def test_sign_patterns_cover_every_sign_vector():
    # every sign vector, normalized on the forest after a stabilizer element, reaches a kept representative
    for name, mask in [("full:3,3,1", np.ones((3, 3), dtype=bool)), ("full:2,3,2", np.ones((2, 3), dtype=bool)),
                       ("lu:3", np.tril(np.ones((3, 3), dtype=bool)) | np.eye(3, dtype=bool))]:
        p = family(name)
        forest = spanning_forest(mask)
        every = sign_patterns(p, mask, symmetry=False)
        kept = sign_patterns(p, mask)
        assert len(every) == 2 ** (int(mask.sum()) - len(forest))
        kept_keys = {tuple(sorted(s.items())) for s in kept}
        group = stabilizer(p, mask)
        for signs in every:
            full = {**dict.fromkeys(forest, 1), **signs}
            images = []
            for s, t, tr in group:
                image = {((int(t[j]), int(s[i])) if tr else (int(s[i]), int(t[j]))): v for (i, j), v in full.items()}
                normal = _normalize_signs(image, forest, p.m, p.n)
                assert all(normal[e] == 1 for e in forest)
                images.append(tuple(sorted((e, v) for e, v in normal.items() if e not in set(forest))))
            assert kept_keys & set(images), signs


def test_sign_patterns_known_counts():
    p = family("full:2,2,1")
    assert [sorted(s.values()) for s in sign_patterns(p, np.ones((2, 2), dtype=bool))] == [[1], [-1]]
    assert sign_patterns(p, np.array([[1, 1], [0, 0]], dtype=bool)) == [{}]


def test_new_encodings_reduce_or_keep_the_variables():
    p = family("lu:2")
    (plain,) = closedness_sentences(p, Encoding(zero_patterns=False))
    (elim,) = closedness_sentences(p, Encoding(zero_patterns=False, eliminate=True))
    assert elim.num_variables < plain.num_variables
    assert Encoding(eliminate=True, signs=True).label().endswith("signs+eliminate")
    assert Encoding(zero_patterns=False, signs=True).label() == "box+zero_outside+gauge"


@pytest.mark.parametrize("name", ["lu:2", "full:2,2,1", "diag:2", "full:1,2,2", "full:3,1,1"])
@pytest.mark.parametrize("variant", list(NEW))
def test_new_encodings_keep_the_verdict(name, variant):
    p = family(name)
    base = decide_by_qe(p, timeout=60.0, everything_first=False).answer
    got = decide_by_qe(p, timeout=60.0, encoding=NEW[variant], everything_first=False).answer
    assert base.decided
    assert got is base or not got.decided, (name, variant, base, got)


def _small(m, n, rmax):
    seen = {}
    for r in range(1, rmax + 1):
        for bits in itertools.product([0, 1], repeat=(m + n) * r):
            v = np.array(bits, dtype=bool)
            p = SupportPattern(v[: m * r].reshape(m, r), v[m * r:].reshape(n, r))
            if not p.empty_components().any():
                seen.setdefault(p.canonical_key(transpose=True), p)
    return list(seen.values())


@pytest.mark.slow
def test_new_encodings_keep_the_verdict_on_every_2x2_pattern():
    for p in _small(2, 2, 2):
        base = decide_by_qe(p, timeout=60.0, everything_first=False).answer
        for variant, enc in NEW.items():
            got = decide_by_qe(p, timeout=60.0, encoding=enc, everything_first=False).answer
            assert got is base or not (got.decided and base.decided), (p, variant, base, got)


@pytest.mark.parametrize(("name", "expected"), [("diag:2", True), ("full:2,2,2", True), ("full:2,2,1", False),
                                                ("lu:2", False), ("full:1,3,2", True)])
def test_split_everything_agrees_with_the_single_sentence(name, expected):
    p = family(name)
    assert everything_by_qe(p, timeout=60.0).value is expected
    for enc in [ALL_ENCODINGS, *NEW.values()]:
        assert everything_split_by_qe(p, timeout=60.0, encoding=enc).value is expected, enc.label()


def test_everything_first_decides_closed_patterns_and_keeps_the_rest():
    r = decide_by_qe(family("full:2,2,2"), timeout=60.0)
    assert r.answer is Answer.CLOSED and r.everything is not None and r.everything.value is True
    assert r.decisions == () and r.info["everything"] is True
    r = decide_by_qe(family("lu:2"), timeout=60.0)
    assert r.answer is Answer.NOT_CLOSED and r.everything.value is False and r.everything.witness is not None
    assert "everything[" in r.transcript
    with pytest.raises(Exception, match="everything_first"):
        decide_by_qe(family("lu:2"), everything_first=1)  # type: ignore[arg-type]


@pytest.mark.slow
def test_census_class_is_everything_by_elimination():
    # a 3×3×3 census class the engine left undecided: every matrix is a product (167 sentences)
    p = SupportPattern(["011", "101", "111"], ["011", "101", "111"])
    r = everything_split_by_qe(p, timeout=600.0)
    assert r.answer is Answer.TRUE and len(r.decisions) == r.sentences


@pytest.mark.parametrize("fmt", ["smtlib", "qepcad", "mathematica", "redlog"])
def test_printers_accept_the_new_encodings(fmt):
    enc = NEW["all three"]
    for s in [*closedness_sentences(family("lu:2"), enc)[:3], *everything_sentences(family("full:2,2,1"), enc)]:
        text = render(s, fmt)
        assert s.name.split("[")[0] in text or fmt != "smtlib"
        assert "x11" in text or "y11" in text or "a12" in text


@pytest.mark.slow
@pytest.mark.requires_qepcad
def test_qepcad_and_z3_agree_on_the_new_encodings():
    z3, qe = Z3Backend(), QepcadBackend()
    sentences = [s for enc in NEW.values() for name in ["lu:2", "diag:2", "full:1,2,2"]
                 for s in closedness_sentences(family(name), enc)]
    sentences += [s for enc in NEW.values() for name in ["lu:2", "diag:2"]
                  for s in everything_sentences(family(name), enc)]
    both = 0
    for s in sentences:
        a, b = z3.decide(s, 20.0).answer, qe.decide(s, 20.0).answer
        if a.decided and b.decided:
            assert a is b, (s.name, s.info, a, b)
            both += 1
    assert both >= len(sentences) * 3 // 4
