"""wellposed.io: every input format goes through the one table; chunk records; the resumable writer that
``wellposed batch`` and ``wellposed census`` share."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wellposed.batch import run_batch
from wellposed.closedness.census import run_census
from wellposed.errors import InvalidMatrixError, InvalidSpecError, OutputConflictError
from wellposed.families import family, load_pattern
from wellposed.io import formats
from wellposed.io.arrays import read_matrix
from wellposed.io.batch_input import (
    ArrayChunk,
    CaseFile,
    DirectoryInput,
    FileChunk,
    JsonlInput,
    LineChunk,
    NpzInput,
    RangeChunk,
    open_batch_input,
)
from wellposed.io.formats import DIRECTORY, FORMATS, KINDS, NOT_A_FILE, OTHER_FILE, format_for
from wellposed.io.masks import load_masks
from wellposed.io.resumable import (
    BATCH_OUTPUT,
    CENSUS_OUTPUT,
    conflict,
    make_header,
    meta_path,
    open_resumable,
    read_output,
)

LU = family("lu:2")


# ---------------------------------------------------------------- the table
def _write_samples(d: Path) -> dict[str, tuple[str, Path | str]]:
    """One source per format of the table, keyed by ``f"{kind} {reader}"``: (entry kind, source)."""
    import scipy.sparse

    case = json.dumps(LU.to_json())
    (d / "case.json").write_text(case)
    (d / "case.txt").write_text(case)
    np.savez(d / "pattern.npz", x_support=LU.x_support, y_support=LU.y_support)
    (d / "cases").mkdir()
    (d / "cases" / "a.json").write_text(case)
    np.savez(d / "batch.npz", x_support=LU.x_support[None], y_support=LU.y_support[None])
    (d / "in.jsonl").write_text(case + "\n")
    (d / "in.txt").write_text(case + "\n")
    np.savez(d / "masks.npz", np.ones((3, 2)), np.ones((1, 3)))
    scipy.sparse.save_npz(d / "sparse.npz", scipy.sparse.csr_matrix(np.eye(2)))
    np.save(d / "layer.npy", np.ones((2, 2)))
    (d / "masks.json").write_text(json.dumps({"masks": [["11", "01"], ["11"]]}))
    np.save(d / "A.npy", np.arange(6.0).reshape(2, 3))
    return {"pattern .json": d / "case.json", "pattern other": d / "case.txt", "pattern .npz": d / "pattern.npz",
            "pattern spec": "lu:2", "pattern case": "case:lu-2", "batch dir": d / "cases",
            "batch .npz": d / "batch.npz",
            "batch .jsonl": d / "in.jsonl", "batch other": d / "in.txt", "masks .npz": d / "masks.npz",
            "masks scipy": d / "sparse.npz", "masks .npy": d / "layer.npy", "masks .json": d / "masks.json",
            "matrix .npy": d / "A.npy"}


def test_every_format_is_reached_and_read(tmp_path: Path) -> None:
    samples = _write_samples(tmp_path)
    reached = {format_for(label.split()[0], source, parameter="X") for label, source in samples.items()}
    torch = [f for f in FORMATS if f.reader.endswith("read_torch_masks")]
    assert reached | set(torch) == set(FORMATS)  # torch files: tests/test_network_io.py (needs torch)
    assert all(callable(f.load()) for f in FORMATS)
    # and each kind's entry point reads them
    for label in ("pattern .json", "pattern other", "pattern .npz", "pattern spec", "pattern case"):
        p = load_pattern(samples[label])
        assert (p.x_support == LU.x_support).all() and (p.y_support == LU.y_support).all(), label
    kinds = {label: type(open_batch_input(samples[label])) for label in samples if label.startswith("batch")}
    assert kinds == {"batch dir": DirectoryInput, "batch .npz": NpzInput, "batch .jsonl": JsonlInput,
                     "batch other": JsonlInput}
    shapes = [m.shape for label in samples if label.startswith("masks") for m in load_masks(samples[label]).masks]
    assert shapes == [(3, 2), (1, 3), (2, 2), (2, 2), (2, 2), (1, 2)]
    assert read_matrix(str(samples["matrix .npy"])).shape == (2, 3)


def test_the_table_is_consistent() -> None:
    assert KINDS == ("pattern", "batch", "masks", "matrix")
    for kind in KINDS:
        seen: list[str] = []
        for f in formats.formats_of(kind):
            assert f.matches and not set(f.matches) & set(seen), f  # every source matches one format of a kind
            assert all((m.startswith(".") or m.endswith(":")) and m == m.lower()
                       or m in (DIRECTORY, OTHER_FILE, NOT_A_FILE) for m in f.matches)
            seen += f.matches
        assert kind in formats.ARGUMENTS
    assert formats.formats_markdown().count("\n") == len(FORMATS) + 2


@pytest.mark.parametrize(("kind", "source", "parameter", "error", "fix"), [
    ("masks", "net.txt", "MASKS", InvalidSpecError, ".npz file (numpy.savez"),
    ("masks", "net", "paths", InvalidSpecError, "a .pt/.pth/.ckpt/.bin file (a torch state_dict)"),
    ("matrix", "A.csv", "MATRIX", InvalidMatrixError, "numpy.save('A.npy', A)"),
])
def test_an_unknown_suffix_names_the_parameter_the_value_and_the_fix(kind, source, parameter, error, fix) -> None:
    with pytest.raises(error) as info:
        format_for(kind, source, parameter=parameter, error=error)
    message = str(info.value)
    assert message.startswith(f"{parameter} = {source!r} has ")
    assert ("no suffix" if "." not in source else f"suffix {Path(source).suffix!r}") in message
    assert fix in message


def test_unknown_suffixes_through_the_entry_points(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("1 0")
    with pytest.raises(InvalidSpecError, match=r"^MASKS = '.*m\.txt' has suffix '\.txt'; it must be a \.npz file"):
        load_masks(tmp_path / "m.txt", parameter="MASKS")
    with pytest.raises(InvalidMatrixError, match=r"^MATRIX = 'A\.txt' has suffix '\.txt'; it must be a \.npy file"):
        read_matrix("A.txt")
    with pytest.raises(InvalidSpecError, match="kind = 'tensor' is not a kind of input; use one of pattern, batch"):
        format_for("tensor", "x.npy", parameter="X")


def test_cli_unknown_suffix_exits_2(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("1,0")
    proc = subprocess.run([sys.executable, "-m", "wellposed", "network", str(tmp_path / "m.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "MASKS = " in proc.stderr and "has suffix '.csv'" in proc.stderr


def test_a_directory_is_a_directory_whatever_its_name(tmp_path: Path) -> None:
    odd = tmp_path / "cases.npz"
    odd.mkdir()
    (odd / "a.json").write_text(json.dumps(LU.to_json()))
    assert isinstance(open_batch_input(odd), DirectoryInput)
    with pytest.raises(InvalidSpecError, match="is a directory, not a pattern file"):
        load_pattern(odd)


def test_specs_that_look_like_suffixes_are_specs() -> None:
    assert format_for("pattern", "random:4,4,3,0.5,0", parameter="SPEC").reader == "families:family"
    assert format_for("pattern", "x" * 5000, parameter="SPEC").reader == "families:family"  # too long a name
    assert format_for("pattern", "ks:1,1,1,1;1,1,1,1.json", parameter="SPEC").reader.endswith("read_case_file")


# ---------------------------------------------------------------- chunk records
def test_chunks_are_frozen_records_that_leave_out_done_records(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"spec": "lu:2"}\n\n{"spec": "diag:2"}\n \n{"spec": "lu:3"}\n')
    jsonl = open_batch_input(src)
    ranges = list(jsonl.chunks(done={1}, size=2))
    assert all(isinstance(c, RangeChunk) for c in ranges)
    assert [(c.first_line, sorted(c.skip)) for c in ranges] == [(1, [1]), (3, []), (5, [])]  # blanks: when read
    assert [r for c in ranges for r in c.records()] == [(3, '{"spec": "diag:2"}'), (5, '{"spec": "lu:3"}')]
    shipped = list(jsonl.chunks(done={1}, size=1, ship=True))  # records keep their line end, as read
    assert shipped == [LineChunk(((3, '{"spec": "diag:2"}\n'),)), LineChunk(((5, '{"spec": "lu:3"}\n'),))]
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped[0].lines = ()  # type: ignore[misc]

    np.savez(tmp_path / "b.npz", x_support=np.ones((5, 2, 1), bool), y_support=np.ones((5, 3, 1), bool))
    arrays = list(open_batch_input(tmp_path / "b.npz").chunks(done={2, 3}, size=3))
    assert [(type(c), c.first, sorted(c.skip), len(c.x)) for c in arrays] == [(ArrayChunk, 1, [2, 3], 3),
                                                                                (ArrayChunk, 4, [], 2)]
    assert arrays[0].names == ("", "", "")

    folder = tmp_path / "cases"
    folder.mkdir()
    for name in ("b.json", "a.json", "c.JSON", "notes.txt"):
        (folder / name).write_text("{}")
    directory = open_batch_input(folder)
    assert [f.name for f in directory.files] == ["a.json", "b.json", "c.JSON"]
    files = list(directory.chunks(done={"b.json": ""}, size=10))
    assert files == [FileChunk((CaseFile(1, "a.json", files[0].files[0].sha256, "{}"),
                                CaseFile(3, "c.JSON", files[0].files[1].sha256, "{}")))]
    (folder / "a.json").write_text("[]")
    assert directory.changes({"a.json": files[0].files[0].sha256, "gone.json": "x"}) == (["a.json"], ["gone.json"])


# ---------------------------------------------------------------- the resumable writer
def _header(value: int) -> dict:
    return make_header(CENSUS_OUTPUT, {"v": value}, options={"v": value})


def _refuse(path: Path):
    def mismatch(stored: dict) -> dict:
        raise conflict(CENSUS_OUTPUT, path, "was written with other options")
    return mismatch


def _lines(body: bytes) -> list[bytes]:
    return body.split(b"\n")[:-1]


def test_writer_starts_resumes_and_cuts_a_torn_line(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out)) as run:
        assert run.found == [] and run.header == _header(1)
        run.output.append(b'{"a": 1}\n{"a": 2}\n{"a"')
    assert out.read_bytes().startswith(CENSUS_OUTPUT.encode(_header(1)))
    with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out)) as run:
        assert run.found == [b'{"a": 1}', b'{"a": 2}']
        run.output.append(b'{"a": 3}\n')
    assert out.read_bytes() == CENSUS_OUTPUT.encode(_header(1)) + b'{"a": 1}\n{"a": 2}\n{"a": 3}\n'
    with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out), restart=True) as run:
        assert run.found == []
    assert out.read_bytes() == CENSUS_OUTPUT.encode(_header(1))


def test_writer_refuses_other_runs_and_leaves_them_untouched(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out)) as run:
        run.output.append(b'{"a": 1}\n{"a"')
    before = out.read_bytes()
    with pytest.raises(OutputConflictError, match="was written with other options; rerun with --restart"):
        with open_resumable(out, _header(2), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out)):
            pass
    batch_header = make_header(BATCH_OUTPUT, {}, input={}, options={})
    with pytest.raises(OutputConflictError, match="written by `wellposed census`, not `wellposed batch`"):
        with open_resumable(out, batch_header, BATCH_OUTPUT, parse=_lines, mismatch=_refuse(out)):
            pass

    def refuse_rows(body: bytes) -> list[bytes]:
        raise conflict(CENSUS_OUTPUT, out, "has a bad row")

    with pytest.raises(OutputConflictError, match="has a bad row"):
        with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=refuse_rows, mismatch=_refuse(out)):
            pass
    assert out.read_bytes() == before  # the torn line is cut only once the rows are accepted
    (tmp_path / "other.jsonl").write_text('{"some": "thing"}\n')
    with pytest.raises(OutputConflictError, match="is not a census output with a fingerprint header"):
        with open_resumable(tmp_path / "other.jsonl", _header(1), CENSUS_OUTPUT, parse=_lines,
                            mismatch=_refuse(out)):
            pass


def test_writer_csv_keeps_its_header_in_a_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    header = make_header(BATCH_OUTPUT, {"x": 1}, input={"x": 1}, options={})
    with open_resumable(out, header, BATCH_OUTPUT, parse=_lines, mismatch=_refuse(out), fmt="csv",
                        columns=["line", "name"]) as run:
        run.output.append(b'1,a\n2,"b\nc"\n3,"d')
    assert json.loads(meta_path(out).read_text()) == header
    with open_resumable(out, header, BATCH_OUTPUT, parse=_lines, mismatch=_refuse(out), fmt="csv",
                        columns=["line", "name"]) as run:
        assert run.found == [b"1,a", b'2,"b', b'c"']
    assert out.read_bytes() == b'line,name\n1,a\n2,"b\nc"\n'
    assert read_output(out) == (header, [{"line": "1", "name": "a"}, {"line": "2", "name": "b\nc"}])


def test_replace_is_atomic_and_keeps_the_layout(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with open_resumable(out, _header(1), CENSUS_OUTPUT, parse=_lines, mismatch=_refuse(out)) as run:
        run.output.append(b'{"k": "b"}\n{"k": "a"}\n')
        run.output.replace(run.header, [{"k": "a"}, {"k": "b"}])
    assert out.read_text() == json.dumps(_header(1)) + '\n{"k": "a"}\n{"k": "b"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl"]


@pytest.mark.parametrize("writer", ["batch", "census"])
def test_a_fingerprint_mismatch_exits_5(tmp_path: Path, writer: str) -> None:
    out = tmp_path / "o.jsonl"
    if writer == "batch":
        src = tmp_path / "in.jsonl"
        src.write_text('{"spec": "lu:2"}\n')
        run_batch(src, out)
        argv = ["batch", str(src), "--out", str(out), "--quiet", "--closedness"]
    else:
        run_census(out, max_m=1, max_n=1, max_r=1, use_qe=False)
        argv = ["census", "--out", str(out), "--max-m", "1", "--max-n", "1", "--max-r", "1", "--effort", "2"]
    before = out.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "wellposed", *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 5, proc.stderr
    assert "with other options" in proc.stderr and "--restart" in proc.stderr
    assert out.read_bytes() == before


def test_census_and_batch_write_through_the_same_writer(tmp_path: Path) -> None:
    """A census file resumed with nothing left to do is rewritten byte for byte (the published census too)."""
    out = tmp_path / "c.jsonl"
    run_census(out, max_m=1, max_n=2, max_r=1, use_qe=False)
    first = out.read_bytes()
    lines = first.split(b"\n")
    out.write_bytes(b"\n".join(lines[:-2]) + b"\n" + lines[-2][:7])  # a torn last record
    run_census(out, max_m=1, max_n=2, max_r=1, use_qe=False)
    assert out.read_bytes() == first
    header = json.loads(lines[0])
    assert header == make_header(CENSUS_OUTPUT, header["options"], options=header["options"])
