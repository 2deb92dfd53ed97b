"""The census files shipped in ``cases/census/``: each covers its enumeration exactly once, its records
re-verify from the file alone, and a seeded sample of them is reproduced by a fresh decision."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from wellposed.catalogue import census_names
from wellposed.closedness.census import (
    census_record,
    enumerate_patterns,
    read_header,
    read_records,
    verify_census,
    verify_record,
)
from wellposed.support import SupportPattern

FOLDER = Path(__file__).resolve().parent.parent / "cases" / "census"
NAMES = census_names()


def _load(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = FOLDER / name
    return read_header(path)["options"], read_records(path)


def _stratified(records: list[dict[str, Any]], per_method: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``per_method`` records of every method, drawn with a fixed seed (every method is exercised)."""
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_method[str(rec["method"])].append(rec)
    rng = random.Random(seed)
    return [rec for method in sorted(by_method)
            for rec in rng.sample(by_method[method], min(per_method, len(by_method[method])))]


def test_the_catalogue_ships_both_published_censuses() -> None:
    assert {"closedness-m3n3r3.jsonl", "closedness-m4n4r3.jsonl"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_published_census_has_one_record_per_class(name: str) -> None:
    options, records = _load(name)
    keys = [r["key"] for r in records]
    expected = [k for k, _ in enumerate_patterns(options["max_m"], options["max_n"], options["max_r"])]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(expected)
    assert keys == sorted(keys)  # the compacted file is sorted by key
    assert options["timeout"] is None  # a published census has no wall-clock cap: it is reproducible


@pytest.mark.parametrize("name", NAMES)
def test_published_census_sample_reverifies(name: str) -> None:
    """Two records of every method, re-checked from their own content (certificates exactly)."""
    options, records = _load(name)
    sample = _stratified(records, per_method=2, seed=14)
    statuses = {rec["key"]: verify_record(rec, options)["status"] for rec in sample}
    assert "refuted" not in statuses.values(), statuses
    decided = [rec["key"] for rec in sample if rec["closed"] is not None]
    assert decided and all(statuses[k] == "verified" for k in decided)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_published_census_reverifies_completely(name: str) -> None:
    res = verify_census(FOLDER / name, jobs=2)
    assert res["problems"] == []
    assert res["verified"] + res["undecided"] == res["records"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_published_census_sample_is_reproduced(name: str) -> None:
    """A fresh decision of a seeded sample (one record per method) gives the published record byte for byte."""
    options, records = _load(name)
    for rec in _stratified(records, per_method=1, seed=2026):
        pattern = SupportPattern(rec["x_support"], rec["y_support"])
        fresh = census_record(rec["key"], pattern, effort=options["effort"], backend=options["backend"],
                              use_qe=options["use_qe"])
        assert json.dumps(fresh, sort_keys=True) == json.dumps(rec, sort_keys=True), rec["key"]


def test_the_larger_census_repeats_the_smaller_one() -> None:
    """Records depend on the pattern and the options only: the classes of the m, n, r ≤ 3 census are in the
    m, n ≤ 4, r ≤ 3 census with the same records, byte for byte."""
    small = {r["key"]: r for r in read_records(FOLDER / "closedness-m3n3r3.jsonl")}
    large = {r["key"]: r for r in read_records(FOLDER / "closedness-m4n4r3.jsonl")}
    assert set(small) <= set(large)
    assert all(json.dumps(large[k], sort_keys=True) == json.dumps(rec, sort_keys=True) for k, rec in small.items())
