"""Exact linear merges of adjacent factors: the reduced chain has the same linear set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..classify import Classification
from ..support import SupportPattern
from .masks import bool_product
from .pairs import _classified, pair_pattern

__all__ = ["ChainReduction", "reduce_chain"]


@dataclass(frozen=True)
class _Node:
    """A factor of the reduced chain: an original layer, or the merge of two adjacent factors."""

    mask: np.ndarray
    layers: tuple[int, ...]  # 1-based original layers, first applied first
    later: _Node | None = None
    earlier: _Node | None = None


def _all_complete(later: np.ndarray, earlier: np.ndarray,
                  cache: dict[SupportPattern, Classification] | None = None) -> bool:
    """Is the product set of the pair linear by the complete-classes rule?"""
    p = pair_pattern(later, earlier)
    if p.is_trivial():
        return True
    return bool(_classified(p, cache).classes.complete.all())


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


def reduce_chain(masks: Sequence[np.ndarray], *,
                 _cache: dict[SupportPattern, Classification] | None = None) -> ChainReduction:
    """Merge adjacent factors whose product set is a linear space, until none is left; same linear set.

    Parameters
    ----------
    masks : list of bool arrays
        First layer first, each ``out × in`` (validated by :func:`validate_masks`).

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
    i.e. every matrix supported on ``bool(M_b M_a)``. At most ``L - 1`` merges, each pass ``O(L)``
    classifications: ``O(L²)`` Gram products in the worst case.
    """
    nodes = [_Node(np.asarray(m, dtype=bool), (ell + 1,)) for ell, m in enumerate(masks)]
    steps: list[str] = []
    changed = True
    while changed and len(nodes) > 1:
        changed = False
        for k in range(len(nodes) - 1):
            a, b = nodes[k], nodes[k + 1]
            if _all_complete(b.mask, a.mask, _cache):
                merged = _Node(bool_product([a.mask, b.mask]), a.layers + b.layers, later=b, earlier=a)
                steps.append(
                    f"layers {_span(a.layers)} and {_span(b.layers)}: every class of identical rank-one supports "
                    f"of the pair is complete, so their products are exactly the matrices supported on the "
                    f"boolean product ({merged.mask.shape[0]}×{merged.mask.shape[1]}, {int(merged.mask.sum())} "
                    "entries): merged into one free factor"
                )
                nodes[k:k + 2] = [merged]
                changed = True
                break
    return ChainReduction(tuple(n.layers for n in nodes), tuple(n.mask for n in nodes), tuple(steps),
                          tuple(nodes))


def _span(layers: tuple[int, ...]) -> str:
    return str(layers[0]) if len(layers) == 1 else f"{layers[0]}–{layers[-1]}"

