"""Free lines: rows (or columns) of A that some components write on their own, whatever A is.

Let K be a set of components and R = ∪_{k ∈ K} I_k the rows they reach. Suppose that

1. *(coverage)* every entry of the union on the rows R is reached by a component of K, and
2. *(full)* the components of K, restricted to the rows R, reach every matrix on their union:
   P_K(R) = ℝ^{U[R]}.

Then ``P = ℝ^{U[R]} × P_rest`` on disjoint sets of coordinates, where ``P_rest`` is the pattern of the other
components on the other rows; so P is closed iff ``P_rest`` is, and a not-closed certificate of ``P_rest``
(zero on the rows R, the components of K kept at zero) is one of P. The same holds after transposition
(columns). Proof in docs/closedness.md, §3.11: it is Lemma B of §3.3 with the absorbed set a union of
whole rows, so that the projection of the other components is again a product set.

:func:`find_free_lines` looks for such a K (subsets by increasing size, under a counted budget) and proves
condition 2 with the solver-free whole-space rules (a single row or column, the free-rank count, iterated
absorption, a linear slice, scaled slices); :func:`check_free_lines` re-checks its evidence from the
pattern alone.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..support import SupportPattern

__all__ = ["find_free_lines", "check_free_lines", "full_space_evidence", "check_full_space", "MAX_SUBSETS"]

#: Default count of component subsets K the search may look at (both orientations): the rule's budget.
MAX_SUBSETS = 4096
#: Slices allowed to the scaled-slice proof of one sub-pattern's whole space (a count).
PEELING_SLICES = 2000
#: Nesting of free lines inside the whole-space proof of a sub-pattern, and the subsets looked at per level.
MAX_DEPTH = 2
SUB_SUBSETS = 256
#: Largest sub-pattern (free entries) given the slice-based whole-space proofs (dense exact ranks).
MAX_FREE_ENTRIES = 128


def _union_shape(pattern: SupportPattern) -> tuple[int, int]:
    union = pattern.union_mask()
    return int(union.any(axis=1).sum()), int(union.any(axis=0).sum())


def full_space_evidence(sub: SupportPattern, depth: int = 0) -> dict[str, Any] | None:
    """A solver-free proof that ``P(sub)`` is every matrix supported on its union, or None.

    Tried in order: the union has one row or one column (``"vector"``); one factor free with the
    dimension count of ``theorem:free-rank`` and ρ = min(rows, columns) of the union (``"free-rank"``);
    iterated absorption absorbing everything (``"absorption"``); a linear slice of full rank
    (``"linear-slice"``, with its integers); scaled slices (``"peeling"``, with its evidence); free lines inside
    ``sub`` whose rest is again the whole space (``"free-lines"``, recursively, at most ``MAX_DEPTH`` deep).

    Examples
    --------
    >>> full_space_evidence(SupportPattern(["11", "11"], ["10", "11", "11", "11"]))["rule"]
    'free-rank'
    >>> full_space_evidence(SupportPattern(["1", "1"], ["1", "1"])) is None  # rank one on 2 × 2
    True
    """
    from .peeling import peeling_onto
    from .theorems import absorption, free_factor_rank, linear_slice_onto

    if sub.is_trivial():
        return None
    rows, cols = _union_shape(sub)
    if min(rows, cols) == 1:
        return {"rule": "vector"}
    res = free_factor_rank(sub)
    if res is not None and res.details["rank"] == min(res.details["union_rows"], res.details["union_cols"]):
        return {"rule": "free-rank", "orientation": res.details["orientation"], "sizes": res.details["sizes"]}
    absorbed = absorption(sub)
    if absorbed.closed and not absorbed.blocks:
        return {"rule": "absorption"}
    if sub.num_free_entries() > MAX_FREE_ENTRIES:  # the slices below are dense exact ranks
        return None
    onto = linear_slice_onto(sub)
    if onto is not None:
        return {"rule": "linear-slice", **onto}
    peel = peeling_onto(sub, max_slices=PEELING_SLICES)
    if peel is not None:
        return {"rule": "peeling", **peel}
    if depth < MAX_DEPTH:  # free lines inside sub: P(sub) = ℝ^lines × P_rest is everything iff P_rest is
        inner = find_free_lines(sub, max_subsets=SUB_SUBSETS, depth=depth + 1)
        if inner is not None:
            rest = inner["rest"]
            if not rest["rows"] or not rest["cols"]:
                return {"rule": "free-lines", "lines": inner}
            rest_full = full_space_evidence(sub.restrict(rest["rows"], rest["cols"], rest["components"]), depth + 1)
            if rest_full is not None:
                return {"rule": "free-lines", "lines": inner, "rest_full": rest_full}
    return None


def check_full_space(sub: SupportPattern, evidence: dict[str, Any]) -> bool:
    """Re-check :func:`full_space_evidence` exactly from ``sub`` alone: True when it proves ``P(sub) = ℝ^union``."""
    import flint

    from .peeling import check_peeling
    from .theorems import absorption, free_factor_rank

    rule = evidence.get("rule")
    if sub.is_trivial():
        return False
    rows, cols = _union_shape(sub)
    if rule == "vector":
        return min(rows, cols) == 1
    if rule == "free-rank":
        res = free_factor_rank(sub)
        return res is not None and res.details["rank"] == min(res.details["union_rows"], res.details["union_cols"])
    if rule == "absorption":
        absorbed = absorption(sub)
        return absorbed.closed and not absorbed.blocks
    if rule == "linear-slice":
        try:
            x0 = np.array(evidence["fixed_x"], dtype=np.int64) * sub.x_support
            y0 = np.array(evidence["fixed_y"], dtype=np.int64) * sub.y_support
            sides = evidence["sides"]
            if x0.shape != sub.x_support.shape or y0.shape != sub.y_support.shape or len(sides) != sub.r:
                return False
        except (KeyError, TypeError, ValueError):
            return False
        cells = np.argwhere(sub.union_mask())
        ci, cj = cells[:, 0], cells[:, 1]
        columns = []
        for k, side in enumerate(sides):
            if side == "vary Y":
                columns += [np.where(cj == j, x0[ci, k], 0) for j in np.flatnonzero(sub.y_support[:, k])]
            elif side == "vary X":
                columns += [np.where(ci == i, y0[cj, k], 0) for i in np.flatnonzero(sub.x_support[:, k])]
            else:
                return False
        if len(columns) < len(cells):
            return False
        return bool(flint.fmpz_mat(np.stack(columns, axis=1).tolist()).rank() == len(cells))
    if rule == "peeling":
        return check_peeling(sub, {k: v for k, v in evidence.items() if k != "rule"})
    if rule == "free-lines":
        inner = evidence.get("lines")
        if not isinstance(inner, dict) or not check_free_lines(sub, inner):
            return False
        rest = inner["rest"]
        if not rest["rows"] or not rest["cols"]:
            return True
        full = evidence.get("rest_full")
        return isinstance(full, dict) and check_full_space(
            sub.restrict(rest["rows"], rest["cols"], rest["components"]), full)
    return False


def _covers(pattern: SupportPattern, row_union: np.ndarray, rows: list[int], comps: list[int]) -> bool:
    """Whether the components ``comps`` reach every entry of the union (``row_union``) on ``rows``."""
    x, y = pattern.x_support, pattern.y_support
    mine = (x[np.ix_(rows, comps)].astype(np.int64) @ y[:, comps].T.astype(np.int64)) > 0
    return bool((mine == row_union[rows]).all())


def find_free_lines(pattern: SupportPattern, max_subsets: int = MAX_SUBSETS, depth: int = 0) -> dict[str, Any] | None:
    """Find components K whose rows R (or columns, transposed) are free lines (see the module docstring).

    Returns
    -------
    dict or None
        ``orientation`` (``"rows"`` or ``"columns"``), ``lines`` (R, indices of ``pattern``), ``components``
        (K), ``full`` (the proof of condition 2 on the sub-pattern K × R, see :func:`full_space_evidence`;
        ``depth`` is the nesting of that proof, for its free-lines rule),
        and ``rest``: the rows, columns and components of ``P_rest`` (indices of ``pattern``). None when no
        subset within ``max_subsets`` (a count: the same answer on every machine) qualifies.

    Examples
    --------
    >>> p = SupportPattern(["10", "10", "11"], ["11", "11", "01"])  # row 2 is written by component 1 alone
    >>> ev = find_free_lines(p)
    >>> ev["orientation"], ev["lines"], ev["components"], ev["full"]["rule"]
    ('rows', [2], [1], 'vector')
    >>> check_free_lines(p, ev)
    True

    Notes
    -----
    Subsets of the live components by increasing size (K a proper subset, at least one component left),
    each with an ``O(|R| n |K|)`` coverage test against the union; only subsets passing it get a
    whole-space proof attempt (the slice-based ones only on sub-patterns of at most ``MAX_FREE_ENTRIES``
    free entries).
    """
    live = [int(k) for k in np.flatnonzero(~pattern.empty_components())]
    if len(live) < 2:
        return None
    left = max_subsets
    sides = [(name, q, q.union_mask()) for name, q in (("rows", pattern), ("columns", pattern.transpose()))]
    for size in range(1, len(live)):
        for orientation, q, union in sides:
            for comps in itertools.combinations(live, size):
                if left <= 0:
                    return None
                left -= 1
                rows = [int(i) for i in np.flatnonzero(q.x_support[:, list(comps)].any(axis=1))]
                if not _covers(q, union, rows, list(comps)):
                    continue
                cols = [int(j) for j in np.flatnonzero(union[rows].any(axis=0))]
                sub = q.restrict(rows, cols, list(comps))
                full = full_space_evidence(sub, depth)
                if full is None:
                    continue
                rest_rows = [i for i in range(q.m) if i not in rows and union[i].any()]
                rest_comps = [k for k in live if k not in comps]
                rest_cols = [int(j) for j in np.flatnonzero(union[rest_rows].any(axis=0))] if rest_rows else []
                rest = {"rows": rest_rows, "cols": rest_cols, "components": rest_comps}
                if orientation == "columns":
                    rest = {"rows": rest_cols, "cols": rest_rows, "components": rest_comps}
                return {"orientation": orientation, "lines": rows, "line_cols": cols, "components": list(comps),
                        "full": full, "rest": rest}
    return None


def check_free_lines(pattern: SupportPattern, evidence: dict[str, Any]) -> bool:
    """Re-check the evidence of :func:`find_free_lines` from ``pattern`` alone: coverage, the whole-space proof
    of the sub-pattern (exactly) and the description of ``P_rest``. Malformed evidence gives False."""
    try:
        q = pattern.transpose() if evidence["orientation"] == "columns" else pattern
        if evidence["orientation"] not in ("rows", "columns"):
            return False
        comps = [int(k) for k in evidence["components"]]
        live = [int(k) for k in np.flatnonzero(~pattern.empty_components())]
        if not comps or len(set(comps)) != len(comps) or not set(comps) < set(live):
            return False
        rows = [int(i) for i in np.flatnonzero(q.x_support[:, comps].any(axis=1))]
        union = q.union_mask()
        cols = [int(j) for j in np.flatnonzero(union[rows].any(axis=0))]
        if rows != list(evidence["lines"]) or cols != list(evidence["line_cols"]) or not _covers(q, union, rows, comps):
            return False
        if not check_full_space(q.restrict(rows, cols, comps), evidence["full"]):
            return False
        rest_rows = [i for i in range(q.m) if i not in rows and union[i].any()]
        rest_cols = [int(j) for j in np.flatnonzero(union[rest_rows].any(axis=0))] if rest_rows else []
        if evidence["orientation"] == "columns":
            rest_rows, rest_cols = rest_cols, rest_rows
        rest = evidence["rest"]
        return (list(rest["rows"]) == rest_rows and list(rest["cols"]) == rest_cols
                and list(rest["components"]) == [k for k in live if k not in comps])
    except (KeyError, TypeError, ValueError, IndexError):
        return False
