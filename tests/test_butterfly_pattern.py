"""Kronecker-sparse patterns and builders, factors, fast apply and the versioned .npz chain file."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wellposed.solvers.butterfly import (
    NPZ_FORMAT,
    FactorChain,
    KSFactor,
    ks_apply,
    ks_apply_reference,
    load_metadata,
)

from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import (
    KSPattern,
    chain_shape,
    debut,
    dyadic_butterfly,
    monarch,
    product_pattern,
)
from wellposed.kronecker_spec import parse_chain_spec

from .planted import random_chain
from .strategies import chainable_chains, ks_patterns


# ---------------------------------------------------------------------------------------------- patterns
@given(ks_patterns)
@settings(max_examples=60, deadline=None)
def test_mask_shape_nnz_and_index_formula(p):
    M = p.mask()
    assert M.shape == p.shape and M.sum() == p.nnz
    ia, ib, ic, id_ = (np.arange(n) for n in p.abcd)
    rows = ia[:, None, None] * p.b * p.d + ib[None, :, None] * p.d + id_[None, None, :]
    cols = ia[:, None, None] * p.c * p.d + ic[None, :, None] * p.d + id_[None, None, :]
    # the mask is I_a ⊗ 1_{b×c} ⊗ I_d
    assert np.array_equal(M, np.kron(np.kron(np.eye(p.a), np.ones((p.b, p.c))), np.eye(p.d)).astype(bool))
    assert rows.size and cols.size


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_pattern_rejects_bad_sizes(bad):
    with pytest.raises(InvalidChainError, match="must be an integer ≥ 1"):
        KSPattern(1, bad, 1, 1)


def test_families():
    assert [p.abcd for p in dyadic_butterfly(16)] == [(1, 2, 2, 8), (2, 2, 2, 4), (4, 2, 2, 2), (8, 2, 2, 1)]
    assert [p.abcd for p in monarch(8)] == [(1, 8, 8, 8), (8, 8, 8, 1)]
    assert [p.abcd for p in monarch(3, 4)] == [(1, 3, 3, 4), (3, 4, 4, 1)] and chain_shape(monarch(3, 4)) == (12, 12)
    assert chain_shape(debut([(3, 2), (5, 7), (2, 2)])) == (30, 28)
    with pytest.raises(InvalidChainError, match="power of two"):
        dyadic_butterfly(12)
    with pytest.raises(InvalidChainError, match="m = 0 must be an integer ≥ 1"):
        monarch(0)
    with pytest.raises(InvalidChainError, match="s = 2.5 must be an integer ≥ 1"):
        monarch(3, 2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidChainError, match="block_sizes"):
        debut([])


@given(chainable_chains())
@settings(max_examples=40, deadline=None)
def test_product_of_chainable_chain_stays_in_product_pattern(pats):
    rng = np.random.default_rng(0)
    M = random_chain(pats, rng).to_dense()
    P = product_pattern(pats)
    assert M.shape == P.shape
    assert not np.any(M[~P.mask()]), "product leaves the Kronecker-sparse product pattern"


def test_spec_parser():
    assert parse_chain_spec("butterfly:8").patterns == dyadic_butterfly(8)
    assert parse_chain_spec(" Monarch:6 ").patterns == monarch(6)
    assert parse_chain_spec("monarch:3,4").patterns == monarch(3, 4)
    assert parse_chain_spec("debut:2x3,4X5").patterns == debut([(2, 3), (4, 5)])
    assert parse_chain_spec("ks:1,2,2,2;2,2,2,1;").patterns == dyadic_butterfly(4)
    for bad in ["butterfly", "butterfly:8,2", "butterfly:x", "ks:1,2,2", "debut:2-3", "circulant:4", 42,
                "butterfly:6", "ks:1,2,2,2;1,3,3,1"]:
        with pytest.raises(InvalidSpecError):
            parse_chain_spec(bad)


# ---------------------------------------------------------------------------------------------- factors
def test_factor_validation():
    p = KSPattern(1, 2, 2, 1)
    with pytest.raises(InvalidMatrixError, match=r"shape \(a, b, c, d\)"):
        KSFactor(p, np.zeros((2, 2)))
    with pytest.raises(InvalidMatrixError, match="non-finite"):
        KSFactor(p, np.full((1, 2, 2, 1), np.inf))
    with pytest.raises(InvalidMatrixError, match="real or complex"):
        KSFactor(p, np.array(["a", "b", "c", "d"]).reshape(1, 2, 2, 1))
    f = KSFactor(p, np.arange(4).reshape(1, 2, 2, 1))
    assert f.dtype == np.float64 and not f.data.flags.writeable
    with pytest.raises(InvalidChainError, match="not valid"):
        FactorChain((KSFactor(p, np.ones((1, 2, 2, 1))), KSFactor(KSPattern(1, 3, 3, 1), np.ones((1, 3, 3, 1)))))
    with pytest.raises(InvalidChainError, match="non-empty"):
        FactorChain(())


@given(ks_patterns, st.integers(1, 3), st.booleans())
@settings(max_examples=50, deadline=None)
def test_ks_apply_matches_reference_dense_and_scipy(p, batch, complex_):
    rng = np.random.default_rng(p.nnz + batch)
    D = rng.standard_normal(p.abcd) + (1j * rng.standard_normal(p.abcd) if complex_ else 0)
    X = rng.standard_normal((p.shape[1], batch))
    f = KSFactor(p, D)
    Y = ks_apply(p, f.data, X)
    assert np.allclose(Y, ks_apply_reference(p, f.data, X), atol=1e-12)
    assert np.allclose(Y, f.to_dense() @ X, atol=1e-12)
    assert np.allclose(Y, f.to_scipy() @ X, atol=1e-12)
    assert np.allclose(ks_apply(p, f.data, X[:, 0]), Y[:, 0])
    # supports respected exactly: the dense matrix is zero off the mask and holds all nnz values on it
    assert not np.any(f.to_dense()[~p.mask()])
    assert f.to_scipy().nnz == p.nnz


@given(chainable_chains(), st.booleans())
@settings(max_examples=30, deadline=None)
def test_chain_apply_equals_dense_multiplication(pats, complex_):
    rng = np.random.default_rng(len(pats))
    ch = random_chain(pats, rng, complex_)
    X = rng.standard_normal((ch.shape[1], 3))
    dense = np.linalg.multi_dot([f.to_dense() for f in ch] + [X]) if len(ch) > 1 else ch.factors[0].to_dense() @ X
    assert np.allclose(ch.apply(X), dense, atol=1e-10)
    assert np.allclose(ch.apply_reference(X), dense, atol=1e-10)
    S = X
    for M in reversed(ch.to_scipy()):
        S = M @ S
    assert np.allclose(S, dense, atol=1e-10)


def test_chain_apply_rejects_bad_shape():
    ch = random_chain(dyadic_butterfly(8), np.random.default_rng(0))
    with pytest.raises(InvalidMatrixError, match=r"\(8,\) or \(8, batch\)"):
        ch.apply(np.ones((4, 2)))
    with pytest.raises(InvalidMatrixError):
        ch.apply(np.ones((8, 2, 2)))


def test_npz_roundtrip_and_format(tmp_path):
    rng = np.random.default_rng(3)
    ch = random_chain(debut([(2, 3), (3, 2)]), rng, complex_=True)
    path = tmp_path / "f.npz"
    ch.save(path, note=np.array("hello"))
    with np.load(path) as z:
        assert int(z["num_factors"]) == 2
        assert z["pattern_0"].dtype == np.int64 and list(z["pattern_0"]) == [1, 2, 3, 3]
        assert np.array_equal(z["factor_1"], ch.factors[1].data)
    back = FactorChain.load(path)
    assert back.patterns == ch.patterns
    assert all(np.array_equal(a.data, b.data) for a, b in zip(back, ch, strict=True))
    assert str(load_metadata(path)["note"]) == "hello"


def test_save_writes_the_format_key_and_returns_the_file_name(tmp_path):
    ch = random_chain(dyadic_butterfly(4), np.random.default_rng(0))
    written = ch.save(tmp_path / "c")
    assert written == str(tmp_path / "c.npz")
    with np.load(written) as z:
        assert str(z["format"]) == NPZ_FORMAT == "wellposed.FactorChain/2"


def _legacy_quantize_file(path, patterns, factors):
    """What ``wellposed.solvers.quantize_cli.save_factor_file`` wrote before chain files were one format: no
    ``format`` key, patterns from (a, b, c, d) tuples."""
    arrays = {"num_factors": np.int64(len(factors))}
    for i, (p, f) in enumerate(zip(patterns, factors, strict=True)):
        arrays[f"pattern_{i}"] = np.asarray(p, dtype=np.int64)
        arrays[f"factor_{i}"] = np.asarray(f)
    np.savez(path, **arrays)


def _legacy_chain_file(path, chain, **metadata):
    """What ``FactorChain.save`` wrote before the format was checked on load (same keys as today)."""
    arrays = {"num_factors": np.int64(len(chain.factors)), "format": np.array("wellposed.FactorChain/1")}
    for i, f in enumerate(chain.factors):
        arrays[f"pattern_{i}"] = np.array(f.pattern.abcd, dtype=np.int64)
        arrays[f"factor_{i}"] = f.data
    for key, value in metadata.items():
        arrays[f"meta_{key}"] = np.asarray(value)
    np.savez(path, **arrays)


def test_old_file_layouts_still_load(tmp_path):
    rng = np.random.default_rng(4)
    ch = random_chain(dyadic_butterfly(8), rng)
    _legacy_quantize_file(tmp_path / "q.npz", [p.abcd for p in ch.patterns], [f.data for f in ch])
    _legacy_chain_file(tmp_path / "f.npz", ch, rel_error=np.float64(0.5))
    for name in ("q.npz", "f.npz"):
        back = FactorChain.load(tmp_path / name)
        assert back.patterns == ch.patterns
        assert all(np.array_equal(a.data, b.data) for a, b in zip(back, ch, strict=True))
    assert float(load_metadata(tmp_path / "f.npz")["rel_error"]) == 0.5


@pytest.mark.parametrize("fmt, shown", [(np.array("wellposed.FactorChain/9"), "'wellposed.FactorChain/9'"),
                                        (np.array("something else"), "'something else'"),
                                        (np.array([1, 2]), "'<an array of dtype int64 and shape (2,)>'")])
def test_unknown_format_versions_are_refused(tmp_path, fmt, shown):
    ch = random_chain(dyadic_butterfly(4), np.random.default_rng(0))
    path = tmp_path / "new.npz"
    ch.save(path)
    arrays = dict(np.load(path))
    arrays["format"] = fmt
    np.savez(path, **arrays)
    with pytest.raises(InvalidSpecError) as err:
        FactorChain.load(path)
    message = str(err.value)
    assert repr(str(path)) in message and f"has format {shown}, which this version" in message
    assert "reads 'wellposed.FactorChain/2', 'wellposed.FactorChain/1'" in message and "FactorChain.save" in message


def test_load_names_the_file_and_factor_of_bad_data(tmp_path):
    ch = random_chain(dyadic_butterfly(4), np.random.default_rng(0))
    path = tmp_path / "c.npz"
    ch.save(path)
    arrays = dict(np.load(path))
    arrays["factor_1"] = np.ones((2, 2, 2, 2))
    np.savez(path, **arrays)
    with pytest.raises(InvalidMatrixError, match=r"FactorChain file '.*c\.npz': factor_1: data must have shape"):
        FactorChain.load(path)
    arrays["factor_1"], arrays["pattern_1"] = np.ones((1, 3, 3, 1)), np.array([1, 3, 3, 1])
    np.savez(path, **arrays)
    with pytest.raises(InvalidChainError, match=r"FactorChain file '.*c\.npz': chain is not valid at factors 0 and 1"):
        FactorChain.load(path)


def test_npz_load_errors(tmp_path):
    np.savez(tmp_path / "x.npz", foo=np.zeros(2))
    with pytest.raises(InvalidSpecError, match=r"x\.npz' is not a FactorChain file: it has neither the key 'format' "
                                               r".* nor the keys num_factors, pattern_0, factor_0.*FactorChain.save"):
        FactorChain.load(tmp_path / "x.npz")
    np.savez(tmp_path / "z.npz", format=np.array(NPZ_FORMAT), factor_0=np.zeros((1, 1, 1, 1)))
    with pytest.raises(InvalidSpecError, match="has no 'num_factors' key"):
        FactorChain.load(tmp_path / "z.npz")
    np.savez(tmp_path / "y.npz", num_factors=np.int64(1), pattern_0=np.array([1, 2, 2]), factor_0=np.zeros(4))
    with pytest.raises(InvalidSpecError, match="4 integers"):
        FactorChain.load(tmp_path / "y.npz")
    with pytest.raises(InvalidSpecError, match="cannot read"):
        FactorChain.load(tmp_path / "missing.npz")


def test_apply_results_do_not_alias_workspace():
    rng = np.random.default_rng(0)
    ch = random_chain(dyadic_butterfly(16), rng)
    X = rng.standard_normal((16, 3))
    Y1 = ch.apply(X)
    keep = Y1.copy()
    Y2 = ch.apply(2 * X)
    assert np.array_equal(Y1, keep) and np.allclose(Y2, 2 * Y1)
    Z = ch.apply((1 + 1j) * X)  # complex input through a real chain
    assert np.allclose(Z, (1 + 1j) * Y1)


def test_apply_plan_merges_butterfly_pairs_only_when_not_denser():
    rng = np.random.default_rng(1)
    ch = random_chain(dyadic_butterfly(32), rng)  # 5 factors: two merged pairs and one single factor
    plan = ch._apply_plan()
    assert [f.pattern.abcd for f in plan] == [(1, 4, 4, 8), (4, 4, 4, 2), (16, 2, 2, 1)]
    assert sum(f.pattern.nnz for f in plan) == ch.nnz
    X = rng.standard_normal((32, 4))
    assert np.allclose(ch.apply(X), ch.apply_reference(X), atol=1e-12)
    mon = random_chain(monarch(4), rng)  # the product of Monarch's two factors is dense: kept apart
    assert len(mon._apply_plan()) == 2
