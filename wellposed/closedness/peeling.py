"""``theorem:peeling``: P is the whole space, proved by scaling a row and a column of A to 0/1 vectors.

P is invariant under A ↦ D_r A D_c (invertible diagonal D_r, D_c: scale the rows of X and Y). Scaling
the columns turns row i of any A into the 0/1 vector ``1_T`` of its support T; scaling the other rows
then turns column j (off row i) into a 0/1 vector ``1_S``. So every A is a scaling of a matrix of the
linear space

    V(T, S) = { B on the union : B[i, :] ∈ span(1_T), B[rows ≠ i, j] ∈ span(1_S) }

for one branch (T, S) (a zero row or column fits every branch). A *linear slice* fixes one side of every
component to integers (or, for one component of row i, ``y_k = 1_T``, and for one component of column
j, ``x_l = 1_S``: "peeling" that line), so that ``X Yᵀ`` is linear in the other side; its image lies in P.
If for every branch some slice has an image containing V(T, S) (an exact rank test), P is every matrix
on the union. Proof in docs/closedness.md, §3.7.

The evidence lists, for every branch, the slice (sides, integer values, peeled components);
:func:`check_peeling` re-checks all of it by exact integer ranks, and :func:`factor_by_peeling` follows
the proof to factor a given matrix exactly.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np

from ..support import SupportPattern

__all__ = ["peeling_onto", "check_peeling", "factor_by_peeling"]

#: Largest support of a scaled row (column, off the row) whose 2^… branches are enumerated.
MAX_PEELED_ENTRIES = 8
#: Largest number of components whose side choices are enumerated (2^r choices).
MAX_SIDE_COMPONENTS = 8
#: Largest number of free entries of a pattern the rule looks at (the slices are dense matrices).
MAX_FREE_ENTRIES = 128
#: Default count of linear slices (rank evaluations) the search may try in all: the rule's budget.
MAX_SLICES = 20000


class _Spent(Exception):
    """The search ran out of its counted budget of slices."""


def _subsets(items: list[int]) -> list[tuple[int, ...]]:
    """The nonempty subsets of ``items``, largest first."""
    return [c for size in range(len(items), 0, -1) for c in itertools.combinations(items, size)]


def _fixed(pattern: SupportPattern, leaf: dict[str, Any], t: list[int], s: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The fixed values of a leaf: its integers on the supports, ``y_k = 1_T`` and ``x_l = 1_S`` (with
    ``drop``, the other fixed x on row i and fixed y on column j are 0)."""
    m, n, r = pattern.shape
    fx = np.array(leaf["fixed_x"], dtype=np.int64).reshape(m, r) * pattern.x_support
    fy = np.array(leaf["fixed_y"], dtype=np.int64).reshape(n, r) * pattern.y_support
    k, l = leaf["k"], leaf["l"]
    if k is not None:
        fy[:, k] = 0
        fy[t, k] = 1
        if leaf["drop"]:  # the other components' fixed x are 0 on row i: row i is x_ik 1_T (+ varying x)
            fx[leaf["row"], [c for c in range(r) if c != k]] = 0
    if l is not None:
        fx[:, l] = 0
        fx[s, l] = 1
        if leaf["drop"]:
            fy[leaf["col"], [c for c in range(r) if c != l]] = 0
    return fx, fy


def _variables(pattern: SupportPattern, sides: list[str]) -> list[tuple[str, int, int]]:
    """The free entries of a slice, in order: ``("x", i, c)`` or ``("y", j, c)``."""
    out: list[tuple[str, int, int]] = []
    for c in range(pattern.r):
        if sides[c] == "vary X":
            out += [("x", int(a), c) for a in np.flatnonzero(pattern.x_support[:, c])]
        else:
            out += [("y", int(b), c) for b in np.flatnonzero(pattern.y_support[:, c])]
    return out


def _slice_matrix(pattern: SupportPattern, cells: np.ndarray, leaf: dict[str, Any], t: list[int], s: list[int]
                  ) -> np.ndarray:
    """The integer matrix of the slice's linear map: rows are the union's cells, columns the variables."""
    fx, fy = _fixed(pattern, leaf, t, s)
    ci, cj = cells[:, 0], cells[:, 1]
    cols = [np.where(ci == a, fy[cj, c], 0) if side == "x" else np.where(cj == a, fx[ci, c], 0)
            for side, a, c in _variables(pattern, leaf["sides"])]
    if not cols:
        return np.zeros((len(cells), 0), dtype=np.int64)
    return np.stack(cols, axis=1)


def _target_basis(cells: np.ndarray, i: int, t: list[int], j: int | None, s: list[int]) -> np.ndarray:
    """A basis (columns) of V(T, S) on the cells: ``1_T`` on row i, ``1_S`` on column j, unit vectors elsewhere."""
    ci, cj = cells[:, 0], cells[:, 1]
    on_row = ci == i
    on_col = (cj == j) & ~on_row if j is not None else np.zeros(len(cells), dtype=bool)
    basis = [(on_row & np.isin(cj, t)).astype(np.int64)]
    if j is not None:
        basis.append((on_col & np.isin(ci, s)).astype(np.int64))
    for e in np.flatnonzero(~on_row & ~on_col):
        unit = np.zeros(len(cells), dtype=np.int64)
        unit[e] = 1
        basis.append(unit)
    return np.stack(basis, axis=1)


def _contains(mat: np.ndarray, basis: np.ndarray, flint: Any, exact: bool) -> bool:
    """Whether the column space of ``mat`` contains that of ``basis``."""
    if mat.shape[1] == 0:
        return not basis.any()
    both = np.concatenate([mat, basis], axis=1)
    if not exact:
        return bool(np.linalg.matrix_rank(mat.astype(float)) == np.linalg.matrix_rank(both.astype(float)))
    return bool(flint.fmpz_mat(mat.tolist()).rank() == flint.fmpz_mat(both.tolist()).rank())


def _line_supports(union: np.ndarray, i: int, j: int | None) -> tuple[list[int], list[int]]:
    """Row i of the union, and column j of the union off row i."""
    u_row = np.flatnonzero(union[i]).tolist()
    if j is None:
        return u_row, []
    col = union[:, j].copy()
    col[i] = False
    return u_row, np.flatnonzero(col).tolist()


def _find_leaf(q: SupportPattern, cells: np.ndarray, i: int, t: list[int], j: int | None, s: list[int],
               draws: list[tuple[np.ndarray, np.ndarray]], flint: Any, left: list[int]) -> dict[str, Any] | None:
    """A slice whose image contains V(T, S), or None."""
    x, y = q.x_support, q.y_support
    basis = _target_basis(cells, i, t, j, s)
    ks = [c for c in range(q.r) if x[i, c] and y[t, c].all()] + [None]
    for k in ks:
        ls: list[int | None] = [None]
        if j is not None:
            ls = [c for c in range(q.r) if c != k and y[j, c] and x[s, c].all()] + [None]
        for l in ls:
            free = [c for c in range(q.r) if c != k and c != l]
            if len(free) > MAX_SIDE_COMPONENTS:
                return None
            for (fx, fy), drop in itertools.product(draws, (True, False) if k is not None else (False,)):
                for choice in itertools.product(("vary Y", "vary X"), repeat=len(free)):
                    sides = ["vary X" if c == k else "vary Y" for c in range(q.r)]
                    for c, side in zip(free, choice, strict=True):
                        sides[c] = side
                    if left[0] <= 0:
                        raise _Spent
                    left[0] -= 1
                    leaf = {"row": i, "col": j, "S": list(s), "k": k, "l": l, "drop": drop, "sides": sides,
                            "fixed_x": (fx * x).tolist(), "fixed_y": (fy * y).tolist()}
                    mat = _slice_matrix(q, cells, leaf, t, s)
                    if _contains(mat, basis, flint, exact=False) and _contains(mat, basis, flint, exact=True):
                        return leaf
    return None


def _prove_row(q: SupportPattern, i: int, seed: int, trials: int, flint: Any, left: list[int]
               ) -> list[dict[str, Any]] | None:
    """The branches of a proof scaling row i (and, per branch, a column), or None."""
    rng = np.random.default_rng(seed)
    draws = [(rng.integers(1, 98, size=q.x_support.shape), rng.integers(1, 98, size=q.y_support.shape))
             for _ in range(trials)]
    union = q.union_mask()
    cells = np.argwhere(union)
    branches: list[dict[str, Any]] = []
    for t in _subsets(_line_supports(union, i, None)[0]):
        leaf = _find_leaf(q, cells, i, list(t), None, [], draws, flint, left)
        if leaf is not None:
            branches.append({"T": list(t), "col": None, "leaves": [leaf]})
            continue
        for j in range(q.n):
            s_all = _line_supports(union, i, j)[1]
            if not s_all or len(s_all) > MAX_PEELED_ENTRIES:
                continue
            leaves = []
            for s in _subsets(s_all):
                leaf = _find_leaf(q, cells, i, list(t), j, list(s), draws, flint, left)
                if leaf is None:
                    break
                leaves.append(leaf)
            else:
                branches.append({"T": list(t), "col": j, "leaves": leaves})
                break
        else:
            return None
    return branches


def peeling_onto(pattern: SupportPattern, seed: int = 0, trials: int = 2, max_slices: int = MAX_SLICES
                 ) -> dict[str, Any] | None:
    """Prove P = ℝ^{union} by scaling a row and a column to 0/1 (``theorem:peeling``), or return None.

    For a row i (of the pattern or of its transpose) and every branch T (nonempty subset of the union's
    row i), a linear slice whose image contains V(T) = {B on the union : B[i, :] ∈ span(1_T)}; when no
    slice does, a column j whose every branch S (nonempty subset of the union's column j off row i) has a
    slice containing V(T, S). Slices fix one side of each component to random integers, except that one
    component k of row i with ``T ⊆ J_k`` may get ``y_k = 1_T`` and one component l of column j with
    ``S ⊆ I_l`` may get ``x_l = 1_S`` (the peeled lines); the side choices are enumerated with ``trials``
    draws of integers each.

    Returns
    -------
    dict or None
        The evidence: ``orientation``, ``row`` and ``branches`` (per branch ``T``, ``col`` and ``leaves``,
        each with ``S``, ``k``, ``l``, ``sides``, ``fixed_x``, ``fixed_y``), which :func:`check_peeling`
        re-verifies exactly.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["001", "111", "111"], ["011", "111", "111"])
    >>> ev = peeling_onto(p)
    >>> ev["row"], len(ev["branches"]), {leaf["k"] for b in ev["branches"] for leaf in b["leaves"]}
    (0, 7, {2})
    >>> check_peeling(p, ev)
    True
    >>> from wellposed.families import family
    >>> peeling_onto(family("lu:3")) is None
    True

    Notes
    -----
    At most ``m + n`` rows, each with ``2^{|row|}`` branches (rows of more than ``MAX_PEELED_ENTRIES``
    entries are skipped), each with at most ``n · 2^{|column|}`` leaves, each trying at most
    ``(r + 1)² 2^{r} · trials`` slices, each two ranks of a ``|union| × (free entries + |union|)`` matrix
    (floating point, then exact integer rank in python-flint to confirm). Patterns of more than
    ``MAX_FREE_ENTRIES`` free entries are not looked at, and the search gives up (None) after
    ``max_slices`` slices in all: a count, so the answer is the same on every machine.
    """
    import flint

    if pattern.r > 12 or pattern.is_trivial() or pattern.num_free_entries() > MAX_FREE_ENTRIES:
        return None
    left = [max_slices]
    try:
        for orientation, q in (("as given", pattern), ("transposed", pattern.transpose())):
            union = q.union_mask()
            rows = [i for i in range(q.m) if 0 < union[i].sum() <= MAX_PEELED_ENTRIES]
            for i in sorted(rows, key=lambda i: (int(q.x_support[i].sum()), i)):  # fewest components first
                branches = _prove_row(q, i, seed, trials, flint, left)
                if branches is not None:
                    return {"orientation": orientation, "row": i, "branches": branches}
    except _Spent:
        return None
    return None


def check_peeling(pattern: SupportPattern, evidence: dict[str, Any]) -> bool:
    """Re-verify the evidence of :func:`peeling_onto` exactly; True when it proves P = ℝ^{union}.

    Checks that the branches are exactly the nonempty subsets T of the union's row, that a branch with
    a column has leaves for exactly the nonempty subsets S of the union's column off the row, that a
    peeled component k (l) reaches the row (column) and holds T (S) in its support, and that the image of
    every leaf's integer slice contains V(T, S) (exact integer ranks). Malformed evidence gives False.
    """
    import flint

    try:
        q = pattern.transpose() if evidence["orientation"] == "transposed" else pattern
        x, y = q.x_support, q.y_support
        i = evidence["row"]
        if not isinstance(i, int) or not 0 <= i < q.m:
            return False
        union = q.union_mask()
        cells = np.argwhere(union)
        wanted = sorted(_subsets(_line_supports(union, i, None)[0]))
        branches = evidence["branches"]
        if not wanted or sorted(tuple(b["T"]) for b in branches) != wanted:
            return False
        for b in branches:
            t, j = [int(c) for c in b["T"]], b["col"]
            s_wanted: list[tuple[int, ...]] = [()]
            if j is None:
                pass
            else:
                if not isinstance(j, int) or not 0 <= j < q.n:
                    return False
                s_wanted = sorted(_subsets(_line_supports(union, i, j)[1]))
                if not s_wanted:
                    return False
            if sorted(tuple(leaf["S"]) for leaf in b["leaves"]) != s_wanted:
                return False
            for leaf in b["leaves"]:
                s, k, l = [int(c) for c in leaf["S"]], leaf["k"], leaf["l"]
                if any(c is not None and (type(c) is not int or not 0 <= c < q.r) for c in (k, l)):
                    return False  # a component index (a negative one would alias another component)
                if leaf["row"] != i or leaf["col"] != j or len(leaf["sides"]) != q.r or leaf["drop"] not in (0, 1):
                    return False
                if any(side not in ("vary X", "vary Y") for side in leaf["sides"]):
                    return False
                if k is not None and (not x[i, k] or not y[t, k].all() or leaf["sides"][k] != "vary X"):
                    return False
                if l is not None and (j is None or l == k or not y[j, l] or not x[s, l].all()
                                      or leaf["sides"][l] != "vary Y"):
                    return False
                mat = _slice_matrix(q, cells, leaf, t, s)
                if not _contains(mat, _target_basis(cells, i, t, j, s), flint, exact=True):
                    return False
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return False
    return True


def factor_by_peeling(pattern: SupportPattern, evidence: dict[str, Any], a: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factor ``a`` (supported on the union) as ``X Yᵀ`` following a peeling proof, in exact rationals.

    The constructive half of the proof (docs/closedness.md, §3.7): scale the columns so that the row
    becomes ``1_T``, scale the other rows so that the branch's column becomes ``1_S``, solve the leaf's
    linear system exactly, undo the scalings. Returns object arrays of :class:`fractions.Fraction` with
    ``supp X ⊆ I``, ``supp Y ⊆ J`` and ``X Yᵀ = a``. Raises ``ValueError`` when ``a`` is not an m × n
    matrix supported on the union.
    """
    import flint

    transposed = evidence["orientation"] == "transposed"
    q = pattern.transpose() if transposed else pattern
    target = np.array(a, dtype=object)
    target = target.T if transposed else target
    m, n, r = q.shape
    union = q.union_mask()
    if target.shape != (m, n):
        raise ValueError(f"a has shape {target.shape}, expected {(n, m) if transposed else (m, n)}")
    target = np.vectorize(Fraction, otypes=[object])(target)
    if any(target[c] != 0 for c in map(tuple, np.argwhere(~union))):
        raise ValueError("a must be supported on the union of the supports")
    i = evidence["row"]
    one = Fraction(1)
    dc = np.array([one] * n, dtype=object)
    dr = np.array([one] * m, dtype=object)
    t = [int(c) for c in np.flatnonzero(target[i] != 0)]
    for e in t:
        dc[e] = target[i, e]
    branch = next(b for b in evidence["branches"] if list(b["T"]) == t or not t)  # a zero row fits any branch
    t = list(branch["T"])
    scaled = target / dc[None, :]
    j = branch["col"]
    s: list[int] = []
    if j is not None:
        column = scaled[:, j].copy()
        column[i] = 0
        s = [int(c) for c in np.flatnonzero(column != 0)]
        for e in s:
            dr[e] = column[e]
        scaled = scaled / dr[:, None]
    leaf = next(f for f in branch["leaves"] if list(f["S"]) == s or not s)
    s = list(leaf["S"])
    cells = np.argwhere(union)
    mat = _slice_matrix(q, cells, leaf, t, s)
    x = np.full((m, r), Fraction(0), dtype=object)
    y = np.full((n, r), Fraction(0), dtype=object)
    fx, fy = _fixed(q, leaf, t, s)
    variables = _variables(q, leaf["sides"])
    for c in range(r):
        if leaf["sides"][c] == "vary X":
            y[:, c] = [Fraction(int(v)) for v in fy[:, c]]
        else:
            x[:, c] = [Fraction(int(v)) for v in fx[:, c]]
    if variables:
        aug = flint.fmpq_mat([[*map(int, row), flint.fmpq(b.numerator, b.denominator)]
                              for row, b in zip(mat.tolist(), scaled[cells[:, 0], cells[:, 1]], strict=True)])
        red, rank = aug.rref()
        values = [Fraction(0)] * len(variables)
        for row_index in range(rank):
            pivot = next(c for c in range(len(variables) + 1) if red[row_index, c] != 0)
            if pivot == len(variables):
                raise ValueError("the slice of this branch does not reach a (evidence not checked?)")
            value = red[row_index, len(variables)]
            values[pivot] = Fraction(int(value.p), int(value.q))
        for (side, e, c), v in zip(variables, values, strict=True):
            if side == "x":
                x[e, c] = v
            else:
                y[e, c] = v
    x = dr[:, None] * x
    y = dc[:, None] * y
    return (y, x) if transposed else (x, y)
