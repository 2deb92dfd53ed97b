"""Tests of wellposed.network: catalogue of multi-layer cases, exact merges, lifted certificates, ReLU report."""

from __future__ import annotations

import importlib
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.errors import CertificateError, InvalidSupportError
from wellposed.io.masks import load_masks
from wellposed.kronecker import KSPattern, check_chain, dyadic_butterfly, monarch
from wellposed.network import (
    LinearSetVerdict,
    analyze_network,
    bool_product,
    ks_chain,
    layer_info,
    linear_set_verdict,
    reduce_chain,
    relu_report,
    validate_masks,
)
from wellposed.network.certificates import _matmul, _split_merged, _verify_factor_curve
from wellposed.network.reduction import _all_complete

NETWORK_CASES = sorted((Path(__file__).resolve().parent.parent / "cases" / "networks").glob("*.json"))


def _engine_available() -> bool:
    try:
        return hasattr(importlib.import_module("wellposed.closedness"), "decide_closedness")
    except ImportError:
        return False


needs_engine = pytest.mark.skipif(not _engine_available(), reason="closedness engine not available yet")


def _case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- catalogue
@needs_engine
@pytest.mark.parametrize("path", NETWORK_CASES, ids=[p.stem for p in NETWORK_CASES])
def test_catalogue_case(path: Path) -> None:
    case = _case(path)
    exp = case["expected"]
    ms = load_masks(path)
    rep = analyze_network(list(ms.masks), names=list(ms.names))
    assert rep.linear_set.closed is exp["linear_set_closed"], rep.linear_set.reason
    if "linear_set_method" in exp:
        assert rep.linear_set.method == exp["linear_set_method"]
    assert rep.relu.status == exp["relu"]
    if rep.linear_set.closed is False:
        assert rep.linear_set.certificate is not None
        assert rep.linear_set.certificate["verified"]["curve"].startswith("ok")


def test_catalogue_is_there() -> None:
    names = {p.stem for p in NETWORK_CASES}
    assert {"butterfly-8-chain", "lu-chain-3", "two-layer-scalar-output"} <= names
    for p in NETWORK_CASES:
        case = _case(p)
        assert case["source"] and case["expected"]["relu"] in ("well-posed", "ill-posed", "open")


# ---------------------------------------------------------------- butterflies (no engine needed)
def _butterfly(levels: int) -> list[np.ndarray]:
    """Dyadic butterfly masks, first layer (rightmost factor) first."""
    return [p.mask() for p in reversed(dyadic_butterfly(2**levels))]


@pytest.mark.parametrize("levels", [3, 4, 5])
def test_butterfly_chain_closed(levels: int) -> None:
    v = linear_set_verdict(_butterfly(levels), closedness=False)
    assert v.closed is True and v.method == "theorem:ks-chainable"
    assert len(v.ks_chain) == levels


def test_ks_chain_finds_the_chain_of_its_masks() -> None:
    for chain in (dyadic_butterfly(16), monarch(4), dyadic_butterfly(32)):
        masks = [p.mask() for p in reversed(chain)]
        found = ks_chain(masks)
        assert found is not None
        check_chain(found)  # raises if not chainable
        assert list(chain) == found or all(
            np.array_equal(p.mask(), q.mask()) for p, q in zip(found, chain, strict=True))


def test_ks_chain_rejects_non_chainable() -> None:
    # (2,2,2,1) left of (1,2,2,2): valid shapes but a_1 = 2 does not divide a_2 = 1
    masks = [KSPattern(1, 2, 2, 2).mask(), KSPattern(2, 2, 2, 1).mask()]
    assert ks_chain(masks) is None
    with pytest.raises(Exception, match="not chainable"):
        check_chain([KSPattern(2, 2, 2, 1), KSPattern(1, 2, 2, 2)])


def test_identity_layers_keep_butterfly_closed() -> None:
    masks = _butterfly(3)
    eye = np.eye(8, dtype=bool)
    v = linear_set_verdict([eye, masks[0], eye, masks[1], masks[2], eye], closedness=False)
    assert v.closed is True


# ---------------------------------------------------------------- reduction: exactness
def test_reduction_lu_with_identities() -> None:
    up, eye = np.triu(np.ones((3, 3), bool)), np.eye(3, dtype=bool)
    red = reduce_chain([eye, up, up.T, eye])
    assert red.groups == ((1, 2), (3, 4))
    assert np.array_equal(red.masks[0], up) and np.array_equal(red.masks[1], up.T)
    assert len(red.steps) == 2


def test_reduction_keeps_lu_pair() -> None:
    up = np.triu(np.ones((3, 3), bool))
    assert reduce_chain([up, up.T]).length == 2


def _partial_perm(draw, rows: int, cols: int) -> np.ndarray:
    m = np.zeros((rows, cols), dtype=bool)
    perm = draw(st.permutations(range(max(rows, cols))))
    keep = draw(st.lists(st.booleans(), min_size=min(rows, cols), max_size=min(rows, cols)))
    for t in range(min(rows, cols)):
        i, j = (perm[t], t) if rows >= cols else (t, perm[t])
        if i < rows and j < cols and keep[t]:
            m[i, j] = True
    return m


@st.composite
def linear_pairs(draw):
    """(later, earlier) masks whose product set is linear: random masks or partial permutations."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["perm-left", "perm-right", "random"]))

    def rand(r: int, c: int) -> np.ndarray:
        return np.array(draw(st.lists(st.booleans(), min_size=r * c, max_size=r * c)), bool).reshape(r, c)

    earlier = _partial_perm(draw, k, n) if kind == "perm-right" else rand(k, n)
    later = _partial_perm(draw, m, k) if kind == "perm-left" else rand(m, k)
    return later, earlier


@settings(max_examples=80, deadline=None)
@given(linear_pairs(), st.integers(0, 2**32 - 1))
def test_linear_merge_is_exact(pair, seed) -> None:
    """Every B on the boolean product is an exact product of the pair (the ⊇ half of the merge rule)."""
    later, earlier = pair
    if not _all_complete(later, earlier):
        return
    red = reduce_chain([earlier, later])
    assert red.length == 1
    union = bool_product([earlier, later])
    rng = np.random.default_rng(seed)
    vals = rng.integers(-5, 6, size=union.shape)
    b = {(int(i), int(j)): {0: Fraction(int(vals[i, j]))} for i, j in np.argwhere(union) if vals[i, j]}
    factors = _split_merged(red.nodes[0], b)
    lim = [[Fraction(int(vals[i, j])) if union[i, j] else Fraction(0) for j in range(union.shape[1])]
           for i in range(union.shape[0])]
    _verify_factor_curve([earlier, later], factors, lim)


def test_partial_permutations_always_merge() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        perm = np.eye(4, dtype=bool)[rng.permutation(4)]
        perm[rng.integers(4)] = False
        other = rng.random((4, 3)) < 0.5
        assert _all_complete(perm, other) and _all_complete(other.T, perm)


# ---------------------------------------------------------------- lifted certificates
@needs_engine
def test_lifted_certificate_numeric_and_tamper() -> None:
    up, eye = np.triu(np.ones((3, 3), bool)), np.eye(3, dtype=bool)
    masks = [eye, up, up.T, eye]
    v = linear_set_verdict(masks)
    assert v.closed is False
    cert = v.certificate
    limit = np.array([[float(Fraction(x)) for x in row] for row in cert["limit"]])
    # independent numeric check: the dense product at small ε approaches A*, and the factors blow up
    eps = 1e-6
    prod = np.eye(3)
    for ell in range(1, 5):
        w = np.zeros((3, 3))
        for t in cert["factors"][str(ell)]:
            assert masks[ell - 1][t["row"], t["col"]]
            w[t["row"], t["col"]] = sum(float(Fraction(c)) * eps**e for e, c in t["terms"])
        prod = w @ prod
    assert np.abs(prod - limit).max() < 1e-4
    # A* is not an LU product: its leading entry is 0 while A*[0,1] A*[1,0] ≠ 0
    assert limit[0, 0] == 0 and limit[0, 1] * limit[1, 0] != 0
    # tampering with the curve is caught by the exact verifier
    factors = {ell: {(t["row"], t["col"]): {e: Fraction(c) for e, c in t["terms"]} for t in cert["factors"][str(ell)]}
               for ell in range(1, 5)}
    (key, poly), = [(k, p) for k, p in factors[2].items() if min(p) < 0]
    factors[2][key] = {e: 2 * c for e, c in poly.items()}
    with pytest.raises(CertificateError):
        _verify_factor_curve(masks, factors, [[Fraction(x) for x in row] for row in cert["limit"]])


def test_verify_rejects_entry_outside_mask() -> None:
    masks = [np.eye(2, dtype=bool), np.eye(2, dtype=bool)]
    factors = {1: {(0, 1): {0: Fraction(1)}}, 2: {}}
    with pytest.raises(CertificateError, match="outside the mask of layer 1"):
        _verify_factor_curve(masks, factors, [[Fraction(0)] * 2] * 2)


# ---------------------------------------------------------------- kernels vs plain loops
def _bool_product_reference(masks: list[np.ndarray]) -> np.ndarray:
    acc = masks[0]
    for m in masks[1:]:
        out = np.zeros((m.shape[0], acc.shape[1]), dtype=bool)
        for i in range(m.shape[0]):
            for j in range(acc.shape[1]):
                out[i, j] = any(m[i, k] and acc[k, j] for k in range(m.shape[1]))
        acc = out
    return acc


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=3, max_size=5), st.integers(0, 2**32 - 1))
def test_bool_product_matches_loops(dims, seed) -> None:
    rng = np.random.default_rng(seed)
    masks = [rng.random((dims[t + 1], dims[t])) < 0.4 for t in range(len(dims) - 1)]
    assert np.array_equal(bool_product(masks), _bool_product_reference(masks))
    left = _matmul({(i, k): {0: Fraction(1)} for i, k in np.argwhere(masks[-1])},
                   {(k, j): {0: Fraction(1)} for k, j in np.argwhere(bool_product(masks[:-1]))})
    assert {ij for ij, p in left.items() if p} == {tuple(int(t) for t in ij) for ij in np.argwhere(bool_product(masks))}


def test_layer_info() -> None:
    info = layer_info(np.array([[1, 0, 0], [0, 0, 0]], bool), 2, "fc2")
    assert info.shape == (2, 3) and info.nnz == 1 and info.empty_rows == (1,) and info.empty_cols == (1, 2)
    assert info.partial_permutation and abs(info.density - 1 / 6) < 1e-12


# ---------------------------------------------------------------- ReLU report
@needs_engine
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_two_layer_scalar_output_always_well_posed(d, h, seed) -> None:
    rng = np.random.default_rng(seed)
    masks = [rng.random((h, d)) < 0.5, rng.random((1, h)) < 0.5]
    rep = analyze_network(masks)
    assert rep.relu.status == "well-posed"
    assert rep.linear_set.closed is True  # m = 1: the linear set is closed too


def test_relu_rules() -> None:
    closed = LinearSetVerdict(True, "reduction:linear", "", ((1,),), ())
    open_ = LinearSetVerdict(None, "undecided", "no rule", ((1,), (2,), (3,)), ())
    assert relu_report([(3, 3)], closed).status == "well-posed"
    assert relu_report([(3, 3), (3, 3), (3, 3)], closed).status == "open"
    rep = relu_report([(3, 3), (3, 3), (3, 3)], open_)
    assert rep.status == "open" and any("undecided" in s for s in rep.open)
    assert relu_report([(3, 3), (1, 3)], open_).status == "well-posed"


def test_open_chain_is_reported_undecided() -> None:
    up = np.triu(np.ones((2, 2), bool))
    v = linear_set_verdict([up, up.T, up], closedness=False)
    assert v.closed is None and v.method == "undecided" and len(v.reduced_groups) == 3


def test_zero_layer_gives_zero_set() -> None:
    v = linear_set_verdict([np.ones((2, 2)), np.zeros((2, 2))])
    assert v.closed is True and v.method == "trivial:zero-factor"


def test_splits_and_dead_neurons() -> None:
    masks = [np.array([[1, 1], [0, 0], [1, 0]], bool), np.array([[1, 1, 0], [0, 1, 0]], bool),
             np.ones((1, 2), bool)]
    rep = analyze_network(masks, closedness=False)
    assert [s.after_layer for s in rep.splits] == [1, 2]
    assert (1, 1) in rep.dead_neurons and (1, 2) in rep.dead_neurons
    js = rep.to_json()
    assert js["num_layers"] == 3 and js["input_dim"] == 2 and js["output_dim"] == 1
    json.dumps(js)


# ---------------------------------------------------------------- validation
def test_validate_masks_names_layers() -> None:
    with pytest.raises(InvalidSupportError, match=r"layer 2 \('fc2'\) has shape \(2, 5\)"):
        validate_masks([np.ones((4, 3)), np.ones((2, 5))], names=["fc1", "fc2"])
    with pytest.raises(InvalidSupportError, match="fc1 has entry 2"):
        validate_masks([np.array([[1, 2]])], names=["fc1"])
    with pytest.raises(InvalidSupportError, match="non-empty list"):
        validate_masks([])
    with pytest.raises(InvalidSupportError, match="timeout"):
        analyze_network([np.ones((2, 2))], timeout=-1)


@needs_engine
@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_two_layer_linear_set_agrees_with_pair_engine(d, h, o, seed) -> None:
    """Cross-check: merges + KS theorem + engine on the reduced pair vs the engine on the raw pair."""
    from wellposed.closedness import decide_closedness
    from wellposed.network import pair_pattern

    rng = np.random.default_rng(seed)
    masks = [rng.random((h, d)) < 0.6, rng.random((o, h)) < 0.6]
    ours = linear_set_verdict(masks, use_qe=False).closed
    engine = decide_closedness(pair_pattern(masks[1], masks[0]), use_qe=False).closed
    if ours is not None and engine is not None:
        assert ours == engine
    eye_in, eye_out = np.eye(d, dtype=bool), np.eye(o, dtype=bool)
    padded = linear_set_verdict([eye_in, *masks, eye_out], use_qe=False).closed
    if ours is not None and padded is not None:
        assert padded == ours  # identity layers merge exactly: same linear set
