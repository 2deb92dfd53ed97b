"""Mask readers (.npz, .npy, scipy.sparse, JSON, torch) give identical reports; the `network` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wellposed.cli import main
from wellposed.errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from wellposed.io.masks import load_masks
from wellposed.network import analyze_network

CASES = Path(__file__).resolve().parent.parent / "cases" / "networks"


def _masks(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((5, 4)) < 0.5, rng.random((3, 5)) < 0.5, rng.random((2, 3)) < 0.6]


def _report(masks: list[np.ndarray]) -> dict:
    rep = analyze_network(masks, closedness=False).to_json()
    for lay in rep["layers"]:
        lay.pop("name")
    return rep


def _write_all_formats(d: Path, masks: list[np.ndarray]) -> dict[str, list[Path]]:
    import scipy.sparse

    np.savez(d / "pos.npz", *[m.astype(np.uint8) for m in masks])
    np.savez(d / "named.npz", **{f"layer{chr(ord('c') - i)}": m for i, m in enumerate(masks)})  # c, b, a: not sorted
    npy = []
    sparse = []
    for i, m in enumerate(masks):
        np.save(d / f"m{i}.npy", m.astype(np.float32))
        npy.append(d / f"m{i}.npy")
        scipy.sparse.save_npz(d / f"s{i}.npz", scipy.sparse.csr_matrix(m.astype(np.int8)))
        sparse.append(d / f"s{i}.npz")
    (d / "m.json").write_text(json.dumps({"masks": [["".join("1" if v else "0" for v in row) for row in m]
                                                    for m in masks]}))
    return {"npz": [d / "pos.npz"], "npz-named": [d / "named.npz"], "npy": npy, "sparse": sparse,
            "json": [d / "m.json"]}


def test_formats_give_identical_masks_and_reports(tmp_path: Path) -> None:
    masks = _masks()
    files = _write_all_formats(tmp_path, masks)
    reference = _report(masks)
    for fmt, paths in files.items():
        loaded = load_masks(paths if len(paths) > 1 else paths[0])
        assert len(loaded) == 3, fmt
        for a, b in zip(loaded.masks, masks, strict=True):
            assert np.array_equal(a, b), fmt
        assert _report(list(loaded.masks)) == reference, fmt
    assert load_masks(files["npz-named"][0]).names == ("layerc", "layerb", "layera")  # archive order kept


def test_positional_npz_numeric_order(tmp_path: Path) -> None:
    masks = [np.ones((2, 2), bool)] * 11 + [np.ones((1, 2), bool)]
    np.savez(tmp_path / "many.npz", *masks)
    loaded = load_masks(tmp_path / "many.npz")
    assert loaded.names[-1] == "arr_11" and loaded.masks[-1].shape == (1, 2)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError, match="does not exist"):
        load_masks(tmp_path / "nope.npz")
    (tmp_path / "x.txt").write_text("1 0")
    with pytest.raises(InvalidSpecError, match="suffix '.txt'"):
        load_masks(tmp_path / "x.txt")
    np.savez(tmp_path / "bad.npz", np.ones((3, 2)), np.ones((2, 4)))
    with pytest.raises(InvalidSupportError, match=r"layer 2 \('arr_1'\) has shape \(2, 4\)"):
        load_masks(tmp_path / "bad.npz")
    np.save(tmp_path / "w.npy", np.array([[0.5, 1.0]]))
    with pytest.raises(InvalidSupportError, match="has entry 0.5"):
        load_masks(tmp_path / "w.npy")
    (tmp_path / "j.json").write_text('{"layers": []}')
    with pytest.raises(InvalidSpecError, match='key "masks"'):
        load_masks(tmp_path / "j.json")


def test_torch_missing_names_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wellposed.io.masks as mio

    real = mio.importlib.util.find_spec
    monkeypatch.setattr(mio.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    (tmp_path / "m.pt").write_bytes(b"")
    with pytest.raises(BackendNotAvailableError, match=r"pip install torch==2\.13\.0"):
        load_masks(tmp_path / "m.pt")


# ---------------------------------------------------------------- torch
@pytest.mark.requires_torch
def test_pruned_torch_mlp_roundtrip(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 1))
    for layer in (model[0], model[2], model[4]):
        prune.l1_unstructured(layer, name="weight", amount=0.4)
    torch.save(model.state_dict(), tmp_path / "mlp.pt")
    expected = [model[i].weight_mask.numpy().astype(bool) for i in (0, 2, 4)]
    loaded = load_masks(tmp_path / "mlp.pt")
    assert loaded.names == ("0.weight_mask", "2.weight_mask", "4.weight_mask")
    for a, b in zip(loaded.masks, expected, strict=True):
        assert np.array_equal(a, b)
    # explicit masks (a list) and the nonzero pattern of the pruned weights give the same report
    torch.save([torch.from_numpy(m.astype(np.float32)) for m in expected], tmp_path / "explicit.pt")
    for i in (0, 2, 4):
        prune.remove(model[i], "weight")
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(InvalidSpecError, match="from_weights"):
        load_masks(tmp_path / "weights.pt")
    ref = _report(expected)
    assert _report(list(load_masks(tmp_path / "explicit.pt").masks)) == ref
    assert _report(list(load_masks(tmp_path / "weights.pt", from_weights=True).masks)) == ref
    assert _report(list(loaded.masks)) == ref
    assert ref["num_layers"] == 3 and ref["output_dim"] == 1


@pytest.mark.requires_torch
def test_network_command_on_torch_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    from torch.nn.utils import prune

    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    for i in (0, 2):
        prune.random_unstructured(model[i], name="weight", amount=0.3)
    torch.save(model.state_dict(), tmp_path / "mlp.pth")
    assert main(["network", str(tmp_path / "mlp.pth")]) == 0
    text = capsys.readouterr().out
    assert "ReLU network training: WELL-POSED" in text and "0.weight_mask" in text


# ---------------------------------------------------------------- CLI
def test_network_command_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", str(CASES / "butterfly-8-chain.json"), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["linear_set"]["closed"] is True and rec["linear_set"]["method"] == "theorem:ks-chainable"
    assert rec["relu"]["status"] == "open"
    assert main(["network", str(CASES / "lu-chain-3.json")]) == 0
    text = capsys.readouterr().out
    assert "closed: no [reduction:two-factor]" in text and "ILL-POSED" in text and "limit matrix A*" in text


def test_network_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "bad.npz", np.ones((3, 2)), np.ones((2, 4)))
    assert main(["network", str(tmp_path / "bad.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: masks do not chain") and err.count("\n") == 1
    assert main(["network", str(tmp_path / "missing.npy")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["network", str(tmp_path / "bad.npz"), "--timeout", "0"]) == 2
