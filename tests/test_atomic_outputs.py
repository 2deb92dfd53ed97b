"""Every output file is written atomically; an output that cannot be written is exit 4 with one clear line.

Covered: ``solve --out``, ``factor --out``, ``quantize --out``, ``analyze --graph/--picture``, ``demo lu --out``,
``census --markdown`` and the docs tool's figures. Failure modes: the path is a directory, a symbolic link
loop, below a file, in a read-only folder, and a full disk during the write (simulated by making the
writer or ``fsync`` fail with ENOSPC). A failed write leaves neither a truncated file nor a temporary file,
and an existing output keeps its previous content.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from wellposed.cli import main

CASES = Path(__file__).resolve().parent.parent / "cases"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, str]:
    from wellposed.solvers.butterfly import FactorChain, KSFactor

    from wellposed.kronecker import dyadic_butterfly

    rng = np.random.default_rng(0)
    np.save(tmp_path / "A3.npy", rng.standard_normal((3, 3)))
    np.save(tmp_path / "A8.npy", rng.standard_normal((8, 8)))
    FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(4))).save(tmp_path / "F.npz")
    return {"A3": str(tmp_path / "A3.npy"), "A8": str(tmp_path / "A8.npy"), "F": str(tmp_path / "F.npz")}


#: (name, argv builder for an output path, suffix of the output file)
COMMANDS = [
    ("solve", lambda i, out: ["solve", "full:3,3,1", i["A3"], "--out", out], ".npz"),
    ("factor", lambda i, out: ["factor", i["A8"], "--chain", "butterfly:8", "--out", out], ".npz"),
    ("quantize", lambda i, out: ["quantize", i["F"], "--bits", "4", "--out", out], ".npz"),
    ("graph", lambda i, out: ["analyze", "lu:3", "--no-closedness", "--graph", out], ".graphml"),
    ("graph-json", lambda i, out: ["analyze", "lu:3", "--no-closedness", "--graph", out], ".json"),
    ("picture", lambda i, out: ["analyze", "lu:3", "--no-closedness", "--picture", out], ".png"),
]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".part"))


@pytest.mark.parametrize("name, argv, suffix", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_output_is_a_directory_exit_4(capsys, tmp_path, inputs, name, argv, suffix):
    target = tmp_path / f"out{suffix}"
    target.mkdir()
    code, _, err = run(capsys, *argv(inputs, str(target)))
    assert code == 4
    assert "is a directory" in error_lines(err)[0] and str(target) in err
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("name, argv, suffix", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_output_is_a_symlink_loop_exit_4(capsys, tmp_path, inputs, name, argv, suffix):
    target = tmp_path / f"loop{suffix}"
    target.symlink_to(target.name)
    code, _, err = run(capsys, *argv(inputs, str(target)))
    assert code == 4 and "symbolic link" in error_lines(err)[0]
    assert target.is_symlink()


@pytest.mark.parametrize("name, argv, suffix", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_output_below_a_file_exit_4(capsys, tmp_path, inputs, name, argv, suffix):
    code, _, err = run(capsys, *argv(inputs, str(Path(inputs["A3"]) / f"x{suffix}")))
    assert code == 4 and "Not a directory" in error_lines(err)[0]


@pytest.mark.parametrize("name, argv, suffix", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_permission_denied_at_write_exit_4(capsys, tmp_path, inputs, monkeypatch, name, argv, suffix):
    """The same as a read-only folder, also when the tests run as root (which ignores permissions)."""
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = run(capsys, *argv(inputs, str(folder / f"x{suffix}")))
    assert code == 4
    line = error_lines(err)[0]
    assert "Permission denied" in line and "choose a writable location" in line
    assert list(folder.iterdir()) == []


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("name, argv, suffix", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_disk_full_at_flush_leaves_nothing_and_keeps_the_old_file(capsys, tmp_path, inputs, monkeypatch, name,
                                                                   argv, suffix):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"x{suffix}"
    target.write_bytes(b"previous content")
    monkeypatch.setattr(os, "fsync", _disk_full)
    code, _, err = run(capsys, *argv(inputs, str(target)))
    assert code == 4
    line = error_lines(err)[0]
    assert "No space left on device" in line and "free disk space" in line and str(target) in line
    assert target.read_bytes() == b"previous content"
    assert _leftovers(folder) == [] and sorted(p.name for p in folder.iterdir()) == [target.name]


@pytest.mark.parametrize("name, argv, suffix", COMMANDS[:3], ids=[c[0] for c in COMMANDS[:3]])
def test_disk_full_while_writing_npz_leaves_no_truncated_file(capsys, tmp_path, inputs, monkeypatch, name, argv,
                                                              suffix):
    def half_written(file, *args, **kwargs):
        file.write(b"PK\x03\x04 truncated")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", half_written)
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = run(capsys, *argv(inputs, str(folder / f"x{suffix}")))
    assert code == 4 and "No space left on device" in error_lines(err)[0]
    assert list(folder.iterdir()) == []


def test_disk_full_while_drawing_leaves_no_truncated_picture(capsys, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def half_written(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG truncated")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", half_written)
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = run(capsys, "analyze", "lu:2", "--no-closedness", "--picture", str(folder / "p.svg"))
    assert code == 4 and "--picture" in error_lines(err)[0]
    assert list(folder.iterdir()) == []
    code, _, err = run(capsys, "demo", "lu", "--steps", "20", "--out", str(folder / "demo"))
    assert code == 4 and "--out" in error_lines(err)[0]
    assert list((folder / "demo").iterdir()) == []


def test_outputs_are_complete_and_alone(capsys, tmp_path, inputs):
    """The successful path writes exactly the requested files (no temporary file left beside them)."""
    folder = tmp_path / "out"
    for name, argv, suffix in COMMANDS:
        assert run(capsys, *argv(inputs, str(folder / f"{name}{suffix}")))[0] == 0, name
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{name}{suffix}" for name, _, suffix in COMMANDS)
    with np.load(folder / "solve.npz") as z:
        assert {"X", "Y", "residual", "method", "optimal_value"} <= set(z.files)
    assert (folder / "picture.png").read_bytes()[:4] == b"\x89PNG"


def test_factor_and_quantize_keep_numpy_suffix_rule(capsys, tmp_path, inputs):
    """Like numpy.savez, a name without .npz gets it; the reported name is the real file."""
    code, out, _ = run(capsys, "quantize", inputs["F"], "--bits", "4", "--out", str(tmp_path / "q"))
    assert code == 0 and (tmp_path / "q.npz").is_file() and not (tmp_path / "q").exists()
    assert f"written to {tmp_path / 'q.npz'}" in out


def test_demo_out_errors(capsys, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    code, out, err = run(capsys, "demo", "lu", "--steps", "10", "--out", str(loop))
    assert code == 4 and "symbolic link" in error_lines(err)[0] and out == ""  # refused before the work
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    code, out, err = run(capsys, "demo", "lu", "--steps", "10", "--out", str(afile / "sub"))
    assert code == 4 and "Not a directory" in error_lines(err)[0] and out == ""


def test_census_markdown_errors(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "md"
    folder.mkdir()
    code, _, err = run(capsys, "census", "--out", str(tmp_path / "c.jsonl"), "--max-m", "1", "--max-n", "1",
                       "--max-r", "1", "--no-qe", "--markdown", str(folder))
    assert code == 4 and "--markdown" in error_lines(err)[0] and "is a directory" in err
    assert not (tmp_path / "c.jsonl").exists()  # refused before the census ran

    import wellposed.io.outputs

    real_fsync = os.fsync
    target = folder / "census.md"

    def fsync(fd):  # the JSONL output is fine; the Markdown table hits a full disk
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".census.md."):
            _disk_full()
        real_fsync(fd)

    monkeypatch.setattr(wellposed.io.outputs.os, "fsync", fsync)
    code, _, err = run(capsys, "census", "--out", str(tmp_path / "c.jsonl"), "--max-m", "1", "--max-n", "1",
                       "--max-r", "1", "--no-qe", "--markdown", str(target))
    assert code == 4 and "--markdown" in error_lines(err)[0] and "No space left" in err
    assert list(folder.iterdir()) == []


def test_docs_tool_unwritable_output_exit_4(capsys, tmp_path, monkeypatch):
    from wellposed.docs_tools import main as docs_main

    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "lu-2.json").write_text((CASES / "lu-2.json").read_text())
    blocker = tmp_path / "docs"
    blocker.write_text("a file where the docs folder should be")
    assert docs_main(["catalogue", "--docs", str(blocker), "--cases", str(cases)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: docs_dir") and err.count("\n") == 1
    docs = tmp_path / "real-docs"
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert docs_main(["catalogue", "--docs", str(docs), "--cases", str(cases)]) == 4
    assert "No space left on device" in capsys.readouterr().err
    assert [p for p in docs.rglob("*") if p.is_file()] == []
