"""Symmetries of a support pattern used by the closedness sentences: automorphisms, zero patterns of A up to
symmetry, and spanning forests (diagonal scaling)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..errors import InvalidSpecError, InvalidSupportError
from ..support import SupportPattern

__all__ = ["automorphisms", "zero_patterns", "spanning_forest", "stabilizer", "sign_patterns", "check_pattern",
           "AUTOMORPHISM_LIMIT",
           "MAX_PATTERN_ENTRIES"]

#: Above this many candidate (row, column) permutation pairs, symmetry reduction uses the identity only.
AUTOMORPHISM_LIMIT = 100_000
#: Splitting by zero pattern enumerates 2^u patterns of the u candidate entries of A; u is capped here.
MAX_PATTERN_ENTRIES = 20


def check_pattern(pattern: Any, parameter: str = "pattern") -> SupportPattern:
    """``pattern`` if it is a SupportPattern, else :class:`InvalidSupportError` naming ``parameter``."""
    if not isinstance(pattern, SupportPattern):
        raise InvalidSupportError(
            f"{parameter} = {pattern!r} is not a SupportPattern; build one with "
            "SupportPattern(x_support, y_support) or wellposed.families.family('lu:2')."
        )
    return pattern


def automorphisms(
    pattern: SupportPattern, transpose: bool = True
) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Row/column permutations (and transposition) of A that map the pattern's support set to itself.

    Each element ``(sigma, tau, t)`` acts on a matrix by ``B[sigma[i], tau[j]] = A[i, j]`` followed by
    a transposition when ``t``; the set ``P`` of products and its closure are invariant under it,
    because the pattern's multiset of rank-one supports ``{(I_k, J_k)}`` is mapped to itself.

    Parameters
    ----------
    pattern : SupportPattern
    transpose : bool
        Also look for symmetries that transpose A (only when ``m == n``).

    Returns
    -------
    list of (ndarray, ndarray, bool)
        Always contains the identity first. If ``m!·n!`` exceeds :data:`AUTOMORPHISM_LIMIT` only the
        identity is returned (sound: symmetry is an optimization).

    Examples
    --------
    >>> from wellposed.families import family
    >>> len(automorphisms(family("full:2,2,1")))
    8
    >>> len(automorphisms(family("lu:2")))
    2

    Notes
    -----
    Cost ``O(m!·n!·r log r)``: every pair of permutations is tried.
    """
    p = check_pattern(pattern).drop_empty() if not pattern.is_trivial() else pattern
    m, n = p.m, p.n
    ident = (np.arange(m), np.arange(n), False)
    if math.factorial(m) * math.factorial(n) > AUTOMORPHISM_LIMIT:
        return [ident]
    x, y = p.x_support, p.y_support

    def key(xm: np.ndarray, ym: np.ndarray) -> list[bytes]:
        return sorted(xm[:, k].tobytes() + b"|" + ym[:, k].tobytes() for k in range(xm.shape[1]))

    target = key(x, y)
    out = [ident]
    for sigma in itertools.permutations(range(m)):
        s = np.array(sigma)
        xi = x[np.argsort(s)]
        for tau in itertools.permutations(range(n)):
            t = np.array(tau)
            yi = y[np.argsort(t)]
            if (sigma != tuple(range(m)) or tau != tuple(range(n))) and key(xi, yi) == target:
                out.append((s, t, False))
            if transpose and m == n and key(yi, xi) == target:
                out.append((s, t, True))
    return out


def _position_maps(
    positions: list[tuple[int, int]], group: list[tuple[np.ndarray, np.ndarray, bool]]
) -> np.ndarray:
    """(|G|, u) array: index of the image of each candidate position under each group element."""
    index = {pos: q for q, pos in enumerate(positions)}
    maps = np.empty((len(group), len(positions)), dtype=np.int64)
    for g, (s, t, tr) in enumerate(group):
        for q, (i, j) in enumerate(positions):
            image = (int(t[j]), int(s[i])) if tr else (int(s[i]), int(t[j]))
            maps[g, q] = index[image]
    return maps


def zero_patterns(
    pattern: SupportPattern, symmetry: bool = True, zero_outside: bool = True
) -> list[np.ndarray]:
    """Nonzero patterns ``Z`` of ``A`` to consider, one per symmetry orbit, smallest first.

    Parameters
    ----------
    pattern : SupportPattern
    symmetry : bool
        Keep one representative (the smallest bit code) per orbit of :func:`automorphisms`.
    zero_outside : bool
        Only patterns inside the union of the rank-one supports (otherwise any entry of A).

    Returns
    -------
    list of ndarray
        m×n boolean masks, nonempty (``A = 0`` is always in P), sorted by size then bit code.

    Examples
    --------
    >>> from wellposed.families import family
    >>> [z.astype(int).tolist() for z in zero_patterns(family("full:1,2,1"))]
    [[[1, 0]], [[1, 1]]]
    >>> len(zero_patterns(family("full:2,2,1"), symmetry=False)), len(zero_patterns(family("full:2,2,1")))
    (15, 5)

    Notes
    -----
    Vectorized over the ``2^u`` subsets (``u`` candidate entries): one bit-permutation per group element,
    ``O(|G| · 2^u · u)`` integer operations. :func:`_zero_patterns_reference` is the plain-loop oracle.
    """
    p = check_pattern(pattern)
    positions = _positions(p, zero_outside)
    u = len(positions)
    codes = np.arange(1, 2**u, dtype=np.int64)
    if symmetry and u:
        maps = _position_maps(positions, automorphisms(p))
        bits = ((codes[:, None] >> np.arange(u, dtype=np.int64)) & 1).astype(np.int64)  # (2^u-1, u)
        canonical = codes.copy()
        for g in range(1, maps.shape[0]):
            canonical = np.minimum(canonical, bits @ (np.int64(1) << maps[g]))
        codes = codes[canonical == codes]
    return _masks_from_codes(p, positions, codes)


def _positions(p: SupportPattern, zero_outside: bool) -> list[tuple[int, int]]:
    allowed = p.union_mask() if zero_outside else np.ones((p.m, p.n), dtype=bool)
    positions = [(int(i), int(j)) for i, j in zip(*np.nonzero(allowed), strict=True)]
    if len(positions) > MAX_PATTERN_ENTRIES:
        raise InvalidSpecError(
            f"pattern {p!r} has {len(positions)} candidate entries of A: splitting by zero pattern would "
            f"enumerate 2^{len(positions)} sentences (limit {MAX_PATTERN_ENTRIES} entries); use "
            "Encoding(zero_patterns=False) for one sentence."
        )
    return positions


def _masks_from_codes(
    p: SupportPattern, positions: list[tuple[int, int]], codes: np.ndarray
) -> list[np.ndarray]:
    u = len(positions)
    sizes = np.array([bin(int(c)).count("1") for c in codes], dtype=np.int64)
    order = np.lexsort((codes, sizes))
    masks = []
    rows = np.array([i for i, _ in positions], dtype=np.int64)
    cols = np.array([j for _, j in positions], dtype=np.int64)
    for c in codes[order]:
        z = np.zeros((p.m, p.n), dtype=bool)
        on = ((int(c) >> np.arange(u)) & 1).astype(bool)
        z[rows[on], cols[on]] = True
        masks.append(z)
    return masks


def _zero_patterns_reference(pattern: SupportPattern, symmetry: bool = True,
                             zero_outside: bool = True) -> list[np.ndarray]:
    """Plain-loop oracle for :func:`zero_patterns`: one subset and one group element at a time."""
    positions = _positions(pattern, zero_outside)
    group = automorphisms(pattern) if symmetry else automorphisms(pattern)[:1]
    kept = []
    for code in range(1, 2 ** len(positions)):
        chosen = {positions[q] for q in range(len(positions)) if code >> q & 1}
        best = code
        for s, t, tr in group:
            image = 0
            for pos in positions:
                i, j = pos
                target = (int(t[j]), int(s[i])) if tr else (int(s[i]), int(t[j]))
                if pos in chosen:
                    image |= 1 << positions.index(target)
            best = min(best, image)
        if best == code:
            kept.append(code)
    return _masks_from_codes(pattern, positions, np.array(kept, dtype=np.int64))


def spanning_forest(mask: np.ndarray) -> list[tuple[int, int]]:
    """Entries of a spanning forest of the bipartite graph (rows, columns, edges = True entries).

    Every matrix with nonzero pattern ``mask`` can be brought by an invertible diagonal scaling
    ``D1 A D2`` to one equal to 1 on these entries (fix the scales along each tree from its root).

    Examples
    --------
    >>> spanning_forest(np.ones((2, 2), dtype=bool))
    [(0, 0), (0, 1), (1, 0)]

    Notes
    -----
    Breadth-first search, ``O(m n)``.
    """
    mask = np.asarray(mask, dtype=bool)
    m, n = mask.shape
    seen_r = np.zeros(m, dtype=bool)
    seen_c = np.zeros(n, dtype=bool)
    edges: list[tuple[int, int]] = []
    for root in range(m):
        if seen_r[root] or not mask[root].any():
            continue
        seen_r[root] = True
        queue: list[tuple[str, int]] = [("r", root)]
        while queue:
            side, v = queue.pop(0)
            if side == "r":
                for j in np.flatnonzero(mask[v] & ~seen_c):
                    seen_c[j] = True
                    edges.append((v, int(j)))
                    queue.append(("c", int(j)))
            else:
                for i in np.flatnonzero(mask[:, v] & ~seen_r):
                    seen_r[i] = True
                    edges.append((int(i), v))
                    queue.append(("r", int(i)))
    return sorted(edges)


def stabilizer(pattern: SupportPattern, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The elements of :func:`automorphisms` that map the nonzero pattern ``mask`` onto itself.

    Examples
    --------
    >>> from wellposed.families import family
    >>> len(stabilizer(family("full:2,2,1"), np.ones((2, 2), dtype=bool)))
    8
    >>> len(stabilizer(family("full:2,2,1"), np.array([[1, 0], [0, 0]], dtype=bool)))
    2
    """
    mask = np.asarray(mask, dtype=bool)
    out = []
    for s, t, tr in automorphisms(pattern):
        image = np.zeros_like(mask)
        for i, j in zip(*np.nonzero(mask), strict=True):
            if tr:
                image[int(t[j]), int(s[i])] = True
            else:
                image[int(s[i]), int(t[j])] = True
        if np.array_equal(image, mask):
            out.append((s, t, tr))
    return out


def _normalize_signs(signs: dict[tuple[int, int], int], forest: list[tuple[int, int]],
                     m: int, n: int) -> dict[tuple[int, int], int]:
    """Multiply by ±1 row and column signs so that every forest entry becomes +1 (walk each tree)."""
    d_r: dict[int, int] = {}
    d_c: dict[int, int] = {}
    adjacency: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for i, j in forest:
        adjacency.setdefault(("r", i), []).append(("c", j))
        adjacency.setdefault(("c", j), []).append(("r", i))
    for start in sorted(adjacency):
        side, v = start
        if (d_r if side == "r" else d_c).get(v) is not None:
            continue
        (d_r if side == "r" else d_c)[v] = 1
        queue = [start]
        while queue:
            side, v = queue.pop()
            for other in adjacency[(side, v)]:
                oside, w = other
                table = d_r if oside == "r" else d_c
                if w in table:
                    continue
                i, j = (v, w) if side == "r" else (w, v)
                known = d_r[i] if side == "r" else d_c[j]
                table[w] = known * signs[(i, j)]  # makes d_r[i] d_c[j] signs[i, j] = 1
                queue.append(other)
    return {(i, j): d_r.get(i, 1) * d_c.get(j, 1) * s for (i, j), s in signs.items()}


def sign_patterns(pattern: SupportPattern, mask: np.ndarray, symmetry: bool = True) -> list[dict[tuple[int, int], int]]:
    """Signs (±1) of the entries of ``mask`` off its :func:`spanning_forest`, one per orbit, all-positive first.

    A matrix with nonzero pattern ``mask`` is brought by a diagonal scaling with ±1 entries to one that is
    positive on the spanning forest; what is left are the signs of the other entries (one per fundamental
    cycle of the forest). With ``symmetry``, two sign vectors related by an element of the
    :func:`stabilizer` of ``mask`` (followed by the ±1 renormalization on the forest) give the same
    truth value, and one representative (smallest bit code, bit set = negative) is kept.

    Returns
    -------
    list of dict
        ``{(i, j): +1 or -1}`` for every entry of ``mask`` not on the forest (an empty dict when the forest
        is all of ``mask``).

    Examples
    --------
    >>> from wellposed.families import family
    >>> [sorted(s.values()) for s in sign_patterns(family("full:2,2,1"), np.ones((2, 2), dtype=bool))]
    [[1], [-1]]
    >>> len(sign_patterns(family("full:3,3,1"), np.ones((3, 3), dtype=bool), symmetry=False))
    16

    Notes
    -----
    ``O(2^c · |G| · mn)`` for ``c`` entries off the forest and a stabilizer of order ``|G|``.
    """
    p = check_pattern(pattern)
    mask = np.asarray(mask, dtype=bool)
    forest = spanning_forest(mask)
    on_forest = set(forest)
    cycle = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True) if (int(i), int(j)) not in on_forest]
    index = {pos: q for q, pos in enumerate(cycle)}
    group = stabilizer(p, mask)[1:] if symmetry else []

    def signs_of(code: int) -> dict[tuple[int, int], int]:
        out = dict.fromkeys(forest, 1)
        out.update({pos: -1 if code >> q & 1 else 1 for pos, q in index.items()})
        return out

    def code_of(signs: dict[tuple[int, int], int]) -> int:
        return sum(1 << index[pos] for pos in cycle if signs[pos] < 0)

    kept = []
    for code in range(2 ** len(cycle)):
        signs = signs_of(code)
        best = code
        for s, t, tr in group:
            image = {((int(t[j]), int(s[i])) if tr else (int(s[i]), int(t[j]))): v for (i, j), v in signs.items()}
            best = min(best, code_of(_normalize_signs(image, forest, p.m, p.n)))
        if best == code:
            kept.append({pos: signs[pos] for pos in cycle})
    return kept
