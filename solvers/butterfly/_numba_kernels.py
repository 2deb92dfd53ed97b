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
# Sums may be reassociated (vectorized) and products fused into the sums (fma): the order and the fusing are fixed
# by the compiled code, so a given machine gives the same bytes for the same input; nothing else is relaxed (nan
# and inf still propagate to the checks).
_jit_sums = njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})


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
    t = 0.5 * (a + c)
    h = _norm3(0.5 * (a - c), b.real, b.imag)
    lam = t + h
    if a >= c:
        x = (lam - c) + 0.0 * b
        y = np.conj(b)
        nrm = _norm3(lam - c, b.real, b.imag)
    else:
        x = b
        y = (lam - a) + 0.0 * b
        nrm = _norm3(b.real, b.imag, lam - a)
    return t, h, x, y, nrm


@_jit
def _norm3(u: float, v: float, w: float) -> float:
    """``sqrt(u² + v² + w²)`` without overflow or underflow (scaled by the largest magnitude; a few ulps, and
    several times cheaper than nested ``math.hypot``). nan or inf in, nan or inf out."""
    s = max(abs(u), abs(v), abs(w))
    if not (s > 0.0 and math.isfinite(u + v + w)):
        return abs(u) + abs(v) + abs(w)  # 0, or nan / inf
    inv = 1.0 / s
    if math.isfinite(inv):
        u, v, w = u * inv, v * inv, w * inv
    else:  # s subnormal (Gram entries of an A around 1e-160): 1/s overflows, divide instead
        u, v, w = u / s, v / s, w / s
    return s * math.sqrt(u * u + v * v + w * w)


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
    """``w[ow:ow+n] = xc·x0 + yc·x1`` for the two rows of :func:`_gram_rows2`; returns ``Σ |yc'·x0 − xc'·x1|²``
    (``xc = conj(x)``, ``yc = conj(y)`` for the unit top eigenvector ``(x, y)``: the energy the projection drops,
    read directly rather than as a difference of energies)."""
    out = w[ow : ow + n]
    if cs == 1:
        return _project_views(f[o0 : o0 + n], f[o1 : o1 + n], xc, yc, out)
    return _project_views(f[o0 : o0 + n * cs : cs], f[o1 : o1 + n * cs : cs], xc, yc, out)


@_jit_sums
def _project_views(x0, x1, xc, yc, out):
    zx, zy = -np.conj(yc), np.conj(xc)  # the unit vector orthogonal to (x, y), conjugated: z = -y·x0 + x·x1
    res = 0.0
    for j in range(x0.shape[0]):
        u = x0[j]
        v = x1[j]
        out[j] = xc * u + yc * v
        z = zx * u + zy * v
        res += (z * np.conj(z)).real
    return res


# Complex nodes are passed as float views (real and imaginary parts interleaved): the loops below run over
# contiguous floats with four lanes (real and imaginary part of two consecutive complex entries), which the
# compiler turns into vector instructions; complex arithmetic on strided complex entries does not vectorize.
@_jit_sums
def _gram_lanes(x0, x1):
    """Per-lane sums over the float rows ``x0``, ``x1`` (even length ``n``; lane ``k mod 4``): ``x0²``, ``x1²``,
    ``x0·x1`` and ``x0[k]·x1[k^1]`` (the cross products of real and imaginary parts). A tail of two floats goes
    to lanes 0 and 1."""
    n = x0.shape[0]
    n4 = n - n % 4
    a0 = a1 = a2 = a3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    r0 = r1 = r2 = r3 = 0.0
    i0 = i1 = i2 = i3 = 0.0
    for k in range(0, n4, 4):
        u0, u1, u2, u3 = np.float64(x0[k]), np.float64(x0[k + 1]), np.float64(x0[k + 2]), np.float64(x0[k + 3])
        v0, v1, v2, v3 = np.float64(x1[k]), np.float64(x1[k + 1]), np.float64(x1[k + 2]), np.float64(x1[k + 3])
        a0 += u0 * u0
        a1 += u1 * u1
        a2 += u2 * u2
        a3 += u3 * u3
        c0 += v0 * v0
        c1 += v1 * v1
        c2 += v2 * v2
        c3 += v3 * v3
        r0 += u0 * v0
        r1 += u1 * v1
        r2 += u2 * v2
        r3 += u3 * v3
        i0 += u0 * v1
        i1 += u1 * v0
        i2 += u2 * v3
        i3 += u3 * v2
    if n4 < n:
        u0, u1, v0, v1 = np.float64(x0[n4]), np.float64(x0[n4 + 1]), np.float64(x1[n4]), np.float64(x1[n4 + 1])
        a0 += u0 * u0
        a1 += u1 * u1
        c0 += v0 * v0
        c1 += v1 * v1
        r0 += u0 * v0
        r1 += u1 * v1
        i0 += u0 * v1
        i1 += u1 * v0
    return (a0, a1, a2, a3), (c0, c1, c2, c3), (r0, r1, r2, r3), (i0, i1, i2, i3)


@_jit_sums
def _project_lanes(x0, x1, out, cf):
    """The float rows ``x0``, ``x1`` of complex entries: ``out`` (a float row) gets ``P·x0 + Q·x1`` and the return
    value is ``Σ |Zx·x0 + Zy·x1|²``, with ``cf = (P, Q, Zx, Zy)`` as (real, imaginary) pairs."""
    pr, pi_, qr, qi, sr, si, tr, ti = cf[0], cf[1], cf[2], cf[3], cf[4], cf[5], cf[6], cf[7]
    res = 0.0
    for j in range(out.shape[0] // 2):
        k = 2 * j
        ur, ui = np.float64(x0[k]), np.float64(x0[k + 1])
        vr, vi = np.float64(x1[k]), np.float64(x1[k + 1])
        out[2 * j] = pr * ur - pi_ * ui + qr * vr - qi * vi
        out[2 * j + 1] = pr * ui + pi_ * ur + qr * vi + qi * vr
        zr = sr * ur - si * ui + tr * vr - ti * vi
        zi = sr * ui + si * ur + tr * vi + ti * vr
        res += zr * zr + zi * zi
    return res


@_jit_sums
def _project_pairs(x0, x1, out0, out1, cf):
    """:func:`_project_lanes` for both blocks of bit-reversed rows at once (block ``π``: complex entries
    ``π, π + 2, …``; coefficients ``cf[π]``, output ``out_π``), one contiguous read of the two rows. Returns the
    two dropped energies."""
    pr, pi_, qr, qi, sr, si, tr, ti = cf[0, 0], cf[0, 1], cf[0, 2], cf[0, 3], cf[0, 4], cf[0, 5], cf[0, 6], cf[0, 7]
    Pr, Pi, Qr, Qi, Sr, Si, Tr, Ti = cf[1, 0], cf[1, 1], cf[1, 2], cf[1, 3], cf[1, 4], cf[1, 5], cf[1, 6], cf[1, 7]
    res0 = 0.0
    res1 = 0.0
    for j in range(out0.shape[0] // 2):
        k = 4 * j
        ur, ui, Ur, Ui = np.float64(x0[k]), np.float64(x0[k + 1]), np.float64(x0[k + 2]), np.float64(x0[k + 3])
        vr, vi, Vr, Vi = np.float64(x1[k]), np.float64(x1[k + 1]), np.float64(x1[k + 2]), np.float64(x1[k + 3])
        out0[2 * j] = pr * ur - pi_ * ui + qr * vr - qi * vi
        out0[2 * j + 1] = pr * ui + pi_ * ur + qr * vi + qi * vr
        out1[2 * j] = Pr * Ur - Pi * Ui + Qr * Vr - Qi * Vi
        out1[2 * j + 1] = Pr * Ui + Pi * Ur + Qr * Vi + Qi * Vr
        zr = sr * ur - si * ui + tr * vr - ti * vi
        zi = sr * ui + si * ur + tr * vi + ti * vr
        Zr = Sr * Ur - Si * Ui + Tr * Vr - Ti * Vi
        Zi = Sr * Ui + Si * Ur + Tr * Vi + Ti * Vr
        res0 += zr * zr + zi * zi
        res1 += Zr * Zr + Zi * Zi
    return res0 + res1


@_jit
def _level_c(f, fo, fA, fT, w, wo, wA, wT, nA, T, c, colrev, balanced, U, tail, a_base, kappa, g, eps, ga, gb, cf):
    """:func:`_level` on a complex node given as the float view ``f`` (offsets in complex entries, output ``w``
    a float view too): the Gram matrices of both blocks ``π`` of a pair of rows in one contiguous read of the
    two rows, then both projections. ``ga`` (``(2, 2)`` float), ``gb`` (2 complex), ``cf`` (``(2, 8)`` float):
    scratch. Returns (energy, dropped energy, finite)."""
    half = T // 2
    cr = c // 2
    slack = 4.0 * eps * (cr + 2)
    energy = 0.0
    resid = 0.0
    for al in range(nA):
        for t in range(half):
            o0 = fo + al * fA + t * fT
            o1 = o0 + half * fT
            x0 = f[2 * o0 : 2 * (o0 + c)]
            x1 = f[2 * o1 : 2 * (o1 + c)]
            if colrev:  # block π: the complex entries π, π + 2, … (lanes 2π, 2π + 1)
                A_, C_, R_, I_ = _gram_lanes(x0, x1)
                ga[0, 0], ga[0, 1], gb[0] = A_[0] + A_[1], C_[0] + C_[1], complex(R_[0] + R_[1], I_[1] - I_[0])
                ga[1, 0], ga[1, 1], gb[1] = A_[2] + A_[3], C_[2] + C_[3], complex(R_[2] + R_[3], I_[3] - I_[2])
            else:  # block π: the complex entries π·cr … (π + 1)·cr − 1
                for pi in range(2):
                    h0, h1 = 2 * pi * cr, 2 * (pi + 1) * cr
                    A_, C_, R_, I_ = _gram_lanes(x0[h0:h1], x1[h0:h1])
                    ga[pi, 0] = A_[0] + A_[1] + A_[2] + A_[3]
                    ga[pi, 1] = C_[0] + C_[1] + C_[2] + C_[3]
                    gb[pi] = complex(R_[0] + R_[1] + R_[2] + R_[3], I_[1] - I_[0] + I_[3] - I_[2])
            for pi in range(2):
                a, cc, b = ga[pi, 0], ga[pi, 1], gb[pi]
                tr = a + cc
                th, h, x, y, nrm = _top2(a, cc, b)
                if not (math.isfinite(tr) and math.isfinite(h)):
                    return energy, resid, False
                energy += tr
                ia, ik = a_base + al, kappa + t * g
                tail[ia, 0, pi, ik] = max(th - h - slack * tr, 0.0)
                if nrm == 0.0:
                    x, y, nrm = 1.0 + 0.0 * x, 0.0 * y, 1.0
                x, y = x / nrm, y / nrm
                z0, z1 = -y, x  # the unit vector orthogonal to (x, y), conjugated
                s = math.sqrt(math.sqrt(th + h)) if balanced else 1.0
                inv = 1.0 / s if s > 0 else 0.0
                _put(U, (ia, 0, pi, ik, 0, 0), x * s)  # (U is complex; _put lets the unused real variant compile)
                _put(U, (ia, 0, pi, ik, 1, 0), y * s)
                xc, yc = np.conj(x) * inv, np.conj(y) * inv
                cf[pi, 0], cf[pi, 1], cf[pi, 2], cf[pi, 3] = xc.real, xc.imag, yc.real, yc.imag
                cf[pi, 4], cf[pi, 5], cf[pi, 6], cf[pi, 7] = z0.real, z0.imag, z1.real, z1.imag
            ow0 = wo + 2 * al * wA + t * wT
            ow1 = ow0 + wA
            if colrev:
                resid += _project_pairs(x0, x1, w[2 * ow0 : 2 * (ow0 + cr)], w[2 * ow1 : 2 * (ow1 + cr)], cf)
            else:
                resid += _project_lanes(x0[: 2 * cr], x1[: 2 * cr], w[2 * ow0 : 2 * (ow0 + cr)], cf[0])
                resid += _project_lanes(x0[2 * cr :], x1[2 * cr :], w[2 * ow1 : 2 * (ow1 + cr)], cf[1])
    return energy, resid, True


@_jit
def _level(f, fo, fA, fT, w, wo, wA, wT, nA, T, c, colrev, balanced, U, tail, a_base, kappa, g):
    """One level of the fused left-to-right tree on one group of rows, all in cache.

    Row ``t`` of diagonal block ``a_base + αl`` (``αl < nA``, ``t < T``) of the node is the ``c`` entries of the
    flat array ``f`` at offset ``fo + αl·fA + t·fT`` (node row ``κ + t·g``). Block ``(αl, π, t)`` pairs rows ``t``
    and ``t + T/2`` on the columns of half ``π`` (bit-reversed storage: every other column); its projection is
    written to row ``(2αl + π, t)`` of the flat output ``w`` (offset ``wo + (2αl + π)·wA + t·wT``), ``U`` /
    ``tail`` at block ``(a_base + αl, 0, π, κ + t·g)``. Returns (energy, dropped energy, finite): the dropped
    energy ``Σ ‖B − u uᴴ B‖²`` read directly on the blocks (not as a difference of energies)."""
    half = T // 2
    cr = c // 2
    slack = 4.0 * np.finfo(f.dtype).eps * (cr + 2)
    cs = 2 if colrev else 1
    energy = 0.0
    resid = 0.0
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
                    return energy, resid, False
                energy += tr
                ia, ik = a_base + al, kappa + t * g
                tail[ia, 0, pi, ik] = max(th - h - slack * tr, 0.0)
                if nrm == 0.0:
                    x, y, nrm = 1.0 + 0.0 * x, 0.0 * y, 1.0
                if balanced:  # (the dropped energy is only used for the orthonormalized tree)
                    s = math.sqrt(math.sqrt(th + h))
                    U[ia, 0, pi, ik, 0, 0] = x * (s / nrm)
                    U[ia, 0, pi, ik, 1, 0] = y * (s / nrm)
                    if s > 0 and nrm * s > 0:
                        nrm = nrm * s
                        x, y = x / nrm, y / nrm
                    elif s > 0:  # nrm · s underflows (a block of an A around 1e-130): one division at a time
                        x, y = (x / nrm) / s, (y / nrm) / s
                    else:
                        x, y = 0.0 * x, 0.0 * y
                else:
                    x, y = x / nrm, y / nrm
                    U[ia, 0, pi, ik, 0, 0] = x
                    U[ia, 0, pi, ik, 1, 0] = y
                resid += _project_rows2(f, o0, o1, cs, cr, np.conj(x), np.conj(y), w,
                                        wo + (2 * al + pi) * wA + t * wT)
    return energy, resid, True


@_jit
def fused_levels(node, a, b, c, k, colrev, balanced, out, Us, tails, cplx, eps, q0, q1, egrp, rgrp):
    """``k`` levels of the left-to-right tree in one pass over the node (blocks of two rows and rank one,
    ``p = 2`` at every level). ``node``: the flat node ``(a, b, c)``; its rows are taken in groups
    ``{κ + t·g}`` (``g = b/2^k``, ``t < 2^k``), whose ``k`` levels need nothing outside the group, so the
    intermediate nodes live in small scratch arrays and only the node after level ``k`` is written (``out``, flat
    ``(a·2^k, g, c/2^k)``). ``Us[j]`` / ``tails[j]``: the left blocks and discarded energies of level ``j``.
    ``cplx``: ``node`` and ``out`` are float views of complex nodes (:func:`_level_c`; ``eps`` the machine
    epsilon of the storage). Runs the groups ``q0 ≤ q < q1`` (``q = a0·g + κ``; disjoint ranges may run in
    parallel threads: every group writes its own outputs) and stores each group's energy of the first level and
    dropped energy of all ``k`` levels in ``egrp[q]``, ``rgrp[q]`` (summed by the caller in a fixed order, so
    the sums do not depend on how the groups were shared). Returns False when a Gram matrix is not finite."""
    K = 1 << k
    g = b >> k
    ck = c >> k
    w = 2 if cplx else 1  # floats per entry
    s0 = np.empty((K // 2) * c * w, dtype=out.dtype)  # level j >= 1 reads one scratch node and writes the other
    s1 = np.empty(max(K // 4, 1) * c * w, dtype=out.dtype)
    ga, gb, cf = np.empty((2, 2)), np.empty(2, dtype=np.complex128), np.empty((2, 8))
    for q in range(q0, q1):
        a0, kappa = q // g, q % g
        energy = 0.0
        resid = 0.0
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
            if cplx:
                e, r, ok = _level_c(src, fo, fA, fT, dst, wo, wA, wT, nA, T, cj, colrev, balanced, Us[j],
                                    tails[j], a0 << j, kappa, g, eps, ga, gb, cf)
            else:
                e, r, ok = _level(src, fo, fA, fT, dst, wo, wA, wT, nA, T, cj, colrev, balanced, Us[j],
                                  tails[j], a0 << j, kappa, g)
            if not ok:
                return False
            resid += r
            if j == 0:
                energy += e
        egrp[q] = energy
        rgrp[q] = resid
    return True
