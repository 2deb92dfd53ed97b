"""The in-memory entry points: ``wellposed.analyze`` agrees with the CLI on every input kind, ``classify_many``
gives the rows of ``wellposed batch``, and malformed input gets a clear error."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wellposed
from wellposed.analysis import Analysis
from wellposed.analysis import analyze as analyze_pattern
from wellposed.batch import run_batch
from wellposed.batch.rows import KERNEL_MAX_R
from wellposed.cli import main
from wellposed.errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from wellposed.families import load_pattern
from wellposed.io.masks import load_masks
from wellposed.io.resumable import read_output

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"


def _cli_json(*argv: str) -> dict[str, Any]:
    """``wellposed ARGV --json``, in process, as a dict without its wall-clock ``seconds``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--json"])
    assert code == 0, out.getvalue()
    return _timeless(json.loads(out.getvalue()))


def _timeless(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "seconds"}


def _record(x: Any, **options: Any) -> dict[str, Any]:
    return _timeless(json.loads(json.dumps(wellposed.analyze(x, **options).to_json())))


# ---------------------------------------------------------------------------------------------- analyze
def test_public_names_are_lazy_exports():
    assert {"analyze", "classify_many", "BatchTable", "SupportPattern"} <= set(wellposed.__all__)
    assert wellposed.analyze.__module__ == "wellposed.api"
    assert "analyze" in dir(wellposed)


@pytest.mark.parametrize("spec", ["lu:3", "diag:3", "full:3,3,2", "mcp:110,011,111", "butterfly:16:2", "monarch:4",
                                  "random:5,4,3,0.5,7"])
def test_analyze_spec_equals_cli(spec):
    assert _record(spec) == _cli_json("analyze", spec)


@pytest.mark.parametrize("name", ["lu-2", "t-shape-3x3", "nested-block-3x3", "cross-3x3", "lu-2-with-empty"])
def test_analyze_case_file_pattern_and_pair_agree_with_cli(name):
    path = CASES / f"{name}.json"
    cli = _cli_json("analyze", str(path))
    assert _record(str(path)) == cli
    assert _record(path) == cli  # a Path like a str
    pattern = load_pattern(path)
    assert _record(pattern) == cli
    # the pair of masks: the same record, but the pattern has no name and no expected verdicts
    pair = _record((pattern.x_support, pattern.y_support))
    bare = _record(wellposed.SupportPattern(pattern.x_support, pattern.y_support))
    assert pair == bare
    meta = ("name", "description", "expected")
    assert {k: v for k, v in pair.items() if k not in meta} == {k: v for k, v in cli.items() if k not in meta}


def test_analyze_pair_of_every_array_kind_equals_cli_on_npz(tmp_path):
    from scipy import sparse

    rng = np.random.default_rng(3)
    x, y = rng.random((5, 4)) < 0.5, rng.random((6, 4)) < 0.5
    np.savez(tmp_path / "p.npz", x_support=x, y_support=y)
    cli = _cli_json("analyze", str(tmp_path / "p.npz"))
    want = {**cli, "name": ""}
    for pair in [(x, y), [x.astype(np.int8), y.astype(float)], (sparse.csr_matrix(x), sparse.coo_matrix(y)),
                 (x.astype(int).tolist(), y.astype(int).tolist())]:
        assert _record(pair) == want
    assert _record((x, y), closedness=False) == {**_cli_json("analyze", str(tmp_path / "p.npz"), "--no-closedness"),
                                                 "name": ""}
    assert _record((x, y), full=True) == {**_cli_json("analyze", str(tmp_path / "p.npz"), "--full"), "name": ""}


def test_analyze_returns_the_typed_analysis():
    a = wellposed.analyze("lu:2", closedness=False)
    assert isinstance(a, Analysis)
    assert (a.tractable, a.closed, a.closedness_decided) == (False, None, False)
    b = wellposed.analyze(load_pattern("lu:2"))
    assert b.closed is False and b.certificate is not None and b.closed_method.startswith("certificate:")


@pytest.mark.parametrize("name", ["two-layer-lu.json", "lu-chain-3.json", "butterfly-8-chain.json"])
def test_analyze_dict_of_masks_equals_network_cli(name):
    path = CASES / "networks" / name
    cli = _cli_json("network", str(path))
    del cli["files"]
    loaded = load_masks(path)
    assert _record(dict(zip(loaded.names, loaded.masks, strict=True))) == cli
    assert _record(loaded) == cli


def test_analyze_dict_of_weights_needs_from_weights():
    w1 = np.array([[1.5, 0.0], [0.0, -2.0], [0.3, 0.1]])
    w2 = np.array([[0.0, 1.0, 1.0]])
    state = {"fc1.weight": w1, "fc1.bias": np.zeros(3), "fc2.weight": w2}
    with pytest.raises(InvalidSpecError, match=r"from_weights=True"):
        wellposed.analyze(state)
    rep = wellposed.analyze(state, from_weights=True)
    masks = {"fc1.weight": w1 != 0, "fc2.weight": w2 != 0}  # the nonzero pattern of 0/1 masks is themselves
    assert _record(state, from_weights=True) == _record(masks, from_weights=True)
    assert np.array_equal(rep.pairs[0].pattern.x_support, w2 != 0)
    assert [layer.nnz for layer in rep.layers] == [4, 2]


# ---------------------------------------------------------------------------------------------- torch
def _pruned_mlp(torch: Any, seed: int) -> Any:
    from torch.nn.utils import prune

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 2))
    for layer in (model[0], model[2], model[4]):
        prune.random_unstructured(layer, "weight", amount=0.5)
    return model


@pytest.mark.requires_torch
def test_analyze_pruned_torch_module_equals_network_cli(tmp_path):
    torch = pytest.importorskip("torch")
    model = _pruned_mlp(torch, 1)  # decided in about a second (some seeds need minutes of the engine)
    torch.save(model.state_dict(), tmp_path / "mlp.pt")
    cli = _cli_json("network", str(tmp_path / "mlp.pt"))
    del cli["files"]
    assert _record(model) == cli
    quick = _cli_json("network", str(tmp_path / "mlp.pt"), "--no-closedness")
    del quick["files"]
    assert _record(model.state_dict(), closedness=False) == quick
    report = wellposed.analyze(model)
    masks = [model[i].weight_mask.numpy().astype(bool) for i in (0, 2, 4)]
    assert [lay.shape for lay in report.layers] == [(5, 6), (4, 5), (2, 4)]
    assert all(np.array_equal(p.pattern.x_support, masks[k + 1]) and np.array_equal(p.pattern.y_support, masks[k].T)
               for k, p in enumerate(report.pairs))


@pytest.mark.requires_torch
def test_analyze_torch_module_from_zero_weights():
    torch = pytest.importorskip("torch")
    model = _pruned_mlp(torch, 2)
    masks = {f"{i}.weight": model[i].weight_mask.detach().numpy() for i in (0, 2, 4)}
    plain = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 2))
    with torch.no_grad():
        for i in (0, 2, 4):
            plain[i].weight.mul_(model[i].weight_mask)
    with pytest.raises(InvalidSpecError, match=r"state_dict of a Sequential.*from_weights=True"):
        wellposed.analyze(plain)
    assert _record(plain, from_weights=True, closedness=False) == _record(masks, from_weights=True, closedness=False)


@pytest.mark.requires_torch
def test_tensors_that_require_grad_are_read_as_masks():
    """A parameter (requires_grad), a sparse or a bfloat16 tensor is a mask like its numpy values."""
    torch = pytest.importorskip("torch")
    lu = np.tril(np.ones((3, 3)))
    param = torch.nn.Parameter(torch.tensor(lu, dtype=torch.float32))
    expected = wellposed.analyze((lu, lu), closedness=False).to_json()
    for kind in (param, torch.tensor(lu).to_sparse(), torch.tensor(lu, dtype=torch.bfloat16)):
        got = wellposed.analyze((kind, param), closedness=False).to_json()
        assert {k: v for k, v in got.items() if k != "seconds"} == {k: v for k, v in expected.items()
                                                                      if k != "seconds"}
    stack = torch.ones(2, 3, 3, requires_grad=True)
    assert wellposed.classify_many(stack, stack)["tractable"].tolist() == [True, True]
    with pytest.raises(InvalidSupportError, match=r"x_support has entry 0.5"):
        wellposed.analyze((torch.nn.Parameter(torch.full((2, 2), 0.5)), np.eye(2)))


@pytest.mark.requires_torch
def test_from_weights_skips_norm_scales_and_reads_a_single_layer():
    """The 1-D weights of BatchNorm/LayerNorm are not layers; the state_dict of one Linear has a bare 'weight'."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                                torch.nn.Linear(5, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight[:, :3] = 0
    report = wellposed.analyze(model, from_weights=True, closedness=False)
    assert [layer.name for layer in report.layers] == ["0.weight", "3.weight", "5.weight"]
    plain = {k: model.state_dict()[k] for k in ("0.weight", "3.weight", "5.weight")}
    assert report.to_json() == wellposed.analyze(plain, from_weights=True, closedness=False).to_json()
    single = wellposed.analyze(torch.nn.Linear(4, 3), from_weights=True)
    assert [(layer.name, layer.shape) for layer in single.layers] == [("weight", (3, 4))]
    with pytest.raises(InvalidSupportError, match=r"'0.weight' .* has shape \(8, 3, 3, 3\); only fully connected"):
        wellposed.analyze(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten()), from_weights=True)


@pytest.mark.requires_torch
def test_a_layer_left_unpruned_is_a_dense_layer_not_skipped(tmp_path):
    """Pruning layers 1 and 3 of three: layer 2 stays in the network (a full mask), so no pair skips it."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 3))
    for i in (0, 4):
        prune.random_unstructured(model[i], "weight", amount=0.5)
    report = wellposed.analyze(model, closedness=False)
    assert [(layer.name, layer.shape) for layer in report.layers] == [
        ("0.weight_mask", (5, 6)), ("2.weight", (4, 5)), ("4.weight_mask", (3, 4))]
    assert report.layers[1].nnz == 20 and [p.layers for p in report.pairs] == [(1, 2), (2, 3)]
    torch.save(model.state_dict(), tmp_path / "half.pt")
    cli = _cli_json("network", str(tmp_path / "half.pt"), "--no-closedness")
    del cli["files"]
    assert report.to_json() == cli


# ---------------------------------------------------------------------------------------------- analyze errors
@pytest.mark.parametrize("x, options, error, match", [
    (5, {}, InvalidSpecError, r"x = 5 \(int\) cannot be analyzed; wellposed.analyze reads a SupportPattern"),
    (None, {}, InvalidSpecError, r"x = None \(NoneType\) cannot be analyzed"),
    ([np.eye(2)] * 3, {}, InvalidSpecError, r"list of 3 item\(s\).*dict \{name: mask\}"),
    ((np.eye(2), np.ones((2, 3))), {}, InvalidSupportError, r"x_support has r = 2 components but y_support has r = 3"),
    ((np.eye(2), np.full((2, 2), 2)), {}, InvalidSupportError, r"y_support has entry 2 at \(0, 0\)"),
    ((np.eye(2), np.array([[np.nan, 1], [0, 1]])), {}, InvalidSupportError, r"y_support has entry nan"),
    ("lux:3", {}, InvalidSpecError, r"unknown family 'lux'"),
    ({}, {}, InvalidSpecError, r"x is empty"),
    ({"a": np.ones((3, 2)), "b": np.ones((1, 4))}, {}, InvalidSupportError, r"masks do not chain"),
    ("lu:2", {"backend": "mathematica"}, InvalidSpecError, r"backend = 'mathematica' is not a QE backend"),
    ("lu:2", {"effort": 0}, InvalidSpecError, r"effort = 0 must be"),
    ("lu:2", {"timeout": -1}, InvalidSpecError, r"timeout = -1 must be"),
    ("lu:2", {"closedness": "yes"}, InvalidSpecError, r"closedness = 'yes' must be True or False"),
    ("lu:2", {"from_weights": True}, InvalidSpecError, r"from_weights = True reads the weights of a network"),
    ({"a": np.ones((3, 2))}, {"full": True}, InvalidSpecError, r"full = True lists the classes of one pattern"),
])
def test_analyze_refuses_with_a_clear_error(x, options, error, match):
    with pytest.raises(error, match=match):
        wellposed.analyze(x, **options)


# ---------------------------------------------------------------------------------------------- classify_many
def _batch_rows(x: np.ndarray, y: np.ndarray, tmp: Path, **options: Any) -> tuple[list[dict[str, Any]], bytes]:
    """Rows (and their bytes) of ``wellposed batch`` on an .npz of the stacks, run in process."""
    np.savez(tmp / "in.npz", x_support=x, y_support=y)
    out = tmp / "out.jsonl"
    summary = run_batch(tmp / "in.npz", out, restart=True, **options)
    assert summary.errors == 0
    _, rows = read_output(out)
    return rows, out.read_bytes().split(b"\n", 1)[1]


@st.composite
def _stacks(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    b, m, n, r = (draw(st.integers(1, hi)) for hi in (6, 5, 5, 5))
    density = draw(st.sampled_from([0.2, 0.5, 0.8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.random((b, m, r)) < density, rng.random((b, n, r)) < density


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stacks())
def test_classify_many_rows_equal_batch_rows(stacks):
    x, y = stacks
    with tempfile.TemporaryDirectory() as tmp:
        rows, data = _batch_rows(x, y, Path(tmp))
    table = wellposed.classify_many(x, y)
    assert table.to_records() == rows
    assert table.to_jsonl().encode() == data
    assert list(table) == rows and len(table) == len(x)
    assert wellposed.classify_many(x.astype(np.uint8), y.astype(float)).to_records() == rows
    pairs = wellposed.classify_many(list(zip(x, y, strict=True)))
    assert pairs.to_records() == rows


def test_classify_many_of_mixed_shapes_keeps_input_order(tmp_path):
    rng = np.random.default_rng(5)
    pairs = [(rng.random((m, r)) < 0.5, rng.random((n, r)) < 0.5) for m, n, r in
             [(3, 4, 2), (5, 5, 5), (3, 4, 2), (1, 1, 1), (5, 5, 5), (2, 6, 3)]]
    pairs[3] = wellposed.SupportPattern([[1]], [[1]], name="one")
    table = wellposed.classify_many(pairs)
    lines = []
    for p in pairs:
        q = p if isinstance(p, wellposed.SupportPattern) else wellposed.SupportPattern(*p)
        lines.append(json.dumps({"x_support": q.to_json()["x_support"], "y_support": q.to_json()["y_support"],
                                 "name": q.name}))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    run_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert table.to_records() == read_output(tmp_path / "out.jsonl")[1]
    assert table["name"].tolist() == ["", "", "", "one", "", ""]
    same = wellposed.classify_many([p for p, _ in pairs[:3]], [q for _, q in pairs[:3]])  # type: ignore[misc]
    assert same.to_records() == table[:3].to_records()


def test_classify_many_with_closedness_equals_batch(tmp_path):
    lu = np.tril(np.ones((3, 3), bool))
    x = np.stack([lu, np.eye(3, dtype=bool), np.ones((3, 3), bool)])
    rows, _ = _batch_rows(x, x.copy(), tmp_path, closedness=True)
    table = wellposed.classify_many(x, x, closedness=True)
    assert table.to_records() == rows
    assert table["closed"].tolist() == [False, True, True]
    assert table.columns[-4:] == ("closed", "closed_method", "closed_reason", "certificate")


def test_classify_many_past_the_kernel_uses_the_one_pattern_path():
    r = KERNEL_MAX_R + 1
    rng = np.random.default_rng(2)
    x, y = rng.random((2, 3, r)) < 0.01, rng.random((2, 2, r)) < 0.01
    table = wellposed.classify_many(x, y, names=["a", "b"])
    for b, row in enumerate(table):
        want = analyze_pattern(wellposed.SupportPattern(x[b], y[b], name="ab"[b]), closedness=False).to_row()
        assert row == {"line": b + 1, "ok": True, **want}


def test_batch_table_access():
    lu = np.tril(np.ones((2, 2), bool))
    table = wellposed.classify_many(np.stack([lu, np.eye(2, dtype=bool), lu]), np.stack([lu, lu, lu]),
                                    names=["lu", "diag-lu", "lu again"])
    assert len(table) == 3 and table[1]["name"] == "diag-lu" and table[-1]["line"] == 3
    assert table["tractable"].dtype == bool and table["r"].dtype == np.int64
    assert table["failing_pair"].dtype == object and table["failing_pair"][0] == [0, 1]
    assert len(table[1:]) == 2 and table[1:]["line"].tolist() == [2, 3]
    row = table[0]
    row["name"] = "changed"
    assert table[0]["name"] == "lu"  # rows are handed out as copies
    assert table.to_json() == {"columns": list(table.columns), "rows": table.to_records()}
    assert json.loads(table.to_jsonl().splitlines()[0]) == table[0]
    assert "BatchTable(3 rows" in repr(table)
    with pytest.raises(KeyError, match=r"'closed' is not a column"):
        table["closed"]
    with pytest.raises(TypeError, match=r"index a BatchTable by row number"):
        table[1.5]  # type: ignore[call-overload]


def test_batch_table_to_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    table = wellposed.classify_many([(np.eye(2), np.eye(2))])
    with pytest.raises(BackendNotAvailableError, match=r"pip install pandas"):
        table.to_frame()


@pytest.mark.requires_pandas
def test_batch_table_to_frame():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    table = wellposed.classify_many(rng.random((50, 6, 6)) < 0.3, rng.random((50, 6, 6)) < 0.3)
    frame = table.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(table.columns) and len(frame) == 50
    assert frame["tractable"].tolist() == table["tractable"].tolist()
    assert frame.to_dict("records") == table.to_records()


@pytest.mark.parametrize("x, y, options, error, match", [
    (np.ones((3, 3)), np.ones((3, 3)), {}, InvalidSupportError, r"X has shape \(3, 3\); need 3 axes \(B, m, r\)"),
    (np.ones((2, 3, 3)), np.ones((2, 2, 3, 3)), {}, InvalidSupportError, r"Y has shape \(2, 2, 3, 3\); need 3 axes"),
    (np.ones((2, 3, 3)), np.ones((3, 3, 3)), {}, InvalidSupportError, r"same B \(patterns\) and r"),
    (np.ones((2, 3, 3)), np.ones((2, 3, 4)), {}, InvalidSupportError, r"X has shape \(2, 3, 3\) and Y \(2, 3, 4\)"),
    (np.full((2, 3, 3), 2), np.ones((2, 3, 3)), {}, InvalidSupportError, r"X has entry 2 at \[0, 0, 0\]"),
    (np.ones((2, 3, 3)), np.where(np.eye(3) > 0, np.nan, 1.0)[None].repeat(2, 0), {}, InvalidSupportError,
     r"Y has entry nan at \[0, 0, 0\]"),
    (np.ones((2, 3, 3)), np.full((2, 3, 3), -1), {}, InvalidSupportError, r"Y has entry -1"),
    (np.ones((2, 0, 3)), np.ones((2, 3, 3)), {}, InvalidSupportError, r"every mask axis must be ≥ 1"),
    (np.full((1, 2, 2), "1"), np.ones((1, 2, 2)), {}, InvalidSupportError, r"X has dtype <U1"),
    (np.ones((2, 3, 3)), np.ones((2, 3, 3)), {"names": ["a"]}, InvalidSpecError, r"must be a list of 2 strings"),
    (np.ones((2, 3, 3)), None, {}, InvalidSupportError, r"with no Y: give X as a list of pairs"),
    ([np.eye(2)], None, {}, InvalidSupportError, r"X\[0\] = array.* is not a pair \(I, J\)"),
    ([(np.eye(2), np.ones((2, 3)))], None, {}, InvalidSupportError, r"X\[0\]: x_support has r = 2"),
    ([np.eye(2)], [np.eye(2)] * 2, {}, InvalidSupportError, r"X has 1 masks and Y has 2"),
    (np.ones((1, 2, 2)), np.ones((1, 2, 2)), {"closedness": 1}, InvalidSpecError, r"closedness = 1 must be"),
])
def test_classify_many_refuses_with_a_clear_error(x, y, options, error, match):
    with pytest.raises(error, match=match):
        wellposed.classify_many(x, y, **options)


def test_a_list_of_two_masks_that_chain_as_layers_is_refused_as_ambiguous():
    """[W1, W2] with W2 (out × in) chaining after W1 could be a two-layer network: refused, never read silently
    as the pair (I, J); the tuple is always the pair."""
    w1, w2 = np.ones((4, 4), dtype=bool), np.tril(np.ones((4, 4), dtype=bool))
    with pytest.raises(wellposed.InvalidSpecError, match=r"ambiguous\. Give a tuple \(I, J\)"):
        wellposed.analyze([w1, w2], closedness=False)
    assert wellposed.analyze((w1, w2), closedness=False).r == 4
    x, y = np.ones((5, 3), dtype=bool), np.ones((6, 3), dtype=bool)  # no chaining: a list is a pair
    assert wellposed.analyze([x, y], closedness=False).tractable


@pytest.mark.parametrize("x, y", [(np.ones((0, 3, 3)), np.ones((0, 4, 3))), ([], None), ([], [])])
def test_classify_many_of_no_pattern_is_an_empty_table(x, y):
    table = wellposed.classify_many(x, y)
    assert len(table) == 0 and table.to_records() == [] and list(table) == []
    assert table.columns[:2] == ("line", "ok") and len(table["tractable"]) == 0
