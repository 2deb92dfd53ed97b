"""The trees over split points of a chain: orders, and the plain and orthonormalized hierarchical recursions."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from wellposed.solvers.butterfly import compiled as _compiled
from wellposed.solvers.butterfly.blocks import PairBlocks, bit_reversal, chain_product, l2r_pair
from wellposed.solvers.butterfly.truncated_svd import _herm, _NonFinite, _Run, _split_fused, _truncate

from wellposed.kronecker import KSPattern, product_pattern

__all__ = ["ORDERS"]

ORDERS = ("auto", "balanced", "left-to-right", "right-to-left")
Order = Literal["auto", "balanced", "left-to-right", "right-to-left"]


def _split_costs(pats: tuple[KSPattern, ...], order: Order) -> float:
    """Gram cost ``Σ n_blocks · b · c · min(b, c)`` of the splits a peeling tree meets (its work model)."""
    total = 0.0
    n = len(pats)
    for i in range(n - 1):
        s = 1 if order == "left-to-right" else n - 1 - i
        lo, hi = (i, n) if order == "left-to-right" else (0, n - i)
        sub = pats[lo:hi]
        pr = PairBlocks.of(product_pattern(sub[:s]), product_pattern(sub[s:]))
        nb = pr.al * pr.dr * pr.p * pr.q
        total += nb * pr.bl * pr.cr * min(pr.bl, pr.cr)
    return total


@lru_cache(maxsize=64)
def _auto_order(pats: tuple[KSPattern, ...]) -> Order:
    """The tree ``order='auto'`` runs: the cheaper peeling order by :func:`_split_costs`, left-to-right on ties
    (its root blocks are read along whole rows, and it has the fused kernel)."""
    if len(pats) <= 2:
        return "left-to-right"
    l2r, r2l = _split_costs(pats, "left-to-right"), _split_costs(pats, "right-to-left")
    return "left-to-right" if l2r <= r2l * 1.0000001 else "right-to-left"


@lru_cache(maxsize=64)
def _fused_ok(pats: tuple[KSPattern, ...]) -> bool:
    """Every split of the left-to-right tree has blocks with no more rows than columns (the fused kernel)."""
    for i in range(len(pats) - 1):
        pr = PairBlocks.of(pats[i], product_pattern(pats[i + 1 :]))
        if pr.bl > pr.cr:
            return False
    return True


def _factor_l2r_fused(
    pats: tuple[KSPattern, ...], D: np.ndarray, run: _Run, ortho: bool, colrev: bool, compiled: bool = False,
    threads: int = 1,
) -> list[np.ndarray]:
    """Left-to-right tree with the fused split kernel (:func:`_split_fused`), plain or orthonormalized.

    Peeling off the leftmost factor, the orthonormalized variant keeps the orthonormal side on that factor,
    so no QR sweep is needed and each node is exactly the projection of ``A``; both variants record the root
    split error, the orthonormalized one every split. ``colrev``: ``D`` holds ``A`` itself while the
    factorization is of ``A[:, bitrev]`` (product pattern ``(1, m, n, 1)``): every node keeps its columns in
    bit-reversed order inside each diagonal block, the splits read the blocks with the permutation folded
    into the reshape (:meth:`PairBlocks.product_blocks_bitrev`) and only the small factors are reordered.
    ``compiled``: the splits of blocks with few rows run the numba kernel (:mod:`.compiled`), its grouped
    levels on up to ``threads`` threads.
    """
    datas: list[np.ndarray] = []
    node = D
    i = 0
    dropped: float | None = 0.0 if ortho else None  # stays a number while every split reads its dropped energy
    while i < len(pats) - 1:  # one fused pass per level (or per group of levels); the node halves (dyadic)
        k = _compiled.fusable_levels(pats[i:], node) if compiled else 0
        if k:
            node, Us, tails, energy, drop = _compiled.fused_levels(pats[i:], node, k, colrev, not ortho, threads)
            if energy is None:
                raise _NonFinite
            if dropped is not None:
                dropped += drop
            if i == 0:
                run.energy = energy
            for j in range(k):
                if ortho or i + j == 0:
                    run.tails[i + j] = float(tails[j].sum())
                datas.append(l2r_pair(pats, i + j).left_from_blocks(Us[j]))
                run.step()
            i += k
            continue
        dropped = None
        Pr = product_pattern(pats[i + 1 :])
        pr = l2r_pair(pats, i)
        out = np.empty(Pr.abcd, dtype=node.dtype)
        if colrev:
            B, pi_perm = pr.product_blocks_bitrev(node), bit_reversal(pr.p)
        else:
            B, pi_perm = pr.product_blocks(node), None
        U, tail = _split_fused(
            B, pr.r, "left" if ortho else "balanced", pr.right_blocks(out), run if i == 0 else None, pi_perm,
            compiled,
        )
        if ortho or i == 0:
            run.tails[i] = float(tail.sum())
        datas.append(pr.left_from_blocks(U))
        del B, U
        node = out
        run.step()
        i += 1
    if colrev:
        node = np.ascontiguousarray(node[:, :, bit_reversal(node.shape[2]), :])
    datas.append(node)
    run.dropped = dropped
    return datas


def _split_point(n: int, order: Order) -> int:  # order resolved ('auto' never reaches here)
    if order == "left-to-right":
        return 1
    if order == "right-to-left":
        return n - 1
    return n // 2


def _factor_plain(
    pats: tuple[KSPattern, ...], D: np.ndarray, offset: int, order: Order, run: _Run, root: bool
) -> list[np.ndarray]:
    """Plain hierarchical factorization: split, balanced truncation, recursion on both sides; only the root
    split error is recorded (it is a lower bound of the optimum only there)."""
    if len(pats) == 1:
        return [D]
    s = _split_point(len(pats), order)
    Pl, Pr = product_pattern(pats[:s]), product_pattern(pats[s:])
    pr = PairBlocks.of(Pl, Pr)
    U, W, tail = _truncate(pr.product_blocks(D), pr.r, "balanced", run)
    if root:
        run.tails[offset + s - 1] = float(tail.sum())
    X, Y = pr.left_from_blocks(U), pr.right_from_blocks(W)
    del U, W
    left = _factor_plain(pats[:s], X, offset, order, run, False)
    right = _factor_plain(pats[s:], Y, offset + s, order, run, False)
    return left + right


def _orthonormalize_left(pats: tuple[KSPattern, ...], datas: list[np.ndarray], next_a: int) -> list[np.ndarray]:
    """QR sweep from the left: every factor gets orthonormal columns in each block with respect to its
    right neighbour (the last one with respect to a neighbour starting with ``a = next_a``); the triangular
    parts are pushed to the right and the last one dropped. The product of the result is a block isometry."""
    out = list(datas)
    for i in range(len(pats)):
        nxt = pats[i + 1] if i + 1 < len(pats) else None
        a_next = nxt.a if nxt is not None else next_a
        P = pats[i]
        p = a_next // P.a
        r = P.c // p
        # Left blocks with respect to any right neighbour starting with a_next: (a, d, p, b, r); q = 1, d_r = d.
        U = out[i].reshape(P.a, P.b, p, r, P.d).transpose(0, 4, 2, 1, 3)
        Q, R = np.linalg.qr(U)
        if Q.shape[-1] < r:
            Q = np.concatenate([Q, np.zeros((*Q.shape[:-1], r - Q.shape[-1]), dtype=Q.dtype)], axis=-1)
            R = np.concatenate([R, np.zeros((*R.shape[:-2], r - R.shape[-2], r), dtype=R.dtype)], axis=-2)
        out[i] = np.ascontiguousarray(Q.transpose(0, 3, 2, 4, 1)).reshape(P.abcd)
        if nxt is not None:
            pr = PairBlocks.of(P, nxt)
            W = pr.right_blocks(out[i + 1])  # (a, d_next, p, q, r, c_next)
            Rq = R.reshape(pr.al, pr.q, pr.dr, pr.p, r, r).transpose(0, 2, 3, 1, 4, 5)
            out[i + 1] = pr.right_from_blocks(Rq @ W)
    return out


def _factor_ortho(
    pats: tuple[KSPattern, ...], D: np.ndarray, offset: int, order: Order, run: _Run
) -> list[np.ndarray]:
    """Orthonormalized hierarchical factorization. Invariant: ``D`` is the orthogonal projection of ``A`` on
    the set ``{Lctx @ Z @ Rctx}`` for block isometries ``Lctx``, ``Rctx``; then every recorded split error
    is at most the optimal two-factor error of ``A`` at that split point."""
    if len(pats) == 1:
        return [D]
    s = _split_point(len(pats), order)
    Pl, Pr = product_pattern(pats[:s]), product_pattern(pats[s:])
    pr = PairBlocks.of(Pl, Pr)
    B = pr.product_blocks(D)
    if s == 1:
        U, W, tail = _truncate(B, pr.r, "left", run)
        run.tails[offset] = float(tail.sum())
        del B
        return [pr.left_from_blocks(U)] + _factor_ortho(pats[1:], pr.right_from_blocks(W), offset + 1, order, run)
    U, W, tail = _truncate(B, pr.r, "right", run)
    run.tails[offset + s - 1] = float(tail.sum())
    if s == len(pats) - 1:
        del B
        left = _factor_ortho(pats[:s], pr.left_from_blocks(U), offset, order, run)
        return left + [pr.right_from_blocks(W)]
    left = _factor_ortho(pats[:s], pr.left_from_blocks(U), offset, order, run)
    del U, W
    left = _orthonormalize_left(pats[:s], left, Pr.a)
    _, QL = chain_product(pats[:s], left)
    target = pr.right_from_blocks(_herm(pr.left_blocks(QL)) @ B)
    del B, QL
    return left + _factor_ortho(pats[s:], target, offset + s, order, run)

