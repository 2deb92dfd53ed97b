"""Free lines (docs/closedness.md §3.11): rows or columns written by some components alone split P as
ℝ^lines × P_rest. The evidence re-checks exactly, the reduction agrees with every published census verdict
(P closed iff P_rest closed), planted free lines are found, and a certificate of P_rest lifts to P."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

from wellposed.backends.answer import Answer
from wellposed.closedness import decide_closedness
from wellposed.closedness.budget import Budget
from wellposed.closedness.freelines import check_free_lines, check_full_space, find_free_lines, full_space_evidence
from wellposed.closedness.pipeline import PartContext, _stage_free_lines
from wellposed.support import SupportPattern

CENSUS = Path(__file__).resolve().parent.parent / "cases" / "census" / "closedness-m3n3r3.jsonl"


def _records() -> list[dict]:
    return [r for r in map(json.loads, CENSUS.read_text(encoding="utf-8").splitlines()) if "key" in r]


def test_reduction_agrees_with_every_census_verdict_it_touches():
    """Where the rule fires on a census class of the polynomial-rule-free kind (and on every 7th other),
    the published verdict of P equals the published verdict of P_rest (or closed when P_rest is empty)."""
    recs = _records()
    by_key = {r["key"]: r for r in recs}
    fired = closed = not_closed = 0
    for t, rec in enumerate(recs):
        if rec["method"] in ("theorem:dto", "theorem:relaxed", "theorem:vector", "theorem:trivial") and t % 7:
            continue
        p = SupportPattern(rec["x_support"], rec["y_support"])
        ev = find_free_lines(p)
        if ev is None:
            continue
        fired += 1
        assert check_free_lines(p, ev), rec["key"]
        rest = ev["rest"]
        if not rest["rows"] or not rest["cols"]:
            want = True
        else:
            q = p.restrict(rest["rows"], rest["cols"], rest["components"])
            want = by_key[q.canonical_key(transpose=True)]["closed"]
        if rec["closed"] is not None and want is not None:
            assert rec["closed"] == want, rec["key"]
            closed += want is True
            not_closed += want is False
    assert fired >= 100 and closed >= 50 and not_closed >= 20, (fired, closed, not_closed)


def _planted(rng: np.random.Generator, m: int, n: int, r: int) -> tuple[SupportPattern, SupportPattern]:
    """A random pattern Q (m × n, r components) and Q with one more row written by a new component alone."""
    while True:
        x = rng.random((m, r)) < 0.6
        y = rng.random((n, r)) < 0.6
        q = SupportPattern(x, y)
        if q.union_mask().all():
            break
    extra_x = rng.random(r) < 0.5  # old components also reaching the new row
    x2 = np.vstack([np.hstack([x, np.zeros((m, 1), dtype=bool)]), np.append(extra_x, True)[None, :]])
    y2 = np.hstack([y, np.ones((n, 1), dtype=bool)])  # the new component reaches every column
    return q, SupportPattern(x2, y2)


def test_planted_free_rows_are_found_and_reduce_to_the_planted_rest():
    rng = np.random.default_rng(7)
    for _ in range(40):
        q, p = _planted(rng, int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(1, 4)))
        ev = find_free_lines(p)
        assert ev is not None and check_free_lines(p, ev)
        assert (ev["orientation"], ev["full"]["rule"]) in {("rows", "vector"), ("columns", "vector")} or len(
            ev["components"]) >= 1
    # the verdict of the planted pattern is the verdict of Q (polynomial stages only: no solver)
    for _ in range(20):
        q, p = _planted(rng, 3, 3, 2)
        vq = decide_closedness(q, search=False, use_qe=False)
        vp = decide_closedness(p, search=False, use_qe=False)
        if vq.answer.decided and vp.answer.decided:
            assert vq.closed == vp.closed


def test_a_certificate_of_the_rest_lifts_to_the_whole_pattern():
    # LU 2×2 on rows 0, 1 plus row 2 written by component 2 alone (component 0 reaches it too)
    p = SupportPattern(["100", "110", "101"], ["101", "111"])
    ev = find_free_lines(p)
    assert ev is not None and ev["lines"] == [2] and ev["rest"]["components"] == [0, 1]
    verdict = _stage_free_lines(PartContext(p, Budget().started(), "z3", False, True))
    assert verdict is not None and verdict.answer is Answer.NOT_CLOSED
    assert verdict.certificate is not None and verdict.certificate.pattern == p
    assert verdict.certificate.verify()["curve"] == "ok"
    assert verdict.method == f"certificate:{verdict.certificate.found_by}"


def test_closed_teachers_of_the_4x4x3_census_are_decided_by_the_reduction():
    """Classes of the 4 × 4 × 3 census left undecided by the earlier engine (each ran its z3 budgets out)."""
    for x, y, rule in ((["000", "110", "111", "111"], ["001", "101", "101", "011"], "vector"),
                       (["100", "100", "011", "111"], ["110", "011", "011", "111"], "free-rank"),
                       (["100", "110", "110", "011"], ["011", "011", "111", "111"], "vector")):
        p = SupportPattern(x, y)
        v = decide_closedness(p, use_qe=False)
        assert v.closed is True and v.method == "theorem:free-lines", v.reason
        assert find_free_lines(p)["full"]["rule"] == rule


def test_tampered_evidence_is_refused():
    p = SupportPattern(["100", "100", "011", "111"], ["110", "011", "011", "111"])
    ev = find_free_lines(p)
    assert check_free_lines(p, ev)
    for edit in (lambda e: e.update(orientation="diagonal"), lambda e: e.update(components=[0]),
                 lambda e: e["rest"].update(rows=[0]), lambda e: e["full"].update(rule="vector"),
                 lambda e: e.update(lines=[2])):
        bad = copy.deepcopy(ev)
        edit(bad)
        assert not check_free_lines(p, bad)
    # a rank-one 2 × 2 block is not the whole space, whatever the evidence says
    assert full_space_evidence(SupportPattern(["1", "1"], ["1", "1"])) is None
    assert not check_full_space(SupportPattern(["1", "1"], ["1", "1"]), {"rule": "vector"})


def test_nested_free_lines_evidence_of_a_whole_space_rechecks():
    """Row 0 written by component 0 alone, then row 1 by component 1: the whole 2 × 3 space, by free lines
    inside free lines (built by hand here; the search tries that rule after the others)."""
    sub = SupportPattern(["11", "01"], ["11", "11", "11"])
    inner = find_free_lines(sub)
    assert inner is not None and check_free_lines(sub, inner)
    rest = inner["rest"]
    rest_sub = sub.restrict(rest["rows"], rest["cols"], rest["components"])
    evidence = {"rule": "free-lines", "lines": inner, "rest_full": full_space_evidence(rest_sub)}
    assert check_full_space(sub, evidence)
    assert not check_full_space(sub, {**evidence, "rest_full": {"rule": "peeling"}})  # malformed proof
    assert not check_full_space(sub, {**evidence, "lines": {**inner, "components": [1]}})
    assert not check_full_space(SupportPattern(["1", "1"], ["1", "1"]), evidence)
