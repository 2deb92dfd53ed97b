"""``theorem:free-hyperplane`` (one factor free, every hyperplane spanned; docs/closedness.md §3.10): the teacher
and planted patterns, the constructive half run on random matrices in exact arithmetic, tampered evidence
rejected, invariance under the symmetries, and soundness against the census of m, n, r ≤ 3 and the cheap
not-closed certificates of a sample of the classes with m, n ≤ 4, r ≤ 3."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.closedness import decide_closedness
from wellposed.closedness.census import census_record, enumerate_patterns, verify_record
from wellposed.closedness.theorems import check_free_hyperplanes, closed_by_theorem, free_factor_hyperplanes
from wellposed.support import SupportPattern

from .strategies import patterns

CENSUS = Path(__file__).resolve().parent.parent / "cases" / "census" / "closedness-m3n3r3.jsonl"

#: X free on 3 rows, column supports {1,2,3}, {0,2,3}, {0,1,3}: P is every 3 × 4 matrix (undecided before).
TEACHER = SupportPattern(["111", "111", "111"], ["011", "101", "110", "111"])


def _corank_one(m: int, r: int) -> SupportPattern:
    """X free on m rows; r + 1 columns, column k < r missed by component k only, column r reached by all."""
    y = np.ones((r + 1, r), dtype=bool)
    y[np.arange(r), np.arange(r)] = False
    return SupportPattern(np.ones((m, r), dtype=bool), y)


def _factor(p: SupportPattern, evidence: dict, a: np.ndarray) -> tuple[sympy.Matrix, sympy.Matrix]:
    """Factor ``a`` (on the union, rank ≤ the evidence's rank) by the proof of Theorem H, exactly: a normal c of
    the line space of ``a``, its support Z, the factor of Z's type moved onto Z by a permutation of twin lines,
    scaled by D⁻¹; the free factor solves the linear system."""
    q = p.transpose() if evidence["orientation"] == "as given" else p  # q has X free: rows of A in span(Y)
    lines, comps = evidence["lines"], evidence["components"]
    size = len(lines)
    a_lines = sympy.Matrix(a.T if evidence["orientation"] == "as given" else a)[:, lines]
    if evidence["kind"] == "spanning":
        y = sympy.Matrix(evidence["factor"])
    else:
        normal = a_lines.nullspace()[0]  # rank a ≤ size − 1: some c ≠ 0 with a c = 0
        z = [t for t in range(size) if normal[t] != 0]
        twins = [[lines.index(v) for v in c] for c in evidence["twins"]]
        item = next(h for h in evidence["hyperplanes"]
                    if all(sum(lines.index(v) in c for v in h["z"]) == sum(t in c for t in z) for c in twins))
        z_ev = sorted(lines.index(v) for v in item["z"])
        sigma = {}
        for c in twins:  # inside each class: Z of the evidence onto Z of a, the rest onto the rest
            src = [t for t in c if t in z_ev] + [t for t in c if t not in z_ev]
            dst = [t for t in c if t in z] + [t for t in c if t not in z]
            sigma.update(zip(src, dst, strict=True))
        f = sympy.Matrix(item["factor"])
        y = sympy.zeros(size, len(comps))
        for t in range(size):
            y[sigma[t], :] = f[t, :] / (normal[sigma[t]] if sigma[t] in z else 1)  # D⁻¹ σ F
    for t, k in itertools.product(range(size), range(len(comps))):  # Y on the supports of its live components
        assert y[t, k] == 0 or q.y_support[lines[t], comps[k]]
    rows = []
    for i in range(a_lines.rows):  # the free factor: row i of A = Y x_i, solved exactly (free parameters 0)
        sol, params = y.gauss_jordan_solve(a_lines[i, :].T)
        rows.append(sol.subs({s: 0 for s in params}).T)
    x = sympy.Matrix.vstack(*rows)
    assert x * y.T == a_lines
    return x, y


def test_teacher_is_closed_by_the_rule_and_the_evidence_rechecks() -> None:
    res = free_factor_hyperplanes(TEACHER)
    assert res is not None and res.method == "theorem:free-hyperplane"
    assert res.details["orientation"] == "transposed" and res.details["kind"] == "hyperplanes"
    assert res.details["rank"] == 3 and len(res.details["hyperplanes"]) == 15
    assert check_free_hyperplanes(TEACHER, res.details)
    v = decide_closedness(TEACHER)
    assert v.closed is True and v.method == "theorem:free-hyperplane"


@pytest.mark.parametrize(("m", "r"), [(3, 3), (4, 3), (2, 4), (4, 4), (5, 4)])
def test_planted_corank_one_patterns(m: int, r: int) -> None:
    """P = {rank ≤ min(m, r)} on m × (r + 1): the constructive half factors random matrices of that rank."""
    p = _corank_one(m, r)
    for q, orientation in ((p, "transposed"), (p.transpose(), "as given")):
        res = free_factor_hyperplanes(q)
        assert res is not None and res.details["orientation"] == orientation
        assert res.details["kind"] == "hyperplanes" and res.details["rank"] == min(m, r)
        assert check_free_hyperplanes(q, res.details)
    res, res_t = free_factor_hyperplanes(p), free_factor_hyperplanes(p.transpose())
    assert res is not None and res_t is not None
    rng = np.random.default_rng(m * 10 + r)
    for rank in range(min(m, r) + 1):
        for _ in range(4):
            a = rng.integers(-4, 5, size=(m, rank)) @ rng.integers(-4, 5, size=(rank, r + 1))
            if rank and rng.random() < 0.5:
                a[:, rng.integers(0, r + 1)] = 0  # a zero column: a normal with a small support
            _factor(p, res.details, a)
            _factor(p.transpose(), res_t.details, a.T)  # the same proof with Y free


def test_twin_lines_are_checked_once_per_type() -> None:
    """Columns 0, 1 reached by the same components: 2 · 2 · 3 − 1 types instead of 2⁴ − 1 sets."""
    p = SupportPattern(["111", "111", "111"], ["011", "011", "101", "110"])
    res = free_factor_hyperplanes(p)
    assert res is not None and res.details["kind"] == "hyperplanes" and res.details["twins"][0] == [0, 1]
    assert check_free_hyperplanes(p, res.details)
    assert len(res.details["hyperplanes"]) == 11
    rng = np.random.default_rng(3)
    for rank in (1, 2, 3):
        for _ in range(5):
            a = rng.integers(-3, 4, size=(3, rank)) @ rng.integers(-3, 4, size=(rank, 4))
            _factor(p, res.details, a)


def test_spanning_case() -> None:
    """Columns matched to distinct components: a 0/1 factor of full rank, P is every matrix on the union."""
    p = SupportPattern(["111", "111"], ["110", "011", "101"])
    res = free_factor_hyperplanes(p)
    assert res is not None and res.details["kind"] == "spanning" and res.details["rank"] == 2
    assert check_free_hyperplanes(p, res.details)
    rng = np.random.default_rng(1)
    for _ in range(5):
        _factor(p, res.details, rng.integers(-3, 4, size=(2, 3)))


def test_refuses_patterns_it_cannot_prove() -> None:
    # the planted family with r = 2 (J = [01; 10; 11]): H_{0,1} meets both supports in e_2 only
    assert free_factor_hyperplanes(_corank_one(3, 2)) is None
    # not closed (docs §4.3): X free on 2 rows, J = [10; 01; 11]; H_{0,1} is not spanned
    assert free_factor_hyperplanes(SupportPattern(["11", "11"], ["10", "01", "11"])) is None
    assert free_factor_hyperplanes(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # no free factor
    # rank of Y ≤ n_u − 2: no hyperplane is a span
    assert free_factor_hyperplanes(SupportPattern(["11", "11"], ["10", "10", "10", "01"])) is None


def test_tampered_evidence_is_rejected() -> None:
    res = free_factor_hyperplanes(TEACHER)
    assert res is not None
    ev = res.details
    bad = []
    e = copy.deepcopy(ev)
    e["orientation"] = "as given"
    bad.append(e)
    e = copy.deepcopy(ev)
    e["hyperplanes"].pop()  # a type missing
    bad.append(e)
    e = copy.deepcopy(ev)
    e["hyperplanes"][0]["factor"][3][0] = 5  # off the support J_0 = {1, 2, 3}... column 3 is in J_0: row 0 is not
    e["hyperplanes"][0]["factor"][0][0] = 5
    bad.append(e)
    e = copy.deepcopy(ev)
    e["hyperplanes"][-1]["factor"] = [[0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0]]  # spans, but not H_Z
    bad.append(e)
    e = copy.deepcopy(ev)
    e["hyperplanes"][-1]["factor"][1][0] = True  # not an integer
    bad.append(e)
    e = copy.deepcopy(ev)
    e["rank"] = 4
    bad.append(e)
    e = copy.deepcopy(ev)
    e["kind"] = "spanning"
    e["factor"] = ev["hyperplanes"][0]["factor"]
    bad.append(e)
    e = copy.deepcopy(ev)
    e["hyperplanes"][2]["z"] = [9]
    bad.append(e)
    e = copy.deepcopy(ev)
    del e["lines"]
    bad.append(e)
    for e in bad:
        assert check_free_hyperplanes(TEACHER, e) is False
    assert check_free_hyperplanes(TEACHER.transpose(), ev) is False
    assert check_free_hyperplanes(SupportPattern(["110", "111", "111"], TEACHER.y_support), ev) is False


@settings(max_examples=120, deadline=None)
@given(patterns(max_m=4, max_n=4, max_r=3), st.data())
def test_invariant_under_symmetries(p: SupportPattern, data: st.DataObject) -> None:
    """Fires on p iff on every permutation of rows, columns and components and on the transpose; the evidence
    of each re-checks and reports the same largest rank (the orientation and kind may differ when both factors
    are free)."""
    res = free_factor_hyperplanes(p)
    rp = data.draw(st.permutations(range(p.m)))
    cp = data.draw(st.permutations(range(p.n)))
    kp = data.draw(st.permutations(range(p.r)))
    for q in (p.permute(rp, cp, kp), p.transpose()):
        other = free_factor_hyperplanes(q)
        assert (res is None) == (other is None)
        if other is not None and res is not None:
            assert check_free_hyperplanes(q, other.details)
            assert other.details["rank"] == res.details["rank"]  # the largest rank in P: a property of P
    if res is not None:
        assert check_free_hyperplanes(p, res.details)


def test_never_fires_on_a_census_pattern_that_is_not_closed() -> None:
    fired = 0
    for rec in (json.loads(line) for line in CENSUS.read_text(encoding="utf-8").splitlines()[1:]):
        p = SupportPattern(rec["x_support"], rec["y_support"])
        if p.is_trivial() or free_factor_hyperplanes(p) is None:
            continue
        assert rec["closed"] is True, rec["key"]
        fired += 1
    assert fired >= 50


def test_no_cheap_certificate_where_it_fires_on_a_sample_of_4x4x3() -> None:
    """On every 25th class of m, n ≤ 4, r ≤ 3 where the rule fires on the whole pattern or on a connected part,
    neither the private-minor nor the private block-minor search finds a not-closed certificate."""
    from wellposed.classify import classify
    from wellposed.closedness.budget import Budget
    from wellposed.closedness.pipeline import PartContext, _stage_block_minor, _stage_private_minor

    fired = 0
    for key, p in enumerate_patterns(4, 4, 3):
        if p.is_trivial():
            continue
        parts = [p.restrict(*part) for part in classify(p).parts()]
        hits = [q for q in parts if free_factor_hyperplanes(q) is not None]
        if free_factor_hyperplanes(p) is None and not hits:
            continue
        fired += 1
        if fired % 25:
            continue
        for q in hits or parts:
            ctx = PartContext(q, Budget(1.0).started(), "z3", False, False)
            assert _stage_private_minor(ctx) is None, key
            assert _stage_block_minor(ctx) is None, key
    assert fired >= 1000


def test_census_verify_rechecks_the_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = census_record(TEACHER.canonical_key(transpose=True), TEACHER, use_qe=False)
    assert rec["method"] == "theorem:free-hyperplane"
    assert verify_record(rec, {"effort": 1.0})["status"] == "verified"
    import wellposed.closedness.theorems as theorems

    monkeypatch.setattr(theorems, "check_free_hyperplanes", lambda pattern, evidence: False)
    out = verify_record(rec, {"effort": 1.0})
    assert out["status"] == "refuted" and "does not re-check" in out["detail"]


def test_closed_by_theorem_tries_it_after_free_rank() -> None:
    assert closed_by_theorem(TEACHER).method == "theorem:free-hyperplane"
