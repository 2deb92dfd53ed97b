"""Fuzz the command line: malformed inputs and option values through every sub-command, and resume after kills.

Every input comes from a Hypothesis strategy of :mod:`tests.strategies` (case files, JSONL batch lines,
``.npy``/``.npz`` files, data matrices, factor chains, mask files, family and chain specs, option values)
and is run through the real entry point ``wellposed.cli.main([...])`` in-process (a few through a
subprocess, to catch crashes that kill the interpreter). The contract checked on every run:

* the exit code is 0, 2 (bad input or usage) or 3 (a batch with invalid records) — 4/5/6 only where a test
  makes the output unwritable or conflicting or needs a missing tool — never 1 (an internal bug);
* stderr never holds a Python traceback, and a failure prints ``error: ...`` (one line, except a batch
  that lists its invalid records).

The resume tests cut a batch output at any byte (a kill mid-row), interrupt runs repeatedly, and kill real
processes with SIGKILL; the resumed output must equal an uninterrupted run byte for byte.
Examples are derandomized (reproducible in CI) and small: the file runs in a few seconds per core.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from wellposed.batch import run_batch
from wellposed.cli import main
from wellposed.errors import WellposedError
from wellposed.families import load_pattern
from wellposed.io.batch_input import iter_lines
from wellposed.io.resumable import META_SUFFIX, read_output

from .strategies import (
    batch_file_bytes,
    batch_npz_bytes,
    case_file_bytes,
    chain_specs,
    factor_file_bytes,
    mask_file,
    matrix_npy_bytes,
    option_values,
    pattern_npz_bytes,
    patterns,
    spec_strings,
)

ROOT = Path(__file__).resolve().parent.parent
#: Exit codes a fuzzed input may produce (bad input is 2, a batch with invalid records 3).
ALLOWED = frozenset({0, 2, 3})
#: A memory budget small enough that no fuzzed size allocates much (sizes over it are exit 2).
MAX_BYTES = "64M"


#: Multiplies every test's number of examples (a longer fuzz campaign: WELLPOSED_FUZZ_SCALE=50).
FUZZ_SCALE = int(os.environ.get("WELLPOSED_FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int) -> settings:
    """Derandomized (reproducible in CI), no deadline; the explain phase is left out (its tracing triples
    the run time)."""
    return settings(max_examples=max_examples * FUZZ_SCALE, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture(autouse=True)
def _sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder (a spec never names a repository file; default outputs land here) with a
    small memory budget."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WELLPOSED_MAX_BYTES", MAX_BYTES)


def check_outcome(code: int, err: str, what: object, allowed: frozenset[int] | set[int] = ALLOWED) -> None:
    """The CLI contract on one run: allowed exit code, no traceback, one ``error:`` line on failure."""
    assert "Traceback" not in err, (what, err)
    assert code in allowed, (what, code, err)
    if code == 0:
        return
    lines = err.rstrip("\n").split("\n")  # not splitlines(): a control character of a value is not a line end
    assert lines and all(line.startswith("error: ") for line in lines), (what, err)
    if code != 3:  # a batch lists up to five invalid records; any other failure is one line
        assert len(lines) == 1, (what, err)


def run_cli(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
            allowed: frozenset[int] | set[int] = ALLOWED) -> tuple[int, str, str]:
    """``wellposed ARGV`` in-process; checks the contract and returns (code, stdout, stderr)."""
    argv = [str(a) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors and --help, if main lets them through
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    out, err = capsys.readouterr()
    check_outcome(code, err, argv, allowed)
    return code, out, err


def run_subprocess(argv: Sequence[str], cwd: Path, allowed: frozenset[int] | set[int] = ALLOWED
                   ) -> subprocess.CompletedProcess[str]:
    """``python -m wellposed ARGV`` in a fresh interpreter (a crash there cannot hide behind pytest)."""
    env = {**os.environ, "WELLPOSED_MAX_BYTES": MAX_BYTES, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "wellposed", *map(str, argv)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)
    assert proc.returncode >= 0, (argv, f"killed by signal {-proc.returncode}", proc.stderr)
    check_outcome(proc.returncode, proc.stderr, argv, allowed)
    return proc


def fresh(tmp_path: Path) -> Path:
    """A new empty folder for one Hypothesis example (``tmp_path`` is shared by all examples of a test)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def _small(spec: str, limit: int) -> bool:
    """True if ``spec`` is a valid pattern with m·n·r ≤ limit (cheap enough for the closedness engine)."""
    try:
        p = load_pattern(spec)
    except WellposedError:
        return False
    return p.m * p.n * p.r <= limit


@cache
def _factor_chain_arrays() -> dict[str, np.ndarray]:
    """The arrays of a valid chain file as ``wellposed factor A.npy --chain butterfly:4 --out F.npz`` writes it."""
    from wellposed.solvers.butterfly import factorize

    from wellposed.kronecker_spec import parse_chain_spec

    folder = Path(tempfile.mkdtemp(prefix="fuzz-chain-"))
    try:
        A = np.random.default_rng(0).standard_normal((4, 4))
        factorize(A, parse_chain_spec("butterfly:4")).save(folder / "F.npz")
        with np.load(folder / "F.npz") as z:
            return {k: z[k] for k in z.files}
    finally:
        shutil.rmtree(folder)


# ================================================================ malformed inputs, in-process
@fuzz_settings(60)
@given(data=case_file_bytes())
def test_case_files(capsys, tmp_path, data):
    """A .json case file of any content: analyze, solve and closedness --emit answer 0 or 2."""
    tmp = fresh(tmp_path)
    path = tmp / "case.json"
    path.write_bytes(data)
    code, out, _ = run_cli(capsys, ["analyze", path, "--no-closedness", "--json"], {0, 2})
    if code == 0:
        rec = json.loads(out)
        assert rec["m"] * rec["n"] * rec["r"] > 0
        if rec["m"] * rec["n"] * rec["r"] <= 12:
            run_cli(capsys, ["closedness", path, "--emit", "smtlib"], {0, 2})
    np.save(tmp / "A.npy", np.ones((2, 2)))
    run_cli(capsys, ["solve", path, tmp / "A.npy", "--json"], {0, 2})


@fuzz_settings(40)
@given(data=pattern_npz_bytes())
def test_pattern_npz_files(capsys, tmp_path, data):
    tmp = fresh(tmp_path)
    path = tmp / "pattern.npz"
    path.write_bytes(data)
    run_cli(capsys, ["analyze", path, "--no-closedness"], {0, 2})
    run_cli(capsys, ["closedness", path, "--emit", "qepcad"], {0, 2})


@fuzz_settings(80)
@given(spec=spec_strings())
def test_family_specs(capsys, spec):
    """Family specs over the alphabet ``a-z0-9:,.;-``: 0 or 2; tiny valid ones through the closedness engine."""
    run_cli(capsys, ["analyze", spec, "--no-closedness", "--json"], {0, 2})
    if _small(spec, 8):  # --emit writes one sentence per zero pattern of A: exponential in m·n
        run_cli(capsys, ["closedness", spec, "--no-qe", "--json", "--effort", "0.1"], {0})
        run_cli(capsys, ["closedness", spec, "--emit", "redlog"], {0})


def _rows_expected(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


@fuzz_settings(40)
@given(data=batch_file_bytes(), fmt=st.sampled_from(["jsonl", "csv"]))
def test_batch_jsonl(capsys, tmp_path, data, fmt):
    """A JSONL batch of any lines: exit 0/3, one row per non-blank line, and a rerun changes no byte."""
    tmp = fresh(tmp_path)
    src, out = tmp / "in.jsonl", tmp / f"out-{fmt}.{fmt}"
    src.write_bytes(data)
    argv = ["batch", src, "--out", out, "--quiet"]
    code, _, _ = run_cli(capsys, argv, {0, 3})
    first = out.read_bytes()
    header, rows = read_output(out)
    assert header["input"]["kind"] == "jsonl"
    assert len(rows) == _rows_expected(data)
    assert [int(r["line"]) for r in rows] == [n for n, _ in iter_lines(src)]  # the --scheduler path's records
    assert sorted({int(r["line"]) for r in rows}) == [int(r["line"]) for r in rows]
    assert code == (3 if any(str(r["ok"]) != "True" for r in rows) else 0)
    again, _, _ = run_cli(capsys, argv, {0})  # resumed: every record done, the errors were reported before
    assert again == 0 and out.read_bytes() == first


@fuzz_settings(25)
@given(files=st.lists(st.tuples(st.sampled_from(["a.json", "B.JSON", "é.json", " .json", "x.json.json", "-.json",
                                                  "sub.json", "notes.txt"]), case_file_bytes()),
                      max_size=4, unique_by=lambda t: t[0]))
def test_batch_directory(capsys, tmp_path, files):
    """A directory of .json files of any content (and a sub-folder named like one): exit 0/3, a row per file."""
    tmp = fresh(tmp_path)
    src = tmp / "cases"
    src.mkdir()
    for name, data in files:
        if name == "sub.json":
            (src / name).mkdir()
        else:
            (src / name).write_bytes(data)
    out = tmp / "out.jsonl"
    argv = ["batch", src, "--out", out, "--quiet"]
    run_cli(capsys, argv, {0, 3})
    _, rows = read_output(out)
    assert sorted(r["file"] for r in rows) == sorted(n for n, _ in files if n.lower().endswith(".json")
                                                     and n != "sub.json")
    first = out.read_bytes()
    run_cli(capsys, argv, {0})
    assert out.read_bytes() == first


@fuzz_settings(40)
@given(data=batch_npz_bytes())
def test_batch_npz(capsys, tmp_path, data):
    tmp = fresh(tmp_path)
    src = tmp / "in.npz"
    src.write_bytes(data)
    code, _, _ = run_cli(capsys, ["batch", src, "--out", tmp / "out.csv", "--quiet"], {0, 2})
    if code == 2:
        assert not (tmp / "out.csv").exists()  # a bad input creates no output


_SOLVE_SPECS = ["full:2,2,1", "lu:2", "diag:2", "full:2,3,2", "mcp:11,10", "random:2,2,2,0.5,3"]


@fuzz_settings(25)
@given(spec=st.sampled_from(_SOLVE_SPECS), data=st.data(), baseline=st.sampled_from([None, "als", "lbfgs"]),
       out=st.booleans())
def test_solve_matrices(capsys, tmp_path, spec, data, baseline, out):
    """``solve`` with NaN/inf/huge/complex/int/bool/wrong-shape/corrupt matrices: 0 or 2."""
    tmp = fresh(tmp_path)
    p = load_pattern(spec)
    path = tmp / "A.npy"
    path.write_bytes(data.draw(matrix_npy_bytes((p.m, p.n))))
    argv = ["solve", spec, path, "--json"]
    if baseline:
        argv += ["--baseline", baseline, "--restarts", "1"]
    if out:
        argv += ["--out", tmp / "sol.npz"]
    code, stdout, _ = run_cli(capsys, argv, {0, 2})
    if code == 0:
        assert "NaN" not in stdout and "Infinity" not in stdout, stdout


@fuzz_settings(40)
@given(chain=st.one_of(chain_specs(), st.sampled_from(["butterfly:4", "monarch:4", "ks:1,2,2,1;1,2,2,1",
                                                        "debut:2x2,2x2", "butterfly:8"])),
       shape=st.sampled_from([(4, 4), (8, 8), (2, 2), (4, 8), (1, 1)]), data=st.data(),
       flags=st.lists(st.sampled_from(["--orthonormalize", "--bit-reversal", "--exact-certificate",
                                       "--order=left-to-right", "--order=right-to-left", "--out=F.npz"]),
                      unique=True, max_size=3))
def test_factor(capsys, tmp_path, chain, shape, data, flags):
    """``factor`` with fuzzed chain specs and matrices: 0 or 2; a written chain is read back by ``quantize``."""
    tmp = fresh(tmp_path)
    path = tmp / "A.npy"
    path.write_bytes(data.draw(matrix_npy_bytes(shape)))
    code, stdout, _ = run_cli(capsys, ["factor", path, "--chain", chain, "--json", *flags], {0, 2})
    if code == 0:
        assert "NaN" not in stdout and "Infinity" not in stdout, stdout
        if "--out=F.npz" in flags:
            run_cli(capsys, ["quantize", "F.npz", "--bits", "3"], {0, 2})


@fuzz_settings(40)
@given(data=st.data(), how=st.sampled_from([["--bits", "4"], ["--bits", "1"], ["--format", "bf16"],
                                            ["--format", "fp8_e4m3"], ["--bits", "3", "--method", "l2r"]]),
       out=st.booleans())
def test_quantize_factor_files(capsys, tmp_path, data, how, out):
    """``quantize`` of a mutated chain file (missing arrays, wrong shapes, NaN, huge values): 0 or 2."""
    tmp = fresh(tmp_path)
    path = tmp / "F.npz"
    path.write_bytes(data.draw(factor_file_bytes(_factor_chain_arrays())))
    argv = ["quantize", path, "--json", *how] + (["--out", tmp / "Q.npz"] if out else [])
    code, stdout, _ = run_cli(capsys, argv, {0, 2})
    if code == 0:
        rec = json.loads(stdout)
        assert np.isfinite(rec["relative_error"]) and np.isfinite(rec["naive_relative_error"]), rec


@fuzz_settings(25)
@given(files=st.lists(mask_file(), min_size=1, max_size=2))
def test_network_mask_files(capsys, tmp_path, files):
    """``network`` on .npz/.npy/.json/torch-named files of any content: 0 or 2 (6 only without torch)."""
    tmp = fresh(tmp_path)
    paths = []
    for i, (suffix, data) in enumerate(files):
        path = tmp / f"layer{i}{suffix}"
        path.write_bytes(data)
        paths.append(path)
    run_cli(capsys, ["network", *paths, "--no-closedness", "--json"], {0, 2, 6})


@fuzz_settings(30)
@given(p=patterns(max_m=3, max_n=3, max_r=3), name=st.text(max_size=12), extra=st.sampled_from(
    [{}, {"description": "é\u2028"}, {"expected": {"closed": True}}, {"source": "x\r\ny"}]))
def test_valid_case_files_round_trip(capsys, tmp_path, p, name, extra):
    """A valid case file with any name: analyze prints JSON naming it, and batch gives one ok row."""
    tmp = fresh(tmp_path)
    path = tmp / "valid.json"
    path.write_text(json.dumps({**p.to_json(), "name": name, **extra}), encoding="utf-8")
    code, out, _ = run_cli(capsys, ["analyze", path, "--no-closedness", "--json"], {0})
    assert json.loads(out)["name"] == (name or "valid")
    src = tmp / "one.jsonl"
    src.write_text(json.dumps({**p.to_json(), "name": name}) + "\n", encoding="utf-8")
    run_cli(capsys, ["batch", src, "--out", tmp / "o.csv", "--quiet", "--restart"], {0})
    _, rows = read_output(tmp / "o.csv")
    assert [r["name"] for r in rows] == [name]


# ================================================================ option values of every sub-command
def _tiny_inputs(folder: Path) -> dict[str, str]:
    np.save(folder / "A.npy", np.arange(4.0).reshape(2, 2))
    np.savez(folder / "masks.npz", np.ones((2, 2), bool), np.eye(2, dtype=bool))
    (folder / "in.jsonl").write_text('{"spec": "lu:2"}\n{"x_support": ["1"], "y_support": ["1"]}\n')
    arrays = _factor_chain_arrays()
    np.savez(folder / "F.npz", **arrays)
    return {k: str(folder / v) for k, v in
            {"A": "A.npy", "masks": "masks.npz", "jsonl": "in.jsonl", "F": "F.npz"}.items()}


#: (command, option, argv builder given the inputs and the output folder); the option value is appended.
NUMERIC_OPTIONS = [
    ("analyze", "--effort", lambda i, d: ["analyze", "lu:2"]),
    ("analyze", "--timeout", lambda i, d: ["analyze", "lu:2"]),
    ("batch", "--jobs", lambda i, d: ["batch", i["jsonl"], "--out", f"{d}/o.jsonl", "--quiet", "--restart"]),
    ("batch", "--effort", lambda i, d: ["batch", i["jsonl"], "--out", f"{d}/o.jsonl", "--quiet", "--closedness",
                                        "--restart"]),
    ("batch", "--timeout", lambda i, d: ["batch", i["jsonl"], "--out", f"{d}/o.csv", "--quiet", "--closedness",
                                         "--restart"]),
    ("solve", "--restarts", lambda i, d: ["solve", "full:2,2,1", i["A"], "--baseline", "als"]),
    ("solve", "--seed", lambda i, d: ["solve", "full:2,2,1", i["A"], "--baseline", "lbfgs", "--restarts", "1"]),
    ("demo", "--n", lambda i, d: ["demo", "lu", "--no-figures", "--steps", "3"]),
    ("demo", "--steps", lambda i, d: ["demo", "lu", "--no-figures", "--n", "2"]),
    ("quantize", "--bits", lambda i, d: ["quantize", i["F"], "--out", f"{d}/Q.npz"]),
    ("network", "--effort", lambda i, d: ["network", i["masks"]]),
    ("network", "--timeout", lambda i, d: ["network", i["masks"], "--json"]),
    ("closedness", "--effort", lambda i, d: ["closedness", "lu:2", "--no-qe"]),
    ("closedness", "--timeout", lambda i, d: ["closedness", "diag:2"]),
    ("census", "--max-m", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-n", "1", "--max-r", "1",
                                        "--no-qe", "--restart"]),
    ("census", "--max-n", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-m", "1", "--max-r", "1",
                                        "--no-qe", "--restart"]),
    ("census", "--max-r", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-m", "1", "--max-n", "1",
                                        "--no-qe", "--restart"]),
    ("census", "--effort", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-m", "1", "--max-n", "1",
                                         "--max-r", "2", "--restart"]),
    ("census", "--timeout", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-m", "1", "--max-n", "1",
                                          "--max-r", "1", "--restart", "--markdown", f"{d}/c.md"]),
    ("census", "--jobs", lambda i, d: ["census", "--out", f"{d}/c.jsonl", "--max-m", "2", "--max-n", "1",
                                       "--max-r", "1", "--no-qe", "--restart"]),
]

#: Free-text options (no fixed choices): the value is any string.
TEXT_OPTIONS = [
    ("analyze", "--backend", lambda i, d: ["analyze", "lu:2"]),
    ("network", "--backend", lambda i, d: ["network", i["masks"]]),
    ("quantize", "--format", lambda i, d: ["quantize", i["F"]]),
    ("batch", "--scheduler", lambda i, d: ["batch", i["jsonl"], "--out", f"{d}/s.jsonl", "--quiet", "--restart"]),
    ("factor", "--chain", lambda i, d: ["factor", i["A"]]),
]


@pytest.mark.parametrize("command, option, build", NUMERIC_OPTIONS, ids=[f"{c}{o}" for c, o, _ in NUMERIC_OPTIONS])
@fuzz_settings(12)
@given(value=option_values(), form=st.sampled_from(["separate", "equals"]))
def test_numeric_option_values(capsys, tmp_path, command, option, build, value, form):
    """Negative, zero, NaN, huge and non-numeric values of every numeric option: 0 or 2, never a traceback."""
    tmp = fresh(tmp_path)
    argv = build(_tiny_inputs(tmp), tmp)
    argv += [f"{option}={value}"] if form == "equals" or value.startswith("-") else [option, value]
    run_cli(capsys, argv, {0, 2})


_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", "z3", "Z3", "qepcad", "fp16", "FP16", "e4m3",
                                                         "tcp://", "tcp://h:1", "ftp://x", "://", "butterfly:2",
                                                         "ks:;", "\x00", "é"]))


@pytest.mark.parametrize("command, option, build", TEXT_OPTIONS, ids=[f"{c}{o}" for c, o, _ in TEXT_OPTIONS])
@fuzz_settings(12)
@given(value=_TEXT)
def test_text_option_values(capsys, tmp_path, command, option, build, value):
    """Free-text options (backend, format, scheduler, chain): 0 or 2; 6 for a tool that is not installed."""
    tmp = fresh(tmp_path)
    argv = build(_tiny_inputs(tmp), tmp) + [f"{option}={value}"]
    run_cli(capsys, argv, {0, 2, 6})


@fuzz_settings(15)
@given(argv=st.lists(st.one_of(st.sampled_from(["analyze", "batch", "families", "solve", "backends", "demo",
                                                "quantize", "network", "factor", "closedness", "census", "--json",
                                                "--no-version", "--out", "-h", "--", "-", "lu:2", "--restart",
                                                "--version", "--no-qe", "--emit", "smtlib"]),
                               st.text(max_size=6)), max_size=4))
def test_random_command_lines(capsys, tmp_path, argv):
    """Random words on the command line: usage errors (2), help (0) or a cheap command, never a traceback."""
    if "census" in argv or "demo" in argv or "batch" in argv:  # their valid runs are long or write files
        argv = [a for a in argv if a not in ("census", "demo", "batch")]
    run_cli(capsys, argv, {0, 2})


# ================================================================ a few runs in a fresh interpreter
#: (file name, strategy of its bytes, command line): each sub-command that reads a file, in a subprocess.
SUBPROCESS_CASES = {
    "case file": ("case.json", case_file_bytes(), ["analyze", "case.json", "--no-closedness"]),
    "batch": ("in.jsonl", batch_file_bytes(), ["batch", "in.jsonl", "--out", "o.csv", "--quiet"]),
    "batch npz": ("in.npz", batch_npz_bytes(), ["batch", "in.npz", "--out", "o.jsonl", "--quiet"]),
    "matrix": ("A.npy", matrix_npy_bytes((4, 4)), ["factor", "A.npy", "--chain", "butterfly:4"]),
    "masks": ("m.npz", mask_file().map(lambda t: t[1]), ["network", "m.npz", "--no-closedness"]),
    "torch": ("m.pt", st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b), ["network", "m.pt"]),
    "deep": ("deep.json", st.integers(1000, 300_000).map(lambda k: b'{"x_support": ' + b"[" * k),
             ["closedness", "deep.json"]),
}


@fuzz_settings(3)
@given(name=st.sampled_from(sorted(SUBPROCESS_CASES)), data=st.data())
def test_inputs_in_a_subprocess(tmp_path, name, data):
    """A fuzzed input through ``python -m wellposed`` (a crash that kills the interpreter shows here)."""
    file_name, strategy, argv = SUBPROCESS_CASES[name]
    folder = fresh(tmp_path)
    (folder / file_name).write_bytes(data.draw(strategy))
    # a torch file without torch installed is "a required tool is missing" (exit 6), not bad input
    torch_missing = name == "torch" and importlib.util.find_spec("torch") is None
    run_subprocess(argv, folder, ALLOWED | {6} if torch_missing else ALLOWED)


# ================================================================ outputs that belong to another run (exit 5)
@fuzz_settings(40)
@given(data=st.data(), fmt=st.sampled_from(["jsonl", "csv"]))
def test_existing_output_of_any_content(capsys, tmp_path, data, fmt, batch_reference):
    """An existing --out of any content: resumed (0/3) when it is a prefix of this run's output (then
    completed to the same bytes), else refused with exit 5 and left untouched."""
    src, ref, meta = batch_reference("jsonl", fmt)
    kind = data.draw(st.sampled_from(["prefix", "mutated", "random", "other-run"]))
    if kind == "prefix":
        existing = ref[: data.draw(st.integers(0, len(ref)))]
    elif kind == "mutated":
        from .strategies import corrupt_bytes

        existing = data.draw(corrupt_bytes(ref))
    elif kind == "random":
        existing = data.draw(st.binary(max_size=200))
    else:  # the complete output of another input, or a prefix of it
        _, other, meta = batch_reference("npz", fmt)
        existing = other[: data.draw(st.integers(1, len(other)))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        out = Path(d) / f"out.{fmt}"
        out.write_bytes(existing)
        if fmt == "csv" and (existing or data.draw(st.booleans())):
            _meta_for(out).write_bytes(meta)
        code, _, err = run_cli(capsys, ["batch", src, "--out", out, "--quiet"], {0, 3, 5})
        if code == 5:
            assert out.read_bytes() == existing and "--restart" in err
        elif ref.startswith(existing):
            assert out.read_bytes() == ref
        if kind == "other-run" and len(existing) > ref.find(b"\n") + 1:  # a header (or column names) and more
            assert code == 5


# ================================================================ resume after a kill
def _meta_for(out: Path) -> Path:
    return out.with_name(out.name + META_SUFFIX)


_NAMES = ["plain", "cr\rin", "lf\nin", "crlf\r\n", "ls\u2028", 'q"c,', "é", "tab\tnul\x00"]


def _records(count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for b in range(count):
        m, n, r = (int(v) for v in rng.integers(1, 5, size=3))
        out.append({"x_support": ["".join(rng.choice(["0", "1"], r)) for _ in range(m)],
                    "y_support": ["".join(rng.choice(["0", "1"], r)) for _ in range(n)],
                    "name": _NAMES[b % len(_NAMES)] + str(b)})
    out[5] = {"x_support": ["12"], "y_support": ["1"]}  # error rows too
    out[11] = {"spec": "lu:-3"}
    return out


def _write_source(folder: Path, kind: str, records: list[dict]) -> Path:
    if kind == "jsonl":
        src = folder / "in.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" + ("\n" if i % 7 == 3 else "") for i, r in enumerate(records)),
                       encoding="utf-8")
    elif kind == "directory":
        src = folder / "cases"
        src.mkdir()
        for i, rec in enumerate(records):
            (src / f"case-{i:04d}.json").write_text(json.dumps(rec), encoding="utf-8")
    else:
        src = folder / "in.npz"
        rng = np.random.default_rng(len(records))
        b = len(records)
        np.savez(src, x_support=rng.random((b, 3, 3)) < 0.5, y_support=rng.random((b, 4, 3)) < 0.5,
                 names=np.array([_NAMES[i % len(_NAMES)] + str(i) for i in range(b)]))
    return src


@pytest.fixture(scope="module")
def batch_reference(tmp_path_factory):
    """``(source, reference output bytes, CSV sidecar bytes)`` of an uninterrupted run, per input kind and format."""
    folder = tmp_path_factory.mktemp("reference")
    cache: dict[tuple[str, str, int], tuple[Path, bytes, bytes]] = {}

    def get(kind: str, fmt: str, count: int = 60) -> tuple[Path, bytes, bytes]:
        if (kind, fmt, count) not in cache:
            sub = folder / f"{kind}-{fmt}-{count}"
            sub.mkdir()
            src = _write_source(sub, kind, _records(count, seed=3))
            out = sub / f"ref.{fmt}"
            run_batch(src, out, chunk=3)
            meta = _meta_for(out).read_bytes() if fmt == "csv" else b""
            cache[kind, fmt, count] = (src, out.read_bytes(), meta)
        return cache[kind, fmt, count]

    return get


@st.composite
def _cut_points(draw, data: bytes) -> int:
    """A byte offset in ``data``: anywhere, or next to a line end or a quote (mid-row, mid-field)."""
    special = [i for i, byte in enumerate(data) if byte in b'\n\r"']
    if special and draw(st.booleans()):
        return max(0, min(len(data), draw(st.sampled_from(special)) + draw(st.integers(-1, 2))))
    return draw(st.integers(0, len(data)))


@fuzz_settings(40)
@given(kind=st.sampled_from(["jsonl", "directory", "npz"]), fmt=st.sampled_from(["jsonl", "csv"]), data=st.data(),
       jobs=st.sampled_from([1, 1, 1, 1, 2]))
def test_resume_after_truncation_at_any_offset(tmp_path, batch_reference, kind, fmt, data, jobs):
    """The output of a run killed at any byte (mid-row, mid-quoted-field, inside the header, before the CSV
    sidecar) resumes to the bytes of an uninterrupted run; a second resume changes nothing."""
    src, ref, meta = batch_reference(kind, fmt)
    cut = data.draw(_cut_points(ref))
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        out = Path(d) / f"out.{fmt}"
        out.write_bytes(ref[:cut])
        if fmt == "csv" and (cut > 0 or data.draw(st.booleans())):  # the sidecar is written before any row
            _meta_for(out).write_bytes(meta)
        summary = run_batch(src, out, chunk=3, jobs=jobs)
        assert out.read_bytes() == ref, cut
        assert run_batch(src, out, chunk=3).skipped == summary.total


class _Killed(Exception):
    """Stands for SIGKILL in the in-process interruption test."""


@fuzz_settings(30)
@given(kind=st.sampled_from(["jsonl", "directory", "npz"]), fmt=st.sampled_from(["jsonl", "csv"]),
       steps=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 400)), min_size=1, max_size=4),
       chunk=st.sampled_from([1, 3, 7]))
def test_resume_after_repeated_interruptions(tmp_path, batch_reference, kind, fmt, steps, chunk):
    """Interrupt a run after k chunks and cut c bytes off its output (a kill in mid-write), several times,
    with any chunk size: the final resume equals the uninterrupted output byte for byte."""
    src, ref, _ = batch_reference(kind, fmt)
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        out = Path(d) / f"out.{fmt}"
        for stop_after, cut_back in steps:
            done = [0]

            def progress(count: int, stop_after: int = stop_after, done: list[int] = done) -> None:
                done[0] += 1
                if done[0] > stop_after:
                    raise _Killed

            try:
                run_batch(src, out, chunk=chunk, progress=progress)
            except _Killed:
                pass
            size = out.stat().st_size
            with out.open("rb+") as fh:
                fh.truncate(max(0, size - cut_back))
            assert ref.startswith(out.read_bytes())
        run_batch(src, out, chunk=chunk)
        assert out.read_bytes() == ref


_KILLABLE_BATCH = """
import sys
from wellposed.batch import run_batch
run_batch(sys.argv[1], sys.argv[2], chunk=3, jobs=int(sys.argv[3]))
"""


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.0005)
    return False


def _lock_free(path: Path) -> bool:
    import fcntl

    with path.open("rb") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return True


@fuzz_settings(3)
@given(kind=st.sampled_from(["npz", "jsonl", "directory"]), fmt=st.sampled_from(["jsonl", "csv"]),
       fraction=st.floats(0.0, 0.9), delay=st.floats(0.0, 0.005), jobs=st.sampled_from([1, 2]))
def test_resume_after_sigkill(tmp_path, capsys, batch_reference, kind, fmt, fraction, delay, jobs):
    """A real process killed with SIGKILL once its output reaches a random size (plus a random delay), then
    resumed by ``wellposed batch``: the bytes of an uninterrupted run (input kinds and worker counts that
    tests/test_resume_safety.py does not kill)."""
    src, ref, _ = batch_reference(kind, fmt, 300)
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        out = Path(d) / f"out.{fmt}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-c", _KILLABLE_BATCH, str(src), str(out), str(jobs)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        try:
            _wait_for(lambda: (out.exists() and out.stat().st_size > fraction * len(ref)) or proc.poll() is not None)
            time.sleep(delay)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, as kill -9 of a process group
            proc.wait(timeout=60)
        assert ref.startswith(out.read_bytes())
        # forked workers share the locked output; the lock goes when the last of them has exited
        assert _wait_for(lambda: _lock_free(out), timeout=10.0), "the output stayed locked after the kill"
        run_cli(capsys, ["batch", src, "--out", out, "--quiet"], {0, 3})
        assert out.read_bytes() == ref


# ================================================================ failures this suite found (regressions)
def _npy_with_header(text: str) -> bytes:
    """A .npy file whose header text is ``text`` (padded as numpy pads it)."""
    head = text.encode("latin-1")
    head += b" " * (117 - len(head)) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head


_UNPARSABLE_HEADER = _npy_with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (0, 0), ")  # tokenize fails


def _npz_of(**members: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return buf.getvalue()


FOUND = [  # (name, input file name, its bytes, command line, exit code, fragment of stderr)
    ("spec-without-colon", None, b"", ["analyze", "0"], 2, "known families: lu, full"),
    ("no-command", None, b"", [], 2, "no COMMAND given"),
    ("npy-header-tokenize-error", "A.npy", _UNPARSABLE_HEADER, ["factor", "A.npy", "--chain", "butterfly:4"], 2,
     "corrupt .npy header"),
    ("npz-header-tokenize-error", "p.npz", _npz_of(x_support=_UNPARSABLE_HEADER, y_support=_UNPARSABLE_HEADER),
     ["analyze", "p.npz"], 2, "array 'x_support' has a corrupt .npy header"),
    ("batch-npz-header-tokenize-error", "b.npz", _npz_of(x_support=_UNPARSABLE_HEADER),
     ["batch", "b.npz", "--out", "o.jsonl"], 2, "cannot read the .npz archive"),
    ("mask-header-tokenize-error", "m.npy", _UNPARSABLE_HEADER, ["network", "m.npy"], 2, "corrupt .npy header"),
    ("string-matrix-one-line", "A.npy", None, ["solve", "full:2,2,1", "A.npy"], 2, "MATRIX has dtype <U3"),
    ("timeout-1e308", None, b"", ["analyze", "lu:2", "--timeout", "1e308"], 2, "about 11 days"),
    ("jobs-10**30", None, b"", ["census", "--out", "c.jsonl", "--max-m", "1", "--max-n", "1", "--max-r", "1",
                                "--jobs", str(10**30)], 2,
     "must be an integer from 1 to 512"),
    ("restarts-10**4+1", None, b"", ["solve", "full:1,1,1", "one.npy", "--baseline", "als", "--restarts", "10001"],
     2, "restarts = 10001 must be an integer from 1 to 10000"),  # 10**20 restarts never finished
]


@pytest.mark.parametrize("name, file_name, data, argv, code, fragment", FOUND, ids=[f[0] for f in FOUND])
def test_found_by_fuzzing(capsys, tmp_path, name, file_name, data, argv, code, fragment):
    """Each was a traceback (exit 1), a hang or a multi-line error before its fix."""
    np.save(tmp_path / "one.npy", np.ones((1, 1)))
    if name == "string-matrix-one-line":
        np.save(tmp_path / "A.npy", np.array([["", ""], ["", ""]], dtype="<U3"))
    elif file_name is not None:
        (tmp_path / file_name).write_bytes(data)
    _, _, err = run_cli(capsys, argv, {code})
    assert fragment in err, err


def test_found_blank_lines_agree_between_the_local_and_scheduler_paths(tmp_path):
    """A line of only U+2028 or U+00A0 was skipped by ``iter_lines`` (the --scheduler path) but classified
    (an error row) by the local path: the two paths gave different rows."""
    src = tmp_path / "in.jsonl"
    src.write_bytes('{"spec": "lu:2"}\n\u2028\n\u00a0\n \n'.encode())
    run_batch(src, tmp_path / "o.jsonl")
    rows = read_output(tmp_path / "o.jsonl")[1]
    assert [r["line"] for r in rows] == [n for n, _ in iter_lines(src)] == [1, 2, 3]


def test_found_refused_output_is_left_untouched(capsys, tmp_path, batch_reference):
    """A CSV output whose rows were edited (an unbalanced quote) was cut at its last 'complete' row before
    being refused with exit 5: the refusal destroyed rows."""
    src, ref, meta = batch_reference("jsonl", "csv")
    lines = ref.split(b"\n")
    lines[2] = b"#" + lines[2]  # an extra character before a row
    lines[3] = lines[3].replace(b",", b',"', 1)  # and an unbalanced quote
    edited = b"\n".join(lines)
    out = tmp_path / "out.csv"
    out.write_bytes(edited)
    _meta_for(out).write_bytes(meta)
    code, _, err = run_cli(capsys, ["batch", src, "--out", out, "--quiet"], {5})
    assert out.read_bytes() == edited and "modified by another program" in err
