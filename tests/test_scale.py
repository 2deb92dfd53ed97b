"""Real-size analysis: the sparse classification paths agree with plain references, certificates live on their
support, records stay small, and large patterns get verdicts with evidence (no timed assertions)."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings

import wellposed.classify as classify_mod
import wellposed.overlaps as overlaps_mod
from wellposed.analysis import MAX_LISTED, analyze, analyze_spec
from wellposed.classify import classify
from wellposed.closedness import decide_closedness
from wellposed.closedness.certificates import LimitMatrix, NotClosedCertificate
from wellposed.closedness.obstruction import (
    find_private_minor,
    lu_obstruction,
    private_obstruction_candidates,
)
from wellposed.families import family
from wellposed.network import analyze_network
from wellposed.support import SupportPattern

from .strategies import patterns


def _random(m: int, n: int, r: int, density: float, seed: int, dup: bool = False) -> SupportPattern:
    rng = np.random.default_rng(seed)
    x, y = rng.random((m, r)) < density, rng.random((n, r)) < density
    if dup:  # repeat some components so that classes have several members
        pick = rng.integers(0, r, size=r)
        x, y = x[:, pick], y[:, pick]
    return SupportPattern(x, y)


def _plain_overlap_pairs(p: SupportPattern) -> set[tuple[int, int]]:
    """Pairs k < l of live components whose rank-one supports meet, by Python sets."""
    sup = {k: set(itertools.product(i, j)) for k, (i, j) in enumerate(p.rank_one_supports()) if i and j}
    return {(k, l) for k, l in itertools.combinations(sorted(sup), 2) if sup[k] & sup[l]}


# ---------------------------------------------------------------- classify: every path, one answer
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("density", [0.05, 0.2, 0.5])
def test_sparse_and_dense_paths_agree(monkeypatch, seed, density):
    """The Gram products (sparse or BLAS) and the DTO coverage count give the same classification."""
    pats = [_random(12, 9, 14, density, seed, dup=bool(seed % 2)), _random(40, 33, 50, density / 2, seed)]
    default = [classify(p).to_json() for p in pats]
    monkeypatch.setattr(overlaps_mod, "_DENSE_GRAM_SPEEDUP", 0)  # always sparse Gram products
    monkeypatch.setattr(classify_mod, "_COVERAGE_AREA_MAX", -1)  # never the coverage shortcut
    sparse = [classify(p).to_json() for p in pats]
    monkeypatch.setattr(overlaps_mod, "_DENSE_GRAM_SPEEDUP", 10**9)  # always dense Gram products
    dense = [classify(p).to_json() for p in pats]
    assert default == sparse == dense


@settings(max_examples=80, deadline=None)
@given(patterns(max_m=5, max_n=5, max_r=6))
def test_overlaps_parts_and_graph_match_plain_sets(p):
    c = classify(p)
    members = {idx: cl.components for idx, cl in enumerate(c.classes)}
    ov = c.overlaps
    derived = {(min(k, l), max(k, l)) for a, b in zip(ov.a.tolist(), ov.b.tolist(), strict=True)
               for k in members[a] for l in members[b]}
    derived |= {pair for comps in members.values() for pair in itertools.combinations(comps, 2)}
    assert derived == _plain_overlap_pairs(p)
    # connected parts against networkx on the plain graph
    g = nx.Graph()
    g.add_nodes_from(k for cl in c.classes for k in cl.components)
    g.add_edges_from(_plain_overlap_pairs(p))
    expected = sorted(tuple(sorted(comp)) for comp in nx.connected_components(g))
    assert sorted(comps for _, _, comps in c.parts()) == expected
    summary = c.graph_summary()
    assert summary["edges"] == g.number_of_edges() and summary["nodes"] == g.number_of_nodes()
    assert summary["connected_components"] == len(expected)


@settings(max_examples=80, deadline=None)
@given(patterns(max_m=5, max_n=5, max_r=6))
def test_private_minor_search_matches_dense_candidates(p):
    """The per-component search returns the first candidate of the dense (r, m, n) kernel."""
    cand = private_obstruction_candidates(p)
    found = find_private_minor(p)
    if not cand.any():
        assert found is None
        return
    k, i, j = (int(t) for t in np.argwhere(cand)[0])
    assert found is not None and found[0] == k and (found[2], found[4]) == (i, j)
    assert found[1] != k and p.x_support[i, found[1]] and p.y_support[j, found[1]]


# ---------------------------------------------------------------- certificates on their support
def test_certificate_is_stored_and_verified_on_its_support():
    p = family("random:600,600,600,0.02,3")
    cert = lu_obstruction(p)
    assert cert is not None and isinstance(cert.limit, LimitMatrix)
    assert len(cert.limit.entries) == 2
    record = cert.to_json()
    assert "limit_entries" in record and "limit" not in record and len(json.dumps(record)) < 2000
    again = NotClosedCertificate.from_json(p, record)
    assert again.limit == cert.limit and again.verify()["curve"] == "ok"
    # a wrong limit entry is caught, at the cost of the support
    bad = dict(cert.limit.entries)
    bad[next(iter(bad))] += 1
    with pytest.raises(Exception, match="constant term"):
        NotClosedCertificate(p, bad, cert.x_curve, cert.y_curve, cert.proof).verify()


def test_limit_matrix_reads_like_rows():
    a = LimitMatrix.from_any({(0, 2): 1, (1, 0): "1/2"}, (2, 3))
    assert a[1][0] * 2 == 1 and a == [[0, 0, 1], ["1/2", 0, 0]] and len(a) == 2
    assert a.restrict([1], [0, 2]).entries == {(0, 0): a.value(1, 0)}


# ---------------------------------------------------------------- records sized for people and pipes
@pytest.mark.parametrize("spec", ["random:300,300,300,0.05,1", "lu:40", "diag:200"])
def test_analyze_record_stays_small_and_full_lists_everything(spec):
    p = family(spec)
    rec = analyze(p).to_json()
    text = json.dumps(rec)
    assert len(text) < 100_000
    assert len(rec["classes"]) <= MAX_LISTED and len(rec["components"]) <= MAX_LISTED
    assert rec["canonical_key_sha256"] and rec["num_classes"] == len(classify(p).classes)
    full = analyze(p, closedness=False, full=True).to_json()
    assert len(full["components"]) == p.r and full["canonical_key"] == p.canonical_key()
    if p.r > MAX_LISTED:
        assert rec["components_total"] == p.r


@pytest.mark.parametrize("spec", ["butterfly:64:2", "monarch:4", "ks:2,2,3,1;3,2,2,1"])
def test_kronecker_specs_are_decided_without_masks(spec):
    fast = analyze_spec(spec).to_json()
    slow = analyze(family(spec)).to_json()
    assert fast["decided_from"].startswith("kronecker")
    for key in ("m", "n", "r", "dto", "tractable", "num_classes", "num_complete_classes", "closed", "closed_method",
                "closed_reason"):
        assert fast[key] == slow[key], key
    assert analyze_spec("butterfly:65536:8").closed is True


# ---------------------------------------------------------------- large patterns get verdicts with evidence
def test_large_ill_posed_block_inside_a_block_diagonal_pattern():
    big = family("diag:250").direct_sum(family("lu:3")).direct_sum(family("full:3,3,1"))
    v = decide_closedness(big)
    assert v.closed is False and v.certificate is not None
    assert v.certificate.verify()["curve"] == "ok"
    rows = {i for i, _ in v.certificate.limit.entries}
    assert rows <= set(range(250, 253))  # the witness sits in the lu:3 block
    i, j = next(iter(v.certificate.limit.entries))
    assert f"({i}, {j}) = 1" in v.reason and "of the 256×256 zero matrix" in v.reason  # the pattern's indices


def test_network_pairs_beyond_the_old_engine_limit_get_verdicts():
    rng = np.random.default_rng(2)
    masks = [rng.random((120, 200)) < 0.1, rng.random((60, 120)) < 0.1]
    rep = analyze_network(masks)
    pair = rep.pairs[0].to_json()
    assert pair["closed"] is False and pair["closed_method"] == "certificate:lu-obstruction"
    assert rep.linear_set.closed is False and rep.linear_set.certificate["verified"]["curve"].startswith("ok")


# ---------------------------------------------------------------- same verdicts as the published census
POLYNOMIAL_METHODS = ("theorem:trivial", "theorem:vector", "theorem:dto", "theorem:relaxed", "theorem:pointed-cones")


def test_census_verdicts_of_the_polynomial_stages_are_unchanged():
    """Every census record decided without a solver is reproduced exactly (closed, method, reason, certificate)
    by the polynomial stages alone; the solver-backed ones are sampled in tests/test_determinism.py."""
    from pathlib import Path

    from wellposed.closedness.census import read_records

    records = read_records(Path(__file__).resolve().parent.parent / "cases" / "census" / "closedness-m3n3r3.jsonl")
    checked = 0
    for rec in records:
        proof = (rec.get("certificate") or {}).get("proof", {})
        private = rec["method"] == "certificate:lu-obstruction" and proof.get("kind") == "private-minor"
        if rec["method"] not in POLYNOMIAL_METHODS and not private:
            continue
        v = decide_closedness(SupportPattern(rec["x_support"], rec["y_support"]), search=False, use_qe=False)
        j = v.to_json()
        assert (j["closed"], j["closed_method"], j["closed_reason"]) == (rec["closed"], rec["method"], rec["reason"])
        assert j["certificate"] == rec.get("certificate"), rec["key"]
        checked += 1
    assert checked > 700


def _absorption_reference(p: SupportPattern):
    """Iterated absorption on dense m×n tables, block by block (the plain form of the rule)."""
    m, n = p.m, p.n
    cones = [(np.array(c.rows), np.array(c.cols), c.size) for c in classify(p).classes]
    absorbed = np.zeros((m, n), dtype=bool)
    while True:
        changed, keep = False, []
        for rows, cols, k in cones:
            if k >= min(len(rows), len(cols)):
                absorbed[np.ix_(rows, cols)] = True
                changed = True
            else:
                keep.append((rows, cols, k))
        nxt, stuck = [], []
        for rows, cols, k in keep:
            omega = ~absorbed[np.ix_(rows, cols)]
            if not omega.any():
                changed = True
                continue
            if omega.all():
                nxt.append((rows, cols, k))
                continue
            distinct = {tuple(row) for row in omega if row.any()}
            if any(any(a and b for a, b in zip(u, v, strict=True)) for u, v in itertools.combinations(distinct, 2)):
                stuck.append((rows, cols, k))
                continue
            changed = True
            for u in sorted(distinct, key=lambda u: next(i for i, row in enumerate(omega) if tuple(row) == u)):
                br = [i for i, row in enumerate(omega) if tuple(row) == u]
                nxt.append((rows[br], cols[np.flatnonzero(u)], k))
        cones = nxt + stuck
        if not changed:
            return absorbed, [(tuple(r.tolist()), tuple(c.tolist()), k) for r, c, k in nxt], \
                [(tuple(r.tolist()), tuple(c.tolist()), k) for r, c, k in stuck]


@settings(max_examples=150, deadline=None)
@given(patterns(max_m=6, max_n=6, max_r=6))
def test_absorption_matches_the_dense_reference(p):
    from wellposed.closedness.theorems import absorption

    if p.is_trivial():
        return
    res = absorption(p)
    absorbed, blocks, stuck = _absorption_reference(p)
    assert np.array_equal(res.absorbed, absorbed)
    assert list(res.blocks) == blocks and list(res.stuck) == stuck
