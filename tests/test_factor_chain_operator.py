"""FactorChain as a linear operator: products on both sides, transposes, permutations, and every export
(scipy, LinearOperator, torch, lazylinop, FAµST, chain files) checked against the dense matrix."""

from __future__ import annotations

import importlib.util
import json
from functools import reduce

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg as sla
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wellposed.solvers.butterfly import FactorChain, KSFactor, bit_reversal_permutation, factorize, load_metadata
from wellposed.solvers.butterfly.chain_file import NPZ_FORMAT

from tests.strategies import chainable_chains
from wellposed.cli import main
from wellposed.errors import BackendNotAvailableError, InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, dyadic_butterfly, monarch


def _random_chain(patterns, rng, complex_=False, column_perm=False, row_perm=False) -> FactorChain:
    def data(p):
        d = rng.standard_normal(p.abcd)
        return d + 1j * rng.standard_normal(p.abcd) if complex_ else d

    chain = FactorChain(tuple(KSFactor(p, data(p)) for p in patterns))
    m, n = chain.shape
    return FactorChain(chain.factors, rng.permutation(n) if column_perm else None,
                       rng.permutation(m) if row_perm else None)


def _dense_reference(chain: FactorChain) -> np.ndarray:
    """``M`` from the definition: the product of the factors' dense matrices, rows then columns permuted."""
    P = reduce(np.matmul, [f.to_dense() for f in chain.factors])
    if chain.row_permutation is not None:
        P = P[chain.row_permutation]
    if chain.column_permutation is not None:
        P = P[:, np.argsort(chain.column_permutation)]
    return P


@st.composite
def chains(draw):
    patterns = draw(chainable_chains())
    seed = draw(st.integers(0, 2**32 - 1))
    return _random_chain(patterns, np.random.default_rng(seed), complex_=draw(st.booleans()),
                         column_perm=draw(st.booleans()), row_perm=draw(st.booleans()))


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------- the operator


@_SETTINGS
@given(chains(), st.integers(0, 2**32 - 1))
def test_products_on_both_sides_match_the_dense_matrix(chain, seed):
    rng = np.random.default_rng(seed)
    D = _dense_reference(chain)
    m, n = chain.shape
    assert chain.shape == D.shape and chain.dtype == D.dtype
    np.testing.assert_allclose(chain.to_dense(), D, atol=1e-12)
    x, X = rng.standard_normal(n), rng.standard_normal((n, 3))
    np.testing.assert_allclose(chain @ x, D @ x, atol=1e-12)
    np.testing.assert_allclose(chain @ X, D @ X, atol=1e-12)
    np.testing.assert_allclose(chain.apply_reference(X), D @ X, atol=1e-12)
    y, Y = rng.standard_normal(m), rng.standard_normal((2, m))
    np.testing.assert_allclose(y @ chain, y @ D, atol=1e-12)
    np.testing.assert_allclose(Y @ chain, Y @ D, atol=1e-12)


@_SETTINGS
@given(chains())
def test_transposes(chain):
    D = _dense_reference(chain)
    np.testing.assert_allclose(chain.T.to_dense(), D.T, atol=1e-12)
    np.testing.assert_allclose(chain.H.to_dense(), D.conj().T, atol=1e-12)
    assert chain.T.T is chain and chain.H.H is chain
    np.testing.assert_allclose(chain.T.T.to_dense(), D, atol=1e-12)
    # a transpose is again a chain of Kronecker-sparse factors (same number, same storage)
    assert len(chain.T) == len(chain) and chain.T.nnz == chain.nnz
    assert chain.T.patterns == tuple(p.transpose() for p in reversed(chain.patterns))
    if chain.dtype.kind != "c":
        assert chain.H is chain.T


def test_a_factor_leaves_the_callers_array_writeable_and_apart():
    """KSFactor freezes its own copy: the caller's array stays writeable, and editing it later (or a view of it
    made before) does not change the factor nor the chain's products."""
    pattern = KSPattern(1, 2, 2, 2)
    data = np.arange(8.0).reshape(pattern.abcd)
    view = data[0]
    factor = KSFactor(pattern, data)
    before = factor.to_dense()
    data += 1.0
    view[0] = -5.0
    np.testing.assert_array_equal(factor.to_dense(), before)
    np.testing.assert_array_equal(FactorChain((factor,)) @ np.eye(4), before)
    assert not factor.data.flags.writeable
    again = KSFactor(pattern, factor.data)  # a frozen array is shared, not copied
    assert again.data is factor.data


@_SETTINGS
@given(chains(), st.integers(0, 2**32 - 1))
def test_linear_operators_match_the_dense_matrix(chain, seed):
    rng = np.random.default_rng(seed)
    D = _dense_reference(chain)
    m, n = chain.shape
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    for op in (chain.as_linear_operator(), sla.aslinearoperator(chain)):
        assert op.shape == (m, n) and op.dtype == chain.dtype
        np.testing.assert_allclose(op.matvec(x), D @ x, atol=1e-12)
        np.testing.assert_allclose(op.rmatvec(y), D.conj().T @ y, atol=1e-12)
        np.testing.assert_allclose(op.matmat(X), D @ X, atol=1e-12)
        np.testing.assert_allclose(op.rmatmat(Y), D.conj().T @ Y, atol=1e-12)
        np.testing.assert_allclose(op.T @ y, D.T @ y, atol=1e-12)
        # scipy also hands matvec column vectors of shape (n, 1)
        np.testing.assert_allclose(op.matvec(x[:, None]).ravel(), D @ x, atol=1e-12)


@_SETTINGS
@given(chains())
def test_scipy_factors_multiply_to_the_matrix(chain):
    mats = chain.to_scipy()
    assert all(scipy.sparse.issparse(M) for M in mats)
    assert len(mats) == len(chain) + (chain.row_permutation is not None) + (chain.column_permutation is not None)
    np.testing.assert_allclose(reduce(lambda A, B: A @ B, mats).toarray(), _dense_reference(chain), atol=1e-12)


@_SETTINGS
@given(chains())
def test_chain_files_keep_the_permutations(chain):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        back = FactorChain.load(chain.save(Path(tmp) / "c.npz"))
    for key in ("column_permutation", "row_permutation"):
        a, b = getattr(chain, key), getattr(back, key)
        assert (a is None and b is None) or np.array_equal(a, b)
    np.testing.assert_array_equal(back.to_dense(), chain.to_dense())


def test_operands_of_other_dtypes():
    chain = _random_chain(dyadic_butterfly(16), np.random.default_rng(2), column_perm=True, row_perm=True)
    D = _dense_reference(chain)
    for X in (np.arange(32).reshape(16, 2), np.ones((16, 3), dtype=np.float32), np.ones(16) + 2j, [1.0] * 16,
              np.asfortranarray(np.arange(48.0).reshape(16, 3)), np.arange(64.0).reshape(16, 4)[:, ::2]):
        np.testing.assert_allclose(chain @ X, D @ np.asarray(X), rtol=1e-6, atol=1e-9)
        assert (chain @ X).dtype == np.result_type(chain.dtype, np.asarray(X).dtype)


def test_compose_multiplies_and_refuses_inner_permutations():
    rng = np.random.default_rng(3)
    A = _random_chain(dyadic_butterfly(8), rng, row_perm=True)
    B = _random_chain(monarch(2, 4), rng, column_perm=True)
    AB = A @ B
    assert isinstance(AB, FactorChain) and len(AB) == len(A) + len(B)
    np.testing.assert_allclose(AB.to_dense(), A.to_dense() @ B.to_dense(), atol=1e-12)
    C = _random_chain(dyadic_butterfly(8), rng, column_perm=True)
    with pytest.raises(InvalidChainError, match="permutation sits between the two chains.*A @ \\(B @ X\\)"):
        C @ A
    # ... unless the inner permutations cancel: C @ C.T has none left
    CCt = C @ C.T
    assert CCt.column_permutation is None and CCt.row_permutation is None
    np.testing.assert_allclose(CCt.to_dense(), C.to_dense() @ C.to_dense().T, atol=1e-12)
    with pytest.raises(InvalidChainError, match=r"shape \(8, 8\) with one of shape \(4, 4\)"):
        A.compose(_random_chain(dyadic_butterfly(4), rng))


def test_iterative_solvers_run_on_the_operator():
    # an orthogonal butterfly (2x2 rotations): well conditioned, so gmres and lsqr converge quickly
    rng = np.random.default_rng(5)

    def rotations(p):
        t = rng.uniform(0, 2 * np.pi, (p.a, p.d))
        c, s = np.cos(t), np.sin(t)
        return np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1)

    chain = FactorChain(tuple(KSFactor(p, rotations(p)) for p in dyadic_butterfly(64)),
                        column_permutation=bit_reversal_permutation(64))
    x_true = rng.standard_normal(64)
    b = chain @ x_true
    op = chain.as_linear_operator()
    x, info = sla.gmres(op, b, rtol=1e-12, atol=0.0, restart=64)  # unitary: no restarts
    assert info == 0 and np.allclose(x, x_true, atol=1e-8)
    x = sla.lsqr(op, b, atol=1e-14, btol=1e-14)[0]
    assert np.allclose(x, x_true, atol=1e-8)
    np.testing.assert_allclose(chain.T @ b, x_true, atol=1e-12)  # orthogonal: the transpose inverts it


# ---------------------------------------------------------------------------------------------- errors


def test_product_errors_name_the_shape_and_the_fix():
    chain = _random_chain(dyadic_butterfly(8), np.random.default_rng(0))
    wide = FactorChain((KSFactor(KSPattern(1, 2, 4, 1), np.ones((1, 2, 4, 1))),))
    with pytest.raises(InvalidMatrixError, match=r"shape \(8, 8\), so X must have shape \(8,\) or \(8, batch\), got "
                                                 r"\(3, 8\); X looks like a batch of rows.*X @ chain.T"):
        chain @ np.ones((3, 8))
    with pytest.raises(InvalidMatrixError, match=r"got \(2,\); X has as many rows as the chain.*chain.T @ X"):
        wide @ np.ones(2)
    with pytest.raises(InvalidMatrixError, match=r"got \(8, 3, 2\); a stack of blocks has shape \(\.\.\., 8, "):
        chain @ np.ones((8, 3, 2))
    with pytest.raises(InvalidMatrixError, match=r"X @ chain: .* must have shape \(2,\) or \(batch, 2\), got "
                                                 r"\(4, 3\); for a block of column vectors use chain @ X"):
        np.ones((4, 3)) @ wide
    with pytest.raises(InvalidMatrixError, match="X must be a real or complex array, got str"):
        chain @ "x"
    with pytest.raises(InvalidMatrixError, match="sparse csr_matrix.*X.toarray()"):
        chain @ scipy.sparse.csr_matrix(np.eye(8))
    with pytest.raises(InvalidMatrixError, match="FactorChain.apply: the chain has shape"):
        chain.apply(np.ones(3))


def test_permutations_are_checked():
    facs = _random_chain(dyadic_butterfly(4), np.random.default_rng(0)).factors
    with pytest.raises(InvalidMatrixError, match=r"column_permutation must be a permutation of range\(4\), got 3"):
        FactorChain(facs, column_permutation=[0, 1, 2])
    with pytest.raises(InvalidMatrixError, match=r"row_permutation is not a permutation of range\(4\): it has "
                                                 "repeated or out-of-range entries"):
        FactorChain(facs, row_permutation=[0, 1, 1, 3])
    with pytest.raises(InvalidMatrixError, match="out-of-range"):
        FactorChain(facs, column_permutation=[0, 1, 2, 4])
    with pytest.raises(InvalidMatrixError, match="1-D integer array"):
        FactorChain(facs, column_permutation=[0.0, 1.0, 2.0, 3.0])
    chain = FactorChain(facs, column_permutation=np.array([3, 2, 1, 0], dtype=np.int32))
    assert chain.column_permutation.dtype == np.int64 and not chain.column_permutation.flags.writeable


def test_missing_interop_packages_name_the_install(monkeypatch):
    chain = _random_chain(dyadic_butterfly(4), np.random.default_rng(0))
    real_find_spec = importlib.util.find_spec
    absent = {"lazylinop", "pyfaust", "torch"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in absent else
                        real_find_spec(name, *a))
    with pytest.raises(BackendNotAvailableError, match=r"to_lazylinop needs lazylinop.*pip install lazylinop"):
        chain.to_lazylinop()
    with pytest.raises(BackendNotAvailableError, match=r"to_faust needs pyfaust.*wellposed\[interop\]"):
        chain.to_faust()
    with pytest.raises(BackendNotAvailableError, match=r"to_torch needs torch.*wellposed\[torch\]"):
        chain.to_torch()


def test_repr_is_short():
    rng = np.random.default_rng(0)
    chain = FactorChain(tuple(KSFactor(p, np.ones(p.abcd)) for p in dyadic_butterfly(4096)),
                        column_permutation=bit_reversal_permutation(4096))
    assert repr(chain) == "FactorChain(4096×4096, 12 butterfly factors, nnz=98304, float64, column permutation)"
    assert str(chain) == repr(chain)
    small = _random_chain(monarch(4), rng, complex_=True, row_perm=True)
    assert repr(small) == "FactorChain(16×16, 2 Kronecker-sparse factors, nnz=128, complex128, row permutation)"
    assert repr(small.factors[0]) == "KSFactor((1,4,4,4), 16×16, nnz=64, complex128)"


# ---------------------------------------------------------------------------------------------- bit reversal


@pytest.fixture(scope="module")
def dft_result():
    N = 64
    F = np.fft.fft(np.eye(N))
    return F, factorize(F, dyadic_butterfly(N), bit_reversal=True, orthonormalize=True)


def test_bit_reversed_chain_is_the_factorized_matrix(dft_result, tmp_path):
    F, res = dft_result
    chain = res.chain
    np.testing.assert_array_equal(chain.column_permutation, bit_reversal_permutation(F.shape[1]))
    np.testing.assert_array_equal(res.column_permutation, chain.column_permutation)
    assert np.allclose(chain.to_dense(), F, atol=1e-12)
    # the result applies the permutation once, not twice
    assert np.allclose(res.to_dense(), F, atol=1e-12)
    x = np.random.default_rng(0).standard_normal(F.shape[1])
    assert np.allclose(res.apply(x), np.fft.fft(x)) and np.allclose(chain @ x, np.fft.fft(x))
    assert np.allclose(x @ chain, x @ F) and np.allclose(chain.H @ x, F.conj().T @ x)
    assert np.allclose(reduce(lambda A, B: A @ B, chain.to_scipy()).toarray(), F, atol=1e-12)
    assert np.allclose(chain.as_linear_operator().matmat(np.eye(F.shape[1])), F, atol=1e-12)
    assert np.allclose(sla.aslinearoperator(chain).matmat(np.eye(F.shape[1])), F, atol=1e-12)
    back = FactorChain.load(res.save(tmp_path / "dft.npz"))
    assert np.allclose(back.to_dense(), F, atol=1e-12)
    with np.load(tmp_path / "dft.npz") as z:
        assert str(z["format"]) == NPZ_FORMAT and "column_permutation" in z.files
    assert "column_permutation" not in load_metadata(tmp_path / "dft.npz")  # in the chain, not duplicated
    assert res.to_json()["bit_reversal"] is True


def test_version_1_files_with_a_permutation_still_mean_the_factorized_matrix(dft_result, tmp_path):
    F, res = dft_result
    arrays = {"num_factors": np.int64(len(res.chain)), "format": np.array("wellposed.FactorChain/1"),
              "meta_column_permutation": res.column_permutation}
    for i, f in enumerate(res.chain.factors):
        arrays[f"pattern_{i}"] = np.array(f.pattern.abcd, dtype=np.int64)
        arrays[f"factor_{i}"] = f.data
    np.savez(tmp_path / "v1.npz", **arrays)
    assert np.allclose(FactorChain.load(tmp_path / "v1.npz").to_dense(), F, atol=1e-12)


def test_bad_permutations_in_a_file_name_the_file(tmp_path):
    chain = _random_chain(dyadic_butterfly(4), np.random.default_rng(0), column_perm=True)
    path = tmp_path / "c.npz"
    chain.save(path)
    arrays = dict(np.load(path))
    arrays["column_permutation"] = np.array([0, 0, 1, 2])
    np.savez(path, **arrays)
    with pytest.raises(InvalidMatrixError, match=r"FactorChain file '.*c\.npz': column_permutation is not a "
                                                 "permutation"):
        FactorChain.load(path)
    arrays["column_permutation"] = np.array([0.0, 1.0, 2.0, 3.0])
    np.savez(path, **arrays)
    with pytest.raises(InvalidSpecError, match=r"c\.npz': column_permutation must be a 1-D integer array"):
        FactorChain.load(path)


def test_cli_factor_then_quantize_keeps_the_permutation(tmp_path, capsys):
    # a real matrix (quantization is for real factors), factorized with bit-reversed columns
    N = 32
    H = scipy.linalg.hadamard(N).astype(float)
    A = H[:, bit_reversal_permutation(N)] + 1e-3 * np.random.default_rng(0).standard_normal((N, N))
    np.save(tmp_path / "A.npy", A)
    assert main(["factor", str(tmp_path / "A.npy"), "--chain", f"butterfly:{N}", "--bit-reversal",
                 "--orthonormalize", "--out", str(tmp_path / "f.npz"), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    chain = FactorChain.load(tmp_path / "f.npz")
    assert chain.column_permutation is not None
    assert np.linalg.norm(chain.to_dense() - A) / np.linalg.norm(A) == pytest.approx(rec["rel_error"], rel=1e-6)
    assert main(["quantize", str(tmp_path / "f.npz"), "--bits", "12", "--out", str(tmp_path / "q.npz"),
                 "--json"]) == 0
    qrec = json.loads(capsys.readouterr().out)
    q = FactorChain.load(tmp_path / "q.npz")
    np.testing.assert_array_equal(q.column_permutation, chain.column_permutation)
    measured = np.linalg.norm(q.to_dense() - chain.to_dense()) / np.linalg.norm(chain.to_dense())
    assert measured == pytest.approx(qrec["relative_error"], rel=1e-9) and measured < 1e-3


# ---------------------------------------------------------------------------------------------- torch


@pytest.mark.requires_torch
def test_torch_module_matches_the_chain_and_trains_on_its_supports():
    import torch

    rng = np.random.default_rng(7)
    N = 32
    target = _random_chain(dyadic_butterfly(N), rng, column_perm=True, row_perm=True)
    start = FactorChain(tuple(KSFactor(f.pattern, f.data + 0.3 * rng.standard_normal(f.pattern.abcd))
                              for f in target.factors), target.column_permutation, target.row_permutation)
    module = start.to_torch()
    # one parameter per stored entry: nothing outside the supports can ever be trained
    assert sum(p.numel() for p in module.parameters()) == start.nnz
    assert [tuple(p.shape) for p in module.parameters()] == [p.abcd for p in start.patterns]
    X = rng.standard_normal((64, N))
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, (start @ X.T).T, atol=1e-12)  # nn.Linear convention: rows are inputs
    np.testing.assert_allclose(module.to_dense().detach().numpy(), start.to_dense(), atol=1e-12)
    with torch.no_grad():  # any leading dimensions
        out3 = module(torch.from_numpy(X.reshape(4, 16, N))).numpy()
    np.testing.assert_allclose(out3.reshape(64, N), out, atol=1e-12)

    Xt, Yt = torch.from_numpy(X), torch.from_numpy((target @ X.T).T)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((module(Xt) - Yt) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    trained = module.to_chain()
    assert trained.patterns == start.patterns
    np.testing.assert_array_equal(trained.column_permutation, start.column_permutation)
    np.testing.assert_array_equal(trained.row_permutation, start.row_permutation)
    # every factor is zero off its support, and the module still computes the chain's product
    for f in trained.factors:
        assert not np.any(f.to_dense()[~f.pattern.mask()])
    with torch.no_grad():
        np.testing.assert_allclose(module(Xt).numpy(), (trained @ X.T).T, atol=1e-12)


@pytest.mark.requires_torch
def test_torch_module_equals_the_chain_on_random_chains():
    import torch

    @_SETTINGS
    @given(chains(), st.integers(0, 2**32 - 1))
    def check(chain, seed):
        module = chain.to_torch()
        X = np.random.default_rng(seed).standard_normal((2, 3, chain.shape[1])).astype(chain.dtype)
        with torch.no_grad():
            out = module(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(out, np.einsum("ij,abj->abi", _dense_reference(chain), X), atol=1e-12)
        assert sum(p.numel() for p in module.parameters()) == chain.nnz

    check()
    # blocks larger than 2×2 take the batched-matmul path
    chain = _random_chain(monarch(4, 8), np.random.default_rng(1), column_perm=True, row_perm=True)
    X = np.random.default_rng(2).standard_normal((5, 32))
    with torch.no_grad():
        np.testing.assert_allclose(chain.to_torch()(torch.from_numpy(X)).numpy(), X @ chain.to_dense().T, atol=1e-12)


@pytest.mark.requires_torch
def test_torch_module_dtypes_and_errors(dft_result):
    import torch

    F, res = dft_result
    module = res.chain.to_torch()
    assert all(p.dtype == torch.complex128 for p in module.parameters())
    np.testing.assert_allclose(module.to_dense().detach().numpy(), F, atol=1e-12)
    f32 = _random_chain(dyadic_butterfly(8), np.random.default_rng(0)).to_torch(dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in f32.parameters())
    with pytest.raises(InvalidSpecError, match="drop the imaginary parts"):
        res.chain.to_torch(dtype=torch.float32)
    with pytest.raises(InvalidSpecError, match="dtype must be a floating or complex torch.dtype"):
        res.chain.to_torch(dtype="float32")
    with pytest.raises(InvalidMatrixError, match=r"x must have shape \(\.\.\., 64\)"):
        module(torch.zeros(3, 5, dtype=torch.complex128))
    with pytest.raises(InvalidMatrixError, match=r"x has dtype torch.float32 but the parameters are torch.complex128: "
                                                 r"convert x with x.to\(torch.complex128\)"):
        module(torch.zeros(3, 64, dtype=torch.float32))
    assert "column permutation" in repr(module)


# ---------------------------------------------------------------------------------------------- lazylinop, FAµST


@pytest.mark.requires_lazylinop
def test_lazylinop_conversion():
    import lazylinop  # noqa: F401 - importing it raises the recursion limit: done here, outside Hypothesis

    @_SETTINGS
    @given(chains())
    def check(chain):
        L = chain.to_lazylinop()
        D = _dense_reference(chain)
        assert L.shape == chain.shape
        np.testing.assert_allclose(L.toarray(), D, atol=1e-12)
        np.testing.assert_allclose(L.H.toarray(), D.conj().T, atol=1e-12)
        x = np.arange(chain.shape[1], dtype=float)
        np.testing.assert_allclose(L @ x, D @ x, atol=1e-12)

    check()


@pytest.mark.requires_pyfaust
@_SETTINGS
@given(chains())
def test_faust_conversion(chain):
    F = chain.to_faust()
    assert F.shape == chain.shape
    np.testing.assert_allclose(F.toarray(), _dense_reference(chain), atol=1e-12)


@pytest.mark.requires_lazylinop
@pytest.mark.requires_pyfaust
def test_interop_of_the_bit_reversed_dft(dft_result):
    F, res = dft_result
    np.testing.assert_allclose(res.chain.to_lazylinop().toarray(), F, atol=1e-12)
    np.testing.assert_allclose(res.chain.to_faust().toarray(), F, atol=1e-12)
    f32 = FactorChain(tuple(KSFactor(f.pattern, f.data.astype(np.complex64)) for f in res.chain.factors),
                      res.chain.column_permutation)
    assert str(f32.to_faust().dtype) == "complex128"


def test_stacks_multiply_as_numpy_matmul_reads_them():
    """``chain @ X`` with X of shape (..., n, k) and ``X @ chain`` with X of shape (..., k, m) equal numpy's ``@``
    with the dense matrix, stack by stack (non-contiguous stacks included)."""
    rng = np.random.default_rng(5)
    chain = _random_chain(dyadic_butterfly(8), rng)
    M = chain.to_dense()
    X = rng.standard_normal((3, 2, 8, 5))
    np.testing.assert_allclose(chain @ X, M @ X, atol=1e-12)
    np.testing.assert_allclose(chain @ X[:, :, :, ::2], M @ X[:, :, :, ::2], atol=1e-12)
    Z = rng.standard_normal((4, 5, 8))
    np.testing.assert_allclose(Z @ chain, Z @ M, atol=1e-12)
    assert (chain @ X).shape == (3, 2, 8, 5) and (Z @ chain).shape == (4, 5, 8)
