"""The generalized LU obstruction: a two-component curve through a 2×2 minor of one rank-one support.

If component k has rows i ≠ i′ in I_k and columns j ≠ j′ in J_k, and entry (i, j) is also reached by
another component l, then ``A* = e_{ij′} + e_{i′j}`` is the limit of the curve
``x_k = e_i + ε e_{i′}``, ``y_k = e_{j′} + ε⁻¹ e_j``, ``x_l = −ε⁻¹ e_i``, ``y_l = e_j``
(product ``A* + ε e_{i′j′}``). When the three entries (i, j′), (i′, j′), (i′, j) are reached by k only,
``A* ∉ P`` (a rank-one product cannot be 1, 0, 1 on three corners of a 2×2 minor); otherwise the limit
lies in P (see :func:`lu_obstruction`). Its block form (a class of s identical components, s×s identity
blocks) is :func:`find_private_block_minor`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np

from ..classify import Classification
from ..memory import count_product
from ..support import SupportPattern
from .budget import BASE
from .certificates import LimitMatrix, NotClosedCertificate

__all__ = ["private_obstruction_candidates", "private_obstruction_candidates_reference", "find_private_minor",
           "lu_obstruction", "find_private_block_minor", "block_minor_certificate"]


def private_obstruction_candidates(pattern: SupportPattern) -> np.ndarray:
    """Boolean array (r, m, n): ``[k, i, j]`` is True when the private-minor obstruction fires at
    component k with the shared corner (i, j).

    Examples
    --------
    >>> from wellposed.families import family
    >>> np.argwhere(private_obstruction_candidates(family("lu:2"))).tolist()
    [[0, 1, 1]]

    Notes
    -----
    With ``P_k`` the entries reached by k only and ``O_k`` the entries of ``S_k`` reached by another
    component too, the shared corner (i, j) works iff ``O_k[i, j]`` and ``(P_k P_kᵀ P_k)[i, j] > 0``:
    one batched product, ``O(r m n (m + n))``. The plain-loop oracle is
    :func:`private_obstruction_candidates_reference`.
    """
    x = pattern.x_support.astype(np.int64)
    y = pattern.y_support.astype(np.int64)
    cover = x @ y.T  # (m, n)
    s = (x.T[:, :, None] * y.T[:, None, :]).astype(bool)  # (r, m, n)
    priv = (s & (cover == 1)[None]).astype(np.int64)
    other = s & (cover >= 2)[None]
    w = priv @ np.swapaxes(priv, 1, 2) @ priv
    return other & (w > 0)


def private_obstruction_candidates_reference(pattern: SupportPattern) -> np.ndarray:
    """Plain-loop oracle for :func:`private_obstruction_candidates`."""
    m, n, r = pattern.shape
    x, y = pattern.x_support, pattern.y_support
    out = np.zeros((r, m, n), dtype=bool)
    cover = [[sum(int(x[i, k] and y[j, k]) for k in range(r)) for j in range(n)] for i in range(m)]
    for k in range(r):
        def priv(i: int, j: int, k: int = k) -> bool:
            return bool(x[i, k] and y[j, k] and cover[i][j] == 1)
        for i in range(m):
            for j in range(n):
                if not (x[i, k] and y[j, k] and cover[i][j] >= 2):
                    continue
                out[k, i, j] = any(priv(i, j2) and priv(i2, j2) and priv(i2, j)
                                   for i2 in range(m) for j2 in range(n))
    return out


def _certificate(pattern: SupportPattern, k: int, l: int, i: int, i2: int, j: int, j2: int,
                 proof: dict[str, object]) -> NotClosedCertificate:
    one = Fraction(1)
    limit = LimitMatrix((pattern.m, pattern.n), {(i, j2): one, (i2, j): one})
    x = {(i, k): ((0, one),), (i2, k): ((1, one),), (i, l): ((-1, -one),)}
    y = {(j2, k): ((0, one),), (j, k): ((-1, one),), (j, l): ((0, one),)}
    return NotClosedCertificate(pattern, limit, x, y, proof, "lu-obstruction")


def _with_private_entries(pattern: SupportPattern, cover: np.ndarray, at_least: int) -> list[int]:
    """Components owning at least ``at_least`` private entries (reached by them only), in order.

    Counted without visiting the supports: with P the private entries, component k owns
    ``Σ_i x_ik (P Y)_ik`` of them, a sparse product of cost ``Σ_{(i, j) ∈ P} |row j of Y|``.
    """
    from scipy import sparse

    priv = sparse.csr_matrix(cover == 1, dtype=np.int32)
    if priv.nnz < at_least:
        return []
    owned = (priv @ sparse.csr_matrix(pattern.y_support, dtype=np.int32)).multiply(pattern.x_support)
    counts = np.asarray(owned.sum(axis=0)).ravel()
    return [int(k) for k in np.flatnonzero(counts >= at_least)]


def _component_blocks(pattern: SupportPattern, cover: np.ndarray, at_least: int,
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(k, rows, cols, block, private)`` for each component k owning at least ``at_least`` private entries and
    spanning two rows and two columns: its support ``rows × cols``, the coverage counts there and their
    private entries (count 1), in component order."""
    x, y = pattern.x_support, pattern.y_support
    for k in _with_private_entries(pattern, cover, at_least):
        rows, cols = np.flatnonzero(x[:, k]), np.flatnonzero(y[:, k])
        if rows.size < 2 or cols.size < 2:
            continue
        block = cover[np.ix_(rows, cols)]
        private: np.ndarray = block == 1
        yield k, rows, cols, block, private


def find_private_minor(pattern: SupportPattern, cover: np.ndarray | None = None,
                       ) -> tuple[int, int, int, int, int, int] | None:
    """The first private-minor obstruction ``(k, l, i, i′, j, j′)``, or None.

    Component k has the shared corner (i, j) (also reached by component l, the first other one) and the
    private entries (i, j′), (i′, j′), (i′, j). "First" is the order of
    :func:`private_obstruction_candidates`: smallest k, then (i, j), then i′, then j′.

    Examples
    --------
    >>> from wellposed.families import family
    >>> find_private_minor(family("lu:3"))
    (0, 1, 1, 0, 1, 0)

    Notes
    -----
    Works component by component on its own block ``I_k × J_k`` of the coverage counts: a product
    ``P Pᵀ P`` of the block's private entries, ``O(|I_k|² |J_k|)``, skipped when no row of the block holds
    two private entries; only components owning at least three private entries are visited (counted
    first by one sparse product, so patterns with few private entries cost almost nothing).
    """
    x, y = pattern.x_support, pattern.y_support
    cover = pattern.coverage() if cover is None else cover
    for k, rows, cols, block, priv in _component_blocks(pattern, cover, 3):
        if not (priv.sum(axis=1) >= 2).any() or not (block >= 2).any():
            continue
        w = count_product(count_product(priv, priv.T), priv)
        cand = (block >= 2) & (w > 0)
        if not cand.any():
            continue
        a, b = (int(t) for t in np.argwhere(cand)[0])
        for a2 in np.flatnonzero(priv[:, b]):
            both = np.flatnonzero(priv[a] & priv[int(a2)])
            if both.size:
                i, j = int(rows[a]), int(cols[b])
                l = next(c for c in np.flatnonzero(x[i] & y[j]).tolist() if c != k)
                return k, int(l), i, int(rows[int(a2)]), j, int(cols[int(both[0])])
    return None


def find_private_block_minor(pattern: SupportPattern, classification: Classification, cover: np.ndarray | None = None,
                             max_candidates: int = BASE["block_candidates"],
                             ) -> tuple[tuple[int, ...], tuple[int, ...], list[int], list[int], list[int],
                                        list[int]] | None:
    """A private block minor ``(K, L, A1, A2, B1, B2)``, or None: the s×s generalization of the private minor.

    ``K`` are the s components of one class (identical supports R × C, s ≥ 2), ``L`` s components of
    another class covering ``A1 × B1``; ``A1, A2 ⊆ R`` and ``B1, B2 ⊆ C`` have s indices each and the
    blocks ``A1 × B2``, ``A2 × B2``, ``A2 × B1`` are reached by the components of K only. Then
    ``A* = [A1×B2: I_s, A2×B1: I_s]`` is a limit (curve in :func:`block_minor_certificate`) outside P.

    Examples
    --------
    >>> from wellposed.classify import classify
    >>> lu2 = SupportPattern(["10", "11"], ["10", "11"])
    >>> blown = SupportPattern(np.kron(lu2.x_support, np.ones((2, 2), bool)),
    ...                        np.kron(lu2.y_support, np.ones((2, 2), bool)))  # LU with 2×2 blocks
    >>> find_private_block_minor(blown, classify(blown))
    ((0, 1), (2, 3), [2, 3], [0, 1], [2, 3], [0, 1])

    Notes
    -----
    For each class K (s ≥ 2) and each overlapping class L with at least s components, rows of R are
    grouped by their private columns; a group of s rows whose private columns include s columns shared
    with L (B1) serves as A2, and s rows of ``R ∩ R_L`` whose private columns include s columns of that
    group (B2) as A1. Rows are matched by identical private patterns (twins, as in block-structured
    masks). At most ``max_candidates`` (class, class, row group) triples are examined: a count, so the
    answer is the same on every machine.
    """
    t = classification.classes
    sizes = t.sizes
    if not (sizes >= 2).any() or len(classification.overlaps) == 0:
        return None
    cover = pattern.coverage() if cover is None else cover
    ov = classification.overlaps
    partners: dict[int, list[int]] = {}
    for a, b in zip(ov.a.tolist(), ov.b.tolist(), strict=True):
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    tried = 0
    for c in np.flatnonzero(sizes >= 2).tolist():
        s = int(sizes[c])
        rows, cols = t.rows_of(c), t.cols_of(c)
        if rows.size < 2 * s or cols.size < 2 * s:
            continue
        priv = cover[np.ix_(rows, cols)] == s
        if int(priv.sum()) < 3 * s * s:
            continue
        groups = _twin_groups(priv, s)
        for d in sorted(partners.get(c, [])):
            if sizes[d] < s:
                continue
            in_rd = np.isin(rows, t.rows_of(d))
            in_cd = np.isin(cols, t.cols_of(d))
            for members, pattern_cols in groups:
                tried += 1
                if tried > max_candidates:
                    return None
                b1 = np.flatnonzero(pattern_cols & in_cd)
                if b1.size < s:
                    continue
                w = pattern_cols & ~in_cd
                # A1: s twin rows of R ∩ R_d whose private columns share s columns with the group's
                sub = priv[:, w] & in_rd[:, None]
                for a1_members, common in _twin_groups(sub, s):
                    if np.intersect1d(a1_members, members).size:
                        continue
                    b2 = np.flatnonzero(w)[np.flatnonzero(common)[:s]]
                    return (tuple(t.members_of(c)[:s].tolist()), tuple(t.members_of(d)[:s].tolist()),
                            rows[a1_members[:s]].tolist(), rows[members[:s]].tolist(), cols[b1[:s]].tolist(),
                            cols[b2].tolist())
    return None


def _twin_groups(mask: np.ndarray, s: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of at least ``s`` identical rows of ``mask`` with at least ``s`` true columns:
    ``(row indices, the common row)``, in the order of their first row."""
    live = np.flatnonzero(mask.sum(axis=1) >= s)
    if live.size < s:
        return []
    packed = np.ascontiguousarray(np.packbits(mask[live], axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    inverse = np.ravel(inverse)
    out = []
    for u in np.argsort(first, kind="stable").tolist():
        if counts[u] >= s:
            out.append((live[inverse == u], mask[live[first[u]]]))
    return out


def block_minor_certificate(pattern: SupportPattern, k_comps: Sequence[int], l_comps: Sequence[int],
                            a1: Sequence[int], a2: Sequence[int], b1: Sequence[int],
                            b2: Sequence[int]) -> NotClosedCertificate:
    """The certificate of a private block minor (see :func:`find_private_block_minor`).

    Curve, for t = 1…s: ``x_{k_t} = e_{A1_t} + ε e_{A2_t}``, ``y_{k_t} = e_{B2_t} + ε⁻¹ e_{B1_t}``,
    ``x_{l_t} = −ε⁻¹ e_{A1_t}``, ``y_{l_t} = e_{B1_t}``; the product is ``A* + ε Σ_t e_{A2_t B2_t}`` with
    ``A* = Σ_t e_{A1_t B2_t} + e_{A2_t B1_t}``.
    """
    one = Fraction(1)
    limit: dict[tuple[int, int], Fraction] = {}
    x: dict[tuple[int, int], tuple[tuple[int, Fraction], ...]] = {}
    y: dict[tuple[int, int], tuple[tuple[int, Fraction], ...]] = {}
    for k, l, i, i2, j, j2 in zip(k_comps, l_comps, a1, a2, b1, b2, strict=True):
        limit[i, j2] = one
        limit[i2, j] = one
        x[i, k], x[i2, k], x[i, l] = ((0, one),), ((1, one),), ((-1, -one),)
        y[j2, k], y[j, k], y[j, l] = ((0, one),), ((-1, one),), ((0, one),)
    proof = {"kind": "private-block-minor", "components": [int(k) for k in k_comps],
             "rows": [list(map(int, a1)), list(map(int, a2))], "cols": [list(map(int, b1)), list(map(int, b2))]}
    return NotClosedCertificate(pattern, LimitMatrix((pattern.m, pattern.n), limit), x, y, proof, "block-minor")


def lu_obstruction(pattern: SupportPattern, *, cover: np.ndarray | None = None) -> NotClosedCertificate | None:
    """The private-minor certificate of ``pattern`` (Lemma D in docs/closedness.md), or None.

    Found by :func:`find_private_minor`, without any solver; ``cover`` (the coverage counts) may be
    passed in when already computed.

    Examples
    --------
    >>> from wellposed.families import family
    >>> cert = lu_obstruction(family("lu:4"))
    >>> cert.proof["kind"], cert.verify()["curve"]
    ('private-minor', 'ok')
    >>> lu_obstruction(family("full:3,3,2")) is None
    True

    Notes
    -----
    The same curve through any other 2×2 minor with a shared corner reaches a limit inside P: if the
    entries (i, j′) and (i′, j) are private to k but (i′, j′) is not, components l ∋ (i, j) and
    l′ ∋ (i′, j′) are distinct (one component reaching both would reach (i, j′)), and
    ``x_k = e_i + e_{i′}``, ``y_k = e_{j′} + e_j``, ``x_l = −e_i``, ``y_l = e_j``, ``x_{l′} = −e_{i′}``,
    ``y_{l′} = e_{j′}`` factor ``e_{ij′} + e_{i′j}``. So no solver query can add a certificate here.
    """
    found = find_private_minor(pattern, pattern.coverage() if cover is None else cover)
    if found is None:
        return None
    k, l, i, i2, j, j2 = found
    proof = {"kind": "private-minor", "component": k, "rows": [i, i2], "cols": [j, j2]}
    return _certificate(pattern, k, l, i, i2, j, j2, proof)
