"""Kronecker-sparse pairs decided from (a, b, c, d): the closed-form record equals ``analyze`` on the masks.

Oracles, all computed fresh: :func:`wellposed.analysis.analyze` on ``family(spec)`` (the materialized
pattern), the plain-loop class count ``_class_sizes_by_loop`` (``O(r)``, no masks), brute-force floor sums,
and an inline copy of the mask construction ``families.py`` used before it shared this module's parser.
"""

from __future__ import annotations

import itertools
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.analysis import analyze
from wellposed.errors import InvalidChainError, InvalidSpecError
from wellposed.families import family, load_pattern
from wellposed.kronecker import KSChain, KSPattern
from wellposed.kronecker_analysis import _class_sizes_by_loop, _floor_sums, analyze_kronecker, kronecker_classes
from wellposed.kronecker_spec import KRONECKER_FAMILIES, is_kronecker_spec, kronecker_pair


def kronecker_support(a: int, b: int, c: int, d: int) -> np.ndarray:
    """The mask ``I_a ⊗ 1_{b×c} ⊗ I_d`` written out independently of :meth:`KSPattern.mask` (oracle)."""
    return np.kron(np.kron(np.eye(a, dtype=bool), np.ones((b, c), dtype=bool)), np.eye(d, dtype=bool))

#: Top-level fields of the analyze record that the closed form reproduces exactly.
FIELDS = ("name", "description", "m", "n", "r", "free_entries", "tractable", "tractable_method", "tractable_reason",
          "dto", "relaxed", "failing_pair", "num_classes", "num_complete_classes", "empty_components", "closed",
          "closed_method", "closed_reason", "certificate", "key", "parts", "details")
GRAPH_FIELDS = ("nodes", "edges", "edges_by_relation", "connected_components")


def _quads(limit: int) -> list[tuple[int, int, int, int]]:
    return [q for q in itertools.product(range(1, limit + 1), repeat=4) if math.prod(q) <= limit]


def _ks_pairs(limit: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every valid pair of factors with ``a·b·c·d ≤ limit`` each (chainable or not)."""
    quads = _quads(limit)
    return [(p, q) for p in quads for q in quads if p[0] * p[2] * p[3] == q[0] * q[1] * q[3]]


def _ks_spec(p: tuple[int, ...], q: tuple[int, ...]) -> str:
    return "ks:" + ",".join(map(str, p)) + ";" + ",".join(map(str, q))


BUTTERFLY_SPECS = [f"butterfly:{2**L}:{s}" for L in range(2, 7) for s in range(1, L)]
MONARCH_SPECS = [f"monarch:{m}" for m in range(1, 7)]
# all pairs with a·b·c·d ≤ 6, and every 40th pair with a·b·c·d ≤ 16 (3320 pairs, 1829 not chainable)
KS_SPECS = sorted({_ks_spec(p, q) for p, q in _ks_pairs(6)} | {_ks_spec(p, q) for p, q in _ks_pairs(16)[::40]})
ODD_SPECS = ["BUTTERFLY: 8 :2", " Monarch :3", "ks: 2,1,3,1 ; 3,2,1,1", "ks:1,2,3,2;2,3,1,1"]


def _project(rec: dict) -> dict:
    out = {f: rec.get(f) for f in FIELDS}
    out["graph"] = {f: rec["graph"][f] for f in GRAPH_FIELDS}
    return out


@pytest.mark.parametrize("spec", BUTTERFLY_SPECS + MONARCH_SPECS + KS_SPECS + ODD_SPECS)
def test_closed_form_record_equals_analyze(spec):
    expected = _project(analyze(family(spec)).to_json())
    got = analyze_kronecker(spec)
    assert got is not None
    assert _project(got) == expected


@pytest.mark.parametrize("spec", ["butterfly:16:2", "monarch:1", "ks:1,3,2,1;2,1,1,1"])
def test_record_without_closedness_equals_analyze(spec):
    got = analyze_kronecker(kronecker_pair(spec), closedness=False)
    assert got is not None
    expected = analyze(family(spec), closedness=False).to_json()
    assert {f: got[f] for f in FIELDS[:-3]} == {f: expected[f] for f in FIELDS[:-3]}


def test_sweep_has_chainable_and_non_chainable_pairs():
    kinds = {kronecker_pair(s).chainable for s in KS_SPECS}
    assert kinds == {True, False} and len(KS_SPECS) > 330


# ---------------------------------------------------------------- the class count, against the plain loop
def _triples(r: int) -> list[tuple[int, int, int]]:
    """``(x, y, z)`` with ``x·y·z = r``."""
    return [(x, r // (x * z), z) for x in range(1, r + 1) if r % x == 0 for z in range(1, r // x + 1)
            if (r // x) % z == 0]


@pytest.mark.parametrize("r", [1, 6, 12, 30, 36, 60, 72])
def test_class_counts_equal_the_plain_loop(r):
    """Every pair with r components (a1·c1·d1 = a2·b2·d2 = r) and a few (b1, c2): counts, complete classes,
    identical pairs and the largest class agree with the O(r) enumeration of the class keys."""
    for (a1, c1, d1), (a2, b2, d2) in itertools.product(_triples(r), repeat=2):
        for b1, c2 in ((1, 3), (2, 2), (3, 5), (4, 1)):
            pair = KSChain((KSPattern(a1, b1, c1, d1), KSPattern(a2, b2, c2, d2)))
            sizes = _class_sizes_by_loop(pair).values()
            mu = min(b1, c2)
            expected = (len(sizes), sum(s >= mu for s in sizes), sum(s * (s - 1) // 2 for s in sizes), max(sizes))
            got = kronecker_classes(pair)
            assert (got.num_classes, got.num_complete, got.identical_pairs, got.max_size) == expected, pair
            assert (got.class_rows, got.class_cols) == (b1, c2)


def test_chainable_pairs_have_a2_d1_classes_of_size_rho():
    for p, q in _ks_pairs(16):
        pair = kronecker_pair(_ks_spec(p, q))
        if pair.chainable:
            got = kronecker_classes(pair)
            rho = p[0] * p[2] // q[0]
            assert (got.num_classes, got.max_size) == (q[0] * p[3], rho), pair


def test_transposition_keeps_the_classes():
    """``Aᵀ ≈ Y Xᵀ``: the pair ((a2,c2,b2,d2), (a1,c1,b1,d1)) has the same classes, rows and columns swapped."""
    for p, q in _ks_pairs(10):
        pair = kronecker_pair(_ks_spec(p, q))
        flipped = KSChain((KSPattern(q[0], q[2], q[1], q[3]), KSPattern(p[0], p[2], p[1], p[3])))
        a, b = kronecker_classes(pair), kronecker_classes(flipped)
        assert (a.num_classes, a.num_complete, a.identical_pairs, a.max_size) == \
            (b.num_classes, b.num_complete, b.identical_pairs, b.max_size)
        assert (a.class_rows, a.class_cols) == (b.class_cols, b.class_rows)


def test_floor_sums_equal_brute_force():
    for a, b, c, n in itertools.product(range(0, 7), range(0, 7), range(1, 7), range(-1, 9)):
        q = [(a * i + b) // c for i in range(n + 1)]
        expected = (sum(q), sum(i * v for i, v in enumerate(q)), sum(v * v for v in q))
        assert _floor_sums(a, b, c, n) == expected, (a, b, c, n)


# ---------------------------------------------------------------- masks and parsing: one grammar
def _old_family(spec: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """The masks, name and description as ``families.py`` built them before sharing the parser."""
    name, _, args = spec.partition(":")
    key = name.strip().lower()
    if key == "butterfly":
        big_n, s = (int(t) for t in args.split(":"))
        levels = int(round(math.log2(big_n)))
        left = kronecker_support(1, 2**s, 2**s, 2 ** (levels - s))
        right = kronecker_support(2**s, 2 ** (levels - s), 2 ** (levels - s), 1)
        return left, right.T, f"butterfly:{big_n}:{s}", \
            f"two-factor split after factor {s} of the {big_n}×{big_n} dyadic butterfly"
    if key == "monarch":
        b = int(args)
        return kronecker_support(1, b, b, b), kronecker_support(b, b, b, 1).T, f"monarch:{b}", \
            f"Monarch product of two {b * b}×{b * b} block factors"
    parts = args.split(";")
    p1, p2 = ([int(t) for t in part.split(",")] for part in parts)
    return kronecker_support(*p1), kronecker_support(*p2).T, f"ks:{parts[0]};{parts[1]}", \
        "product of two Kronecker-sparse factors"


@pytest.mark.parametrize("spec", BUTTERFLY_SPECS + MONARCH_SPECS + KS_SPECS[::7] + ODD_SPECS)
def test_family_patterns_are_unchanged(spec):
    x, y, name, description = _old_family(spec)
    p = family(spec)
    assert np.array_equal(p.x_support, x) and np.array_equal(p.y_support, y)
    assert (p.name, p.description) == (name, description)
    q = kronecker_pair(spec).pattern()
    assert q == p and (q.name, q.description) == (name, description)


def test_pattern_mask_equals_kronecker_support():
    for q in _quads(16):
        f = KSPattern(*q)
        mask = f.mask()
        assert np.array_equal(mask, kronecker_support(*q)) and mask.shape == f.shape and mask.sum() == f.nnz


@pytest.mark.parametrize("value", [0, -1, 1.0, True, "2", None])
def test_pattern_refuses_non_positive_integers(value):
    with pytest.raises(InvalidChainError, match=r"KSPattern.c = .* must be an integer ≥ 1"):
        KSPattern(1, 2, value, 1)  # type: ignore[arg-type]


def test_chain_refuses_mismatched_factors():
    with pytest.raises(InvalidChainError, match=r"\(1,2,2,1\) has a·c·d = 2 columns but \(1,3,2,1\) has a·b·d = 3"):
        KSChain((KSPattern(1, 2, 2, 1), KSPattern(1, 3, 2, 1)))


BAD_SPECS = [
    "butterfly:8", "butterfly:8:1:2", "butterfly:x:1", "butterfly:12:1", "butterfly:2:1", "butterfly:1:1",
    "butterfly:8:3", "butterfly:8:0", "butterfly:8:-1", "butterfly:8:1.5", "butterfly::", "butterfly:",
    "butterfly:" + "9" * 50 + ":1", f"butterfly:{10**19}:1", f"butterfly:{10**18}:1",
    "monarch:0", "monarch:", "monarch:2.5", "monarch:1,2,3", "monarch:-3", "monarch:٣", "monarch:1e3",
    "ks:;", "ks:", "ks:1,2,2,1", "ks:1,2,2,1;1,3,2,1", "ks:1,2,2;1,2,2,1", "ks:1,2,2,1;1,2,2,1;1,1,1,1",
    "ks:1,2,2,0;1,2,2,1", "ks:1,2,2,1;1,2,2,x", "ks:1,2,2,1/1,3,2,1", "KS:2,2,2,2;2,2,2,3",
    "debut:2x2", "debut:2x2,2x2,2x2", "debut:2-3,2x2", "butterfly:16", "butterfly:2",
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_parse_errors_equal_the_family_ones(spec):
    with pytest.raises(InvalidSpecError) as expected:
        family(spec)
    with pytest.raises(InvalidSpecError) as got:
        kronecker_pair(spec)
    assert str(got.value) == str(expected.value)
    with pytest.raises(InvalidSpecError) as via_analyze:
        analyze_kronecker(spec)
    assert str(via_analyze.value) == str(expected.value)


_NUMBERS = st.one_of(st.integers(0, 9).map(str), st.sampled_from(["-1", "+2", "1.5", "", " ", "00", "64", "256",
                                                                     str(10**18), "9" * 41, "2.0", "٣"]))


@st.composite
def kronecker_specs(draw) -> str:
    name = draw(st.sampled_from(["butterfly", "monarch", "debut", "ks", "Butterfly", " KS ", "DeBut"]))
    args = draw(st.lists(_NUMBERS, max_size=9))
    seps = draw(st.lists(st.sampled_from([",", ";", ":", "x", "/"]), min_size=len(args), max_size=len(args)))
    return name + ":" + "".join(a + s for a, s in zip(args, seps, strict=True))[:-1]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(spec=kronecker_specs())
def test_fuzzed_specs_parse_like_the_family(spec):
    """Same error text as ``family``; a spec that parses gives a pair with the name, shape and free entries of
    the family's pattern (built only when its masks are small: this test allocates no large array)."""
    try:
        pair = kronecker_pair(spec)
    except InvalidSpecError as exc:
        with pytest.raises(InvalidSpecError) as expected:
            family(spec)
        assert str(exc) == str(expected.value)
        return
    rec = analyze_kronecker(spec)
    assert rec is not None and (rec["name"], rec["r"], rec["dto"]) == (pair.name, pair.r, True)
    if (pair.m + pair.n) * pair.r > 10**6:
        return
    expected = family(spec)
    assert (pair.name, pair.description) == (expected.name, expected.description)
    assert (pair.m, pair.n, pair.r, pair.nnz) == (expected.m, expected.n, expected.r, expected.num_free_entries())


# ---------------------------------------------------------------- routing: what analyze_kronecker answers
def test_other_specs_and_files_are_not_kronecker(tmp_path, monkeypatch):
    assert KRONECKER_FAMILIES == ("butterfly", "monarch", "debut", "ks")
    assert analyze_kronecker("lu:3") is None and analyze_kronecker("full:2,2,1") is None
    assert analyze_kronecker("nope") is None and not is_kronecker_spec(3)
    assert not is_kronecker_spec("ks:1,1,1,1;1,1,1,1.json")  # load_pattern reads it as a file
    monkeypatch.chdir(tmp_path)
    spec = "monarch:2"
    assert is_kronecker_spec(spec)
    Path(spec).write_text('{"x_support": ["1"], "y_support": ["1"]}')  # a file of that name wins in load_pattern
    assert load_pattern(spec).m == 1
    assert not is_kronecker_spec(spec) and analyze_kronecker(spec) is None


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidSpecError, match="must be a family spec string or a two-factor KSChain"):
        analyze_kronecker(["butterfly:8:1"])  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="closedness = 'yes' must be True or False"):
        analyze_kronecker("butterfly:8:1", closedness="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="unknown chain family 'lu'"):
        kronecker_pair("lu:3")
    with pytest.raises(InvalidChainError, match="must be a two-factor KSChain"):
        analyze_kronecker(KSChain((KSPattern(1, 2, 2, 1),)))


# ---------------------------------------------------------------- large patterns: no mask is allocated
#: ``ks:3k,1,3,4;2k,2,1,9`` (A = 12, B = 18: not nested, lcm(d1, d2) = 36) has k periods of 36 components,
#: so its class count is k times that of k = 1, which the plain loop counts.
_NOT_NESTED = KSChain((KSPattern(3, 1, 3, 4), KSPattern(2, 2, 1, 9)))


@pytest.mark.parametrize("spec, classes", [
    ("butterfly:65536:8", 65536), ("monarch:256", 65536), ("monarch:64", 4096),
    (f"butterfly:{2**40}:17", 2**40), (f"ks:{10**18},3,2,5;{10**18},2,7,5", 5 * 10**18),
    (f"ks:{3 * 10**17},1,3,4;{2 * 10**17},2,1,9", len(_class_sizes_by_loop(_NOT_NESTED)) * 10**17),
])
def test_large_patterns_without_masks(spec, classes):
    analyze_kronecker("butterfly:8:1")  # imports and first-call caches outside the measurement
    tracemalloc.start()
    try:
        rec = analyze_kronecker(spec)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rec is not None and rec["num_classes"] == classes and rec["closed"] is True and rec["dto"]
    assert peak < 256 * 1024, peak  # a 65536×65536 boolean mask alone is 4 GiB
