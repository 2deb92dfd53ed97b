"""Census slice (m, n, r ≤ 2): consistent counts, resumability, re-verifiable records; CLI commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from wellposed.closedness import NotClosedCertificate, decide_closedness
from wellposed.closedness.budget import z3_version
from wellposed.closedness.census import (
    _enumerate_patterns_reference,
    enumerate_patterns,
    read_records,
    read_timings,
    render_markdown,
    run_census,
    summarize,
)
from wellposed.errors import InvalidSpecError, OutputConflictError
from wellposed.support import SupportPattern


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("census") / "slice.jsonl"
    records = run_census(out, max_m=2, max_n=2, max_r=2, jobs=1, use_qe=False)
    return out, records


def test_enumeration_is_up_to_symmetry() -> None:
    keys = [k for k, _ in enumerate_patterns(2, 2, 2)]
    assert len(keys) == len(set(keys))
    pats = dict(enumerate_patterns(2, 2, 2))
    for k, p in pats.items():
        assert p.canonical_key(transpose=True) == k
        assert p.transpose().canonical_key(transpose=True) == k


@pytest.mark.parametrize("size", [(1, 1, 1), (2, 2, 2), (1, 3, 3), (2, 2, 3), (3, 2, 2), (1, 2, 4)])
def test_enumeration_matches_the_plain_loop(size: tuple[int, int, int]) -> None:
    """The orbit codes give the classes, representatives and order of one canonical key per candidate."""
    fast = [(k, p.to_json()) for k, p in enumerate_patterns(*size)]
    assert fast == [(k, p.to_json()) for k, p in _enumerate_patterns_reference(*size)]


def test_slice_counts_and_verdicts(slice_file: tuple[Path, list[dict]]) -> None:
    out, records = slice_file
    s = summarize(records)
    assert s["total"] == len(records) == len(dict(enumerate_patterns(2, 2, 2)))
    assert s["closed"] + s["not_closed"] + s["undecided_count"] == s["total"]
    assert s["undecided_count"] == 0  # every 2×2, r ≤ 2 pattern is decided
    by_key = {r["key"]: r for r in records}
    lu2 = SupportPattern(["10", "11"], ["10", "11"]).canonical_key(transpose=True)
    assert by_key[lu2]["closed"] is False
    for rec in records:
        if rec["closed"] is False:
            p = SupportPattern(rec["x_support"], rec["y_support"])
            cert = NotClosedCertificate.from_json(p, rec["certificate"])
            assert cert.verify()["curve"] == "ok"  # re-verified from the file alone
        # the record agrees with a fresh cheap run whenever the cheap run decides
        fresh = decide_closedness(SupportPattern(rec["x_support"], rec["y_support"]), use_qe=False, search=False)
        if fresh.closed is not None:
            assert fresh.closed == rec["closed"]
    md = render_markdown(s, "wellposed census --out x", 1.0, records)
    assert "| closed |" in md and "Decided with evidence" in md


def test_resume_skips_done_keys(slice_file: tuple[Path, list[dict]], tmp_path: Path) -> None:
    out, records = slice_file
    copy = tmp_path / "resume.jsonl"
    lines = out.read_text(encoding="utf-8").splitlines()
    copy.write_text("\n".join(lines[:-3]) + "\n" + lines[-3][:10], encoding="utf-8")  # truncated last line
    again = run_census(copy, max_m=2, max_n=2, max_r=2, use_qe=False)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert len(read_records(copy)) == len(records)
    before = copy.read_text(encoding="utf-8")
    run_census(copy, max_m=2, max_n=2, max_r=2, use_qe=False)
    assert copy.read_text(encoding="utf-8") == before  # nothing left to do


@pytest.mark.parametrize("kwargs", [{"max_m": 0}, {"max_r": 9}, {"jobs": 0}, {"timeout": -1}, {"effort": 0}])
def test_census_validation(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError):
        run_census(tmp_path / "x.jsonl", **{"max_m": 1, "max_n": 1, "max_r": 1, **kwargs})


# ---------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    from wellposed.cli import census, closedness

    ap = argparse.ArgumentParser(prog="wellposed")
    sub = ap.add_subparsers(dest="command", required=True)
    closedness.add_parser(sub)
    census.add_parser(sub)
    return ap


def _run(argv: list[str]) -> int:
    """Through the real entry point: ``wellposed.cli.main`` maps exceptions to exit codes."""
    from wellposed.cli import main

    return main(argv)


def test_cli_closedness_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["closedness", "lu:2", "--json", "--no-qe"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["closed"] is False and out["closed_method"] == "certificate:lu-obstruction"
    assert out["certificate"]["limit"] == [["0", "1"], ["1", "0"]]
    assert _run(["closedness", "full:3,3,2"]) == 0
    assert "closed" in capsys.readouterr().out


def test_cli_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["closedness", "nosuch:3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    with pytest.raises(SystemExit):
        _parser().parse_args(["closedness", "lu:2", "--timeout", "-3"])


def test_cli_emit_delegates(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("wellposed.formulas")
    assert _run(["closedness", "lu:2", "--emit", "smtlib"]) == 0
    assert capsys.readouterr().out.strip()


def test_cli_census(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, md = tmp_path / "c.jsonl", tmp_path / "c.md"
    assert _run(["census", "--out", str(out), "--max-m", "2", "--max-n", "1", "--max-r", "2", "--no-qe",
                 "--markdown", str(md)]) == 0
    assert "patterns:" in capsys.readouterr().out
    assert "Decided with evidence" in md.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the output file: header, lock, conflicts
_SMALL: dict[str, Any] = {"max_m": 2, "max_n": 1, "max_r": 2, "effort": 1.0, "use_qe": False}


def _without_seconds(path: Path) -> list[dict]:
    return [{k: v for k, v in rec.items() if k != "seconds"} for rec in read_records(path)]


def test_header_line_and_option_conflicts(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    records = run_census(out, **_SMALL)
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert header["wellposed_census"] == 1 and len(header["fingerprint"]) == 64
    assert header["options"] == {"max_m": 2, "max_n": 1, "max_r": 2, "backend": "z3", "use_qe": False,
                                 "effort": 1.0, "timeout": None, "z3": z3_version()}
    assert read_records(out) == records  # the header is not a record
    before = out.read_bytes()
    with pytest.raises(OutputConflictError, match=r"max_r: 2 in the file, 1 now.*--restart"):
        run_census(out, **{**_SMALL, "max_r": 1})
    with pytest.raises(OutputConflictError, match="use_qe: False in the file, True now"):
        run_census(out, **{**_SMALL, "use_qe": True})
    with pytest.raises(OutputConflictError, match="effort: 1.0 in the file, 2.0 now"):
        run_census(out, **{**_SMALL, "effort": 2.0})
    assert out.read_bytes() == before
    assert run_census(out, **{**_SMALL, "effort": 1}) == records  # 1 == 1.0: resumes, nothing to do
    # --retry-undecided may use another budget: the header notes it, the fingerprint stays
    run_census(out, **{**_SMALL, "effort": 2.0}, retry_undecided=True)
    after = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert after["fingerprint"] == header["fingerprint"]
    assert after["retried_with"] == [{"effort": 2.0, "timeout": None}]
    with pytest.raises(OutputConflictError, match="may change only timeout, effort"):
        run_census(out, **{**_SMALL, "max_n": 2}, retry_undecided=True)
    small = run_census(out, **{**_SMALL, "max_r": 1}, restart=True)
    assert len(small) < len(records) and len(read_records(out)) == len(small)


def test_census_refuses_files_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue: `census --out` on a batch output deleted its rows and exited 0; now exit 5, file untouched."""
    from wellposed.batch import run_batch
    from wellposed.cli import main

    src = tmp_path / "in.jsonl"
    src.write_text('{"spec": "lu:2"}\n{"spec": "diag:2"}\n', encoding="utf-8")
    batch_out = tmp_path / "rows.jsonl"
    run_batch(src, batch_out)
    before = batch_out.read_bytes()
    argv = ["census", "--out", str(batch_out), "--max-m", "1", "--max-n", "1", "--max-r", "1", "--no-qe"]
    assert main(argv) == 5
    err = capsys.readouterr().err
    assert "written by `wellposed batch`, not `wellposed census`" in err and "--restart" in err
    assert batch_out.read_bytes() == before
    # an older census file without header, or any other file: refused, untouched
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_text('{"key": "T1x1x0:", "closed": true}\n', encoding="utf-8")
    foreign = tmp_path / "notes.jsonl"
    foreign.write_text("my notes\nmore notes", encoding="utf-8")
    for path, message in ((legacy, "census file of an older wellposed"), (foreign, "not a census output")):
        text = path.read_text(encoding="utf-8")
        with pytest.raises(OutputConflictError, match=message):
            run_census(path, max_m=1, max_n=1, max_r=1, use_qe=False)
        assert path.read_text(encoding="utf-8") == text
    # the legacy file can be adopted by inserting the header line the message shows
    with pytest.raises(OutputConflictError) as info:
        run_census(legacy, max_m=1, max_n=1, max_r=1, use_qe=False)
    head = str(info.value).split("inserting this first line: ", 1)[1].split(" ; otherwise", 1)[0]
    legacy.write_text(head + "\n" + legacy.read_text(encoding="utf-8"), encoding="utf-8")
    adopted = run_census(legacy, max_m=1, max_n=1, max_r=1, use_qe=False)
    assert adopted[0] == {"key": "T1x1x0:", "closed": True} and len(adopted) == 2
    # --restart is the explicit way to start over
    assert main([*argv, "--restart"]) == 0
    assert [r["key"] for r in read_records(batch_out)] == ["T1x1x0:", "T1x1x1:1|1"]


def test_census_output_is_locked(tmp_path: Path) -> None:
    from wellposed.io.outputs import lock_output

    out = tmp_path / "c.jsonl"
    run_census(out, max_m=1, max_n=1, max_r=1, use_qe=False)
    before = out.read_bytes()
    with lock_output(out), pytest.raises(OutputConflictError, match="being written by another running process"):
        run_census(out, max_m=1, max_n=1, max_r=1, use_qe=False, restart=True)
    assert out.read_bytes() == before


def test_census_resumes_from_a_cut_anywhere(tmp_path: Path) -> None:
    """Cut the file at many offsets (header, records, mid-record): resuming gives the same records."""
    ref = tmp_path / "ref.jsonl"
    run_census(ref, **_SMALL)
    data = ref.read_bytes()
    expected = _without_seconds(ref)
    out = tmp_path / "c.jsonl"
    for cut in sorted({*range(0, len(data), max(1, len(data) // 23)), len(data) - 1}):
        out.write_bytes(data[:cut])
        run_census(out, **_SMALL)
        assert _without_seconds(out) == expected, cut
        assert out.read_bytes().split(b"\n")[0] == data.split(b"\n")[0]


def test_compaction_failure_keeps_the_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final rewrite is atomic: if it fails, the appended records are all still there."""
    import os

    from wellposed.errors import OutputError

    out = tmp_path / "c.jsonl"
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        run_census(out, **_SMALL)
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(read_records(out)) == len(dict(enumerate_patterns(2, 1, 2)))
    # no temporary file left behind (the timings file is information kept beside the records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl", "c.jsonl.timings.jsonl"]
    before = _without_seconds(out)
    run_census(out, **_SMALL)
    assert sorted(_without_seconds(out), key=lambda r: r["key"]) == sorted(before, key=lambda r: r["key"])


def test_census_output_errors(tmp_path: Path) -> None:
    from wellposed.errors import OutputError

    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        run_census(tmp_path / "d.jsonl", max_m=1, max_n=1, max_r=1, use_qe=False)
    (tmp_path / "full.jsonl").symlink_to("/dev/full")
    with pytest.raises(OutputError, match="not a regular file"):
        run_census(tmp_path / "full.jsonl", max_m=1, max_n=1, max_r=1, use_qe=False)


def test_census_file_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    """Counted budgets: the same census command gives the same bytes, in-process or on two workers."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_census(a, max_m=2, max_n=2, max_r=2, jobs=1)
    run_census(b, max_m=2, max_n=2, max_r=2, jobs=2)
    assert a.read_bytes() == b.read_bytes()
    assert "seconds" not in a.read_text(encoding="utf-8")  # timings live in the separate timings file
    assert set(read_timings(a)) == {r["key"] for r in read_records(a)}


def test_part_memo_gives_the_records_of_fresh_runs() -> None:
    """The census reuses part verdicts by exact part (zero rows, repeated parts): every record is the one
    a fresh run of the pattern alone gives, and parts were indeed reused."""
    from wellposed.closedness.census import census_record

    class Counting(dict):
        hits = 0

        def __getitem__(self, key: Any) -> Any:
            Counting.hits += 1
            return super().__getitem__(key)

    memo = Counting()
    patterns = list(enumerate_patterns(2, 3, 2))
    with_memo = [census_record(k, p, use_qe=False, memo=memo) for k, p in patterns]
    fresh = [census_record(k, p, use_qe=False) for k, p in patterns]
    assert json.dumps(with_memo) == json.dumps(fresh)
    assert memo and Counting.hits > 0  # some part was met again and not decided twice


# ---------------------------------------------------------------- --verify and --summarize
def _tampered(src: Path, dst: Path, edit: Any) -> Path:
    """A copy of the census file ``src`` whose first record matching ``edit`` (returns the new record or
    None) is replaced."""
    lines = src.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[1:], 1):
        new = edit(json.loads(line))
        if new is not None:
            lines[i] = json.dumps(new)
            break
    else:
        raise AssertionError("no record to tamper with")
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def test_verify_census_accepts_the_file_and_refuses_tampering(slice_file: tuple[Path, list[dict]],
                                                             tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from wellposed.cli import main
    from wellposed.closedness.census import verify_census

    out, records = slice_file
    res = verify_census(out)
    assert res["problems"] == [] and res["refuted"] == 0
    assert res["verified"] + res["undecided"] == res["records"] == len(records)
    assert main(["census", "--verify", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{len(records)} records: {res['verified']} verified" in text and "certificate:lu-obstruction" in text

    def flip_closed(rec: dict) -> dict | None:  # a not-closed pattern claimed closed by a rule
        return {**rec, "closed": True, "method": "theorem:dto", "part_methods": ["theorem:dto"]} \
            if rec["closed"] is False else None

    def break_certificate(rec: dict) -> dict | None:  # a wrong limit matrix
        if rec["closed"] is not False or "limit" not in rec["certificate"]:
            return None
        limit = [["7" if v == "0" else v for v in row] for row in rec["certificate"]["limit"]]
        return {**rec, "certificate": {**rec["certificate"], "limit": limit}}

    def claim_not_closed(rec: dict) -> dict | None:  # a closed pattern claimed not closed, without certificate
        return {**rec, "closed": False, "method": "certificate:curve-search"} if rec["closed"] is True else None

    def wrong_key(rec: dict) -> dict | None:  # masks of another class
        return {**rec, "x_support": ["1" * len(rec["x_support"][0])] * len(rec["x_support"])} \
            if rec["closed"] is False else None

    def relabel(rec: dict) -> dict | None:  # a valid certificate under the method of another search
        return {**rec, "method": "certificate:random-curve"} if rec["closed"] is False else None

    for name, edit, message in (("flip", flip_closed, "proves the part not closed"),
                                ("relabel", relabel, "it was found by"),
                                ("cert", break_certificate, "the certificate does not verify"),
                                ("claim", claim_not_closed, "without its certificate"),
                                ("key", wrong_key, "not the recorded")):
        bad = _tampered(out, tmp_path / f"{name}.jsonl", edit)
        res = verify_census(bad)
        assert res["refuted"] == 1, name
        assert any(message in p for p in res["problems"]), (name, res["problems"])
        assert main(["census", "--verify", str(bad)]) == 7
        assert "refused:" in capsys.readouterr().out
    # a dropped record and an edited header are refused too
    lines = out.read_text(encoding="utf-8").splitlines()
    (tmp_path / "short.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert any("have no record" in p for p in verify_census(tmp_path / "short.jsonl")["problems"])
    head = json.loads(lines[0])
    head["options"]["effort"] = 2.0
    (tmp_path / "head.jsonl").write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n", encoding="utf-8")
    assert any("fingerprint" in p for p in verify_census(tmp_path / "head.jsonl")["problems"])
    (tmp_path / "notes.jsonl").write_text("hello\n", encoding="utf-8")
    assert main(["census", "--verify", str(tmp_path / "notes.jsonl")]) == 2
    assert "does not start with a census header line" in capsys.readouterr().err


def test_summarize_renders_the_page_from_files_alone(slice_file: tuple[Path, list[dict]], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from wellposed.cli import main

    out, records = slice_file
    small = tmp_path / "small.jsonl"
    run_census(small, **_SMALL)
    page = tmp_path / "census.md"
    assert main(["census", "--summarize", str(out), str(small), "--markdown", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.count("\n## Census ") == 2
    assert f"## Census m ≤ 2, n ≤ 2, r ≤ 2: {len(records)} classes" in text
    assert f"Command: `wellposed census --out {small} --max-m 2 --max-n 1 --max-r 2 --effort 1 --no-qe" in text
    assert "| **all** |" in text and "| 2 × 2 |" in text
    s = summarize(records)
    assert f"| not closed | {s['not_closed']} |" in text
    # the same page again, to stdout: nothing was re-run (same bytes)
    assert main(["census", "--summarize", str(out), str(small)]) == 0
    assert capsys.readouterr().out == text


def test_verify_table_names_existing_stages():
    # census --verify re-checks a closed verdict by the stage its method names; a renamed stage would fall
    # back silently to running every stage
    from wellposed.closedness.census import _CLOSED_STAGES, _QE_STAGE
    from wellposed.closedness.pipeline import STAGES

    names = {name for name, _ in STAGES}
    assert _QE_STAGE in names
    for method, stages in _CLOSED_STAGES.items():
        assert set(stages) <= names, method
