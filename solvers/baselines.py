"""Local FSMF baselines for any support: alternating least squares and L-BFGS with random restarts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from wellposed import validate
from wellposed.errors import InvalidSpecError
from wellposed.support import SupportPattern

from .fsmf import _sq, as_data_matrix

__all__ = ["BaselineResult", "fit_fsmf_baseline", "BASELINE_METHODS", "MAX_RESTARTS", "masked_least_squares",
           "masked_least_squares_reference"]

#: Names accepted by ``fit_fsmf_baseline(method=...)``.
BASELINE_METHODS = ("als", "lbfgs")
_DEFAULT_MAX_ITER = {"als": 500, "lbfgs": 3000}
#: Most random restarts of one baseline run (each is a full local optimization; ``--restarts 10**18``
#: never finished).
MAX_RESTARTS = 10_000


@dataclass(frozen=True, eq=False)
class BaselineResult:
    """Best local solution found by a baseline (no optimality certificate).

    Unpacks like a pair: ``X, Y = fit_fsmf_baseline(A, pattern)``.

    Attributes
    ----------
    X, Y : numpy.ndarray
        Best factors over the restarts; exact zeros outside the supports.
    residual : float
        ``‖A − X Yᵀ‖_F²`` of the best restart, recomputed from the factors.
    values : tuple of float
        Final residual of every restart.
    iterations : tuple of int
        Iterations used by every restart.
    converged : tuple of bool
        Whether each restart met its stopping tolerance before ``max_iter``.
    best_restart : int
        Index of the restart giving ``X, Y``.
    method : str
        ``"als"`` or ``"lbfgs"``.
    seconds : float
        Wall-clock time of all restarts.
    """

    X: np.ndarray
    Y: np.ndarray
    residual: float
    values: tuple[float, ...]
    iterations: tuple[int, ...]
    converged: tuple[bool, ...]
    best_restart: int
    method: str
    seconds: float

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.X
        yield self.Y

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {"method": self.method, "residual": self.residual, "values": list(self.values),
                "iterations": list(self.iterations), "converged": list(self.converged),
                "best_restart": self.best_restart, "seconds": self.seconds}


# --------------------------------------------------------------------------------------------- validation
def _validate(
    method: Any, restarts: Any, seed: Any, max_iter: Any, tol: Any
) -> tuple[str, int, int, int, float]:
    if method not in BASELINE_METHODS:
        raise InvalidSpecError(
            f"method = {method!r} is not a baseline; choose one of {', '.join(map(repr, BASELINE_METHODS))}."
        )
    restarts = validate.integer(restarts, "restarts", low=1, high=MAX_RESTARTS,
                                hint="the number of random initializations, e.g. 5")
    seed = validate.integer(seed, "seed", low=0, hint="e.g. 0")
    if max_iter is None:
        max_iter = _DEFAULT_MAX_ITER[method]
    default = _DEFAULT_MAX_ITER[method]
    max_iter = validate.integer(max_iter, "max_iter", low=1, hint=f"e.g. {default} or None for the default")
    tol = validate.number(tol, "tol", low=0, high=1, open_high=True, hint="e.g. 1e-12")
    return str(method), restarts, seed, max_iter, tol


# --------------------------------------------------------------------------------------------- ALS kernel
def masked_least_squares(A: np.ndarray, Y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Minimum-norm ``argmin_X ‖A − X Yᵀ‖_F²`` over ``X`` with ``supp X ⊆ mask`` (one ALS half-step).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    Y : ndarray, shape (n, r)
    mask : bool ndarray, shape (m, r)

    Returns
    -------
    ndarray, shape (m, r)
        Zero outside ``mask``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> Y = np.eye(2)
    >>> masked_least_squares(A, Y, np.array([[True, False], [True, True]]))
    array([[1., 0.], [3., 4.]])

    Notes
    -----
    Rows decouple: row ``i`` solves the normal equations of ``Y[:, S_i]``, ``S_i`` its allowed
    columns. Rows are grouped by ``|S_i|``; per group one batched pseudo-inverse of the distinct
    Gram sub-matrices ``(Yᴴ Y)[S, S]`` (Hermitian, via ``eigh``) and one batched product. Cost
    ``O(mnr)`` for ``A conj(Y)`` plus ``O(Σ_S |S|³ + m r²)``. The plain-loop oracle is
    :func:`masked_least_squares_reference`.
    """
    return _apply_row_plan(_row_plan(mask), A, Y)


@dataclass(frozen=True)
class _RowGroup:
    rows: np.ndarray  # (R,) rows of X whose allowed set has this size
    cols: np.ndarray  # (R, s) allowed columns of each of those rows
    pid: np.ndarray  # (R,) index of the row's distinct allowed set within the group
    distinct: np.ndarray  # (U, s) the distinct allowed sets


def _row_plan(mask: np.ndarray) -> tuple[_RowGroup, ...]:
    """Group the rows of ``mask`` by number of allowed columns (computed once per ALS run)."""
    patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    sizes = patterns.sum(axis=1)
    groups = []
    for size in np.unique(sizes):  # ≤ r + 1 groups
        if size == 0:
            continue
        pids = np.flatnonzero(sizes == size)
        distinct = np.nonzero(patterns[pids])[1].reshape(len(pids), int(size))
        local = np.full(len(patterns), -1, dtype=np.intp)
        local[pids] = np.arange(len(pids))
        rows = np.flatnonzero(local[inverse] >= 0)
        pid = local[inverse[rows]]
        groups.append(_RowGroup(rows, distinct[pid], pid, distinct))
    return tuple(groups)


def _apply_row_plan(plan: tuple[_RowGroup, ...], A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    G = Y.conj().T @ Y
    B = A @ Y.conj()
    X = np.zeros((A.shape[0], Y.shape[1]), dtype=np.result_type(A, Y))
    for g in plan:
        ginv = np.linalg.pinv(G[g.distinct[:, :, None], g.distinct[:, None, :]], hermitian=True)
        rhs = B[g.rows[:, None], g.cols]
        X[g.rows[:, None], g.cols] = np.einsum("gst,gt->gs", ginv[g.pid], rhs)
    return X


def masked_least_squares_reference(A: np.ndarray, Y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Plain-loop oracle of :func:`masked_least_squares`: one ``np.linalg.lstsq`` per row.

    Examples
    --------
    >>> import numpy as np
    >>> masked_least_squares_reference(np.array([[1.0, 2.0]]), np.eye(2), np.array([[False, True]]))
    array([[0., 2.]])
    """
    X = np.zeros((A.shape[0], Y.shape[1]), dtype=np.result_type(A, Y))
    for i in range(A.shape[0]):
        cols = np.flatnonzero(mask[i])
        if cols.size:
            X[i, cols] = np.linalg.lstsq(Y[:, cols], A[i], rcond=None)[0]
    return X


def _als(A: np.ndarray, X: np.ndarray, Y: np.ndarray, I: np.ndarray, J: np.ndarray, max_iter: int,
         tol: float) -> tuple[np.ndarray, np.ndarray, int, bool]:
    plan_x, plan_y = _row_plan(I), _row_plan(J)
    At = np.ascontiguousarray(A.T)
    prev = _sq(A - X @ Y.T)
    for it in range(1, max_iter + 1):
        X = _apply_row_plan(plan_x, A, Y)
        Y = _apply_row_plan(plan_y, At, X)
        cur = _sq(A - X @ Y.T)
        if prev - cur <= tol * max(prev, 1e-300) or cur <= 1e-28:
            return X, Y, it, True
        prev = cur
    return X, Y, max_iter, False


# --------------------------------------------------------------------------------------------- L-BFGS
def _lbfgs(A: np.ndarray, X: np.ndarray, Y: np.ndarray, I: np.ndarray, J: np.ndarray, max_iter: int,
           tol: float) -> tuple[np.ndarray, np.ndarray, int, bool]:
    from scipy.optimize import minimize

    complex_ = np.iscomplexobj(A)
    nx = int(I.sum())

    def unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if complex_:
            half = v.size // 2
            v = v[:half] + 1j * v[half:]
        Xv = np.zeros(X.shape, dtype=A.dtype)
        Yv = np.zeros(Y.shape, dtype=A.dtype)
        Xv[I] = v[:nx]
        Yv[J] = v[nx:]
        return Xv, Yv

    def pack(Xv: np.ndarray, Yv: np.ndarray) -> np.ndarray:
        v = np.concatenate([Xv[I], Yv[J]])
        return np.concatenate([v.real, v.imag]) if complex_ else v

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        Xv, Yv = unpack(v)
        R = Xv @ Yv.T - A
        gx = 2.0 * (R @ Yv.conj())  # ∂/∂Re + i ∂/∂Im, i.e. twice the Wirtinger derivative
        gy = 2.0 * (R.T @ Xv.conj())
        return _sq(R), pack(gx, gy)

    out = minimize(fun, pack(X, Y), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "ftol": max(tol, 1e-15), "gtol": 1e-10, "maxcor": 20})
    Xv, Yv = unpack(out.x)
    return Xv, Yv, int(out.nit), bool(out.success)


# --------------------------------------------------------------------------------------------- driver
def fit_fsmf_baseline(
    A: Any,
    pattern: SupportPattern,
    *,
    method: str = "als",
    restarts: int = 5,
    seed: int = 0,
    max_iter: int | None = None,
    tol: float = 1e-12,
) -> BaselineResult:
    """Local search for ``min ‖A − X Yᵀ‖_F²`` with ``supp X ⊆ I``, ``supp Y ⊆ J``, on any support.

    A comparison point for :func:`wellposed.solvers.fsmf.solve_fsmf` and a fallback for supports outside the
    tractability theorems. Gives a feasible point, hence an upper bound on the optimum, but no
    certificate: local methods can stall in spurious minima or valleys.

    Parameters
    ----------
    A : array-like, shape (m, n)
        Finite real or complex data matrix.
    pattern : SupportPattern
    method : {"als", "lbfgs"}
        ``"als"``: alternating exact least squares on the free entries of X then Y.
        ``"lbfgs"``: scipy L-BFGS-B on all free entries jointly (real and imaginary parts for
        complex data).
    restarts : int, default 5
        Number of random Gaussian initializations on the supports; the best is returned.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``: equal seeds give equal results.
    max_iter : int or None
        Iterations per restart (default 500 for ALS, 3000 for L-BFGS).
    tol : float, default 1e-12
        Stop when an iteration lowers the residual by less than ``tol`` times its value.

    Returns
    -------
    BaselineResult

    Examples
    --------
    >>> import numpy as np
    >>> from wellposed.families import family
    >>> res = fit_fsmf_baseline(np.diag([3.0, 2.0, 1.0]), family("full:3,3,1"), restarts=3)
    >>> round(res.residual, 8), res.method, len(res.values)
    (5.0, 'als', 3)

    Notes
    -----
    ``A`` is scaled to unit Frobenius norm during the search and the factors rescaled afterwards.
    One ALS iteration costs ``O(mnr)`` plus the batched Gram solves of :func:`masked_least_squares`;
    one L-BFGS evaluation ``O(mnr)``.
    """
    A = as_data_matrix(A, pattern)
    method, restarts, seed, max_iter, tol = _validate(method, restarts, seed, max_iter, tol)
    I, J = pattern.x_support, pattern.y_support
    m, n, r = pattern.shape
    start = time.perf_counter()
    norm = float(np.sqrt(_sq(A)))
    rng = np.random.default_rng(seed)
    scale_a = A / norm if norm > 0 else A
    # entries of X Yᵀ have variance about r·σ⁴; aim at the size of a unit-norm matrix entry
    sigma = (1.0 / (m * n * r)) ** 0.25
    runs: list[tuple[float, np.ndarray, np.ndarray, int, bool]] = []
    for _ in range(restarts):
        X0 = rng.standard_normal((m, r)) * sigma * I
        Y0 = rng.standard_normal((n, r)) * sigma * J
        if np.iscomplexobj(A):
            X0 = X0 + 1j * rng.standard_normal((m, r)) * sigma * I
            Y0 = Y0 + 1j * rng.standard_normal((n, r)) * sigma * J
        if norm == 0:
            X, Y, its, ok = np.zeros_like(X0), np.zeros_like(Y0), 0, True
        elif method == "als":
            X, Y, its, ok = _als(scale_a, X0, Y0, I, J, max_iter, tol)
        else:
            X, Y, its, ok = _lbfgs(scale_a, X0, Y0, I, J, max_iter, tol)
        X = np.where(I, X, 0) * np.sqrt(norm)  # exact zeros off the support
        Y = np.where(J, Y, 0) * np.sqrt(norm)
        runs.append((_sq(A - X @ Y.T), X, Y, its, ok))
    values = tuple(run[0] for run in runs)
    best = int(np.argmin(values))
    return BaselineResult(runs[best][1], runs[best][2], values[best], values,
                          tuple(run[3] for run in runs), tuple(run[4] for run in runs), best, method,
                          time.perf_counter() - start)
