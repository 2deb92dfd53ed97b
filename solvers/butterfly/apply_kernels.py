"""Compiled kernels of :meth:`FactorChain.apply <wellposed.solvers.butterfly.FactorChain.apply>`: Kronecker-sparse
factors applied slab by slab in cache, permutations fused into the first and last pass (numba, optional).

The numpy path of :mod:`wellposed.solvers.butterfly.factors` stays the reference and the fallback: this module
only imports numba inside :func:`compiled_kernels` (never at import time) and is used only when numba is
installed (:func:`numba_available`).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from wellposed.kronecker import KSPattern

__all__ = ["CACHE_BYTES", "Group", "PackedPlan", "apply_packed", "compiled_kernels", "group_factors", "numba_available",
           "pack_plan", "uses_matmul"]

#: Work-set budget of one slab (input, two scratch slabs, output): about half of one core's L2 cache, so
#: that consecutive factors read what the previous one wrote from cache instead of from main memory.
CACHE_BYTES = 512 * 1024


@lru_cache(maxsize=1)
def numba_available() -> bool:
    """Whether numba is installed (checked once; numba is not imported)."""
    return importlib.util.find_spec("numba") is not None


class Group(NamedTuple):
    """Factors ``start:stop`` of a plan (application order) applied in one pass over memory: ``slabs``
    independent slabs through the compiled kernel, or (``matmul``) one batched matmul of numpy."""

    start: int
    stop: int
    slabs: int
    matmul: bool = False


def uses_matmul(pattern: KSPattern, k: int) -> bool:
    """Whether a factor goes to numpy's batched matmul (BLAS) rather than the compiled kernel: blocks of at
    least 8×8 applied to at least 8 columns, where a blocked matrix product beats the kernel's one-row-at-a-time
    sums (Monarch factors, for instance)."""
    return k >= 8 and pattern.b >= 8 and pattern.c >= 8


def group_factors(patterns: Sequence[KSPattern], k: int, itemsize: int,
                  cache_bytes: int = CACHE_BYTES) -> tuple[Group, ...]:
    """Split factors (in the order they are applied, rightmost first) into groups applied slab by slab.

    A factor ``(a, b, c, d)`` is ``I_a ⊗ B ⊗ I_d``: for any ``s`` dividing ``a`` it acts on ``s`` independent
    contiguous slabs of its input. A group of consecutive factors with ``s = gcd`` of their ``a`` therefore
    maps slab ``j`` of its input to slab ``j`` of its output through every factor of the group without
    touching the other slabs; a group is extended while one slab of every factor of it (input, output,
    ``k`` columns) stays within ``cache_bytes``. A factor for :func:`uses_matmul` is a group of its own.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> group_factors(dyadic_butterfly(8)[::-1], k=1, itemsize=8)  # a small vector: one group, one slab
    (Group(start=0, stop=3, slabs=1, matmul=False),)
    >>> [tuple(g) for g in group_factors(dyadic_butterfly(8)[::-1], k=1, itemsize=8, cache_bytes=64)]
    [(0, 2, 2, False), (2, 3, 1, False)]
    """
    groups: list[Group] = []
    i = 0
    while i < len(patterns):
        if uses_matmul(patterns[i], k):
            groups.append(Group(i, i + 1, 1, True))
            i += 1
            continue
        s = patterns[i].a
        j = i + 1
        while j < len(patterns) and not uses_matmul(patterns[j], k):
            s2 = math.gcd(s, patterns[j].a)
            slab = max(max(p.shape) for p in patterns[i:j + 1]) // s2
            if 2 * slab * k * itemsize > cache_bytes:
                break
            s, j = s2, j + 1
        groups.append(Group(i, j, s))
        i = j
    return tuple(groups)


@dataclass(frozen=True)
class PackedPlan:
    """Factors of an apply plan in application order (rightmost first), cast to one dtype and packed into one
    flat array for the compiled kernel: ``meta[f] = (a, b, c, d, offset)`` into ``data``; the chain's column
    permutation and its inverse row permutation; the groups of :func:`group_factors` per batch width."""

    data: np.ndarray
    meta: np.ndarray
    patterns: tuple[KSPattern, ...]
    column_permutation: np.ndarray | None = None
    inverse_row_permutation: np.ndarray | None = None
    groups: dict[int, tuple[Group, ...]] = field(default_factory=dict, compare=False)


def pack_plan(patterns: Sequence[KSPattern], datas: Sequence[np.ndarray], dtype: np.dtype,
              column_permutation: np.ndarray | None = None,
              row_permutation: np.ndarray | None = None) -> PackedPlan:
    """Pack factors given in application order (rightmost first) and the permutations of
    ``P_r · F_1 ⋯ F_L · P_c`` (``(P_c X)[i] = X[column_permutation[i]]``, ``(P_r Y)[i] = Y[row_permutation[i]]``)
    for :func:`apply_packed`."""
    sizes = [p.nnz for p in patterns]
    flat = np.empty(sum(sizes), dtype=dtype)
    meta = np.empty((len(sizes), 5), dtype=np.int64)
    off = 0
    for f, (p, D) in enumerate(zip(patterns, datas, strict=True)):
        flat[off:off + p.nnz] = np.asarray(D).ravel()
        meta[f] = (*p.abcd, off)
        off += p.nnz
    flat.setflags(write=False)
    meta.setflags(write=False)
    inv = None if row_permutation is None else np.argsort(row_permutation)
    cp = None if column_permutation is None else np.asarray(column_permutation, dtype=np.int64)
    return PackedPlan(flat, meta, tuple(patterns), cp, inv)


def apply_packed(plan: PackedPlan, X: np.ndarray, cache_bytes: int = CACHE_BYTES) -> np.ndarray:
    """``P_r · F_1 ⋯ F_L · P_c · X`` with the compiled kernels, for ``X`` C-contiguous of shape ``(n, k)`` and of
    the plan's dtype; returns a new ``(m, k)`` array.

    Each group of :func:`group_factors` is one pass over memory: per slab, the factors run between two
    cache-sized scratch slabs. The column permutation is gathered into the first group's slabs and the row
    permutation scattered from the last group's, so neither costs a pass of its own (unless that group is a
    batched matmul: then it is one ``numpy.take``).
    """
    kern = compiled_kernels()
    pats = plan.patterns
    k = X.shape[1]
    dtype = plan.data.dtype
    groups = plan.groups.get(k)
    if groups is None:
        groups = plan.groups[k] = group_factors(pats, k, dtype.itemsize, cache_bytes)
    width = max(max(max(p.shape) for p in pats[g.start:g.stop]) // g.slabs for g in groups) * k
    size = max(max(p.shape) for p in pats) * k
    work = workspace(dtype, 3 * width + 2 * size)
    scratch = work[:3 * width].reshape(3, width)
    Y = X.reshape(-1)
    last = len(groups) - 1
    for i, g in enumerate(groups):
        rows_out = pats[g.stop - 1].shape[0]
        gather = plan.column_permutation if i == 0 else None
        scatter = plan.inverse_row_permutation if i == last else None
        if i == last and (scatter is None or not g.matmul):
            out = np.empty(rows_out * k, dtype=dtype)
        else:  # intermediate results ping-pong between two reused buffers (no fresh pages to fault in)
            base = 3 * width + (i % 2) * size
            out = work[base:base + rows_out * k]
        if g.matmul:
            p = pats[g.start]
            off = int(plan.meta[g.start, 4])
            if gather is not None:
                Y = np.take(Y.reshape(-1, k), gather, axis=0).reshape(-1)
            _matmul_factor(p, plan.data[off:off + p.nnz].reshape(p.abcd), Y, out, k)
            if scatter is not None:
                fresh = np.empty(rows_out * k, dtype=dtype)
                fresh.reshape(-1, k)[scatter] = out.reshape(-1, k)
                out = fresh
        else:
            kern.apply_group(plan.data, plan.meta[g.start:g.stop], Y, out, scratch, g.slabs, k,
                             _NO_PERM if gather is None else gather, _NO_PERM if scatter is None else scatter)
        Y = out
    return Y.reshape(-1, k)


_NO_PERM = np.empty(0, dtype=np.int64)


def _matmul_factor(p: KSPattern, D: np.ndarray, x: np.ndarray, o: np.ndarray, k: int) -> None:
    """``o = F @ x`` (flat, ``k`` columns) with one batched matmul over the ``a*d`` blocks (strided views)."""
    a, b, c, d = p.abcd
    np.matmul(D.transpose(0, 3, 1, 2), x.reshape(a, c, d, k).transpose(0, 2, 1, 3),
              out=o.reshape(a, b, d, k).transpose(0, 2, 1, 3))


_WORKSPACE = threading.local()


def workspace(dtype: np.dtype, size: int) -> np.ndarray:
    """A reusable flat work array of at least ``size`` entries per thread and dtype (fresh multi-megabyte arrays
    cost more in page faults than a pass of arithmetic)."""
    cache = getattr(_WORKSPACE, "cache", None)
    if cache is None:
        cache = _WORKSPACE.cache = {}
    key = np.dtype(dtype).str
    buf = cache.get(key)
    if buf is None or buf.size < size:
        buf = cache[key] = np.empty(size, dtype=dtype)
    return buf


@lru_cache(maxsize=1)
def compiled_kernels() -> Any:
    """The numba-compiled kernels (compiled on first use, cached on disk by numba).

    Raises ImportError if numba is not installed (check :func:`numba_available` first).
    """
    import types

    import numba

    jit = numba.njit(cache=True, nogil=True, boundscheck=False)

    @jit
    def factor(D: np.ndarray, x: np.ndarray, o: np.ndarray, k: int) -> None:  # pragma: no cover - compiled
        """``o = F @ x`` for one factor with data ``D`` (a, b, c, d) and flat ``x`` (a*c*d*k), ``o`` (a*b*d*k).

        Sums run over the block's columns in order (``w0*x0 + w1*x1 + ...``), like the plain-loop reference."""
        a, b, c, d = D.shape
        if k == 1 and d >= 4:  # a vector: run along d (contiguous in x, o and D)
            x3 = x.reshape((a, c, d))
            o3 = o.reshape((a, b, d))
            for ia in range(a):
                for ib in range(b):
                    orow = o3[ia, ib]
                    w = D[ia, ib]
                    if c == 2:
                        x0, x1 = x3[ia, 0], x3[ia, 1]
                        w0, w1 = w[0], w[1]
                        for i in range(d):
                            orow[i] = w0[i] * x0[i] + w1[i] * x1[i]
                    elif c == 4:
                        x0, x1, x2, x3_ = x3[ia, 0], x3[ia, 1], x3[ia, 2], x3[ia, 3]
                        w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
                        for i in range(d):
                            orow[i] = w0[i] * x0[i] + w1[i] * x1[i] + w2[i] * x2[i] + w3[i] * x3_[i]
                    else:
                        w0, x0 = w[0], x3[ia, 0]
                        for i in range(d):
                            orow[i] = w0[i] * x0[i]
                        for ic in range(1, c):
                            wc, xc = w[ic], x3[ia, ic]
                            for i in range(d):
                                orow[i] += wc[i] * xc[i]
            return
        # a block (or a vector with d < 4): every output row of a b×c block from the c input rows, run along
        # the k columns (contiguous in x and o)
        x4 = x.reshape((a, c, d, k))
        o4 = o.reshape((a, b, d, k))
        if k < 4:  # too short to run along: plain scalar loops (no views, no vector prologues)
            for ia in range(a):
                for i in range(d):
                    for ib in range(b):
                        for j in range(k):
                            acc = D[ia, ib, 0, i] * x4[ia, 0, i, j]
                            for ic in range(1, c):
                                acc += D[ia, ib, ic, i] * x4[ia, ic, i, j]
                            o4[ia, ib, i, j] = acc
            return
        for ia in range(a):
            for i in range(d):
                w = D[ia, :, :, i]
                if b == 4 and c == 4:
                    v0, v1, v2, v3 = x4[ia, 0, i], x4[ia, 1, i], x4[ia, 2, i], x4[ia, 3, i]
                    o0, o1, o2, o3 = o4[ia, 0, i], o4[ia, 1, i], o4[ia, 2, i], o4[ia, 3, i]
                    w00, w01, w02, w03 = w[0, 0], w[0, 1], w[0, 2], w[0, 3]
                    w10, w11, w12, w13 = w[1, 0], w[1, 1], w[1, 2], w[1, 3]
                    w20, w21, w22, w23 = w[2, 0], w[2, 1], w[2, 2], w[2, 3]
                    w30, w31, w32, w33 = w[3, 0], w[3, 1], w[3, 2], w[3, 3]
                    for j in range(k):
                        y0, y1, y2, y3 = v0[j], v1[j], v2[j], v3[j]
                        o0[j] = w00 * y0 + w01 * y1 + w02 * y2 + w03 * y3
                        o1[j] = w10 * y0 + w11 * y1 + w12 * y2 + w13 * y3
                        o2[j] = w20 * y0 + w21 * y1 + w22 * y2 + w23 * y3
                        o3[j] = w30 * y0 + w31 * y1 + w32 * y2 + w33 * y3
                elif b == 2 and c == 2:
                    v0, v1 = x4[ia, 0, i], x4[ia, 1, i]
                    o0, o1 = o4[ia, 0, i], o4[ia, 1, i]
                    w00, w01, w10, w11 = w[0, 0], w[0, 1], w[1, 0], w[1, 1]
                    for j in range(k):
                        y0, y1 = v0[j], v1[j]
                        o0[j] = w00 * y0 + w01 * y1
                        o1[j] = w10 * y0 + w11 * y1
                else:
                    for ib in range(b):
                        ov = o4[ia, ib, i]
                        v = x4[ia, 0, i]
                        s = w[ib, 0]
                        for j in range(k):
                            ov[j] = s * v[j]
                        for ic in range(1, c):
                            v = x4[ia, ic, i]
                            s = w[ib, ic]
                            for j in range(k):
                                ov[j] += s * v[j]

    @jit
    def apply_group(data: np.ndarray, meta: np.ndarray, X: np.ndarray, out: np.ndarray, scratch: np.ndarray,
                    slabs: int, k: int, gather: np.ndarray, scatter: np.ndarray) -> None:  # pragma: no cover
        """Factors ``meta`` (application order) applied slab by slab from flat ``X`` into flat ``out``;
        ``gather``: rows of ``X`` to read (column permutation), ``scatter``: row of ``out`` each result row goes
        to (inverse row permutation); empty arrays mean none."""
        nf = meta.shape[0]
        for s in range(slabs):
            a0, _, c0, d0, _ = meta[0]
            rows_in = a0 // slabs * c0 * d0
            lo = s * rows_in
            if gather.size > 0:
                src = scratch[2, :rows_in * k]
                for r in range(rows_in):
                    g = gather[lo + r] * k
                    for j in range(k):
                        src[r * k + j] = X[g + j]
            else:
                src = X[lo * k:(lo + rows_in) * k]
            for f in range(nf):
                a, b, c, d, off = meta[f]
                al = a // slabs
                rows = al * b * d
                D = data[off + s * al * b * c * d:off + (s + 1) * al * b * c * d].reshape((al, b, c, d))
                if f == nf - 1 and scatter.size == 0:
                    dst = out[s * rows * k:(s + 1) * rows * k]
                else:
                    dst = scratch[f % 2, :rows * k]
                factor(D, src, dst, k)
                src = dst
            if scatter.size > 0:
                a, b, _, d, _ = meta[nf - 1]
                rows = a // slabs * b * d
                for r in range(rows):
                    t = scatter[s * rows + r] * k
                    for j in range(k):
                        out[t + j] = src[r * k + j]

    return types.SimpleNamespace(factor=factor, apply_group=apply_group)
