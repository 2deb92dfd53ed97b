"""Closed-by-theorem rules without a solver: each returns a reason (and evidence) when it proves P_{I,J}
closed, else None. The rules that need z3 (determinantal and full-space tests) are in
:mod:`wellposed.closedness.determinantal`.

Rules, in the order the pipeline tries them (proofs in docs/closedness.md):

* ``trivial`` — every component empty: P = {0}.
* ``vector`` — after restricting to the union of the supports, m = 1 or n = 1: P = ℝ^{union}.
* ``dto`` / ``relaxed`` — the tractability theorems of :mod:`wellposed.classify`: P is a zero pattern plus
  rank bounds on disjoint blocks.
* ``pointed-cones`` — iterated absorption: P is a sum of closed cones C_P (rank ≤ |P| on R_P × C_P).
  Complete cones are subspaces; absorbing them (zeroing their entries, map π) keeps closedness in both
  directions. A cone whose remaining support is a disjoint union of full bicliques projects to a closed
  cone, the direct sum of rank-≤|P| blocks; blocks that became complete are absorbed in turn. When the
  remaining blocks are pairwise disjoint the sum is direct, hence closed.
* ``schubert`` (:func:`nested_free_factor`) — on the union of the supports one factor is unconstrained
  (every component reaches every column, or every row) and the other factor's supports form a chain
  under inclusion: P is a Schubert-type rank variety ``rank A[rows outside I_(k), :] ≤ r − k``.
* ``laminar`` (:func:`laminar_free_factor`) — one factor free, the other's supports laminar (any two
  nested or disjoint): the column spaces of P form a family closed under limits.
* ``free-rank`` (:func:`free_factor_rank`) — one factor free, the other's supports large enough that
  every matrix of rank ≤ ρ is a product: P is a determinantal set.
* ``free-hyperplane`` (:func:`free_factor_hyperplanes`) — one factor free, and every hyperplane of the other
  factor's lines lies in the span of vectors on its supports (one exact integer check per type of
  hyperplane ``Σ_{j∈Z} x_j = 0``): P is the set of matrices on the union of rank ≤ min(m_u, n_u − 1) or all of
  them.
* ``full-space`` by a linear slice (:func:`linear_slice_onto`) — with one factor of each component fixed,
  the product is a linear map onto every matrix supported on the union (exact integer rank).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..classify import CLOSED_BY_BLOCKS, Classification, classify
from ..overlaps import biclique_components, meeting_pairs
from ..support import SupportPattern

__all__ = ["TheoremResult", "closed_by_theorem", "absorption", "AbsorptionResult", "linear_slice_onto",
           "nested_free_factor", "laminar_free_factor", "free_factor_rank", "free_factor_hyperplanes",
           "check_free_hyperplanes"]


@dataclass(frozen=True)
class TheoremResult:
    """A closed-by-theorem verdict: the rule id (``"theorem:..."``), a reason and evidence."""

    method: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AbsorptionResult:
    """Outcome of iterated absorption.

    ``absorbed`` is the final absorbed mask S (m×n); ``blocks`` the remaining rank-bounded blocks
    ``(rows, cols, budget)`` outside S; ``stuck`` the cones whose remaining support is not a union of
    full bicliques (``(rows, cols, budget)``); ``overlapping`` a pair of remaining blocks sharing an
    entry, if any; ``rounds`` the number of absorption rounds.
    """

    absorbed: np.ndarray
    blocks: tuple[tuple[tuple[int, ...], tuple[int, ...], int], ...]
    stuck: tuple[tuple[tuple[int, ...], tuple[int, ...], int], ...]
    overlapping: tuple[int, int] | None
    rounds: int

    @property
    def closed(self) -> bool:
        """True when the rule proves closedness: nothing stuck and the remaining blocks are disjoint."""
        return not self.stuck and self.overlapping is None


def _split_bicliques(omega: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Split a boolean block into full bicliques (rows equal or disjoint), or None if impossible."""
    comps = biclique_components(omega)
    if comps is None:
        return None
    return [(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)) for rows, cols in comps]


def _remaining(absorbed: np.ndarray, touched_rows: np.ndarray, touched_cols: np.ndarray, rows: np.ndarray,
               cols: np.ndarray) -> np.ndarray | str | None:
    """The cone's block ``rows × cols`` minus the absorbed entries, looking only where entries are absorbed.

    None when no entry of the block is absorbed; ``"stuck"`` when a row of the block keeps all its columns
    while another keeps some but not all (two unequal rows that meet: not a union of full bicliques);
    else the boolean block itself. Cost ``O(|rows| + |cols|)`` plus the absorbed sub-block.
    """
    hit_rows = touched_rows[rows]
    hit_cols = touched_cols[cols]
    if not hit_rows.any() or not hit_cols.any():
        return None
    sub = absorbed[np.ix_(rows[hit_rows], cols[hit_cols])]
    if not sub.any():
        return None
    full_rows = (~hit_rows).any() or not sub.any(axis=1).all()
    if full_rows:
        cut = sub.any(axis=1)
        keeps_some = (~sub[cut]).any(axis=1) | (~hit_cols).any()
        if keeps_some.any():
            return "stuck"
    return ~absorbed[np.ix_(rows, cols)]


def absorption(pattern: SupportPattern, classification: Classification | None = None) -> AbsorptionResult:
    """Run iterated absorption of complete blocks on ``pattern`` (see the module docstring).

    Examples
    --------
    >>> from wellposed.families import family
    >>> res = absorption(family("full:3,3,2"))
    >>> res.closed, res.blocks
    (True, (((0, 1, 2), (0, 1, 2), 2),))
    >>> absorption(family("lu:2")).stuck
    (((0, 1), (0, 1), 1),)

    Notes
    -----
    Each round costs ``O(Σ |R| |C|)`` over the cones (each reads its own block of the absorbed mask and
    splits it into bicliques by sorting its rows); there are at most ``c`` rounds that absorb something.
    The final disjointness test is a sparse Gram product of the blocks. ``classification`` may be passed
    in when already computed.
    """
    m, n = pattern.m, pattern.n
    cls = classify(pattern) if classification is None else classification
    if len(cls.classes) and not cls.classes.complete.any():
        # nothing is ever absorbed: the blocks are the classes, and they overlap as the classes do
        t, ov = cls.classes, cls.overlaps
        class_blocks = tuple((tuple(t.rows_of(c).tolist()), tuple(t.cols_of(c).tolist()), int(t.sizes[c]))
                             for c in range(len(t)))
        empty = np.zeros((m, n), dtype=bool)
        empty.setflags(write=False)
        return AbsorptionResult(empty, class_blocks, (), (int(ov.a[0]), int(ov.b[0])) if len(ov) else None, 1)
    t = cls.classes
    cones: list[tuple[np.ndarray, np.ndarray, int]] = [(t.rows_of(c), t.cols_of(c), int(t.sizes[c]))
                                                       for c in range(len(t))]
    absorbed = np.zeros((m, n), dtype=bool)
    touched_rows = np.zeros(m, dtype=bool)  # rows and columns holding an absorbed entry
    touched_cols = np.zeros(n, dtype=bool)
    rounds = 0
    while True:
        rounds += 1
        changed = False
        # absorb complete cones first (they are subspaces)
        keep = []
        for rows, cols, k in cones:
            if k >= min(len(rows), len(cols)):
                absorbed[np.ix_(rows, cols)] = True
                touched_rows[rows] = True
                touched_cols[cols] = True
                changed = True
            else:
                keep.append((rows, cols, k))
        nxt: list[tuple[np.ndarray, np.ndarray, int]] = []
        stuck: list[tuple[np.ndarray, np.ndarray, int]] = []
        for rows, cols, k in keep:
            omega = _remaining(absorbed, touched_rows, touched_cols, rows, cols)
            if omega is None:  # nothing of the cone is absorbed
                nxt.append((rows, cols, k))
                continue
            if isinstance(omega, str):  # a whole row and a cut row meet: not a union of bicliques
                stuck.append((rows, cols, k))
                continue
            if not omega.any():
                changed = True
                continue
            if omega.all():
                nxt.append((rows, cols, k))
                continue
            blocks = _split_bicliques(omega)
            if blocks is None:
                stuck.append((rows, cols, k))
                continue
            changed = True
            nxt.extend((rows[br], cols[bc], k) for br, bc in blocks)
        cones = nxt + stuck
        if not changed:
            break
    stuck_set = {id(c) for c in stuck}
    blocks_final = [c for c in cones if id(c) not in stuck_set]
    overlap = None
    if len(blocks_final) > 1:
        row_masks = np.zeros((m, len(blocks_final)), dtype=bool)
        col_masks = np.zeros((n, len(blocks_final)), dtype=bool)
        for idx, (rows, cols, _) in enumerate(blocks_final):
            row_masks[rows, idx] = True
            col_masks[cols, idx] = True
        a_idx, b_idx, _, _ = meeting_pairs(row_masks, col_masks)
        if a_idx.size:
            overlap = (int(a_idx[0]), int(b_idx[0]))

    def tup(c: tuple[np.ndarray, np.ndarray, int]) -> tuple[tuple[int, ...], tuple[int, ...], int]:
        return (tuple(np.asarray(c[0]).tolist()), tuple(np.asarray(c[1]).tolist()), int(c[2]))

    absorbed.setflags(write=False)
    return AbsorptionResult(absorbed, tuple(tup(c) for c in blocks_final), tuple(tup(c) for c in stuck),
                            overlap, rounds)


def closed_by_theorem(pattern: SupportPattern, classification: Classification | None = None) -> TheoremResult | None:
    """Try the closed-by-theorem rules in order; return the first that applies, else None.

    Parameters
    ----------
    pattern : SupportPattern
        Any pattern (empty components and uncovered rows/columns are allowed).

    Examples
    --------
    >>> from wellposed.families import family
    >>> closed_by_theorem(family("full:3,3,2")).method
    'theorem:dto'
    >>> closed_by_theorem(family("lu:3")) is None
    True

    Notes
    -----
    Cost dominated by :func:`wellposed.classify.classify` and :func:`absorption`: polynomial, no solver.
    ``classification`` (of this very pattern) may be passed in when already computed.
    """
    if pattern.is_trivial():
        return TheoremResult("theorem:trivial", "every component is empty, so P = {0}", {})
    live = ~pattern.empty_components()
    m_eff = int(pattern.x_support[:, live].any(axis=1).sum())  # rows and columns of the union of the supports
    n_eff = int(pattern.y_support[:, live].any(axis=1).sum())
    if min(m_eff, n_eff) == 1:
        return TheoremResult(
            "theorem:vector",
            f"the union of the supports spans {m_eff} row(s) and {n_eff} column(s); with a single row "
            "or column every component is complete, so P is the space of matrices supported on the union",
            {"rows": m_eff, "cols": n_eff})
    cls = classify(pattern) if classification is None else classification
    if cls.dto:
        return TheoremResult("theorem:dto", cls.reason + CLOSED_BY_BLOCKS, {"classes": len(cls.classes)})
    if cls.relaxed:
        return TheoremResult("theorem:relaxed", cls.reason + CLOSED_BY_BLOCKS, {"classes": len(cls.classes)})
    res = absorption(pattern, cls)
    if res.closed:
        covered = int(res.absorbed.sum())
        if not res.blocks:
            what = "every cone is absorbed, so P is the space of all matrices supported on the union"
        else:
            what = (f"{covered} entries absorbed by complete blocks, then {len(res.blocks)} pairwise "
                    "disjoint rank-bounded blocks: a direct sum of closed cones")
        return TheoremResult("theorem:pointed-cones", f"iterated absorption ({res.rounds} rounds): {what}",
                             {"absorbed_entries": covered, "blocks": [list(map(list, b[:2])) + [b[2]]
                                                                      for b in res.blocks]})
    return (nested_free_factor(pattern) or laminar_free_factor(pattern) or free_factor_rank(pattern)
            or free_factor_hyperplanes(pattern))


@dataclass(frozen=True)
class _FreeSide:
    """One orientation of a pattern whose ``free`` factor is unconstrained on the union (every live component
    reaches every used line of it): the live columns of both factors and the words the verdicts use."""

    orientation: str
    what: str  # the free factor, "Y" or "X"
    side: str  # what each component of the free factor reaches, "column" or "row"
    used: np.ndarray  # lines of the free factor reached by some live component
    other: np.ndarray  # the other factor restricted to the live components


def _free_sides(pattern: SupportPattern) -> Iterator[_FreeSide]:
    """The orientations (as given: Y free; transposed: X free) in which one factor is free on the union."""
    live = ~pattern.empty_components()
    if not live.any():
        return
    for orientation, what, side, free, other in (
            ("as given", "Y", "column", pattern.y_support, pattern.x_support),
            ("transposed", "X", "row", pattern.x_support, pattern.y_support)):
        free_live = free[:, live]
        used: np.ndarray = np.asarray(free_live.any(axis=1))
        if free_live[used].all():
            yield _FreeSide(orientation, what, side, used, other[:, live])


def _support_sets(other: np.ndarray) -> list[frozenset[int]]:
    """The support of each column of ``other`` as a set of line indices."""
    return [frozenset(np.flatnonzero(other[:, k]).tolist()) for k in range(other.shape[1])]


def laminar_free_factor(pattern: SupportPattern) -> TheoremResult | None:
    """``theorem:laminar``: one factor free on the union, the other's supports laminar (nested or disjoint).

    Restricted to the union, if every live component reaches every column (Y unconstrained) and any two
    row sets ``I_k``, ``I_l`` are nested or disjoint (a forest under inclusion), P is closed (proof in
    docs/closedness.md, §3.8: the column spaces of P form a family closed under limits, built from the
    leaves up by adding free vectors and taking direct sums over disjoint rows). The transposed statement
    (X free, the ``J_k`` laminar) is tried too. Chains are left to :func:`nested_free_factor`, which also
    describes P. Returns the evidence (orientation, the distinct supports with their multiplicity and
    parent in the forest), or None.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["110", "110", "101"], ["111", "111"])  # Y free; {0,1,2} ⊃ {0,1}, {2}
    >>> res = laminar_free_factor(p)
    >>> res.method, res.details["supports"]
    ('theorem:laminar', [[0, 1, 2], [0, 1], [2]])
    >>> laminar_free_factor(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # {0,1}, {1,2} cross
    True

    Notes
    -----
    ``O(r² max(m, n))``: one inclusion test per pair of components.
    """
    for fs in _free_sides(pattern):
        sets = _support_sets(fs.other)
        if any(not (a <= b or b <= a or not a & b) for a, b in itertools.combinations(sets, 2)):
            continue
        distinct = sorted(set(sets), key=lambda s: (-len(s), sorted(s)))
        parents = [next((q for q in range(len(distinct)) if q != d and distinct[d] < distinct[q]
                         and all(not distinct[d] < distinct[z] or distinct[q] <= distinct[z]
                                 for z in range(len(distinct)) if z != d)), None)
                   for d in range(len(distinct))]
        return TheoremResult(
            "theorem:laminar",
            f"{fs.what} is unconstrained on the union (every component reaches every {fs.side}) and the other "
            f"factor's {len(sets)} supports are laminar (any two nested or disjoint: a forest of "
            f"{len(distinct)} distinct supports), so the column spaces of P form a family closed under limits: "
            "closed",
            {"orientation": fs.orientation, "supports": [sorted(s) for s in distinct],
             "multiplicity": [sets.count(s) for s in distinct], "parent": parents})
    return None


def free_factor_rank(pattern: SupportPattern) -> TheoremResult | None:
    """``theorem:free-rank``: one factor free, the other's supports large enough that P is a rank variety.

    Restricted to the union (``m_u`` rows, ``n_u`` columns), let Y be unconstrained (every live component
    reaches every column) and ``ρ = min(r, m_u, n_u)``. If for every ``d ≤ ρ`` the ``d`` largest row
    supports, in increasing order of size ``s_(1) ≤ … ≤ s_(d)``, satisfy ``s_(t) ≥ m_u − d + t``, then every
    subspace of dimension d of ℝ^{m_u} has a basis with one vector in each of these supports (greedy choice
    by dimension count), so P = { A on the union : rank A ≤ ρ }, a closed determinantal set (proof in
    docs/closedness.md, §3.9). The transposed statement is tried too. Returns the evidence (orientation,
    sizes, ``ρ``), or None.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> # X free on 3 rows; column supports {0,1,3}, {2,3} and all four columns (they cross)
    >>> p = SupportPattern(["111", "111", "111"], ["101", "101", "011", "111"])
    >>> res = free_factor_rank(p)
    >>> res.method, res.details["orientation"], res.details["rank"]
    ('theorem:free-rank', 'transposed', 3)
    >>> free_factor_rank(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # not closed
    True

    Notes
    -----
    ``O(r log r + r²)`` after the support sizes.
    """
    for fs in _free_sides(pattern):
        m_u, n_u = int(fs.other.any(axis=1).sum()), int(fs.used.sum())
        sizes = sorted(int(s) for s in fs.other.sum(axis=0))
        rho = min(len(sizes), m_u, n_u)
        if all(sizes[len(sizes) - d + t - 1] >= m_u - d + t for d in range(1, rho + 1) for t in range(1, d + 1)):
            return TheoremResult(
                "theorem:free-rank",
                f"{fs.what} is unconstrained on the union (every component reaches every {fs.side}) and the other "
                f"factor's support sizes {sizes} leave room, for every d ≤ {rho}, for a basis of any d-dimensional "
                f"space with one vector in each of the d largest supports: P is the set of matrices on the union "
                f"of rank ≤ {rho}, closed",
                {"orientation": fs.orientation, "sizes": sizes, "union_rows": m_u, "union_cols": n_u, "rank": rho})
    return None


#: Counted caps of :func:`free_factor_hyperplanes`: lines of the constrained factor on the union, types of
#: hyperplane checked, integer draws per type.
HYPERPLANE_MAX_LINES = 32
HYPERPLANE_MAX_TYPES = 4096
HYPERPLANE_TRIALS = 3


def _matching(sub: np.ndarray) -> list[int]:
    """A maximum matching of the lines (rows of ``sub``) to components (columns of ``sub``, an edge where
    ``sub`` is True), by augmenting paths: ``owner[k]`` is the line matched to component k, or -1."""
    owner = [-1] * sub.shape[1]
    adj = [np.flatnonzero(sub[a]).tolist() for a in range(sub.shape[0])]

    def augment(a: int, seen: set[int]) -> bool:
        for k in adj[a]:
            if k not in seen:
                seen.add(k)
                if owner[k] < 0 or augment(owner[k], seen):
                    owner[k] = a
                    return True
        return False

    for a in range(sub.shape[0]):
        augment(a, set())
    return owner


def _twin_classes(sub: np.ndarray) -> list[list[int]]:
    """The lines (rows of ``sub``) grouped by the set of components reaching them, in first-seen order."""
    groups: dict[bytes, list[int]] = {}
    for a in range(sub.shape[0]):
        groups.setdefault(sub[a].tobytes(), []).append(a)
    return list(groups.values())


def _hyperplane_basis(size: int, z: list[int], within: list[int] | None = None) -> list[list[int]]:
    """Integer basis vectors (length ``size``) of H_Z ∩ ℝ^{within} with H_Z = {x : Σ_{a∈Z} x_a = 0}:
    e_a for a off Z, e_a − e_p for the other a of Z (p the first line of Z inside ``within``)."""
    lines = list(range(size)) if within is None else within
    zset = set(z)
    inside = [a for a in lines if a in zset]
    basis = []
    for a in lines:
        if a in zset and a == inside[0]:
            continue
        v = [0] * size
        v[a] = 1
        if a in zset:
            v[inside[0]] = -1
        basis.append(v)
    return basis


def _covers(factor: list[list[int]], z: list[int]) -> bool:
    """Exact test H_Z ⊆ span(columns of ``factor``): rank [F | basis of H_Z] = rank F (python-flint)."""
    import flint

    size = len(factor)
    basis = _hyperplane_basis(size, z)
    f = flint.fmpz_mat(factor)
    both = flint.fmpz_mat([list(factor[a]) + [v[a] for v in basis] for a in range(size)])
    return bool(both.rank() == f.rank())


def _sides_of(pattern: SupportPattern, orientation: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(free, other)`` masks of the orientation named in evidence (as :func:`_free_sides` names them)."""
    if orientation == "as given":
        return pattern.y_support, pattern.x_support
    if orientation == "transposed":
        return pattern.x_support, pattern.y_support
    return None


def free_factor_hyperplanes(pattern: SupportPattern, seed: int = 0) -> TheoremResult | None:
    """``theorem:free-hyperplane``: one factor free, every hyperplane within the span of the other's supports.

    Restricted to the union, let X be unconstrained (every live component reaches every row; ``m_u`` rows)
    and let the ``n_u`` columns of the union carry the supports ``J_k``. Then A ∈ P iff the row space of A
    lies in ``span(y_1, …, y_r)`` for some ``y_k ∈ ℝ^{J_k}``. If the columns can be matched to distinct
    components, a 0/1 Y of rank ``n_u`` gives P = every matrix on the union. Otherwise, if every
    hyperplane ``H_Z = {x : Σ_{j∈Z} x_j = 0}`` (Z a nonempty set of columns; every hyperplane is one of them
    after a diagonal scaling that keeps supports) lies in such a span, P = { A on the union :
    rank A ≤ min(m_u, n_u − 1) }: closed either way (proof in docs/closedness.md, §3.10). Z is taken up to
    permutations of columns reached by the same components; for each type, integer combinations of a
    basis of ``H_Z ∩ ℝ^{J_k}`` are drawn (seeded, :data:`HYPERPLANE_TRIALS` draws) and the inclusion is
    checked by exact integer ranks. The transposed statement (Y free) is tried too. Returns the evidence
    (orientation, lines, components, the integer factor of each type of Z), which
    :func:`check_free_hyperplanes` re-checks, or None (no claim: a type without a covering draw, or
    above the caps).

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> # X free on 3 rows; column supports {1,2,3}, {0,2,3}, {0,1,3}: every 3 × 4 matrix is a product
    >>> p = SupportPattern(["111", "111", "111"], ["011", "101", "110", "111"])
    >>> res = free_factor_hyperplanes(p)
    >>> res.method, res.details["orientation"], res.details["kind"], len(res.details["hyperplanes"])
    ('theorem:free-hyperplane', 'transposed', 'hyperplanes', 15)
    >>> check_free_hyperplanes(p, res.details)
    True
    >>> free_factor_hyperplanes(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # not closed
    True

    Notes
    -----
    A maximum matching, then per type of Z (at most ``∏ (t_c + 1) − 1`` over the classes of twin lines,
    capped at :data:`HYPERPLANE_MAX_TYPES`, with at most :data:`HYPERPLANE_MAX_LINES` lines) up to
    :data:`HYPERPLANE_TRIALS` exact ranks of ``n_u × (r + n_u − 1)`` integer matrices. Counted caps only.
    """
    for fs in _free_sides(pattern):
        lines = np.flatnonzero(fs.other.any(axis=1))
        size = len(lines)
        if size > HYPERPLANE_MAX_LINES:
            continue
        sub = fs.other[lines]
        r_live = sub.shape[1]
        owner = _matching(sub)
        matched = sum(o >= 0 for o in owner)
        if matched < size - 1:
            continue  # rank Y ≤ n_u − 2: no hyperplane is a span
        free_lines = int(fs.used.sum())
        comps = np.flatnonzero(~pattern.empty_components()).tolist()
        head: dict[str, Any] = {"orientation": fs.orientation, "lines": lines.tolist(), "components": comps}
        line_word = "column" if fs.side == "row" else "row"
        if matched == size:
            factor = [[int(owner[k] == a) for k in range(r_live)] for a in range(size)]
            return TheoremResult(
                "theorem:free-hyperplane",
                f"{fs.what} is unconstrained on the union (every component reaches every {fs.side}) and the "
                f"{size} {line_word}s of the union are matched to distinct components, so a 0/1 factor on the "
                f"supports has rank {size} and P is every matrix supported on the union: closed",
                {**head, "kind": "spanning", "rank": min(free_lines, size), "factor": factor})
        classes = _twin_classes(sub)
        types = 1
        for c in classes:
            types *= len(c) + 1
        if types - 1 > HYPERPLANE_MAX_TYPES:
            continue
        rng = np.random.default_rng(seed)
        supports = [np.flatnonzero(sub[:, k]).tolist() for k in range(r_live)]
        covered = []
        for counts in itertools.product(*(range(len(c) + 1) for c in classes)):
            if not any(counts):
                continue
            z = sorted(a for c, t in zip(classes, counts, strict=True) for a in c[:t])
            bases = [np.array(_hyperplane_basis(size, z, supports[k]), dtype=np.int64).reshape(-1, size)
                     for k in range(r_live)]
            for _ in range(HYPERPLANE_TRIALS):
                cols = [b.T @ rng.integers(-97, 98, size=len(b)) if len(b) else np.zeros(size, dtype=np.int64)
                        for b in bases]
                factor = np.stack(cols, axis=1).astype(int).tolist()
                if _covers(factor, z):
                    covered.append({"z": lines[z].tolist(), "factor": factor})
                    break
            else:
                break
        else:
            rho = min(free_lines, size - 1)
            what = ("every matrix supported on the union" if rho == free_lines
                    else f"the set of matrices on the union of rank ≤ {rho}")
            return TheoremResult(
                "theorem:free-hyperplane",
                f"{fs.what} is unconstrained on the union (every component reaches every {fs.side}) and each of "
                f"the {len(covered)} types of hyperplane Σ_(j∈Z) a_j = 0 of the {size} {line_word}s lies in the "
                f"span of integer vectors on the other factor's supports (exact ranks; every hyperplane is one of "
                f"them after a scaling), so every matrix on the union of rank ≤ {size - 1} is a product and P is "
                f"{what}: closed",
                {**head, "kind": "hyperplanes", "rank": rho, "twins": [lines[c].tolist() for c in classes],
                 "hyperplanes": covered})
    return None


def check_free_hyperplanes(pattern: SupportPattern, evidence: dict[str, Any]) -> bool:
    """Re-verify the evidence of :func:`free_factor_hyperplanes` exactly; True when it proves P closed.

    From the pattern alone: the named factor is free on the union, the lines and live components are
    those of the union; for ``"spanning"`` the integer factor lies on the supports and has full rank
    ``n_u``; for ``"hyperplanes"`` the columns cannot all be matched (rank ≤ n_u − 1 on P), the sets Z
    given meet every class of twin lines in every possible count (so every Z is one of them up to a
    permutation of twin lines, which keeps every support), and each factor lies on the supports with
    ``rank [F | basis of H_Z] = rank F`` (python-flint). Malformed evidence gives False.
    """
    try:
        sides = _sides_of(pattern, evidence["orientation"])
        if sides is None:
            return False
        free, other = sides
        live = ~pattern.empty_components()
        free_live = free[:, live]
        used = free_live.any(axis=1)
        if not used.any() or not free_live[used].all():
            return False
        lines = np.flatnonzero(other[:, live].any(axis=1))
        if evidence["lines"] != lines.tolist() or evidence["components"] != np.flatnonzero(live).tolist():
            return False
        sub = other[lines][:, live]
        size, r_live = sub.shape
        position = {int(line): a for a, line in enumerate(lines)}

        def on_supports(factor: Any) -> list[list[int]] | None:
            if not isinstance(factor, list) or len(factor) != size:
                return None
            if not all(isinstance(row, list) and len(row) == r_live and all(type(v) is int for v in row)
                       for row in factor):
                return None
            arr = np.array(factor, dtype=object).reshape(size, r_live)
            return None if any(arr[~sub]) else factor

        matched = sum(o >= 0 for o in _matching(sub))
        rank = min(int(used.sum()), size)
        if evidence["kind"] == "spanning":
            import flint

            factor = on_supports(evidence["factor"])
            return (factor is not None and evidence["rank"] == rank
                    and int(flint.fmpz_mat(factor).rank()) == size)
        if evidence["kind"] != "hyperplanes" or matched == size or evidence["rank"] != min(rank, size - 1):
            return False
        classes = _twin_classes(sub)
        wanted = {counts for counts in itertools.product(*(range(len(c) + 1) for c in classes)) if any(counts)}
        seen = set()
        for item in evidence["hyperplanes"]:
            z_lines = item["z"]
            if not isinstance(z_lines, list) or any(type(v) is not int or v not in position for v in z_lines) \
                    or len(set(z_lines)) != len(z_lines) or not z_lines:
                return False
            z = sorted(position[v] for v in z_lines)
            seen.add(tuple(sum(a in c for a in z) for c in classes))
            factor = on_supports(item["factor"])
            if factor is None or not _covers(factor, z):
                return False
        return seen == wanted
    except (KeyError, TypeError, ValueError):
        return False


def nested_free_factor(pattern: SupportPattern) -> TheoremResult | None:
    """``theorem:schubert``: one factor free on the union, the other's supports nested (a chain).

    Restricted to the rows and columns of the union of the supports, if every live component reaches
    every column (J is all ones there: Y is unconstrained) and the row sets ``I_k`` are totally ordered
    by inclusion, ``I_(1) ⊆ … ⊆ I_(r)``, then

        P = { A on the union : rank A[rows ∉ I_(k), :] ≤ r − k for k = 1, …, r },

    a finite intersection of rank conditions, hence closed (proof in docs/closedness.md, §3.5). The
    transposed statement (I all ones, the ``J_k`` nested) is tried too. Returns the rule's evidence (the
    orientation and the chain with its rank bounds), or None.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["11", "11", "11"], ["10", "11", "11", "11"])  # X free, J_1 ⊂ J_0
    >>> res = nested_free_factor(p)
    >>> res.details["orientation"], res.details["chain"], res.details["bounds"]
    ('transposed', [[1, 2, 3], [0, 1, 2, 3]], [[[0, 1, 2, 3], 2]])
    >>> nested_free_factor(SupportPattern(["10", "11", "01"], ["11", "11"])) is None  # {0,1}, {1,2}: not nested
    True

    Notes
    -----
    ``O(r² max(m, n))``: one inclusion test per pair of components.
    """
    for fs in _free_sides(pattern):
        sets = _support_sets(fs.other)
        order = sorted(range(len(sets)), key=lambda k: len(sets[k]))
        if any(not sets[a] <= sets[b] for a, b in itertools.pairwise(order)):
            continue
        r = len(sets)
        union_rows = np.flatnonzero(fs.other.any(axis=1)).tolist()
        width = int(fs.used.sum())
        bounds = []  # the bounds that are not implied by the shape of the sub-matrix
        for pos, k in enumerate([None, *order]):
            outside = sorted(set(union_rows) - (sets[k] if k is not None else set()))
            if r - pos < min(len(outside), width):
                bounds.append([outside, r - pos])
        return TheoremResult(
            "theorem:schubert",
            f"{fs.what} is unconstrained on the union (every component reaches every {fs.side}) and the other "
            f"factor's {len(sets)} supports are nested, so P is the Schubert-type set of matrices on the union "
            f"whose {fs.side}s outside the k-th smallest support have rank ≤ r − k ({len(bounds)} rank bound(s) "
            "beyond the shape): closed",
            {"orientation": fs.orientation, "chain": [sorted(sets[k]) for k in order], "bounds": bounds})
    return None


def linear_slice_onto(pattern: SupportPattern, seed: int = 0, trials: int = 2) -> dict[str, Any] | None:
    """Find fixed numeric values for one side of each component making ``(free side) ↦ X Yᵀ`` onto ℝ^{union}.

    For each choice of side per component (fix ``x_k`` and vary ``y_k``, or the reverse) and random
    nonzero integers on the fixed side, the product is linear in the free entries; if that linear map
    has rank ``|union|`` (exact integer rank, python-flint), every matrix supported on the union is a
    product, so P = ℝ^{union} is closed. Returns the evidence (sides, fixed values) or None.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["111", "111"], ["110", "101", "011"])  # 2×3, column supports {0,1},{0,2},{1,2}
    >>> linear_slice_onto(p)["rank"]
    6
    >>> from wellposed.families import family
    >>> linear_slice_onto(family("lu:2")) is None
    True

    Notes
    -----
    ``2^r · trials`` exact ranks of ``|union| × (free entries)`` integer matrices (fraction-free
    elimination in python-flint); for ``r > 6`` only the two uniform side choices are tried, and
    nothing for ``r > 12``.
    """
    import flint

    m, n, r = pattern.shape
    if r > 12:
        return None
    union = pattern.union_mask()
    cells = np.argwhere(union)
    target = len(cells)
    x, y = pattern.x_support, pattern.y_support
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        x0 = rng.integers(1, 98, size=(m, r)) * x
        y0 = rng.integers(1, 98, size=(n, r)) * y
        choices = itertools.product((0, 1), repeat=r) if r <= 6 else iter([(0,) * r, (1,) * r])
        for sides in choices:
            side = np.array(sides, dtype=bool)
            # variables: y_{j,k} for components with side 0, x_{i,k} for side 1
            yk = [(j, k) for k in np.flatnonzero(~side) for j in np.flatnonzero(y[:, k])]
            xk = [(i, k) for k in np.flatnonzero(side) for i in np.flatnonzero(x[:, k])]
            if len(yk) + len(xk) < target:
                continue
            mat = np.zeros((target, len(yk) + len(xk)), dtype=np.int64)
            ci, cj = cells[:, 0], cells[:, 1]
            for col, (j, k) in enumerate(yk):
                mat[:, col] = np.where(cj == j, x0[ci, k], 0)
            for col, (i, k) in enumerate(xk):
                mat[:, len(yk) + col] = np.where(ci == i, y0[cj, k], 0)
            if flint.fmpz_mat(mat.tolist()).rank() == target:
                return {"sides": ["vary Y" if s == 0 else "vary X" for s in sides],
                        "fixed_x": x0.tolist(), "fixed_y": y0.tolist(), "rank": target}
    return None
