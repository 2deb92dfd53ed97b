"""Census slice (m, n, r ≤ 2): consistent counts, resumability, re-verifiable records; CLI commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from wellposed.closedness import NotClosedCertificate, decide_closedness
from wellposed.closedness.census import enumerate_patterns, read_records, render_markdown, run_census, summarize
from wellposed.errors import InvalidSpecError
from wellposed.support import SupportPattern


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("census") / "slice.jsonl"
    records = run_census(out, max_m=2, max_n=2, max_r=2, timeout=2.0, jobs=1, use_qe=False)
    return out, records


def test_enumeration_is_up_to_symmetry() -> None:
    keys = [k for k, _ in enumerate_patterns(2, 2, 2)]
    assert len(keys) == len(set(keys))
    pats = dict(enumerate_patterns(2, 2, 2))
    for k, p in pats.items():
        assert p.canonical_key(transpose=True) == k
        assert p.transpose().canonical_key(transpose=True) == k


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
    again = run_census(copy, max_m=2, max_n=2, max_r=2, timeout=2.0, use_qe=False)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert len(read_records(copy)) == len(records)
    before = copy.read_text(encoding="utf-8")
    run_census(copy, max_m=2, max_n=2, max_r=2, timeout=2.0, use_qe=False)
    assert copy.read_text(encoding="utf-8") == before  # nothing left to do


@pytest.mark.parametrize("kwargs", [{"max_m": 0}, {"max_r": 9}, {"jobs": 0}, {"timeout": -1}])
def test_census_validation(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError):
        run_census(tmp_path / "x.jsonl", **{"max_m": 1, "max_n": 1, "max_r": 1, **kwargs})


# ---------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    from wellposed.closedness import cli

    ap = argparse.ArgumentParser(prog="wellposed")
    cli.add_parser(ap.add_subparsers(dest="command", required=True))
    return ap


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


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
