"""ordered_map: order, bounded in-flight work, errors; batch runs on a local Dask cluster match local runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wellposed import executors
from wellposed.batch import run_batch
from wellposed.cli import main
from wellposed.errors import BackendNotAvailableError, InvalidSpecError
from wellposed.executors import ordered_map


def _square(x: int) -> int:
    return x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("item three")
    return x


class _Counting:
    """An iterable that counts how many items were pulled."""

    def __init__(self, n: int) -> None:
        self.n, self.pulled = n, 0

    def __iter__(self):
        for i in range(self.n):
            self.pulled += 1
            yield i


@pytest.mark.parametrize("jobs", [1, 2])
def test_order_and_values(jobs: int) -> None:
    assert list(ordered_map(_square, range(23), jobs=jobs)) == [i * i for i in range(23)]
    assert list(ordered_map(_square, [], jobs=jobs)) == []


@pytest.mark.parametrize("jobs,bound", [(1, None), (2, 3)])
def test_bounded_in_flight(jobs: int, bound: int | None) -> None:
    src = _Counting(100)
    gen = ordered_map(_square, src, jobs=jobs, max_in_flight=bound)
    assert next(gen) == 0
    assert src.pulled <= (bound or 1)
    gen.close()
    assert src.pulled <= (bound or 1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_error_at_its_position(jobs: int) -> None:
    got = []
    with pytest.raises(ValueError, match="item three"):
        for v in ordered_map(_fail_on_three, range(6), jobs=jobs):
            got.append(v)
    assert got == [0, 1, 2]


def test_validation() -> None:
    with pytest.raises(InvalidSpecError, match="jobs = 0"):
        ordered_map(_square, [1], jobs=0)
    with pytest.raises(InvalidSpecError, match="not callable"):
        ordered_map(3, [1])  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="tcp://127.0.0.1:8786"):
        ordered_map(_square, [1], scheduler="localhost:8786")
    with pytest.raises(InvalidSpecError, match="scheme 'http'"):
        ordered_map(_square, [1], scheduler="http://localhost:8786")
    with pytest.raises(InvalidSpecError, match="max_in_flight"):
        ordered_map(_square, [1], max_in_flight=0)


def test_dask_missing_names_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "dask_available", lambda: False)
    with pytest.raises(BackendNotAvailableError, match=r'pip install "dask\[distributed\]"'):
        ordered_map(_square, [1], scheduler="tcp://127.0.0.1:8786")


def _batch_input(path: Path, count: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(count):
        m, n, r = (int(v) for v in rng.integers(1, 5, size=3))
        x, y = rng.random((m, r)) < 0.5, rng.random((n, r)) < 0.5
        lines.append(json.dumps({"name": f"p{i}", "x_support": ["".join("1" if v else "0" for v in row) for row in x],
                                 "y_support": ["".join("1" if v else "0" for v in row) for row in y]}))
    lines.insert(count // 2, "not json")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_pool_matches_in_process(tmp_path: Path) -> None:
    src = _batch_input(tmp_path / "in.jsonl", 600)
    run_batch(src, tmp_path / "a.jsonl", chunk=50)
    run_batch(src, tmp_path / "b.jsonl", chunk=50, jobs=2)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    run_batch(src, tmp_path / "a.csv", chunk=50)
    run_batch(src, tmp_path / "b.csv", chunk=50, jobs=2)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def _death_signal_and_watchdog(_: int) -> tuple[int | None, bool]:
    """In a pool worker: the parent-death signal the kernel holds for us (Linux), and the watchdog thread."""
    import ctypes
    import threading

    sig = None
    if sys.platform.startswith("linux"):
        value = ctypes.c_int(-1)
        ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
        sig = value.value
    return sig, any(t.name == "wellposed-parent-watch" for t in threading.enumerate())


def test_pool_workers_die_with_their_parent() -> None:
    """Every worker arms SIGKILL on parent death (Linux) and runs the getppid watchdog (everywhere)."""
    got = list(ordered_map(_death_signal_and_watchdog, range(4), jobs=2))
    expected_signal = int(signal.SIGKILL) if sys.platform.startswith("linux") else None
    assert got == [(expected_signal, True)] * 4


def test_die_with_parent_exits_when_the_owner_is_gone() -> None:
    """A worker whose owner has already exited (it died before the initializer ran) exits at once."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60)
    code = f"from wellposed.executors import die_with_parent; die_with_parent({int(gone.stdout)}); print('survived')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "survived" not in proc.stdout


# ---------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_address():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.mark.requires_dask
def test_dask_ordered_map(dask_address: str) -> None:
    assert list(ordered_map(_square, range(40), scheduler=dask_address, max_in_flight=5)) == [
        i * i for i in range(40)]
    got = []
    with pytest.raises(ValueError, match="item three"):
        for v in ordered_map(_fail_on_three, range(6), scheduler=dask_address):
            got.append(v)
    assert got == [0, 1, 2]


@pytest.mark.requires_dask
def test_dask_batch_matches_local_and_resumes(tmp_path: Path, dask_address: str) -> None:
    src = _batch_input(tmp_path / "in.jsonl", 1500, seed=1)
    local = run_batch(src, tmp_path / "local.jsonl", chunk=150)
    remote = run_batch(src, tmp_path / "dask.jsonl", chunk=150, scheduler=dask_address)
    assert (local.processed, local.errors) == (remote.processed, remote.errors) == (1501, 1)
    assert (tmp_path / "local.jsonl").read_bytes() == (tmp_path / "dask.jsonl").read_bytes()
    # resume on the cluster from a partial (cut mid-row) output: same bytes in the end
    data = (tmp_path / "local.jsonl").read_bytes()
    (tmp_path / "part.jsonl").write_bytes(data[: len(data) // 3])
    resumed = run_batch(src, tmp_path / "part.jsonl", chunk=150, scheduler=dask_address)
    assert resumed.skipped > 0
    assert (tmp_path / "part.jsonl").read_bytes() == data
    # a directory input on the cluster: the same rows (with file names) as locally
    folder = tmp_path / "cases"
    folder.mkdir()
    for i, line in enumerate(src.read_text().splitlines()[:40]):
        (folder / f"c{i:02d}.json").write_text(line)
    run_batch(folder, tmp_path / "dir-local.jsonl", chunk=7)
    run_batch(folder, tmp_path / "dir-dask.jsonl", chunk=7, scheduler=dask_address)
    assert (tmp_path / "dir-local.jsonl").read_bytes() == (tmp_path / "dir-dask.jsonl").read_bytes()
    # the CLI passes --scheduler through (CSV output this time)
    assert main(["batch", str(src), "--out", str(tmp_path / "cli.csv"), "--scheduler", dask_address,
                 "--quiet"]) == 3
    assert main(["batch", str(src), "--out", str(tmp_path / "cli-local.csv"), "--quiet"]) == 3
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "cli-local.csv").read_bytes()


@pytest.mark.requires_dask
def test_unreachable_scheduler() -> None:
    gen = ordered_map(_square, [1], scheduler="tcp://127.0.0.1:9", connect_timeout=1.0)
    with pytest.raises(InvalidSpecError, match="cannot reach a Dask scheduler"):
        next(gen)
