"""The case catalogue as a library (``wellposed.catalogue``), as a spec (``case:NAME``) and as a command
(``wellposed cases``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wellposed.batch.rows import classify_lines
from wellposed.catalogue import case_names, catalogue_dir, census_file, census_names, load_case, read_case_spec
from wellposed.cli import main
from wellposed.errors import InvalidSpecError
from wellposed.families import load_pattern
from wellposed.io.formats import format_for, spec_format

from .catalogue import case_files


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_case_file_is_a_case_and_reads_the_same_by_name_and_by_path():
    files = case_files()
    assert [f.stem for f in files] == case_names() and len(files) >= 30
    for f in files:
        by_path, by_spec = load_pattern(f), load_pattern(f"case:{f.stem}")
        assert by_spec.name == by_path.name == f.stem
        assert np.array_equal(by_spec.x_support, by_path.x_support)
        assert np.array_equal(by_spec.y_support, by_path.y_support)
        assert dict(by_spec.expected) == dict(by_path.expected) and by_spec.source == by_path.source


def test_case_specs_go_through_the_format_table():
    assert format_for("pattern", "case:lu-2", parameter="SPEC").reader == "catalogue:read_case_spec"
    # the prefix wins over a suffix: case:x.json names a case, it is not a missing .json file
    assert format_for("pattern", "case:x.json", parameter="SPEC").reader == "catalogue:read_case_spec"
    assert spec_format("pattern", " CASE:Lu-2 ").load()(" CASE:Lu-2 ").name == "lu-2"
    assert read_case_spec("case: lu-3 ").shape == (3, 3, 3)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("case:lu2", "unknown case 'lu2' in 'case:lu2'; close matches: lu-2"),
    ("case:tshape-3x3", "close matches: t-shape-3x3"),
    ("case:qqqqqq", "no case has a similar name (`wellposed cases` lists the"),
    ("case:", "'case:' names no case; write case:NAME such as case:lu-2"),
    ("case:lu-2.json", "close matches: lu-2"),
])
def test_unknown_cases_name_the_close_matches(spec, fragment):
    with pytest.raises(InvalidSpecError) as info:
        load_pattern(spec)
    assert fragment in str(info.value)
    assert f"lists the {len(case_names())} cases" in str(info.value)


@pytest.mark.parametrize("command", ["analyze", "closedness", "solve"])
def test_every_spec_argument_refuses_an_unknown_case_with_one_line(capsys, tmp_path, command):
    np.save(tmp_path / "A.npy", np.ones((2, 2)))
    argv = [command, "case:lu2"] + ([str(tmp_path / "A.npy")] if command == "solve" else [])
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: unknown case 'lu2' in 'case:lu2'; close matches: lu-2")


def test_analyze_and_closedness_accept_a_case(capsys):
    code, out, _ = run(capsys, "analyze", "--json", "--no-closedness", "case:t-shape-3x3")
    rec = json.loads(out)
    assert code == 0 and rec["name"] == "t-shape-3x3" and rec["tractable"] is True
    assert rec["tractable_method"] == "relaxed"
    code, out, _ = run(capsys, "closedness", "--json", "case:lu-2")
    rec = json.loads(out)
    assert code == 0 and rec["pattern"] == "lu-2" and rec["closed"] is False


def test_a_batch_record_may_name_a_case():
    rows = classify_lines([(1, '{"spec": "case:lu-2"}'), (2, '{"spec": "case:lu2"}')])
    assert rows[0]["ok"] and rows[0]["name"] == "lu-2" and rows[0]["tractable"] is False
    assert not rows[1]["ok"] and "close matches: lu-2" in rows[1]["error"]


def test_cases_command_lists_every_case_with_its_expected_verdicts(capsys):
    code, out, _ = run(capsys, "cases", "--json")
    listing = json.loads(out)
    assert code == 0 and [row["name"] for row in listing["cases"]] == case_names()
    assert listing["census"] == census_names()
    for row in listing["cases"]:
        p = load_case(row["name"])
        assert (row["m"], row["n"], row["r"]) == p.shape and row["spec"] == f"case:{p.name}"
        assert (row["tractable"], row["closed"]) == (p.expected["tractable"], p.expected["closed"])
    code, text, _ = run(capsys, "cases")
    lines = text.splitlines()
    assert code == 0 and lines[0].split() == ["name", "shape", "tractable", "closed", "description"]
    assert len(lines) == 1 + len(case_names()) + 3


def test_cases_command_shows_one_case_as_its_file(capsys):
    code, out, _ = run(capsys, "cases", "--json", "case:nested-row-2x2")
    shown = json.loads(out)
    on_disk = json.loads((catalogue_dir() / "nested-row-2x2.json").read_text(encoding="utf-8"))
    assert code == 0 and {k: shown[k] for k in on_disk} == on_disk
    assert (shown["m"], shown["n"], shown["r"]) == (2, 2, 2)
    code, _, err = run(capsys, "cases", "nested-row")
    assert code == 2 and "NAME = 'nested-row' is not a case of the catalogue; close matches: nested-row-2x2" in err


def test_the_census_ships_with_the_catalogue():
    names = census_names()
    assert names == sorted(p.name for p in (catalogue_dir() / "census").glob("*.jsonl")) and names
    with census_file(names[0]).open("r", encoding="utf-8") as f:
        header = json.loads(f.readline())
    assert header["wellposed_census"] == 1
    with pytest.raises(InvalidSpecError, match="is not a census file of the catalogue"):
        census_file("nope.jsonl")


def test_cases_path_prints_the_folder_that_batch_classifies(capsys, tmp_path):
    code, out, _ = run(capsys, "cases", "--path")
    assert code == 0 and out == f"{catalogue_dir()}\n"
    code, out, _ = run(capsys, "cases", "--path", "LU-2")
    assert code == 0 and out == f"{catalogue_dir() / 'lu-2.json'}\n"
    code, _, _ = run(capsys, "batch", out.strip().rpartition("/")[0], "--out", str(tmp_path / "c.jsonl"), "--quiet")
    rows = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
    assert code == 0 and [row["name"] for row in rows] == case_names()
