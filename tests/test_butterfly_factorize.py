"""Hierarchical butterfly factorization: planted recovery, DFT/Hadamard, certificates, bad input."""

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from wellposed.solvers.butterfly import (
    ORDERS,
    FactorChain,
    KSFactor,
    bit_reversal_permutation,
    factorize,
    load_metadata,
    split_errors_exact,
    two_factor_reference,
)

from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, dyadic_butterfly, product_pattern
from wellposed.kronecker_spec import parse_chain_spec

from .planted import planted_chain, random_chain
from .strategies import chainable_chains

VARIANTS = [(order, ortho) for order in ORDERS for ortho in (False, True)]
SPECS = [
    "butterfly:16",
    "butterfly:64",
    "monarch:4",
    "monarch:3,4",
    "debut:2x3,3x2,4x2",
    "debut:3x2,2x5",
    "ks:1,4,4,2;2,4,4,1",  # rank 2 per block
    "ks:1,2,4,4;2,4,2,2;4,2,3,1",
    "ks:2,2,2,2;4,2,2,1",  # a_1 > 1: the product is block diagonal, A has entries off its pattern
    "ks:1,2,2,6;2,2,2,3",  # d_L > 1
]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("order,ortho", VARIANTS)
def test_planted_products_are_recovered(spec, order, ortho):
    for complex_ in (False, True):
        pats, A = planted_chain(spec, complex_=complex_)
        res = factorize(A, pats, order=order, orthonormalize=ortho)
        assert res.rel_error < 1e-12, (spec, order, ortho, complex_, res.rel_error)
        # the reported error is the true error
        assert math.isclose(np.linalg.norm(A - res.to_dense()), res.error, rel_tol=1e-6, abs_tol=1e-12)
        assert res.chain.patterns == pats
        for f in res.chain:
            assert not np.any(f.to_dense()[~f.pattern.mask()])
        assert res.certificate_ratio >= 1.0 or math.isinf(res.certificate_ratio)


@given(chainable_chains(max_len=4), st.sampled_from(VARIANTS), st.booleans())
@settings(max_examples=40, deadline=None)
def test_planted_hypothesis(pats, variant, complex_):
    ch = random_chain(pats, np.random.default_rng(7), complex_)
    A = ch.to_dense()
    res = factorize(A, pats, order=variant[0], orthonormalize=variant[1])
    assert res.rel_error < 1e-9


def hadamard(N):
    return scipy.linalg.hadamard(N).astype(float)


@pytest.mark.parametrize("order,ortho", VARIANTS)
def test_hadamard_and_dft_exact(order, ortho):
    N = 256
    pats = dyadic_butterfly(N)
    res = factorize(hadamard(N), pats, order=order, orthonormalize=ortho)
    assert res.rel_error < 1e-13
    F = np.fft.fft(np.eye(N))
    res = factorize(F, pats, order=order, orthonormalize=ortho, bit_reversal=True)
    assert res.rel_error < 1e-13
    X = np.random.default_rng(0).standard_normal((N, 3))
    assert np.allclose(res.apply(X), np.fft.fft(X, axis=0), atol=1e-10)
    # without the permutation the DFT is far from a butterfly product
    assert factorize(F, pats, order=order).rel_error > 0.5


def test_bit_reversal_permutation():
    p = bit_reversal_permutation(16)
    assert np.array_equal(p[p], np.arange(16))
    assert [int(bin(int(i))[2:].zfill(4)[::-1], 2) for i in range(16)] == list(p)
    with pytest.raises(InvalidMatrixError, match="power-of-two"):
        bit_reversal_permutation(12)


@pytest.mark.parametrize("spec", SPECS)
def test_two_factor_oracle_agrees_with_batched_split(spec):
    pats = parse_chain_spec(spec).patterns
    A = np.random.default_rng(1).standard_normal(pats[0].shape[:1] + pats[-1].shape[1:])
    E = split_errors_exact(A, pats)
    ref = [two_factor_reference(A, product_pattern(pats[:s]), product_pattern(pats[s:])) for s in range(1, len(pats))]
    assert np.allclose(E, ref, rtol=1e-9)


@given(chainable_chains(max_len=4), st.booleans())
@settings(max_examples=30, deadline=None)
def test_two_factor_oracle_hypothesis(pats, complex_):
    rng = np.random.default_rng(2)
    shape = (pats[0].shape[0], pats[-1].shape[1])
    A = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_ else 0)
    E = split_errors_exact(A, pats)
    ref = [two_factor_reference(A, product_pattern(pats[:s]), product_pattern(pats[s:])) for s in range(1, len(pats))]
    assert np.allclose(E, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", ["butterfly:4", "monarch:4", "debut:3x2,2x5", "ks:1,4,4,2;2,4,4,1"])
@pytest.mark.parametrize("order,ortho", VARIANTS)
def test_two_factor_split_is_optimal(spec, order, ortho):
    """With two factors the split is the whole problem: the error equals the optimum E_1."""
    pats = parse_chain_spec(spec).patterns
    if len(pats) != 2:
        pytest.skip("needs a two-factor chain")
    A = np.random.default_rng(5).standard_normal((pats[0].shape[0], pats[1].shape[1]))
    res = factorize(A, pats, order=order, orthonormalize=ortho)
    E1 = two_factor_reference(A, pats[0], pats[1])
    assert math.isclose(res.error, E1, rel_tol=1e-9)
    assert math.isclose(res.certificate_ratio, 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("order,ortho", VARIANTS)
def test_noisy_products_within_certificate(spec, order, ortho):
    pats, A = planted_chain(spec, seed=3)
    rng = np.random.default_rng(4)
    noise = rng.standard_normal(A.shape)
    An = A + 1e-2 * np.linalg.norm(A) / np.linalg.norm(noise) * noise
    exact = split_errors_exact(An, pats)
    res = factorize(An, pats, order=order, orthonormalize=ortho)
    known = np.isfinite(res.split_errors)
    # every recorded lower bound is a true lower bound on E_s, hence on E*
    assert np.all(res.split_errors[known] <= exact[known] * (1 + 1e-9))
    assert res.error >= res.lower_bound * (1 - 1e-12)
    assert res.certificate_ratio >= 1 - 1e-12
    if ortho:
        assert known.all()
        # error² ≤ off² + Σ_s tail_s ≤ (L−1) E*² for the orthonormalized variant
        tails = res.split_errors**2 - res.off_support_error**2
        assert res.error**2 <= (res.off_support_error**2 + tails.sum()) * (1 + 1e-9)
        assert res.certificate_ratio <= math.sqrt(max(1, len(pats) - 1)) * (1 + 1e-9)
    else:
        assert known.sum() == 1  # the root split is the only free certificate
    exact_res = factorize(An, pats, order=order, orthonormalize=ortho, certificate="exact")
    assert np.allclose(exact_res.split_errors, exact, rtol=1e-9)
    assert exact_res.certificate_ratio <= res.certificate_ratio * (1 + 1e-12)


def test_noisy_butterfly_close_to_noise_level():
    N = 256
    pats = dyadic_butterfly(N)
    rng = np.random.default_rng(0)
    A = random_chain(pats, rng).to_dense()
    A /= np.linalg.norm(A)
    noise = 1e-3 * rng.standard_normal(A.shape) / N
    for order in ORDERS:
        res = factorize(A + noise, pats, order=order, orthonormalize=True)
        assert res.error <= 1.02 * np.linalg.norm(noise)


def test_result_apply_save_and_metadata(tmp_path):
    N = 32
    F = np.fft.fft(np.eye(N))
    res = factorize(F, dyadic_butterfly(N), bit_reversal=True, orthonormalize=True)
    X = np.random.default_rng(0).standard_normal((N, 4))
    assert np.allclose(res.apply(X), F @ X)
    assert np.allclose(res.apply(X[:, 0]), F @ X[:, 0])
    assert np.allclose(res.to_dense(), F)
    res.save(tmp_path / "f.npz")
    meta = load_metadata(tmp_path / "f.npz")
    back = FactorChain.load(tmp_path / "f.npz")  # the chain file keeps the column permutation
    assert np.array_equal(back.column_permutation, bit_reversal_permutation(N))
    assert np.allclose(back.apply(X), F @ X)
    assert float(meta["rel_error"]) == res.rel_error
    rec = res.to_json()
    assert rec["bit_reversal"] and rec["shape"] == [N, N] and rec["certificate_ratio"] in ("inf",) or isinstance(
        rec["certificate_ratio"], float
    )


def test_bad_input():
    pats = dyadic_butterfly(8)
    A = np.random.default_rng(0).standard_normal((8, 8))
    B = A.copy()
    B[2, 3] = np.nan
    with pytest.raises(InvalidMatrixError, match=r"non-finite entries \(first at \(2, 3\)"):
        factorize(B, pats)
    B[2, 3] = np.inf
    with pytest.raises(InvalidMatrixError, match="non-finite"):
        factorize(B, pats)
    with pytest.raises(InvalidMatrixError, match=r"shape \(8, 4\) but the chain"):
        factorize(A[:, :4], pats)
    with pytest.raises(InvalidMatrixError, match="empty"):
        factorize(np.zeros((0, 8)), pats)
    with pytest.raises(InvalidMatrixError, match="2-D"):
        factorize(np.zeros(8), pats)
    with pytest.raises(InvalidMatrixError, match="real or complex"):
        factorize(np.array([["a"]]), [KSPattern(1, 1, 1, 1)])
    with pytest.raises(InvalidChainError, match="not chainable"):
        factorize(np.zeros((6, 2)), [KSPattern(1, 1, 3, 2), KSPattern(2, 3, 1, 1)])
    with pytest.raises(InvalidChainError):
        factorize(A, "butterfly:8")
    with pytest.raises(InvalidSpecError, match="order must be one of"):
        factorize(A, pats, order="random")
    with pytest.raises(InvalidSpecError, match="certificate"):
        factorize(A, pats, certificate="maybe")
    with pytest.raises(InvalidSpecError, match="booleans"):
        factorize(A, pats, orthonormalize="yes")
    with pytest.raises(InvalidMatrixError, match="power-of-two"):
        factorize(np.zeros((3, 12)), parse_chain_spec("debut:3x12"), bit_reversal=True)


def test_zero_matrix_and_integer_input():
    pats = dyadic_butterfly(8)
    res = factorize(np.zeros((8, 8), dtype=int), pats)
    assert res.error == 0 and res.certificate_ratio == 1.0 and res.rel_error == 0.0
    assert res.chain.dtype == np.float64
    assert isinstance(res.chain.factors[0], KSFactor)


def test_non_finite_detected_everywhere():
    pats = parse_chain_spec("ks:2,2,2,2;4,2,2,1").patterns  # block-diagonal product: A has entries off its pattern
    A = np.zeros(pats[0].shape[:1] + pats[-1].shape[1:])
    A[0, -1] = np.nan  # off the product pattern
    assert not product_pattern(pats).mask()[0, -1]
    with pytest.raises(InvalidMatrixError, match=r"first at \(0, 7\)"):
        factorize(A, pats)
    F = np.fft.fft(np.eye(16))
    F[3, 5] = np.inf
    with pytest.raises(InvalidMatrixError, match=r"first at \(3, 5\)"):
        factorize(F, dyadic_butterfly(16), bit_reversal=True, orthonormalize=True)
    with pytest.raises(InvalidMatrixError, match="too large"):
        factorize(np.full((8, 8), 1e300), dyadic_butterfly(8))


@pytest.mark.parametrize("k", [530, 1000])
@pytest.mark.parametrize("kernel", ["auto", "numpy", "reference"])
def test_tiny_matrices_keep_their_digits(k, kernel):
    # entries near 2**-530 (1e-160) or 2**-1000 (1e-301): their squares underflow; the factorization runs on
    # A scaled back by a power of two (exact), so factors and errors are those of A times 2**-k
    rng = np.random.default_rng(k)
    H = scipy.linalg.hadamard(64).astype(float)
    for A in (H, H + 1e-3 * rng.standard_normal(H.shape)):
        ref = factorize(A, dyadic_butterfly(64), kernel=kernel)
        tiny = factorize(np.ldexp(A, -k), dyadic_butterfly(64), kernel=kernel)
        assert tiny.rel_error == pytest.approx(ref.rel_error, rel=1e-6, abs=1e-15)
        assert math.ldexp(tiny.error, k) == pytest.approx(ref.error, rel=1e-6, abs=1e-13)
        np.testing.assert_allclose(np.ldexp(tiny.chain.to_dense(), k), ref.chain.to_dense(), atol=1e-12)
        assert math.ldexp(tiny.off_support_error, k) == pytest.approx(ref.off_support_error, abs=1e-13)
