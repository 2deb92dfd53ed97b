"""Bad or oversized input is a clear one-line error with exit 2 (never a traceback, never exit 1).

Each case runs the real entry point ``wellposed.cli.main([...])`` (one also runs a subprocess) and checks
the exit code and that stderr is a single ``error: ...`` line naming the parameter and the value.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wellposed.cli import main
from wellposed.errors import InvalidMatrixError, ResourceLimitError

CASES = Path(__file__).resolve().parent.parent / "cases"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``error: ...`` line of stderr (fails on a traceback or several lines)."""
    assert "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# ---------------------------------------------------------------- sizes are checked before allocating
@pytest.mark.parametrize("spec, fragments", [
    ("lu:99999999999", ["'lu:99999999999'", "would need", "EiB", "the limit is 8 GiB (WELLPOSED_MAX_BYTES)"]),
    ("full:100000,100000,100000", ["would need 55.9 GiB", "limit is 8 GiB", "WELLPOSED_MAX_BYTES=56G"]),
    ("random:3,3,3,0.5,-1", ["seed = '-1'", "non-negative integer"]),
    ("random:3,3,3,nan,1", ["density = 'nan'", "[0, 1]"]),
    ("random:3,3,3,1.5,1", ["density = '1.5'", "[0, 1]"]),
    ("random:3,3,3,-0.1,1", ["density = '-0.1'"]),
    ("lu:2.5", ["n = '2.5' is not an integer"]),
    ("lu:1e3", ["n = '1e3' is not an integer"]),
    ("full:3,3," + "9" * 5000, ["is not an integer"]),
    ("full:3,3,99999999999999999999999", ["r = 99999999999999999999999 is too large"]),
    ("lu:0", ["n = 0 must be ≥ 1"]),
    ("ks:1,2,2,1;1,3,2,1", ["(1,2,2,1) has a·c·d = 2 columns but (1,3,2,1) has a·b·d = 3 rows"]),
])
def test_family_parameters_and_sizes_exit_2(capsys, spec, fragments):
    code, _, err = run(capsys, "analyze", spec, "--no-closedness")
    assert code == 2
    one_error_line(err)
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.mark.parametrize("spec, num_classes", [
    ("monarch:100000", 10**10), ("ks:1,2,2,1000000;1000000,2,2,1", 2 * 10**6), ("full:1,1,200000", 1),
])
def test_sizes_that_needed_huge_tables_are_answered(capsys, spec, num_classes):
    """Kronecker-sparse specs are decided from their description; r identical components form one class
    (no r×r table is ever built)."""
    code, out, err = run(capsys, "analyze", spec, "--no-closedness", "--json")
    assert code == 0 and not err
    assert json.loads(out)["num_classes"] == num_classes


def test_wide_case_file_needs_no_gram_matrices(capsys, tmp_path):
    """A 1×200000 pattern used to allocate the r×r Gram matrices (298 GiB each); its 200000 identical
    components are one class."""
    wide = tmp_path / "wide.json"
    wide.write_text(json.dumps({"x_support": ["1" * 200000], "y_support": ["1" * 200000]}))
    code, out, _ = run(capsys, "analyze", str(wide), "--json")
    rec = json.loads(out)
    assert code == 0 and rec["num_classes"] == 1 and rec["closed"] is True and len(out) < 100_000


def test_memory_limit_is_configurable(capsys, monkeypatch):
    monkeypatch.setenv("WELLPOSED_MAX_BYTES", "1M")
    code, _, err = run(capsys, "analyze", "lu:1000", "--no-closedness")
    assert code == 2 and "the limit is 1 MiB (WELLPOSED_MAX_BYTES)" in one_error_line(err)
    monkeypatch.setenv("WELLPOSED_MAX_BYTES", "lots")
    code, _, err = run(capsys, "analyze", "lu:3", "--no-closedness")
    assert code == 2 and "WELLPOSED_MAX_BYTES = 'lots' is not a memory size" in one_error_line(err)
    monkeypatch.setenv("WELLPOSED_MAX_BYTES", "64G")
    from wellposed.memory import max_bytes

    assert max_bytes() == 64 * 2**30 and run(capsys, "analyze", "lu:3", "--no-closedness")[0] == 0


def test_real_layer_sizes_are_not_refused():
    """4096×4096 layers with r = 4096 and 1–30 % density fit the default budget."""
    from wellposed.classify import check_classify_memory
    from wellposed.families import family
    from wellposed.memory import check_memory, max_bytes

    assert max_bytes() >= 4 * 2**30
    for spec in ("full:4096,4096,4096", "random:4096,4096,4096,0.3,0", "random:4096,4096,4096,0.01,1"):
        p = family(spec)
        check_classify_memory(p)
    check_memory(4096 * 4096 * 40, "Gram matrices", "r = 4096")
    with pytest.raises(ResourceLimitError, match="would need 298 GiB for the r×r Gram matrices"):
        check_memory(200000**2 * 8, "the r×r Gram matrices", "r = 200000")


def test_classify_batch_slices_give_the_same_answers(monkeypatch):
    from wellposed.batch import kernel as classify_mod

    rng = np.random.default_rng(5)
    x = rng.random((37, 6, 5)) < 0.4
    y = rng.random((37, 4, 5)) < 0.4
    whole = classify_mod.classify_batch(x, y)
    monkeypatch.setattr(classify_mod, "_BATCH_SLICE_BYTES", 2000)  # a few patterns per slice
    sliced = classify_mod.classify_batch(x, y)
    assert whole.keys() == sliced.keys()
    for key in whole:
        assert np.array_equal(whole[key], sliced[key]), key


# ---------------------------------------------------------------- case files and masks files
def _bad_files(d: Path) -> dict[str, Path]:
    files = {}
    files["deep.json"] = d / "deep.json"
    files["deep.json"].write_text("[" * 100_000 + "]" * 100_000)
    files["bigint.json"] = d / "bigint.json"
    files["bigint.json"].write_text('{"x_support": [[' + "1" * 5000 + ']], "y_support": [[1]]}')
    np.save(d / "a.npy", np.ones((3, 3)))
    files["renamed.npz"] = d / "renamed.npz"
    (d / "a.npy").rename(files["renamed.npz"])
    files["corrupt.npz"] = d / "corrupt.npz"
    files["corrupt.npz"].write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    files["object.npz"] = d / "object.npz"
    np.savez(files["object.npz"], x_support=np.array([[1]], dtype=object), y_support=np.array([[1]], dtype=object))
    files["r0.npz"] = d / "r0.npz"
    np.savez(files["r0.npz"], x_support=np.zeros((3, 0)), y_support=np.zeros((3, 0)))
    files["r0.json"] = d / "r0.json"
    files["r0.json"].write_text('{"x_support": ["", ""], "y_support": ["", ""]}')
    files["binary.json"] = d / "binary.json"
    files["binary.json"].write_bytes(b"\xff\xfe\x00garbage")
    return files


@pytest.mark.parametrize("name, fragment", [
    ("deep.json", "nested deeper than 64 levels"),
    ("bigint.json", "an integer of 5000 digits"),
    ("renamed.npz", "is a single .npy array saved under a .npz name"),
    ("corrupt.npz", "is a corrupt .npz archive"),
    ("object.npz", "has dtype object"),
    ("r0.npz", "has shape (3, 0)"),
    ("r0.json", "has shape (2, 0)"),
    ("binary.json", "not a UTF-8 text file"),
])
def test_bad_case_files_exit_2_naming_the_file(capsys, tmp_path, name, fragment):
    path = _bad_files(tmp_path)[name]
    code, _, err = run(capsys, "analyze", str(path), "--no-closedness")
    assert code == 2
    one_error_line(err)
    assert fragment in err and name in err, err


def test_bad_case_file_in_a_subprocess(tmp_path):
    path = _bad_files(tmp_path)["deep.json"]
    proc = subprocess.run([sys.executable, "-m", "wellposed", "analyze", str(path), "--no-closedness"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    one_error_line(proc.stderr)


def _bad_mask_files(d: Path) -> dict[str, Path]:
    files = {}
    files["deep.json"] = d / "deep.json"
    files["deep.json"].write_text('{"masks": ' + "[" * 100_000 + "]" * 100_000 + "}")
    files["bigint.json"] = d / "bigint.json"
    files["bigint.json"].write_text('{"masks": [[[' + "1" * 5000 + "]]]}")
    np.save(d / "m.npy", np.ones((3, 3)))
    files["renamed.npz"] = d / "renamed.npz"
    (d / "m.npy").rename(files["renamed.npz"])
    np.savez(d / "m2.npz", np.ones((3, 3)))
    files["renamed.npy"] = d / "renamed.npy"
    (d / "m2.npz").rename(files["renamed.npy"])
    files["corrupt.npz"] = d / "corrupt.npz"
    files["corrupt.npz"].write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    files["object.npz"] = d / "object.npz"
    np.savez(files["object.npz"], np.array([[1, 0]], dtype=object))
    files["empty-layer.npz"] = d / "empty-layer.npz"
    np.savez(files["empty-layer.npz"], np.ones((3, 0)))
    files["zipbomb.npz"] = d / "zipbomb.npz"  # a tiny file declaring a 10**11-entry array
    import zipfile

    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype=bool))
    header["shape"] = (10**6, 10**5)
    with zipfile.ZipFile(files["zipbomb.npz"], "w") as zf, zf.open("arr_0.npy", "w") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
    return files


@pytest.mark.parametrize("name, fragment", [
    ("deep.json", "nested deeper than 64 levels"),
    ("bigint.json", "an integer of 5000 digits"),
    ("renamed.npz", "is a single .npy array saved under a .npz name"),
    ("renamed.npy", "is a .npz archive saved under a .npy name"),
    ("corrupt.npz", "is a corrupt .npz archive"),
    ("object.npz", "has dtype object"),
    ("empty-layer.npz", "has shape (3, 0)"),
    ("zipbomb.npz", "1000000×100000 bool, 93.1 GiB of data"),
])
def test_bad_mask_files_exit_2_naming_the_file(capsys, tmp_path, name, fragment):
    path = _bad_mask_files(tmp_path)[name]
    code, _, err = run(capsys, "network", str(path), "--no-closedness")
    assert code == 2
    one_error_line(err)
    assert fragment in err and name in err, err


def test_network_bad_timeout_exit_2(capsys):
    code, _, err = run(capsys, "network", str(CASES / "networks" / "lu-chain-3.json"), "--timeout", "nan")
    assert code == 2 and "argument --timeout: 'nan' must be a finite number in (0, 1e+06]" in one_error_line(err)


def test_solve_matrix_file_errors_exit_2(capsys, tmp_path):
    np.savez(tmp_path / "A.npz", np.ones((3, 3)))
    (tmp_path / "A.npz").rename(tmp_path / "A.npy")
    code, _, err = run(capsys, "solve", "full:3,3,1", str(tmp_path / "A.npy"))
    assert code == 2 and "is a .npz archive saved under a .npy name" in one_error_line(err)
    np.save(tmp_path / "O.npy", np.array([[1, 2]], dtype=object), allow_pickle=True)
    code, _, err = run(capsys, "solve", "full:1,2,1", str(tmp_path / "O.npy"))
    assert code == 2 and "has dtype object" in one_error_line(err)


def test_solve_certificate_failure_is_exit_1_with_one_line(capsys, tmp_path, monkeypatch):
    """A failed optimality certificate is a bug (exit 1), reported on one line by main."""
    import wellposed.solvers.fsmf

    from wellposed.errors import CertificateError

    def broken(*args, **kwargs):
        raise CertificateError("residual differs from the certified optimum")

    monkeypatch.setattr(wellposed.solvers.fsmf, "solve_fsmf", broken)
    np.save(tmp_path / "A.npy", np.eye(3))
    code, _, err = run(capsys, "solve", "full:3,3,1", str(tmp_path / "A.npy"))
    assert code == 1 and "could not be certified" in one_error_line(err)


# ---------------------------------------------------------------- quantize
def _chain_file(d: Path, name: str, **override: np.ndarray) -> Path:
    from wellposed.solvers.butterfly import FactorChain, KSFactor

    from wellposed.kronecker import dyadic_butterfly

    rng = np.random.default_rng(0)
    path = d / "base.npz"
    FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(4))).save(path)
    arrays = dict(np.load(path))
    arrays.update(override)
    np.savez(d / name, **arrays)
    return d / name


@pytest.mark.parametrize("override, fragment", [
    ({"num_factors": np.float64(1.5)}, "num_factors = 1.5 must hold whole numbers"),
    ({"num_factors": np.int64(10**17)}, "num_factors = 100000000000000000 must be between 1 and"),
    ({"num_factors": np.array([1, 2])}, "num_factors must be one integer"),
    ({"pattern_0": np.array([1.5, 2, 2, 2])}, "pattern_0 = [1.5, 2.0, 2.0, 2.0] must hold whole numbers"),
    ({"factor_0": np.full((1, 2, 2, 2), 1e300)}, "overflows float64"),
    ({"factor_0": np.full((1, 2, 2, 2), 1e100), "factor_1": np.full((2, 2, 2, 1), 1e100)},
     "the product of factors[0] to factors[1]"),
    ({"factor_1": np.array(["a"] * 8).reshape(2, 2, 2, 1)}, "factor_1: data must hold real or complex numbers"),
    ({"factor_1": np.ones((2, 2, 2, 1)) + 1j}, "is complex: only real factors can be quantized"),
    ({"format": np.array("wellposed.FactorChain/9")}, "has format 'wellposed.FactorChain/9', which this version"),
    ({"column_permutation": np.array([0, 1, 1, 3])}, "column_permutation is not a permutation of range(4)"),
])
def test_quantize_bad_factor_files_exit_2(capsys, tmp_path, override, fragment):
    path = _chain_file(tmp_path, "bad.npz", **override)
    code, out, err = run(capsys, "quantize", str(path), "--bits", "4")
    assert code == 2 and "nan" not in out
    assert fragment in one_error_line(err), err


def test_quantize_huge_scale_was_nan_exit_0(capsys, tmp_path):
    """Factors near 1e300 printed `nan` and exited 0."""
    path = _chain_file(tmp_path, "big.npz", factor_0=np.full((1, 2, 2, 2), 1e300), factor_1=np.ones((2, 2, 2, 1)))
    code, out, err = run(capsys, "quantize", str(path), "--bits", "4", "--json")
    assert code == 2 and out == ""
    assert "2**500" in one_error_line(err)


def test_quantize_rank_one_refuses_overflowing_scales():
    from wellposed.solvers.quantize import naive_rank_one, quantize_rank_one

    with pytest.raises(InvalidMatrixError, match="overflows float64"):
        quantize_rank_one([1e300, 1.0], [1e300, 1.0], 4)
    with pytest.raises(InvalidMatrixError, match="overflows float64"):
        naive_rank_one([1e200, 1.0], [1.0, 1.0], 4)
    res = quantize_rank_one([1e100, 1.0], [1e-100, 1.0], 4)  # large and small factors: a fine product
    assert np.isfinite(res.error)


# ---------------------------------------------------------------- torch files
@pytest.mark.requires_torch
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")
def test_sparse_torch_masks_are_densified(capsys, tmp_path):
    import torch

    rng = np.random.default_rng(2)
    masks = [rng.random((5, 4)) < 0.5, rng.random((3, 5)) < 0.5]
    torch.save({"fc1.weight_mask": torch.tensor(masks[0]).to_sparse(),
                "fc2.weight_mask": torch.tensor(masks[1], dtype=torch.float32).to_sparse_csr()},
               tmp_path / "sparse.pt")
    torch.save({"fc1.weight_mask": torch.tensor(masks[0]), "fc2.weight_mask": torch.tensor(masks[1])},
               tmp_path / "dense.pt")
    code, out_sparse, _ = run(capsys, "network", str(tmp_path / "sparse.pt"), "--json", "--no-closedness")
    code_d, out_dense, _ = run(capsys, "network", str(tmp_path / "dense.pt"), "--json", "--no-closedness")
    assert code == code_d == 0
    a, b = json.loads(out_sparse), json.loads(out_dense)
    a.pop("files"), b.pop("files")
    assert a == b


@pytest.mark.requires_torch
@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")
def test_sparse_torch_mask_too_large_is_refused(capsys, tmp_path):
    import torch

    idx = torch.tensor([[0, 99_999], [0, 99_999]])
    big = torch.sparse_coo_tensor(idx, torch.ones(2, dtype=torch.bool), (100_000, 100_000))
    torch.save({"fc1.weight_mask": big}, tmp_path / "big.pt")
    code, _, err = run(capsys, "network", str(tmp_path / "big.pt"), "--no-closedness")
    assert code == 2 and "the dense form of the sparse 100000×100000 tensor" in one_error_line(err)


@pytest.mark.requires_torch
def test_torch_file_with_objects_does_not_advise_weights_only_false(capsys, tmp_path):
    import torch

    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "model.pt")
    code, _, err = run(capsys, "network", str(tmp_path / "model.pt"))
    assert code == 2
    one_error_line(err)
    assert "weights_only" not in err and "objects other than tensors" in err and "state_dict()" in err
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    code, _, err = run(capsys, "network", str(tmp_path / "garbage.pt"))
    assert code == 2 and "cannot read" in one_error_line(err) and "weights_only" not in err


@pytest.mark.requires_torch
def test_bfloat16_torch_masks_are_read(capsys, tmp_path):
    import torch

    torch.save({"a": torch.ones(3, 2, dtype=torch.bfloat16), "b": torch.ones(1, 3, dtype=torch.bfloat16)},
               tmp_path / "bf16.pt")
    assert run(capsys, "network", str(tmp_path / "bf16.pt"), "--no-closedness")[0] == 0


# ---------------------------------------------------------------- the docs tool: names never become paths
def test_docs_figure_names_cannot_escape_the_folder(tmp_path, capsys):
    from wellposed.docs_tools import figure_slug
    from wellposed.docs_tools import main as docs_main

    cases = tmp_path / "cases"
    cases.mkdir()
    evil = {"name": "../../x", "x_support": ["10", "11"], "y_support": ["10", "11"]}
    (cases / "evil.json").write_text(json.dumps(evil))
    (cases / "lu-2.json").write_text((CASES / "lu-2.json").read_text())
    docs = tmp_path / "deep" / "docs"
    assert docs_main(["catalogue", "--docs", str(docs), "--cases", str(cases)]) == 0
    fig_dir = docs / "figures" / "cases"
    slug = figure_slug("../../x")
    assert slug.startswith("x-") and set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert sorted(p.name for p in fig_dir.iterdir()) == sorted(["MANIFEST.json", f"{slug}.png", "lu-2.png"])
    assert not (tmp_path / "deep" / "x.png").exists() and not (tmp_path / "x.png").exists()
    assert f"figures/cases/{slug}.png" in (docs / "catalogue.md").read_text()
    capsys.readouterr()
    # a picture that is a symbolic link pointing outside the folder is refused, not written through
    target = tmp_path / "outside.png"
    target.write_bytes(b"keep")
    (fig_dir / "lu-2.png").unlink()
    (fig_dir / "lu-2.png").symlink_to(target)
    assert docs_main(["catalogue", "--docs", str(docs), "--cases", str(cases)]) == 4
    err = capsys.readouterr().err
    assert "outside the figures folder" in one_error_line(err)
    assert target.read_bytes() == b"keep"
