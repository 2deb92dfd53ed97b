"""Which rank-one supports meet: the overlapping pairs of a family of rectangles, and full bicliques.

A rank-one support is a rectangle ``R × C`` given by a column of a row mask and of a column mask. Two
rectangles meet iff they share a row and a column, so the pairs that meet are the common nonzeros of the
Gram products ``IᵀI`` and ``JᵀJ``: sparse products (work ``Σ_i deg(i)²``) or float32 BLAS, whichever is
cheaper. Used by :func:`wellposed.classify.classify` (on the classes of a pattern) and by the absorption
rule of :mod:`wellposed.closedness.theorems` (on absorbed blocks).
"""

from __future__ import annotations

import numpy as np

from .memory import check_memory, count_product

__all__ = ["meeting_pairs", "biclique_components"]

#: Above this many distinct classes the Gram products are always sparse.
_DENSE_GRAM_MAX = 8192
#: Dense float32 BLAS Gram products are used when their multiply-adds are at most this many times the sparse
#: work (measured: BLAS does a few hundred multiply-adds in the time scipy's sparse product does one).
_DENSE_GRAM_SPEEDUP = 200


def _gram(mask: np.ndarray) -> np.ndarray:
    """``maskᵀ mask`` of a 0/1 mask by BLAS, in float32 when its counts (at most the number of rows) are exact
    there (< 2²⁴), else through :func:`count_product` (float64); memory checked first."""
    rows, c = mask.shape
    if rows >= 2**24:
        return count_product(mask.T, mask, "the Gram matrix of the classes")
    check_memory(4 * (rows * c + 2 * c * c), "the Gram matrix of the classes", f"a mask of shape {mask.shape}",
                 "Split the pattern into independent blocks")
    a = mask.astype(np.float32)
    return a.T @ a


def meeting_pairs(xr: np.ndarray, yr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``a < b`` of columns whose rank-one supports meet, with ``|I_a ∩ I_b|`` and ``|J_a ∩ J_b|``.

    ``xr`` (m×c) and ``yr`` (n×c) are boolean masks (columns: row sets and column sets of rank-one
    supports, e.g. the classes of a pattern or absorbed blocks). The Gram products
    ``IᵀI`` and ``JᵀJ`` are sparse (work ``Σ_i deg(i)²``, the number of pairs of columns sharing a row)
    unless dense BLAS products are cheaper; only pairs that meet in both are returned.
    """
    c = xr.shape[1]
    empty = np.zeros(0, dtype=np.int64)
    if c < 2:
        return empty, empty, empty, empty
    deg_x, deg_y = xr.sum(axis=1, dtype=np.int64), yr.sum(axis=1, dtype=np.int64)
    sparse_work = int(deg_x @ deg_x + deg_y @ deg_y)
    dense_work = c * c * (xr.shape[0] + yr.shape[0])
    if dense_work <= _DENSE_GRAM_SPEEDUP * sparse_work and c <= _DENSE_GRAM_MAX:
        gi, gj = _gram(xr), _gram(yr)
        a, b = np.nonzero(np.triu((gi > 0) & (gj > 0), k=1))
        return a.astype(np.int64), b.astype(np.int64), gi[a, b].astype(np.int64), gj[a, b].astype(np.int64)
    from scipy import sparse

    check_memory(24 * min(c * c, sparse_work), "the sparse Gram matrices of the classes",
                 f"masks with {c} distinct components", "Split the pattern into independent blocks")
    sx = sparse.csc_matrix(xr, dtype=np.int32)
    sy = sparse.csc_matrix(yr, dtype=np.int32)
    gi_s = sparse.triu(sx.T @ sx, k=1, format="csr")
    gj_s = sparse.triu(sy.T @ sy, k=1, format="csr")
    both = gi_s.multiply(gj_s > 0).tocoo()
    keep = both.data > 0
    a, b = both.row[keep].astype(np.int64), both.col[keep].astype(np.int64)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    si = np.asarray(both.data[keep][order], dtype=np.int64)
    sj = np.asarray(gj_s[a, b], dtype=np.int64).ravel() if a.size else empty
    return a, b, si, sj


def biclique_components(block: np.ndarray) -> list[tuple[list[int], list[int]]] | None:
    """The full bicliques of the bipartite graph of ``block`` (those with an edge), or None if some
    connected component is not a full biclique.

    Holds iff any two nonzero rows are equal or disjoint: the distinct nonzero rows (one sort of the
    packed rows) must cover every column at most once. ``O(|R| |C|)``.
    """
    nonzero = np.flatnonzero(block.any(axis=1))
    if nonzero.size == 0:
        return []
    packed = np.ascontiguousarray(np.packbits(block[nonzero], axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = block[nonzero[first]]
    if int(distinct.sum()) != int(distinct.any(axis=0).sum()):
        return None
    inverse = np.ravel(inverse)
    comps = []
    for u in np.argsort(first, kind="stable"):
        rows = nonzero[inverse == u]
        comps.append(([int(t) for t in rows], [int(t) for t in np.flatnonzero(distinct[u])]))
    return comps
