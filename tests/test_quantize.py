"""Tests for t-bit rounding and the exact rank-one quantization search (wellposed.solvers.quantize)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wellposed.solvers.quantize import (
    FloatFormat,
    as_format,
    naive_rank_one,
    quantize_rank_one,
    quantize_rank_one_batch,
    quantize_rank_one_reference,
    rank_one_error,
    round_to_format,
    round_to_format_reference,
)
from wellposed.solvers.quantize.breakpoints import _build_side

from wellposed.errors import InvalidMatrixError, InvalidSpecError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(params=["direct", "lookup"])
def search_path(request, monkeypatch):
    """Run a test with both ways of evaluating ŷ = round(μ y): per candidate, or by breakpoint lookup."""
    from wellposed.solvers.quantize import breakpoints

    monkeypatch.setattr(breakpoints, "_DIRECT_MAX", 1 << 30 if request.param == "direct" else 0)
    return request.param


# ----------------------------------------------------------------------------------------------------------
# helpers: grids and brute force
# ----------------------------------------------------------------------------------------------------------


def unbounded_grid(t: int, emin: int, emax: int) -> np.ndarray:
    """All t-bit floats with binade in [emin, emax], both signs, and 0."""
    mant = np.arange(1 << (t - 1), 1 << t, dtype=float)
    pos = np.concatenate([np.ldexp(mant, e - t + 1) for e in range(emin, emax + 1)])
    return np.concatenate([-pos[::-1], [0.0], pos])


def bounded_grid(fmt: FloatFormat) -> np.ndarray:
    """Every finite value of a bounded format."""
    assert fmt.emin is not None and fmt.emax is not None
    sub = np.ldexp(np.arange(1, 1 << (fmt.t - 1), dtype=float), fmt.emin - fmt.t + 1)
    pos = np.concatenate([sub, unbounded_grid(fmt.t, fmt.emin, fmt.emax)[-(fmt.emax - fmt.emin + 1)
                                                                         * (1 << (fmt.t - 1)):]])
    pos = pos[pos <= fmt.max_finite]
    return np.concatenate([-pos[::-1], [0.0], pos])


def brute_force(x: np.ndarray, y: np.ndarray, grid: np.ndarray, best_response) -> float:
    """min over every x̂ in grid^m of the error with the best response ŷ(x̂)."""
    cands = np.array(list(itertools.product(grid, repeat=x.size)))
    nb = np.sum(cands * cands, axis=1)
    ok = nb > 0
    cands, nb = cands[ok], nb[ok]
    mu = cands @ x / nb
    yh = best_response(mu[:, None] * y[None, :])
    err = rank_one_error(np.broadcast_to(x, cands.shape), np.broadcast_to(y, yh.shape), cands, yh)
    return float(min(np.min(err), np.linalg.norm(x) * np.linalg.norm(y)))


def tiny_cases(seed: int, count: int, max_len: int = 3):
    rng = np.random.default_rng(seed)
    for i in range(count):
        m, n = (int(v) for v in rng.integers(1, max_len + 1, 2))
        if i % 3 == 0:  # small integers: many exact ties between breakpoints
            x = rng.integers(-5, 6, m).astype(float)
            y = rng.integers(-5, 6, n).astype(float)
        else:
            x = rng.uniform(0.3, 3.5, m) * rng.choice([-1, 1], m)
            y = rng.uniform(0.3, 3.5, n) * rng.choice([-1, 1], n)
        if not np.any(x):
            x[0] = 1.0
        if not np.any(y):
            y[0] = -2.0
        yield x, y


# ----------------------------------------------------------------------------------------------------------
# rounding
# ----------------------------------------------------------------------------------------------------------


def _fp16_edge_values() -> np.ndarray:
    h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(float)  # every finite fp16 >= 0
    mids = (h[1:] + h[:-1]) / 2  # exact ties
    top = 65504.0
    extra = [top + 16.0, top + 15.99, top + 16.01, 2.0**-25, 2.0**-25 * 1.0001, 2.0**-24, 1e-30, 1e6]
    vals = np.concatenate([h, mids, np.nextafter(mids, 0), np.nextafter(mids, np.inf), extra])
    return np.concatenate([vals, -vals])


def test_fp16_matches_numpy_float16_on_all_values_and_ties():
    z = np.concatenate([_fp16_edge_values(), np.random.default_rng(0).standard_normal(20000) * 300])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = z.astype(np.float16).astype(float)
    got = round_to_format(z, "fp16")
    assert np.array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_t11_unbounded_matches_float16_in_normal_range():
    z = np.random.default_rng(1).uniform(2.0**-14, 60000.0, 20000)
    assert np.array_equal(round_to_format(z, 11), z.astype(np.float16).astype(float))


def test_fp32_matches_numpy_float32():
    rng = np.random.default_rng(2)
    z = rng.standard_normal(20000) * 10.0 ** rng.integers(-45, 39, 20000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = z.astype(np.float32).astype(float)
    assert np.array_equal(round_to_format(z, "fp32"), expected)


@FAST
@given(
    t=st.integers(1, 12),
    bounds=st.one_of(st.none(), st.tuples(st.integers(-8, 0), st.integers(0, 8))),
    saturate=st.booleans(),
    values=st.lists(st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False), min_size=1, max_size=20),
)
def test_rounding_matches_rational_reference(t, bounds, saturate, values):
    if bounds is None:
        fmt = FloatFormat(t)
    else:
        fmt = FloatFormat(t, bounds[0], bounds[1], overflow="saturate" if saturate else "inf")
    assert np.array_equal(round_to_format(values, fmt), round_to_format_reference(values, fmt))


@FAST
@given(t=st.integers(1, 20), k=st.integers(-30, 30),
       values=st.lists(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-280),
                       min_size=1, max_size=30))
def test_rounding_properties(t, k, values):
    # float64 carries the computation: keep z·2^k out of its subnormal range, where bits are lost

    z = np.array(values)
    r = round_to_format(z, t)
    assert np.array_equal(round_to_format(r, t), r)  # idempotent
    assert np.array_equal(round_to_format(-z, t), -r)  # odd
    assert np.array_equal(round_to_format(np.ldexp(z, k), t), np.ldexp(r, k))  # powers of two commute
    order = np.argsort(z)
    assert np.all(np.diff(r[order]) >= 0)  # monotone
    nz = z != 0
    assert np.all(np.abs(r[nz] - z[nz]) <= math.ldexp(1.0, -t) * np.abs(z[nz]))  # |δ| <= u


def test_format_validation_and_presets():
    assert FloatFormat.preset("bf16").t == 8
    assert FloatFormat.preset("fp8_e4m3").max_finite == 448.0
    assert round_to_format([1000.0], "fp8_e4m3")[0] == 448.0  # saturating preset
    assert as_format(7).t == 7
    for bad in (dict(t=0), dict(t=54), dict(t=True), dict(t=3, emin=-2), dict(t=3, emin=3, emax=1),
                dict(t=3, max_finite=4.0), dict(t=3, emin=-2, emax=2, max_finite=100.0),
                dict(t=3, overflow="wrap")):
        with pytest.raises(InvalidSpecError):
            FloatFormat(**bad)
    with pytest.raises(InvalidSpecError, match="unknown"):
        FloatFormat.preset("fp12")
    with pytest.raises(InvalidSpecError):
        as_format(2.5)
    with pytest.raises(InvalidMatrixError, match="non-finite"):
        round_to_format([np.nan], 3)
    with pytest.raises(InvalidMatrixError, match="dtype"):
        round_to_format(["a"], 3)


# ----------------------------------------------------------------------------------------------------------
# the exact search
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [1, 2, 3, 4])
def test_search_matches_brute_force_unbounded(t, search_path):
    cases = list(tiny_cases(10 + t, 10, max_len=3 if t <= 3 else 2))
    for x, y in cases:
        grid = unbounded_grid(t, -3, 3)
        expected = brute_force(x, y, grid, lambda z: round_to_format(z, t))
        res = quantize_rank_one(x, y, t)
        assert res.certified
        assert math.isclose(res.error, expected, rel_tol=1e-10, abs_tol=1e-12), (x, y, t)
        # the returned pair is feasible and its error is what is reported
        assert np.array_equal(round_to_format(res.x_hat, t), res.x_hat)
        assert np.array_equal(round_to_format(res.y_hat, t), res.y_hat)
        dense = np.linalg.norm(np.outer(x, y) - res.to_dense())
        assert math.isclose(res.error, dense, rel_tol=1e-9, abs_tol=1e-12)
        assert res.error <= res.naive_error * (1 + 1e-12)


@pytest.mark.parametrize("t", [1, 2, 3])
def test_best_response_is_rounding_of_mu_y(t):
    """For fixed x̂, round(μ y) attains the minimum over every ŷ of the grid, ties included."""
    grid = unbounded_grid(t, -5, 5)
    rng = np.random.default_rng(t)
    for i in range(15):
        n = 1 + i % 2
        x = rng.integers(-4, 5, 3).astype(float) if i % 2 else rng.standard_normal(3)
        x_hat = round_to_format(x * rng.uniform(0.5, 2.0), t)
        if not np.any(x_hat):
            continue
        y = rng.integers(-4, 5, n).astype(float) if i % 3 else rng.standard_normal(n)
        mu = x @ x_hat / (x_hat @ x_hat)
        best = rank_one_error(x, y, x_hat, round_to_format(mu * y, t))
        all_y = np.array(list(itertools.product(grid, repeat=n)))
        errs = rank_one_error(np.broadcast_to(x, (len(all_y), 3)), np.broadcast_to(y, all_y.shape),
                              np.broadcast_to(x_hat, (len(all_y), 3)), all_y)
        assert best <= np.min(errs) * (1 + 1e-12) + 1e-15


def test_search_matches_joint_brute_force_without_best_response():
    """Independent of the best-response argument: enumerate x̂ and ŷ jointly (t = 2, m = n = 2)."""
    t = 2
    grid = unbounded_grid(t, -3, 3)
    pairs = np.array(list(itertools.product(grid, repeat=2)))
    for x, y in tiny_cases(5, 8, max_len=2):
        if x.size != 2 or y.size != 2:
            continue
        xs = np.repeat(pairs, len(pairs), axis=0)
        ys = np.tile(pairs, (len(pairs), 1))
        errs = rank_one_error(np.broadcast_to(x, xs.shape), np.broadcast_to(y, ys.shape), xs, ys)
        assert math.isclose(quantize_rank_one(x, y, t).error, float(np.min(errs)), rel_tol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_search_matches_rational_reference(seed, search_path):
    for x, y in tiny_cases(100 + seed, 10):
        t = 1 + seed + (int(abs(x[0]) * 10) % 3)
        _, _, err = quantize_rank_one_reference(x, y, t)
        assert math.isclose(quantize_rank_one(x, y, t).error, float(err), rel_tol=1e-10, abs_tol=1e-12)


def test_nearly_coincident_breakpoints_are_ordered_exactly(search_path):
    """x entries one ulp apart put many breakpoints in the same float: the exact order must survive."""
    f = 1.7  # q/f and q/nextafter(f) round to the same float for some midpoints q (t = 4)
    x = np.array([f, np.nextafter(f, 2), np.nextafter(np.nextafter(f, 2), 2), 1.9, np.nextafter(1.9, 2)])
    y = np.array([1.0, 0.7])
    t = 4
    side = _build_side(x[None, :], t, exact_order=True)
    order = np.argsort(side.pos.reshape(-1))  # event ids in sorted order
    from fractions import Fraction

    half = 1 << (t - 1)
    mids = [(Fraction(half + k) + Fraction(1, 2)) / half for k in range(half)]
    fr = [Fraction(float(v)) for v in side.frac[0]]
    exact = []
    for e in order:
        i, k = divmod(int(e), half)
        idx = (int(np.searchsorted(np.array([float(m) for m in mids]), side.frac[0, i])) + k)
        c = 1 if idx < half else 2
        exact.append(c * mids[idx % half] / fr[i])
    assert all(a <= b for a, b in zip(exact[:-1], exact[1:], strict=True))
    collided = [j for j in range(len(exact) - 1) if side.key[0, j] == side.key[0, j + 1]]
    assert any(exact[j] != exact[j + 1] for j in collided)
    _, _, err = quantize_rank_one_reference(x, y, t)
    assert math.isclose(quantize_rank_one(x, y, t).error, float(err), rel_tol=1e-12)


def test_bounded_format_against_complete_brute_force(search_path):
    fmt = FloatFormat(3, -2, 2, overflow="saturate")
    grid = bounded_grid(fmt)
    assert grid.size == 2 * (3 + 5 * 4) + 1
    rng = np.random.default_rng(7)
    n_cert = n_uncert = 0
    for i in range(24):
        m, n = 1 + i % 3, 1 + (i // 3) % 2
        scale = [1.0, 0.05, 20.0, 1e-3][i % 4]
        x = rng.uniform(0.1, 3.0, m) * rng.choice([-1, 1], m) * scale
        y = rng.uniform(0.1, 3.0, n) * rng.choice([-1, 1], n) * ([1.0, 30.0][i % 2])
        expected = brute_force(x, y, grid, lambda z: round_to_format(z, fmt))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = quantize_rank_one(x, y, fmt)
        assert np.all(np.isin(res.x_hat, grid)) and np.all(np.isin(res.y_hat, grid))
        assert res.error >= expected * (1 - 1e-10) - 1e-15
        assert res.error <= res.naive_error * (1 + 1e-12)
        if res.certified:
            n_cert += 1
            assert math.isclose(res.error, expected, rel_tol=1e-10, abs_tol=1e-15)
        else:
            n_uncert += 1
    assert n_cert >= 8 and n_uncert >= 1


def test_uncertified_bounded_case_warns():
    with pytest.warns(RuntimeWarning, match="exponent range"):
        res = quantize_rank_one([1e-6, 3e4], [1.0, 2e-5], "fp16")
    assert not res.certified
    assert res.error <= res.naive_error


def test_bounded_fp16_certified_equals_unbounded():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(20), rng.standard_normal(30)
    a, b = quantize_rank_one(x, y, "fp16"), quantize_rank_one(x, y, 11)
    assert a.certified and math.isclose(a.error, b.error, rel_tol=1e-12)
    assert np.all(np.abs(a.x_hat) <= 65504) and np.all(np.abs(a.y_hat) <= 65504)


@FAST
@given(
    # squared norms of entries below ~1e-100 times 2^-80 reach float64's subnormal range, where the
    # error identity loses bits: the property is about the mathematics, so stay in the normal range
    x=st.lists(st.floats(-100, 100, allow_nan=False, allow_subnormal=False).filter(lambda v: v == 0 or abs(v) > 1e-100),
               min_size=1, max_size=6),
    y=st.lists(st.floats(-100, 100, allow_nan=False, allow_subnormal=False).filter(lambda v: v == 0 or abs(v) > 1e-100),
               min_size=1, max_size=6),
    k=st.integers(-40, 40),
    t=st.integers(1, 8),
)
def test_scaling_by_powers_of_two_changes_nothing(x, y, k, t):
    x, y = np.array(x), np.array(y)
    base = quantize_rank_one(x, y, t)
    scaled = quantize_rank_one(np.ldexp(x, k), y, t)
    assert scaled.error == pytest.approx(math.ldexp(base.error, k), rel=1e-12, abs=0)
    assert np.array_equal(scaled.x_hat, np.ldexp(base.x_hat, k))
    assert np.array_equal(scaled.y_hat, base.y_hat)
    assert base.error <= base.naive_error * (1 + 1e-12) + 1e-300


@FAST
@given(
    x=st.lists(st.floats(-10, 10, allow_nan=False, allow_subnormal=False), min_size=1, max_size=5),
    y=st.lists(st.floats(-10, 10, allow_nan=False, allow_subnormal=False), min_size=1, max_size=5),
    t=st.integers(1, 6),
    data=st.data(),
)
def test_symmetries(x, y, t, data):
    x, y = np.array(x), np.array(y)
    base = quantize_rank_one(x, y, t).error
    swapped = quantize_rank_one(y, x, t).error
    signs = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=x.size, max_size=x.size)))
    perm = np.array(data.draw(st.permutations(range(y.size))))
    flipped = quantize_rank_one(signs * x, y[perm], t).error
    # the errors agree up to rounding: relative to the error, plus the rounding noise of computing an error of a
    # near-exact product, which is relative to ‖x‖‖y‖ (x = [1.5], y = [4.999999999999998], t = 3 gave 2.66e-15
    # and 2.22e-15 for one and the same product 7.5)
    size = float(np.linalg.norm(x) * np.linalg.norm(y))
    floor = 64 * np.finfo(float).eps * max(size, size * size) + 1e-300
    assert abs(swapped - base) <= 1e-9 * base + floor
    assert abs(flipped - base) <= 1e-9 * base + floor


@pytest.mark.parametrize("x, y, t", [
    ([7.79991160e+000, -3.30538883e+000, 2.33147107e+000, 8.71521574e+000, 9.52608065e-129], [-2.81512188e-160], 5),
    ([-9.72524283e+000, -1.32217551e+000, 7.94823047e-101], [-2.80664742e-157], 5),
    ([1.19649623e-157], [2.24655011e-278, 8.76885491e+000], 1),
])
def test_tiny_terms_are_searched_at_full_precision(x, y, t):
    # ‖x‖‖y‖ near 1e-160: squared entries used to fall into the subnormal range, and x ↔ y gave errors 40 % apart
    x, y = np.array(x), np.array(y)
    base, swapped = quantize_rank_one(x, y, t), quantize_rank_one(y, x, t)
    assert swapped.error == pytest.approx(base.error, rel=1e-9)
    scaled = quantize_rank_one(np.ldexp(x, 400), y, t)  # the same problem at a scale where nothing underflows
    assert scaled.error == pytest.approx(math.ldexp(base.error, 400), rel=1e-12)
    assert np.array_equal(scaled.x_hat, np.ldexp(base.x_hat, 400)) and np.array_equal(scaled.y_hat, base.y_hat)


def test_batch_equals_single_and_handles_zero_rows(search_path):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((9, 3)), rng.standard_normal((9, 4))
    X[2] = 0.0
    Y[5] = 0.0
    X[7, 1] = 0.0
    res = quantize_rank_one_batch(X, Y, 5)
    for p in range(9):
        single = quantize_rank_one(X[p], Y[p], 5)
        assert math.isclose(res.error[p], single.error, rel_tol=1e-12, abs_tol=1e-300)
    assert res.error[2] == 0.0 and res.error[5] == 0.0
    assert np.all(res.x_hat[2] == 0) and np.all(res.y_hat[5] == 0)
    assert res.x_hat[7, 1] == 0.0


def test_large_case_gain_and_consistency():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal(300), rng.standard_normal(200)
    res = quantize_rank_one(x, y, 8)
    assert res.error <= res.naive_error
    dense = np.linalg.norm(np.outer(x, y) - res.to_dense())
    assert math.isclose(res.error, dense, rel_tol=1e-8)
    assert res.candidates == 300 * 128


def test_rank_one_validation():
    with pytest.raises(InvalidMatrixError, match="complex"):
        quantize_rank_one(np.ones(2, dtype=complex), np.ones(2), 3)
    with pytest.raises(InvalidMatrixError, match="vector"):
        quantize_rank_one(np.ones((2, 2)), np.ones(2), 3)
    with pytest.raises(InvalidMatrixError, match="non-finite"):
        quantize_rank_one([1.0, np.inf], [1.0], 3)
    with pytest.raises(InvalidSpecError, match="t <= 24"):
        quantize_rank_one([1.0], [1.0], 30)
    with pytest.raises(InvalidSpecError, match="breakpoints"):
        quantize_rank_one(np.ones(5000), np.ones(5000), 14)
    with pytest.raises(InvalidMatrixError, match="rows"):
        quantize_rank_one_batch(np.ones((2, 2)), np.ones((3, 2)), 3)
    with pytest.raises(InvalidMatrixError, match="shapes"):
        rank_one_error(np.ones(2), np.ones(3), np.ones(3), np.ones(3))
    assert naive_rank_one([1e6], [1.0], "fp16")[2] == math.inf
