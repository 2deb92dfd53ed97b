"""``wellposed solve``: text and JSON output, .npz round trip, refusals and bad input (exit 2)."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from wellposed.solvers.fsmf import solve_fsmf

from wellposed.cli import main
from wellposed.cli import solve as solve_cli
from wellposed.families import family


@pytest.fixture
def matrix(tmp_path):
    def write(shape, name="A.npy", seed=0, values=None):
        path = tmp_path / name
        data = np.random.default_rng(seed).standard_normal(shape) if values is None else values
        np.save(path, data)
        return str(path), data

    return write


def test_text_output(matrix, capsys):
    path, A = matrix((16, 16))
    assert main(["solve", "butterfly:16:2", path]) == 0
    out = capsys.readouterr().out
    expected = solve_fsmf(A, family("butterfly:16:2")).optimal_value
    assert "method     dto" in out and f"{expected:.12g}" in out
    assert "16 SVD (16× 4x4:rank1)" in out


def test_json_and_npz_round_trip(matrix, tmp_path, capsys):
    path, A = matrix((3, 3))
    out_file = tmp_path / "F.npz"
    assert main(["solve", "mcp:110,110,001", path, "--json", "--out", str(out_file)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["tractable"] and record["solution"]["method"] == "relaxed"
    with np.load(out_file) as data:
        X, Y = data["X"], data["Y"]
        assert float(data["optimal_value"]) == pytest.approx(record["solution"]["optimal_value"])
        assert str(data["method"]) == "relaxed"
    p = family("mcp:110,110,001")
    assert np.all(X[~p.x_support] == 0) and np.all(Y[~p.y_support] == 0)
    assert float(np.sum((A - X @ Y.T) ** 2)) == pytest.approx(record["solution"]["residual"], abs=1e-12)


def test_case_file_spec_with_baseline(matrix, tmp_path, capsys):
    spec = tmp_path / "p.json"
    spec.write_text(json.dumps(family("full:4,3,2").to_json()))
    path, _ = matrix((4, 3))
    assert main(["solve", str(spec), path, "--baseline", "als", "--restarts", "2"]) == 0
    out = capsys.readouterr().out
    assert "baseline   als" in out and "baseline − optimum" in out


def test_not_tractable_refused_with_reason(matrix, capsys):
    path, _ = matrix((3, 3))
    assert main(["solve", "lu:3", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 'lu:3' is not tractable") and "--baseline" in err
    assert "Traceback" not in err


def test_not_tractable_with_baseline(matrix, tmp_path, capsys):
    path, _ = matrix((2, 2))
    out_file = tmp_path / "lu.npz"
    assert main(["solve", "lu:2", path, "--baseline", "lbfgs", "--restarts", "2", "--json",
                 "--out", str(out_file)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert not record["tractable"] and "solution" not in record
    assert record["baseline"]["method"] == "lbfgs"
    with np.load(out_file) as data:
        assert str(data["method"]) == "baseline-lbfgs" and "optimal_value" not in data.files


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda m: (["solve", "full:3,3,1", m((2, 3))[0]]), "MATRIX has shape (2, 3)"),
        (lambda m: (["solve", "full:3,3,1", m((3, 3), values=np.full((3, 3), np.nan))[0]]), "non-finite"),
        (lambda m: (["solve", "full:3,3,1", m((3, 3), values=np.zeros((0, 3)))[0]]), "MATRIX is empty"),
        (lambda m: (["solve", "full:3,3,1", m((3, 3), name="A.txt")[0]]), "must be a .npy file"),
        (lambda m: (["solve", "full:3,3,1", "missing.npy"]), "does not exist"),
        (lambda m: (["solve", "nofamily:3", m((3, 3))[0]]), "unknown family"),
        (lambda m: (["solve", "full:3,3,1", m((3, 3))[0], "--out", "x.txt"]), "must end in .npz"),
        (lambda m: (["solve", "lu:3", m((3, 3))[0], "--baseline", "als", "--restarts", "0"]), "restarts = 0"),
    ],
)
def test_bad_input_exit_2(setup, match, matrix, capsys):
    assert main(setup(matrix)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and "Traceback" not in err


def test_unreadable_npy(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not a numpy file")
    assert main(["solve", "full:2,2,1", str(bad)]) == 2
    assert "cannot read MATRIX" in capsys.readouterr().err


def test_add_parser_standalone(matrix, capsys):
    parser = argparse.ArgumentParser(prog="x")
    solve_cli.add_parser(parser.add_subparsers())
    path, _ = matrix((2, 2))
    args = parser.parse_args(["solve", "full:2,2,2", path])
    assert args.func is solve_cli.run and args.func(args) == 0
    assert "residual" in capsys.readouterr().out


def test_module_is_cheap_to_import():
    code = "import sys, wellposed.cli.solve; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
