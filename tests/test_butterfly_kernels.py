"""Fused split kernels against their references, the default method against every method, BLAS thread limits."""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info
from wellposed.solvers.butterfly import ORDERS, factorize
from wellposed.solvers.butterfly.blocks import PairBlocks, bit_reversal
from wellposed.solvers.butterfly.truncated_svd import (
    _eigh2,
    _one_blas_thread,
    _split_fused,
    _truncate,
    _truncate_loop_reference,
)

from wellposed.errors import InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, dyadic_butterfly, product_pattern
from wellposed.kronecker_spec import parse_chain_spec

from .planted import planted_chain, random_chain
from .strategies import chainable_chains


def _draw(rng, shape, complex_):
    z = rng.standard_normal(shape)
    return z + 1j * rng.standard_normal(shape) if complex_ else z


# ------------------------------------------------------------------ the split kernel
@given(
    batch=st.tuples(*[st.integers(1, 3)] * 4),
    m=st.integers(1, 4),
    extra=st.integers(0, 4),
    r=st.integers(1, 3),
    side=st.sampled_from(["left", "balanced"]),
    complex_=st.booleans(),
    low_rank=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=80, deadline=None)
def test_split_fused_matches_references(batch, m, extra, r, side, complex_, low_rank, seed):
    rng = np.random.default_rng(seed)
    n = m + extra
    B = _draw(rng, (*batch, m, n), complex_)
    if low_rank:  # exact rank-r blocks: the tail is (certified) zero
        B = _draw(rng, (*batch, m, r), complex_) @ _draw(rng, (*batch, r, n), complex_)
    W = np.full((*batch, r, n), np.nan, dtype=B.dtype)
    U, tail = _split_fused(B, r, side, W)
    approx, tail_ref = _truncate_loop_reference(B, r)
    scale = np.linalg.norm(B) ** 2
    assert np.allclose(U @ W, approx, atol=1e-10 * math.sqrt(scale))
    # certified lower bound on the discarded energy, tight up to rounding
    assert np.all(tail <= tail_ref + 1e-12 * scale)
    assert np.allclose(tail, tail_ref, atol=1e-9 * scale)
    U2, W2, tail2 = _truncate(B, r, side)
    assert np.allclose(U @ W, U2 @ W2, atol=1e-10 * math.sqrt(scale))
    assert np.allclose(tail, tail2, atol=1e-9 * scale)
    if side == "left":  # orthonormal columns (zero-padded past min(m, n))
        k = min(r, m)
        G = np.conj(np.swapaxes(U, -1, -2)) @ U
        assert np.allclose(G[..., :k, :k], np.eye(k), atol=1e-10)


def test_split_fused_bit_reversed_block_order():
    """The block index stored bit-reversed (p = 4) is put back in the true order in U and W."""
    rng = np.random.default_rng(3)
    pr = PairBlocks.of(KSPattern(1, 2, 4, 4), KSPattern(4, 4, 8, 1))  # p = 4, r = 1, q = 4
    D = rng.standard_normal(product_pattern([KSPattern(1, 2, 4, 4), KSPattern(4, 4, 8, 1)]).abcd)
    perm = bit_reversal(D.shape[2])
    S = np.ascontiguousarray(D[:, :, perm])  # columns stored bit-reversed
    out_ref = np.empty((4, 4, 8, 1))
    U_ref, tail_ref = _split_fused(pr.product_blocks(D), 1, "left", pr.right_blocks(out_ref))
    out = np.empty((4, 4, 8, 1))
    U, tail = _split_fused(pr.product_blocks_bitrev(S), 1, "left", pr.right_blocks(out), pi_perm=bit_reversal(4))
    assert np.allclose(U, U_ref) and np.allclose(tail, tail_ref)
    assert np.allclose(out[:, :, bit_reversal(8)], out_ref)


@given(st.integers(0, 2**16), st.booleans(), st.sampled_from(["generic", "diagonal", "identity", "zero", "rank1"]))
@settings(max_examples=60, deadline=None)
def test_closed_form_eigh2_matches_lapack(seed, complex_, kind):
    rng = np.random.default_rng(seed)
    X = _draw(rng, (5, 2, 3), complex_)
    G = X @ np.conj(np.swapaxes(X, -1, -2))
    if kind == "diagonal":
        G = G * np.eye(2)
    elif kind == "identity":
        G = np.broadcast_to(np.eye(2), G.shape) * rng.uniform(0, 3, (5, 1, 1)) + 0 * G
    elif kind == "zero":
        G = np.zeros_like(G)
    elif kind == "rank1":
        G = X[..., :1] @ np.conj(np.swapaxes(X[..., :1], -1, -2))
    w, E = _eigh2(G)
    w_ref = np.linalg.eigvalsh(G)
    scale = np.abs(np.trace(G, axis1=-2, axis2=-1)).max() + 1e-300
    assert np.allclose(w, w_ref, atol=1e-13 * scale)
    assert np.allclose(np.conj(np.swapaxes(E, -1, -2)) @ E, np.eye(2), atol=1e-12)
    assert np.allclose(G @ E, E * w[..., None, :], atol=1e-12 * scale)


# ------------------------------------------------------------------ fused tree against the reference tree
SPECS = ["butterfly:16", "butterfly:64", "monarch:4", "monarch:3,4", "debut:2x3,3x2,4x2", "ks:1,4,4,2;2,4,4,1",
         "ks:1,2,4,4;2,4,2,2;4,2,3,1", "ks:2,2,2,2;4,2,2,1", "ks:1,2,2,6;2,2,2,3"]


def _agree(a, b, A):
    tol = 1e-11 * np.linalg.norm(A)
    assert math.isclose(a.error, b.error, rel_tol=1e-9, abs_tol=tol), (a.error, b.error)
    both = np.isfinite(a.split_errors) & np.isfinite(b.split_errors)
    assert np.array_equal(np.isfinite(a.split_errors), np.isfinite(b.split_errors))
    assert np.allclose(a.split_errors[both], b.split_errors[both], rtol=1e-9, atol=tol)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("ortho", [True, False])
@pytest.mark.parametrize("noise", [0.0, 1e-2])
def test_fused_tree_matches_reference_tree(spec, ortho, noise):
    for complex_ in (False, True):
        pats, A = planted_chain(spec, seed=4, complex_=complex_)
        A = A + noise * np.linalg.norm(A) / math.sqrt(A.size) * np.random.default_rng(5).standard_normal(A.shape)
        kw = dict(order="left-to-right", orthonormalize=ortho)
        fused = factorize(A, pats, kernel="numpy", **kw)
        ref = factorize(A, pats, kernel="reference", **kw)
        _agree(fused, ref, A)
        assert math.isclose(np.linalg.norm(A - fused.to_dense()), fused.error, rel_tol=1e-6, abs_tol=1e-12)


@given(chainable_chains(max_len=4), st.booleans(), st.booleans())
@settings(max_examples=40, deadline=None)
def test_fused_tree_hypothesis(pats, ortho, complex_):
    rng = np.random.default_rng(8)
    A = random_chain(pats, rng, complex_).to_dense()
    A = A + 0.05 * _draw(rng, A.shape, complex_)
    fused = factorize(A, pats, order="left-to-right", orthonormalize=ortho, kernel="numpy")
    ref = factorize(A, pats, order="left-to-right", orthonormalize=ortho, kernel="reference")
    _agree(fused, ref, A)


@pytest.mark.parametrize("spec", ["butterfly:8", "butterfly:128", "monarch:8", "ks:1,4,4,2;2,4,4,1",
                                  "ks:1,2,4,4;2,4,2,2;4,2,2,1"])
@pytest.mark.parametrize("ortho", [True, False])
def test_bit_reversal_carried_through_the_splits(spec, ortho):
    """The fused tree never permutes A: same factors and error as the reference on A[:, bitrev]."""
    pats = parse_chain_spec(spec).patterns
    n = pats[-1].shape[1]
    rng = np.random.default_rng(1)
    for A in (np.fft.fft(np.eye(n))[: pats[0].shape[0]] if pats[0].shape[0] == n else None,
              rng.standard_normal((pats[0].shape[0], n)) + 1j * rng.standard_normal((pats[0].shape[0], n))):
        if A is None:
            continue
        fused = factorize(A, pats, order="left-to-right", orthonormalize=ortho, bit_reversal=True)
        ref = factorize(A, pats, order="left-to-right", orthonormalize=ortho, bit_reversal=True, kernel="reference")
        _agree(fused, ref, A)
        assert np.array_equal(fused.column_permutation, ref.column_permutation)
        assert math.isclose(np.linalg.norm(A - fused.to_dense()), fused.error, rel_tol=1e-6, abs_tol=1e-12)
        exact = factorize(A, pats, bit_reversal=True, certificate="exact")
        assert np.all(np.isfinite(exact.split_errors))


# ------------------------------------------------------------------ the default method
def _all_methods(A, pats, bit_rev=False):
    out = {}
    for order in ORDERS[1:]:
        for ortho in (True, False):
            out[(order, ortho)] = factorize(A, pats, order=order, orthonormalize=ortho, bit_reversal=bit_rev)
    return out


def _targets(spec, seed):
    pats, A = planted_chain(spec, seed=seed)
    A /= np.linalg.norm(A)
    noise = np.random.default_rng(seed + 1).standard_normal(A.shape)
    return pats, A, A + 1e-3 * noise / np.linalg.norm(noise)


@pytest.mark.parametrize("spec", ["butterfly:64", "butterfly:256", "monarch:8", "debut:2x3,3x2,4x2",
                                  "ks:1,4,4,2;2,4,4,1"])
def test_default_within_1_02_of_the_best_method(spec):
    pats, exact, noisy = _targets(spec, seed=11)
    targets = [(exact, False), (noisy, False)]
    if spec.startswith("butterfly"):
        N = pats[0].shape[0]
        targets += [(scipy.linalg.hadamard(N).astype(float), False), (np.fft.fft(np.eye(N)), True)]
    for A, bit_rev in targets:
        best = min(r.error for r in _all_methods(A, pats, bit_rev).values())
        default = factorize(A, pats, bit_reversal=bit_rev)
        assert default.order in ("left-to-right", "right-to-left") and default.orthonormalized
        assert default.error <= 1.02 * best + 1e-13 * np.linalg.norm(A), (spec, default.error, best)


def test_default_is_noise_robust_where_plain_tree_is_not():
    pats, _, noisy = _targets("butterfly:256", seed=2)
    noise_level = np.linalg.norm(noisy - _targets("butterfly:256", seed=2)[1])
    default = factorize(noisy, pats)
    plain = factorize(noisy, pats, order="left-to-right", orthonormalize=False)
    assert default.error <= 1.02 * noise_level < plain.error


def test_float32_and_bad_options():
    N = 64
    H = scipy.linalg.hadamard(N).astype(float)
    res = factorize(H, dyadic_butterfly(N), dtype="float32")
    assert res.chain.dtype == np.float32 and res.rel_error < 1e-5
    F = np.fft.fft(np.eye(N))
    res = factorize(F, dyadic_butterfly(N), dtype="float32", bit_reversal=True)
    assert res.chain.dtype == np.complex64 and res.rel_error < 1e-5
    with pytest.raises(InvalidSpecError, match="dtype"):
        factorize(H, dyadic_butterfly(N), dtype="float16")
    with pytest.raises(InvalidSpecError, match="kernel"):
        factorize(H, dyadic_butterfly(N), kernel="fast")
    with pytest.raises(InvalidSpecError, match="now kernel='numpy'"):  # the old name points to the new one
        factorize(H, dyadic_butterfly(N), kernel="fused")


@pytest.mark.requires_numba
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("scale", [1e-20, 1e-28, 1e20])
def test_float32_far_from_magnitude_one(scale, complex_):
    """dtype='float32' on an A far from magnitude 1: single-precision squares and products under- or overflowed
    (the error read 0 from about 1e-18, a certificate of an exact fit that was not; inf at 1e30 on the complex
    compiled kernel), so A is factorized at magnitude 1 and scaled back by a power of two (exact): every kernel
    and tree reports the error of the factors it returns. Beyond 2**±100 single-precision factors cannot hold
    A (entries of 1e-140 were cast to 0 and reported with error 0): a clear error naming dtype."""
    N = 64
    rng = np.random.default_rng(3)
    pats = dyadic_butterfly(N)
    P = random_chain(pats, rng, complex_).to_dense()
    B = P + 1e-3 * _draw(rng, (N, N), complex_)  # at magnitude 1
    for kernel, ortho in [(k, o) for k in ("compiled", "numpy", "reference") for o in (False, True)]:
        res = factorize(B * scale, pats, dtype="float32", kernel=kernel, orthonormalize=ortho, order="left-to-right")
        assert res.chain.dtype == (np.complex64 if complex_ else np.float32)
        measured = np.linalg.norm(res.to_dense().astype(np.complex128) / scale - B)
        assert 1e-4 < res.rel_error < 1e-2 and math.isclose(res.error / scale, measured, rel_tol=1e-3), kernel
    for out_of_range in (1e-140, 1e-33, 1e39, 1e300):
        with pytest.raises(InvalidMatrixError, match="dtype='float32' cannot hold"):
            factorize(B * out_of_range, pats, dtype="float32")


def test_float32_window_check_costs_nothing_when_well_scaled(monkeypatch):
    """The largest magnitude is only read (one more pass over A) when the run's energy is outside the window."""
    import importlib

    fz = importlib.import_module("wellposed.solvers.butterfly.factorize")  # the module, not the function
    calls = []
    real = fz._single_shift
    monkeypatch.setattr(fz, "_single_shift", lambda W: calls.append(1) or real(W))
    N = 64
    pats = dyadic_butterfly(N)
    B = random_chain(pats, np.random.default_rng(5), False).to_dense()
    for scale in (1e-9, 1.0, 1e9):
        factorize(B * scale, pats, dtype="float32")
    assert calls == []
    res = factorize(B * 1e-20, pats, dtype="float32")
    assert calls and res.rel_error < 1e-5


# ------------------------------------------------------------------ BLAS threads
def _blas_threads():
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def test_blas_thread_limit_is_restored():
    before = _blas_threads()
    with _one_blas_thread():
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
    with pytest.raises(RuntimeError), _one_blas_thread():
        raise RuntimeError("inside")
    assert _blas_threads() == before
    N = 64
    factorize(np.random.default_rng(0).standard_normal((N, N)), dyadic_butterfly(N), order="balanced")
    factorize(np.random.default_rng(0).standard_normal((N, N)), dyadic_butterfly(N))
    assert _blas_threads() == before


# ------------------------------------------------------------------ the command line default
def test_cli_default_and_options(tmp_path, capsys):
    import json

    from wellposed.cli import main

    pats, _, noisy = _targets("butterfly:64", seed=3)
    path = tmp_path / "noisy.npy"
    np.save(path, noisy)
    assert main(["factor", str(path), "--chain", "butterfly:64", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    default = factorize(noisy, pats)
    assert rec["order"] == "left-to-right" and rec["orthonormalized"]
    assert math.isclose(rec["rel_error"], default.rel_error, rel_tol=1e-9)
    assert main(["factor", str(path), "--chain", "butterfly:64", "--no-orthonormalize", "--dtype", "float32",
                 "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert not rec["orthonormalized"] and rec["dtype"] == "float32"
    assert main(["factor", str(path), "--chain", "butterfly:64", "--dtype", "float16"]) == 2


# ------------------------------------------------------------------ the compiled (numba) kernels
# Dyadic butterflies (every split goes through the grouped kernel, several levels per pass), non-power-of-two
# halving chains (blocks of two rows and 5 or 10 columns), and chains with blocks of 1 to 4 rows and r > 1
# (the compiled small-block split) or more rows (numpy splits inside a compiled run).
COMPILED_SPECS = ["butterfly:4", "butterfly:32", "butterfly:256", "ks:1,2,2,3;2,3,5,1", "ks:1,2,2,6;2,2,2,3;4,3,5,1",
                  "debut:2x3,3x2,4x2", "monarch:3,4", "ks:1,4,4,2;2,4,4,1", "ks:1,2,4,4;2,4,2,2;4,2,3,1",
                  "ks:1,2,2,6;2,2,2,3", "monarch:8"]


def _dense_close(a, b, A, tol):
    return np.linalg.norm(a.to_dense() - b.to_dense()) <= tol * np.linalg.norm(A)


@pytest.mark.requires_numba
@pytest.mark.parametrize("spec", COMPILED_SPECS)
@pytest.mark.parametrize("ortho", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_kernel_matches_numpy_and_reference(spec, ortho, dtype):
    tol = 1e-12 if dtype == "float64" else 2e-5
    for complex_ in (False, True):
        pats, exact = planted_chain(spec, seed=6, complex_=complex_)
        noisy = exact + 1e-2 * np.linalg.norm(exact) / math.sqrt(exact.size) * np.random.default_rng(7).standard_normal(
            exact.shape
        )
        kw = dict(order="left-to-right", orthonormalize=ortho, dtype=dtype)
        for A in (exact, noisy):
            comp = factorize(A, pats, kernel="compiled", **kw)
            fused = factorize(A, pats, kernel="numpy", **kw)
            ref = factorize(A, pats, kernel="reference", **kw)
            # trees that the fused kernels do not take (a block taller than wide) run the reference kernels
            assert comp.kernel == fused.kernel.replace("numpy", "compiled") and ref.kernel == "reference"
            assert fused.kernel == "numpy" or spec in ("debut:2x3,3x2,4x2", "ks:1,2,4,4;2,4,2,2;4,2,3,1")
            if A is exact:  # the product is recovered: every kernel gives the same matrix, to rounding
                assert comp.rel_error <= tol and _dense_close(comp, fused, A, 4 * tol)
                assert _dense_close(comp, ref, A, 4 * tol)
            elif dtype == "float64":
                _agree(comp, fused, A)
                _agree(comp, ref, A)
            else:
                assert math.isclose(comp.error, ref.error, rel_tol=1e-4)
            # the reported error is the error of the factors
            assert math.isclose(np.linalg.norm(A - comp.to_dense()), comp.error, rel_tol=1e-5 if dtype == "float64"
                                else 1e-2, abs_tol=tol * np.linalg.norm(A))


@pytest.mark.requires_numba
@pytest.mark.parametrize("spec", ["butterfly:8", "butterfly:128", "butterfly:1024", "ks:1,4,4,2;2,4,4,1",
                                  "ks:1,2,4,4;2,4,2,2;4,2,2,1"])
@pytest.mark.parametrize("ortho", [True, False])
def test_compiled_kernel_bit_reversal(spec, ortho):
    """The compiled tree carries the bit reversal like the numpy one: same matrix and error as the reference
    on ``A[:, bitrev]``, the DFT recovered to rounding."""
    pats = parse_chain_spec(spec).patterns
    m, n = pats[0].shape[0], pats[-1].shape[1]
    rng = np.random.default_rng(2)
    targets = [rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))]
    if m == n:
        targets.append(np.fft.fft(np.eye(n)))
    for A in targets:
        kw = dict(order="left-to-right", orthonormalize=ortho, bit_reversal=True)
        comp = factorize(A, pats, kernel="compiled", **kw)
        ref = factorize(A, pats, kernel="reference", **kw)
        _agree(comp, ref, A)
        assert np.array_equal(comp.column_permutation, ref.column_permutation)
        assert _dense_close(comp, ref, A, 1e-12 if A.shape == (n, n) and spec.startswith("butterfly") and
                            np.allclose(np.abs(A), 1) else 1e-9)
        assert math.isclose(np.linalg.norm(A - comp.to_dense()), comp.error, rel_tol=1e-6, abs_tol=1e-12)
    if m == n and spec.startswith("butterfly"):
        assert comp.rel_error < 1e-13


@pytest.mark.requires_numba
def test_compiled_kernel_is_deterministic_and_certified():
    N = 512
    rng = np.random.default_rng(4)
    pats = dyadic_butterfly(N)
    A = random_chain(pats, rng, False).to_dense() + 1e-3 * rng.standard_normal((N, N))
    runs = [factorize(A, pats) for _ in range(2)]
    assert runs[0].kernel == "compiled"
    for f0, f1 in zip(runs[0].chain, runs[1].chain, strict=True):
        assert f0.data.tobytes() == f1.data.tobytes()
    assert runs[0].error == runs[1].error
    fused = factorize(A, pats, kernel="numpy")
    assert np.allclose(runs[0].split_errors, fused.split_errors, rtol=1e-9)
    assert math.isclose(runs[0].error, fused.error, rel_tol=1e-9)
    # the free lower bounds are lower bounds of the exact two-factor optima
    exact = factorize(A, pats, certificate="exact", kernel="reference")
    assert np.all(runs[0].split_errors <= exact.split_errors * (1 + 1e-9))


@pytest.mark.requires_numba
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("ortho", [True, False])
def test_threads_give_the_same_bytes(complex_, ortho, monkeypatch):
    """The grouped levels shared among threads: factors, error and certificate are the same bytes for every
    thread count (groups write disjoint outputs, the sums are added in one order), and equal a single-thread run
    of the plain kernel call; uneven shares (3 threads) and more threads than groups included."""
    from wellposed.solvers.butterfly import compiled

    monkeypatch.setattr(compiled, "_MIN_THREAD_BYTES", 1 << 12)  # several threads even on a small node
    calls = []
    real = compiled.fused_levels

    def spy(*args, **kw):
        calls.append(args[-1])
        return real(*args, **kw)

    monkeypatch.setattr(compiled, "fused_levels", spy)
    pools = []
    real_workers = compiled._workers
    monkeypatch.setattr(compiled, "_workers", lambda n: pools.append(n) or real_workers(n))
    N = 1024  # first pass: 32 groups of rows (3 threads get uneven shares)
    rng = np.random.default_rng(11)
    pats = dyadic_butterfly(N)
    A = random_chain(pats, rng, complex_).to_dense() + 1e-3 * _draw(rng, (N, N), complex_)
    runs = {t: factorize(A, pats, kernel="compiled", orthonormalize=ortho, bit_reversal=complex_, threads=t)
            for t in (1, 2, 3, 64)}
    assert set(calls) == {1, 2, 3, 64}  # every count reached the kernel
    assert {1, 2} <= set(pools)  # and worker threads ran (besides the calling one)
    one = runs[1]
    for t, res in runs.items():
        for f0, f1 in zip(one.chain, res.chain, strict=True):
            assert f0.data.tobytes() == f1.data.tobytes(), t
        assert res.error == one.error and res.split_errors.tobytes() == one.split_errors.tobytes()
    assert math.isclose(np.linalg.norm(A - one.to_dense()), one.error, rel_tol=1e-6)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_threads_rejects_bad_values(bad):
    with pytest.raises(InvalidSpecError, match="threads must be None"):
        factorize(np.eye(4), dyadic_butterfly(4), threads=bad)


@pytest.mark.requires_numba
def test_threads_from_concurrent_calls(monkeypatch):
    """factorize called from several Python threads at once, each asking for more kernel threads than the last
    (a shared pool grown by one call while another submitted to it raised 'cannot schedule new futures after
    shutdown'; each pass now has workers of its own): every result is the single-thread bytes, and no kernel
    thread outlives the calls."""
    import threading

    from wellposed.solvers.butterfly import compiled

    monkeypatch.setattr(compiled, "_MIN_THREAD_BYTES", 1 << 10)
    N = 512  # first pass: 8 groups of rows
    pats = dyadic_butterfly(N)
    A = np.random.default_rng(5).standard_normal((N, N))
    one = factorize(A, pats, kernel="compiled", order="left-to-right", threads=1)
    failures = []

    def calls(first):
        for t in range(first, 9, 2):
            try:
                res = factorize(A, pats, kernel="compiled", order="left-to-right", threads=t)
                same = res.error == one.error and all(
                    f.data.tobytes() == g.data.tobytes() for f, g in zip(res.chain, one.chain, strict=True))
                if not same:
                    failures.append((t, "different bytes"))
            except Exception as exc:  # noqa: BLE001 - collected and reported by the assertion below
                failures.append((t, repr(exc)))

    workers = [threading.Thread(target=calls, args=(first,)) for first in (2, 3, 2, 3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    assert not any(t.name.startswith("wellposed-kernel") for t in threading.enumerate())


@pytest.mark.requires_numba
def test_threads_in_a_forked_child(monkeypatch):
    """A process forked after a threaded call (multiprocessing's default start method on Linux) has none of the
    parent's worker threads: its calls must start a pool of their own, not wait forever on the inherited one."""
    import multiprocessing
    import os

    from wellposed.solvers.butterfly import compiled

    if not hasattr(os, "register_at_fork"):
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(compiled, "_MIN_THREAD_BYTES", 1 << 10)
    N = 512
    pats = dyadic_butterfly(N)
    A = np.random.default_rng(5).standard_normal((N, N))
    res = factorize(A, pats, kernel="compiled", order="left-to-right", threads=2)
    import threading

    # no kernel thread outlives the call (a lasting one would make the batch pool fork from a server)
    assert not any(t.name.startswith("wellposed-kernel") for t in threading.enumerate())
    child = multiprocessing.get_context("fork").Process(
        target=_factorize_and_exit, args=(A, pats, res.error))
    child.start()
    child.join(120)  # a guard against the hang, not a budget: the call takes well under a second
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the forked child hangs in factorize(threads=2)")
    assert child.exitcode == 0


def _factorize_and_exit(A, pats, error):
    import os

    res = factorize(A, pats, kernel="compiled", order="left-to-right", threads=2)
    os._exit(0 if res.error == error else 1)


@pytest.mark.requires_numba
@pytest.mark.parametrize("scale", [1e-130, 1e-160])
@pytest.mark.parametrize("complex_", [False, True])
def test_fused_kernels_on_tiny_blocks(scale, complex_):
    """Blocks around 1e-130 and below: the plain (balanced) tree divides each top eigenvector by its norm times
    the fourth root of the eigenvalue, a product that underflows to 0 (the compiled kernel raised
    ZeroDivisionError, the numpy kernel's inf became 'A overflows during the factorization'), and numpy divides
    a complex vector by a subnormal norm through its overflowing reciprocal (nan, the same message). A planted
    product of that size is recovered by both kernels (an A below ‖A‖² = 2**-500 is rescaled: the balanced
    tree lost its digits from about 1e-125, relative error 0.08 at 1e-130), and with one row of order 1 beside
    it both kernels agree to rounding and their errors are those of their factors."""
    N = 64
    rng = np.random.default_rng(3)
    pats = dyadic_butterfly(N)
    tiny = random_chain(pats, rng, complex_).to_dense() * scale
    mixed = tiny.copy()
    mixed[0] = rng.standard_normal(N)
    for B, up in ((tiny, 2.0**600), (mixed, 1.0)):  # measure where nothing underflows (a power of two: exact)
        norm = np.linalg.norm(B * up)
        for ortho in (False, True):
            kw = dict(orthonormalize=ortho, order="left-to-right")
            comp = factorize(B, pats, kernel="compiled", threads=2, **kw)
            ref = factorize(B, pats, kernel="numpy", **kw)
            assert comp.kernel == "compiled" and ref.kernel == "numpy"
            for res in (comp, ref):
                assert abs(np.linalg.norm(res.to_dense() * up - B * up) - res.error * up) <= 1e-12 * norm
                if B is tiny:
                    assert res.rel_error < 1e-13
            assert abs(comp.error - ref.error) * up <= 1e-12 * norm


@pytest.mark.requires_numba
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("colrev", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grouped_kernel_dropped_energy_matches_numpy(complex_, colrev, dtype):
    """The grouped kernel (complex nodes through float views) against the numpy split level by level: the next
    node, the left blocks and the tails, and its dropped energy ``Σ_j ‖node_j − U_j U_jᴴ node_j‖²`` read on the
    blocks against the same sum formed in numpy from the numpy split."""
    from wellposed.solvers.butterfly import compiled

    rng = np.random.default_rng(3)
    pats = dyadic_butterfly(64)
    work = np.dtype(dtype) if not complex_ else np.dtype("complex64" if dtype == "float32" else "complex128")
    node = (_draw(rng, (1, 64, 64, 1), complex_) * (1 + 0.01 * np.arange(64))[:, None, None]).astype(work)
    k = compiled.fusable_levels(pats, node)
    assert k >= 2
    out, Us, tails, energy, dropped = compiled.fused_levels(pats, node, k, colrev, False)
    ref_node, ref_drop = node, 0.0
    for j in range(k):
        Pr = product_pattern(pats[j + 1 :])
        pr = PairBlocks.of(pats[j], Pr)
        nxt = np.empty(Pr.abcd, dtype=work)
        if colrev:
            B, perm = pr.product_blocks_bitrev(ref_node), bit_reversal(pr.p)
        else:
            B, perm = pr.product_blocks(ref_node), None
        U, tail = _split_fused(B, pr.r, "left", pr.right_blocks(nxt), None, perm)
        Ut = U[:, :, perm] if perm is not None else U  # U in the stored order of B's blocks
        B64 = B.astype(np.complex128)
        P = np.conj(Ut.swapaxes(-1, -2)).astype(np.complex128) @ B64
        ref_drop += float(np.sum(np.abs(B64 - Ut.astype(np.complex128) @ P) ** 2))
        tol = 1e-12 if dtype == "float64" else 1e-5
        scale = np.abs(ref_node).max()
        assert np.allclose(Us[j], U, atol=tol * 10)
        assert np.allclose(tails[j], tail, rtol=1e-6, atol=tol * scale**2 * 64)
        ref_node = nxt
    assert np.allclose(out, ref_node, atol=(1e-12 if dtype == "float64" else 1e-4) * scale)
    total = float(np.sum(np.abs(node.astype(np.complex128)) ** 2))
    assert math.isclose(energy, total, rel_tol=1e-5)
    assert math.isclose(dropped, ref_drop, rel_tol=1e-9 if dtype == "float64" else 1e-4,
                        abs_tol=(1e-13 if dtype == "float64" else 1e-6) * total)


@pytest.mark.requires_numba
@pytest.mark.parametrize("complex_", [False, True])
def test_error_read_in_the_passes_is_the_error_of_the_factors(complex_):
    """The orthonormalized compiled tree adds up the dropped energies of its passes instead of measuring the
    residual in one more pass over A: the same error as the numpy kernels' measured residual and as
    ``‖A − chain‖``, on exact (DFT, Hadamard: rounding level) and noisy targets, with the bit reversal."""
    N = 512
    pats = dyadic_butterfly(N)
    rng = np.random.default_rng(5)
    exact = np.fft.fft(np.eye(N)) if complex_ else scipy.linalg.hadamard(N).astype(float)
    noisy = random_chain(pats, rng, complex_).to_dense()
    noisy = noisy + 1e-3 * np.linalg.norm(noisy) / N * _draw(rng, (N, N), complex_)
    for A, bitrev in ((exact, complex_), (noisy, False), (noisy, True)):
        comp = factorize(A, pats, bit_reversal=bitrev)
        fused = factorize(A, pats, bit_reversal=bitrev, kernel="numpy")
        assert comp.kernel == "compiled" and fused.kernel == "numpy"
        measured = np.linalg.norm(A - comp.to_dense())
        if A is exact:
            assert comp.rel_error <= 1e-14 and measured <= 1e-14 * np.linalg.norm(A)
        else:
            assert math.isclose(comp.error, fused.error, rel_tol=1e-9)
            assert math.isclose(comp.error, measured, rel_tol=1e-9)
            assert comp.certificate_ratio >= 1.0


@pytest.mark.requires_numba
def test_compiled_eigenpair_on_subnormal_gram_entries():
    """An A around 1e-160 has Gram entries around 1e-320 (subnormal), where 1/max overflows: the scaled norm of
    the closed-form 2×2 eigenpair divides instead (it returned nan, and factorize raised 'A overflows' before the
    rescaling of tiny inputs could run). The compiled orthonormalized tree then agrees with the reference."""
    from wellposed.solvers.butterfly import _numba_kernels

    assert math.isclose(_numba_kernels._norm3(3e-320, 4e-320, 0.0), 5e-320, rel_tol=1e-3)
    assert _numba_kernels._norm3(0.0, -1e-310, 0.0) == 1e-310
    N = 64
    A = np.random.default_rng(9).standard_normal((N, N)) * 1e-160
    pats = dyadic_butterfly(N)
    comp = factorize(A, pats, kernel="compiled")
    ref = factorize(A, pats, kernel="reference")
    assert comp.kernel == "compiled"
    measured = np.linalg.norm(A * 1e160 - comp.to_dense() * 1e160) / np.linalg.norm(A * 1e160)
    assert math.isclose(comp.rel_error, ref.rel_error, rel_tol=1e-9)
    assert math.isclose(comp.rel_error, measured, rel_tol=1e-9)


@pytest.mark.parametrize("kernel", ["auto", "numpy", "reference"])
@pytest.mark.parametrize("scale", [1e-160, 1e-300])
def test_tiny_complex_input_is_rescaled(kernel, scale):
    """A complex A of tiny magnitude goes through the exact power-of-two rescaling like a real one (it raised a
    TypeError from np.ldexp, and the numpy kernel reported 'A overflows' when its eigenvectors met subnormal
    squares): every tree recovers the DFT, the error is that of the factors, and no warning leaks."""
    N = 64
    F = np.fft.fft(np.eye(N))
    A = F * scale
    s = 2.0**900  # measure in a range where nothing underflows (a power of two: exact)
    for order, ortho in (("auto", True), ("auto", False), ("balanced", True), ("right-to-left", False)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = factorize(A, dyadic_butterfly(N), bit_reversal=True, kernel=kernel, order=order,
                            orthonormalize=ortho)
        D = res.to_dense()
        assert D.dtype == np.complex128
        assert np.linalg.norm(D * s - A * s) <= 1e-13 * np.linalg.norm(A * s), (order, ortho)
        assert res.rel_error < 1e-13 and res.error <= 1e-13 * scale * N


@pytest.mark.requires_numba
def test_auto_size_rule():
    """``factorize(kernel='auto')`` runs numpy up to ``AUTO_FACTORIZE_ENTRIES`` entries of A and says so; above,
    the compiled kernels; ``'compiled'`` is never overruled. The choice depends on the sizes only (the rule of
    ``FactorChain.apply`` is tested in test_apply_kernels.py)."""
    from wellposed.solvers.butterfly import compiled

    assert compiled.AUTO_FACTORIZE_ENTRIES == 256 * 256
    for N, ran in ((64, "numpy"), (256, "numpy"), (512, "compiled")):
        H = scipy.linalg.hadamard(N).astype(float)
        res = factorize(H, dyadic_butterfly(N))
        assert res.kernel.split(" ")[0] == ran
        if ran == "numpy":
            assert res.kernel == (f"numpy (auto: entries of A {N * N} <= {compiled.AUTO_FACTORIZE_ENTRIES}, too "
                                  "small for loading the compiled kernels to pay off)")
            assert res.to_json()["kernel"] == res.kernel
        assert factorize(H, dyadic_butterfly(N), kernel="compiled").kernel == "compiled"
        assert factorize(H, dyadic_butterfly(N), kernel="numpy").kernel == "numpy"
    # a non-square chain: the entries of A, m·n
    pats = parse_chain_spec("ks:1,2,2,6;2,2,2,3").patterns
    assert factorize(np.ones((12, 12)), pats).kernel.startswith("numpy (auto: entries of A 144 <=")


def test_numpy_fallback_without_numba(monkeypatch):
    """Without numba the default runs the numpy kernels and says why in ``result.kernel``; asking for the
    compiled kernel names the package to install."""
    import sys

    from wellposed.errors import BackendNotAvailableError

    monkeypatch.setitem(sys.modules, "numba", None)  # numba cannot be imported
    N = 512  # above the size rule of kernel='auto' (smaller problems run numpy whether numba is there or not)
    H = scipy.linalg.hadamard(N).astype(float)
    res = factorize(H, dyadic_butterfly(N))
    assert res.kernel.startswith("numpy (numba is not installed") and "wellposed[fast]" in res.kernel
    assert res.to_json()["kernel"] == res.kernel
    assert res.rel_error < 1e-14
    assert factorize(H, dyadic_butterfly(N), order="balanced").kernel == "reference"
    with pytest.raises(BackendNotAvailableError, match=r"kernel='compiled' needs numba.*kernel='numpy'"):
        factorize(H, dyadic_butterfly(N), kernel="compiled")


@pytest.mark.requires_numba
@given(chainable_chains(max_len=4), st.booleans(), st.booleans(), st.booleans())
@settings(max_examples=40, deadline=None)
def test_compiled_tree_hypothesis(pats, ortho, complex_, bit_rev):
    """Random chainable chains: the compiled kernels give the numpy kernels' errors and lower bounds."""
    rng = np.random.default_rng(9)
    A = random_chain(pats, rng, complex_).to_dense()
    A = A + 0.05 * _draw(rng, A.shape, complex_)
    n = A.shape[1]
    bit_rev = bit_rev and n & (n - 1) == 0
    kw = dict(order="left-to-right", orthonormalize=ortho, bit_reversal=bit_rev)
    comp = factorize(A, pats, kernel="compiled", **kw)
    fused = factorize(A, pats, kernel="numpy", **kw)
    _agree(comp, fused, A)
    assert math.isclose(np.linalg.norm(A - comp.to_dense()), comp.error, rel_tol=1e-6, abs_tol=1e-12)
