"""Tractability verdicts: catalogue, plain-set reference, invariances, batch = one by one."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.analysis import analyze
from wellposed.batch import classify_lines
from wellposed.batch.kernel import classify_batch
from wellposed.classify import classify
from wellposed.families import family
from wellposed.support import SupportPattern

from .catalogue import case_params
from .strategies import patterns


def reference_verdict(p: SupportPattern) -> tuple[bool, bool]:
    """(dto, relaxed) computed with Python sets and networkx, independently of the Gram code."""
    sup = [frozenset(itertools.product(i, j)) for i, j in p.rank_one_supports() if i and j]
    rect = [(frozenset(i), frozenset(j)) for i, j in p.rank_one_supports() if i and j]
    dto = all(a == b or not (a & b) for a, b in itertools.combinations(sup, 2))
    if dto:
        return True, False
    classes: dict[frozenset, int] = {}
    for s in sup:
        classes[s] = classes.get(s, 0) + 1
    shape = {s: r for s, r in zip(sup, rect, strict=True)}
    cec = [s for s, k in classes.items() if k >= min(len(shape[s][0]), len(shape[s][1]))]
    if not cec:
        return False, False
    s_t = frozenset().union(*cec)
    omegas = [s - s_t for s in classes if s not in cec]
    for a, b in itertools.combinations(omegas, 2):
        if a & b:
            return False, False
    for om in omegas:
        g = nx.Graph()
        g.add_edges_from((("r", i), ("c", j)) for i, j in om)
        for comp in nx.connected_components(g):
            rows = {v for t, v in comp if t == "r"}
            cols = {v for t, v in comp if t == "c"}
            if not all((i, j) in om for i in rows for j in cols):
                return False, False
    return False, True


@pytest.mark.parametrize("pattern", case_params())
def test_catalogue(pattern):
    c = classify(pattern)
    assert c.tractable == pattern.expected["tractable"]
    assert c.dto == pattern.expected["dto"]
    assert (c.dto, c.relaxed) == reference_verdict(pattern)
    if not c.tractable:
        k, l = c.failing_pair
        assert k != l and "components" in c.reason


@settings(max_examples=300, deadline=None)
@given(patterns(max_m=5, max_n=5, max_r=5))
def test_matches_plain_reference(p):
    c = classify(p)
    assert (c.dto, c.relaxed) == reference_verdict(p)
    if c.failing_pair is not None:
        k, l = c.failing_pair
        sk, sl = p.support_mask(k), p.support_mask(l)
        assert (sk & sl).any() and not np.array_equal(sk, sl)


def _verdict(p):
    c = classify(p)
    return c.dto, c.relaxed, len(c.classes), sum(k.complete for k in c.classes)


@settings(max_examples=200, deadline=None)
@given(patterns(max_m=5, max_n=5, max_r=5), st.randoms())
def test_invariances(p, rnd):
    rp, cp, kp = list(range(p.m)), list(range(p.n)), list(range(p.r))
    for perm in (rp, cp, kp):
        rnd.shuffle(perm)
    v = _verdict(p)
    assert _verdict(p.permute(rp, cp, kp)) == v
    assert _verdict(p.transpose()) == v
    assert _verdict(p.add_empty_component()) == v


@settings(max_examples=150, deadline=None)
@given(patterns(max_m=3, max_n=3, max_r=3), patterns(max_m=3, max_n=3, max_r=3))
def test_direct_sum(p, q):
    s = p.direct_sum(q)
    assert classify(s).dto == (classify(p).dto and classify(q).dto)
    assert classify(s).tractable == (classify(p).tractable and classify(q).tractable)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31 - 1),
       st.floats(0.1, 0.9))
def test_batch_equals_one_by_one(m, n, r, seed, density):
    rng = np.random.default_rng(seed)
    x = rng.random((40, m, r)) < density
    y = rng.random((40, n, r)) < density
    out = classify_batch(x, y)
    lines = []
    for b in range(40):
        p = SupportPattern(x[b], y[b], name=f"p{b}")
        c = classify(p)
        assert out["dto"][b] == c.dto
        assert out["num_classes"][b] == len(c.classes)
        assert out["num_complete"][b] == sum(k.complete for k in c.classes)
        rec = p.to_json()
        rec = {"name": f"p{b}", "x_support": rec["x_support"], "y_support": rec["y_support"]}
        lines.append((b + 1, json.dumps(rec)))
    rows = classify_lines(lines)
    for b, row in enumerate(rows):
        expect = analyze(SupportPattern(x[b], y[b], name=f"p{b}"), closedness=False).to_row()
        assert row == {"line": b + 1, "ok": True, **expect}


def test_reasons_name_the_failure():
    c = classify(family("lu:2"))
    assert c.failing_pair == (0, 1)
    assert "nested" in c.reason and "C2 fails" in c.reason
    c = classify(SupportPattern(["11", "11"], ["10", "11", "01"]))
    assert "partially overlapping" in c.reason and "no complete class" in c.reason
    c = classify(family("random:4,4,3,0.5,0"))
    assert c.relaxed and all(k.complete for k in c.classes)


def test_relaxed_bicliques_cover_omega():
    p = family("mcp:01,10")
    c = classify(p)
    assert c.relaxed
    (bic,) = c.bicliques.values()
    assert sorted(bic) == [((0,), (1,)), ((1,), (0,))]
