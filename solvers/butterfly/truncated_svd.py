"""Best rank-r truncation of a batch of blocks through its smaller Gram matrix, with certified discarded energy.

The numerical kernel of the hierarchical factorization (:mod:`wellposed.solvers.butterfly.factorize`): every split
of the tree is one call on the decoupled blocks of a two-factor problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from wellposed.solvers.butterfly.blocks import bmm

_Side = Literal["left", "right", "balanced"]


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
    slack = 4.0 * (inner + dim) * np.finfo(np.float64).eps * scale
    return np.clip(w[..., :n_drop] - slack[..., None], 0.0, None).sum(axis=-1)


class _Run:
    """Mutable bookkeeping of one factorization run: recorded split errors (lower bounds) and the energy of
    the data on the product pattern (read off the root Gram matrices, which saves a pass over ``A``)."""

    def __init__(self, L: int, progress: Callable[[int, int], None] | None = None, total: int | None = None) -> None:
        self.tails = np.full(L - 1, np.nan)
        self.energy: float | None = None
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
