"""Globally optimal fixed-support matrix factorization on tractable supports (DTO and relaxed C1+C2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wellposed import validate
from wellposed.classify import Classification, classify
from wellposed.errors import (
    CertificateError,
    InvalidMatrixError,
    InvalidSpecError,
    InvalidSupportError,
    NotTractableError,
)
from wellposed.support import SupportPattern

from .fsmf_result import FSMFBlock, FSMFResult, _product

__all__ = [
    "solve_fsmf",
    "fsmf_optimal_value",
    "as_data_matrix",
    "CHECK_RTOL",
]

#: Relative tolerance (w.r.t. ``‖A‖_F²``) of the agreement between the recomputed residual and the
#: certified optimum when ``check=True``.
CHECK_RTOL = 1e-8

_Index = tuple[int, ...]


# --------------------------------------------------------------------------------------------- validation
def as_data_matrix(A: Any, pattern: SupportPattern, parameter: str = "A") -> np.ndarray:
    """Validate a data matrix against a pattern; return it as float64 or complex128.

    Parameters
    ----------
    A : array-like or scipy.sparse matrix, shape (m, n)
        Real or complex numbers, all finite.
    pattern : SupportPattern
        The pattern whose ``(m, n)`` the matrix must match.
    parameter : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 (or complex128); ``A`` itself when it already is one (never modified).

    Raises
    ------
    InvalidMatrixError
        Empty, not 2-D, wrong shape, non-numeric, non-finite, or so large that ``‖A‖_F²`` overflows.

    Examples
    --------
    >>> from wellposed.families import family
    >>> as_data_matrix([[1, 2], [3, 4]], family("full:2,2,1")).dtype
    dtype('float64')
    >>> as_data_matrix([[1.0, float("nan")], [0, 0]], family("full:2,2,1"))
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidMatrixError: A has 1 non-finite entry (first nan at (0, 1)); FSMF needs finite \
numbers: replace or drop NaN/inf entries (e.g. np.nan_to_num(A)).
    """
    if not isinstance(pattern, SupportPattern):
        raise InvalidSupportError(
            f"pattern = {pattern!r} is not a SupportPattern; build one with SupportPattern(I, J) or "
            "wellposed.families.load_pattern(spec)."
        )
    if hasattr(A, "toarray") and hasattr(A, "nnz"):  # scipy.sparse, without importing scipy
        A = A.toarray()
    try:
        arr = np.asarray(A)
    except (ValueError, TypeError) as exc:
        raise InvalidMatrixError(f"{parameter} could not be read as a numeric array: {exc}") from None
    if arr.dtype.kind == "b":
        raise InvalidMatrixError(
            f"{parameter} has dtype bool, which looks like a support mask; pass the data matrix to factorize "
            f"(or {parameter}.astype(float) if 0/1 data is meant)."
        )
    if arr.dtype.kind not in "iufc":
        raise InvalidMatrixError(
            f"{parameter} has dtype {arr.dtype} (value {_short(A)}); FSMF needs a real or complex numeric "
            "array: convert with np.asarray(A, dtype=float)."
        )
    if arr.ndim != 2:
        raise InvalidMatrixError(
            f"{parameter} must be a 2-D matrix of shape (m, n) = ({pattern.m}, {pattern.n}), got an array "
            f"of shape {arr.shape}; reshape it (e.g. A.reshape({pattern.m}, {pattern.n}))."
        )
    if arr.size == 0:
        raise InvalidMatrixError(
            f"{parameter} is empty (shape {arr.shape}); the pattern expects a {pattern.m}×{pattern.n} matrix."
        )
    if arr.shape != (pattern.m, pattern.n):
        looks_transposed = arr.shape == (pattern.n, pattern.m)
        hint = " (it looks transposed: pass A.T or pattern.transpose())" if looks_transposed else ""
        raise InvalidMatrixError(
            f"{parameter} has shape {arr.shape} but the pattern {pattern!r} needs (m, n) = "
            f"({pattern.m}, {pattern.n}){hint}."
        )
    out = np.ascontiguousarray(arr, dtype=np.complex128 if arr.dtype.kind == "c" else np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        norm2 = _sq(out)
    if np.isfinite(norm2):  # one BLAS pass in the common case: entries finite, squares representable
        return out
    bad = ~np.isfinite(out)
    if bad.any():
        i, j = (int(t) for t in np.argwhere(bad)[0])
        count = int(bad.sum())
        raise InvalidMatrixError(
            f"{parameter} has {count} non-finite entr{'y' if count == 1 else 'ies'} (first "
            f"{out[i, j].item()!r} at ({i}, {j})); FSMF needs finite numbers: replace or drop NaN/inf "
            "entries (e.g. np.nan_to_num(A))."
        )
    big = float(np.max(np.abs(out)))
    raise InvalidMatrixError(
        f"{parameter} has entries as large as {big!r}: ‖{parameter}‖_F² overflows float64. Divide "
        f"{parameter} by its largest entry first (the optimal value then scales by the square of that factor)."
    )


def _short(value: Any) -> str:
    text = " ".join(repr(value).split())  # one line: an error message is a single line
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class _Group:
    """Blocks of one shape, stacked for one batched LAPACK call."""

    rows: np.ndarray  # (B, h) row indices
    cols: np.ndarray  # (B, w) column indices
    comps: np.ndarray  # (B, k) components used
    class_ids: np.ndarray  # (B,)
    block_ids: np.ndarray  # (B,) positions in the block list


@dataclass(frozen=True)
class _Plan:
    svd_groups: tuple[_Group, ...]
    exact_groups: tuple[_Group, ...]
    items: tuple[tuple[str, int, _Index, _Index, _Index, int], ...]  # kind, class, comps, rows, cols, rank
    union: np.ndarray  # (m, n) bool
    owner: np.ndarray | None  # (m, n) class index owning each entry of S_T (relaxed only)


def _classification(pattern: SupportPattern, classification: Classification | None) -> Classification:
    if classification is None:
        return classify(pattern)
    if not isinstance(classification, Classification):
        raise InvalidSpecError(
            f"classification = {_short(classification)} is not a Classification; pass "
            "wellposed.classify.classify(pattern) or leave it out."
        )
    if classification.pattern != pattern:
        raise InvalidSupportError(
            f"classification was computed for {classification.pattern!r}, not for pattern = {pattern!r}; "
            "pass classify(pattern) for this pattern or leave it out."
        )
    return classification


def _require_tractable(cls: Classification) -> None:
    if not cls.tractable:
        raise NotTractableError(
            f"the support of {cls.pattern!r} is outside the tractability theorems: {cls.reason}. No exact "
            "solver is known for it (FSMF is NP-hard in general); for a local solution without optimality "
            "certificate use wellposed.solvers.baselines.fit_fsmf_baseline(A, pattern, method='als')."
        )


def _plan(cls: Classification) -> _Plan:
    """Split a tractable pattern into SVD blocks and exact blocks grouped by shape.

    One pass over the classes (and bicliques) builds integer index arrays; the numeric work is then
    done per group with batched gathers, one batched SVD and batched scatters.
    """
    items: list[tuple[str, int, _Index, _Index, _Index, int]] = []
    for idx, c in enumerate(cls.classes):
        if c.complete:
            items.append(("exact", idx, c.components, c.rows, c.cols, min(len(c.rows), len(c.cols))))
        elif cls.dto:
            items.append(("svd", idx, c.components, c.rows, c.cols, c.size))
        else:
            for rows, cols in cls.bicliques.get(idx, ()):
                items.append(("svd", idx, c.components, rows, cols, min(c.size, len(rows), len(cols))))
    buckets: dict[tuple[str, int, int, int], list[int]] = {}
    for pos, (kind, _, _, rows, cols, rank) in enumerate(items):
        buckets.setdefault((kind, len(rows), len(cols), rank), []).append(pos)
    svd_groups: list[_Group] = []
    exact_groups: list[_Group] = []
    for (kind, _, _, rank), positions in buckets.items():
        group = _Group(
            rows=np.array([items[p][3] for p in positions], dtype=np.intp),
            cols=np.array([items[p][4] for p in positions], dtype=np.intp),
            comps=np.array([items[p][2][:rank] for p in positions], dtype=np.intp),
            class_ids=np.array([items[p][1] for p in positions], dtype=np.intp),
            block_ids=np.array(positions, dtype=np.intp),
        )
        (svd_groups if kind == "svd" else exact_groups).append(group)
    p = cls.pattern
    # ∪S_k is the union of the block rectangles: every S_P lies in its bicliques plus the complete rectangles
    union = np.zeros((p.m, p.n), dtype=bool)
    for g in svd_groups + exact_groups:
        union[g.rows[:, :, None], g.cols[:, None, :]] = True
    owner = None
    if cls.relaxed:  # each entry of S_T is owned by the complete class of smallest index covering it
        none = len(cls.classes)
        owner = np.full((p.m, p.n), none, dtype=np.intp)
        for g in exact_groups:
            index = (g.rows[:, :, None], g.cols[:, None, :])
            np.minimum.at(owner, index, np.broadcast_to(g.class_ids[:, None, None], (len(g.class_ids),
                                                        g.rows.shape[1], g.cols.shape[1])))
        owner[owner == none] = -1
    return _Plan(tuple(svd_groups), tuple(exact_groups), tuple(items), union, owner)


def _gather(M: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Stack of blocks ``M[rows[b]][:, cols[b]]``, shape (B, h, w)."""
    return M[rows[:, :, None], cols[:, None, :]]


def _sq(M: np.ndarray) -> float:
    """``‖M‖_F²`` for real or complex arrays."""
    if np.iscomplexobj(M):
        return float(np.sum(np.square(M.real)) + np.sum(np.square(M.imag)))
    return float(np.sum(np.square(M)))  # not a BLAS dot: no thread start-up on small arrays


# --------------------------------------------------------------------------------------------- solver
def solve_fsmf(
    A: Any, pattern: SupportPattern, *, check: bool = True, classification: Classification | None = None
) -> FSMFResult:
    """Globally optimal ``min ‖A − X Yᵀ‖_F²`` with ``supp X ⊆ I``, ``supp Y ⊆ J``, on tractable supports.

    The pattern is classified (:func:`wellposed.classify.classify`). If its rank-one supports are
    pairwise disjoint or identical (DTO), each class gets the truncated SVD of its rectangle of ``A``
    at rank ``|P|``. If the relaxed condition C1+C2 holds, each non-complete class gets one truncated
    SVD per biclique of its support outside the complete classes, and the complete classes then fit
    the remaining residual exactly on their rectangles. Complete classes always fit exactly.

    Parameters
    ----------
    A : array-like, shape (m, n)
        Finite real or complex data matrix (a scipy.sparse matrix is densified).
    pattern : SupportPattern
        The supports ``I`` (of X) and ``J`` (of Y).
    check : bool, default True
        Recompute ``‖A − X Yᵀ‖²`` from the factors and compare it with the certified optimum; raise
        :class:`~wellposed.errors.CertificateError` if they differ by more than
        ``CHECK_RTOL · ‖A‖_F²``. With ``check=False`` the product is skipped and ``residual`` is the
        sum of the block errors (equal to the optimum by construction).
    classification : Classification, optional
        ``classify(pattern)``, when already at hand: saves the classification when many matrices
        are solved with one pattern.

    Returns
    -------
    FSMFResult
        Factors (exact zeros off the supports), residual, certified optimal value, per-block details.

    Raises
    ------
    NotTractableError
        The support satisfies neither DTO nor C1+C2; the message gives the reason and points to
        :func:`wellposed.solvers.baselines.fit_fsmf_baseline`.
    InvalidMatrixError
        ``A`` is empty, not 2-D, of the wrong shape, non-numeric or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from wellposed.families import family
    >>> A = np.array([[3.0, 0.0], [0.0, 1.0]])
    >>> res = solve_fsmf(A, family("full:2,2,1"))
    >>> res.method, round(res.residual, 12), round(res.optimal_value, 12)
    ('dto', 1.0, 1.0)
    >>> X, Y = res
    >>> np.round(X @ Y.T, 12)
    array([[3., 0.], [0., 0.]])
    >>> solve_fsmf(A, family("lu:2"))
    Traceback (most recent call last):
    ...
    wellposed.errors.NotTractableError: the support of <SupportPattern 'lu:2' m=2 n=2 r=2> is outside ...

    Notes
    -----
    Blocks of equal shape and rank are stacked and solved by one batched ``np.linalg.svd`` call;
    gathers and scatters are fancy-indexing operations. Cost: classification ``O((m + n) r²)`` plus
    ``Σ_b h_b w_b min(h_b, w_b)`` for the SVDs, plus (relaxed only) the non-complete product on the
    complete rectangles; the check adds one product ``X Yᵀ`` (sparse when cheaper). A plain-loop
    version, :func:`~wellposed.solvers.fsmf_reference.solve_fsmf_reference`, serves as test oracle.

    References
    ----------
    Q.-T. Le, E. Riccietti, R. Gribonval. Spurious valleys, NP-hardness, and tractability of sparse
    matrix factorization with fixed support. SIAM J. Matrix Anal. Appl., 2023.
    """
    A = as_data_matrix(A, pattern)
    check = validate.flag(check, "check")
    cls = _classification(pattern, classification)
    _require_tractable(cls)
    plan = _plan(cls)
    m, n, r = pattern.shape
    X = np.zeros((m, r), dtype=A.dtype)
    Y = np.zeros((n, r), dtype=A.dtype)
    tails = np.zeros(len(plan.items))
    for g in plan.svd_groups:
        k = g.comps.shape[1]
        U, s, Vh = np.linalg.svd(_gather(A, g.rows, g.cols), full_matrices=False)
        root = np.sqrt(s[:, :k])
        X[g.rows[:, :, None], g.comps[:, None, :]] = U[:, :, :k] * root[:, None, :]
        Y[g.cols[:, :, None], g.comps[:, None, :]] = np.swapaxes(Vh[:, :k, :], 1, 2) * root[:, None, :]
        tails[g.block_ids] = np.sum(s[:, k:] ** 2, axis=1)
    # the targets of the complete classes are taken before any of them is filled in
    targets = [_exact_target(A, X, Y, g, plan.owner) for g in plan.exact_groups]
    for g, target in zip(plan.exact_groups, targets, strict=True):
        h, w = g.rows.shape[1], g.cols.shape[1]
        eye = np.broadcast_to(np.eye(min(h, w), dtype=A.dtype), (len(g.block_ids), min(h, w), min(h, w)))
        if h <= w:
            X[g.rows[:, :, None], g.comps[:, None, :]] = eye
            Y[g.cols[:, :, None], g.comps[:, None, :]] = np.swapaxes(target, 1, 2)
        else:
            X[g.rows[:, :, None], g.comps[:, None, :]] = target
            Y[g.cols[:, :, None], g.comps[:, None, :]] = eye
    off_support = _sq(A[~plan.union])
    optimal = off_support + float(np.sum(tails))
    a_norm2 = _sq(A)
    if check:
        residual = _sq(A - _product(X, Y))
        _verify(X, Y, pattern, residual, optimal, a_norm2)
    else:
        residual = optimal
    blocks = tuple(FSMFBlock(kind, cid, comps, rows, cols, rank, float(tails[pos]))
                   for pos, (kind, cid, comps, rows, cols, rank) in enumerate(plan.items))
    return FSMFResult(X, Y, residual, optimal, off_support, a_norm2, cls.method, cls.reason, blocks, check,
                      cls)


def _exact_target(
    A: np.ndarray, X: np.ndarray, Y: np.ndarray, g: _Group, owner: np.ndarray | None
) -> np.ndarray:
    """What the complete classes of group ``g`` must represent exactly on their rectangles.

    DTO: the blocks of ``A``. Relaxed: ``A`` minus the non-complete product, on the entries each
    complete class owns, zero elsewhere (``X``, ``Y`` hold only non-complete components here).
    """
    target = _gather(A, g.rows, g.cols)
    if owner is None:
        return target
    target = target - _gather_product(X, Y, g.rows, g.cols)
    owned = _gather(owner, g.rows, g.cols) == g.class_ids[:, None, None]
    return np.where(owned, target, 0)


def _gather_product(X: np.ndarray, Y: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Stack of ``(X Yᵀ)[rows[b]][:, cols[b]]`` without forming the whole product."""
    return X[rows] @ np.swapaxes(Y[cols], 1, 2)


def _verify(X: np.ndarray, Y: np.ndarray, pattern: SupportPattern, residual: float, optimal: float,
            a_norm2: float) -> None:
    if np.any(X[~pattern.x_support] != 0) or np.any(Y[~pattern.y_support] != 0):
        raise CertificateError("internal error: the factors have nonzero entries outside the supports.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise CertificateError("the factors contain non-finite values (overflow in the SVD?).")
    if not abs(residual - optimal) <= CHECK_RTOL * a_norm2 + 1e-300:  # also catches NaN
        raise CertificateError(
            f"the recomputed residual {residual!r} differs from the certified optimum {optimal!r} by more "
            "than "
            f"{CHECK_RTOL} · ‖A‖² = {CHECK_RTOL * a_norm2!r}; please report this pattern and matrix."
        )


def fsmf_optimal_value(A: Any, pattern: SupportPattern, *, classification: Classification | None = None) -> float:
    """The certified optimum ``min ‖A − X Yᵀ‖_F²`` of a tractable support, without forming factors.

    Examples
    --------
    >>> import numpy as np
    >>> from wellposed.families import family
    >>> fsmf_optimal_value(np.diag([3.0, 2.0, 1.0]), family("full:3,3,1"))
    5.0

    Notes
    -----
    Same blocks as :func:`solve_fsmf`, singular values only (batched ``np.linalg.svd`` with
    ``compute_uv=False``): ``Σ_b h_b w_b min(h_b, w_b)`` work with a smaller constant.
    """
    A = as_data_matrix(A, pattern)
    cls = _classification(pattern, classification)
    _require_tractable(cls)
    plan = _plan(cls)
    total = _sq(A[~plan.union])
    for g in plan.svd_groups:
        s = np.linalg.svd(_gather(A, g.rows, g.cols), compute_uv=False)
        total += float(np.sum(s[:, g.comps.shape[1]:] ** 2))
    return total
