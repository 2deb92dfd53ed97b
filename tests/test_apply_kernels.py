"""The apply kernels of FactorChain: the compiled (numba) kernel and the numpy kernel against the plain-loop
reference and the dense matrix, on butterfly, Monarch, rectangular and random chains, every dtype, vectors and
blocks, permutations, transposes, slabs forced small; the grouping into slabs; the choice of kernel."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wellposed.solvers.butterfly import FactorChain, KSFactor, compiled

from tests.strategies import chainable_chains
from wellposed.errors import BackendNotAvailableError, InvalidSpecError
from wellposed.kronecker import KSPattern, debut, dyadic_butterfly, monarch

requires_numba = pytest.mark.requires_numba


def _kernels():
    from wellposed.solvers.butterfly import apply_kernels  # imports numba: only in tests marked requires_numba

    return apply_kernels

_TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.complex128): 1e-12, np.dtype(np.float32): 2e-5,
        np.dtype(np.complex64): 2e-5}


def _chain(patterns, rng, dtype=np.float64, column_perm=False, row_perm=False) -> FactorChain:
    def data(p):
        d = rng.standard_normal(p.abcd)
        if np.dtype(dtype).kind == "c":
            d = d + 1j * rng.standard_normal(p.abcd)
        return d.astype(dtype)

    facs = tuple(KSFactor(p, data(p)) for p in patterns)
    m, n = facs[0].shape[0], facs[-1].shape[1]
    return FactorChain(facs, rng.permutation(n) if column_perm else None, rng.permutation(m) if row_perm else None)


def _close(Y, R, dtype) -> None:
    tol = _TOL[np.dtype(dtype)]
    scale = max(1.0, float(np.abs(R).max(initial=0.0)))
    np.testing.assert_allclose(Y, R, rtol=tol, atol=tol * scale)


FAMILIES = {
    "butterfly 64": dyadic_butterfly(64),
    "butterfly 512": dyadic_butterfly(512),
    "monarch 16": monarch(16),
    "monarch 8x12": monarch(8, 12),
    "debut rectangular": debut([(2, 3), (4, 5), (3, 2)]),
    "debut 3x3": debut([(3, 3)] * 4),
    "one factor": (KSPattern(2, 3, 5, 4),),
}


@requires_numba
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
@pytest.mark.parametrize("k", [1, 3, 16])
def test_both_kernels_match_the_reference_and_the_dense_matrix(family, dtype, k):
    rng = np.random.default_rng(zlib.crc32(f"{family} {np.dtype(dtype).str} {k}".encode()))
    chain = _chain(FAMILIES[family], rng, dtype, column_perm=True, row_perm=True)
    n = chain.shape[1]
    X = rng.standard_normal((n, k)).astype(dtype)
    R = chain.apply_reference(X)
    D = chain.to_dense()
    for kernel in ("compiled", "numpy"):
        Y = chain.apply(X, kernel=kernel)
        assert Y.dtype == np.dtype(dtype) and Y.shape == R.shape
        _close(Y, R, dtype)
        _close(Y, D @ X, dtype)
        _close(chain.apply(X[:, 0], kernel=kernel), R[:, 0], dtype)
        # the transposed chain (a cached plan of its own) against the transposed dense matrix
        Z = rng.standard_normal((chain.shape[0], k)).astype(dtype)
        _close(chain.T.apply(Z, kernel=kernel), D.T @ Z, dtype)


@requires_numba
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chainable_chains(), st.integers(0, 2**32 - 1), st.booleans(), st.booleans(), st.integers(1, 9),
       st.sampled_from([64, 256, 1 << 20]))
def test_random_chains_with_slabs_of_any_size(patterns, seed, cp, rp, k, cache_bytes):
    """Tiny slab budgets force many groups and many slabs per group; the result must not change."""
    rng = np.random.default_rng(seed)
    chain = _chain(patterns, rng, column_perm=cp, row_perm=rp)
    X = rng.standard_normal((chain.shape[1], k))
    ak = _kernels()
    plan = chain._apply_plan()[::-1]
    packed = ak.pack_plan([f.pattern for f in plan], [f.data for f in plan], np.dtype(np.float64),
                       chain.column_permutation, chain.row_permutation)
    Y = ak.apply_packed(packed, X, cache_bytes=cache_bytes)
    np.testing.assert_allclose(Y, chain.apply_reference(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chain.apply(X, kernel="numpy"), Y, rtol=1e-12, atol=1e-12)


@requires_numba
@pytest.mark.parametrize("permuted", [False, True])
def test_unmerged_butterfly_factors_in_slabs_and_chunks(permuted):
    """The factors one by one (2×2 blocks, no merged pairs) on 8 columns, with a budget that splits the
    right-hand factors into contiguous slabs and the left-hand ones into chunks of rows modulo gcd(d)."""
    ak = _kernels()
    rng = np.random.default_rng(3)
    pats = dyadic_butterfly(256)[::-1]
    datas = [rng.standard_normal(p.abcd) for p in pats]
    cp, rp = (rng.permutation(256), rng.permutation(256)) if permuted else (None, None)
    packed = ak.pack_plan(pats, datas, np.dtype(np.float64), cp, rp)
    budget = 2 * 16 * 8 * 8  # 16 rows of 8 columns per slab
    groups = ak.group_factors(pats, 8, 8, cache_bytes=budget)
    assert any(g.slabs > 1 for g in groups) and any(g.chunks > 1 for g in groups)
    X = rng.standard_normal((256, 8))
    chain = FactorChain(tuple(KSFactor(p, D) for p, D in zip(pats[::-1], datas[::-1], strict=True)), cp, rp)
    R = chain.apply_reference(X)
    np.testing.assert_allclose(ak.apply_packed(packed, X, cache_bytes=budget), R, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chain.apply(X, kernel="compiled"), R, rtol=1e-12, atol=1e-12)


@requires_numba
def test_results_are_deterministic_and_inputs_untouched():
    rng = np.random.default_rng(5)
    chain = _chain(dyadic_butterfly(1024), rng, column_perm=True, row_perm=True)
    X = rng.standard_normal((1024, 64))
    X0 = X.copy()
    Y1, Y2 = chain.apply(X, kernel="compiled"), chain.apply(X, kernel="compiled")
    assert np.array_equal(Y1, Y2) and Y1 is not Y2
    assert np.array_equal(X, X0)
    Y1[:] = 0.0  # the result is the caller's: later products do not write into it
    assert np.array_equal(chain.apply(X, kernel="compiled"), Y2)


@requires_numba
def test_mixed_dtypes_and_non_contiguous_operands():
    rng = np.random.default_rng(6)
    chain = _chain(dyadic_butterfly(128), rng, dtype=np.float32)
    X = rng.standard_normal((128, 10))[:, ::2]  # float64, not contiguous
    Y = chain.apply(X, kernel="compiled")
    assert Y.dtype == np.float64
    np.testing.assert_allclose(Y, chain.apply_reference(X), rtol=1e-6, atol=1e-6)
    Xi = np.arange(128 * 2).reshape(128, 2)  # integers are read as float64
    np.testing.assert_allclose(chain.apply(Xi, kernel="compiled"), chain.apply(Xi, kernel="numpy"), rtol=1e-6)
    assert chain.apply(np.zeros((128, 0)), kernel="compiled").shape == (128, 0)


@requires_numba
def test_group_factors_cover_the_plan_and_divide_every_factor():
    ak = _kernels()
    group_factors, uses_matmul = ak.group_factors, ak.uses_matmul
    for pats, k in [(dyadic_butterfly(8192)[::-1], 64), (dyadic_butterfly(8192)[::-1], 1),
                    (monarch(64)[::-1], 64), (debut([(2, 3), (4, 5), (3, 2)])[::-1], 4)]:
        for cache_bytes in (64, 4096, 1 << 19):
            groups = group_factors(pats, k, 8, cache_bytes)
            assert groups[0].start == 0 and groups[-1].stop == len(pats)
            assert all(g.stop == h.start for g, h in zip(groups, groups[1:], strict=False))
            for g in groups:
                assert all(p.a % g.slabs == 0 and p.d % g.chunks == 0 for p in pats[g.start:g.stop])
                assert not g.matmul or (g.stop - g.start == 1 and uses_matmul(pats[g.start], k))
    # a butterfly block at N = 8192: the cheap right-hand factors run in slabs, the two widest alone
    groups = group_factors(dyadic_butterfly(8192)[::-1], 64, 8)
    assert groups[0].slabs > 1 and len(groups) < 13
    # Monarch blocks of 64×64 on 64 columns go to the batched matmul; on a vector they do not
    assert all(g.matmul for g in group_factors(monarch(64)[::-1], 64, 8))
    assert not any(g.matmul for g in group_factors(monarch(64)[::-1], 1, 8))


def test_kernel_choice(monkeypatch):
    rng = np.random.default_rng(7)
    chain = _chain(dyadic_butterfly(1024), rng, column_perm=True)  # above the size rule of 'auto'
    X = rng.standard_normal(1024)
    assert chain.nnz > compiled.AUTO_APPLY_WORK
    with pytest.raises(InvalidSpecError, match="kernel must be 'auto', 'compiled' or 'numpy', got 'fast'"):
        chain.apply(X, kernel="fast")
    # without numba: 'auto' is the numpy kernel, 'compiled' names the install
    monkeypatch.setattr(compiled, "available", lambda: False)

    def refuse(*args, **kwargs):
        raise AssertionError("the compiled kernel ran without numba")

    monkeypatch.setattr(FactorChain, "_apply_compiled", refuse)
    np.testing.assert_allclose(chain.apply(X), chain.apply_reference(X), atol=1e-12)
    np.testing.assert_allclose(chain @ X, chain.apply_reference(X), atol=1e-12)
    with pytest.raises(BackendNotAvailableError, match=r"wellposed\[fast\]"):
        chain.apply(X, kernel="compiled")


@requires_numba
def test_auto_uses_the_compiled_kernel_when_numba_is_installed(monkeypatch):
    """With numba, ``'auto'`` runs the compiled kernel when ``nnz × columns`` exceeds ``AUTO_APPLY_WORK`` and numpy
    below (loading numba would cost more than the apply); ``'compiled'`` always runs it. The choice depends on
    the sizes only."""
    rng = np.random.default_rng(8)
    calls = []
    real = FactorChain._apply_compiled

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(FactorChain, "_apply_compiled", spy)
    assert compiled.available() and compiled.AUTO_APPLY_WORK == 1 << 14
    for N, cols, compiled_runs in ((16, 1, False), (64, 16, False), (64, 32, True), (256, 1, False),
                                   (1024, 1, True)):
        chain = _chain(dyadic_butterfly(N), rng)
        assert (chain.nnz * cols > compiled.AUTO_APPLY_WORK) == compiled_runs
        X = rng.standard_normal((N, cols) if cols > 1 else N)
        calls.clear()
        Y = chain.apply(X)
        assert bool(calls) == compiled_runs
        np.testing.assert_allclose(Y, chain.apply_reference(X), atol=1e-10)
        calls.clear()
        chain.apply(X, kernel="compiled")
        assert calls
