"""Tractability of FSMF supports: classes of identical rank-one supports, DTO and the relaxed condition.

Everything is computed from the Gram matrices ``G_I = IᵀI`` and ``G_J = JᵀJ``: components k and l
overlap in ``G_I[k,l] · G_J[k,l]`` entries, and are identical iff both Gram entries equal both
diagonal entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .memory import check_memory
from .overlaps import biclique_components, meeting_pairs
from .support import SupportPattern

__all__ = [
    "Classification",
    "SupportClass",
    "classify",
    "REASON_DTO",
    "REASON_RELAXED",
    "REASON_NO_CEC",
    "REASON_TRIVIAL",
    "REASON_RELAXED_HOLDS",
    "C1_FAILS",
    "CLOSED_BY_BLOCKS",
    "C2_FAILS",
    "describe_pair",
    "not_tractable_reason",
    "check_classify_memory",
    "ClassOverlaps",
    "ClassTable",
]

REASON_DTO = (
    "DTO: the rank-one supports S_k = I_k × J_k are pairwise disjoint or identical; one truncated SVD per "
    "class is optimal (Le, Riccietti, Gribonval, SIMAX 2023)"
)
REASON_RELAXED = (
    "relaxed C1+C2: non-complete classes meet only inside the union of complete classes (C1) and each "
    "splits into full bicliques outside it (C2); SVD per biclique, exact fit on complete classes"
)

REASON_NO_CEC = "there is no complete class, so the relaxed condition reduces to DTO"
#: ``REASON_RELAXED_HOLDS.format(dto_failure)``: the reason of a relaxed (not DTO) verdict.
REASON_RELAXED_HOLDS = REASON_RELAXED + " (not DTO: {})"
#: Appended to a DTO or relaxed reason by the closedness rules: why such a P is closed.
CLOSED_BY_BLOCKS = "; P is a zero pattern plus rank bounds on disjoint blocks, a closed set"
#: ``C1_FAILS.format(other, k, i, j)``: classes of components ``other`` and ``k`` both cover entry (i, j).
C1_FAILS = ("C1 fails: non-complete classes of components {} and {} both cover entry ({}, {}) outside the "
            "complete classes")
#: ``C2_FAILS.format(k)``: the class of component k is not a union of bicliques outside the complete classes.
C2_FAILS = ("C2 fails: outside the complete classes, the support of class of component {} is not a union of "
            "full bicliques")
REASON_TRIVIAL = "every component is empty: P = {0}, trivially tractable"


def not_tractable_reason(dto_failure: str, relaxed_failure: str) -> str:
    """The reason text of a non-tractable verdict."""
    return f"not tractable by DTO ({dto_failure}) nor by the relaxed condition ({relaxed_failure})"


@dataclass(frozen=True)
class SupportClass:
    """A class of components with identical rank-one support ``R × C``."""

    components: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]

    @property
    def size(self) -> int:
        """Rank budget ``|P|``."""
        return len(self.components)

    @property
    def complete(self) -> bool:
        """``|P| ≥ min(|R|, |C|)``: the class represents every matrix on ``R × C`` (CEC)."""
        return self.size >= min(len(self.rows), len(self.cols))

    def to_json(self) -> dict[str, Any]:
        return {"components": list(self.components), "rows": list(self.rows), "cols": list(self.cols),
                "size": self.size, "complete": self.complete}


class ClassTable(Sequence[SupportClass]):
    """The classes of identical components as index arrays (CSR style), read as a sequence of
    :class:`SupportClass` built on access: memory and time follow the masks' nonzeros, and callers that
    only need counts (sizes, complete classes, areas) never build Python tuples.

    >>> t = ClassTable.from_masks([np.array([0]), np.array([1, 2])], np.array([[1, 0], [1, 1]], bool),
    ...                           np.array([[1, 1], [0, 1]], bool))
    >>> len(t), t[1], t.sizes.tolist(), t.complete.tolist()
    (2, SupportClass(components=(1, 2), rows=(1,), cols=(0, 1)), [1, 2], [True, True])
    """

    __slots__ = ("member_ptr", "members", "row_ptr", "rows", "col_ptr", "cols")

    def __init__(self, member_ptr: np.ndarray, members: np.ndarray, row_ptr: np.ndarray, rows: np.ndarray,
                 col_ptr: np.ndarray, cols: np.ndarray) -> None:
        self.member_ptr, self.members = member_ptr, members
        self.row_ptr, self.rows = row_ptr, rows
        self.col_ptr, self.cols = col_ptr, cols

    @classmethod
    def from_masks(cls, members: list[np.ndarray], xr: np.ndarray, yr: np.ndarray) -> ClassTable:
        """From the member arrays of each class and its row mask ``xr`` (m×c) and column mask ``yr`` (n×c)."""
        def csr(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            col, row = np.nonzero(np.ascontiguousarray(mask.T))
            ptr = np.zeros(mask.shape[1] + 1, dtype=np.int64)
            np.cumsum(np.bincount(col, minlength=mask.shape[1]), out=ptr[1:])
            return ptr, row.astype(np.int64)

        mptr = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum([len(mem) for mem in members], out=mptr[1:])
        flat = np.concatenate(members).astype(np.int64) if members else np.zeros(0, dtype=np.int64)
        return cls(mptr, flat, *csr(np.asarray(xr, dtype=bool)), *csr(np.asarray(yr, dtype=bool)))

    @classmethod
    def empty(cls) -> ClassTable:
        zero, none = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return cls(zero, none, zero, none, zero, none)

    @property
    def sizes(self) -> np.ndarray:
        """Number of components of each class (its rank budget |P|)."""
        return np.diff(self.member_ptr)

    @property
    def num_rows(self) -> np.ndarray:
        """``|R|`` of each class."""
        return np.diff(self.row_ptr)

    @property
    def num_cols(self) -> np.ndarray:
        """``|C|`` of each class."""
        return np.diff(self.col_ptr)

    @property
    def complete(self) -> np.ndarray:
        """Boolean per class: ``|P| ≥ min(|R|, |C|)``."""
        return self.sizes >= np.minimum(self.num_rows, self.num_cols)

    def members_of(self, c: int) -> np.ndarray:
        return self.members[self.member_ptr[c]:self.member_ptr[c + 1]]

    def rows_of(self, c: int) -> np.ndarray:
        return self.rows[self.row_ptr[c]:self.row_ptr[c + 1]]

    def cols_of(self, c: int) -> np.ndarray:
        return self.cols[self.col_ptr[c]:self.col_ptr[c + 1]]

    def first_member(self, c: int) -> int:
        return int(self.members[self.member_ptr[c]])

    def __len__(self) -> int:
        return int(self.member_ptr.size - 1)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[c] for c in range(*index.indices(len(self)))]
        c = int(index)
        if not -len(self) <= c < len(self):
            raise IndexError(f"class {c} out of range ({len(self)} classes)")
        c %= len(self)
        return SupportClass(tuple(self.members_of(c).tolist()), tuple(self.rows_of(c).tolist()),
                            tuple(self.cols_of(c).tolist()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClassTable):
            return all(np.array_equal(getattr(self, a), getattr(other, a)) for a in self.__slots__)
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, a).tobytes() for a in self.__slots__))

    def __repr__(self) -> str:
        return f"<ClassTable: {len(self)} classes>"


@dataclass(frozen=True, eq=False)
class ClassOverlaps:
    """The pairs ``a < b`` of classes (indices into ``Classification.classes``) whose rank-one supports
    meet, sorted, with the numbers of shared rows ``|R_a ∩ R_b|`` and shared columns ``|C_a ∩ C_b|``.

    This is the rank-one support graph with identical components merged: enough to derive the connected
    parts and the edge counts of the full graph without touching the masks again.
    """

    a: np.ndarray
    b: np.ndarray
    shared_rows: np.ndarray
    shared_cols: np.ndarray

    @classmethod
    def none(cls) -> ClassOverlaps:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty, empty)

    def __len__(self) -> int:
        return int(self.a.size)


@dataclass(frozen=True)
class Classification:
    """Tractability verdict of a support pattern, with its reason.

    ``components`` and the indices in ``classes`` / ``failing_pair`` refer to the components of the
    pattern as given (empty components are listed in ``empty_components`` and ignored). ``overlaps``
    lists the overlapping pairs of classes (see :class:`ClassOverlaps`).
    """

    pattern: SupportPattern
    classes: ClassTable
    empty_components: tuple[int, ...]
    dto: bool
    relaxed: bool
    reason: str
    failing_pair: tuple[int, int] | None = None
    bicliques: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = field(default_factory=dict)
    overlaps: ClassOverlaps = field(default_factory=ClassOverlaps.none, compare=False, repr=False)

    @property
    def tractable(self) -> bool:
        """True when a theorem (DTO, or relaxed C1+C2) makes FSMF solvable by SVDs."""
        return self.dto or self.relaxed

    @property
    def method(self) -> str:
        """``"dto"``, ``"relaxed"`` or ``"none"``."""
        return "dto" if self.dto else ("relaxed" if self.relaxed else "none")

    def part_labels(self) -> np.ndarray:
        """For each class, the index of its connected part of the overlap graph (parts numbered in the
        order of their first component). ``O(c + pairs)`` with scipy's connected components."""
        c = len(self.classes)
        if c == 0:
            return np.zeros(0, dtype=np.int64)
        from scipy import sparse
        from scipy.sparse.csgraph import connected_components

        ov = self.overlaps
        graph = sparse.coo_matrix((np.ones(len(ov), dtype=np.int8), (ov.a, ov.b)), shape=(c, c))
        _, labels = connected_components(graph, directed=False)
        # classes are ordered by first component, so a part's first class holds its first component
        first = np.full(int(labels.max()) + 1, c, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(c))
        rank = np.empty_like(first)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size)
        return rank[labels]

    def parts(self) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """Independent sub-problems: ``[(rows, cols, components)]`` per connected part of the rank-one
        support graph, ordered by first component; rows and columns are those of the part's union.

        >>> from wellposed.families import family
        >>> classify(family("diag:2")).parts()
        [((0,), (0,), (0,)), ((1,), (1,), (1,))]
        """
        labels = self.part_labels()
        t = self.classes
        out: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
        for part in range(int(labels.max()) + 1 if labels.size else 0):
            members = np.flatnonzero(labels == part).tolist()
            comps = np.sort(np.concatenate([t.members_of(c) for c in members]))
            rows = np.unique(np.concatenate([t.rows_of(c) for c in members]))
            cols = np.unique(np.concatenate([t.cols_of(c) for c in members]))
            out.append((tuple(rows.tolist()), tuple(cols.tolist()), tuple(comps.tolist())))
        return out

    def graph_summary(self) -> dict[str, Any]:
        """Counts of the rank-one support graph (as :func:`wellposed.graph.graph_summary` of the explicit
        graph): nodes, edges by relation, connected components and their sizes.

        >>> from wellposed.families import family
        >>> classify(family("lu:3")).graph_summary()["edges_by_relation"]
        {'identical': 0, 'nested': 3, 'partial': 0}
        """
        sizes = self.classes.sizes
        areas = self.classes.num_rows * self.classes.num_cols
        ov = self.overlaps
        weight = sizes[ov.a] * sizes[ov.b]
        shared = ov.shared_rows * ov.shared_cols
        nested = (shared == areas[ov.a]) | (shared == areas[ov.b])
        identical = int((sizes * (sizes - 1) // 2).sum())
        rel = {"identical": identical, "nested": int(weight[nested].sum()), "partial": int(weight[~nested].sum())}
        labels = self.part_labels()
        part_sizes = np.bincount(labels, weights=sizes, minlength=int(labels.max()) + 1 if labels.size else 0)
        return {
            "nodes": int(sizes.sum()),
            "edges": sum(rel.values()),
            "edges_by_relation": rel,
            "connected_components": int(part_sizes.size),
            "component_sizes": [int(v) for v in part_sizes],
        }

    def to_json(self, max_classes: int | None = None) -> dict[str, Any]:
        """JSON-ready dict; ``max_classes`` caps the listed classes (``classes_listed`` says how many)."""
        shown = self.classes if max_classes is None else self.classes[:max_classes]
        out = {
            "tractable": self.tractable,
            "tractable_method": self.method,
            "tractable_reason": self.reason,
            "dto": self.dto,
            "relaxed": self.relaxed,
            "failing_pair": list(self.failing_pair) if self.failing_pair is not None else None,
            "classes": [c.to_json() for c in shown],
            "num_classes": len(self.classes),
            "num_complete_classes": int(self.classes.complete.sum()),
            "empty_components": list(self.empty_components),
        }
        if max_classes is not None:
            out["classes_listed"] = len(shown)
        return out


#: DTO is tested by summing the class coverage when the classes' total area is at most this many entries.
_COVERAGE_AREA_MAX = 2**28
#: ... in row blocks of about this many entries of A.
_COVERAGE_BLOCK = 2**22
#: Peak bytes per pair of components of :func:`classify`: two int64 Gram matrices, the float64 product and
#: rounding of the second one, and the boolean relation tables.
_GRAM_BYTES_PER_PAIR = 40
#: Peak bytes per entry of A in the relaxed condition: the owner table (int64) and four boolean masks.
_RELAXED_BYTES_PER_ENTRY = 12


def _subject(pattern: SupportPattern) -> str:
    label = f"pattern {pattern.name!r}" if pattern.name else "the pattern"
    return f"{label} ({pattern.m}×{pattern.n}, r = {pattern.r} components)"


def check_classify_memory(pattern: SupportPattern, live: int | None = None) -> None:
    """Refuse, before allocating, a pattern whose dense r×r Gram matrices do not fit the memory budget.

    :func:`classify` itself works on sparse structure and needs no r×r table; this check guards the
    callers that do build one (the explicit support graph). ``live`` is the number of non-empty
    components (default ``r``). Raises :class:`~wellposed.errors.ResourceLimitError` naming the
    pattern, the memory needed and the limit.

    >>> from wellposed.families import family
    >>> check_classify_memory(family("full:4096,4096,4096"))
    """
    r = pattern.r if live is None else live
    need = _GRAM_BYTES_PER_PAIR * r * r + 8 * (pattern.m + pattern.n) * r
    check_memory(need, f"the r×r Gram matrices IᵀI and JᵀJ (r = {r})", _subject(pattern),
                 "Split the pattern (a direct sum is classified part by part) or drop components")


def describe_pair(k: int, l: int, size_k: tuple[int, int], size_l: tuple[int, int],
                  common: tuple[int, int]) -> str:
    """Text naming two overlapping, non-identical components (sizes are ``(|I|, |J|)``)."""
    sk, sl = size_k[0] * size_k[1], size_l[0] * size_l[1]
    shared = common[0] * common[1]
    kind = "nested" if shared in (sk, sl) else "partially overlapping"
    return (f"components {k} and {l} have {kind} rank-one supports: S_{k} is {size_k[0]}×{size_k[1]}, "
            f"S_{l} is {size_l[0]}×{size_l[1]}, they share {common[0]}×{common[1]} = {shared} entries")


def _class_labels(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes of identical columns ``(I_k, J_k)``: (label of each column, first column of each class).

    Labels number the classes in the order of their first column. One sort of the packed columns,
    ``O((m + n) r / 8 · log r)`` bytes compared.
    """
    packed = np.concatenate([np.packbits(x, axis=0), np.packbits(y, axis=0)], axis=0)
    pad = -packed.shape[0] % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((pad, packed.shape[1]), np.uint8)], axis=0)
    rows = np.ascontiguousarray(packed.T)  # (r, bytes): one row of bytes per column of the masks
    words = rows.view(np.uint64)
    # a 64-bit hash per column (multiply-add with fixed odd constants, wrapping), checked exactly below
    mult = (np.arange(words.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    with np.errstate(over="ignore"):
        digest = (words * mult).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(digest, return_index=True, return_inverse=True)
    inverse = np.ravel(inverse)
    if not np.array_equal(words[first[inverse]], words):  # a hash collision: sort the columns themselves
        keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[np.ravel(inverse)], first[order]


def classify(pattern: SupportPattern) -> Classification:
    """Classify a support pattern: classes, complete classes, DTO and relaxed tractability.

    Parameters
    ----------
    pattern : SupportPattern

    Returns
    -------
    Classification
        ``tractable`` with ``reason``; when not tractable, ``failing_pair`` names two components whose
        supports overlap without being identical (violating DTO), and ``reason`` says which relaxed
        condition fails. It also holds the overlapping pairs of classes, from which the connected parts
        (:meth:`Classification.parts`) and the support-graph counts (:meth:`Classification.graph_summary`)
        follow without another pass over the masks.

    Examples
    --------
    >>> from wellposed.families import family
    >>> classify(family("lu:2")).tractable
    False
    >>> classify(family("lu:2")).failing_pair
    (0, 1)
    >>> c = classify(family("butterfly:8:1"))
    >>> c.dto, len(c.classes)
    (True, 8)

    Notes
    -----
    Identical components are merged first (one sort of the packed columns), so everything after works on
    the ``c`` distinct classes: the overlapping pairs come from sparse Gram products of the class masks,
    work ``Σ_i deg(i)²`` (pairs of classes sharing a row of X, plus the same for Y), or from dense BLAS
    products when those are cheaper; the relaxed condition touches each non-complete class's block
    ``R × C`` once, ``O(Σ |R||C|)``. No r×r table and no loop over pairs in Python.
    """
    x, y = pattern.x_support, pattern.y_support
    empty_mask = pattern.empty_components()
    empty = tuple(int(k) for k in np.flatnonzero(empty_mask))
    live = np.flatnonzero(~empty_mask)
    if live.size == 0:
        return Classification(pattern, ClassTable.empty(), empty, True, False, REASON_TRIVIAL)
    xl, yl = (x, y) if live.size == pattern.r else (x[:, live], y[:, live])
    labels, firsts = _class_labels(xl, yl)
    order = np.argsort(labels, kind="stable")
    bounds = np.cumsum(np.bincount(labels, minlength=firsts.size))[:-1]
    members = np.split(live[order], bounds)
    same = firsts.size == live.size  # no two components identical: the class masks are the masks
    xr, yr = (xl, yl) if same else (xl[:, firsts], yl[:, firsts])
    classes = ClassTable.from_masks(members, xr, yr)
    if _disjoint_classes(classes, pattern.m, pattern.n):
        return Classification(pattern, classes, empty, True, False, REASON_DTO)
    a, b, si, sj = meeting_pairs(xr, yr)
    overlaps = ClassOverlaps(a, b, si, sj)
    if a.size == 0:
        return Classification(pattern, classes, empty, True, False, REASON_DTO, overlaps=overlaps)
    a0 = int(a[0])  # pairs are sorted: the first class with a partner, and its first partner
    b0 = int(b[0])
    k, l = classes.first_member(a0), classes.first_member(b0)
    nr, nc = classes.num_rows, classes.num_cols
    dto_failure = describe_pair(k, l, (int(nr[a0]), int(nc[a0])), (int(nr[b0]), int(nc[b0])),
                                (int(si[0]), int(sj[0])))
    pair = (k, l)
    ok, why, bicl = _relaxed(pattern, classes)
    if ok:
        return Classification(pattern, classes, empty, False, True, REASON_RELAXED_HOLDS.format(dto_failure),
                              pair, bicl, overlaps)
    return Classification(pattern, classes, empty, False, False, not_tractable_reason(dto_failure, why), pair,
                          overlaps=overlaps)


def _disjoint_classes(classes: ClassTable, m: int, n: int) -> bool:
    """True when the classes' rank-one supports are pairwise disjoint (DTO), by counting.

    Their areas ``Σ |R||C|`` must not exceed ``m n``; then the class coverage ``R_c × C_c`` is summed row
    block by row block with sparse products (work = the total area, memory bounded) and must stay ≤ 1.
    Returns False when this is not the cheap way (then :func:`meeting_pairs` decides).
    """
    c = len(classes)
    if c < 2:
        return True
    area = int(classes.num_rows @ classes.num_cols)
    if area > m * n or area > _COVERAGE_AREA_MAX:
        return False
    from scipy import sparse

    ones = np.ones(classes.rows.size, dtype=np.int32)
    xr = sparse.csc_matrix((ones, classes.rows, classes.row_ptr), shape=(m, c)).tocsr()
    yt = sparse.csc_matrix((np.ones(classes.cols.size, dtype=np.int32), classes.cols, classes.col_ptr),
                           shape=(n, c)).T.tocsr()
    step = max(1, _COVERAGE_BLOCK // max(1, n))
    for start in range(0, m, step):
        block = xr[start:start + step] @ yt
        if block.nnz and int(block.data.max()) > 1:
            return False
    return True


def _relaxed(
    pattern: SupportPattern, classes: ClassTable
) -> tuple[bool, str, dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]]]:
    """Check C1 and C2 (docs/theory.md); return (holds, reason if not, bicliques per non-CEC class index).

    One m×n table of the complete classes' union and one of owners; each class touches only its own
    block ``R × C``.
    """
    m, n = pattern.m, pattern.n
    complete = classes.complete
    if not complete.any():
        return False, REASON_NO_CEC, {}
    check_memory(_RELAXED_BYTES_PER_ENTRY * m * n, f"the {m}×{n} coverage tables of the relaxed condition",
                 _subject(pattern), "Split the pattern into independent blocks")
    s_t = np.zeros((m, n), dtype=bool)
    for idx in np.flatnonzero(complete).tolist():
        s_t[np.ix_(classes.rows_of(idx), classes.cols_of(idx))] = True
    owner = np.full((m, n), -1, dtype=np.int32)
    bicliques: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = {}
    for idx in np.flatnonzero(~complete).tolist():
        c = classes[idx]
        block = np.ix_(c.rows, c.cols)
        omega = ~s_t[block]
        held = owner[block]
        clash = omega & (held >= 0)
        if clash.any():
            a, b = (int(t) for t in np.argwhere(clash)[0])
            other = classes.first_member(int(held[a, b]))
            return False, C1_FAILS.format(other, c.components[0], c.rows[a], c.cols[b]), {}
        owner[block] = np.where(omega, idx, held)
        comps = biclique_components(omega)
        if comps is None:
            return False, C2_FAILS.format(c.components[0]), {}
        bicliques[idx] = tuple((tuple(c.rows[i] for i in rs), tuple(c.cols[j] for j in cs)) for rs, cs in comps)
    return True, "", bicliques
