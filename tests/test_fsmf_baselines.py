"""Baselines (ALS, L-BFGS) and the cross-check of the optimal solver against them.

The relaxed condition C1+C2 is a derived result: here many restarts of two local methods, and a
dense random search, try to find a feasible point below the value the solver certifies.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from wellposed.solvers.baselines import (
    BASELINE_METHODS,
    _lbfgs,
    fit_fsmf_baseline,
    masked_least_squares,
    masked_least_squares_reference,
)
from wellposed.solvers.fsmf import solve_fsmf

from wellposed.classify import classify
from wellposed.errors import InvalidMatrixError, InvalidSpecError
from wellposed.families import family

from .planted import planted, relaxed_instances
from .strategies import patterns


@st.composite
def ls_problems(draw):
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, 7))
    r = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    complex_ = draw(st.booleans())
    mask = np.array(draw(st.lists(st.booleans(), min_size=m * r, max_size=m * r))).reshape(m, r)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    Y = rng.standard_normal((n, r))
    if complex_:
        A = A + 1j * rng.standard_normal((m, n))
        Y = Y + 1j * rng.standard_normal((n, r))
    zero_cols = draw(st.lists(st.integers(0, r - 1), max_size=2))
    Y[:, zero_cols] = 0  # rank-deficient designs: the minimum-norm solution puts 0 there
    return A, Y, mask


@settings(max_examples=150, deadline=None)
@given(ls_problems())
def test_masked_least_squares_matches_loop_reference(problem):
    A, Y, mask = problem
    X = masked_least_squares(A, Y, mask)
    ref = masked_least_squares_reference(A, Y, mask)
    assert np.all(X[~mask] == 0)
    assert np.allclose(X, ref, atol=1e-8)


# ----------------------------------------------------------------------------------------- baseline basics
@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_baseline_result_fields_and_supports(method):
    p = family("lu:3")  # not tractable: the baseline is the only solver here
    A, _ = planted(p, np.random.default_rng(0))
    res = fit_fsmf_baseline(A, p, method=method, restarts=3, seed=1)
    assert len(res.values) == len(res.iterations) == len(res.converged) == 3
    assert res.residual == min(res.values) == res.values[res.best_restart]
    assert res.residual == pytest.approx(float(np.sum((A - res.X @ res.Y.T) ** 2)))
    assert np.all(res.X[~p.x_support] == 0.0) and np.all(res.Y[~p.y_support] == 0.0)
    if method == "lbfgs":
        assert res.residual < 1e-8  # a generic LU product is recovered
    else:  # ALS crawls on LU (a swamp near the non-closed boundary) but still makes progress
        assert res.residual < 1e-2 * float(np.sum(A**2))
    X, Y = res
    assert X is res.X and Y is res.Y
    assert res.to_json()["method"] == method


@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_baseline_is_reproducible(method):
    p = family("full:4,4,2")
    A = np.random.default_rng(3).standard_normal((4, 4))
    a = fit_fsmf_baseline(A, p, method=method, restarts=2, seed=5, max_iter=20)
    b = fit_fsmf_baseline(A, p, method=method, restarts=2, seed=5, max_iter=20)
    assert a.values == b.values and np.array_equal(a.X, b.X)


@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_baseline_complex_reaches_eckart_young(method):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 4)) + 1j * rng.standard_normal((5, 4))
    p = family("full:5,4,2")
    res = fit_fsmf_baseline(A, p, method=method, restarts=2)
    s = np.linalg.svd(A, compute_uv=False)
    assert res.X.dtype == np.complex128
    assert res.residual == pytest.approx(float(np.sum(s[2:] ** 2)), rel=1e-6)


def test_baseline_zero_matrix():
    res = fit_fsmf_baseline(np.zeros((3, 3)), family("lu:3"), restarts=2)
    assert res.residual == 0.0 and not res.X.any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "sgd"}, r"method = 'sgd' is not a baseline; choose one of 'als', 'lbfgs'"),
        ({"restarts": 0}, "restarts = 0 must be an integer from 1 to"),
        ({"restarts": 2.5}, "restarts = 2.5"),
        ({"seed": -1}, "seed = -1 must be an integer ≥ 0"),
        ({"max_iter": 0}, "max_iter = 0"),
        ({"tol": 2.0}, r"tol = 2.0 must be a finite number in \[0, 1\)"),
    ],
)
def test_baseline_bad_parameters(kwargs, match):
    with pytest.raises(InvalidSpecError, match=match):
        fit_fsmf_baseline(np.ones((2, 2)), family("lu:2"), **kwargs)


def test_baseline_bad_matrix():
    with pytest.raises(InvalidMatrixError, match="non-finite"):
        fit_fsmf_baseline(np.array([[np.nan, 1.0], [1.0, 1.0]]), family("lu:2"))


# ----------------------------------------------------------------------------------------- solver vs baseline
def _assert_not_beaten(A, p, restarts, max_iter=300):
    opt = solve_fsmf(A, p)
    scale = 1e-9 * (1 + opt.a_norm2)
    for method in BASELINE_METHODS:
        base = fit_fsmf_baseline(A, p, method=method, restarts=restarts, seed=p.m + p.n, max_iter=max_iter)
        assert opt.residual <= base.residual + scale, (method, p.x_support, p.y_support, A)
        assert min(base.values) >= opt.optimal_value - scale
    return opt


@pytest.mark.parametrize("spec", ["butterfly:16:2", "monarch:3", "full:8,6,3", "mcp:1100,1100,0011,0011"])
def test_solver_beats_or_equals_baselines_on_families(spec):
    p = family(spec)
    A = np.random.default_rng(2).standard_normal((p.m, p.n))
    opt = _assert_not_beaten(A, p, restarts=2)
    best = fit_fsmf_baseline(A, p, method="lbfgs", restarts=2).residual
    assert best == pytest.approx(opt.optimal_value, rel=1e-5)  # no spurious minima: local search gets there


@pytest.mark.parametrize("count, restarts", [(12, 4), pytest.param(60, 12, marks=pytest.mark.slow)])
def test_relaxed_theorem_against_many_restarts(count, restarts):
    """Derived theorem check: random relaxed instances, restarts of ALS and of L-BFGS on each."""
    for k, p in enumerate(relaxed_instances(count, seed=2024)):
        A = np.random.default_rng(k).standard_normal((p.m, p.n))
        _assert_not_beaten(A, p, restarts=restarts, max_iter=200)


@pytest.mark.parametrize("count, restarts", [(4, 12), pytest.param(20, 60, marks=pytest.mark.slow)])
def test_relaxed_theorem_tiny_instances_dense_search(count, restarts):
    """On tiny relaxed instances, many L-BFGS restarts plus 20000 random points never beat the optimum."""
    rng = np.random.default_rng(77)
    for p in relaxed_instances(count, seed=99, max_dim=3):
        A = rng.standard_normal((p.m, p.n))
        opt = solve_fsmf(A, p).optimal_value
        base = fit_fsmf_baseline(A, p, method="lbfgs", restarts=restarts, seed=1, max_iter=150)
        assert min(base.values) >= opt - 1e-10
        Xs = rng.standard_normal((20000, p.m, p.r)) * 2 * p.x_support
        Ys = rng.standard_normal((20000, p.n, p.r)) * 2 * p.y_support
        assert np.sum((A - Xs @ np.swapaxes(Ys, 1, 2)) ** 2, axis=(1, 2)).min() >= opt - 1e-12


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patterns(max_m=4, max_n=4, max_r=4), st.integers(0, 2**31 - 1))
def test_solver_beats_or_equals_baselines_hypothesis(p, seed):
    assume(classify(p).tractable)
    A = np.random.default_rng(seed).standard_normal((p.m, p.n))
    _assert_not_beaten(A, p, restarts=3, max_iter=150)


def test_baseline_from_optimum_stays_there():
    """Local search started near the certified optimum cannot go below it (second-order sanity)."""
    for p in relaxed_instances(5, seed=5):
        A = np.random.default_rng(1).standard_normal((p.m, p.n))
        opt = solve_fsmf(A, p)
        rng = np.random.default_rng(2)
        for _ in range(5):
            X0 = (opt.X + 1e-3 * rng.standard_normal(opt.X.shape)) * p.x_support
            Y0 = (opt.Y + 1e-3 * rng.standard_normal(opt.Y.shape)) * p.y_support
            X, Y, _, _ = _lbfgs(A, X0, Y0, p.x_support, p.y_support, 200, 1e-14)
            assert float(np.sum((A - X @ Y.T) ** 2)) >= opt.optimal_value - 1e-10

