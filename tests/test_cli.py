"""The core CLI: analyze, families, batch; exit codes and error messages."""

import json
import subprocess
import sys

import pytest

from wellposed.cli import main

from .catalogue import CASES_DIR


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_lu3_json(capsys):
    code, out, _ = run(capsys, "analyze", "lu:3", "--json", "--no-closedness")
    assert code == 0
    rec = json.loads(out)
    assert rec["tractable"] is False and rec["dto"] is False
    assert rec["failing_pair"] == [0, 1]
    assert "nested" in rec["tractable_reason"]
    assert [c["components"] for c in rec["classes"]] == [[0], [1], [2]]
    assert [c["rows"] for c in rec["components"]] == [[0, 1, 2], [1, 2], [2]]
    assert rec["graph"]["connected_components"] == 1
    assert "closed" in rec and rec["closed"] is None


def test_analyze_case_file_text(capsys):
    code, out, _ = run(capsys, "analyze", str(CASES_DIR / "t-shape-3x3.json"), "--no-closedness")
    assert code == 0
    assert "tractable: yes [relaxed]" in out
    assert "expected (from the case file)" in out


def test_analyze_text_marks_a_cut_list_with_its_length(capsys, tmp_path):
    """A class of 30 rows shows 20 of them and says there are 30 (not a list that looks complete); --full
    shows all."""
    import numpy as np

    path = tmp_path / "tall.npz"
    np.savez(path, x_support=np.ones((30, 1), dtype=bool), y_support=np.ones((3, 1), dtype=bool))
    code, out, _ = run(capsys, "analyze", str(path), "--no-closedness")
    assert code == 0
    assert f"rows {list(range(20))}"[:-1] + ", … (30 in all)] × cols [0, 1, 2]" in out
    code, out, _ = run(capsys, "analyze", str(path), "--no-closedness", "--full")
    assert f"rows {list(range(30))} × cols [0, 1, 2]" in out and "in all" not in out


def test_analyze_writes_graph_and_picture(capsys, tmp_path):
    g, pic = tmp_path / "g.graphml", tmp_path / "p.png"
    code, out, _ = run(capsys, "analyze", "mcp:110,011,101", "--no-closedness", "--graph", str(g), "--picture",
                       str(pic))
    assert code == 0 and g.stat().st_size > 0 and pic.read_bytes()[:4] == b"\x89PNG"
    gj = tmp_path / "g.json"
    assert run(capsys, "analyze", "lu:2", "--no-closedness", "--graph", str(gj))[0] == 0
    assert {e["relation"] for e in json.loads(gj.read_text())["links"]} == {"nested"}


@pytest.mark.parametrize("argv, fragment", [
    (["analyze", "lux:3"], "unknown family 'lux'"),
    (["analyze", "missing.json"], "does not exist"),
    (["analyze", str(CASES_DIR)], "is a directory"),
    (["analyze", "full:2,2"], "expected 3"),
    (["analyze", "random:2,2,2,0.5,x"], "seed"),
])
def test_bad_input_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and fragment in err
    assert "Traceback" not in err


def test_bad_option_value(capsys):
    assert main(["analyze", "lu:2", "--timeout", "-1"]) == 2  # main returns argparse's exit code
    assert "must be a finite number in (0, 1e+06]" in capsys.readouterr().err


def test_families(capsys):
    code, out, _ = run(capsys, "families")
    assert code == 0 and "lu:n" in out and "butterfly:N:s" in out


def test_batch_exit_code_3_on_invalid_records(capsys, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"spec": "lu:2"}\n{"x_support": ["2"], "y_support": ["1"]}\n')
    code, out, err = run(capsys, "batch", str(src), "--out", str(tmp_path / "o.jsonl"), "--quiet")
    assert code == 3
    assert "2 processed" in out and "1 invalid" in out
    assert "line 2" in err


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "wellposed", "analyze", "diag:2", "--json", "--no-closedness"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["dto"] is True


def test_timeout_above_the_os_wait_limit_is_refused_not_crashing(capsys):
    """A cap beyond ~24.8 days overflowed the operating system's wait (OverflowError, exit 1)."""
    assert main(["closedness", "lu:2", "--timeout", "2200000"]) == 2
    assert "at most 1e6 = about 11 days" in capsys.readouterr().err


def test_census_refuses_an_unknown_backend_before_writing(tmp_path):
    from wellposed.closedness.census import run_census
    from wellposed.errors import InvalidSpecError

    out = tmp_path / "c.jsonl"
    with pytest.raises(InvalidSpecError, match="is not a QE backend"):
        run_census(out, max_m=1, max_n=1, max_r=1, backend="nope")
    assert not out.exists()
