"""Compiled kernels of :meth:`FactorChain.apply <wellposed.solvers.butterfly.FactorChain.apply>`: Kronecker-sparse
factors applied slab by slab in cache, permutations fused into the first and last pass (numba, optional).

This module imports numba: :mod:`wellposed.solvers.butterfly.factors` imports it only on the first compiled
apply, and only when numba is installed (:func:`~wellposed.solvers.butterfly.compiled.available`); its numpy
kernel stays the reference and the fallback. The kernels are compiled on first use and cached on disk by numba.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np

from wellposed.kronecker import KSPattern

__all__ = ["CACHE_BYTES", "Group", "PackedPlan", "apply_packed", "group_factors", "pack_plan", "uses_matmul"]

#: Work-set budget of one slab (input, two scratch slabs, output): about half of one core's L2 cache, so
#: that consecutive factors read what the previous one wrote from cache instead of from main memory.
CACHE_BYTES = 512 * 1024


class Group(NamedTuple):
    """Factors ``start:stop`` of a plan (application order) applied in one pass over memory: ``slabs × chunks``
    independent slabs through the compiled kernel, or (``matmul``) one batched matmul of numpy. ``chunks`` splits
    the ``gcd`` of the factors' ``d`` (see :func:`group_factors`)."""

    start: int
    stop: int
    slabs: int
    chunks: int = 1
    matmul: bool = False


def uses_matmul(pattern: KSPattern, k: int) -> bool:
    """Whether a factor goes to numpy's batched matmul (BLAS) rather than the compiled kernel: blocks of at
    least 8×8 applied to at least 8 columns, where a blocked matrix product beats the kernel's one-row-at-a-time
    sums (Monarch factors, for instance)."""
    return k >= 8 and pattern.b >= 8 and pattern.c >= 8


def _slab_rows(patterns: Sequence[KSPattern], slabs: int, chunks: int) -> int:
    return max(max(p.shape) for p in patterns) // (slabs * chunks)


def _chunks_for(patterns: Sequence[KSPattern], slabs: int, k: int, itemsize: int, cache_bytes: int) -> int | None:
    """The fewest chunks of ``gcd(d)`` that bring one slab within the budget with runs of at least 64 entries,
    or None."""
    dg = 0
    for p in patterns:
        dg = math.gcd(dg, p.d)
    for chunks in range(1, dg + 1):
        if dg % chunks:
            continue
        if chunks > 1 and dg // chunks * k < 64:
            return None
        if 2 * _slab_rows(patterns, slabs, chunks) * k * itemsize <= cache_bytes:
            return chunks
    return None


def group_factors(patterns: Sequence[KSPattern], k: int, itemsize: int,
                  cache_bytes: int = CACHE_BYTES) -> tuple[Group, ...]:
    """Split factors (in the order they are applied, rightmost first) into groups applied slab by slab.

    A factor ``(a, b, c, d)`` is ``I_a ⊗ B ⊗ I_d``: it maps each of ``s`` contiguous slabs of its input (``s``
    dividing ``a``) to the same slab of its output, and it never mixes rows whose index differs modulo ``d``.
    So a run of consecutive factors splits into ``gcd(a) × t`` independent slabs, ``t`` dividing ``gcd(d)``
    (slab ``(j, u)``: the ``j``-th contiguous part, rows whose index modulo ``gcd(d)`` falls in the ``u``-th of
    ``t`` equal ranges), and every factor of the run can be applied to one slab while it stays in cache. A
    group is extended while one slab (input and output, ``k`` columns each) fits in ``cache_bytes``. A factor
    for :func:`uses_matmul` is a group of its own.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> group_factors(dyadic_butterfly(8)[::-1], k=1, itemsize=8)  # a small vector: one group, one slab
    (Group(start=0, stop=3, slabs=1, chunks=1, matmul=False),)
    >>> [tuple(g) for g in group_factors(dyadic_butterfly(8)[::-1], k=1, itemsize=8, cache_bytes=64)]
    [(0, 2, 2, 1, False), (2, 3, 1, 1, False)]
    >>> [tuple(g) for g in group_factors(dyadic_butterfly(8)[::-1], k=64, itemsize=8, cache_bytes=4096)]
    [(0, 2, 2, 1, False), (2, 3, 1, 2, False)]
    """
    groups: list[Group] = []
    i = 0
    while i < len(patterns):
        if uses_matmul(patterns[i], k):
            groups.append(Group(i, i + 1, 1, 1, True))
            i += 1
            continue
        s = patterns[i].a
        t = _chunks_for(patterns[i:i + 1], s, k, itemsize, cache_bytes) or 1
        j = i + 1
        while j < len(patterns) and not uses_matmul(patterns[j], k):
            s2 = math.gcd(s, patterns[j].a)
            t2 = _chunks_for(patterns[i:j + 1], s2, k, itemsize, cache_bytes)
            if t2 is None:
                break
            s, t, j = s2, t2, j + 1
        groups.append(Group(i, j, s, t))
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
    groups: dict[int, tuple[tuple[Group, np.ndarray, np.ndarray], ...]] = field(default_factory=dict,
                                                                                compare=False)

    def grouped(self, k: int, cache_bytes: int) -> tuple[tuple[Group, np.ndarray, np.ndarray], ...]:
        """The groups for ``k`` columns, each with its factors' data and ``meta`` rows: the packed data itself,
        or for a group split into ``t > 1`` chunks a copy laid out ``(t, a, b, c, d/gcd(d), gcd(d)/t)`` per
        factor so that each slab's data is contiguous (computed once per ``k``)."""
        key = k if cache_bytes == CACHE_BYTES else -cache_bytes * 1024 - k
        out = self.groups.get(key)
        if out is None:
            res = []
            for g in group_factors(self.patterns, k, self.data.dtype.itemsize, cache_bytes):
                meta = self.meta[g.start:g.stop]
                if g.chunks == 1:
                    res.append((g, self.data, meta))
                    continue
                dg = 0
                for p in self.patterns[g.start:g.stop]:
                    dg = math.gcd(dg, p.d)
                parts, offs, off = [], [], 0
                for p, row in zip(self.patterns[g.start:g.stop], meta, strict=True):
                    D = self.data[row[4]:row[4] + p.nnz].reshape(p.a, p.b, p.c, p.d // dg, g.chunks, dg // g.chunks)
                    parts.append(np.ascontiguousarray(D.transpose(4, 0, 1, 2, 3, 5)).ravel())
                    offs.append(off)
                    off += p.nnz
                chunked_meta = meta.copy()
                chunked_meta[:, 4] = offs
                chunked = np.concatenate(parts)
                for arr in (chunked, chunked_meta):  # read-only like the packed arrays: one compiled signature
                    arr.setflags(write=False)
                res.append((g, chunked, chunked_meta))
            out = self.groups[key] = tuple(res)
        return out


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
    inv = None if row_permutation is None else np.argsort(row_permutation)
    cp = None if column_permutation is None else np.array(column_permutation, dtype=np.int64)
    for arr in (flat, meta, inv, cp):  # read-only: the compiled kernel then has one signature per dtype
        if arr is not None:
            arr.setflags(write=False)
    return PackedPlan(flat, meta, tuple(patterns), cp, inv)


def apply_packed(plan: PackedPlan, X: np.ndarray, cache_bytes: int = CACHE_BYTES) -> np.ndarray:
    """``P_r · F_1 ⋯ F_L · P_c · X`` with the compiled kernels, for ``X`` C-contiguous of shape ``(n, k)`` and of
    the plan's dtype; returns a new ``(m, k)`` array.

    Each group of :func:`group_factors` is one pass over memory: per slab, the factors run between two
    cache-sized scratch slabs. The column permutation is gathered into the first group's slabs and the row
    permutation scattered from the last group's, so neither costs a pass of its own (unless that group is a
    batched matmul: then it is one ``numpy.take``).
    """
    pats = plan.patterns
    k = X.shape[1]
    dtype = plan.data.dtype
    grouped = plan.grouped(k, cache_bytes)
    width = max(_slab_rows(pats[g.start:g.stop], g.slabs, g.chunks) for g, _, _ in grouped) * k
    size = max(max(p.shape) for p in pats) * k
    work = workspace(dtype, 3 * width + 2 * size)
    scratch = work[:3 * width].reshape(3, width)
    Y = X.reshape(-1)
    last = len(grouped) - 1
    for i, (g, data, meta) in enumerate(grouped):
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
            off = int(meta[0, 4])
            if gather is not None:
                Y = np.take(Y.reshape(-1, k), gather, axis=0).reshape(-1)
            _matmul_factor(p, data[off:off + p.nnz].reshape(p.abcd), Y, out, k)
            if scatter is not None:
                fresh = np.empty(rows_out * k, dtype=dtype)
                fresh.reshape(-1, k)[scatter] = out.reshape(-1, k)
                out = fresh
        else:
            _apply_group(data, meta, Y, out, scratch, g.slabs, g.chunks, k,
                             _NO_PERM if gather is None else gather, _NO_PERM if scatter is None else scatter)
        Y = out
    return Y.reshape(-1, k)


_NO_PERM = np.empty(0, dtype=np.int64)
_NO_PERM.setflags(write=False)


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


_jit = numba.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _factor(D: np.ndarray, x: np.ndarray, o: np.ndarray, k: int) -> None:  # pragma: no cover - compiled
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
    for ia in range(a):  # one output row per inner loop, so that it vectorizes (one store, c loads)
        for i in range(d):
            if c == 4:
                v0, v1, v2, v3 = x4[ia, 0, i], x4[ia, 1, i], x4[ia, 2, i], x4[ia, 3, i]
                for ib in range(b):
                    ov = o4[ia, ib, i]
                    s0, s1, s2, s3 = D[ia, ib, 0, i], D[ia, ib, 1, i], D[ia, ib, 2, i], D[ia, ib, 3, i]
                    for j in range(k):
                        ov[j] = s0 * v0[j] + s1 * v1[j] + s2 * v2[j] + s3 * v3[j]
            elif c == 2:
                v0, v1 = x4[ia, 0, i], x4[ia, 1, i]
                for ib in range(b):
                    ov = o4[ia, ib, i]
                    s0, s1 = D[ia, ib, 0, i], D[ia, ib, 1, i]
                    for j in range(k):
                        ov[j] = s0 * v0[j] + s1 * v1[j]
            else:
                for ib in range(b):
                    ov = o4[ia, ib, i]
                    v = x4[ia, 0, i]
                    s = D[ia, ib, 0, i]
                    for j in range(k):
                        ov[j] = s * v[j]
                    for ic in range(1, c):
                        v = x4[ia, ic, i]
                        s = D[ia, ib, ic, i]
                        for j in range(k):
                            ov[j] += s * v[j]

@_jit
def _move_rows(src: np.ndarray, dst: np.ndarray, rows: int, k: int, dg: int, w: int, base: int, lo: int,
              index: np.ndarray, into_slab: bool) -> None:  # pragma: no cover - compiled
    """Copy the ``rows`` rows of a slab between the full array and its contiguous local copy: local row ``r``
    is global row ``(base + r // w) * dg + lo + r % w``, mapped through ``index`` when it is not empty;
    ``into_slab``: full ``src`` → local ``dst``, else local ``src`` → full ``dst``."""
    for r in range(rows):
        g = (base + r // w) * dg + lo + r % w
        if index.size > 0:
            g = index[g]
        if into_slab:
            dst[r * k:(r + 1) * k] = src[g * k:(g + 1) * k]
        else:
            dst[g * k:(g + 1) * k] = src[r * k:(r + 1) * k]

@_jit
def _apply_group(data: np.ndarray, meta: np.ndarray, X: np.ndarray, out: np.ndarray, scratch: np.ndarray,
                slabs: int, chunks: int, k: int, gather: np.ndarray,
                scatter: np.ndarray) -> None:  # pragma: no cover - compiled
    """Factors ``meta`` (application order) applied slab by slab from flat ``X`` into flat ``out``;
    ``gather``: rows of ``X`` to read (column permutation), ``scatter``: row of ``out`` each result row goes
    to (inverse row permutation); empty arrays mean none. With ``chunks > 1`` each factor's data is laid
    out ``(chunks, a, b, c, d/dg, dg/chunks)`` (``dg``: gcd of the factors' ``d``)."""
    nf = meta.shape[0]
    dg = meta[0, 3]
    for f in range(1, nf):
        x, y = dg, meta[f, 3]
        while y:
            x, y = y, x % y
        dg = x
    w = dg // chunks
    a0, _, c0, d0, _ = meta[0]
    rows_in = a0 // slabs * c0 * d0 // chunks
    a1, b1, _, d1, _ = meta[nf - 1]
    rows_out = a1 // slabs * b1 * d1 // chunks
    direct_in = chunks == 1 and gather.size == 0
    direct_out = chunks == 1 and scatter.size == 0
    for s in range(slabs):
        for t in range(chunks):
            if direct_in:
                src = X[s * rows_in * k:(s + 1) * rows_in * k]
            else:
                src = scratch[2, :rows_in * k]
                _move_rows(X, src, rows_in, k, dg, w, s * rows_in // w, t * w, gather, True)
            for f in range(nf):
                a, b, c, d, off = meta[f]
                al = a // slabs
                dl = d // chunks
                size = al * b * c * dl
                base = off + t * (a * b * c * dl) + s * size
                D = data[base:base + size].reshape((al, b, c, dl))
                if f == nf - 1 and direct_out:
                    dst = out[s * rows_out * k:(s + 1) * rows_out * k]
                else:
                    dst = scratch[f % 2, :al * b * dl * k]
                _factor(D, src, dst, k)
                src = dst
            if not direct_out:
                _move_rows(src, out, rows_out, k, dg, w, s * rows_out // w, t * w, scatter, False)
