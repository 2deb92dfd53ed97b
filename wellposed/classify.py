"""Tractability of FSMF supports: classes of identical rank-one supports, DTO and the relaxed condition.

Everything is computed from the Gram matrices ``G_I = IᵀI`` and ``G_J = JᵀJ``: components k and l
overlap in ``G_I[k,l] · G_J[k,l]`` entries, and are identical iff both Gram entries equal both
diagonal entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .support import SupportPattern, check_memory, count_product

__all__ = [
    "Classification",
    "SupportClass",
    "classify",
    "REASON_DTO",
    "REASON_RELAXED",
    "REASON_NO_CEC",
    "REASON_TRIVIAL",
    "describe_pair",
    "not_tractable_reason",
    "check_classify_memory",
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


@dataclass(frozen=True)
class Classification:
    """Tractability verdict of a support pattern, with its reason.

    ``components`` and the indices in ``classes`` / ``failing_pair`` refer to the components of the
    pattern as given (empty components are listed in ``empty_components`` and ignored).
    """

    pattern: SupportPattern
    classes: tuple[SupportClass, ...]
    empty_components: tuple[int, ...]
    dto: bool
    relaxed: bool
    reason: str
    failing_pair: tuple[int, int] | None = None
    bicliques: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = field(default_factory=dict)

    @property
    def tractable(self) -> bool:
        """True when a theorem (DTO, or relaxed C1+C2) makes FSMF solvable by SVDs."""
        return self.dto or self.relaxed

    @property
    def method(self) -> str:
        """``"dto"``, ``"relaxed"`` or ``"none"``."""
        return "dto" if self.dto else ("relaxed" if self.relaxed else "none")

    def to_json(self) -> dict[str, Any]:
        return {
            "tractable": self.tractable,
            "tractable_method": self.method,
            "tractable_reason": self.reason,
            "dto": self.dto,
            "relaxed": self.relaxed,
            "failing_pair": list(self.failing_pair) if self.failing_pair is not None else None,
            "classes": [c.to_json() for c in self.classes],
            "num_classes": len(self.classes),
            "num_complete_classes": sum(c.complete for c in self.classes),
            "empty_components": list(self.empty_components),
        }


#: Peak bytes per pair of components of :func:`classify`: two int64 Gram matrices, the float64 product and
#: rounding of the second one, and the boolean relation tables.
_GRAM_BYTES_PER_PAIR = 40
#: Peak bytes per entry of A in the relaxed condition: the owner table (int64) and four boolean masks.
_RELAXED_BYTES_PER_ENTRY = 12


def _subject(pattern: SupportPattern) -> str:
    label = f"pattern {pattern.name!r}" if pattern.name else "the pattern"
    return f"{label} ({pattern.m}×{pattern.n}, r = {pattern.r} components)"


def check_classify_memory(pattern: SupportPattern, live: int | None = None) -> None:
    """Refuse, before allocating, a pattern whose r×r Gram matrices do not fit the memory budget.

    ``live`` is the number of non-empty components (default ``r``). Raises
    :class:`~wellposed.errors.ResourceLimitError` naming the pattern, the memory needed and the limit.

    >>> from wellposed.families import family
    >>> check_classify_memory(family("full:4096,4096,4096"))
    """
    r = pattern.r if live is None else live
    need = _GRAM_BYTES_PER_PAIR * r * r + 8 * (pattern.m + pattern.n) * r
    check_memory(need, f"the r×r Gram matrices IᵀI and JᵀJ (r = {r})", _subject(pattern),
                 "Split the pattern (a direct sum is classified part by part) or drop components")


def _grams(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (count_product(np.swapaxes(x, -1, -2), x, "the r×r Gram matrix IᵀI"),
            count_product(np.swapaxes(y, -1, -2), y, "the r×r Gram matrix JᵀJ"))


def _pair_relation(gi: np.ndarray, gj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (…, r, r) arrays: components overlap; components are identical."""
    di = np.diagonal(gi, axis1=-2, axis2=-1)
    dj = np.diagonal(gj, axis1=-2, axis2=-1)
    overlap = (gi > 0) & (gj > 0)
    same_i = (gi == di[..., :, None]) & (gi == di[..., None, :])
    same_j = (gj == dj[..., :, None]) & (gj == dj[..., None, :])
    return overlap, same_i & same_j


def describe_pair(k: int, l: int, size_k: tuple[int, int], size_l: tuple[int, int],
                  common: tuple[int, int]) -> str:
    """Text naming two overlapping, non-identical components (sizes are ``(|I|, |J|)``)."""
    sk, sl = size_k[0] * size_k[1], size_l[0] * size_l[1]
    shared = common[0] * common[1]
    kind = "nested" if shared in (sk, sl) else "partially overlapping"
    return (f"components {k} and {l} have {kind} rank-one supports: S_{k} is {size_k[0]}×{size_k[1]}, "
            f"S_{l} is {size_l[0]}×{size_l[1]}, they share {common[0]}×{common[1]} = {shared} entries")


def _pair_text(k: int, l: int, a: int, b: int, gi: np.ndarray, gj: np.ndarray) -> str:
    """``describe_pair`` for components labelled k, l at Gram indices a, b."""
    return describe_pair(k, l, (int(gi[a, a]), int(gj[a, a])), (int(gi[b, b]), int(gj[b, b])),
                         (int(gi[a, b]), int(gj[a, b])))


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
        condition fails.

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
    Cost: two r×r Gram products, ``O((m + n) r²)``, plus ``O(mn)`` per non-complete class for the
    relaxed condition. No loop over pairs of components or entries in Python.
    """
    x, y = pattern.x_support, pattern.y_support
    empty = np.flatnonzero(pattern.empty_components())
    live = np.flatnonzero(~pattern.empty_components())
    if live.size == 0:
        return Classification(pattern, (), tuple(int(k) for k in empty), True, False,
                              REASON_TRIVIAL)
    check_classify_memory(pattern, int(live.size))
    gi, gj = _grams(x[:, live], y[:, live])
    overlap, identical = _pair_relation(gi, gj)
    # classes: identical is an equivalence relation on live components; label by first member
    first = np.argmax(identical, axis=1).tolist()
    live_l = live.tolist()
    members_of: dict[int, list[int]] = {}
    for pos, rep in enumerate(first):
        members_of.setdefault(rep, []).append(live_l[pos])
    reps = sorted(members_of)
    rep_comps = [live_l[rep] for rep in reps]
    x_cols, y_cols = x.T[rep_comps].tolist(), y.T[rep_comps].tolist()
    classes = [
        SupportClass(tuple(members_of[rep]), tuple(i for i, v in enumerate(xc) if v),
                     tuple(j for j, v in enumerate(yc) if v))
        for rep, xc, yc in zip(reps, x_cols, y_cols, strict=True)
    ]
    bad = overlap & ~identical
    empty_t = tuple(int(k) for k in empty)
    if not bad.any():
        return Classification(pattern, tuple(classes), empty_t, True, False, REASON_DTO)
    a, b = (int(t) for t in np.argwhere(bad)[0])
    pair = (int(live[a]), int(live[b]))
    dto_failure = _pair_text(pair[0], pair[1], a, b, gi, gj)
    ok, why, bicl = _relaxed(pattern, classes)
    if ok:
        return Classification(pattern, tuple(classes), empty_t, False, True,
                              f"{REASON_RELAXED} (not DTO: {dto_failure})", pair, bicl)
    return Classification(pattern, tuple(classes), empty_t, False, False,
                          not_tractable_reason(dto_failure, why), pair)


def _relaxed(
    pattern: SupportPattern, classes: list[SupportClass]
) -> tuple[bool, str, dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]]]:
    """Check C1 and C2 (docs/theory.md); return (holds, reason if not, bicliques per non-CEC class index)."""
    m, n = pattern.m, pattern.n
    cec = [c for c in classes if c.complete]
    if not cec:
        return False, REASON_NO_CEC, {}
    widest = max((len(c.rows) for c in classes if not c.complete), default=0)
    check_memory(_RELAXED_BYTES_PER_ENTRY * m * n + 24 * widest * widest,
                 f"the {m}×{n} coverage tables of the relaxed condition", _subject(pattern),
                 "Split the pattern into independent blocks")
    s_t = np.zeros((m, n), dtype=bool)
    for c in cec:
        s_t[np.ix_(c.rows, c.cols)] = True
    noncec = [(idx, c) for idx, c in enumerate(classes) if not c.complete]
    owner = np.full((m, n), -1, dtype=np.int64)
    bicliques: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = {}
    for idx, c in noncec:
        omega = np.zeros((m, n), dtype=bool)
        omega[np.ix_(c.rows, c.cols)] = True
        omega &= ~s_t
        clash = omega & (owner >= 0)
        if clash.any():
            i, j = (int(t) for t in np.argwhere(clash)[0])
            other = classes[int(owner[i, j])]
            return (False, f"C1 fails: non-complete classes of components {other.components[0]} and "
                    f"{c.components[0]} both cover entry ({i}, {j}) outside the complete classes", {})
        owner[omega] = idx
        block = omega[np.ix_(c.rows, c.cols)]
        ok, comps = _biclique_components(block)
        if not ok:
            return (False, f"C2 fails: outside the complete classes, the support of class of component "
                    f"{c.components[0]} is not a union of full bicliques", {})
        bicliques[idx] = tuple((tuple(c.rows[i] for i in rs), tuple(c.cols[j] for j in cs)) for rs, cs in comps)
    return True, "", bicliques


def _biclique_components(block: np.ndarray) -> tuple[bool, list[tuple[list[int], list[int]]]]:
    """Is every connected component of the bipartite graph of ``block`` a full biclique?

    Holds iff any two rows are equal or disjoint (then columns are too). Returns the bicliques
    with at least one edge.
    """
    g = count_product(block, block.T)
    deg = np.diagonal(g)
    equal = (g == deg[:, None]) & (g == deg[None, :])
    if ((g > 0) & ~equal).any():
        return False, []
    comps: list[tuple[list[int], list[int]]] = []
    seen = np.zeros(block.shape[0], dtype=bool)
    for i in np.flatnonzero(deg > 0):
        if seen[i]:
            continue
        rows = np.flatnonzero(equal[i] & (deg > 0))
        seen[rows] = True
        comps.append(([int(t) for t in rows], [int(t) for t in np.flatnonzero(block[i])]))
    return True, comps
