"""Canonical keys: one key per equivalence class, on symmetric patterns too (graph canonization), and the fallback.

The oracle is networkx's isomorphism test on the coloured graph rows of X — components — rows of Y, an
implementation independent of both key methods (colour refinement with lexicographic minimum, and bliss).
"""

import sys
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wellposed.canonical as canonical
from wellposed.canonical import GRAPH_PREFIX, HEURISTIC_PREFIX
from wellposed.families import family
from wellposed.support import SupportPattern

from .strategies import patterns, symmetries

SYMMETRIC_FAMILIES = ["lu:4", "lu:9", "full:3,4,5", "full:2,2,9", "butterfly:8:1", "butterfly:8:2",
                      "butterfly:16:1", "butterfly:16:2", "butterfly:16:3", "monarch:4", "diag:8", "diag:12"]


def _graph(p: SupportPattern) -> nx.Graph:
    """The coloured graph of ``p`` without its empty components (the oracle's encoding)."""
    p = p.drop_empty()
    g = nx.Graph()
    g.add_nodes_from((("x", i), {"side": "x"}) for i in range(p.m))
    g.add_nodes_from((("y", j), {"side": "y"}) for j in range(p.n))
    g.add_nodes_from((("k", k), {"side": "k"}) for k in range(p.r))
    g.add_edges_from((("x", int(i)), ("k", int(k))) for i, k in zip(*np.nonzero(p.x_support), strict=True))
    g.add_edges_from((("y", int(j)), ("k", int(k))) for j, k in zip(*np.nonzero(p.y_support), strict=True))
    return g


def _equivalent(p: SupportPattern, q: SupportPattern, transpose: bool = False) -> bool:
    """Equivalence of two non-trivial patterns up to row and component permutations (and transposition)."""
    same = nx.is_isomorphic(_graph(p), _graph(q), node_match=lambda a, b: a["side"] == b["side"])
    return same or (transpose and _equivalent(p, q.transpose()))


@st.composite
def two_regular(draw, size: int = 8) -> SupportPattern:
    """An 8×8 pattern whose X and Y are 2-regular bipartite graphs (rows × components): two disjoint matchings."""
    masks = []
    for _ in range(2):
        a = draw(st.permutations(range(size)))
        d = draw(st.permutations(range(size)).filter(lambda s: all(s[i] != i for i in range(size))))
        mask = np.zeros((size, size), dtype=bool)
        mask[np.arange(size), a] = True
        mask[np.arange(size), [a[d[i]] for i in range(size)]] = True
        masks.append(mask)
    return SupportPattern(masks[0], masks[1])


@st.composite
def circulant(draw, max_size: int = 12) -> SupportPattern:
    """X and Y circulant (row i holds components i + s mod size for s in a set of offsets)."""
    size = draw(st.integers(3, max_size))
    masks = []
    for _ in range(2):
        offsets = draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=size))
        mask = np.zeros((size, size), dtype=bool)
        for s in offsets:
            mask[np.arange(size), (np.arange(size) + s) % size] = True
        masks.append(mask)
    return SupportPattern(masks[0], masks[1])


symmetric_patterns = st.one_of(st.sampled_from(SYMMETRIC_FAMILIES).map(family), two_regular(), circulant())


def _relabel(p: SupportPattern, rnd) -> SupportPattern:
    rp, cp, kp = list(range(p.m)), list(range(p.n)), list(range(p.r))
    rnd.shuffle(rp)
    rnd.shuffle(cp)
    rnd.shuffle(kp)
    return p.permute(rp, cp, kp)


@settings(max_examples=120, deadline=None)
@given(symmetric_patterns, st.randoms(use_true_random=False))
def test_relabellings_of_symmetric_patterns_share_one_exact_key(p, rnd):
    key, key_t = p.canonical_key(), p.canonical_key(transpose=True)
    assert not key.startswith(HEURISTIC_PREFIX) and key_t.startswith("T")
    for _ in range(4):
        q = _relabel(p, rnd)
        assert q.canonical_key() == key
        assert q.canonical_key(transpose=True) == key_t
        assert q.transpose().canonical_key(transpose=True) == key_t
        assert q.add_empty_component().canonical_key() == key


def test_two_regular_8x8_has_one_key_over_100_relabellings():
    eye = np.eye(8, dtype=bool)
    p = SupportPattern(eye | np.roll(eye, 1, axis=1), eye | np.roll(eye, 1, axis=1))  # one 16-cycle each side
    rng = np.random.default_rng(13)
    keys = {p.permute(*(rng.permutation(s).tolist() for s in p.shape)).canonical_key() for _ in range(100)}
    assert len(keys) == 1
    assert keys.pop().startswith(GRAPH_PREFIX + "8x8x8:")  # refinement leaves 8! orderings: bliss decides


def test_larger_symmetric_patterns_share_one_key():
    rng = np.random.default_rng(5)
    for spec in ("butterfly:64:3", "monarch:8", "diag:100"):
        p = family(spec)
        key = p.canonical_key()
        assert key.startswith(GRAPH_PREFIX)
        for _ in range(3):
            assert p.permute(*(rng.permutation(s).tolist() for s in p.shape)).canonical_key() == key


@st.composite
def related_pairs(draw):
    """A pattern and either a relabelling of it or a relabelling of it with one entry flipped (often isomorphic
    still, on symmetric patterns), so both answers of the oracle occur."""
    p = draw(st.one_of(patterns(max_m=4, max_n=4, max_r=4), two_regular(size=4), circulant(max_size=7)))
    q = p
    if draw(st.booleans()):
        side = draw(st.sampled_from(["x", "y"]))
        mask = (p.x_support if side == "x" else p.y_support).copy()
        i = draw(st.integers(0, mask.shape[0] - 1))
        k = draw(st.integers(0, mask.shape[1] - 1))
        mask[i, k] = not mask[i, k]
        q = p.with_masks(mask, p.y_support) if side == "x" else p.with_masks(p.x_support, mask)
    return p, q.permute(*draw(symmetries(q)))


@pytest.mark.parametrize("method", ["refinement-or-graph", "graph-only"])
@settings(max_examples=150, deadline=None)
@given(pair=related_pairs(), transpose=st.booleans())
def test_equal_keys_iff_isomorphic(method, pair, transpose):
    p, q = pair
    if p.is_trivial() or q.is_trivial():
        return
    threshold = 0 if method == "graph-only" else canonical.CANONICAL_GRAPH_THRESHOLD
    with pytest.MonkeyPatch.context() as mp:  # graph-only: every key by bliss, also on small asymmetric patterns
        mp.setattr(canonical, "CANONICAL_GRAPH_THRESHOLD", threshold)
        kp, kq = p.canonical_key(transpose=transpose), q.canonical_key(transpose=transpose)
    assert (kp == kq) == _equivalent(p, q, transpose)
    if method == "graph-only":
        assert kp.lstrip("T").startswith(GRAPH_PREFIX)


@settings(max_examples=60, deadline=None)
@given(patterns(max_m=5, max_n=5, max_r=5), patterns(max_m=5, max_n=5, max_r=5))
def test_equal_keys_iff_isomorphic_on_random_pairs(p, q):
    if p.is_trivial() or q.is_trivial():
        return
    assert (p.canonical_key() == q.canonical_key()) == _equivalent(p, q)


def test_keys_decided_by_refinement_keep_their_form():
    """Patterns that the refinement orders exactly keep the key format and value they always had."""
    assert family("lu:2").canonical_key() == "2x2x2:01.11|01.11"
    assert family("lu:3").canonical_key(transpose=True) == "T3x3x3:001.011.111|001.011.111"


def test_fallback_without_igraph_is_sound_and_marked(monkeypatch):
    p = family("diag:8")
    exact = p.canonical_key()
    asymmetric = family("lu:5")
    lu_key = asymmetric.canonical_key()
    monkeypatch.setitem(sys.modules, "igraph", None)  # `import igraph` now raises ImportError
    with pytest.warns(UserWarning, match="pip install igraph"):
        fallback = p.canonical_key()
    assert fallback.startswith(HEURISTIC_PREFIX) and fallback != exact
    with pytest.warns(UserWarning):
        assert p.canonical_key(transpose=True).startswith(HEURISTIC_PREFIX)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the refinement decides without igraph
        assert asymmetric.canonical_key() == lu_key
        # a few symmetries (5! orderings): exact by refinement without igraph, by graph canonization with it
        d5 = family("diag:5")
        assert d5.canonical_key() == d5.permute([4, 2, 0, 1, 3], [1, 0, 2, 4, 3], [2, 4, 1, 0, 3]).canonical_key()
        assert d5.canonical_key()[0].isdigit()
    # sound: equal fallback keys of relabellings still mean equivalent patterns (the masks are in the key)
    rng = np.random.default_rng(0)
    eye = np.eye(8, dtype=bool)
    two_reg = SupportPattern(eye | np.roll(eye, 1, axis=1), eye | np.roll(eye, 3, axis=1))
    with pytest.warns(UserWarning):
        keys = {two_reg.permute(*(rng.permutation(s).tolist() for s in two_reg.shape)).canonical_key()
                for _ in range(20)}
    assert all(k.startswith(HEURISTIC_PREFIX) for k in keys)
    for key in keys:
        x_rows, y_rows = key.split(":", 1)[1].split("|")
        decoded = SupportPattern(x_rows.split("."), y_rows.split("."))
        assert _equivalent(decoded, two_reg)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(two_regular(size=4), circulant(max_size=5), st.sampled_from(["diag:1", "lu:2"]).map(family)),
                min_size=2, max_size=5), st.randoms(use_true_random=False))
def test_direct_sums_share_one_key(summands, rnd):
    """Direct sums (several connected parts, some isomorphic) are canonized part by part: one key still."""
    from scipy.linalg import block_diag

    p = SupportPattern(block_diag(*(s.x_support for s in summands)).astype(bool),
                       block_diag(*(s.y_support for s in summands)).astype(bool))
    with pytest.MonkeyPatch.context() as mp:  # every key by bliss, part by part
        mp.setattr(canonical, "CANONICAL_GRAPH_THRESHOLD", 0)
        key = p.canonical_key()
        assert key.startswith(GRAPH_PREFIX)
        shuffled = SupportPattern(block_diag(*(s.x_support for s in summands[::-1])).astype(bool),
                                  block_diag(*(s.y_support for s in summands[::-1])).astype(bool))
        assert shuffled.canonical_key() == key
        for _ in range(3):
            assert _relabel(p, rnd).canonical_key() == key
    assert family("diag:300").canonical_key() == _relabel(family("diag:300"), rnd).canonical_key()
