"""``theorem:peeling``: P is the whole space, proved by peeling a row (and a column) with a single component.

If row i of the pattern is reached by one component k only, row i of every product is ``x_ik y_kᵀ``:
a scaling of the columns of A brings it to the 0/1 vector of its support T ⊆ J_k, and ``y_k`` can then
be fixed to ``1_T``. What is left is a problem on the other rows in which ``y_k`` is a constant; when a
linear slice of it (one side of every other component fixed to integers) is onto the rest of the union
for every possible T, every matrix on the union is a product. In a branch T, a column j that the residual
problem reaches by one free component ``l ≠ k`` only is peeled in turn (row scalings, ``x_l = 1_S``).
Proof in docs/closedness.md, §3.7.

The evidence lists, for every branch T (and S), the sides and the integer values of the slice;
:func:`check_peeling` re-checks all of it by exact integer rank, sharing nothing with the search but
the pattern.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..support import SupportPattern

__all__ = ["peeling_onto", "check_peeling", "factor_by_peeling"]

#: Largest support ``|J_k|`` of a peeled row (``|I_l|`` of a peeled column) whose 2^… branches are enumerated.
MAX_PEELED_ENTRIES = 8
#: Largest number of free components whose side choices are enumerated (2^r choices).
MAX_SIDE_COMPONENTS = 8
#: Largest number of free entries of a pattern the rule looks at (the slices are dense matrices).
MAX_FREE_ENTRIES = 128
#: Default count of linear slices (rank evaluations) the search may try in all: the rule's budget.
MAX_SLICES = 20000


class _Spent(Exception):
    """The search ran out of its counted budget of slices."""


def _single(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(index, component)`` for every row of ``mask`` with exactly one allowed component."""
    counts = mask.sum(axis=1)
    return [(int(i), int(np.flatnonzero(mask[i])[0])) for i in np.flatnonzero(counts == 1)]


def _subsets(items: list[int]) -> list[tuple[int, ...]]:
    """The nonempty subsets of ``items``, largest first (the full support is the generic branch)."""
    out = [c for size in range(len(items), 0, -1) for c in itertools.combinations(items, size)]
    return out


def _slice_matrix(pattern: SupportPattern, cells: np.ndarray, row: tuple[int, int, list[int]],
                  col: tuple[int, int, list[int]] | None, leaf: dict[str, Any]) -> np.ndarray:
    """The integer matrix of the residual linear map of one leaf (rows: the cells, columns: variables).

    ``row = (i, k, T)``: row i peeled, ``y_k = 1_T``; ``col = (j, l, S)`` or None: column j peeled,
    ``x_l = 1_S``. ``leaf`` holds ``sides`` (per component ``"vary X"`` or ``"vary Y"``) and the integer
    ``fixed_x``, ``fixed_y`` of the other components.
    """
    m, n, r = pattern.shape
    x, y = pattern.x_support, pattern.y_support
    i, k, t = row
    fx = np.array(leaf["fixed_x"], dtype=np.int64).reshape(m, r) * x
    fy = np.array(leaf["fixed_y"], dtype=np.int64).reshape(n, r) * y
    fy[:, k] = 0
    fy[list(t), k] = 1
    j = None
    if col is not None:
        j, l, s = col
        fx[:, l] = 0
        fx[list(s), l] = 1
    columns: list[np.ndarray] = []
    ci, cj = cells[:, 0], cells[:, 1]
    for c in range(r):
        if leaf["sides"][c] == "vary X":  # y_c is fixed, x_c varies (never on the peeled row)
            columns += [np.where(ci == a, fy[cj, c], 0) for a in np.flatnonzero(x[:, c]) if a != i]
        else:  # x_c is fixed, y_c varies (never on the peeled column)
            columns += [np.where(cj == b, fx[ci, c], 0) for b in np.flatnonzero(y[:, c]) if b != j]
    if not columns:
        return np.zeros((len(cells), 0), dtype=np.int64)
    return np.stack(columns, axis=1)


def _residual_cells(pattern: SupportPattern, i: int, j: int | None) -> np.ndarray:
    union = pattern.union_mask().copy()
    union[i, :] = False
    if j is not None:
        union[:, j] = False
    return np.argwhere(union)


def _single_columns(pattern: SupportPattern, i: int, k: int, t: list[int]) -> list[tuple[int, int]]:
    """Columns that the residual problem of branch T (row i peeled, ``y_k = 1_T``) reaches through one
    component ``l ≠ k`` only, ``(j, l)``, and whose entries of the union (off row i) all lie in ``I_l``
    (so that the peeled column, scaled to ``1_S``, is every possible column of the residual)."""
    x, y = pattern.x_support, pattern.y_support
    union = pattern.union_mask()
    rows_left = np.ones(pattern.m, dtype=bool)
    rows_left[i] = False
    out = []
    for j in range(pattern.n):
        reach = [c for c in np.flatnonzero(y[j]).tolist() if x[rows_left, c].any()]
        if k in reach and j not in t:
            reach.remove(k)  # y_kj is fixed to 0 in this branch
        if len(reach) == 1 and reach[0] != k and not (union[rows_left, j] & ~x[rows_left, reach[0]]).any():
            out.append((j, reach[0]))
    return out


def _row_ok(pattern: SupportPattern, i: Any, k: Any) -> bool:
    m, _, r = pattern.shape
    return (isinstance(i, int) and isinstance(k, int) and 0 <= i < m and 0 <= k < r
            and int(pattern.x_support[i].sum()) == 1 and bool(pattern.x_support[i, k])
            and bool(pattern.y_support[:, k].any()))


def _find_leaf(q: SupportPattern, cells: np.ndarray, row: tuple[int, int, list[int]],
               col: tuple[int, int, list[int]] | None, draws: list[tuple[np.ndarray, np.ndarray]],
               flint: Any, left: list[int]) -> dict[str, Any] | None:
    r = q.r
    k = row[1]
    l = col[1] if col is not None else None
    free = [c for c in range(r) if c != k and c != l]
    if len(free) > MAX_SIDE_COMPONENTS:
        return None
    target = len(cells)
    for fx, fy in draws:
        for choice in itertools.product(("vary Y", "vary X"), repeat=len(free)):
            sides = ["vary X" if c == k else "vary Y" for c in range(r)]
            for c, side in zip(free, choice, strict=True):
                sides[c] = side
            if left[0] <= 0:
                raise _Spent
            left[0] -= 1
            leaf = {"sides": sides, "fixed_x": (fx * q.x_support).tolist(), "fixed_y": (fy * q.y_support).tolist()}
            mat = _slice_matrix(q, cells, row, col, leaf)
            if target and (mat.shape[1] < target or np.linalg.matrix_rank(mat.astype(float)) < target
                           or flint.fmpz_mat(mat.tolist()).rank() < target):
                continue
            return {**leaf, "rank": target}
    return None


def _prove_row(q: SupportPattern, i: int, seed: int, trials: int, flint: Any, left: list[int]
               ) -> list[dict[str, Any]] | None:
    """The branches of a proof peeling row i, or None.

    Branch T (every nonempty subset of the union's row i) keeps one component k of row i with
    ``T ⊆ J_k`` (the others get ``x_ic = 0``) and fixes ``y_k = 1_T``.
    """
    rng = np.random.default_rng(seed)
    draws = [(rng.integers(1, 98, size=q.x_support.shape), rng.integers(1, 98, size=q.y_support.shape))
             for _ in range(trials)]
    cells_row = _residual_cells(q, i, None)
    comps = np.flatnonzero(q.x_support[i]).tolist()
    branches: list[dict[str, Any]] = []
    for t in _subsets(np.flatnonzero(q.union_mask()[i]).tolist()):
        found = None
        for k in comps:
            if not q.y_support[list(t), k].all():
                continue
            qk = _restricted(q, i, k)
            row = (i, k, list(t))
            leaf = _find_leaf(qk, cells_row, row, None, draws, flint, left)
            if leaf is not None:
                found = {"T": list(t), "component": k, "col": None, "col_component": None,
                         "leaves": [{"S": [], **leaf}]}
                break
            for j, l in _single_columns(qk, i, k, list(t)):
                s_sets = _subsets(np.flatnonzero(qk.x_support[:, l]).tolist())
                if len(s_sets) >= 2 ** MAX_PEELED_ENTRIES:
                    continue
                cells = _residual_cells(qk, i, j)
                leaves = []
                for s in s_sets:
                    leaf = _find_leaf(qk, cells, row, (j, l, list(s)), draws, flint, left)
                    if leaf is None:
                        break
                    leaves.append({"S": list(s), **leaf})
                else:
                    found = {"T": list(t), "component": k, "col": j, "col_component": l, "leaves": leaves}
                    break
            if found is not None:
                break
        if found is None:
            return None
        branches.append(found)
    return branches


def peeling_onto(pattern: SupportPattern, seed: int = 0, trials: int = 2, max_slices: int = MAX_SLICES
                 ) -> dict[str, Any] | None:
    """Prove P = ℝ^{union} by peeling (``theorem:peeling``), or return None.

    Tries every row with a single component, on the pattern and on its transpose. For each, every
    branch T ⊆ J_k (the support of the peeled row) needs a linear slice of the residual problem of full
    rank, possibly after peeling in turn a column that the branch reaches by one other component only
    (then for every S ⊆ I_l). The side choices of the free components are enumerated with ``trials``
    draws of random integers each.

    Returns
    -------
    dict or None
        The evidence: ``orientation``, ``row`` and ``branches`` (per branch ``T``, the kept
        ``component``, ``col``, ``col_component`` and ``leaves``, each with ``S``, ``sides``, ``fixed_x``, ``fixed_y``,
        ``rank``), which :func:`check_peeling` re-verifies exactly.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["001", "111", "111"], ["011", "111", "111"])
    >>> ev = peeling_onto(p)
    >>> ev["row"], len(ev["branches"]), {b["component"] for b in ev["branches"]}
    (0, 7, {2})
    >>> check_peeling(p, ev)
    True
    >>> from wellposed.families import family
    >>> peeling_onto(family("lu:3")) is None
    True

    Notes
    -----
    At most ``m + n`` rows to peel, each with ``2^{|J_k|}`` branches (rows with ``|J_k|`` above
    ``MAX_PEELED_ENTRIES`` are skipped), each with at most ``n · 2^{|I_l|}`` leaves, each leaf trying
    ``2^{r} · trials`` floating-point ranks of ``|union| × (free entries)`` matrices; the slice found is
    confirmed by an exact integer rank (python-flint). Patterns of more than ``MAX_FREE_ENTRIES`` free
    entries are not looked at, and the search gives up (None) after ``max_slices`` slices in all: a count,
    so the answer is the same on every machine.
    """
    import flint

    if pattern.r > 12 or pattern.is_trivial() or pattern.num_free_entries() > MAX_FREE_ENTRIES:
        return None
    left = [max_slices]
    try:
        return _peel(pattern, seed, trials, flint, left)
    except _Spent:
        return None


def _peel(pattern: SupportPattern, seed: int, trials: int, flint: Any, left: list[int]) -> dict[str, Any] | None:
    for orientation, q in (("as given", pattern), ("transposed", pattern.transpose())):
        union = q.union_mask()
        rows = [i for i in range(q.m) if 0 < union[i].sum() <= MAX_PEELED_ENTRIES]
        for i in sorted(rows, key=lambda i: (int(q.x_support[i].sum()), i)):  # fewest components first
            branches = _prove_row(q, i, seed, trials, flint, left)
            if branches is not None:
                return {"orientation": orientation, "row": i, "branches": branches}
    return None


def _restricted(q: SupportPattern, i: int, k: int) -> SupportPattern:
    """The pattern where row i keeps component k only (``x_ic`` forbidden for the others): smaller P."""
    if int(q.x_support[i].sum()) == 1:
        return q
    x = q.x_support.copy()
    x[i, :] = False
    x[i, k] = True
    return q.with_masks(x, q.y_support)


def check_peeling(pattern: SupportPattern, evidence: dict[str, Any]) -> bool:
    """Re-verify the evidence of :func:`peeling_onto` exactly; True when it proves P = ℝ^{union}.

    Checks that the branches are exactly the nonempty subsets T of the union's peeled row, that each
    keeps a component k of that row with ``T ⊆ J_k``, that a peeled column is reached by one component
    ``l ≠ k`` in its branch with the union's column inside ``I_l`` and that its leaves are exactly the
    nonempty S ⊆ I_l, that the peeled components vary as in the proof (x_k and y_l), and that every
    leaf's integer slice has exact rank equal to the number of residual cells. Malformed evidence gives
    False.
    """
    import flint

    try:
        q = pattern.transpose() if evidence["orientation"] == "transposed" else pattern
        i = evidence["row"]
        if not isinstance(i, int) or not 0 <= i < q.m:
            return False
        wanted = {tuple(t) for t in _subsets(np.flatnonzero(q.union_mask()[i]).tolist())}
        branches = evidence["branches"]
        if not wanted or sorted(tuple(b["T"]) for b in branches) != sorted(wanted):
            return False
        for b in branches:
            t, k = list(b["T"]), b["component"]
            if not isinstance(k, int) or not 0 <= k < q.r or not q.x_support[i, k] or not q.y_support[t, k].all():
                return False
            qk = _restricted(q, i, k)
            j, l = b["col"], b["col_component"]
            col = None
            if j is None:
                if l is not None or len(b["leaves"]) != 1 or b["leaves"][0]["S"]:
                    return False
                cells = _residual_cells(qk, i, None)
            else:
                if (j, l) not in _single_columns(qk, i, k, t):
                    return False
                s_wanted = {tuple(s) for s in _subsets(np.flatnonzero(qk.x_support[:, l]).tolist())}
                if sorted(tuple(f["S"]) for f in b["leaves"]) != sorted(s_wanted):
                    return False
                cells = _residual_cells(qk, i, j)
            for leaf in b["leaves"]:
                if len(leaf["sides"]) != q.r or any(s not in ("vary X", "vary Y") for s in leaf["sides"]):
                    return False
                if leaf["sides"][k] != "vary X" or (l is not None and leaf["sides"][l] != "vary Y"):
                    return False
                if l is not None:
                    col = (j, l, list(leaf["S"]))
                mat = _slice_matrix(qk, cells, (i, k, t), col, leaf)
                if len(cells) and (mat.shape[1] < len(cells) or flint.fmpz_mat(mat.tolist()).rank() < len(cells)):
                    return False
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    return True


def factor_by_peeling(pattern: SupportPattern, evidence: dict[str, Any], a: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factor ``a`` (supported on the union) as ``X Yᵀ`` following a peeling proof, in exact rationals.

    The constructive half of the proof (docs/closedness.md, §3.7): scale the columns to make the peeled
    row ``1_T`` (or ``x_ik = 0`` when it is zero), in the branch's residual scale the rows to make the
    peeled column ``1_S``, solve the leaf's linear system exactly, then undo the scalings. Returns object
    arrays of :class:`fractions.Fraction` with ``supp X ⊆ I``, ``supp Y ⊆ J`` and ``X Yᵀ = a``; raises
    ``ValueError`` when ``a`` is not supported on the union or the evidence does not apply.
    """
    from fractions import Fraction

    import flint

    transposed = evidence["orientation"] == "transposed"
    q = pattern.transpose() if transposed else pattern
    target = np.array(a, dtype=object).T if transposed else np.array(a, dtype=object)
    target = np.vectorize(Fraction)(target) if target.size else target.astype(object)
    m, n, r = q.shape
    if target.shape != (m, n) or any(target[c] != 0 for c in map(tuple, np.argwhere(~q.union_mask()))):
        raise ValueError("a must be an m × n matrix supported on the union of the supports")
    i = evidence["row"]
    zero, one = Fraction(0), Fraction(1)
    dc = np.array([one] * n, dtype=object)
    dr = np.array([one] * m, dtype=object)
    row = target[i]
    t = sorted(int(c) for c in np.flatnonzero(row != 0))
    x_ik = one if t else zero
    for e in t:
        dc[e] = row[e]
    scaled = target / dc[None, :]
    # a zero row: any branch, with x_ik = 0
    branch = next(b for b in evidence["branches"] if list(b["T"]) == t or not t)
    t, k = list(branch["T"]), branch["component"]
    q = _restricted(q, i, k)
    j, l = branch["col"], branch["col_component"]
    y_jl = one
    s: list[int] = []
    if j is not None:
        column = scaled[:, j].copy()
        column[i] = zero
        s = sorted(int(c) for c in np.flatnonzero(column != 0)) or sorted(np.flatnonzero(q.x_support[:, l]).tolist())
        y_jl = one if (column != 0).any() else zero
        for e2 in np.flatnonzero(column != 0):
            dr[e2] = column[e2]
        scaled = scaled / dr[:, None]
    leaf = next(f for f in branch["leaves"] if list(f["S"]) == s)
    col = None if j is None else (j, l, s)
    cells = _residual_cells(q, i, j)
    mat = _slice_matrix(q, cells, (i, k, t), col, leaf)
    x = np.full((m, r), zero, dtype=object)
    y = np.full((n, r), zero, dtype=object)
    fx = np.array(leaf["fixed_x"], dtype=np.int64).reshape(m, r) * q.x_support
    fy = np.array(leaf["fixed_y"], dtype=np.int64).reshape(n, r) * q.y_support
    for c in range(r):  # the fixed sides
        if leaf["sides"][c] == "vary X":
            y[:, c] = [Fraction(int(v)) for v in fy[:, c]]
        else:
            x[:, c] = [Fraction(int(v)) for v in fx[:, c]]
    y[:, k] = zero
    y[t, k] = one
    x[i, k] = x_ik
    if col is not None:
        x[:, l] = zero
        x[s, l] = one
        y[j, l] = y_jl
    if len(cells):
        mq = flint.fmpq_mat(mat.tolist())
        b = flint.fmpq_mat([[flint.fmpq(v.numerator, v.denominator)] for v in scaled[cells[:, 0], cells[:, 1]]])
        w = (mq * mq.transpose()).solve(b)
        v = mq.transpose() * w
        values = [Fraction(int(v[e, 0].p), int(v[e, 0].q)) for e in range(v.nrows())]
        it = iter(values)
        for c in range(r):
            if leaf["sides"][c] == "vary X":
                for a_ in np.flatnonzero(q.x_support[:, c]):
                    if a_ != i:
                        x[a_, c] = next(it)
            else:
                for b_ in np.flatnonzero(q.y_support[:, c]):
                    if b_ != j:
                        y[b_, c] = next(it)
    x = dr[:, None] * x
    y = dc[:, None] * y
    return (y, x) if transposed else (x, y)
