"""The numba-compiled loops behind :mod:`wellposed.solvers.butterfly.compiled` (imports numba: load it only through
that module, which checks that numba is installed and falls back to numpy otherwise).

Every kernel walks its blocks in the order its caller gives (largest strides outside, so memory is read in its
layout order), reads each block once into the cache and writes its outputs at permuted block indices
``(p0[i0], p1[i1], p2[i2], p3[i3])`` (the bit reversal of the block index). Sums run in float64 / complex128
whatever the storage precision. ``cache=True``: compiled once per machine, loaded from numba's cache afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload

_jit = njit(cache=True, nogil=True, boundscheck=False)
# Sums may be reassociated (vectorized): the order is fixed by the compiled code, so a given machine gives the
# same bytes for the same input; nothing else is relaxed (nan and inf still propagate to the checks).
_jit_sums = njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc"})


def _put(arr, idx, z):  # typed per array dtype by the overload below
    raise NotImplementedError


@overload(_put)
def _put_ol(arr, idx, z):
    """``arr[idx] = z`` keeping only the real part for a real array."""
    if isinstance(arr.dtype, types.Complex):

        def put_complex(arr, idx, z):
            arr[idx] = z

        return put_complex

    def put_real(arr, idx, z):
        arr[idx] = z.real

    return put_real


def _eigh_c(sample, G):
    raise NotImplementedError


@overload(_eigh_c)
def _eigh_c_ol(sample, G):
    """Ascending eigenvalues and eigenvectors (complex) of the Hermitian ``G``; real input: of ``G.real``, so
    that real data keeps real eigenvectors."""
    if isinstance(sample.dtype, types.Complex):

        def eigh_complex(sample, G):
            return np.linalg.eigh(G)

        return eigh_complex

    def eigh_real(sample, G):
        w, E = np.linalg.eigh(np.ascontiguousarray(G.real))
        return w, E.astype(np.complex128)

    return eigh_real


@_jit
def _top2(a: float, c: float, b: Any) -> tuple[float, float, Any, Any, float]:
    """Top eigenpair of ``[[a, b], [conj(b), c]]`` in closed form (as ``truncated_svd._eigh2``): half trace
    ``t``, ``h`` (eigenvalues ``t ± h``), the unnormalized top eigenvector ``(x, y)`` and its norm."""
    h = math.hypot(0.5 * (a - c), abs(b))
    t = 0.5 * (a + c)
    lam = t + h
    if a >= c:
        x = (lam - c) + 0.0 * b
        y = np.conj(b)
    else:
        x = b
        y = (lam - a) + 0.0 * b
    nrm = math.hypot(abs(x), abs(y))
    return t, h, x, y, nrm


@_jit
def split_small(B, r, balanced, W, U, tail, p0, p1, p2, p3):
    """Blocks of a few rows ``m <= n``, any rank ``r``: Gram matrix in one read, eigenvectors (closed form for
    two rows, LAPACK otherwise), projection on the top ``k = min(r, m)`` while the block is in cache. Rows
    ``k..`` of ``W`` and columns ``k..`` of ``U`` are left to the caller. Returns (energy, finite)."""
    n0, n1, n2, n3, m, n = B.shape
    k = min(r, m)
    slack = 4.0 * (n + m) * np.finfo(B.dtype).eps
    G = np.zeros((m, m), dtype=np.complex128)
    Uk = np.zeros((m, k), dtype=np.complex128)
    lam = np.zeros(k)
    energy = 0.0
    for i0 in range(n0):
        for i1 in range(n1):
            for i2 in range(n2):
                for i3 in range(n3):
                    Bb = B[i0, i1, i2, i3]
                    G[:, :] = 0.0
                    for j in range(n):
                        for i in range(m):
                            u = complex(Bb[i, j])
                            for i_ in range(i, m):
                                G[i, i_] += u * np.conj(complex(Bb[i_, j]))
                    tr = 0.0
                    for i in range(m):
                        G[i, i] = G[i, i].real
                        tr += G[i, i].real
                        for i_ in range(i):
                            G[i, i_] = np.conj(G[i_, i])
                    if not math.isfinite(tr) or not np.isfinite(G).all():
                        return energy, False
                    energy += tr
                    o0, o1, o2, o3 = p0[i0], p1[i1], p2[i2], p3[i3]
                    drop = 0.0
                    if m == 1:
                        lam[0] = max(G[0, 0].real, 0.0)
                        Uk[0, 0] = 1.0
                    elif m == 2:
                        t, h, x, y, nrm = _top2(G[0, 0].real, G[1, 1].real, G[0, 1])
                        if nrm == 0.0:
                            x, y, nrm = 1.0 + 0.0j, 0.0j, 1.0
                        x, y = x / nrm, y / nrm
                        Uk[0, 0], Uk[1, 0] = x, y
                        lam[0] = max(t + h, 0.0)
                        if k == 2:
                            Uk[0, 1], Uk[1, 1] = -np.conj(y), np.conj(x)
                            lam[1] = max(t - h, 0.0)
                        else:
                            drop = max(t - h - slack * tr, 0.0)
                    else:
                        w_, E = _eigh_c(Bb, G)
                        for c_ in range(k):
                            lam[c_] = max(w_[m - 1 - c_], 0.0)
                            for i in range(m):
                                Uk[i, c_] = E[i, m - 1 - c_]
                        for c_ in range(m - k):
                            drop += max(w_[c_] - slack * tr, 0.0)
                    tail[o0, o1, o2, o3] = drop
                    for c_ in range(k):
                        s = 1.0
                        inv = 1.0
                        if balanced:
                            s = math.sqrt(math.sqrt(lam[c_]))
                            inv = 1.0 / s if s > 0 else 0.0
                        for i in range(m):
                            _put(U, (o0, o1, o2, o3, i, c_), Uk[i, c_] * s)
                        w = W[o0, o1, o2, o3, c_]
                        for j in range(n):
                            z = 0.0j
                            for i in range(m):
                                z += np.conj(Uk[i, c_]) * Bb[i, j]
                            _put(w, j, z * inv)
    return energy, True


@_jit
def residual_rank1(f, shape, st, uq, wq, p_inner):
    """``Σ |B − u·w|²`` over rank-one blocks ``(al, dr, p, q, m, n)`` (``shape``) of the flat node ``f`` (entry
    strides ``st``), where the ``p·n`` entries of block row ``(α, δ, κ, β)`` are contiguous: ``(π, γ)`` order,
    or ``(γ, π)`` when ``p_inner`` (bit-reversed columns). ``uq[α, δ, κ, β]`` holds the ``p`` left entries,
    ``wq[α, δ, κ]`` the ``p·n`` right entries in the same order as the row. One pass over ``f`` in its memory
    order, block row by block row (``κ`` outside ``β``, so ``wq[α, δ, κ]`` stays in cache)."""
    al, dr, p, q, m, n = shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]
    total = 0.0
    for a in range(al):
        for d in range(dr):
            for k in range(q):
                wr = wq[a, d, k]
                for i in range(m):
                    o = a * st[0] + d * st[1] + k * st[3] + i * st[4]
                    total += _residual_row(f[o : o + p * n], uq[a, d, k, i], wr, p, n, p_inner)
    return total


@_jit_sums
def _residual_row(row, ur, wr, p, n, p_inner):
    total = 0.0
    if p_inner:
        for j in range(n):
            for pi in range(p):
                e = row[j * p + pi] - ur[pi] * wr[j * p + pi]
                er, ei = float(e.real), float(e.imag)
                total += er * er + ei * ei
    else:
        for pi in range(p):
            x = ur[pi]
            for j in range(n):
                e = row[pi * n + j] - x * wr[pi * n + j]
                er, ei = float(e.real), float(e.imag)
                total += er * er + ei * ei
    return total


@_jit_sums
def _gram_rows2(f, o0, o1, cs, n):
    """``(Σ |x0|², Σ |x1|², Σ x0·conj(x1))`` of the rows of ``n`` entries at offsets ``o0``, ``o1`` of the flat
    array ``f`` (column stride ``cs``; the unit-stride loop is the one that vectorizes)."""
    if cs == 1:  # views typed contiguous, indexed from 0: the loop vectorizes
        return _gram_views(f[o0 : o0 + n], f[o1 : o1 + n])
    return _gram_views(f[o0 : o0 + n * cs : cs], f[o1 : o1 + n * cs : cs])


@_jit_sums
def _gram_views(x0, x1):
    a = 0.0
    c = 0.0
    b = x0[0] * 0.0
    for j in range(x0.shape[0]):
        u = x0[j]
        v = x1[j]
        a += (u * np.conj(u)).real
        c += (v * np.conj(v)).real
        b += u * np.conj(v)
    return a, c, b


@_jit
def _project_rows2(f, o0, o1, cs, n, xc, yc, w, ow):
    """``w[ow:ow+n] = xc·x0 + yc·x1`` for the two rows of :func:`_gram_rows2`."""
    out = w[ow : ow + n]
    if cs == 1:
        _project_views(f[o0 : o0 + n], f[o1 : o1 + n], xc, yc, out)
    else:
        _project_views(f[o0 : o0 + n * cs : cs], f[o1 : o1 + n * cs : cs], xc, yc, out)


@_jit
def _project_views(x0, x1, xc, yc, out):
    for j in range(x0.shape[0]):
        out[j] = xc * x0[j] + yc * x1[j]


@_jit
def _level(f, fo, fA, fT, w, wo, wA, wT, nA, T, c, colrev, balanced, U, tail, a_base, kappa, g):
    """One level of the fused left-to-right tree on one group of rows, all in cache.

    Row ``t`` of diagonal block ``a_base + αl`` (``αl < nA``, ``t < T``) of the node is the ``c`` entries of the
    flat array ``f`` at offset ``fo + αl·fA + t·fT`` (node row ``κ + t·g``). Block ``(αl, π, t)`` pairs rows ``t``
    and ``t + T/2`` on the columns of half ``π`` (bit-reversed storage: every other column); its projection is
    written to row ``(2αl + π, t)`` of the flat output ``w`` (offset ``wo + (2αl + π)·wA + t·wT``), ``U`` /
    ``tail`` at block ``(a_base + αl, 0, π, κ + t·g)``. Returns (energy, finite)."""
    half = T // 2
    cr = c // 2
    slack = 4.0 * np.finfo(f.dtype).eps * (cr + 2)
    cs = 2 if colrev else 1
    energy = 0.0
    for al in range(nA):
        for pi in range(2):
            start = pi if colrev else pi * cr
            for t in range(half):
                o0 = fo + al * fA + t * fT + start
                o1 = o0 + half * fT
                a, cc, b = _gram_rows2(f, o0, o1, cs, cr)
                tr = a + cc
                th, h, x, y, nrm = _top2(a, cc, b)
                if not (math.isfinite(tr) and math.isfinite(h)):
                    return energy, False
                energy += tr
                ia, ik = a_base + al, kappa + t * g
                tail[ia, 0, pi, ik] = max(th - h - slack * tr, 0.0)
                if nrm == 0.0:
                    x, y, nrm = 1.0 + 0.0 * x, 0.0 * y, 1.0
                if balanced:
                    s = math.sqrt(math.sqrt(th + h))
                    U[ia, 0, pi, ik, 0, 0] = x * (s / nrm)
                    U[ia, 0, pi, ik, 1, 0] = y * (s / nrm)
                    nrm = nrm * s if s > 0 else math.inf
                    x, y = x / nrm, y / nrm
                else:
                    x, y = x / nrm, y / nrm
                    U[ia, 0, pi, ik, 0, 0] = x
                    U[ia, 0, pi, ik, 1, 0] = y
                _project_rows2(f, o0, o1, cs, cr, np.conj(x), np.conj(y), w, wo + (2 * al + pi) * wA + t * wT)
    return energy, True


@_jit
def fused_levels(node, a, b, c, k, colrev, balanced, out, Us, tails):
    """``k`` levels of the left-to-right tree in one pass over the node (blocks of two rows and rank one,
    ``p = 2`` at every level). ``node``: the flat node ``(a, b, c)``; its rows are taken in groups
    ``{κ + t·g}`` (``g = b/2^k``, ``t < 2^k``), whose ``k`` levels need nothing outside the group, so the
    intermediate nodes live in small scratch arrays and only the node after level ``k`` is written (``out``, flat
    ``(a·2^k, g, c/2^k)``). ``Us[j]`` / ``tails[j]``: the left blocks and discarded energies of level ``j``.
    Returns (energy of the first level, finite)."""
    K = 1 << k
    g = b >> k
    ck = c >> k
    s0 = np.empty((K // 2) * c, dtype=out.dtype)  # level j >= 1 reads one scratch node and writes the other
    s1 = np.empty(max(K // 4, 1) * c, dtype=out.dtype)
    energy = 0.0
    for a0 in range(a):
        for kappa in range(g):
            for j in range(k):
                nA, T, cj = 1 << j, K >> j, c >> j  # this level: 2^j blocks of T rows of cj entries
                last = j == k - 1
                if j == 0:
                    src, fo, fA, fT = node, (a0 * b + kappa) * c, b * c, g * c
                else:
                    src, fo, fA, fT = (s0 if j % 2 == 1 else s1), 0, T * cj, cj
                if last:
                    dst, wo, wA, wT = out, ((a0 << k) * g + kappa) * ck, g * ck, 0
                else:
                    dst, wo, wA, wT = (s0 if j % 2 == 0 else s1), 0, (T // 2) * (cj // 2), cj // 2
                e, ok = _level(src, fo, fA, fT, dst, wo, wA, wT, nA, T, cj, colrev, balanced, Us[j], tails[j],
                               a0 << j, kappa, g)
                if not ok:
                    return energy, False
                if j == 0:
                    energy += e
    return energy, True
