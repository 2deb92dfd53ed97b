"""Exact linear merges of adjacent factors: the reduced chain has the same linear set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..classify import Classification
from ..support import SupportPattern
from .masks import bool_product
from .pairs import _classified, pair_pattern

__all__ = ["ChainReduction", "reduce_chain", "trim_dead"]


@dataclass(frozen=True)
class _Node:
    """A factor of the reduced chain: an original layer, or the merge of two adjacent factors."""

    mask: np.ndarray
    layers: tuple[int, ...]  # 1-based original layers, first applied first
    later: _Node | None = None
    earlier: _Node | None = None
    kind: str = "complete"  # how the pair was merged: "complete" classes, "full-later" or "full-earlier"
    matching: tuple[tuple[int, int], ...] = ()  # full-*: the matching of the other factor's mask (row, col)


def _all_complete(later: np.ndarray, earlier: np.ndarray,
                  cache: dict[SupportPattern, Classification] | None = None) -> bool:
    """Is the product set of the pair linear by the complete-classes rule?"""
    p = pair_pattern(later, earlier)
    if p.is_trivial():
        return True
    return bool(_classified(p, cache).classes.complete.all())


def _matching(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """A maximum matching of the bipartite graph (rows, columns, allowed entries) as ``(row, col)`` pairs."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    if not mask.any():
        return ()
    col_of_row = maximum_bipartite_matching(csr_matrix(mask.astype(np.int8)), perm_type="column")
    return tuple((int(i), int(j)) for i, j in enumerate(col_of_row) if j >= 0)


def _rectangle(mask: np.ndarray) -> bool:
    """Is the mask a nonempty full rectangle ``R × Q`` (all ones on its nonzero rows and columns)?"""
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    return bool(mask.any()) and bool(np.array_equal(mask, np.outer(rows, cols)))


def _full_merge(later: np.ndarray, earlier: np.ndarray) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """The full-factor merge (docs/chains.md): ``M_later`` a full rectangle ``R × Q`` and a matching of
    ``M_earlier`` restricted to the rows ``Q`` covering its nonzero columns, or the mirror statement."""
    if _rectangle(later):
        live = earlier & np.asarray(later.any(axis=0))[:, None]
        match = _matching(live)
        if len(match) == int(live.any(axis=0).sum()):
            return "full-later", match
    if _rectangle(earlier):
        live = later & np.asarray(earlier.any(axis=1))[None, :]
        match = _matching(live)
        if len(match) == int(live.any(axis=1).sum()):
            return "full-earlier", match
    return None


def trim_dead(masks: Sequence[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Remove the entries that lie on no path of the chain (first layer first); returns the masks and how many
    entries were removed. ``P`` is unchanged: an entry ``W_ℓ[o, i]`` enters a product only through paths that
    also use an entry of ``W_{ℓ-1}`` with output ``i`` and one of ``W_{ℓ+1}`` with input ``o``.

    >>> trim_dead([np.ones((2, 2), bool), np.array([[1, 0], [0, 0]], bool)])[1]
    2
    """
    ms = [np.array(m, dtype=bool) for m in masks]
    before = sum(int(m.sum()) for m in ms)
    changed = True
    while changed:
        changed = False
        for ell in range(len(ms)):
            keep = ms[ell].copy()
            if ell > 0:  # input i of layer ℓ needs an entry of layer ℓ-1 with output i
                keep &= np.asarray(ms[ell - 1].any(axis=1))[None, :]
            if ell + 1 < len(ms):  # output o of layer ℓ needs an entry of layer ℓ+1 with input o
                keep &= np.asarray(ms[ell + 1].any(axis=0))[:, None]
            if not np.array_equal(keep, ms[ell]):
                ms[ell], changed = keep, True
    return ms, before - sum(int(m.sum()) for m in ms)


@dataclass(frozen=True)
class ChainReduction:
    """Result of exact linear merges: the remaining factors (as groups of original layers) and the steps."""

    groups: tuple[tuple[int, ...], ...]
    masks: tuple[np.ndarray, ...]
    steps: tuple[str, ...]
    nodes: tuple[_Node, ...] = field(repr=False, default=())

    @property
    def length(self) -> int:
        """Number of factors left."""
        return len(self.groups)


def reduce_chain(masks: Sequence[np.ndarray], *, full_factors: bool = True,
                 _cache: dict[SupportPattern, Classification] | None = None) -> ChainReduction:
    """Merge adjacent factors whose product set is a linear space, until none is left; same linear set.

    Parameters
    ----------
    masks : list of bool arrays
        First layer first, each ``out × in`` (validated by :func:`validate_masks`).

    full_factors : bool
        Also remove the entries on no path (:func:`trim_dead`) and apply the full-factor merge (a mask that
        is a full rectangle next to a mask with a matching covering its live nonzero columns, resp. rows;
        docs/chains.md).

    Returns
    -------
    ChainReduction
        ``groups[k]`` lists the original layers (1-based) merged into factor k; ``masks[k]`` its mask.

    Examples
    --------
    >>> up, eye = np.triu(np.ones((3, 3), bool)), np.eye(3, dtype=bool)
    >>> reduce_chain([eye, up, up.T, eye]).groups
    ((1, 2), (3, 4))

    Notes
    -----
    Rule: for the pair ``(W_b, W_a)`` with pattern ``x = M_b``, ``y = M_aᵀ``, if every class of identical
    rank-one supports is complete, ``{W_b W_a}`` is the sum of the full spaces on the class rectangles,
    i.e. every matrix supported on ``bool(M_b M_a)``. Full-factor rule: if ``W_b`` is all ones and ``M_a``
    has a matching covering its nonzero columns (or ``W_a`` all ones and ``M_b`` a matching covering its
    nonzero rows), the products are again every matrix on the boolean product. At most ``L - 1`` merges,
    each pass ``O(L)`` classifications: ``O(L²)`` Gram products in the worst case.
    """
    steps: list[str] = []
    if full_factors and len(masks) >= 3:  # two factors: the closedness engine drops empty components itself
        masks, removed = trim_dead(masks)
        if removed:
            steps.append(f"{removed} allowed entr{'y lies' if removed == 1 else 'ies lie'} on no path through the "
                         "chain (an inner index with no entry on one side): removed, P is unchanged")
    nodes = [_Node(np.asarray(m, dtype=bool), (ell + 1,)) for ell, m in enumerate(masks)]
    changed = True
    while changed and len(nodes) > 1:
        changed = False
        for k in range(len(nodes) - 1):
            a, b = nodes[k], nodes[k + 1]
            found = _merge(a, b, full_factors, _cache)
            if found is not None:
                merged, why = found
                steps.append(
                    f"layers {_span(a.layers)} and {_span(b.layers)}: {why}, so their products are exactly the "
                    f"matrices supported on the boolean product ({merged.mask.shape[0]}×{merged.mask.shape[1]}, "
                    f"{int(merged.mask.sum())} entries): merged into one free factor"
                )
                nodes[k:k + 2] = [merged]
                changed = True
                break
    return ChainReduction(tuple(n.layers for n in nodes), tuple(n.mask for n in nodes), tuple(steps),
                          tuple(nodes))


def _merge(a: _Node, b: _Node, full_factors: bool,
           cache: dict[SupportPattern, Classification] | None) -> tuple[_Node, str] | None:
    """The merged node of ``W_b W_a`` and the reason, when one of the exact merge rules applies."""
    if _all_complete(b.mask, a.mask, cache):
        return (_Node(bool_product([a.mask, b.mask]), a.layers + b.layers, later=b, earlier=a),
                "every class of identical rank-one supports of the pair is complete")
    full = _full_merge(b.mask, a.mask) if full_factors else None
    if full is None:
        return None
    kind, match = full
    which, other = (b, a) if kind == "full-later" else (a, b)
    return (_Node(bool_product([a.mask, b.mask]), a.layers + b.layers, later=b, earlier=a, kind=kind, matching=match),
            f"layer {_span(which.layers)} is a full (all-ones) factor and layer {_span(other.layers)} has a "
            f"matching of size {len(match)} covering its nonzero {'columns' if kind == 'full-later' else 'rows'}")


def _span(layers: tuple[int, ...]) -> str:
    return str(layers[0]) if len(layers) == 1 else f"{layers[0]}–{layers[-1]}"

