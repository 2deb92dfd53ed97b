"""Best rank-r truncation of a batch of blocks through its smaller Gram matrix, with certified discarded energy.

The numerical kernel of the hierarchical factorization (:mod:`wellposed.solvers.butterfly.factorize`): every split
of the tree is one call on the decoupled blocks of a two-factor problem.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
from wellposed.solvers.butterfly import compiled as _compiled
from wellposed.solvers.butterfly.blocks import bmm

_Side = Literal["left", "right", "balanced"]

# Bytes per chunk of the fused split: Gram matrices, eigenvectors and projection of a chunk of blocks are
# computed while the chunk is in the per-core cache.
_CHUNK_BYTES = 1 << 21


def _chunk_step(B: np.ndarray, ax: int) -> int:
    """How many indices of batch axis ``ax`` of ``B`` make one chunk of about ``_CHUNK_BYTES``."""
    per = max(1, B.size // max(1, B.shape[ax])) * B.itemsize
    return max(1, _CHUNK_BYTES // per)
_CONTROLLER: Any = None


def _blas_controller() -> Any:
    """The threadpoolctl controller of the BLAS libraries loaded in the process, built on first use."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run batches of small eigh / QR / matmul calls with one BLAS thread, restoring the previous count.

    Threaded BLAS does nothing for blocks of a few rows, and a spinning worker thread can stall the batch
    for seconds when the cores are busy. The limit is process-wide while the block runs.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


def _sqnorm_blas(x: np.ndarray) -> float:
    """``‖x‖²`` of a contiguous array by one BLAS dot; call it with one BLAS thread (:func:`_one_blas_thread`)."""
    f = x.reshape(-1)
    if np.iscomplexobj(f):
        f = f.view(np.float64 if f.dtype == np.complex128 else np.float32)
    return float(np.dot(f, f))


def _herm(M: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(M, -1, -2)) if np.iscomplexobj(M) else np.swapaxes(M, -1, -2)


def _sqnorm(x: np.ndarray) -> float:
    """``‖x‖²`` through einsum: BLAS level-1 calls (vdot, norm) can stall for milliseconds when a threaded
    BLAS competes for busy cores, einsum never does."""
    x = np.ascontiguousarray(x).reshape(-1)
    if np.iscomplexobj(x):
        x = x.view(np.float64 if x.dtype == np.complex128 else np.float32)
    return float(np.einsum("i,i->", x, x))


def _abT(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Batched real ``P @ Q^T``; few rows go through einsum (no per-block gemm call, no copy of strided data)."""
    if P.shape[-2] <= 4:
        return np.einsum("...ik,...jk->...ij", P, Q, order="C")
    return P @ np.swapaxes(Q, -1, -2)


def _gram_rows(B: np.ndarray) -> np.ndarray:
    """``B @ B^H`` for a batch of blocks; complex blocks as three real products of the real and imaginary
    views (no conjugated copy of ``B``, which may be a large strided view of the input)."""
    if not np.iscomplexobj(B):
        return _abT(B, B)
    Br, Bi = B.real, B.imag
    X = _abT(Bi, Br)
    if B.strides[-1] == B.itemsize:  # interleaved real view: Re(G) in one contiguous product
        Bf = B.view(np.float64 if B.dtype == np.complex128 else np.float32)
        re = _abT(Bf, Bf)
    else:
        re = _abT(Br, Br) + _abT(Bi, Bi)
    return re + 1j * (X - np.swapaxes(X, -1, -2))


def _gram_cols(B: np.ndarray) -> np.ndarray:
    """``B^H @ B`` for a batch of blocks (``= conj(B^T (B^T)^H)``)."""
    G = _gram_rows(np.swapaxes(B, -1, -2))
    return np.conj(G) if np.iscomplexobj(G) else G


def _discarded(w: np.ndarray, n_drop: int, G: np.ndarray, inner: int) -> np.ndarray:
    """Certified lower bound on the discarded energy: the ``n_drop`` smallest Gram eigenvalues, each lowered
    by a bound on its floating-point error, clipped at 0. The Gram product over ``inner`` terms is off by at
    most ``~inner·eps·‖B‖_F²`` in 2-norm and the eigensolver adds ``~dim·eps·‖G‖``; we subtract
    ``4·(inner + dim)·eps·trace(G)`` from each eigenvalue."""
    if n_drop <= 0:
        return np.zeros(w.shape[:-1])
    dim = G.shape[-1]
    scale = np.abs(np.trace(G, axis1=-2, axis2=-1).real)
    slack = 4.0 * (inner + dim) * np.finfo(G.dtype).eps * scale
    return np.clip(w[..., :n_drop] - slack[..., None], 0.0, None).sum(axis=-1)


class _Run:
    """Mutable bookkeeping of one factorization run: recorded split errors (lower bounds) and the energy of
    the data on the product pattern (read off the root Gram matrices, which saves a pass over ``A``)."""

    def __init__(self, L: int, progress: Callable[[int, int], None] | None = None, total: int | None = None) -> None:
        self.tails = np.full(L - 1, np.nan)
        self.energy: float | None = None
        # Σ_j ‖node_j − U_j U_jᴴ node_j‖² of the splits, when every split read it on its blocks (the compiled
        # grouped kernel of the orthonormalized left-to-right tree): then the error of the factors, see factorize
        self.dropped: float | None = None
        self.progress = progress  # progress(steps done, total): each split of the tree, then the exact certificate
        self.total = L - 1 if total is None else total
        self.done = 0

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


class _NonFinite(Exception):
    """Internal: a Gram matrix came out non-finite (nan/inf in the input, or overflow)."""


def _check_gram(G: np.ndarray, run: _Run | None) -> None:
    if not np.isfinite(G).all():
        raise _NonFinite
    if run is not None and run.energy is None:  # the root split sees every entry of the product pattern once
        run.energy = float(np.trace(G, axis1=-2, axis2=-1).real.sum())


def _truncate(
    B: np.ndarray, r: int, side: _Side, run: _Run | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best rank-``r`` factorization ``B ≈ U @ W`` of a batch of blocks (..., m, n), via the smaller Gram matrix.

    ``side='left'``: ``U`` has orthonormal columns; ``'right'``: ``W`` has orthonormal rows; ``'balanced'``:
    singular values split as square roots. Returns ``(U, W, tail)`` with ``tail`` the discarded energy per block.
    Zero-padded to exactly ``r`` columns / rows when ``r > min(m, n)``.
    """
    with _one_blas_thread():
        return _truncate_body(B, r, side, run)


def _truncate_body(
    B: np.ndarray, r: int, side: _Side, run: _Run | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, n = B.shape[-2:]
    k = min(r, m, n)
    batch = B.shape[:-2]
    if m <= n:
        G = _gram_rows(B)
        _check_gram(G, run)
        w, E = np.linalg.eigh(G)
        U0 = E[..., :, m - k :][..., ::-1]
        lam = np.clip(w[..., m - k :][..., ::-1], 0.0, None)
        tail = _discarded(w, m - k, G, n)
        Z = bmm(_herm(U0), B)  # = S V^H
        if side == "left":
            U, W = U0, Z
        elif side == "right":
            Q, R = np.linalg.qr(_herm(Z))
            U, W = U0 @ _herm(R), _herm(Q)
        else:
            s = np.sqrt(np.sqrt(lam))
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
            U, W = U0 * s[..., None, :], Z * inv[..., :, None]
    else:
        G = _gram_cols(B)
        _check_gram(G, run)
        w, E = np.linalg.eigh(G)
        V0 = E[..., :, n - k :][..., ::-1]
        lam = np.clip(w[..., n - k :][..., ::-1], 0.0, None)
        tail = _discarded(w, n - k, G, m)
        Z = bmm(B, V0)  # = U S
        if side == "right":
            U, W = Z, _herm(V0)
        elif side == "left":
            Q, R = np.linalg.qr(Z)
            U, W = Q, R @ _herm(V0)
        else:
            s = np.sqrt(np.sqrt(lam))
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
            U, W = Z * inv[..., None, :], _herm(V0) * s[..., :, None]
    if k < r:
        U = np.concatenate([U, np.zeros((*batch, m, r - k), dtype=U.dtype)], axis=-1)
        W = np.concatenate([W, np.zeros((*batch, r - k, n), dtype=W.dtype)], axis=-2)
    if run is not None:
        run.step()
    return U, W, tail


def _tail_only(B: np.ndarray, r: int) -> np.ndarray:
    """Discarded energy of the best rank-``r`` approximation of each block (eigenvalues only)."""
    m, n = B.shape[-2:]
    k = min(r, m, n)
    G = _gram_rows(B) if m <= n else _gram_cols(B)
    w = np.linalg.eigvalsh(G)
    return _discarded(w, min(m, n) - k, G, max(m, n))


def _eigh2(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ``eigh`` of a batch of 2×2 Hermitian matrices: ascending eigenvalues and eigenvectors as
    columns, like :func:`numpy.linalg.eigh` (one vectorized pass instead of one LAPACK call per matrix).

    The eigenvalues are ``t ± h`` with ``t`` the half trace and ``h = hypot((a−c)/2, |b|)``: absolute error
    ``O(eps · trace)``, the accuracy :func:`_discarded` allows for. The top eigenvector is taken from the row
    of ``G − λI`` that is not cancelled (``(λ−c, b̄)`` when ``a ≥ c``, else ``(b, λ−a)``).
    """
    a = G[..., 0, 0].real
    c = G[..., 1, 1].real
    b = G[..., 0, 1]
    h = np.hypot(0.5 * (a - c), np.abs(b))
    t = 0.5 * (a + c)
    lam = t + h
    first = a >= c
    x = np.where(first, lam - c, b)
    y = np.where(first, np.conj(b), lam - a)
    nrm = np.sqrt(np.abs(x) ** 2 + np.abs(y) ** 2)
    zero = nrm == 0  # G a multiple of the identity: any unit vector
    nrm[zero] = 1.0
    x = np.where(zero, 1.0, x / nrm)
    y = np.where(zero, 0.0, y / nrm)
    E = np.empty(G.shape, dtype=np.result_type(G.dtype, x.dtype))
    E[..., 0, 1], E[..., 1, 1] = x, y  # top eigenvector, last column
    E[..., 0, 0], E[..., 1, 0] = -np.conj(y), np.conj(x)
    w = np.stack([t - h, lam], axis=-1).astype(G.real.dtype, copy=False)
    return w, E.astype(G.dtype, copy=False)


def _eigh(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if G.shape[-1] == 2:
        return _eigh2(G)
    if G.shape[-1] == 1:
        return G[..., 0].real.copy(), np.ones_like(G)
    return np.linalg.eigh(G)


def _project(Uh: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Batched ``Uh @ B`` for a few rows ``Uh``: matmul on long rows (one gemm per block pays off), einsum on
    short ones."""
    if B.shape[-1] >= 64:
        return Uh @ B
    return bmm(Uh, B)


def _chunk_axis(shape: tuple[int, ...]) -> int:
    """The batch axis to cut into chunks: the longest of the four, the later one on ties (for the product
    blocks the fourth, κ, walks whole rows of the data)."""
    ext = shape[:4]
    return max(range(len(ext)), key=lambda i: (ext[i], i))


def _split_fused(
    B: np.ndarray,
    r: int,
    side: Literal["left", "balanced"],
    W_out: np.ndarray,
    run: _Run | None = None,
    pi_perm: np.ndarray | None = None,
    compiled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused two-factor split: Gram matrices, eigenvectors and projection of each chunk of blocks in one pass.

    ``B`` is the ``(al, dr, p, q, m, n)`` block view of a node (``m ≤ n``, any strides). The right factor's
    blocks ``W`` (``(…, r, n)``) are written straight into ``W_out`` (a view of the next node's array), the
    left blocks ``U`` (``(…, m, r)``) and the discarded energy per block are returned. ``side='left'``:
    ``U`` has orthonormal columns; ``'balanced'``: singular values split as square roots (as
    :func:`_truncate`). ``pi_perm``: block ``π`` of ``B`` is block ``pi_perm[π]`` of the true node (the
    columns of the node are stored in bit-reversed order); ``U`` and ``W`` are put in the true order. When
    ``run`` is given the energy (sum of Gram traces) is recorded. ``compiled``: blocks of at most
    :data:`~wellposed.solvers.butterfly.compiled.MAX_ROWS` rows go through the numba kernel (the caller checks
    that numba is available), one pass over each block with no temporaries; this numpy code is its oracle.

    Notes
    -----
    Reads each block once from memory (the two-pass :func:`_truncate` reads it twice and, through
    :func:`_truncate` ``(…, side)`` + ``right_from_blocks``, may copy the projection once more). The
    reference is :func:`_truncate`; both are checked against :func:`_truncate_loop_reference`.
    """
    batch = B.shape[:4]
    m, n = B.shape[-2:]
    if m > n or side not in ("left", "balanced") or len(batch) != 4:
        raise ValueError(f"_split_fused needs (4 batch axes, m <= n, side left/balanced), got {B.shape}, {side!r}")
    k = min(r, m)
    U = np.zeros((*batch, m, r), dtype=B.dtype)
    tail = np.empty(batch)
    if k < r:
        W_out[..., k:, :] = 0
    ax = _chunk_axis(B.shape)
    step = _chunk_step(B, ax)
    if pi_perm is not None and np.array_equal(pi_perm, np.arange(len(pi_perm))):
        pi_perm = None  # p <= 2: the bit reversal of the block index is the identity
    if compiled and m <= _compiled.MAX_ROWS:
        energy_c = _compiled.split(B, r, side == "balanced", W_out, U, tail, pi_perm)
        if energy_c is None:
            raise _NonFinite
        if run is not None:
            run.energy = energy_c
        return U, tail
    if m == 2 and r == 1 and pi_perm is None:
        energy = _split_rank1_two_rows(B, side, W_out[..., 0, :], U, tail, ax, step)
        if run is not None:
            run.energy = energy
        return U, tail
    energy = 0.0
    with _one_blas_thread():
        for i in range(0, B.shape[ax], step):  # chunks of blocks, each one vectorized pass
            sl = (slice(None),) * ax + (slice(i, i + step),)
            Bc = _chunk(B, sl)
            G = _gram_rows(Bc)
            if not np.isfinite(G).all():
                raise _NonFinite
            if run is not None:
                energy += float(np.trace(G, axis1=-2, axis2=-1).real.sum())
            w, E = _eigh(G)
            U0 = E[..., :, m - k :][..., ::-1]
            tail[sl] = _discarded(w, m - k, G, n)
            Z = _project(_herm(U0), Bc)
            if side == "balanced":
                lam = np.clip(w[..., m - k :][..., ::-1], 0.0, None)
                s = np.sqrt(np.sqrt(lam))
                inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
                U0 = U0 * s[..., None, :]
                Z *= inv[..., :, None]
            U[sl + (Ellipsis, slice(0, k))] = U0
            if pi_perm is None:
                W_out[sl + (Ellipsis, slice(0, k), slice(None))] = Z
            else:
                idx: list[Any] = [slice(None)] * 4
                idx[ax] = slice(i, i + step)
                idx[2] = pi_perm[idx[2]]
                W_out[(*idx, slice(0, k), slice(None))] = Z
    if run is not None:
        run.energy = energy
    if pi_perm is not None:
        U, tail = U[:, :, pi_perm], tail[:, :, pi_perm]
    return U, tail


def _divide_real(z: np.ndarray, d: np.ndarray) -> None:
    """``z /= d`` in place for a real ``d > 0``. On complex ``z`` numpy's division multiplies by ``1/d``, which
    overflows for a subnormal ``d`` (nan, e.g. the eigenvector norm of a block of an A around 1e-160): there the
    real and imaginary parts are divided instead (everywhere else the bytes of ``z /= d``)."""
    sub = d < np.finfo(d.dtype).tiny if np.iscomplexobj(z) else None
    if sub is None or not sub.any():
        z /= d
        return
    zs, ds = z[sub], d[sub]
    z /= np.where(sub, 1.0, d)
    zs.real /= ds
    zs.imag /= ds
    z[sub] = zs


def _split_rank1_two_rows(
    B: np.ndarray, side: str, W_out: np.ndarray, U: np.ndarray, tail: np.ndarray, ax: int, step: int
) -> float:
    """:func:`_split_fused` for blocks of two rows and rank one (every split of the left-to-right dyadic
    butterfly): three dot products per block, the closed-form top eigenvector, and the projection as two
    scaled rows written in place into ``W_out`` — per chunk, while it is in cache. Returns the energy."""
    n = B.shape[-1]
    slack = 4.0 * (n + 2) * np.finfo(B.dtype).eps  # rounding bound of _discarded (inner n, dim 2), per trace
    cplx = np.iscomplexobj(B)
    energy = 0.0
    for i in range(0, B.shape[ax], step):  # chunks of blocks, each one vectorized pass
        sl = (slice(None),) * ax + (slice(i, i + step),)
        Bc = _chunk(B, sl)
        x0, x1 = Bc[..., 0, :], Bc[..., 1, :]
        if cplx:
            a, c = _rowsq(x0), _rowsq(x1)
            b = np.einsum("...k,...k->...", x0, np.conj(x1))
        else:
            a = np.einsum("...k,...k->...", x0, x0)
            c = np.einsum("...k,...k->...", x1, x1)
            b = np.einsum("...k,...k->...", x0, x1)
        tr = a + c
        d = a - c
        h = np.hypot(0.5 * d, np.abs(b) if cplx else b)
        e = float(tr.sum())
        if not (math.isfinite(e) and math.isfinite(float(h.sum()))):
            raise _NonFinite
        energy += e
        lam = 0.5 * tr
        low = lam - h  # the discarded eigenvalue, lowered by its rounding bound and clipped below
        low -= slack * tr
        tail[sl] = np.maximum(low, 0.0)
        lam += h
        first = d >= 0
        x = np.where(first, lam - c, b)
        y = np.where(first, np.conj(b) if cplx else b, lam - a)
        nrm = np.hypot(np.abs(x), np.abs(y)) if cplx else np.hypot(x, y)
        if not nrm.all():  # G a multiple of the identity: any unit vector
            zero = nrm == 0
            nrm[zero], x[zero] = 1.0, 1.0
        if side == "balanced":
            s = np.sqrt(np.sqrt(lam))
            U[sl + (Ellipsis, 0, 0)] = x * (s / nrm)
            U[sl + (Ellipsis, 1, 0)] = y * (s / nrm)
            ns = nrm * np.where(s > 0, s, np.inf)  # W = (u^H B) / s, zero where the block is zero
            under = ns == 0  # nrm · s underflows (blocks of an A around 1e-130): one division at a time
            if under.any():
                for z in (x, y):
                    zu = z[under]
                    _divide_real(zu, nrm[under])
                    _divide_real(zu, s[under])
                    z[under] = zu
                ns[under] = 1.0
            nrm = ns
        _divide_real(x, nrm)
        _divide_real(y, nrm)
        if side != "balanced":
            U[sl + (Ellipsis, 0, 0)] = x
            U[sl + (Ellipsis, 1, 0)] = y
        if cplx:
            x, y = np.conj(x), np.conj(y)
        Wc = W_out[sl]
        np.multiply(x0, x[..., None], out=Wc)
        Wc += x1 * y[..., None]
    return energy


def _chunk(B: np.ndarray, sl: tuple[slice, ...]) -> np.ndarray:
    """``B[sl]``, copied to a contiguous array when its rows are strided (columns stored bit-reversed): the copy
    is of one cache-sized chunk, so the data is still read once from memory."""
    Bc = B[sl]
    return Bc if Bc.strides[-1] == Bc.itemsize else np.ascontiguousarray(Bc)


def _rowsq(x: np.ndarray) -> np.ndarray:
    """``Σ_k |x[..., k]|²`` of a complex array through its real view when the rows are contiguous."""
    if x.strides[-1] == x.itemsize:
        f: Any = x.view(np.float64 if x.dtype == np.complex128 else np.float32)
        return np.asarray(np.einsum("...k,...k->...", f, f))
    re, im = np.asarray(x.real, dtype=float), np.asarray(x.imag, dtype=float)
    return np.asarray(np.einsum("...k,...k->...", re, re) + np.einsum("...k,...k->...", im, im))


def _truncate_loop_reference(B: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain-loop oracle of the split kernels: best rank-``r`` approximation and discarded energy of each
    block by its own SVD. Returns ``(approximation, tail)``; slow, for tests."""
    batch = B.shape[:-2]
    approx = np.zeros(B.shape, dtype=B.dtype)
    tail = np.zeros(batch)
    for idx in np.ndindex(*batch):  # one SVD per block
        u, sv, vh = np.linalg.svd(B[idx], full_matrices=False)
        approx[idx] = (u[:, :r] * sv[:r]) @ vh[:r]
        tail[idx] = float(np.sum(sv[r:] ** 2))
    return approx, tail
