"""Optimal FSMF solver: planted solutions, oracle agreement, theorem value, invariances, bad input."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import wellposed.solvers.fsmf as fsmf_module
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from wellposed.solvers.fsmf import fsmf_optimal_value, solve_fsmf
from wellposed.solvers.fsmf_reference import solve_fsmf_reference
from wellposed.solvers.fsmf_result import FSMFResult

from wellposed.classify import classify
from wellposed.errors import (
    CertificateError,
    InvalidMatrixError,
    InvalidSpecError,
    InvalidSupportError,
    NotTractableError,
)
from wellposed.families import family
from wellposed.support import SupportPattern

from .catalogue import case_params
from .planted import planted, relaxed_instances
from .strategies import patterns

TRACTABLE_FAMILIES = ["butterfly:16:2", "butterfly:32:3", "monarch:3", "full:6,5,2", "diag:4",
                      "mcp:110,110,001", "mcp:1100,1100,0011,0011", "ks:2,2,3,1;2,3,2,1"]


def supports_exact(res: FSMFResult, p: SupportPattern) -> bool:
    return bool(np.all(res.X[~p.x_support] == 0.0) and np.all(res.Y[~p.y_support] == 0.0))


def gradient(A, X, Y, p):
    R = X @ Y.T - A
    return 2 * (R @ Y.conj()) * p.x_support, 2 * (R.T @ X.conj()) * p.y_support


# ----------------------------------------------------------------------------------------- planted
@pytest.mark.parametrize("spec", TRACTABLE_FAMILIES)
@pytest.mark.parametrize("complex_", [False, True])
def test_planted_families(spec, complex_):
    p = family(spec)
    rng = np.random.default_rng(len(spec))
    A, noise = planted(p, rng, complex_)
    res = solve_fsmf(A, p)
    assert res.method in ("dto", "relaxed")
    assert res.optimal_value == pytest.approx(noise, rel=1e-9, abs=1e-9)
    assert res.residual == pytest.approx(noise, rel=1e-9, abs=1e-9)
    assert supports_exact(res, p)
    assert res.X.dtype == (np.complex128 if complex_ else np.float64)


@pytest.mark.parametrize("pattern", case_params("tractable"))
def test_planted_catalogue(pattern):
    rng = np.random.default_rng(7)
    A, noise = planted(pattern, rng)
    if not pattern.expected["tractable"]:
        with pytest.raises(NotTractableError):
            solve_fsmf(A, pattern)
        return
    res = solve_fsmf(A, pattern)
    assert res.residual == pytest.approx(noise, abs=1e-9 * (1 + res.a_norm2))
    assert res.off_support == pytest.approx(noise, rel=1e-12, abs=1e-12)
    assert supports_exact(res, pattern)


def test_planted_relaxed_exact_fit():
    for p in relaxed_instances(10, seed=3):
        A, noise = planted(p, np.random.default_rng(1))
        res = solve_fsmf(A, p)
        assert res.method == "relaxed"
        assert res.residual == pytest.approx(noise, abs=1e-9 * (1 + res.a_norm2))


# ----------------------------------------------------------------------------------------- oracle
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patterns(max_m=5, max_n=5, max_r=5), st.integers(0, 2**31 - 1), st.booleans())
def test_matches_plain_loop_reference(p, seed, complex_):
    assume(classify(p).tractable)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p.m, p.n)) + (1j * rng.standard_normal((p.m, p.n)) if complex_ else 0)
    res = solve_fsmf(A, p)
    X, Y, opt = solve_fsmf_reference(A, p)
    scale = 1e-9 * (1 + res.a_norm2)
    assert res.optimal_value == pytest.approx(opt, abs=scale)
    assert res.residual == pytest.approx(opt, abs=scale)
    assert float(np.sum(np.abs(A - X @ Y.T) ** 2)) == pytest.approx(opt, abs=scale)
    assert supports_exact(res, p)
    assert fsmf_optimal_value(A, p) == pytest.approx(opt, abs=scale)
    # with generic data the optimal product is unique on the SVD blocks and exact elsewhere
    assert np.allclose(res.product(), X @ Y.T, atol=1e-7 * (1 + np.sqrt(res.a_norm2)))


def test_batched_matches_reference_on_large_direct_sums():
    parts = relaxed_instances(6, seed=11) + [family("butterfly:16:2"), family("monarch:3")]
    p = parts[0]
    for q in parts[1:] + parts[:3]:  # repeated shapes exercise the batched groups
        p = p.direct_sum(q)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((p.m, p.n))
    res = solve_fsmf(A, p)
    X, Y, opt = solve_fsmf_reference(A, p)
    assert res.method == "relaxed"
    assert res.optimal_value == pytest.approx(opt, rel=1e-10)
    assert np.allclose(res.product(), X @ Y.T, atol=1e-8)


# ----------------------------------------------------------------------------------------- theorem checks
def test_full_support_is_eckart_young():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((9, 7))
    s = np.linalg.svd(A, compute_uv=False)
    for r in range(1, 8):
        res = solve_fsmf(A, family(f"full:9,7,{r}"))
        assert res.optimal_value == pytest.approx(float(np.sum(s[r:] ** 2)), abs=1e-10)
        assert np.linalg.matrix_rank(res.product(), tol=1e-9) == min(r, 7)


def test_diagonal_support_keeps_the_diagonal():
    A = np.arange(16.0).reshape(4, 4)
    res = solve_fsmf(A, family("diag:4"))
    assert np.allclose(res.product(), np.diag(np.diag(A)))
    assert res.optimal_value == pytest.approx(float(np.sum(A**2) - np.sum(np.diag(A) ** 2)))


@pytest.mark.parametrize("spec", ["butterfly:16:2", "mcp:110,110,001", "full:4,3,1"])
def test_stationary_point(spec):
    """A global minimizer is a critical point of L on the free entries."""
    p = family(spec)
    A = np.random.default_rng(5).standard_normal((p.m, p.n))
    res = solve_fsmf(A, p)
    gx, gy = gradient(A, res.X, res.Y, p)
    assert np.abs(gx).max() < 1e-9 and np.abs(gy).max() < 1e-9


def test_relaxed_instances_are_stationary():
    for p in relaxed_instances(15, seed=21):
        A = np.random.default_rng(p.m * 10 + p.r).standard_normal((p.m, p.n))
        res = solve_fsmf(A, p)
        gx, gy = gradient(A, res.X, res.Y, p)
        assert max(np.abs(gx).max(), np.abs(gy).max()) < 1e-9


def test_value_does_not_exceed_random_feasible_points():
    """The certified optimum is a lower bound: no random feasible (X, Y) beats it."""
    rng = np.random.default_rng(9)
    for p in relaxed_instances(5, seed=8):
        A = rng.standard_normal((p.m, p.n))
        opt = solve_fsmf(A, p).optimal_value
        Xs = rng.standard_normal((2000, p.m, p.r)) * p.x_support
        Ys = rng.standard_normal((2000, p.n, p.r)) * p.y_support
        values = np.sum((A - Xs @ np.swapaxes(Ys, 1, 2)) ** 2, axis=(1, 2))
        assert values.min() >= opt - 1e-12


# ----------------------------------------------------------------------------------------- invariances
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patterns(max_m=5, max_n=5, max_r=4), st.randoms(use_true_random=False), st.integers(0, 2**31 - 1))
def test_permutation_and_transpose_invariance(p, rnd, seed):
    assume(classify(p).tractable)
    A = np.random.default_rng(seed).standard_normal((p.m, p.n))
    rp, cp, kp = list(range(p.m)), list(range(p.n)), list(range(p.r))
    rnd.shuffle(rp)
    rnd.shuffle(cp)
    rnd.shuffle(kp)
    base = solve_fsmf(A, p).optimal_value
    permuted = solve_fsmf(A[np.ix_(rp, cp)], p.permute(rp, cp, kp)).optimal_value
    transposed = solve_fsmf(A.T, p.transpose()).optimal_value
    with_empty = solve_fsmf(A, p.add_empty_component()).optimal_value
    tol = 1e-9 * (1 + float(np.sum(A**2)))
    assert permuted == pytest.approx(base, abs=tol)
    assert transposed == pytest.approx(base, abs=tol)
    assert with_empty == pytest.approx(base, abs=tol)


def test_scaling_is_quadratic():
    p = family("mcp:110,110,001")
    A = np.random.default_rng(4).standard_normal((3, 3))
    assert solve_fsmf(3.0 * A, p).optimal_value == pytest.approx(9.0 * solve_fsmf(A, p).optimal_value)


# ----------------------------------------------------------------------------------------- result object
def test_result_object():
    p = family("mcp:1100,1100,0011,0011")
    A = np.random.default_rng(0).standard_normal((4, 4))
    res = solve_fsmf(A, p)
    X, Y = res
    assert X is res.X and Y is res.Y
    assert isinstance(res.X_sparse, sp.csr_array) and isinstance(res.Y_sparse, sp.csr_array)
    assert np.array_equal(res.X_sparse.toarray(), res.X)
    assert np.array_equal(res.Y_sparse.toarray(), res.Y)
    assert res.off_support + sum(b.tail for b in res.blocks) == pytest.approx(res.optimal_value)
    kinds = sorted(b.kind for b in res.blocks)
    assert kinds.count("svd") == 2 and kinds.count("exact") == 4
    info = json.loads(json.dumps(res.to_json()))
    assert info["method"] == "relaxed" and info["num_svd_blocks"] == 2 and info["checked"] is True
    assert info["blocks_listed"] == 6 and {b["kind"] for b in info["blocks"]} == {"svd", "exact"}
    assert 0 < res.relative_error < 1
    assert abs(res.gap) < 1e-12


def test_butterfly_blocks_are_batched(monkeypatch):
    calls = []
    real_svd = np.linalg.svd

    def counting_svd(a, *args, **kwargs):
        calls.append(np.shape(a))
        return real_svd(a, *args, **kwargs)

    monkeypatch.setattr(fsmf_module.np.linalg, "svd", counting_svd)
    p = family("butterfly:64:3")
    res = solve_fsmf(np.random.default_rng(0).standard_normal((64, 64)), p)
    assert len(res.blocks) == 64
    assert calls == [(64, 8, 8)]  # one LAPACK call for the 64 blocks


def test_check_false_skips_product_but_keeps_supports():
    p = family("full:5,4,2")
    A = np.random.default_rng(1).standard_normal((5, 4))
    res = solve_fsmf(A, p, check=False)
    assert not res.checked and res.residual == res.optimal_value
    assert res.optimal_value == pytest.approx(solve_fsmf(A, p).residual)


def test_check_detects_a_wrong_product(monkeypatch):
    monkeypatch.setattr(fsmf_module, "_product", lambda X, Y: X @ Y.T + 1.0)
    with pytest.raises(CertificateError, match="certified optimum"):
        solve_fsmf(np.eye(3), family("full:3,3,1"))


def test_reused_classification():
    p = family("mcp:110,110,001")
    A = np.random.default_rng(3).standard_normal((3, 3))
    cls = classify(p)
    assert solve_fsmf(A, p, classification=cls).optimal_value == pytest.approx(solve_fsmf(A, p).optimal_value)
    assert fsmf_optimal_value(A, p, classification=cls) == pytest.approx(solve_fsmf(A, p).optimal_value)
    with pytest.raises(InvalidSupportError, match="classification was computed for"):
        solve_fsmf(A, family("full:3,3,1"), classification=cls)
    with pytest.raises(InvalidSpecError, match="is not a Classification"):
        solve_fsmf(A, p, classification="dto")


def test_trivial_and_zero_inputs():
    p = SupportPattern(["10", "10"], ["00", "00"])
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    res = solve_fsmf(A, p)
    assert res.optimal_value == pytest.approx(30.0) and res.residual == pytest.approx(30.0)
    assert not res.X.any() and not res.Y.any()
    zero = solve_fsmf(np.zeros((4, 4)), family("monarch:2"))
    assert zero.residual == 0.0 and zero.relative_error == 0.0


def test_integer_and_sparse_inputs():
    p = family("full:3,3,1")
    A = np.arange(9).reshape(3, 3)
    a = solve_fsmf(A, p).optimal_value
    assert solve_fsmf(sp.csr_array(A), p).optimal_value == pytest.approx(a)
    assert solve_fsmf(A.tolist(), p).optimal_value == pytest.approx(a)


# ------------------------------------------------------------------------------- refusals and bad input
def test_not_tractable_refusal_explains_and_points_to_baseline():
    with pytest.raises(NotTractableError, match=r"C2 fails.*fit_fsmf_baseline"):
        solve_fsmf(np.ones((3, 3)), family("lu:3"))
    with pytest.raises(NotTractableError):
        fsmf_optimal_value(np.ones((3, 3)), family("lu:3"))


@pytest.mark.parametrize(
    "A, match",
    [
        (np.array([[1.0, np.nan, 0.0], [0.0, 1.0, 0.0]]), r"1 non-finite entry \(first nan at \(0, 1\)\)"),
        (np.array([[np.inf, -np.inf, 0.0], [0.0, 1.0, 0.0]]), "2 non-finite entries"),
        (np.full((2, 3), 1e300), r"as large as 1e\+300.*overflows float64. Divide A"),
        (np.ones((3, 2)), r"shape \(3, 2\) but the pattern .* needs \(m, n\) = \(2, 3\).*transposed"),
        (np.ones((2, 4)), r"shape \(2, 4\) but"),
        (np.zeros((0, 3)), "is empty"),
        (np.ones(6), "must be a 2-D matrix"),
        (np.ones((2, 3), dtype=bool), "dtype bool"),
        (np.array([["a", "b", "c"], ["d", "e", "f"]]), "real or complex numeric"),
        ([[1, 2, 3], [4, 5]], "could not be read|real or complex"),
    ],
)
def test_bad_matrix(A, match):
    with pytest.raises(InvalidMatrixError, match=match) as info:
        solve_fsmf(A, family("full:2,3,1"))
    assert "A " in str(info.value) or str(info.value).startswith("A")


def test_bad_pattern_and_flag():
    with pytest.raises(InvalidSupportError, match="not a SupportPattern"):
        solve_fsmf(np.ones((2, 2)), "full:2,2,1")
    with pytest.raises(InvalidSpecError, match="check = 'yes'"):
        solve_fsmf(np.ones((2, 2)), family("full:2,2,1"), check="yes")
