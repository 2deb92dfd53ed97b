"""Canonical keys of support patterns: equal exactly for patterns equivalent up to row and component permutations.

A key is the pattern's masks written after a canonical relabelling: components in a canonical order (identical
components merged with their multiplicity, then repeated), the rows of X and of Y each sorted. Three methods make
keys, and a key says which one made it:

- ``"{m}x{n}x{r}:X|Y"`` — **exact, by refinement**: colour refinement of components and rows, then the
  lexicographic minimum over the component orderings the refinement leaves, when they are few: at most
  :data:`CANONICAL_GRAPH_THRESHOLD` (asymmetric patterns, the common case); without python-igraph, at most
  :data:`CANONICAL_PERMUTATION_LIMIT` with at most :data:`CANONICAL_WORK_LIMIT` mask entries encoded;
- ``"G{m}x{n}x{r}:X|Y"`` — **exact, by graph canonization** when the refinement leaves more orderings (symmetric
  patterns: diagonal, butterfly, Monarch, regular, circulant): the canonical labelling by bliss (through
  python-igraph) of the vertex-coloured graph rows of X — components — rows of Y;
- ``"~{m}x{n}x{r}:X|Y"`` — **sound heuristic** when python-igraph cannot be imported and the refinement leaves
  too many orderings: equal keys still mean equivalent patterns, but equivalent patterns may get different keys.

On a machine with python-igraph the method depends only on the pattern's equivalence class, so every pattern of
a class gets the same key. Keys made by different methods never compare equal (their first character differs),
and every key holds the masks, so equal keys always mean equivalent patterns. Keys by graph canonization are
canonical for the bliss of the installed igraph (the CLI golden files pin a few). The key format is unchanged
for keys by refinement. :meth:`wellposed.support.SupportPattern.canonical_key` is the public entry (it adds the
``"T"`` prefix of keys up to transposition).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .support import SupportPattern

__all__ = ["canonical_key", "distinct_columns", "mask_rows", "CANONICAL_PERMUTATION_LIMIT", "CANONICAL_WORK_LIMIT",
           "CANONICAL_GRAPH_THRESHOLD", "GRAPH_PREFIX", "HEURISTIC_PREFIX"]

#: Without python-igraph, above this many candidate orderings the key falls back to a sound, non-canonical key.
CANONICAL_PERMUTATION_LIMIT = 5_040
#: ... and also above this many mask entries encoded over all candidate orderings (large patterns).
CANONICAL_WORK_LIMIT = 20_000_000
#: With python-igraph, above this many candidate orderings the key is made by graph canonization: one bliss call
#: (about a millisecond on small patterns) costs less than enumerating more orderings (about 70 µs each).
CANONICAL_GRAPH_THRESHOLD = 24
#: Prefix of exact keys made by graph canonization (bliss through python-igraph).
GRAPH_PREFIX = "G"
#: Prefix of sound but non-canonical keys (python-igraph not importable).
HEURISTIC_PREFIX = "~"
#: The bliss splitting heuristic, fixed so that a change of igraph's default cannot change keys.
_BLISS_SPLITTING = "fl"


def mask_rows(mask: np.ndarray) -> list[str]:
    """Each row of a boolean mask as a string of '0'/'1' characters (one vectorized pass)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape[1] == 0:
        return [""] * mask.shape[0]
    chars = np.ascontiguousarray(np.where(mask, np.uint8(49), np.uint8(48)))
    return [row.decode("ascii") for row in chars.view(f"S{mask.shape[1]}").ravel().tolist()]


def canonical_key(p: SupportPattern) -> str:
    """Canonical key of a pattern with no empty component (:meth:`SupportPattern.canonical_key` is the public entry).

    Notes
    -----
    Cost: the colour refinement, ``O(nnz)`` per round; then either the product of the factorials of the
    refinement cells times ``(m + n) r`` (bounded by :data:`CANONICAL_WORK_LIMIT`), or one bliss call on a graph
    of ``m + n + r`` vertices and ``nnz(I) + nnz(J)`` edges (fast in practice, exponential only on rare,
    specially built graphs).
    """
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
    too_many = total > CANONICAL_PERMUTATION_LIMIT or total * (m + n) * p.r > CANONICAL_WORK_LIMIT
    if too_many or total > CANONICAL_GRAPH_THRESHOLD:
        graph_order = _graph_order(distinct, counts, m, n)
        if graph_order is not None:
            return GRAPH_PREFIX + prefix + _encode(xs[:, graph_order], ys[:, graph_order], counts[graph_order])
    if too_many:
        warnings.warn(f"python-igraph is not installed: the {m}x{n}x{p.r} pattern is too symmetric for an exact "
                      "key by refinement, so its key is a sound but non-canonical '~' key (equivalent patterns may "
                      "get different keys); install it with: pip install igraph", stacklevel=3)
        return HEURISTIC_PREFIX + prefix + _encode(xs[:, order], ys[:, order], counts[order])
    best: str | None = None
    for choice in itertools.product(*(itertools.permutations(c) for c in cells)):
        perm = [k for cell in choice for k in cell]
        enc = _encode(xs[:, perm], ys[:, perm], counts[perm])
        if best is None or enc < best:
            best = enc
    assert best is not None  # at least one ordering exists
    return prefix + best


def _graph_order(distinct: np.ndarray, counts: np.ndarray, m: int, n: int) -> np.ndarray | None:
    """A canonical order of the distinct components by bliss, or ``None`` when python-igraph cannot be imported.

    The graph has one vertex per distinct row of X, per distinct row of Y and per distinct component, each
    coloured by its kind and the rank of its multiplicity, and an edge from a row to each component whose
    support holds it; each connected part is canonized apart (:func:`_bliss_order`). A relabelling of the
    pattern is an isomorphism of these coloured graphs, so the canonical graph is the same for every pattern
    of one class: its component order, read through each vertex's original index, gives the same masks up to
    row order (automorphisms of the pattern, the only freedom left, leave the encoding unchanged).
    """
    try:
        import igraph
    except ImportError:
        return None
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, multiplicity = np.unique(counts, return_inverse=True)
    comp_rank = multiplicity.ravel()
    rows, comps = np.nonzero(distinct)
    size = m + n + distinct.shape[1]
    adjacency = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, comps + (m + n))), shape=(size, size))
    part_of = connected_components(adjacency, directed=False)[1]
    comp_parts = np.unique(part_of[m + n:])
    if len(comp_parts) == 1:
        return _bliss_order(igraph, distinct, comp_rank, m)
    # several connected parts (a direct sum, e.g. a diagonal): bliss is slow on many isomorphic parts, so each
    # part is put in canonical form apart and the parts are sorted by their encodings (equal encodings mean
    # isomorphic parts, whose blocks can be swapped without changing the rows of the whole)
    blocks: list[tuple[str, np.ndarray]] = []
    for part in comp_parts:
        ks = np.flatnonzero(part_of[m + n:] == part)
        rs = np.flatnonzero(part_of[:m + n] == part)
        sub = distinct[np.ix_(rs, ks)]
        rows_x = int(np.count_nonzero(rs < m))
        local = _bliss_order(igraph, sub, comp_rank[ks], rows_x)
        blocks.append((_encode(sub[:rows_x][:, local], sub[rows_x:][:, local], counts[ks][local]), ks[local]))
    blocks.sort(key=lambda block: block[0])
    return np.concatenate([order for _, order in blocks])


def _bliss_order(igraph: Any, distinct: np.ndarray, comp_rank: np.ndarray, m: int) -> np.ndarray:
    """The components of one coloured graph (its first ``m`` rows from X, the others from Y) in canonical order.

    Identical rows of X (of Y) are merged first into one vertex coloured by the rank of its multiplicity, as the
    components are: the graph stays isomorphism-invariant, and bliss no longer searches through the many
    swaps of identical rows (butterfly and Monarch supports repeat rows).
    """
    x_rows, x_counts = distinct_columns(np.ascontiguousarray(distinct[:m].T))
    y_rows, y_counts = distinct_columns(np.ascontiguousarray(distinct[m:].T))
    x_rank = np.unique(x_counts, return_inverse=True)[1].ravel()
    y_rank = np.unique(y_counts, return_inverse=True)[1].ravel()
    reduced = np.concatenate([x_rows.T, y_rows.T], axis=0)  # distinct rows × components
    num_rows = reduced.shape[0]
    rows, comps = np.nonzero(reduced)  # vertices: the distinct rows of X, of Y, then the components
    graph = igraph.Graph(n=num_rows + reduced.shape[1], edges=np.column_stack([rows, comps + num_rows]))
    graph.vs["vertex"] = range(graph.vcount())
    offset_y = int(x_rank.max(initial=-1)) + 1
    offset_k = offset_y + int(y_rank.max(initial=-1)) + 1
    colours = np.concatenate([x_rank, offset_y + y_rank, offset_k + comp_rank])
    labelling = graph.canonical_permutation(sh=_BLISS_SPLITTING, color=colours.tolist())
    # the canonical graph carries each vertex's original index along: read the component order from it, so the
    # direction in which igraph's permutation vector is read (it changed across igraph versions) never matters
    in_canonical_order = np.asarray(graph.permute_vertices(labelling).vs["vertex"])
    return in_canonical_order[in_canonical_order >= num_rows] - num_rows


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

