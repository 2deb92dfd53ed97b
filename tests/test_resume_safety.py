"""Trustworthy runs with real processes: output locks, workers that die with their parent, kill -9 and resume.

Every test starts ``wellposed`` (or ``run_batch``) in a separate process, kills it with ``SIGKILL`` where
needed, and compares the final output with the bytes of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from wellposed.batch import run_batch
from wellposed.io.outputs import lock_output
from wellposed.io.resumable import read_output
from wellposed.support import SupportPattern

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")

_NAMES = ["plain", "cr\rin", "lf\nin", "crlf\r\n", "ls\u2028", 'q"c,', "é"]


def _patterns(count: int, seed: int, size: int = 8) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for b in range(count):
        p = SupportPattern(rng.random((size, size)) < 0.5, rng.random((size, size)) < 0.5,
                           name=_NAMES[b % len(_NAMES)] + str(b))
        out.append(p.to_json())
    return out


def _wait_for(predicate, timeout: float = 60.0, step: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, state)}`` of every process, from /proc/*/stat."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "(command name)"
        table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _descendants(pid: int) -> set[int]:
    table = _process_table()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    table = _process_table()
    return {p for p in pids if p in table and table[p][1] not in "ZX"}  # zombies are dead


_SLOW_BATCH = """
import sys, threading, time
from wellposed.batch import run_batch
if sys.argv[3] == "forkserver":  # a second thread makes the pool use a fork server
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
run_batch(sys.argv[1], sys.argv[2], jobs=2, closedness=True, chunk=200)
"""


@pytest.mark.parametrize("how", ["cli", "forkserver"])
def test_workers_die_with_a_killed_parent(tmp_path: Path, how: str) -> None:
    """kill -9 of a ``batch --jobs 2`` parent: its worker processes are gone within seconds."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps({"spec": f"lu:{3 + i % 4}"}) + "\n" for i in range(40000)))
    if how == "cli":
        cmd = [sys.executable, "-m", "wellposed", "batch", str(src), "--out", str(out), "--jobs", "2",
               "--closedness", "--quiet"]
    else:
        cmd = [sys.executable, "-c", _SLOW_BATCH, str(src), str(out), how]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # wait until the pool runs: two busy workers (plus the fork server, if any)
        assert _wait_for(lambda: len(_descendants(proc.pid)) >= 2, step=0.05), "no worker processes started"
        time.sleep(1.0)
        workers = _descendants(proc.pid)
        assert proc.poll() is None and len(_alive(workers)) >= 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait_for(lambda: not _alive(workers), timeout=5.0, step=0.05), (
            f"workers {sorted(_alive(workers))} outlived their parent")
    finally:
        for pid in _alive(_descendants(proc.pid)) | ({proc.pid} if proc.poll() is None else set()):
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_second_run_on_the_same_output_exits_5_at_once(tmp_path: Path, fmt: str) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / f"out.{fmt}"
    src.write_text("".join(json.dumps({"spec": f"lu:{3 + i % 4}"}) + "\n" for i in range(20000)))
    cmd = [sys.executable, "-m", "wellposed", "batch", str(src), "--out", str(out), "--closedness", "--quiet"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: _size(out) > 0, step=0.01)
        before = out.read_bytes()
        t0 = time.monotonic()
        for extra in ([], ["--restart"]):  # not even --restart may touch a file another run writes
            second = subprocess.run(cmd + extra, capture_output=True, text=True, timeout=120)
            assert second.returncode == 5, second.stderr
            assert "being written by another running process" in second.stderr
            assert "Traceback" not in second.stderr
        assert time.monotonic() - t0 < 60  # at once: it does not wait for the first run
        assert first.poll() is None
        assert out.read_bytes().startswith(before)
    finally:
        first.kill()
        first.wait(timeout=30)
    # the lock dies with its process, even killed
    with lock_output(out):
        pass


_RESUMABLE_BATCH = """
import sys
from wellposed.batch import run_batch
run_batch(sys.argv[1], sys.argv[2], chunk=int(sys.argv[3]))
"""


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("source", ["file", "directory"])
def test_kill_anywhere_and_resume_gives_the_uninterrupted_bytes(tmp_path: Path, fmt: str, source: str) -> None:
    """Kill -9 at random moments (mid-row included), resume each time: byte-identical to one clean run."""
    records = _patterns(1500, seed=7)
    records.insert(700, {"x_support": ["12"], "y_support": ["1"]})  # an error row too
    if source == "file":
        src = tmp_path / "in.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        src = tmp_path / "cases"
        src.mkdir()
        for i, rec in enumerate(records):
            (src / f"case-{i:05d}.json").write_text(json.dumps(rec), encoding="utf-8")
    ref = tmp_path / f"ref.{fmt}"
    run_batch(src, ref, chunk=3)
    expected = ref.read_bytes()
    out = tmp_path / f"out.{fmt}"
    cmd = [sys.executable, "-c", _RESUMABLE_BATCH, str(src), str(out), "3"]
    rng = np.random.default_rng(1)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = _size(out) + int(rng.integers(1, max(2, len(expected) // 6)))
        _wait_for(lambda target=target, proc=proc: _size(out) >= target or proc.poll() is not None, step=0.0005)
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.wait(timeout=60)
    assert kills >= 1, "every run finished before it could be killed"
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    assert out.read_bytes() == expected
    rows = read_output(out)[1]
    assert len(rows) == len(records)
    assert len({r["file"] if source == "directory" else r["line"] for r in rows}) == len(records)
