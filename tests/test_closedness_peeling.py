"""``theorem:peeling`` (scaled lines and linear slices, docs/closedness.md §3.7): the evidence re-checks
exactly, the constructive proof factors random matrices exactly, the rule never fires on a census pattern
with a not-closed certificate, and it agrees with QE where QE decides."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from wellposed.backends.answer import Answer
from wellposed.closedness import decide_closedness
from wellposed.closedness.peeling import check_peeling, factor_by_peeling, peeling_onto
from wellposed.families import family
from wellposed.support import SupportPattern

CENSUS = Path(__file__).resolve().parent.parent / "cases" / "census" / "closedness-m3n3r3.jsonl"

#: Patterns no earlier stage decided (census m, n, r ≤ 3 and the frontier sample of seed 20261202).
TEACHERS = [
    "001.110.111|011.111.111", "001.111.111|011.100.111", "001.111.111|011.101.110",
    "001.111.111|011.101.111", "011.101.110|011.111.111", "011.101.111|011.111.111",
    "011.101.111|110.111.111", "101.111.110.111|101.111.111", "1111.1011.1111.1111|1111.1011.0111.1111",
    "1111.1101.1111.1010|1011.0111.1111.1111",
]


def _pattern(spec: str) -> SupportPattern:
    rows_i, rows_j = spec.split("|")
    return SupportPattern(rows_i.split("."), rows_j.split("."))


def _census_records() -> list[dict]:
    return [r for r in map(json.loads, CENSUS.read_text(encoding="utf-8").splitlines()) if "key" in r]


def _rule_fires_only_on_closed(rule) -> int:
    """How many non-trivial census records ``rule`` proves closed, asserting each of them is closed."""
    fired = 0
    for rec in _census_records():
        p = SupportPattern(rec["x_support"], rec["y_support"])
        if p.is_trivial() or rule(p) is None:
            continue
        assert rec["closed"] is True, rec["key"]
        fired += 1
    return fired


def _qe_closed_where(fires, max_free: int, enough: int) -> int:
    """z3 QE on the small census patterns (at most ``max_free`` free entries, not closed by the vector/dto
    rules) where ``fires(pattern)`` holds: none may be not closed; the number answered closed (stops at
    ``enough``)."""
    backends = pytest.importorskip("wellposed.backends")
    checked = 0
    for rec in _census_records():
        p = SupportPattern(rec["x_support"], rec["y_support"])
        if p.is_trivial():
            continue
        p = p.drop_empty()
        if p.num_free_entries() > max_free or rec["method"] in ("theorem:vector", "theorem:dto"):
            continue
        if not fires(p):
            continue
        res = backends.decide_by_qe(p, backend="z3")
        assert res.answer is not Answer.NOT_CLOSED, rec["key"]
        checked += res.answer is Answer.CLOSED
        if checked >= enough:
            break
    return checked


def _factors_exactly(p: SupportPattern, evidence: dict, rng: np.random.Generator, count: int) -> None:
    union = p.union_mask()
    for _ in range(count):
        keep = rng.random(union.shape) < rng.uniform(0.2, 1.0)  # zero rows and columns too
        a = rng.integers(-3, 4, size=union.shape) * union * keep
        x, y = factor_by_peeling(p, evidence, a)
        assert not np.any((x != 0) & ~p.x_support) and not np.any((y != 0) & ~p.y_support)
        assert (x.dot(y.T) == a).all(), (p, a)


@pytest.mark.parametrize("spec", TEACHERS)
def test_teachers_are_the_whole_space(spec: str) -> None:
    p = _pattern(spec)
    evidence = peeling_onto(p)
    assert evidence is not None and check_peeling(p, evidence)
    _factors_exactly(p, evidence, np.random.default_rng(7), 60)
    v = decide_closedness(p, use_qe=False)
    assert v.closed is True and v.method in ("theorem:peeling", "theorem:full-space")


def test_not_closed_and_not_full_patterns_are_refused() -> None:
    assert peeling_onto(family("lu:3")) is None  # not closed
    assert peeling_onto(SupportPattern(["10", "11"], ["10", "11"])) is None  # LU 2×2
    # closed but not the whole space: rank ≤ 2 matrices of size 3 × 3
    assert peeling_onto(family("full:3,3,2")) is None
    # I = J = [011; 101; 111]: P is probably the whole space, but no scaled slice reaches it (§3.7)
    assert peeling_onto(_pattern("011.101.111|011.101.111")) is None


def test_tampered_evidence_is_rejected() -> None:
    p = _pattern("001.110.111|011.111.111")
    evidence = peeling_onto(p)
    assert evidence is not None and check_peeling(p, evidence)
    missing = copy.deepcopy(evidence)
    missing["branches"].pop()
    assert not check_peeling(p, missing)
    wrong_row = copy.deepcopy(evidence)
    wrong_row["row"] = 5
    assert not check_peeling(p, wrong_row)
    bad_k = copy.deepcopy(evidence)
    leaf = bad_k["branches"][0]["leaves"][0]
    leaf["k"] = 0  # component 0 does not reach row 0
    assert not check_peeling(p, bad_k)
    zeroed = copy.deepcopy(evidence)
    for b in zeroed["branches"]:
        for leaf in b["leaves"]:
            leaf["fixed_x"] = [[0] * p.r for _ in range(p.m)]
            leaf["fixed_y"] = [[0] * p.r for _ in range(p.n)]
            leaf["sides"] = ["vary Y"] * p.r
            leaf["k"] = leaf["l"] = None
    assert not check_peeling(p, zeroed)
    assert not check_peeling(p, {})
    assert not check_peeling(p, {"orientation": "as given", "row": 0, "branches": "nonsense"})
    transposed = copy.deepcopy(evidence)
    transposed["orientation"] = "transposed"
    assert not check_peeling(p, transposed)
    # malformed values give False, not an exception; a negative component index (an alias) is refused
    huge = copy.deepcopy(evidence)
    huge["branches"][0]["leaves"][0]["fixed_x"][0][0] = 2**70
    assert not check_peeling(p, huge)
    peeled = next(leaf for b in evidence["branches"] for leaf in b["leaves"] if leaf["k"] is not None)
    aliased = copy.deepcopy(evidence)
    for b in aliased["branches"]:
        for leaf in b["leaves"]:
            if leaf == peeled:
                leaf["k"] -= p.r
    assert not check_peeling(p, aliased)


def test_factor_by_peeling_refuses_matrices_off_the_union() -> None:
    q = SupportPattern(["001", "111", "111"], ["011", "111", "111"])
    evidence = peeling_onto(q)
    assert evidence is not None
    with pytest.raises(ValueError, match="shape"):
        factor_by_peeling(q, evidence, np.zeros((2, 2), dtype=int))
    off = SupportPattern(["001", "111", "111", "000"], ["011", "111", "111"])  # row 3 is off the union
    evidence = peeling_onto(off)
    assert evidence is not None and check_peeling(off, evidence)
    _factors_exactly(off, evidence, np.random.default_rng(3), 10)
    a = np.zeros((4, 3), dtype=int)
    a[3, 0] = 1
    with pytest.raises(ValueError, match="union"):
        factor_by_peeling(off, evidence, a)


def test_never_fires_on_a_census_pattern_with_a_certificate() -> None:
    """Every census record with a not-closed certificate is refused; on the records the rule proves,
    the evidence re-checks exactly and (for the patterns that needed more than the polynomial rules) the
    constructive proof factors random matrices exactly."""
    rng = np.random.default_rng(20261202)
    proved = constructive = 0
    for rec in _census_records():
        p = SupportPattern(rec["x_support"], rec["y_support"])
        if p.is_trivial():
            continue
        evidence = peeling_onto(p)
        if evidence is None:
            continue
        assert rec["closed"] is not False, rec["key"]
        assert check_peeling(p, evidence), rec["key"]
        proved += 1
        if rec["method"] not in ("theorem:dto", "theorem:relaxed", "theorem:vector"):
            _factors_exactly(p, evidence, rng, 5)
            constructive += 1
    assert proved >= 600 and constructive >= 40


def test_agrees_with_qe_on_small_patterns() -> None:
    assert _qe_closed_where(lambda p: peeling_onto(p) is not None, max_free=12, enough=8) >= 3


# ---------------------------------------------------------------- theorem:laminar (§3.8)


def test_laminar_rule_on_a_tree_and_on_crossing_supports() -> None:
    from wellposed.closedness.theorems import laminar_free_factor

    tree = SupportPattern(["110", "110", "101", "100"], ["111", "111"])  # Y free: {0,1,2,3} ⊃ {0,1}, {2}
    res = laminar_free_factor(tree)
    assert res is not None and res.details["parent"] == [None, 0, 0]
    assert laminar_free_factor(tree.transpose()).details["orientation"] == "transposed"
    assert laminar_free_factor(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # not closed (§3.5)
    assert laminar_free_factor(SupportPattern(["10", "11"], ["10", "11"])) is None  # LU: no free factor


def test_laminar_rule_never_fires_on_a_census_pattern_with_a_certificate() -> None:
    from wellposed.closedness.theorems import laminar_free_factor

    assert _rule_fires_only_on_closed(laminar_free_factor) >= 200


def test_laminar_rule_agrees_with_qe_on_small_patterns() -> None:
    from wellposed.closedness.theorems import laminar_free_factor, nested_free_factor

    def fires(p: SupportPattern) -> bool:  # laminar beyond the chains the Schubert rule already covers
        return laminar_free_factor(p) is not None and nested_free_factor(p) is None

    assert _qe_closed_where(fires, max_free=14, enough=6) >= 2


# ---------------------------------------------------------------- theorem:free-rank (§3.9)


def test_free_rank_rule_constructive_half() -> None:
    """The greedy basis of the proof, run on random matrices of every rank ≤ ρ (exact rationals)."""
    import sympy

    from wellposed.closedness.theorems import free_factor_rank

    p = SupportPattern(["111", "111", "111"], ["101", "101", "011", "111"])  # X free; J supports cross
    res = free_factor_rank(p)
    assert res is not None and res.details["orientation"] == "transposed" and res.details["rank"] == 3
    q = p.transpose()  # Y free there; the row supports of q are the column supports of p
    supports = [np.flatnonzero(q.x_support[:, k]).tolist() for k in range(q.r)]
    order = sorted(range(q.r), key=lambda k: len(supports[k]))
    rng = np.random.default_rng(5)
    for d in (1, 2, 3):
        for _ in range(5):
            a = sympy.Matrix(rng.integers(-3, 4, size=(4, d)) @ rng.integers(-3, 4, size=(d, 3)))
            w = sympy.Matrix.hstack(*a.columnspace())
            chosen: list[sympy.Matrix] = []
            for k in order[q.r - w.shape[1]:]:  # the largest supports, smallest first
                off = [i for i in range(4) if i not in supports[k]]
                inside = [w * v for v in (w[off, :].nullspace() if off else sympy.eye(w.shape[1]).columnspace())]
                pick = next(c for c in inside if sympy.Matrix.hstack(*chosen, c).rank() == len(chosen) + 1)
                assert all(pick[i] == 0 for i in off)
                chosen.append(pick)
            basis = sympy.Matrix.hstack(*chosen)
            assert basis.rank() == w.shape[1]
            coeffs = basis.solve_least_squares(a)
            assert basis * coeffs == a  # A = X Yᵀ with X = the chosen vectors, Y = coeffsᵀ (free)


def test_free_rank_rule_never_fires_on_a_census_pattern_with_a_certificate() -> None:
    from wellposed.closedness.theorems import free_factor_rank

    assert _rule_fires_only_on_closed(free_factor_rank) >= 100


def test_free_rank_rule_agrees_with_qe_on_small_patterns() -> None:
    from wellposed.closedness.theorems import free_factor_rank

    assert _qe_closed_where(lambda p: free_factor_rank(p) is not None, max_free=14, enough=6) >= 2
