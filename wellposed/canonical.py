"""Canonical keys of support patterns: equal for patterns equivalent up to row and component permutations.

The key merges identical components (with their multiplicity), refines components and rows by colour
refinement, and takes the lexicographic minimum of the row-sorted masks over the orderings the refinement
leaves; :meth:`wellposed.support.SupportPattern.canonical_key` is the public entry.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .support import SupportPattern

__all__ = ["canonical_key", "distinct_columns", "mask_rows", "CANONICAL_PERMUTATION_LIMIT", "CANONICAL_WORK_LIMIT"]

#: Above this many candidate orderings the canonical key falls back to a sound, non-canonical key.
CANONICAL_PERMUTATION_LIMIT = 5_040
#: ... and also above this many mask entries encoded over all candidate orderings (large patterns).
CANONICAL_WORK_LIMIT = 20_000_000



def mask_rows(mask: np.ndarray) -> list[str]:
    """Each row of a boolean mask as a string of '0'/'1' characters (one vectorized pass)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape[1] == 0:
        return [""] * mask.shape[0]
    chars = np.ascontiguousarray(np.where(mask, np.uint8(49), np.uint8(48)))
    return [row.decode("ascii") for row in chars.view(f"S{mask.shape[1]}").ravel().tolist()]


def canonical_key(p: SupportPattern) -> str:
    """Canonical key of a pattern with no empty component (:meth:`SupportPattern.canonical_key` is the public entry)."""
    m, n = p.m, p.n
    stacked = np.concatenate([p.x_support, p.y_support], axis=0)  # (m+n) × r
    distinct, counts = distinct_columns(stacked)
    xs, ys = distinct[:m], distinct[m:]
    colours = _refine_components(xs, ys, counts)
    order = sorted(range(len(colours)), key=lambda k: colours[k])
    cells: list[list[int]] = []
    for k in order:
        if cells and colours[cells[-1][0]] == colours[k]:
            cells[-1].append(k)
        else:
            cells.append([k])
    total = math.prod(math.factorial(len(c)) for c in cells)
    prefix = f"{m}x{n}x{p.r}:"
    if total > CANONICAL_PERMUTATION_LIMIT or total * (m + n) * p.r > CANONICAL_WORK_LIMIT:
        return "~" + prefix + _encode(xs[:, order], ys[:, order], counts[order])
    best: str | None = None
    for choice in itertools.product(*(itertools.permutations(c) for c in cells)):
        perm = [k for cell in choice for k in cell]
        enc = _encode(xs[:, perm], ys[:, perm], counts[perm])
        if best is None or enc < best:
            best = enc
    assert best is not None  # at least one ordering exists
    return prefix + best


def distinct_columns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(mask, axis=1, return_counts=True)`` for a boolean mask, by sorting packed columns.

    Packing each column into bytes, first row in the most significant bit, keeps the lexicographic order
    of the columns (byte strings compare like the boolean vectors), so the result is the same, in the
    same order, at the cost of sorting ``r`` byte strings of ``⌈rows / 8⌉`` bytes.
    """
    packed = np.ascontiguousarray(np.packbits(mask, axis=0, bitorder="big").T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return mask[:, first], counts


def _relabel(signatures: list[Any]) -> list[int]:
    """Replace signatures by their rank among the distinct ones (an isomorphism-invariant labelling)."""
    ranks = {sig: i for i, sig in enumerate(sorted(set(signatures)))}
    return [ranks[sig] for sig in signatures]


def _refine_components(xs: np.ndarray, ys: np.ndarray, counts: np.ndarray) -> list[int]:
    """Colour refinement (1-dimensional Weisfeiler–Leman) of components against rows of X and of Y.

    Colours are computed from sorted signatures only, so they are invariant under row and component
    permutations; the partition they induce only gets finer from one round to the next.
    """
    cols_x = [np.flatnonzero(xs[:, k]).tolist() for k in range(xs.shape[1])]
    cols_y = [np.flatnonzero(ys[:, k]).tolist() for k in range(ys.shape[1])]
    rows_x = [np.flatnonzero(row).tolist() for row in xs]
    rows_y = [np.flatnonzero(row).tolist() for row in ys]
    comp = _relabel([(int(c), len(a), len(b)) for c, a, b in zip(counts, cols_x, cols_y, strict=True)])
    rx, ry = [0] * len(rows_x), [0] * len(rows_y)
    sizes = (-1, -1, -1)
    for _ in range(len(comp) + len(rx) + len(ry) + 1):
        rx = _relabel([(rx[i], tuple(sorted(comp[k] for k in ks for _ in range(int(counts[k])))))
                       for i, ks in enumerate(rows_x)])
        ry = _relabel([(ry[j], tuple(sorted(comp[k] for k in ks for _ in range(int(counts[k])))))
                       for j, ks in enumerate(rows_y)])
        comp = _relabel([(comp[k], tuple(sorted(rx[i] for i in cols_x[k])), tuple(sorted(ry[j] for j in cols_y[k])))
                         for k in range(len(comp))])
        new_sizes = (len(set(comp)), len(set(rx)), len(set(ry)))
        if new_sizes == sizes:
            break
        sizes = new_sizes
    return comp


def _encode(xs: np.ndarray, ys: np.ndarray, counts: np.ndarray) -> str:
    """Row-sorted encoding with components repeated by multiplicity."""
    reps = np.repeat(np.arange(xs.shape[1]), counts)
    xr = sorted(mask_rows(xs[:, reps]))
    yr = sorted(mask_rows(ys[:, reps]))
    return ".".join(xr) + "|" + ".".join(yr)

