"""The typed analysis record: ``Analysis.to_json()`` is the dict ``analyze`` returned before it was typed (same
keys, same order, same values), and ``Analysis.to_row()`` is the row ``wellposed batch`` writes.

The oracle, :func:`_dict_analyze`, is the dict-building ``analyze`` as it was (kept here verbatim as a plain
reference); timings are masked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any

import numpy as np
import pytest

from wellposed.analysis import (
    CLOSEDNESS_FIELDS,
    MAX_KEY_CHARS,
    MAX_KEY_FREE_ENTRIES,
    MAX_LISTED,
    ROW_FIELDS,
    Analysis,
    _capped,
    _supports,
    analyze,
    analyze_spec,
)
from wellposed.batch import classify_lines, run_batch
from wellposed.classify import classify
from wellposed.families import family
from wellposed.io.resumable import read_output
from wellposed.support import SupportPattern

from .catalogue import case_params, load_cases


def _dict_analyze(pattern: SupportPattern, *, closedness: bool = True, full: bool = False) -> dict[str, Any]:
    """``wellposed.analysis.analyze`` before the :class:`Analysis` record (the reference)."""
    start = time.perf_counter()
    c = classify(pattern)
    key = pattern.canonical_key() if full or pattern.num_free_entries() <= MAX_KEY_FREE_ENTRIES else None
    rec: dict[str, Any] = {
        "name": pattern.name,
        "description": pattern.description,
        "m": pattern.m,
        "n": pattern.n,
        "r": pattern.r,
        "free_entries": pattern.num_free_entries(),
        "canonical_key": key if key is not None and (full or len(key) <= MAX_KEY_CHARS) else None,
        "canonical_key_sha256": hashlib.sha256(key.encode()).hexdigest() if key is not None else None,
    }
    rec.update(c.to_json())
    rec["components"] = [
        {"index": k, "rows": list(rows), "cols": list(cols), "empty": not rows or not cols}
        for k, (rows, cols) in enumerate(_supports(pattern, None if full else MAX_LISTED))
    ]
    summary = c.graph_summary()
    summary["connected_component_members"] = [list(comps) for _, _, comps in c.parts()]
    rec["graph"] = summary
    rec.update({"closed": None, "closed_method": None, "closed_reason": "closedness not requested",
                "certificate": None})
    if closedness:
        from wellposed.closedness import decide_closedness

        verdict = decide_closedness(pattern, classification=c)
        rec.update(verdict.to_json())
    if pattern.expected:
        rec["expected"] = dict(pattern.expected)
    if not full:
        certificate = rec.pop("certificate")
        rec = _capped(rec, MAX_LISTED)
        rec["certificate"] = certificate
        if rec["r"] > MAX_LISTED:
            rec["components_total"] = pattern.r
    rec["seconds"] = round(time.perf_counter() - start, 6)
    return rec


def _dict_analyze_spec(spec: str, *, closedness: bool = True) -> dict[str, Any]:
    """``analyze_spec`` of a Kronecker-sparse family before the :class:`Analysis` record (the reference)."""
    from wellposed.kronecker_analysis import analyze_kronecker

    rec = analyze_kronecker(spec, closedness=closedness)
    assert rec is not None
    graph = rec["graph"]
    graph.update({"component_sizes": [], "component_sizes_total": graph["connected_components"],
                  "connected_component_members": [],
                  "connected_component_members_total": graph["connected_components"]})
    rec.update({"canonical_key": None, "canonical_key_sha256": None, "classes": [],
                "classes_total": rec["num_classes"], "components": [], "components_total": rec["r"],
                "decided_from": "kronecker description (no masks built)"})
    for key in ("key", "parts", "details"):
        rec.setdefault(key, [] if key == "parts" else ({} if key == "details" else ""))
    return rec


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("T" if k == "seconds" else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _text(rec: dict[str, Any]) -> str:
    """The printed record (``wellposed analyze --json``) with its timings masked (also those of the verdict's
    parts), the key order kept."""
    return json.dumps(_masked(rec), ensure_ascii=False)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("pattern", case_params())
def test_to_json_is_the_dict_record_on_the_catalogue(pattern, full):
    assert _text(analyze(pattern, closedness=False, full=full).to_json()) == _text(
        _dict_analyze(pattern, closedness=False, full=full))


#: Lists longer than MAX_LISTED at every level (classes, components, their rows, the graph's parts); patterns whose
#: closedness verdict has parts, details and a certificate.
CUT = ["lu:40", "diag:30", "random:30,30,30,0.2,1", "random:25,3,40,0.3,2"]
DECIDED = ["lu:3", "lu:2", "full:2,2,1", "mcp:110,011,101", "random:4,4,3,0.5,0"]


def _many_parts() -> SupportPattern:
    """25 connected parts (24 not closed): the verdict's ``parts`` list is cut too."""
    p = family("diag:3")
    for _ in range(22):
        p = p.direct_sum(family("lu:2"))
    return p


def _many_empty() -> SupportPattern:
    """22 empty components out of 25."""
    eye = np.eye(3, 25, dtype=bool)
    return SupportPattern(eye, eye, name="mostly empty")


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("spec", CUT)
def test_to_json_cuts_lists_as_the_dict_record(spec, full):
    p = family(spec)
    assert _text(analyze(p, closedness=False, full=full).to_json()) == _text(
        _dict_analyze(p, closedness=False, full=full))


@pytest.mark.parametrize("full", [False, True])
def test_to_json_cuts_parts_and_empty_components_as_the_dict_record(full):
    parts, empty = _many_parts(), _many_empty()
    got = analyze(parts, full=full)
    assert (got.parts_total, analyze(empty, closedness=False, full=full).empty_components_total) == (
        (None, None) if full else (25, 22))
    assert _text(got.to_json()) == _text(_dict_analyze(parts, full=full))
    assert _text(analyze(empty, full=full).to_json()) == _text(_dict_analyze(empty, full=full))


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("spec", DECIDED)
def test_to_json_with_closedness_is_the_dict_record(spec, full):
    p = family(spec)
    assert _text(analyze(p, full=full).to_json()) == _text(_dict_analyze(p, full=full))


def test_to_json_with_closedness_and_expected_on_case_files():
    for p in load_cases()[:6]:
        assert _text(analyze(p).to_json()) == _text(_dict_analyze(p)), p.name


@pytest.mark.parametrize("closedness", [True, False])
@pytest.mark.parametrize("spec", ["butterfly:16:2", "monarch:3", "ks:1,2,2,2;2,2,1,1", "ks:2,1,3,1;3,2,1,1"])
def test_kronecker_record_is_the_dict_record(spec, closedness):
    got = analyze_spec(spec, closedness=closedness)
    assert got.decided_from is not None and got.kronecker is not None
    assert _text(got.to_json()) == _text(_dict_analyze_spec(spec, closedness=closedness))


def test_analysis_is_a_frozen_record_with_the_row_fields():
    a = analyze(family("lu:3"), closedness=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "x"  # type: ignore[misc]
    names = {f.name for f in dataclasses.fields(Analysis)}
    assert set(ROW_FIELDS) | set(CLOSEDNESS_FIELDS) <= names
    assert set(a.to_json()) - {"seconds"} <= names | {f"{n}_total" for n in names}
    assert list(a.to_row()) == list(ROW_FIELDS)
    assert not a.closedness_decided and analyze(family("lu:2")).closedness_decided


@pytest.mark.parametrize("pattern", case_params())
def test_to_row_is_the_batch_row(pattern):
    text = json.dumps(pattern.to_json())
    assert classify_lines([(7, text)]) == [{"line": 7, "ok": True, **analyze(pattern, closedness=False).to_row()}]


def test_to_row_with_closedness_is_the_batch_row(tmp_path):
    patterns = [family(s) for s in DECIDED]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(p.to_json()) + "\n" for p in patterns))
    run_batch(src, tmp_path / "out.jsonl", closedness=True)
    rows = read_output(tmp_path / "out.jsonl")[1]
    want = [{"line": b + 1, "ok": True, **analyze(p).to_row()} for b, p in enumerate(patterns)]
    assert rows == want
    assert list(rows[0])[2:] == [*ROW_FIELDS, *CLOSEDNESS_FIELDS]
