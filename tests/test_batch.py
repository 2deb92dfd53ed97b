"""Batch classification: per-line errors, resumability, CSV, jobs, directory input, fingerprints, hostile input."""

import csv
import errno
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from wellposed.batch import run_batch
from wellposed.errors import InvalidSpecError, OutputConflictError, OutputError
from wellposed.io import batch_input as batch_module
from wellposed.io.resumable import read_output
from wellposed.support import SupportPattern

from .catalogue import CASES_DIR, case_files


def _write_random(path, count, seed=0, m=5, n=5, r=4):
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for b in range(count):
            p = SupportPattern(rng.random((m, r)) < 0.5, rng.random((n, r)) < 0.5, name=f"p{b}")
            fh.write(json.dumps(p.to_json()) + "\n")


def _rows(path):
    """The rows of a JSONL batch output (the header line left out)."""
    header, rows = read_output(path)
    assert header["wellposed_batch"] == 1
    return rows


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "wellposed", "batch", *map(str, args), "--quiet"],
                          capture_output=True, text=True, timeout=300)


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


def test_deep_nesting_is_an_error_row_under_a_raised_recursion_limit():
    """A notebook or a library may raise the recursion limit; json.loads of 100 000 '[' then overflows the C
    stack (a segmentation fault) before any RecursionError: the record must not reach it (a subprocess, so
    that a crash fails this test, not the run)."""
    code = ("import sys; sys.setrecursionlimit(10**6)\n"
            "from wellposed.batch.rows import classify_lines\n"
            "print(classify_lines([(1, '[' * 100000), (2, '{\"spec\": \"lu:2\"}')])[0]['error'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])
    assert proc.stdout.strip() == "line 1: JSON nested deeper than 64 levels; a pattern record needs 3."


def test_hostile_records_are_error_rows(tmp_path):
    """Nesting 100 000 deep and a 5000-digit integer are error rows naming their line, on every path."""
    src = tmp_path / "in.jsonl"
    lines = ['{"spec": "lu:2"}', "[" * 100_000, '{"x_support": ["1"], "y_support": ["1"], "name": ' + "9" * 5000 + "}",
             '{"x_support": ' + "[" * 70 + "]" * 70 + ', "y_support": ["1"]}',
             '{"x_support": [' + ",".join(["[1]"] * 70) + '], "y_support": ["1"], "id": ' + "1" * 200 + "}",
             '{"x_support": ["1"], "y_support": ["1"], "name": ' + "[" * 900 + "]" * 900 + "}",
             '{"spec": "diag:2"}']
    src.write_text("\n".join(lines) + "\n")
    for jobs, out in ((1, "a.jsonl"), (2, "b.jsonl")):
        s = run_batch(src, tmp_path / out, jobs=jobs, chunk=2)
        assert s.processed == 7 and s.errors == 5
    rows = _rows(tmp_path / "a.jsonl")
    assert rows == _rows(tmp_path / "b.jsonl")
    bad = {r["line"]: r["error"] for r in rows if not r["ok"]}
    assert bad[2] == "line 2: JSON nested deeper than 64 levels; a pattern record needs 3."
    assert bad[3].startswith("line 3:") and "5000 digits" in bad[3]
    assert bad[4].startswith("line 4:") and "nested deeper" in bad[4]
    assert bad[5].startswith("line 5:") and "200 digits" in bad[5]
    assert bad[6].startswith("line 6:") and "nested deeper" in bad[6]
    assert rows[0]["ok"] and rows[-1]["ok"]
    # a directory member and the CLI (exit 3 = finished with invalid records, never a traceback)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "deep.json").write_text('{"x_support": ' + "[" * 100_000)
    (tmp_path / "dir" / "ok.json").write_text('{"spec": "lu:2"}')
    proc = _cli(tmp_path / "dir", "--out", tmp_path / "dir.jsonl")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "file 'deep.json': JSON nested deeper" in proc.stderr


def test_resume_after_partial_write(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_random(src, 300)
    run_batch(src, tmp_path / "ref.jsonl", chunk=64)
    ref = (tmp_path / "ref.jsonl").read_text()
    # simulate a run killed in the middle of writing a row (line 0 is the header)
    lines = [t + "\n" for t in ref.split("\n")[:-1]]
    out.write_text("".join(lines[:131]) + lines[131][:25])
    s = run_batch(src, out, chunk=64)
    assert s.skipped == 130 and s.processed == 170
    assert out.read_text() == ref  # the same bytes as an uninterrupted run
    assert len({r["line"] for r in _rows(out)}) == 300


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_after_a_cut_anywhere(tmp_path, fmt):
    """Cut the output at many byte offsets (inside the header, rows and quoted fields): resuming gives
    the bytes of an uninterrupted run."""
    src = tmp_path / "in.jsonl"
    names = ["plain", "cr\rinside", "lf\ninside", "crlf\r\n", "ls\u2028ps\u2029", 'quote"comma,', "tab\tnul\x00"]
    with src.open("w", encoding="utf-8") as fh:
        for i in range(40):
            p = SupportPattern(["10", "11"] if i % 2 else ["1"], ["01", "11"] if i % 2 else ["1"],
                               name=names[i % len(names)] + str(i))
            fh.write(json.dumps(p.to_json()) + "\n")
        fh.write("not json\n")
    ref_path = tmp_path / f"ref.{fmt}"
    run_batch(src, ref_path, chunk=7)
    ref = ref_path.read_bytes()
    out = tmp_path / f"out.{fmt}"
    meta = tmp_path / "ref.csv.meta.json"
    marks = b'\r\n"' if fmt == "csv" else b"\n"  # just after a line end (CSV: or a quote, inside quoted fields)
    special = [i + 1 for i, byte in enumerate(ref) if byte in marks]
    for cut in sorted({*range(0, len(ref), max(1, len(ref) // 97)), *range(len(ref) - 40, len(ref)), *special}):
        out.write_bytes(ref[:cut])
        if fmt == "csv":
            (tmp_path / "out.csv.meta.json").write_bytes(meta.read_bytes())
        run_batch(src, out, chunk=7, jobs=1)
        assert out.read_bytes() == ref, cut
    # names come back exactly, from JSONL and from CSV
    header, rows = read_output(ref_path)
    got = [r["name"] for r in rows if r["ok"] in (True, "True")]
    assert got == [names[i % len(names)] + str(i) for i in range(40)]
    if fmt == "csv":
        assert header == json.loads(meta.read_text())
        with ref_path.open(newline="", encoding="utf-8") as fh:
            assert [r["name"] for r in csv.DictReader(fh)][:40] == got


def test_kill_and_restart_cli(tmp_path):
    """A real process killed mid-run and restarted loses and duplicates nothing: same bytes as one run."""
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
    assert sorted(r["line"] for r in _rows(out)) == list(range(1, 20001))
    run_batch(src, tmp_path / "ref.jsonl")
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_jobs_and_csv_agree(tmp_path):
    src = tmp_path / "in.jsonl"
    _write_random(src, 500, seed=1)
    run_batch(src, tmp_path / "a.jsonl", jobs=1, chunk=100)
    run_batch(src, tmp_path / "b.jsonl", jobs=2, chunk=100)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    run_batch(src, tmp_path / "c.csv", jobs=2, chunk=100)
    with (tmp_path / "c.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 500
    a = _rows(tmp_path / "a.jsonl")
    assert [r["dto"] == "True" for r in rows] == [r["dto"] for r in a]
    assert run_batch(src, tmp_path / "c.csv").skipped == 500
    # the CSV stays plain CSV; its header object is the sidecar, equal to the JSONL header line
    assert (tmp_path / "c.csv").read_text().startswith("line,ok,error,name,")
    assert read_output(tmp_path / "c.csv")[0] == read_output(tmp_path / "a.jsonl")[0]


def test_directory_of_cases(tmp_path):
    s = run_batch(CASES_DIR, tmp_path / "cases.jsonl")
    header, rows = read_output(tmp_path / "cases.jsonl")
    assert header["input"] == {"kind": "directory"}
    assert s.errors == 0 and len(rows) == len(case_files())
    expected = {json.loads(p.read_text())["name"]: json.loads(p.read_text())["expected"] for p in case_files()}
    for row in rows:
        assert row["tractable"] == expected[row["name"]]["tractable"]
    assert [r["file"] for r in rows] == sorted(p.name for p in case_files())
    assert list(rows[0])[:4] == ["line", "file", "file_sha256", "ok"]
    assert run_batch(CASES_DIR, tmp_path / "cases.jsonl").skipped == len(rows)


def _case(folder, name, spec):
    (folder / name).write_text(json.dumps({"spec": spec}))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_directory_resumes_by_file_name(tmp_path, fmt):
    folder = tmp_path / "cases"
    folder.mkdir()
    for i, spec in enumerate(["lu:2", "diag:2", "lu:3"]):
        _case(folder, f"c{i}.json", spec)
    out = tmp_path / f"out.{fmt}"
    assert run_batch(folder, out).processed == 3
    before = out.read_bytes()
    _case(folder, "a-first.json", "diag:3")  # sorts before every classified file
    s = run_batch(folder, out)
    assert (s.processed, s.skipped) == (1, 3)
    assert out.read_bytes().startswith(before)
    rows = read_output(out)[1]
    assert [r["file"] for r in rows] == ["c0.json", "c1.json", "c2.json", "a-first.json"]
    assert rows[-1]["name"] == "diag:3"
    assert run_batch(folder, out).processed == 0
    # a classified file that changed, or disappeared, makes the rows stale: refused, nothing written
    _case(folder, "c1.json", "lu:4")
    with pytest.raises(OutputConflictError, match=r"changed since they were classified \(c1.json\).*--restart"):
        run_batch(folder, out)
    (folder / "c1.json").unlink()
    with pytest.raises(OutputConflictError, match=r"no longer in .*\(c1.json\)"):
        run_batch(folder, out)
    assert len(read_output(out)[1]) == 4
    s = run_batch(folder, out, restart=True)
    assert (s.processed, s.skipped) == (3, 0)
    # the output inside the input directory is not read as a case
    inside = folder / f"rows.{fmt if fmt == 'csv' else 'json'}"
    assert run_batch(folder, inside).processed == 3
    assert run_batch(folder, inside).processed == 0


def test_changed_input_is_refused_then_restarted(tmp_path):
    """Issue: a changed input line must not reuse rows: exit 5 with the difference; --restart = fresh run."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_random(src, 50, seed=4)
    assert _cli(src, "--out", out).returncode == 0
    lines = src.read_text().splitlines(keepends=True)
    lines[10] = json.dumps({"spec": "lu:3"}) + "\n"
    src.write_text("".join(lines))
    before = out.read_bytes()
    proc = _cli(src, "--out", out)
    assert proc.returncode == 5
    assert "input sha256" in proc.stderr and "--restart" in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == before
    assert _cli(src, "--out", out, "--restart").returncode == 0
    run_batch(src, tmp_path / "ref.jsonl")
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert _rows(out)[10]["name"] == "lu:3"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_options_and_foreign_outputs_are_refused(tmp_path, fmt):
    src, out = tmp_path / "in.jsonl", tmp_path / f"out.{fmt}"
    src.write_text('{"spec": "lu:2"}\n{"spec": "diag:2"}\n')
    run_batch(src, out)
    before = out.read_bytes()
    with pytest.raises(OutputConflictError, match="options closedness: False in the output, True now"):
        run_batch(src, out, closedness=True, timeout=2.0)
    assert out.read_bytes() == before
    run_batch(src, out, closedness=True, timeout=2.0, restart=True)
    with pytest.raises(OutputConflictError, match="options timeout: 2.0 in the output, 3.0 now"):
        run_batch(src, out, closedness=True, timeout=3.0)
    with pytest.raises(OutputConflictError, match="closedness: True in the output, False now"):
        run_batch(src, out)
    assert run_batch(src, out, closedness=True, timeout=2).skipped == 2  # 2 == 2.0
    if fmt == "csv":
        (tmp_path / "out.csv.meta.json").unlink()
        with pytest.raises(OutputConflictError, match="no fingerprint file 'out.csv.meta.json'"):
            run_batch(src, out, closedness=True, timeout=2.0)
    else:
        out.write_text('{"line": 1, "ok": true}\n')  # an output of an older wellposed: no header
        with pytest.raises(OutputConflictError, match="not a batch output"):
            run_batch(src, out)
        out.write_text('{"wellposed_census": 1, "fingerprint": "x", "options": {}}\n{"key": "k"}\n')
        with pytest.raises(OutputConflictError, match="by `wellposed census`"):
            run_batch(src, out)
        assert out.read_text().endswith('{"key": "k"}\n')


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidSpecError, match="does not exist"):
        run_batch(tmp_path / "none.jsonl", tmp_path / "o.jsonl")
    (tmp_path / "in.jsonl").write_text('{"spec": "lu:2"}\n')
    with pytest.raises(InvalidSpecError, match="extension"):
        run_batch(tmp_path / "in.jsonl", tmp_path / "o.txt")
    for bad in ({"jobs": 0}, {"chunk": 0}, {"timeout": -1.0}):
        with pytest.raises(InvalidSpecError, match=f"{next(iter(bad))} = "):
            run_batch(tmp_path / "in.jsonl", tmp_path / "o.jsonl", **bad)
    with pytest.raises(InvalidSpecError, match="is the input file"):
        run_batch(tmp_path / "in.jsonl", tmp_path / "in.jsonl", restart=True)
    (tmp_path / "o.jsonl").write_text("garbage\n")
    with pytest.raises(OutputConflictError, match="not a batch output"):
        run_batch(tmp_path / "in.jsonl", tmp_path / "o.jsonl")
    assert (tmp_path / "o.jsonl").read_text() == "garbage\n"  # never touched


def test_unwritable_outputs(tmp_path, monkeypatch):
    src = tmp_path / "in.jsonl"
    _write_random(src, 30)
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        run_batch(src, tmp_path / "dir.jsonl")
    (tmp_path / "loop1.jsonl").symlink_to(tmp_path / "loop2.jsonl")
    (tmp_path / "loop2.jsonl").symlink_to(tmp_path / "loop1.jsonl")
    with pytest.raises(OutputError, match="symbolic link loop"):
        run_batch(src, tmp_path / "loop1.jsonl")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="--out"):
        run_batch(src, tmp_path / "file" / "o.jsonl")
    (tmp_path / "full.jsonl").symlink_to("/dev/full")
    with pytest.raises(OutputError, match="not a regular file"):
        run_batch(src, tmp_path / "full.jsonl")
    # the CLI: exit 4 with one line
    proc = _cli(src, "--out", tmp_path / "dir.jsonl")
    assert proc.returncode == 4 and proc.stderr.startswith("error: --out = ") and "Traceback" not in proc.stderr

    # a disk that fills up after some rows: OutputError, and the rows written so far resume cleanly
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(batch_module.os, "fsync", fsync)
    out = tmp_path / "o.jsonl"
    with pytest.raises(OutputError, match="No space left on device.*free disk space"):
        run_batch(src, out, chunk=10)
    monkeypatch.setattr(batch_module.os, "fsync", real_fsync)
    assert 0 < run_batch(src, out, chunk=10).skipped < 30
    run_batch(src, tmp_path / "ref.jsonl", chunk=10)
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


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
    header = (tmp_path / "ref.jsonl").read_text().split("\n")[0]
    ref = _rows(tmp_path / "ref.jsonl")
    keep = [r for r in ref if r["line"] % 3 == 0]  # holes everywhere, as if rows were written out of order
    out.write_text(header + "\n" + "".join(json.dumps(r) + "\n" for r in keep))
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
    assert read_output(tmp_path / "a.jsonl")[0]["input"]["kind"] == "npz"
    # resume an .npz batch with holes
    out = tmp_path / "c.jsonl"
    ref = (tmp_path / "a.jsonl").read_text().split("\n")
    out.write_text(ref[0] + "\n" + "".join(json.dumps(r) + "\n" for r in _rows(tmp_path / "b.jsonl") if r["line"] % 2))
    assert run_batch(tmp_path / "in.npz", out, chunk=64).processed == 150
    assert sorted(_rows(out), key=lambda r: r["line"]) == _rows(tmp_path / "b.jsonl")
    np.savez(tmp_path / "bad.npz", x_support=x, y_support=y[:10])
    with pytest.raises(InvalidSpecError, match="same B"):
        run_batch(tmp_path / "bad.npz", tmp_path / "d.jsonl")
    np.savez(tmp_path / "bad2.npz", x_support=x.astype(int) * 2, y_support=y)
    with pytest.raises(InvalidSpecError, match="only 0/1"):
        run_batch(tmp_path / "bad2.npz", tmp_path / "e.jsonl")
    assert not (tmp_path / "d.jsonl").exists()  # a bad input creates no output


def _npy_bytes(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize("case,message", [
    ("npy", "is a .npy file"),
    ("garbage", "not an .npz archive"),
    ("truncated", "cannot read the .npz archive"),
    ("r0", "r (components) = 0"),
    ("m0", "m (rows of x_support) = 0"),
    ("object", "dtype object"),
    ("object_names", "names has dtype object"),
    ("two_axes", "need 3 axes"),
    ("names_shape", "names has shape"),
    ("missing", "missing ['y_support']"),
    ("huge", "declares shape"),
    ("complex", "not numeric"),
])
def test_bad_npz_inputs(tmp_path, case, message):
    """Every malformed .npz is an InvalidSpecError naming the file and the fix (exit 2), never a traceback."""
    path = tmp_path / "in.npz"
    x, y = np.zeros((3, 2, 2), bool), np.zeros((3, 2, 2), bool)
    if case == "npy":
        np.save(tmp_path / "a.npy", x)
        (tmp_path / "a.npy").rename(path)
    elif case == "garbage":
        path.write_bytes(b"hello, not a zip")
    elif case == "truncated":
        np.savez_compressed(path, x_support=x, y_support=y)
        path.write_bytes(path.read_bytes()[:-30])
    elif case == "r0":
        np.savez(path, x_support=np.zeros((3, 2, 0)), y_support=np.zeros((3, 2, 0)))
    elif case == "m0":
        np.savez(path, x_support=np.zeros((3, 0, 2)), y_support=y)
    elif case in ("object", "object_names"):
        with zipfile.ZipFile(path, "w") as zf:
            obj = np.array([[[1, 0]]] * 3, dtype=object)
            zf.writestr("x_support.npy", _npy_bytes(obj if case == "object" else x))
            zf.writestr("y_support.npy", _npy_bytes(y))
            if case == "object_names":
                zf.writestr("names.npy", _npy_bytes(np.array(["a", "b", "c"], dtype=object)))
    elif case == "two_axes":
        np.savez(path, x_support=np.zeros((3, 2)), y_support=y)
    elif case == "names_shape":
        np.savez(path, x_support=x, y_support=y, names=np.array(["a", "b"]))
    elif case == "missing":
        np.savez(path, x_support=x)
    elif case == "huge":  # a header claiming 10^12 patterns in a tiny file: refused before allocating
        with zipfile.ZipFile(path, "w") as zf:
            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(head, {"descr": "|b1", "fortran_order": False,
                                                        "shape": (10**12, 4, 4)})
            zf.writestr("x_support.npy", head.getvalue() + b"\x00" * 64)
            zf.writestr("y_support.npy", _npy_bytes(y))
    elif case == "complex":
        np.savez(path, x_support=x.astype(complex), y_support=y)
    with pytest.raises(InvalidSpecError, match="in.npz") as info:
        run_batch(path, tmp_path / "o.jsonl")
    assert message in str(info.value)
    assert not (tmp_path / "o.jsonl").exists()
    proc = _cli(path, "--out", tmp_path / "o.jsonl")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and message in proc.stderr


def test_npz_over_memory_is_a_resource_error(tmp_path, monkeypatch):
    from wellposed.errors import ResourceLimitError

    path = tmp_path / "in.npz"
    np.savez(path, x_support=np.zeros((64, 8, 8), bool), y_support=np.zeros((64, 8, 8), bool))
    monkeypatch.setattr(batch_module.os, "sysconf", lambda name: 64 if name == "SC_PHYS_PAGES" else 64)
    with pytest.raises(ResourceLimitError, match="split the batch into several .npz files"):
        run_batch(path, tmp_path / "o.jsonl")
