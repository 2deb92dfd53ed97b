"""Tests of the exact ordered queries (wellposed.formulas.queries) and of their z3 translation (backends.z3_api).

The z3 terms a query becomes are pinned by golden files: the engine's counted budgets (z3 resource units)
follow those terms, down to their order, so a change here can change verdicts. Regenerate deliberately with
``WELLPOSED_UPDATE_GOLDEN=1 pytest tests/test_formulas_queries.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.backends import z3_api
from wellposed.backends.answer import Answer
from wellposed.closedness.determinantal import rank_conditions
from wellposed.closedness.verify import smtlib_membership_query
from wellposed.families import family
from wellposed.formulas.queries import (
    FALSE,
    Query,
    curve_query,
    determinantal_query,
    membership_query,
    product_terms,
)
from wellposed.support import SupportPattern

GOLDEN = Path(__file__).parent / "golden" / "formulas"
ONE = Fraction(1)
LU2_LIMIT = {(0, 1): ONE, (1, 0): ONE}
TRIANGLE = SupportPattern(["100", "110", "111"], ["110", "001", "111"])


def _queries() -> dict[str, Query]:
    full221 = family("full:2,2,1")
    return {
        "query_membership_lu2": membership_query(family("lu:2"), LU2_LIMIT),
        "query_membership_rational": membership_query(family("lu:2"), {(0, 0): Fraction(1, 3), (1, 1): Fraction(-2)}),
        "query_curve_lu2": curve_query(family("lu:2"), LU2_LIMIT),
        "query_determinantal_full221": determinantal_query(full221, rank_conditions(full221)),
        "query_determinantal_triangle": determinantal_query(TRIANGLE, rank_conditions(TRIANGLE)),
        "query_full_space_full221": determinantal_query(full221, None),
    }


@pytest.mark.parametrize("name", sorted(_queries()))
def test_z3_terms_match_golden_file(name: str) -> None:
    text = z3_api.to_smt2(_queries()[name])
    path = GOLDEN / f"{name}.smt2"
    if os.environ.get("WELLPOSED_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with WELLPOSED_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8")


def test_product_terms_match_a_plain_loop() -> None:
    p = family("random:5,4,3,0.5,7")
    expected = {(i, j): [k for k in range(p.r) if p.x_support[i, k] and p.y_support[j, k]]
                for i in range(p.m) for j in range(p.n)}
    assert product_terms(p) == {ij: ks for ij, ks in expected.items() if ks}


def test_contradictory_query_needs_no_solver() -> None:
    q = membership_query(family("diag:2"), {(0, 1): ONE})
    assert q.assertions == (FALSE,)
    assert z3_api.check(q, 1) == z3_api.Check(Answer.FALSE, 0, None)


def test_known_answers_and_models() -> None:
    assert z3_api.check(membership_query(family("lu:2"), LU2_LIMIT), 10**6).answer is Answer.FALSE
    result = z3_api.check(curve_query(family("lu:2"), LU2_LIMIT), 10**7, model=True)
    assert result.answer is Answer.TRUE and result.model is not None and result.units > 0
    assert all(isinstance(v, Fraction) for v in result.model.values())
    assert z3_api.check(membership_query(family("lu:2"), LU2_LIMIT), 1).answer is Answer.UNKNOWN  # budget spent
    assert z3_api.smt_word(Answer.TRUE) == "sat" and z3_api.smt_word(Answer.TIMEOUT) == "unknown"


masks = st.integers(1, 3).flatmap(lambda m: st.integers(1, 3).flatmap(lambda n: st.integers(1, 3).flatmap(
    lambda r: st.tuples(st.lists(st.lists(st.booleans(), min_size=r, max_size=r), min_size=m, max_size=m),
                        st.lists(st.lists(st.booleans(), min_size=r, max_size=r), min_size=n, max_size=n)))))


@settings(max_examples=40, deadline=None)
@given(masks, st.integers(0, 2**16))
def test_planted_products_are_members_for_both_encodings(xy, seed: int) -> None:
    """Never trust one oracle: the searches' query and the verifier's own SMT-LIB text agree on planted members
    and on random 0/±1 matrices."""
    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(p.m, p.r)) * p.x_support
    planted = x @ (rng.integers(-2, 3, size=(p.n, p.r)) * p.y_support).T
    rand = rng.integers(-1, 2, size=(p.m, p.n)) * p.union_mask()
    for a, member in ((planted, True), (rand, None)):
        entries = {(int(i), int(j)): Fraction(int(a[i, j])) for i, j in zip(*np.nonzero(a), strict=True)}
        ours = z3_api.check(membership_query(p, entries), 10**7).answer
        rows = [[Fraction(int(v)) for v in row] for row in a]
        theirs = z3_api.check_smtlib(smtlib_membership_query(p, rows), 10**7).answer
        assert ours is theirs
        if member:
            assert ours is Answer.TRUE


def test_engine_imports_neither_sympy_nor_z3() -> None:
    code = ("import sys, wellposed.closedness, wellposed.formulas.queries, wellposed.backends.z3_api; "
            "print('sympy' in sys.modules, 'z3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False False"
