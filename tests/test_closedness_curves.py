"""The curve search's exact filters (docs/closedness.md §4.3): a sum of all-ones rectangles in distinct
supports is in P, a nonzero max-flow-bounded minor is outside the closure. Skipping both changes no
certificate the search found before, never makes it fire on a closed class, and lets it reach limits of
four nonzeros on 15-entry unions."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from wellposed.backends.answer import Answer
from wellposed.closedness.budget import BASE, Budget
from wellposed.closedness.certificates import NotClosedCertificate
from wellposed.closedness.curves import curve_search, membership_z3, rectangle_member
from wellposed.support import SupportPattern

CENSUS = Path(__file__).resolve().parent.parent / "cases" / "census" / "closedness-m3n3r3.jsonl"


def _records() -> list[dict]:
    return [r for r in map(json.loads, CENSUS.read_text(encoding="utf-8").splitlines()) if "key" in r]


def test_published_curve_certificates_are_found_again_with_the_same_limit():
    found = 0
    for rec in _records():
        if rec["method"] != "certificate:curve-search":
            continue
        p = SupportPattern(rec["x_support"], rec["y_support"])
        cert = curve_search(p, budget=Budget().started())
        assert cert is not None, rec["key"]
        assert cert.limit == NotClosedCertificate.from_json(p, rec["certificate"]).limit, rec["key"]
        found += 1
    assert found >= 40


def test_the_search_never_fires_on_a_published_closed_class():
    checked = 0
    for t, rec in enumerate(_records()):
        if rec["closed"] is not True or rec["method"] in ("theorem:dto", "theorem:relaxed", "theorem:vector",
                                                          "theorem:trivial") or t % 2:
            continue
        p = SupportPattern(rec["x_support"], rec["y_support"])
        assert curve_search(p, budget=Budget().started(), max_candidates=48) is None, rec["key"]
        checked += 1
    assert checked >= 25


def test_rectangle_members_are_in_p():
    rng = np.random.default_rng(3)
    members = 0
    for _ in range(30):
        p = SupportPattern(rng.random((3, 3)) < 0.6, rng.random((3, 3)) < 0.7)
        cells = [tuple(map(int, c)) for c in np.argwhere(p.union_mask())]
        for chosen in itertools.islice(itertools.combinations(cells, 3), 12):
            if rectangle_member(p, chosen):
                limit = {c: 1 for c in chosen}
                assert membership_z3(p, limit) is Answer.TRUE
                members += 1
    assert members >= 20


def test_a_limit_of_four_nonzeros_beyond_the_old_candidates():
    """Row 0 is written by component 0 alone, which pins y_0; a 4 × 4 × 3 census class that ran every budget
    out before (the 512 candidates of at most three nonzeros of its 15-entry union hold no certificate)."""
    p = SupportPattern(["100", "111", "111", "111"], ["110", "101", "011", "111"])
    cert = curve_search(p, budget=Budget().started())
    assert cert is not None and len(cert.limit.entries) == 4
    assert cert.verify()["proof"] == "z3-unsat"


#: A certificate for the dense 4 × 4 pattern I = [1001; 1111; 1100; 1111], J = [1001; 0111; 1111; 1111]
#: (docs/closedness.md §7.3), found by ``find_curve`` for a limit the filtered 0/1 search proposes.
F2_CERTIFICATE = {
    "limit": [["1", "1", "0", "0"], ["0", "0", "0", "1"], ["1", "1", "0", "0"], ["0", "0", "1", "0"]],
    "x_curve": [{"row": 0, "component": 3, "terms": [[0, "-1"]]}, {"row": 1, "component": 2, "terms": [[1, "-1"]]},
                {"row": 2, "component": 0, "terms": [[0, "-1"]]}, {"row": 2, "component": 1, "terms": [[0, "-1"]]},
                {"row": 3, "component": 0, "terms": [[-1, "-1"]]}, {"row": 3, "component": 1, "terms": [[-1, "-1"]]},
                {"row": 3, "component": 3, "terms": [[-1, "1"]]}],
    "y_curve": [{"row": 0, "component": 0, "terms": [[0, "-1"]]}, {"row": 0, "component": 3, "terms": [[0, "-1"]]},
                {"row": 1, "component": 1, "terms": [[0, "-1"]]}, {"row": 1, "component": 3, "terms": [[0, "-1"]]},
                {"row": 2, "component": 1, "terms": [[1, "-1"]]}, {"row": 3, "component": 2, "terms": [[-1, "-1"]]}],
    "proof": {"kind": "z3-unsat"}, "found_by": "curve-search"}


def test_the_dense_frontier_pattern_is_not_closed():
    p = SupportPattern(["1001", "1111", "1100", "1111"], ["1001", "0111", "1111", "1111"])
    cert = NotClosedCertificate.from_json(p, F2_CERTIFICATE)
    check = cert.verify()
    assert (check["curve"], check["proof"], check["max_blowup"]) == ("ok", "z3-unsat", 1)
    # the proof runs three nlsat stages to their units (2·10⁷ + 5·10⁶ + 5·10⁶) and the fourth answers: the count is
    # exact, the same in every process and on every machine (docs/closedness.md §7.3)
    assert check["z3_units"] == 33_148_830 < BASE["verify_rlimit"]
