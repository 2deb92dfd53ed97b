"""Tests of the closedness engine: catalogue verdicts, certificates, invariances, cross-checks."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wellposed.closedness import Answer, ClosednessVerdict, NotClosedCertificate, absorption, decide_closedness
from wellposed.closedness.curves import curve_search, find_curve, membership_z3
from wellposed.closedness.determinantal import full_space_z3, generic_rank_bound
from wellposed.closedness.obstruction import (
    lu_obstruction,
    private_obstruction_candidates,
    private_obstruction_candidates_reference,
)
from wellposed.closedness.theorems import closed_by_theorem
from wellposed.closedness.verify import laurent_product
from wellposed.errors import CertificateError, InvalidSpecError
from wellposed.families import family
from wellposed.support import SupportPattern

F0, F1 = Fraction(0), Fraction(1)


def pat(x: list[str], y: list[str], name: str = "") -> SupportPattern:
    return SupportPattern(x, y, name=name)


# ---------------------------------------------------------------- catalogue
CATALOGUE = [
    ("full 2x2 r=1", family("full:2,2,1"), True, "theorem:dto"),
    ("full 3x3 r=2", family("full:3,3,2"), True, "theorem:dto"),
    ("diag 4", family("diag:4"), True, "theorem:dto"),
    ("butterfly 16 split 2", family("butterfly:16:2"), True, "theorem:dto"),
    ("row vector", pat(["111"], ["110", "011"]), True, "theorem:vector"),
    ("T-shaped (cross of a full row and a full column)", pat(["11", "01", "01"], ["10", "11", "10"]), True,
     "theorem:relaxed"),
    ("absorbed twice: a complete block appears after projection",
     pat(["110", "111"], ["100", "111", "111"]), True, "theorem:pointed-cones"),
    ("full space 2x3 (nested full-row components)", pat(["11", "11"], ["10", "11", "11"]), True,
     "theorem:schubert"),
    ("mcp gadget without missing entry", family("mcp:11,11"), True, None),
    ("lu 2", family("lu:2"), False, "certificate:lu-obstruction"),
    ("lu 3", family("lu:3"), False, "certificate:lu-obstruction"),
    ("lu 4", family("lu:4"), False, "certificate:lu-obstruction"),
    ("lu 5", family("lu:5"), False, "certificate:lu-obstruction"),
    ("lu 6", family("lu:6"), False, "certificate:lu-obstruction"),
    ("nested rank-one corner in 3x3", pat(["10", "11", "11"], ["10", "11", "11"]), False,
     "certificate:lu-obstruction"),
    ("mcp gadget 10,11", family("mcp:10,11"), False, "certificate:lu-obstruction"),
    ("mcp gadget 110,011,111", family("mcp:110,011,111"), False, "certificate:lu-obstruction"),
    ("two full-row components, partial column overlap", pat(["11", "11"], ["10", "01", "11"]), False,
     "certificate:curve-search"),
]


@pytest.mark.parametrize("name,pattern,closed,method", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_catalogue(name: str, pattern: SupportPattern, closed: bool, method: str | None) -> None:
    v = decide_closedness(pattern, use_qe=False)  # counted budgets: the same verdict under any load
    assert v.closed is closed, v.reason
    if method is not None:
        assert v.method == method
    js = v.to_json()
    assert {"closed", "closed_method", "closed_reason", "certificate", "seconds"} <= set(js)
    if closed is False:
        assert v.certificate is not None and v.certificate.pattern == pattern
        summary = v.certificate.verify()
        assert summary["curve"] == "ok" and summary["z3"] in ("unsat", "unknown")
        assert v.certificate.max_blowup() >= 1  # a limit outside P needs an unbounded factor


def test_lu_in_every_position() -> None:
    """LU n×n embedded after a permutation and next to a closed block stays not closed."""
    rng = np.random.default_rng(0)
    for n in range(2, 5):
        lu = family(f"lu:{n}")
        big = lu.direct_sum(family("full:2,3,2"))
        big = big.permute(rng.permutation(big.m), rng.permutation(big.n), rng.permutation(big.r))
        v = decide_closedness(big, use_qe=False)
        assert v.closed is False
        assert v.certificate is not None and v.certificate.pattern == big
        assert v.certificate.verify()["curve"] == "ok"


# ---------------------------------------------------------------- certificates
def test_certificate_tampering_is_caught() -> None:
    cert = lu_obstruction(family("lu:3"))
    assert cert is not None
    cert.verify()
    bad_limit = [list(row) for row in cert.limit]
    bad_limit[2][2] = F1
    with pytest.raises(CertificateError, match="constant term"):
        NotClosedCertificate(cert.pattern, bad_limit, cert.x_curve, cert.y_curve, cert.proof).verify()
    outside = dict(cert.x_curve)
    outside[(0, 2)] = ((0, F1),)  # lu:3 has X[0, 2] = 0
    with pytest.raises(CertificateError, match="outside x_support"):
        NotClosedCertificate(cert.pattern, cert.limit, outside, cert.y_curve, cert.proof).verify()
    no_cancel = {k: v for k, v in cert.x_curve.items() if not any(e < 0 for e, _ in v)}
    with pytest.raises(CertificateError, match="negative powers"):
        NotClosedCertificate(cert.pattern, cert.limit, no_cancel, cert.y_curve, cert.proof).verify()
    # a limit inside P with a valid curve: z3 must refuse the non-membership proof
    inside = NotClosedCertificate(family("full:2,2,1"), [[F1, F0], [F0, F0]], {(0, 0): ((0, F1),)},
                                  {(0, 0): ((0, F1),)}, {"kind": "z3-unsat"})
    with pytest.raises(CertificateError, match="lies in P"):
        inside.verify()
    with pytest.raises(CertificateError):
        NotClosedCertificate(family("lu:2"), [[F0]], {}, {}, {})


def test_certificate_json_round_trip() -> None:
    p = pat(["11", "11"], ["10", "01", "11"])
    cert = curve_search(p)
    assert cert is not None
    again = NotClosedCertificate.from_json(p, cert.to_json())
    assert again.limit == cert.limit and again.x_curve == cert.x_curve
    again.verify()


def test_laurent_product_against_sympy() -> None:
    import sympy

    eps = sympy.Symbol("eps")
    cert = curve_search(pat(["11", "11"], ["10", "01", "11"]))
    assert cert is not None
    p = cert.pattern

    def expr(poly: tuple[tuple[int, Fraction], ...]) -> sympy.Expr:
        return sum((sympy.Rational(c.numerator, c.denominator) * eps**e for e, c in poly), sympy.Integer(0))

    x = sympy.Matrix(p.m, p.r, lambda i, k: expr(cert.x_curve.get((i, k), ())))
    y = sympy.Matrix(p.n, p.r, lambda j, k: expr(cert.y_curve.get((j, k), ())))
    prod = (x * y.T).applyfunc(sympy.expand)
    ours = laurent_product(p, cert.x_curve, cert.y_curve)
    for i, j in itertools.product(range(p.m), range(p.n)):
        mine = sum((sympy.Rational(c.numerator, c.denominator) * eps**e for e, c in ours.get((i, j), {}).items()),
                   sympy.Integer(0))
        assert sympy.simplify(prod[i, j] - mine) == 0
        assert sympy.limit(prod[i, j], eps, 0) == sympy.Rational(cert.limit[i][j].numerator,
                                                                 cert.limit[i][j].denominator)


def test_planted_membership() -> None:
    """Products of random supported factors are in P (z3 sat); the LU limit is not (unsat)."""
    rng = np.random.default_rng(1)
    p = family("lu:3")
    x = rng.integers(-2, 3, size=(3, 3)) * p.x_support
    y = rng.integers(-2, 3, size=(3, 3)) * p.y_support
    a = x @ y.T
    assert membership_z3(p, [[Fraction(int(v)) for v in row] for row in a]) is Answer.TRUE
    assert membership_z3(p, [[F0, F1, F0], [F1, F0, F0], [F0, F0, F0]]) is Answer.FALSE


def test_find_curve_none_for_closed() -> None:
    assert find_curve(family("full:2,2,1"), [[F1, F0], [F0, F1]]) is None


# ---------------------------------------------------------------- kernels vs oracles
masks = st.integers(1, 3).flatmap(lambda m: st.integers(1, 3).flatmap(lambda n: st.integers(1, 3).flatmap(
    lambda r: st.tuples(st.lists(st.lists(st.booleans(), min_size=r, max_size=r), min_size=m, max_size=m),
                        st.lists(st.lists(st.booleans(), min_size=r, max_size=r), min_size=n, max_size=n)))))


@settings(max_examples=60, deadline=None)
@given(masks)
def test_obstruction_candidates_match_reference(xy: tuple[list[list[bool]], list[list[bool]]]) -> None:
    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    assert np.array_equal(private_obstruction_candidates(p), private_obstruction_candidates_reference(p))


@settings(max_examples=30, deadline=None)
@given(masks, st.integers(0, 2**16))
def test_generic_rank_bound_matches_random_rank(xy: tuple[list[list[bool]], list[list[bool]]], seed: int) -> None:
    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((p.m, p.r)) * p.x_support
    y = rng.standard_normal((p.n, p.r)) * p.y_support
    a = x @ y.T
    for rows in itertools.chain.from_iterable(itertools.combinations(range(p.m), s) for s in range(1, p.m + 1)):
        for cols in itertools.chain.from_iterable(itertools.combinations(range(p.n), s) for s in range(1, p.n + 1)):
            bound = generic_rank_bound(p, rows, cols)
            numeric = np.linalg.matrix_rank(a[np.ix_(rows, cols)], tol=1e-8) if a.size else 0
            assert numeric <= bound  # the bound is sound; generic factors attain it (almost surely)
            assert numeric == bound


# ---------------------------------------------------------------- invariances (Hypothesis)
def _cheap(p: SupportPattern) -> bool | None:
    return decide_closedness(p, use_qe=False, search=False).closed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(masks, st.randoms(use_true_random=False))
def test_verdict_invariant_under_symmetries(xy: tuple[list[list[bool]], list[list[bool]]], rnd) -> None:
    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    base = _cheap(p)
    rows, cols, comps = list(range(p.m)), list(range(p.n)), list(range(p.r))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    rnd.shuffle(comps)
    assert _cheap(p.permute(rows, cols, comps)) == base
    assert _cheap(p.transpose()) == base
    assert _cheap(p.add_empty_component()) == base
    assert _cheap(p.direct_sum(family("full:3,3,2"))) == base
    assert _cheap(family("diag:2").direct_sum(p)) == base


@settings(max_examples=40, deadline=None)
@given(masks)
def test_theorem_and_certificate_never_both_fire(xy: tuple[list[list[bool]], list[list[bool]]]) -> None:
    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    if closed_by_theorem(p) is not None:
        assert lu_obstruction(p) is None
        assert not private_obstruction_candidates(p).any()


@pytest.mark.parametrize("seed", range(6))
def test_absorption_never_contradicts_search(seed: int) -> None:
    """Random patterns closed by a rule get no certificate from the private-minor or the (z3) curve search."""
    rng = np.random.default_rng(seed)
    found = 0
    for _ in range(40):
        p = SupportPattern(rng.random((3, 3)) < 0.6, rng.random((3, 3)) < 0.6)
        if p.is_trivial() or closed_by_theorem(p) is None:
            continue
        found += 1
        assert lu_obstruction(p) is None
        assert curve_search(p, max_candidates=6) is None
        if found >= 2:
            break
    assert found >= 1


def test_absorption_closed_implies_full_space_when_everything_absorbed() -> None:
    p = pat(["110", "111"], ["100", "111", "111"])
    res = absorption(p)
    assert res.closed and not res.blocks
    assert full_space_z3(p) is Answer.FALSE  # independent check: P = ℝ^union


def test_qe_layer_agrees_when_available() -> None:
    backends = pytest.importorskip("wellposed.backends")
    for p, expected in ((family("full:2,2,1"), True), (family("lu:2"), False)):
        res = backends.decide_by_qe(p, backend="z3")
        assert res.answer is (Answer.CLOSED if expected else Answer.NOT_CLOSED)


# ---------------------------------------------------------------- cache, validation, verdict
def test_cache_reuses_part_verdicts() -> None:
    cache: dict[str, ClosednessVerdict] = {}
    a = decide_closedness(family("lu:3").direct_sum(family("full:2,2,1")), cache=cache, use_qe=False)
    assert a.closed is False and len(cache) == 2
    b = decide_closedness(family("full:2,2,1").direct_sum(family("lu:3")), cache=cache, use_qe=False)
    assert b.closed is False and b.certificate is not None and b.certificate.pattern.shape == (5, 5, 4)
    b.certificate.verify()


@pytest.mark.parametrize("kwargs,match", [
    ({"backend": "mathematica"}, "backend"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": float("nan")}, "timeout"),
    ({"effort": 0}, "effort"),
    ({"effort": float("inf")}, "effort"),
    ({"use_qe": "yes"}, "use_qe"),
    ({"cache": []}, "cache"),
])
def test_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpecError, match=match):
        decide_closedness(family("lu:2"), **kwargs)
    with pytest.raises(InvalidSpecError, match="pattern"):
        decide_closedness("lu:2")  # type: ignore[arg-type]


def test_verdict_needs_certificate() -> None:
    with pytest.raises(ValueError, match="certificate"):
        ClosednessVerdict(Answer.NOT_CLOSED, "certificate:curve-search", "x")
    with pytest.raises(ValueError, match="method"):
        ClosednessVerdict(Answer.CLOSED, "theorem:magic", "x")


@settings(max_examples=50, deadline=None)
@given(masks)
def test_fast_parts_match_graph_oracle(xy: tuple[list[list[bool]], list[list[bool]]]) -> None:
    from wellposed.closedness.pipeline import connected_parts_fast
    from wellposed.graph import connected_parts

    p = SupportPattern(np.array(xy[0]), np.array(xy[1]))
    if p.is_trivial():
        return
    q = p.drop_empty()
    assert connected_parts_fast(q) == connected_parts(q)


def _case_files() -> list:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "cases"
    return sorted(p for p in root.glob("*.json") if '"closed"' in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: p.stem)
def test_case_catalogue_expected_closedness(path) -> None:
    from wellposed.families import load_pattern

    p = load_pattern(str(path))
    if "closed" not in p.expected:
        pytest.skip("no expected closedness")
    v = decide_closedness(p, use_qe=False)
    assert v.closed is p.expected["closed"], v.reason
    if v.certificate is not None:
        v.certificate.verify()


@pytest.mark.parametrize("x,y", [
    (["111", "111"], ["110", "101", "011"]),
    (["110", "111"], ["100", "111", "111"]),
    (["011", "111", "111"], ["111", "111", "111"]),
])
def test_linear_slice_evidence_factors_planted_matrices(x: list[str], y: list[str]) -> None:
    """Re-check the full-space evidence: with the published fixed values, solve for the free side exactly."""
    import sympy

    from wellposed.closedness.theorems import linear_slice_onto

    p = pat(x, y)
    ev = linear_slice_onto(p)
    assert ev is not None
    rng = np.random.default_rng(3)
    a = rng.integers(-5, 6, size=(p.m, p.n)) * p.union_mask()
    x0, y0 = np.array(ev["fixed_x"]), np.array(ev["fixed_y"])
    syms_x = {(i, k): sympy.Symbol(f"x{i}_{k}") for i in range(p.m) for k in range(p.r)
              if p.x_support[i, k] and ev["sides"][k] == "vary X"}
    syms_y = {(j, k): sympy.Symbol(f"y{j}_{k}") for j in range(p.n) for k in range(p.r)
              if p.y_support[j, k] and ev["sides"][k] == "vary Y"}
    xm = sympy.Matrix(p.m, p.r, lambda i, k: syms_x.get((i, k), int(x0[i, k])))
    ym = sympy.Matrix(p.n, p.r, lambda j, k: syms_y.get((j, k), int(y0[j, k])))
    eqs = [sympy.Eq((xm * ym.T)[i, j], int(a[i, j])) for i in range(p.m) for j in range(p.n) if p.union_mask()[i, j]]
    sol = sympy.solve(eqs, list(syms_x.values()) + list(syms_y.values()), dict=True)
    assert sol, "the linear system must be solvable for every A"
    prod = (xm * ym.T).subs(sol[0])
    free = prod.free_symbols
    prod = prod.subs({s: 0 for s in free})
    assert prod == sympy.Matrix(a.tolist())


def test_two_membership_encodings_agree() -> None:
    """The query of the searches (formulas.queries) and the SMT-LIB text of the verifier give the same answers."""
    from wellposed.backends import z3_api
    from wellposed.closedness.verify import smtlib_membership_query

    rng = np.random.default_rng(7)
    for spec in ("lu:2", "lu:3", "mcp:10,11", "full:2,3,1"):
        p = family(spec)
        for _ in range(2):
            a = [[Fraction(int(v), int(rng.integers(1, 3))) for v in row]
                 for row in rng.integers(-1, 2, size=(p.m, p.n))]
            first = membership_z3(p, a)
            second = z3_api.check_smtlib(smtlib_membership_query(p, a), 5_000_000).answer
            assert first is second


def test_qe_layer_agrees_on_small_census() -> None:
    """Cross-check against the QE layer on the 2×2, r ≤ 2 census patterns decided by a non-DTO method."""
    backends = pytest.importorskip("wellposed.backends")
    from wellposed.closedness.census import enumerate_patterns

    checked = 0
    for _, p in enumerate_patterns(2, 2, 2):
        if p.is_trivial():
            continue
        v = decide_closedness(p, use_qe=False)
        if v.method in ("theorem:dto", "theorem:vector", "theorem:trivial"):
            continue
        res = backends.decide_by_qe(p.drop_empty(), backend="z3")
        if res.answer is Answer.UNDECIDED:
            continue
        assert res.answer.closed is v.closed, (p.canonical_key(), v.method)
        checked += 1
    assert checked >= 2


# ---------------------------------------------------------------- regressions (independent review)
def test_lifted_curve_certificate_is_reverified_on_its_part_region() -> None:
    """A z3-unsat certificate of a small part next to a huge closed part: the lift names the part's region,
    so re-verification asks z3 about the part only (it used to ask about the whole 1502×1503 pattern, fail,
    and crash the pipeline with an IndexError)."""
    big = SupportPattern(np.ones((1500, 1), bool), np.ones((1500, 1), bool))
    p = pat(["11", "11"], ["10", "01", "11"]).direct_sum(big)
    v = decide_closedness(p, use_qe=False)
    assert v.closed is False and v.method == "certificate:curve-search"
    assert v.certificate is not None and v.certificate.proof == {"kind": "z3-unsat", "rows": [0, 1], "cols": [0, 1, 2]}
    assert v.certificate.verify()["z3"] == "unsat"


def test_not_closed_part_whose_lift_fails_gives_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    """When every part is decided but the lifted certificate fails re-verification, the verdict is undecided
    with a reason, never a crash and never a wrong answer."""
    def broken(self: NotClosedCertificate, pattern: SupportPattern, rows, cols, comps) -> NotClosedCertificate:
        return NotClosedCertificate(pattern, [[F0] * pattern.n for _ in range(pattern.m)], {}, {}, self.proof)

    monkeypatch.setattr(NotClosedCertificate, "lift", broken)
    v = decide_closedness(family("lu:2").direct_sum(family("full:2,2,1")), use_qe=False)
    assert v.closed is None and v.method == "undecided"
    assert "failed re-verification on the whole pattern" in v.reason and len(v.parts) == 2


def test_block_minor_certificate_is_checked_without_z3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The block-minor proof is combinatorial plus an exact rank: z3 is never asked (it ran to its resource
    limit, 50 s, on this pattern, once for the part and once for the lift)."""
    from wellposed.backends import z3_api

    def no_z3(*args: object, **kwargs: object) -> str:
        raise AssertionError("z3 asked about a block-minor certificate")

    monkeypatch.setattr(z3_api, "check_smtlib", no_z3)
    k = np.kron(np.tril(np.ones((3, 3), dtype=bool)), np.ones((3, 3), dtype=bool))
    v = decide_closedness(SupportPattern(k, k).direct_sum(family("full:2,2,1")), use_qe=False)
    assert v.closed is False and v.method == "certificate:block-minor"
    assert v.details["verification"]["z3"] == "skipped"
    assert v.certificate is not None and v.certificate.verify()["proof"] == "private-block-minor"


def _base_certificates() -> list[tuple[SupportPattern, dict]]:
    from wellposed.classify import classify
    from wellposed.closedness.obstruction import block_minor_certificate, find_private_block_minor

    lu3 = family("lu:3")
    blown = SupportPattern(np.kron(family("lu:2").x_support, np.ones((2, 2), bool)),
                           np.kron(family("lu:2").y_support, np.ones((2, 2), bool)))
    found = find_private_block_minor(blown, classify(blown))
    assert found is not None
    curve = pat(["11", "11"], ["10", "01", "11"])
    out = [(lu3, lu_obstruction(lu3)), (blown, block_minor_certificate(blown, *found)), (curve, curve_search(curve))]
    region = out[2][1]
    assert region is not None
    with_region = dict(region.to_json(), proof={"kind": "z3-unsat", "rows": [0, 1], "cols": [0, 1, 2]})
    return [(p, c.to_json()) for p, c in out if c is not None] + [(curve, with_region)]


_BASES = _base_certificates()
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 6) | st.integers() | st.floats()
                     | st.text(max_size=4) | st.sampled_from(["1/2", "-1", "0", "x", "1/0", "z3-unsat", "private-minor",
                                                              "private-block-minor"]),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                     max_leaves=6)


def _paths(obj: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(_BASES))), st.data())
def test_mutated_certificate_json_raises_certificate_error(base: int, data: st.DataObject) -> None:
    """Missing keys, wrong types, negative or out-of-range indices: CertificateError, never another exception."""
    import copy

    pattern, record = _BASES[base]
    record = copy.deepcopy(record)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(record)[1:]))
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON)
    try:
        NotClosedCertificate.from_json(pattern, record).verify()
    except CertificateError:
        pass


@pytest.mark.parametrize("change", [{"rows": [-1, 0]}, {"cols": [1, 2]}, {"component": -1}, {"component": 1.0},
                                    {"rows": [1]}, {"rows": "10"}])
def test_private_minor_proof_indices_are_bounds_checked(change: dict) -> None:
    cert = lu_obstruction(family("lu:2"))
    assert cert is not None and cert.proof["rows"] == [1, 0]
    record = dict(cert.to_json(), proof={**cert.proof, **change})
    with pytest.raises(CertificateError, match="malformed minor"):
        NotClosedCertificate.from_json(cert.pattern, record).verify()
