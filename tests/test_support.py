"""Support model: validation, conversions, canonical keys."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.errors import InvalidSpecError, InvalidSupportError
from wellposed.families import family, family_names, load_pattern
from wellposed.support import SupportPattern

from .strategies import patterns


def test_inputs_agree():
    x = np.array([[1, 0], [1, 1]])
    a = SupportPattern(x, x)
    b = SupportPattern(["10", "11"], ["10", "11"])
    c = SupportPattern(sp.csr_matrix(x), sp.coo_matrix(x))
    d = SupportPattern(x.astype(bool), x.astype(float))
    assert a == b == c == d
    assert hash(a) == hash(d)
    assert not a.x_support.flags.writeable


@pytest.mark.parametrize(
    "x, y, fragment",
    [
        ([[1, 2]], [[1, 0]], "x_support has entry 2 at (0, 1)"),
        (["10", "1"], ["10", "11"], "ragged rows"),
        ([[1, 0], [1]], [[1, 0]], "ragged rows"),
        (["1a"], ["10"], "character 'a'"),
        ([[1, 0]], [[1, 0, 1]], "x_support has r = 2 components but y_support has r = 3"),
        (np.zeros((0, 2)), [[1, 0]], "shape (0, 2)"),
        ([[]], [[]], "shape (1, 0)"),
        ("101", ["1"], "single string"),
        (np.ones((2, 2, 2)), [[1, 1]], "must be 2-D"),
        ([["a", "b"]], [[1, 1]], "dtype"),
    ],
)
def test_bad_masks_are_explained(x, y, fragment):
    with pytest.raises(InvalidSupportError, match=None) as info:
        SupportPattern(x, y)
    assert fragment in str(info.value)


def test_families_build_and_reject():
    for spec in ["lu:4", "full:2,3,2", "diag:2", "butterfly:16:3", "monarch:3", "ks:1,2,2,2;2,2,2,1",
                 "mcp:110,011", "random:3,4,2,0.5,7"]:
        p = family(spec)
        assert p.name
    assert set(family_names()) >= {"lu", "full", "diag", "butterfly", "monarch", "mcp", "random"}
    for bad, fragment in [("lu:x", "not an integer"), ("lu:0", "≥ 1"), ("butterfly:12:1", "power of two"),
                          ("butterfly:16:4", "split s"), ("full:2,2", "expected 3"), ("nope:1", "unknown family"),
                          ("random:2,2,2,1.5,0", "density"), ("ks:1,2,2,1;1,3,3,1", "rows"),
                          ("mcp:12,11", "mcp")]:
        with pytest.raises(InvalidSpecError) as info:
            family(bad)
        assert fragment in str(info.value), (bad, str(info.value))


def test_random_family_is_seeded():
    assert family("random:5,5,4,0.4,3") == family("random:5,5,4,0.4,3")
    assert family("random:5,5,4,0.4,3") != family("random:5,5,4,0.4,4")


def test_butterfly_split_shapes():
    p = family("butterfly:16:2")
    assert p.shape == (16, 16, 16)
    # product of the two factors' supports is the full N×N support (butterflies are dense products)
    assert p.union_mask().all()
    assert p.x_support.sum() == 16 * 4 and p.y_support.sum() == 16 * 4


def test_files_roundtrip(tmp_path):
    p = family("lu:3")
    (tmp_path / "a.json").write_text(json.dumps(p.to_json()))
    np.savez(tmp_path / "a.npz", **p.to_arrays())
    assert load_pattern(tmp_path / "a.json") == p
    assert load_pattern(str(tmp_path / "a.npz")) == p
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidSpecError, match="invalid JSON at line 1"):
        load_pattern(tmp_path / "bad.json")
    (tmp_path / "miss.json").write_text('{"x_support": ["1"]}')
    with pytest.raises(InvalidSupportError, match="missing key"):
        load_pattern(tmp_path / "miss.json")
    with pytest.raises(InvalidSpecError, match="does not exist"):
        load_pattern(tmp_path / "nothere.json")
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(InvalidSpecError, match="lacks array"):
        load_pattern(tmp_path / "other.npz")


def test_drop_empty_and_trivial():
    p = SupportPattern(["110", "011"], ["100", "101"])
    assert p.empty_components().tolist() == [False, True, False]
    assert p.drop_empty().r == 2
    z = SupportPattern(["0"], ["1"])
    assert z.is_trivial()
    with pytest.raises(InvalidSupportError, match="every component"):
        z.drop_empty()


@settings(max_examples=150, deadline=None)
@given(patterns(max_m=4, max_n=4, max_r=4), st.randoms())
def test_canonical_key_invariant(p, rnd):
    rp, cp, kp = list(range(p.m)), list(range(p.n)), list(range(p.r))
    rnd.shuffle(rp)
    rnd.shuffle(cp)
    rnd.shuffle(kp)
    q = p.permute(rp, cp, kp)
    assert p.canonical_key() == q.canonical_key()
    assert p.add_empty_component().canonical_key() == p.canonical_key()
    assert p.canonical_key(transpose=True) == p.transpose().canonical_key(transpose=True)


def test_canonical_key_separates():
    # LU and its transpose-equivalent UL share a key; LU and full differ
    lu = family("lu:3")
    ul = SupportPattern(np.triu(np.ones((3, 3))), np.triu(np.ones((3, 3))))
    assert lu.canonical_key() == ul.canonical_key()
    assert lu.canonical_key() != family("full:3,3,3").canonical_key()


@settings(max_examples=100, deadline=None)
@given(patterns(max_m=3, max_n=3, max_r=3), patterns(max_m=3, max_n=3, max_r=3))
def test_canonical_key_is_exact_on_small(p, q):
    """Equal keys ⇔ equivalent, checked by brute force over all permutations (small sizes)."""
    import itertools

    def equivalent(a, b):
        a, b = a.drop_empty() if not a.is_trivial() else a, b.drop_empty() if not b.is_trivial() else b
        if a.shape != b.shape:
            return False
        for kp in itertools.permutations(range(a.r)):
            xa = sorted(map(tuple, a.x_support[:, list(kp)].tolist()))
            ya = sorted(map(tuple, a.y_support[:, list(kp)].tolist()))
            if xa == sorted(map(tuple, b.x_support.tolist())) and ya == sorted(map(tuple, b.y_support.tolist())):
                return True
        return False

    if p.is_trivial() or q.is_trivial():
        return
    assert (p.canonical_key() == q.canonical_key()) == equivalent(p, q)


def test_a_network_mask_file_given_as_one_pattern_points_to_the_network_command(tmp_path):
    path = tmp_path / "net.npz"
    np.savez(path, w1=np.ones((4, 3)), w2=np.ones((2, 4)))
    with pytest.raises(InvalidSpecError, match=r"lacks array.*look like the layer masks of a network: run "
                                               r"`wellposed network .*net\.npz`"):
        load_pattern(path)
