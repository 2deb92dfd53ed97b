"""Same input, same verdict: closedness verdicts depend on the pattern and the options, never on the machine.

The engine's budgets are counts (z3 resource units in a fresh context per query, candidates, queries), so a
verdict must come out identical idle, with two CPU-burning processes alongside, in another process, after
other queries (another history), and with a different effort only when the budgets matter. The only
wall-clock limit is the user's ``timeout`` cap, whose verdicts carry their own method.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalogue import load_cases
from wellposed.closedness import decide_closedness
from wellposed.closedness.census import read_records
from wellposed.support import SupportPattern

ROOT = Path(__file__).resolve().parent.parent
CENSUS = ROOT / "cases" / "census" / "closedness-m3n3r3.jsonl"
#: methods whose verdict goes through a budgeted z3 stage (the ones a wall-clock budget used to make flaky)
SOLVER_METHODS = ("certificate:curve-search", "theorem:determinantal", "theorem:full-space",
                  "certificate:lu-obstruction")


def _fields(v) -> dict:
    j = v.to_json()
    return {k: j[k] for k in ("closed", "closed_method", "closed_reason", "certificate")}


def _census_effort() -> float:
    """The effort the published census was run with (its header line)."""
    return float(json.loads(CENSUS.read_text(encoding="utf-8").split("\n", 1)[0])["options"]["effort"])


def _census_sample(per_method: int = 3, max_entries: int = 7) -> list[dict]:
    """A deterministic sample of census records decided through solver-backed stages, small ones first."""
    records = read_records(CENSUS)
    out = []
    for method in SOLVER_METHODS:
        pool = [r for r in records if r["method"] == method and r["m"] * r["n"] <= max_entries]
        pool.sort(key=lambda r: r["key"])
        out += pool[:per_method]
    return out


def _patterns() -> list[tuple[str, SupportPattern]]:
    cases = [(p.name, p) for p in load_cases() if p.m * p.n <= 16]
    census = [(r["key"], SupportPattern(r["x_support"], r["y_support"])) for r in _census_sample()]
    return cases + census


_CHILD = """
import json, sys
from wellposed.closedness import decide_closedness
from wellposed.support import SupportPattern
out = []
effort = float(sys.argv[1])
for name, xs, ys in json.load(sys.stdin):
    j = decide_closedness(SupportPattern(xs, ys), effort=effort).to_json()
    out.append([name, {k: j[k] for k in ("closed", "closed_method", "closed_reason", "certificate")}])
print(json.dumps(out))
"""


def _run_child(items: list[tuple[str, SupportPattern]], effort: float = 1.0) -> dict[str, dict]:
    payload = json.dumps([[n, p.to_json()["x_support"], p.to_json()["y_support"]] for n, p in items])
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(effort)], input=payload, capture_output=True,
                          text=True, cwd=ROOT, timeout=7200, check=True)
    return dict((name, fields) for name, fields in json.loads(proc.stdout))


def test_census_sample_reproduces_the_published_verdicts() -> None:
    """The published census records are what the engine answers now (closed, method, certificate)."""
    effort = _census_effort()
    for rec in _census_sample():
        v = decide_closedness(SupportPattern(rec["x_support"], rec["y_support"]), effort=effort)
        assert (v.closed, v.method) == (rec["closed"], rec["method"]), rec["key"]
        if v.certificate is not None:
            assert v.certificate.to_json() == rec["certificate"], rec["key"]


def test_verdicts_identical_idle_under_load_and_in_another_process() -> None:
    items = _patterns()
    idle = {name: _fields(decide_closedness(p)) for name, p in items}
    # another history: the same patterns in reverse order, in this process
    again = {name: _fields(decide_closedness(p)) for name, p in reversed(items)}
    assert again == idle
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = _run_child(items)
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert json.loads(json.dumps(idle)) == loaded


def test_wall_clock_cap_has_its_own_method() -> None:
    """A verdict stopped by the user's cap says so; it never looks like a deterministic 'undecided'."""
    p = SupportPattern(["011", "101", "111"], ["011", "101", "111"])  # needs the solver-backed stages
    v = decide_closedness(p, timeout=1e-6)
    assert v.closed is None and v.method == "cap:wall-clock" and "timeout" in v.reason


@pytest.mark.slow
def test_whole_census_under_load_matches_the_file() -> None:
    """Every census record (m, n, r ≤ 3) is reproduced with two CPU burners alongside (slow: about an hour)."""
    records = read_records(CENSUS)
    items = [(r["key"], SupportPattern(r["x_support"], r["y_support"])) for r in records]
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        got = _run_child(items, _census_effort())
    finally:
        for b in burners:
            b.kill()
            b.wait()
    for r in records:
        assert (got[r["key"]]["closed"], got[r["key"]]["closed_method"]) == (r["closed"], r["method"]), r["key"]


_Z3_CHILD = """
import json
from wellposed.backends import z3_api
from wellposed.closedness.census import read_records
from wellposed.closedness.certificates import NotClosedCertificate
from wellposed.closedness.verify import proof_region, smtlib_membership_query
from wellposed.formulas.queries import membership_query
from wellposed.support import SupportPattern
rec = next(r for r in read_records("cases/census/closedness-m4n4r3.jsonl") if r["key"] == KEY)
p = SupportPattern(rec["x_support"], rec["y_support"])
cert = NotClosedCertificate.from_json(p, rec["certificate"])
text = smtlib_membership_query(*proof_region(cert))
out = [z3_api.check_smtlib(text, 5_000_000), z3_api.check(membership_query(p, cert.limit.entries), 5_000_000),
       z3_api.check_smtlib(text, 300_000)]
print(json.dumps([[c.answer.value, c.units] for c in out]))
"""


def test_z3_units_are_identical_in_fresh_processes_whatever_the_hash_seed() -> None:
    """The resource units z3 spends on a query are a function of the query: the same in fresh processes with
    different string hashing (``PYTHONHASHSEED``), and a budget cut stops at the budget. (z3's own
    QF_NRA strategy cut its nlsat runs after seconds, so the units varied from run to run: docs/closedness.md
    §7.3.)"""
    import os

    key = "T4x4x3:000.111.111.111|011.100.111.111"  # a published z3-unsat proof of about 10⁶ units
    runs = []
    for seed in ("0", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", _Z3_CHILD.replace("KEY", repr(key))], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=600, check=True)
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1] == runs[2], runs
    (a_answer, a_units), (b_answer, b_units), (c_answer, c_units) = runs[0]
    assert (a_answer, b_answer, c_answer) == ("false", "false", "unknown")
    assert a_units > 500_000 and b_units > 500_000  # a real search, not a trivial refutation
    # the cut check spends exactly its 3·10⁵ units; the count adds the few the SMT core spent on the assertions
    assert 300_000 < c_units < 301_000
