"""The vectorized batch classification (wellposed/batch/kernel.py, the chunk path of wellposed/batch/rows.py).

The oracle is the one-pattern analysis: every batch row must equal ``analyze(p).to_row()``, field
for field (reason texts, failing pair, class counts), whatever the density, the shape, the empty or
identical components, and whichever of DTO / relaxed C1+C2 / their first failures decides the verdict.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.analysis import analyze
from wellposed.batch import classify_lines
from wellposed.batch import kernel as batch_kernel
from wellposed.batch import rows as batch_rows
from wellposed.batch.kernel import Relaxed, classify_batch, pattern_bytes
from wellposed.batch.rows import _vector_records, format_rows
from wellposed.classify import classify
from wellposed.errors import InvalidSupportError
from wellposed.families import family
from wellposed.io import records as batch_records
from wellposed.memory import MAX_BYTES_ENV
from wellposed.support import SupportPattern

from .catalogue import case_params
from .strategies import batch_line

DENSITIES = (0.05, 0.1, 0.2, 0.3, 0.5)
#: (m, n, r): square, m ≠ n both ways, r ≠ m, more components than rows, one row, and more than 64
#: columns or rows (bit sets of several words; C2 then sorts rows of two words).
SHAPES = ((16, 16, 16), (5, 9, 7), (9, 5, 12), (3, 3, 8), (1, 6, 3), (6, 70, 9), (70, 6, 5))


def _expected(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[dict]:
    return [analyze(SupportPattern(x[b], y[b], name=names[b]), closedness=False).to_row() for b in range(len(x))]


def _random_batch(rng: np.random.Generator, count: int, m: int, n: int, r: int, density: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli(density) masks, with identical and empty components planted in some patterns."""
    x = rng.random((count, m, r)) < density
    y = rng.random((count, n, r)) < density
    if r >= 2:
        dup = rng.random(count) < 0.3  # component 1 repeats component 0: classes of two
        x[dup, :, 1], y[dup, :, 1] = x[dup, :, 0], y[dup, :, 0]
        gone = rng.random(count) < 0.2  # the last component is empty
        x[gone, :, r - 1] = False
    return x, y


def _shape_batch(density: float, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    m, n, r = shape
    return _random_batch(np.random.default_rng([m, n, r, int(density * 100)]), 60, m, n, r, density)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("density", DENSITIES)
def test_rows_equal_one_by_one(density, shape):
    x, y = _shape_batch(density, shape)
    names = [f"p{b}" for b in range(len(x))]
    rows = _vector_records(x, y, names)
    expected = _expected(x, y, names)
    for b, (row, want) in enumerate(zip(rows, expected, strict=True)):
        assert row == want, (b, x[b].astype(int).tolist(), y[b].astype(int).tolist())


def test_every_branch_is_exercised():
    """The random batches of test_rows_equal_one_by_one reach every verdict of the kernel."""
    seen: Counter[str] = Counter()
    for density in DENSITIES:
        for shape in SHAPES:
            out = classify_batch(*_shape_batch(density, shape))
            trivial = (out["relaxed"] == Relaxed.NOT_NEEDED) & (out["num_classes"] == 0)
            seen["trivial"] += int(trivial.sum())
            seen.update(Relaxed(code).name for code in out["relaxed"][~trivial].tolist())
    assert set(seen) == {"trivial", *Relaxed.__members__}, seen


def _mask(rows: list[str]) -> np.ndarray:
    return np.array([[c == "1" for c in row] for row in rows], dtype=bool)


#: Hand-made patterns, one per branch: (x rows, y rows, outcome of the kernel).
PLANTED = {
    "relaxed: complete column class plus one biclique": (["11", "10"], ["11", "11"], Relaxed.HOLDS),
    "C1: two non-complete classes meet outside the complete one": (
        ["111", "101", "001"], ["111", "010", "111"], Relaxed.C1_FAILS),
    "C2: LU is not a union of bicliques outside its complete class": (["10", "11"], ["10", "11"], Relaxed.C2_FAILS),
    "no complete class": (["11", "11"], ["10", "11", "01"], Relaxed.NO_COMPLETE_CLASS),
    "identical components and an empty one": (["110", "110"], ["110", "110"], Relaxed.NOT_NEEDED),
    "every component empty": (["00"], ["11"], Relaxed.NOT_NEEDED),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_planted_branches(case):
    xs, ys, code = PLANTED[case]
    x, y = _mask(xs)[None], _mask(ys)[None]
    assert classify_batch(x, y)["relaxed"].tolist() == [code]
    assert _vector_records(x, y, [case]) == _expected(x, y, [case])


def test_c1_names_the_first_entry_and_the_earlier_class():
    xs, ys, _ = PLANTED["C1: two non-complete classes meet outside the complete one"]
    x, y = _mask(xs)[None], _mask(ys)[None]
    out = classify_batch(x, y)
    reason = classify(SupportPattern(x[0], y[0])).reason
    text = (f"non-complete classes of components {out['clash_other'][0]} and {out['fail_class'][0]} both cover "
            f"entry ({out['clash_row'][0]}, {out['clash_col'][0]})")
    assert text in reason


@pytest.mark.parametrize("pattern", case_params())
def test_catalogue(pattern):
    x, y = pattern.x_support[None], pattern.y_support[None]
    want = analyze(pattern, closedness=False).to_row()
    assert _vector_records(x, y, [pattern.name]) == [want]
    # the same pattern three times in one batch
    stack_x, stack_y = np.repeat(x, 3, axis=0), np.repeat(y, 3, axis=0)
    assert _vector_records(stack_x, stack_y, [pattern.name] * 3) == [want] * 3


@st.composite
def batches(draw):
    """A batch of 1–6 patterns of one shape (m, n ≤ 6, r ≤ 7), some sharing or repeating components."""
    m, n, r = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 7))
    count = draw(st.integers(1, 6))
    x = np.array(draw(st.lists(st.booleans(), min_size=count * m * r, max_size=count * m * r))).reshape(count, m, r)
    y = np.array(draw(st.lists(st.booleans(), min_size=count * n * r, max_size=count * n * r))).reshape(count, n, r)
    if r >= 2 and draw(st.booleans()):
        k, l = draw(st.integers(0, r - 1)), draw(st.integers(0, r - 1))
        x[:, :, l], y[:, :, l] = x[:, :, k], y[:, :, k]
    return x, y


@settings(max_examples=200, deadline=None)
@given(batches())
def test_property_rows_equal_one_by_one(batch):
    x, y = batch
    names = [f"h{b}" for b in range(len(x))]
    assert _vector_records(x, y, names) == _expected(x, y, names)


def test_slices_give_the_same_answers(monkeypatch):
    rng = np.random.default_rng(11)
    x, y = _random_batch(rng, 300, 16, 16, 16, 0.1)
    whole = classify_batch(x, y)
    monkeypatch.setattr(batch_kernel, "_BATCH_SLICE_BYTES", 40 * pattern_bytes(16, 16, 16))
    sliced = classify_batch(x, y)
    assert whole.keys() == sliced.keys()
    for key in whole:
        assert np.array_equal(whole[key], sliced[key]), key


def test_shapes_are_checked():
    with pytest.raises(InvalidSupportError, match="same B and r"):
        classify_batch(np.zeros((2, 3, 4), bool), np.zeros((2, 3, 5), bool))


def test_patterns_too_large_for_the_kernel_use_classify(monkeypatch):
    rng = np.random.default_rng(3)
    x, y = _random_batch(rng, 5, 4, 5, 6, 0.4)
    monkeypatch.setenv("WELLPOSED_MAX_BYTES", str(pattern_bytes(4, 5, 6) - 1))
    monkeypatch.setattr(batch_rows, "classify_batch", None)  # not called
    names = list("abcde")
    assert _vector_records(x, y, names, list(range(1, 6))) == [
        {"line": b + 1, "ok": True, **rec} for b, rec in enumerate(_expected(x, y, names))]


# ---------------------------------------------------------------- JSONL decoding and row formatting
def _lines(x: np.ndarray, y: np.ndarray, names: list[object]) -> list[tuple[int, str]]:
    items = []
    for b in range(len(x)):
        rec = SupportPattern(x[b], y[b]).to_json()
        record = {"x_support": rec["x_support"], "y_support": rec["y_support"]}
        if names[b] is not None:
            record["name"] = names[b]
        items.append((b + 1, json.dumps(record)))
    return items


def test_classify_lines_equals_one_by_one():
    rng = np.random.default_rng(5)
    items, expected = [], []
    for density in DENSITIES:
        x, y = _random_batch(rng, 40, 16, 16, 16, density)
        names = [f"d{density}-{b}" for b in range(len(x))]
        base = len(items)
        items += [(base + ln, text) for ln, text in _lines(x, y, names)]
        expected += [{"line": base + b + 1, "ok": True, **rec} for b, rec in enumerate(_expected(x, y, names))]
    assert classify_lines(items) == expected


#: Records that the plain-record reader or orjson must leave to the json module — orjson reads huge integers
#: as floats and refuses NaN, lone surrogates and deep nesting —, records in the plain layouts (with names,
#: trailing spaces, a carriage return) and near misses of them, and malformed ones.
ODD_LINES = [
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": 123456789012345678901234567890}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "id": 123456789012345678901234567890}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": 1.5}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": NaN}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": "\\ud800"}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": "a", "name": "b"}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": "\\u00e9\\"\\n"}',
    '{"x_support": ["10", "01"], "y_support": ["11", "01"], "name": "plain"}',
    '{"x_support":["10","01"],"y_support":["11","01"],"name":"compact é \u2028 \ud800"}',
    '{"x_support":["10","01"],"y_support":["11","01"],"name":""}',
    '{"x_support":["10","01"],"y_support":["11","01"]} \r',
    '{"x_support":["10","01"],"y_support":["11","01"]}\t}',
    '{"x_support":["10","01"],"y_support":["11","01"]}garbage',
    '{"x_support":["10","01"],"y_support":["11","01"],"name":"a\\"b"}',
    '{"x_support":["10","01"],"y_support":["11","01"],"id":"i"}',
    '{"x_support":["10", "01"],"y_support":["11","01"]}',
    '{"x_support":["10","01"],"y_support":["11","0"]}',
    '{"x_support":["10","0"],"y_support":["11","01"]}',
    '{"x_support":["10","02"],"y_support":["11","01"]}',
    '{"x_support":["10","0０"],"y_support":["11","01"]}',
    '{"x_support":["1\\u0030","01"],"y_support":["11","01"]}',
    '{"x_support":["10","01"],"y_support":["11","01"],"x_support":["11","11"]}',
    '{"x_support":[""],"y_support":[""]}',
    '{"x_support":["10", "01"], "y_support": ["11", "01"]}',
    '{"x_support": ["10", "0\\n1"], "y_support": ["11", "01"]}',
    '{"x_support": ["10", "011"], "y_support": ["1", "01"]}',
    '{"x_support": ["10", "01"], "y_support": ["11", 1]}',
    '{"x_support": [[1, 0], [0, 1]], "y_support": ["11", "01"]}',
    '{"x_support": ["1", "1"], "y_support": ["1"], "id": 99999999999999999999}',
    '{"spec": "lu:2"}',
    '{"x_support": ["10"], "y_support": ["10"]',
    "[" * 3000,
    '{"x_support": [' + "[" * 70 + "]" * 70 + '], "y_support": ["1"]}',
    '{"x_support": ["1"], "y_support": ["1"], "extra": 1e400}',
]

#: The fast readers and writers: (plain-record reader, orjson); the reference is the json module alone.
FAST_PATHS = [(True, True), (True, False), (False, True)]


def _reference(monkeypatch, items: list[tuple[int, str]], fmt: str) -> tuple[list[dict], bytes]:
    """Rows and output bytes with neither fast reader nor orjson: the json module alone."""
    with monkeypatch.context() as patch:
        patch.setattr(batch_records, "_LAYOUTS", ())
        _no_orjson(patch)
        rows = classify_lines(items)
        return rows, format_rows(rows, fmt, batch_rows.columns(False))


def _no_orjson(patch) -> None:
    """The json module alone, for reading records and for writing rows."""
    patch.setattr(batch_records, "_orjson", None)
    patch.setattr(batch_rows, "_orjson", None)


@pytest.mark.parametrize(("plain", "fast_json"), FAST_PATHS)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_fast_readers_change_nothing(monkeypatch, fmt, plain, fast_json):
    items = list(enumerate(ODD_LINES, start=1))
    rng = np.random.default_rng(9)
    x, y = _random_batch(rng, 30, 3, 2, 2, 0.5)
    items += _lines(x, y, [None, "", 0, True, "x\x00y", "\u2028", "🙂", 7] + [f"n{b}" for b in range(22)])
    items += [(ln + 1000, text.replace(", ", ",").replace(": ", ":")) for ln, text in items]  # compact layout
    want_rows, want_bytes = _reference(monkeypatch, items, fmt)
    if not plain:
        monkeypatch.setattr(batch_records, "_LAYOUTS", ())
    if not fast_json:
        _no_orjson(monkeypatch)
    rows = classify_lines(items)
    assert rows == want_rows
    assert format_rows(rows, fmt, batch_rows.columns(False)) == want_bytes


@pytest.mark.parametrize("compact", [False, True])
def test_plain_records_are_read_without_decoding(monkeypatch, compact):
    rng = np.random.default_rng(4)
    x, y = _random_batch(rng, 50, 7, 70, 5, 0.3)
    names = [f"q{b}" if b % 3 else None for b in range(50)]
    items = _lines(x, y, names)
    if compact:
        items = [(ln, text.replace(", ", ",").replace(": ", ":")) for ln, text in items]
    monkeypatch.setattr(batch_records, "_decode", None)  # not called
    _no_orjson(monkeypatch)
    assert classify_lines(items) == [{"line": b + 1, "ok": True, **rec}
                                     for b, rec in enumerate(_expected(x, y, [t or "" for t in names]))]


@settings(max_examples=100, deadline=None)
@given(st.lists(batch_line(), min_size=1, max_size=6))
def test_fast_readers_change_nothing_on_fuzzed_lines(lines):
    items = [(ln, raw.decode("utf-8", errors="replace")) for ln, raw in enumerate(lines, start=1)]
    items = [(ln, text) for ln, text in items if text.strip()]
    columns = batch_rows.columns(False)
    saved = batch_records._LAYOUTS, batch_records._orjson
    budget = os.environ.get(MAX_BYTES_ENV)
    # fuzzed specs can name huge patterns (monarch:111 is 12321×12321): a small memory budget turns them into
    # error rows at once, which the readers must word identically too
    os.environ[MAX_BYTES_ENV] = "64M"
    try:
        batch_records._LAYOUTS, batch_records._orjson, batch_rows._orjson = (), None, None
        want = classify_lines(items)
        data = format_rows(want, "jsonl", columns)
        for plain, fast_json in FAST_PATHS:
            batch_records._LAYOUTS = saved[0] if plain else ()
            batch_records._orjson = batch_rows._orjson = saved[1] if fast_json else None
            rows = classify_lines(items)
            assert rows == want
            assert format_rows(rows, "jsonl", columns) == data
    finally:
        batch_records._LAYOUTS, batch_records._orjson = saved
        batch_rows._orjson = saved[1]
        if budget is None:
            os.environ.pop(MAX_BYTES_ENV, None)
        else:
            os.environ[MAX_BYTES_ENV] = budget


def test_a_lone_surrogate_in_a_name_is_written_as_its_json_escape():
    rows = classify_lines([(1, '{"x_support": ["1"], "y_support": ["1"], "name": "a\\ud800"}')])
    assert rows[0]["name"] == "a\ud800"
    line = format_rows(rows, "jsonl", batch_rows.columns(False))
    assert json.loads(line)["name"] == "a\ud800"
    assert b"a\\ud800" in format_rows(rows, "csv", batch_rows.columns(False))


def _csv_reference(rows: list[dict], columns: list[str]) -> bytes:
    """The CSV writer as it was before it was made faster: csv.DictWriter, lists and dicts as JSON."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    quoted = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n",
                            quoting=csv.QUOTE_ALL)
    for r in rows:
        rec = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()}
        (quoted if any(isinstance(v, str) and "\r" in v for v in rec.values()) else writer).writerow(rec)
    return buf.getvalue().encode("utf-8")


CSV_VALUES = [None, True, False, 0, -3, 2**70, 1.5, float("nan"), "", "a,b", 'q"x', "l\nm", "c\rd", "é🙂",
              [0, 1], [True, 2], [], {"a": [1, 2.5]}, "\u2028", "x\x00"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(batch_rows.columns(True, True) + ["extra"]),
                                st.sampled_from(CSV_VALUES)), max_size=4))
def test_csv_rows_are_those_of_the_dict_writer(rows):
    columns = batch_rows.columns(True, True)
    assert format_rows(rows, "csv", columns) == _csv_reference(rows, columns)


def test_patterns_with_many_components_take_the_sparse_path(monkeypatch):
    """Above KERNEL_MAX_R components the kernel's r×r word tables cost more than the sparse one-pattern path
    (monarch:111, r = 12321, ran for over 20 minutes in the kernel): such rows come from analyze(), unchanged."""
    p = family(f"lu:{batch_rows.KERNEL_MAX_R + 1}")
    monkeypatch.setattr(batch_rows, "classify_batch", None)  # the kernel is not called
    assert _vector_records(p.x_support[None], p.y_support[None], [p.name]) == [analyze(p, closedness=False).to_row()]
