"""Progress callbacks of the long computations, and the one progress bar of the CLI (stderr only)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from wellposed.solvers.butterfly import factorize

from tests.golden_cli import GOLDEN, ROOT, normalize
from wellposed.cli import main
from wellposed.cli.progress import progress_bar, wants_progress
from wellposed.closedness import decide_closedness
from wellposed.closedness.census import run_census
from wellposed.errors import InvalidSpecError
from wellposed.families import family
from wellposed.kronecker import dyadic_butterfly
from wellposed.network import analyze_network
from wellposed.support import SupportPattern


def _recorder() -> tuple[list[tuple[int, int]], object]:
    calls: list[tuple[int, int]] = []
    return calls, lambda done, total: calls.append((done, total))


def _assert_monotone_to_total(calls: list[tuple[int, int]], total: int) -> None:
    assert calls, "the callback was never called"
    assert all(t == total for _, t in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and len(set(dones)) == len(dones)  # strictly increasing
    assert dones[-1] == total and 0 <= dones[0]


def test_closedness_counts_connected_parts() -> None:
    lu, cyc = family("lu:2"), family("mcp:110,011,101")
    three = SupportPattern(scipy.linalg.block_diag(lu.x_support, cyc.x_support, lu.x_support),
                           scipy.linalg.block_diag(lu.y_support, cyc.y_support, lu.y_support))
    calls, cb = _recorder()
    verdict = decide_closedness(three, progress=cb)
    assert verdict.closed is False
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls, cb = _recorder()  # a rule on the whole pattern: one step
    decide_closedness(family("full:3,3,2"), progress=cb)
    assert calls == [(1, 1)]


@pytest.mark.parametrize(("order", "ortho", "certificate"),
                         [("balanced", False, "free"), ("left-to-right", True, "free"),
                          ("right-to-left", False, "exact")])
def test_factorize_counts_splits_of_the_tree(order: str, ortho: bool, certificate: str) -> None:
    N = 64
    A = np.random.default_rng(0).standard_normal((N, N))
    calls, cb = _recorder()
    res = factorize(A, dyadic_butterfly(N), order=order, orthonormalize=ortho, certificate=certificate,  # type: ignore[arg-type]
                    progress=cb)
    total = 5 + (certificate == "exact")  # L - 1 = 5 splits, plus the exact certificate
    _assert_monotone_to_total(calls, total)
    assert len(calls) == total
    plain = factorize(A, dyadic_butterfly(N), order=order, orthonormalize=ortho, certificate=certificate)  # type: ignore[arg-type]
    np.testing.assert_array_equal(res.chain.to_dense(), plain.chain.to_dense())  # the callback changes nothing


def test_network_counts_pairs_then_linear_set() -> None:
    masks = [np.ones((4, 3)), np.tril(np.ones((4, 4))), np.triu(np.ones((4, 4))), np.ones((2, 4))]
    calls, cb = _recorder()
    analyze_network(masks, closedness=False, progress=cb)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_census_counts_resumed_keys(tmp_path: Path) -> None:
    out = tmp_path / "census.jsonl"
    calls, cb = _recorder()
    records = run_census(out, max_m=2, max_n=2, max_r=2, progress=cb)
    _assert_monotone_to_total(calls, len(records))
    assert calls[0] == (0, len(records))
    calls, cb = _recorder()
    run_census(out, max_m=2, max_n=2, max_r=2, progress=cb)  # resumed: every key already done
    assert calls == [(len(records), len(records))]


@pytest.mark.parametrize("call", [
    lambda bad: decide_closedness(family("lu:2"), progress=bad),
    lambda bad: factorize(np.eye(4), dyadic_butterfly(4), progress=bad),
    lambda bad: analyze_network([np.ones((2, 2)), np.ones((1, 2))], progress=bad),
])
def test_progress_must_be_callable(call: object) -> None:
    with pytest.raises(InvalidSpecError, match="progress = 3"):
        call(3)  # type: ignore[operator]


def test_census_refuses_a_bad_callback_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "census.jsonl"
    with pytest.raises(InvalidSpecError, match="progress = 'x'"):
        run_census(out, max_m=1, max_n=1, max_r=1, progress="x")  # type: ignore[arg-type]
    assert not out.exists()


def test_bar_only_when_asked_or_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    ns = argparse.Namespace
    assert not wants_progress(ns(progress=False, quiet=False), io.StringIO())
    assert wants_progress(ns(progress=False, quiet=False), Tty())
    assert not wants_progress(ns(progress=False, quiet=True), Tty())
    assert wants_progress(ns(progress=True, quiet=False), io.StringIO())
    err = io.StringIO()
    with progress_bar(ns(progress=True, quiet=False), "demo", "item", stream=err) as bar:
        assert bar is not None
        bar.advance(2)
        bar(5, 5)
    assert "5/5" in err.getvalue() and "demo" in err.getvalue()


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("golden", "argv"), [
    ("closedness-lu-3.txt", ["closedness", "cases/lu-3.json"]),
    ("network-two-layer-lu.json.txt", ["network", "cases/networks/two-layer-lu.json"]),
])
def test_cli_progress_goes_to_stderr_only(golden: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _main(argv + ["--progress"], monkeypatch)
    assert code == 0
    assert "100%" in err and "|" in err  # a drawn bar
    expected = (GOLDEN / golden).read_text(encoding="utf-8")
    stdout_part = expected.split("--- stderr\n")[0]  # the golden file holds stdout, then stderr
    assert normalize(f"exit {code}\n--- stdout\n{out}") == stdout_part
    code, out_q, err_q = _main(argv + ["--quiet"], monkeypatch)  # --quiet, and no terminal: nothing on stderr
    assert (code, err_q) == (0, "") and normalize(out_q) == normalize(out)


def test_cli_factor_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "H.npy"
    np.save(path, scipy.linalg.hadamard(64).astype(np.float64))
    code, out, err = _main(["factor", str(path), "--chain", "butterfly:64", "--progress"], monkeypatch)
    assert code == 0 and "5/5" in err and "factor" in err
    code2, out2, err2 = _main(["factor", str(path), "--chain", "butterfly:64"], monkeypatch)
    assert (code2, err2) == (0, "")
    strip = re.compile(r"[0-9.]+ s$", re.M)  # the timing, the only part that may differ
    assert strip.sub("T", out) == strip.sub("T", out2)


def test_cli_progress_and_quiet_exclude_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _main(["census", "--out", "x.jsonl", "--progress", "--quiet"], monkeypatch)
    assert code == 2 and "not allowed with argument" in err and out == ""


def test_cli_census_and_batch_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timing = re.compile(r"in [0-9.]+ s$", re.M)
    argv = ["census", "--max-m", "2", "--max-n", "2", "--max-r", "2", "--restart"]
    code, out, err = _main([*argv, "--out", str(tmp_path / "a.jsonl"), "--progress"], monkeypatch)
    assert code == 0 and "census" in err and "100%" in err
    code, out_q, err_q = _main([*argv, "--out", str(tmp_path / "b.jsonl")], monkeypatch)
    assert (code, err_q) == (0, "") and timing.sub("T", out) == timing.sub("T", out_q)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()  # the data are the same
    src = tmp_path / "in.jsonl"
    src.write_text('{"spec": "lu:2"}\n{"spec": "diag:3"}\n{"spec": "full:2,2,1"}\n', encoding="utf-8")
    code, out, err = _main(["batch", str(src), "--out", str(tmp_path / "rows.jsonl"), "--progress"], monkeypatch)
    assert code == 0 and "batch" in err and "3pattern" in err.replace(" ", "")
    assert out.startswith("3 processed")
