"""Batch classification: per-line errors, resumability, CSV, jobs, directory input."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from wellposed.batch import run_batch
from wellposed.errors import InvalidSpecError
from wellposed.support import SupportPattern

from .catalogue import CASES_DIR, case_files


def _write_random(path, count, seed=0, m=5, n=5, r=4):
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for b in range(count):
            p = SupportPattern(rng.random((m, r)) < 0.5, rng.random((n, r)) < 0.5, name=f"p{b}")
            fh.write(json.dumps(p.to_json()) + "\n")


def _rows(path):
    return [json.loads(t) for t in path.read_text().split("\n")[:-1]]


def test_errors_are_reported_per_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        '{"spec": "lu:2"}',
        '{"x_support": ["12"], "y_support": ["10"]}',
        "not json at all",
        "",
        '{"spec": "lux:2"}',
        '{"x_support": ["10", "1"], "y_support": ["10"]}',
        '{"x_support": ["10"], "y_support": ["101"]}',
        '{"x_support": ["1"], "y_support": ["1"], "colour": "red"}',
        '["10"]',
        '{"spec": "diag:2"}',
    ]) + "\n")
    s = run_batch(src, tmp_path / "out.jsonl")
    rows = _rows(tmp_path / "out.jsonl")
    assert [r["line"] for r in rows] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert s.processed == 9 and s.errors == 7
    bad = {r["line"]: r["error"] for r in rows if not r["ok"]}
    assert "line 2" in bad[2] and "'2'" in bad[2]
    assert "line 3: invalid JSON" in bad[3]
    assert "unknown family" in bad[5]
    assert "ragged" in bad[6]
    assert "r = 2" in bad[7] and "r = 3" in bad[7]
    assert "colour" in bad[8]
    assert "JSON object" in bad[9]
    assert rows[0]["tractable"] is False and rows[-1]["tractable"] is True


def test_resume_after_partial_write(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_random(src, 300)
    run_batch(src, tmp_path / "ref.jsonl", chunk=64)
    ref = (tmp_path / "ref.jsonl").read_text()
    # simulate a run killed in the middle of writing a row
    lines = [t + "\n" for t in ref.split("\n")[:-1]]
    out.write_text("".join(lines[:130]) + lines[130][:25])
    s = run_batch(src, out, chunk=64)
    assert s.skipped == 130 and s.processed == 170
    got = sorted(_rows(out), key=lambda r: r["line"])
    assert got == _rows(tmp_path / "ref.jsonl")
    assert len({r["line"] for r in got}) == 300


def test_kill_and_restart_cli(tmp_path):
    """A real process killed mid-run and restarted loses and duplicates nothing."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_random(src, 20000, seed=3, m=8, n=8, r=8)
    cmd = [sys.executable, "-m", "wellposed", "batch", str(src), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 5000):
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = _rows(out)
    assert sorted(r["line"] for r in got) == list(range(1, 20001))
    run_batch(src, tmp_path / "ref.jsonl")
    assert sorted(got, key=lambda r: r["line"]) == _rows(tmp_path / "ref.jsonl")


def test_jobs_and_csv_agree(tmp_path):
    src = tmp_path / "in.jsonl"
    _write_random(src, 500, seed=1)
    run_batch(src, tmp_path / "a.jsonl", jobs=1, chunk=100)
    run_batch(src, tmp_path / "b.jsonl", jobs=2, chunk=100)
    assert _rows(tmp_path / "a.jsonl") == _rows(tmp_path / "b.jsonl")
    run_batch(src, tmp_path / "c.csv", jobs=2, chunk=100)
    import csv

    with (tmp_path / "c.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 500
    a = _rows(tmp_path / "a.jsonl")
    assert [r["dto"] == "True" for r in rows] == [r["dto"] for r in a]
    assert run_batch(src, tmp_path / "c.csv").skipped == 500


def test_directory_of_cases(tmp_path):
    s = run_batch(CASES_DIR, tmp_path / "cases.jsonl")
    rows = _rows(tmp_path / "cases.jsonl")
    assert s.errors == 0 and len(rows) == len(case_files())
    expected = {json.loads(p.read_text())["name"]: json.loads(p.read_text())["expected"] for p in case_files()}
    for row in rows:
        assert row["tractable"] == expected[row["name"]]["tractable"]


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidSpecError, match="does not exist"):
        run_batch(tmp_path / "none.jsonl", tmp_path / "o.jsonl")
    (tmp_path / "in.jsonl").write_text('{"spec": "lu:2"}\n')
    with pytest.raises(InvalidSpecError, match="extension"):
        run_batch(tmp_path / "in.jsonl", tmp_path / "o.txt")
    (tmp_path / "o.jsonl").write_text("garbage\n")
    with pytest.raises(InvalidSpecError, match="not a batch output"):
        run_batch(tmp_path / "in.jsonl", tmp_path / "o.jsonl")


def test_line_numbers_with_unusual_line_ends(tmp_path):
    """CRLF endings and U+2028 inside strings: every path numbers lines by b'\\n' only."""
    src = tmp_path / "in.jsonl"
    recs = ['{"spec": "lu:2"}', '{"name": "a\u2028b", "x_support": ["1"], "y_support": ["1"]}', "", "oops\r",
            '{"spec": "diag:2"}']
    src.write_bytes(("\r\n".join(recs) + "\r\n").encode("utf-8"))
    a = run_batch(src, tmp_path / "a.jsonl", jobs=1, chunk=2)
    b = run_batch(src, tmp_path / "b.jsonl", jobs=2, chunk=2)
    assert a.processed == b.processed == 4
    rows = _rows(tmp_path / "a.jsonl")
    assert rows == _rows(tmp_path / "b.jsonl")
    assert [r["line"] for r in rows] == [1, 2, 4, 5]
    assert rows[1]["name"] == "a\u2028b" and not rows[2]["ok"]


def test_resume_with_jobs(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_random(src, 700, seed=5)
    run_batch(src, tmp_path / "ref.jsonl", chunk=100)
    ref = _rows(tmp_path / "ref.jsonl")
    keep = [r for r in ref if r["line"] % 3 == 0]  # holes everywhere, as if rows were written out of order
    out.write_text("".join(json.dumps(r) + "\n" for r in keep))
    s = run_batch(src, out, jobs=2, chunk=100)
    assert s.skipped == len(keep) and s.processed == 700 - len(keep)
    assert sorted(_rows(out), key=lambda r: r["line"]) == ref


def test_npz_batch_equals_jsonl(tmp_path):
    rng = np.random.default_rng(11)
    x, y = rng.random((300, 4, 3)) < 0.5, rng.random((300, 5, 3)) < 0.5
    names = np.array([f"p{b}" for b in range(300)])
    np.savez(tmp_path / "in.npz", x_support=x, y_support=y, names=names)
    with (tmp_path / "in.jsonl").open("w") as fh:
        for b in range(300):
            fh.write(json.dumps(SupportPattern(x[b], y[b], name=f"p{b}").to_json()) + "\n")
    run_batch(tmp_path / "in.npz", tmp_path / "a.jsonl", chunk=64, jobs=2)
    run_batch(tmp_path / "in.jsonl", tmp_path / "b.jsonl", chunk=64)
    assert _rows(tmp_path / "a.jsonl") == _rows(tmp_path / "b.jsonl")
    # resume an .npz batch with holes
    out = tmp_path / "c.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in _rows(tmp_path / "b.jsonl") if r["line"] % 2))
    assert run_batch(tmp_path / "in.npz", out, chunk=64).processed == 150
    assert sorted(_rows(out), key=lambda r: r["line"]) == _rows(tmp_path / "b.jsonl")
    np.savez(tmp_path / "bad.npz", x_support=x, y_support=y[:10])
    with pytest.raises(InvalidSpecError, match="same B"):
        run_batch(tmp_path / "bad.npz", tmp_path / "d.jsonl")
    np.savez(tmp_path / "bad2.npz", x_support=x.astype(int) * 2, y_support=y)
    with pytest.raises(InvalidSpecError, match="only 0/1"):
        run_batch(tmp_path / "bad2.npz", tmp_path / "e.jsonl")
