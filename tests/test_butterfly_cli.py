"""The ``wellposed factor`` command from a newcomer's point of view."""

import json

import numpy as np
import pytest
import scipy.linalg
from wellposed.solvers.butterfly import FactorChain, load_metadata

from wellposed.cli import main


@pytest.fixture()
def files(tmp_path):
    paths = {}
    paths["H"] = tmp_path / "H.npy"
    np.save(paths["H"], scipy.linalg.hadamard(64).astype(float))
    paths["F"] = tmp_path / "F.npy"
    np.save(paths["F"], np.fft.fft(np.eye(32)))
    paths["R"] = tmp_path / "R.npy"
    np.save(paths["R"], np.random.default_rng(0).standard_normal((24, 12)))
    paths["nan"] = tmp_path / "nan.npy"
    np.save(paths["nan"], np.full((4, 4), np.nan))
    paths["stack"] = tmp_path / "stack.npy"
    np.save(paths["stack"], np.ones((3, 4, 4)))
    paths["vector"] = tmp_path / "vector.npy"
    np.save(paths["vector"], np.ones(4))
    paths["txt"] = tmp_path / "A.txt"
    paths["txt"].write_text("1 2\n3 4\n")
    return paths


def test_text_output_and_out_file(files, tmp_path, capsys):
    out = tmp_path / "H_factors.npz"
    code = main(["factor", str(files["H"]), "--chain", "butterfly:64", "--order", "left-to-right", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "product of 6 Kronecker-sparse factors" in text and "relative" in text and "certificate" in text
    chain = FactorChain.load(out)
    assert np.allclose(chain.to_dense(), scipy.linalg.hadamard(64))
    assert "rel_error" in load_metadata(out)


def test_json_output_dft(files, capsys):
    code = main(["factor", str(files["F"]), "--chain", "butterfly:32", "--bit-reversal", "--orthonormalize", "--json"])
    rec = json.loads(capsys.readouterr().out)
    assert code == 0
    assert rec["rel_error"] < 1e-13 and rec["bit_reversal"] and rec["orthonormalized"]
    assert len(rec["split_errors"]) == 4 and rec["patterns"][0] == [1, 2, 2, 16]


def test_rectangular_debut_with_exact_certificate(files, capsys):
    code = main(["factor", str(files["R"]), "--chain", "debut:2x3,3x2,4x2", "--exact-certificate", "--json"])
    rec = json.loads(capsys.readouterr().out)
    assert code == 0
    assert all(isinstance(x, float) for x in rec["split_errors"])
    assert rec["certificate_ratio"] >= 1.0 and rec["error"] >= rec["lower_bound"]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["{nan}", "--chain", "butterfly:4"], "non-finite"),
        (["{H}", "--chain", "butterfly:32"], "butterfly:32 is 32×32 but the matrix is 64×64: use butterfly:64."),
        (["{H}", "--chain", "monarch:64"], "monarch:64 is 4096×4096 (N = m²) but the matrix is 64×64: use monarch:8."),
        (["{H}", "--chain", "fft:64"], "unknown chain family"),
        (["{H}", "--chain", "ks:1,2,2,2;1,3,3,1"], "not valid"),
        (["{txt}", "--chain", "butterfly:2"], "must be a .npy file"),
        (["missing.npy", "--chain", "butterfly:2"], "does not exist"),
        (["{R}", "--chain", "debut:2x3,3x2,4x2", "--bit-reversal"], "power-of-two"),
        (["{stack}", "--chain", "butterfly:4"], "the matrix has shape (3, 4, 4), but butterfly:4 factors a 2-D"),
        (["{vector}", "--chain", "butterfly:4"], "the matrix has shape (4,), but butterfly:4 factors a 2-D"),
    ],
)
def test_bad_input_exit_2_one_line(files, capsys, argv, needle):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    code = main(["factor", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_usage_errors(files):
    assert main(["factor", str(files["H"])]) == 2  # --chain is required
    assert main(["factor", str(files["H"]), "--chain", "butterfly:64", "--order", "zigzag"]) == 2
