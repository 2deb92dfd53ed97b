"""Tests for butterfly-chain quantization and the ``wellposed quantize`` command."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from wellposed.solvers.butterfly import FactorChain, KSFactor
from wellposed.solvers.quantize import (
    FloatFormat,
    pair_supports_disjoint,
    quantize_chain,
    quantize_factors,
    quantize_pair,
    quantize_rank_one,
    round_to_format,
)
from wellposed.solvers.quantize.butterfly import _terms, _untermed_left, _untermed_right

from wellposed.cli import main
from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, dyadic_butterfly


def dyadic(L: int) -> list[KSPattern]:
    return list(dyadic_butterfly(2**L))


def ks(*quads: tuple[int, int, int, int]) -> list[KSPattern]:
    return [KSPattern(*q) for q in quads]


def random_chain(pats, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(p.abcd) for p in pats]


def chain_of(pats, data) -> FactorChain:
    return FactorChain(tuple(KSFactor(p, d) for p, d in zip(pats, data, strict=True)))


def dense(pats, data) -> np.ndarray:
    return chain_of(pats, data).to_dense()


def ks_to_dense(p: KSPattern, data) -> np.ndarray:
    return KSFactor(p, data).to_dense()


def save_chain(path, pats, data) -> None:
    chain_of(pats, data).save(path)


def rel_err(pats, exact, approx):
    p = dense(pats, exact)
    return np.linalg.norm(p - dense(pats, approx)) / np.linalg.norm(p)


CHAINS = [dyadic(2), dyadic(3), dyadic(4), ks((1, 3, 3, 3), (3, 3, 3, 1)), ks((1, 2, 3, 2), (3, 2, 2, 1)),
          ks((2, 3, 2, 1), (1, 2, 3, 2))]


@pytest.mark.parametrize("pats", CHAINS, ids=str)
def test_factor_chain_to_dense_matches_dense_products(pats):
    data = random_chain(pats, 0)
    reference = ks_to_dense(pats[0], data[0])
    for p, d in zip(pats[1:], data[1:], strict=True):
        reference = reference @ ks_to_dense(p, d)
    assert np.allclose(dense(pats, data), reference)


@pytest.mark.parametrize("pats", CHAINS[:5], ids=str)
def test_terms_are_the_rank_one_decomposition(pats):
    left, right = pats[0], pats[1]
    ld, rd = random_chain([left, right], 2)
    X, Y = _terms(left, ld, right, rd)
    assert np.array_equal(_untermed_left(left, X), ld) and np.array_equal(_untermed_right(right, Y), rd)
    dl, dr = ks_to_dense(left, ld), ks_to_dense(right, rd)
    total = sum(np.outer(dl[:, j], dr[j, :]) for j in range(dl.shape[1]))
    assert np.allclose(total, dl @ dr)
    # each term's support is (rows of column j) × (columns of row j); X, Y carry its nonzeros
    for j in range(dl.shape[1]):
        assert np.allclose(np.sort(np.abs(dl[:, j][dl[:, j] != 0])), np.sort(np.abs(X[j][X[j] != 0])))


def test_disjointness_of_rank_one_supports_matches_dense_check():
    for left, right in [(p[0], p[1]) for p in CHAINS] + [ks((1, 2, 2, 1), (1, 2, 2, 1)), ks((2, 2, 2, 1),
                                                                                          (1, 2, 2, 2))]:
        dl = ks_to_dense(left, np.ones(left.abcd)) != 0
        dr = ks_to_dense(right, np.ones(right.abcd)) != 0
        supports = [np.outer(dl[:, j], dr[j, :]) for j in range(dl.shape[1])]
        disjoint = all(not np.any(a & b) for i, a in enumerate(supports) for b in supports[i + 1:])
        assert pair_supports_disjoint(left, right) == disjoint, (left, right)


@pytest.mark.parametrize("pats", [dyadic(2), ks((1, 3, 3, 3), (3, 3, 3, 1)), ks((1, 2, 3, 2), (3, 2, 2, 1))],
                         ids=str)
@pytest.mark.parametrize("t", [2, 4])
def test_disjoint_pair_is_optimal_term_by_term(pats, t):
    """Product error² is the sum of the rank-one errors², each the exact optimum; never worse than rounding."""
    ld, rd = random_chain(pats, 3)
    lq, rq, optimal = quantize_pair(pats[0], ld, pats[1], rd, t)
    assert optimal
    assert np.array_equal(round_to_format(lq, t), lq) and np.array_equal(round_to_format(rq, t), rq)
    X, Y = _terms(pats[0], ld, pats[1], rd)
    term_sq = sum(quantize_rank_one(X[j], Y[j], t).error ** 2 for j in range(X.shape[0]))
    exact = dense(pats, [ld, rd])
    err = np.linalg.norm(exact - dense(pats, [lq, rq]))
    assert math.isclose(err**2, term_sq, rel_tol=1e-9)
    naive = np.linalg.norm(exact - dense(pats, [round_to_format(ld, t), round_to_format(rd, t)]))
    assert err <= naive


def test_identical_supports_pair_is_not_claimed_optimal():
    p = KSPattern(1, 2, 2, 1)
    ld, rd = random_chain([p, p], 4)
    _, _, optimal = quantize_pair(p, ld, p, rd, 3)
    assert not optimal


def test_two_factor_methods_agree_and_are_optimal():
    pats = dyadic(2)
    data = random_chain(pats, 5)
    a = quantize_factors(pats, data, 3, "pairwise")
    b = quantize_factors(pats, data, 3, "l2r")
    assert a.optimal and b.optimal
    assert math.isclose(rel_err(pats, data, a.factors), rel_err(pats, data, b.factors), rel_tol=1e-12)


@pytest.mark.parametrize("L", [3, 4, 5])
def test_heuristics_beat_rounding_on_random_butterflies(L):
    pats = dyadic(L)
    for seed in range(3):
        data = random_chain(pats, 10 + seed)
        naive = rel_err(pats, data, quantize_factors(pats, data, 4, "naive").factors)
        for method in ("pairwise", "l2r"):
            q = quantize_factors(pats, data, 4, method)
            assert not q.optimal and all(q.pair_disjoint)
            assert all(np.array_equal(round_to_format(f, 4), f) for f in q.factors)
            assert rel_err(pats, data, q.factors) < naive


def test_exact_hadamard_factors_quantize_without_error():
    h = np.array([[1.0, 1.0], [1.0, -1.0]])
    pats = dyadic(4)
    data = [np.broadcast_to(h[None, :, :, None], p.abcd).copy() for p in pats]
    for method in ("pairwise", "l2r"):
        q = quantize_factors(pats, data, 1, method)
        assert rel_err(pats, data, q.factors) == 0.0


def test_bounded_format_chain_and_uncertified_warning():
    pats = dyadic(3)
    data = random_chain(pats, 6)
    q = quantize_factors(pats, data, "bf16", "l2r")
    assert rel_err(pats, data, q.factors) < rel_err(pats, data, quantize_factors(pats, data, "bf16",
                                                                                       "naive").factors)
    wild = [d.copy() for d in data]
    wild[0][0, 0, 0, 0] = 1e-7
    wild[0][0, 1, 0, 0] = 3e4
    with pytest.warns(RuntimeWarning, match="exponent range"):
        quantize_factors(pats, wild, "fp16", "pairwise")


@dataclass
class _Factor:
    pattern: KSPattern
    data: np.ndarray


class _Chain:
    def __init__(self, factors):
        self.factors = list(factors)


def test_quantize_chain_duck_typing():
    pats = dyadic(3)
    data = random_chain(pats, 7)
    chain = _Chain([_Factor(p, d) for p, d in zip(pats, data, strict=True)])
    q = quantize_chain(chain, 3, "l2r")
    assert isinstance(q, _Chain) and all(isinstance(f, _Factor) for f in q.factors)
    expected = quantize_factors(pats, data, 3, "l2r").factors
    assert all(np.array_equal(f.data, e) for f, e in zip(q.factors, expected, strict=True))
    pairs = quantize_chain(list(zip(pats, data, strict=True)), 3, "pairwise")
    assert [p for p, _ in pairs] == pats
    with pytest.raises(InvalidChainError):
        quantize_chain(42, 3)


def test_chain_validation():
    pats = dyadic(2)
    data = random_chain(pats, 8)
    with pytest.raises(InvalidChainError, match="chain is not valid at factors 0 and 1"):
        quantize_factors([pats[0], KSPattern(1, 2, 2, 1)], [data[0], np.ones((1, 2, 2, 1))], 3)
    with pytest.raises(InvalidChainError, match=r"patterns\[0\] = \(1, 2, 2, 2\) must be a KSPattern"):
        quantize_factors([(1, 2, 2, 2), (2, 2, 2, 1)], data, 3)  # type: ignore[list-item]
    with pytest.raises(InvalidMatrixError, match="shape"):
        quantize_factors(pats, [data[0], np.ones((2, 2, 2, 2))], 3)
    with pytest.raises(InvalidSpecError, match="method"):
        quantize_factors(pats, data, 3, "best")  # type: ignore[arg-type]
    with pytest.raises(InvalidMatrixError, match="complex"):
        quantize_factors(pats, [data[0] + 1j, data[1]], 3)
    with pytest.raises(InvalidChainError, match="at least one"):
        quantize_factors([], [], 3)
    with pytest.raises(InvalidMatrixError, match="overflows"):
        quantize_factors(ks((1, 1, 1, 1)), [np.full((1, 1, 1, 1), 1e6)], "fp16", "naive")


# ----------------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------------


def test_cli_json_text_and_out(tmp_path, capsys):
    pats = dyadic(3)
    data = random_chain(pats, 9)
    path = tmp_path / "chain.npz"
    save_chain(path, pats, data)
    assert main(["quantize", str(path), "--bits", "4", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["num_factors"] == 3 and rec["t"] == 4 and not rec["optimal"]
    assert rec["relative_error"] < rec["naive_relative_error"]
    out = tmp_path / "q.npz"
    assert main(["quantize", str(path), "--format", "bf16", "--method", "l2r", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "relative error of the product" in text and "heuristic" in text
    q = FactorChain.load(out)
    assert list(q.patterns) == pats and all(np.array_equal(round_to_format(f.data, "bf16"), f.data) for f in q)


def test_cli_two_factor_file_reports_optimal(tmp_path, capsys):
    pats = dyadic(2)
    path = tmp_path / "pair.npz"
    save_chain(path, pats, random_chain(pats, 10))
    assert main(["quantize", str(path), "--bits", "3"]) == 0
    assert "proven optimal" in capsys.readouterr().out


def test_cli_probe_estimate_for_large_products(tmp_path, capsys, monkeypatch):
    import wellposed.cli.quantize as qc

    monkeypatch.setattr(qc, "_DENSE_LIMIT", 4)
    pats = dyadic(3)
    data = random_chain(pats, 11)
    path = tmp_path / "c.npz"
    save_chain(path, pats, data)
    assert main(["quantize", str(path), "--bits", "5", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    exact = rel_err(pats, data, quantize_factors(pats, data, 5, "pairwise").factors)
    assert rec["error_is_estimate"] and math.isclose(rec["relative_error"], exact, rel_tol=0.5)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    path = tmp_path / "c.npz"
    save_chain(path, dyadic(2), random_chain(dyadic(2), 12))
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.ones(2))
    npy = tmp_path / "matrix.npy"
    np.save(npy, np.ones((3, 3)))
    cases = [
        [str(npy), "--bits", "4"],
        [str(tmp_path / "missing.npz"), "--bits", "3"],
        [str(path)],
        [str(path), "--bits", "3", "--format", "fp16"],
        [str(path), "--bits", "0"],
        [str(path), "--bits", "30"],
        [str(path), "--format", "fp12"],
        [str(bad), "--bits", "3"],
    ]
    for args in cases:
        assert main(["quantize", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err


def test_save_load_roundtrip(tmp_path):
    pats = dyadic(3)
    data = random_chain(pats, 13)
    path = tmp_path / "r.npz"
    save_chain(path, pats, data)
    back = FactorChain.load(path)
    assert list(back.patterns) == pats and all(np.array_equal(f.data, b) for f, b in zip(back, data, strict=True))


def test_format_object_accepted_everywhere():
    pats = dyadic(2)
    data = random_chain(pats, 14)
    fmt = FloatFormat(5, -10, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = quantize_factors(pats, data, fmt)
    assert q.optimal and q.fmt is fmt


def test_quantize_chain_on_butterfly_solver_output():
    butterfly = pytest.importorskip("wellposed.solvers.butterfly")
    pats = dyadic_butterfly(16)
    rng = np.random.default_rng(15)
    product = dense(pats, [rng.standard_normal(p.abcd) for p in pats])
    chain = butterfly.factorize(product, pats).chain
    q = quantize_chain(chain, 5, "l2r")
    assert isinstance(q, butterfly.FactorChain)
    arrays = quantize_factors([f.pattern for f in chain.factors], [f.data for f in chain.factors], 5, "l2r")
    assert all(np.array_equal(f.data, a) for f, a in zip(q.factors, arrays.factors, strict=True))
    naive = quantize_factors([f.pattern for f in chain.factors], [f.data for f in chain.factors], 5, "naive")
    exact = chain.to_dense()
    assert np.linalg.norm(q.to_dense() - exact) < np.linalg.norm(
        naive.to_chain().to_dense() - exact)
