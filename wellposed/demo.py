"""Educational demo: the LU pattern is not closed ([[0,1],[1,0]] is a limit of LU products but has none).

Everything here is a pure function returning arrays or small frozen records; the figures are drawn
by :func:`wellposed.demo_figures.plot_lu_demo` with the Agg backend (no display needed). The
``wellposed demo lu`` command prints the tables and writes the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import validate
from .errors import InvalidMatrixError, InvalidSpecError
from .support import SupportPattern

__all__ = [
    "MAX_DEMO_N",
    "check_n",
    "LUSequence",
    "LUProof",
    "TrainingPaths",
    "Contrast",
    "lu_target",
    "lu_pattern",
    "contrast_pattern",
    "lu_sequence",
    "lu_sequence_reference",
    "lu_norm_lower_bound",
    "lu_no_factorization_proof",
    "gradient_descent",
    "gradient_descent_reference",
    "closed_contrast",
]

#: Largest n accepted by the demo (the symbolic check and the pictures stay readable up to here).
MAX_DEMO_N = 8


def check_n(n: Any) -> int:
    """The demo's size ``n`` as an int, 2 ≤ n ≤ :data:`MAX_DEMO_N`, else InvalidSpecError."""
    return validate.integer(n, "n", low=2, high=MAX_DEMO_N,
                            hint="n = 1 is closed: every 1×1 matrix is a product of scalars")


def _check_ks(ks: Any) -> np.ndarray:
    arr = np.asarray(ks, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidMatrixError(f"ks = {ks!r} must be a non-empty 1-D sequence of positive finite numbers.")
    return arr


def lu_target(n: int = 2) -> np.ndarray:
    """The matrix in the closure of n×n LU products that has no LU factorization.

    For n = 2 it is ``[[0, 1], [1, 0]]``; for n > 2 the same 2×2 block sits in the top-left corner and
    the identity fills the rest of the diagonal.

    Examples
    --------
    >>> lu_target(3).astype(int).tolist()
    [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    """
    n = check_n(n)
    A = np.eye(n)
    A[:2, :2] = [[0.0, 1.0], [1.0, 0.0]]
    return A


def lu_pattern(n: int = 2) -> SupportPattern:
    """The LU support pattern: ``I = J = lower-triangular ones`` (so ``X Yᵀ`` is lower × upper).

    >>> lu_pattern(2).x_support.astype(int).tolist()
    [[1, 0], [1, 1]]
    """
    n = check_n(n)
    low = np.tril(np.ones((n, n), dtype=bool))
    return SupportPattern(low, low, name=f"lu:{n}", description=f"{n}×{n} LU (not closed)")


def contrast_pattern(n: int = 2) -> SupportPattern:
    """The closed contrast: full supports with ``r = n − 1`` (all n×n matrices of rank ≤ n − 1).

    >>> contrast_pattern(2).shape
    (2, 2, 1)
    """
    n = check_n(n)
    return SupportPattern(np.ones((n, n - 1), bool), np.ones((n, n - 1), bool), name=f"full:{n},{n},{n - 1}",
                          description=f"full supports, rank ≤ {n - 1} (closed)")


# ---------------------------------------------------------------------------------------------- sequence
@dataclass(frozen=True)
class LUSequence:
    """An explicit sequence of LU factors whose products converge to :func:`lu_target`.

    ``X[i]`` and ``Y[i]`` are the factors at ``ks[i]`` (both lower triangular); ``errors`` are
    ``‖X_k Y_kᵀ − A‖_F`` (equal to ``1/k``), ``loss = errors²`` is the FSMF loss, ``x_norms`` and
    ``y_norms`` are Frobenius norms (they grow like ``√(2k)``) and ``lower_bound`` is the bound of
    :func:`lu_norm_lower_bound` on ``‖X‖_F ‖Y‖_F`` that *every* LU factorization this close to ``A`` obeys
    (NaN where the error is ≥ 1 and the bound says nothing).
    """

    n: int
    target: np.ndarray
    ks: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    products: np.ndarray
    errors: np.ndarray
    loss: np.ndarray
    x_norms: np.ndarray
    y_norms: np.ndarray
    lower_bound: np.ndarray

    def rows(self) -> list[dict[str, float]]:
        """One dict per k: ``k, error, x_norm, y_norm, norm_product, lower_bound`` (the printed table)."""
        return [
            {"k": float(k), "error": float(e), "x_norm": float(a), "y_norm": float(b),
             "norm_product": float(a * b), "lower_bound": float(lb)}
            for k, e, a, b, lb in zip(self.ks, self.errors, self.x_norms, self.y_norms, self.lower_bound,
                                      strict=True)
        ]


def lu_sequence(n: int = 2, ks: Sequence[float] | np.ndarray = (1, 10, 100, 1000, 10000)) -> LUSequence:
    """Balanced LU factors ``X_k, Y_k`` with ``X_k Y_kᵀ → A = lu_target(n)`` and norms blowing up.

    On the top-left 2×2 block, with ``s = √k``::

        X_k = [[1/s, 0], [s, −s]],   Y_k = [[1/s, 0], [s, s]],   X_k Y_kᵀ = [[1/k, 1], [1, 0]],

    and the identity elsewhere, so ``‖X_k Y_kᵀ − A‖_F = 1/k`` while ``‖X_k‖_F = ‖Y_k‖_F ≈ √(2k)``.
    (Column rescaling ``x ↦ c x, y ↦ y / c`` cannot keep both norms bounded: see
    :func:`lu_norm_lower_bound`.)

    Parameters
    ----------
    n : int
        Size, ``2 ≤ n ≤ MAX_DEMO_N``.
    ks : sequence of positive floats
        The indices k of the sequence to evaluate.

    Examples
    --------
    >>> seq = lu_sequence(2, ks=[1, 100])
    >>> seq.products[1].round(3).tolist()
    [[0.01, 1.0], [1.0, 0.0]]
    >>> seq.errors.tolist()
    [1.0, 0.01]
    >>> seq.x_norms.round(3).tolist()
    [1.732, 14.142]

    Notes
    -----
    Vectorized over ``ks``: ``O(len(ks) · n³)`` for the products. :func:`lu_sequence_reference` is the
    plain-loop oracle.
    """
    n = check_n(n)
    k = _check_ks(ks)
    s = np.sqrt(k)
    A = lu_target(n)
    X = np.broadcast_to(np.eye(n), (k.size, n, n)).copy()
    Y = X.copy()
    X[:, 0, 0], X[:, 1, 0], X[:, 1, 1] = 1 / s, s, -s
    Y[:, 0, 0], Y[:, 1, 0], Y[:, 1, 1] = 1 / s, s, s
    products = X @ np.swapaxes(Y, 1, 2)
    errors = np.sqrt(((products - A) ** 2).sum(axis=(1, 2)))
    x_norms = np.sqrt((X**2).sum(axis=(1, 2)))
    y_norms = np.sqrt((Y**2).sum(axis=(1, 2)))
    lower = np.where(errors < 1, (1 - errors) ** 2 / np.maximum(errors, np.finfo(float).tiny), np.nan)
    return LUSequence(n, A, k, X, Y, products, errors, errors**2, x_norms, y_norms, lower)


def lu_sequence_reference(n: int, ks: Sequence[float]) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Plain-loop oracle of :func:`lu_sequence`: ``[(X_k, Y_k, ‖X_k Y_kᵀ − A‖_F)]`` entry by entry.

    >>> X, Y, err = lu_sequence_reference(2, [4])[0]
    >>> X.tolist(), err
    ([[0.5, 0.0], [2.0, -2.0]], 0.25)
    """
    n = check_n(n)
    A = lu_target(n)
    out = []
    for k in ks:
        s = math.sqrt(float(k))
        X = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
        Y = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
        X[0][0], X[1][0], X[1][1] = 1 / s, s, -s
        Y[0][0], Y[1][0], Y[1][1] = 1 / s, s, s
        err2 = 0.0
        for i in range(n):
            for j in range(n):
                b = sum(X[i][t] * Y[j][t] for t in range(n))
                err2 += (b - A[i, j]) ** 2
        out.append((np.array(X), np.array(Y), math.sqrt(err2)))
    return out


def lu_norm_lower_bound(delta: float | np.ndarray) -> float | np.ndarray:
    """Lower bound on ``‖X‖_F ‖Y‖_F`` for LU factors with ``‖XYᵀ − lu_target(n)‖_F ≤ delta < 1``.

    Write ``B = XYᵀ``. Lower-triangularity gives ``b₁₁ = x₁₁y₁₁``, ``b₁₂ = x₁₁y₂₁``,
    ``b₂₁ = x₂₁y₁₁``, hence ``b₁₂ b₂₁ = b₁₁ · x₂₁ y₂₁``. Close to ``A`` we have ``|b₁₁| ≤ δ`` and
    ``|b₁₂|, |b₂₁| ≥ 1 − δ``, so ``‖X‖_F ‖Y‖_F ≥ |x₂₁| |y₂₁| ≥ (1 − δ)² / δ``: every approximating
    sequence of LU factors blows up, however it is rescaled.

    Examples
    --------
    >>> lu_norm_lower_bound(0.5)
    0.5
    >>> round(lu_norm_lower_bound(1e-3), 1)
    998.0
    """
    d = np.asarray(delta, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0) or np.any(d >= 1):
        raise InvalidMatrixError(f"delta = {delta!r} must lie in the open interval (0, 1).")
    out = (1 - d) ** 2 / d
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------- proof
@dataclass(frozen=True)
class LUProof:
    """Exact (symbolic) proof that ``lu_target(n)`` has no LU factorization.

    ``equations`` are the polynomial equations ``(XYᵀ)_ij = A_ij`` of the top-left 2×2 block (for n > 2
    these are entries of the full system: lower-triangularity makes that block depend only on the
    top-left blocks of X and Y). ``solutions`` is sympy's solution set of them (empty), ``groebner`` the
    reduced Gröbner basis (``[1]``: no solution even over ℂ), and ``identity`` an explicit certificate
    ``1 = Σ cᵢ fᵢ`` with the equations written ``fᵢ = 0``, checked by expansion (``verified``).
    """

    n: int
    equations: tuple[str, ...]
    solutions: tuple[Any, ...]
    groebner: tuple[str, ...]
    identity: str
    verified: bool
    argument: str


def lu_no_factorization_proof(n: int = 2) -> LUProof:
    """Solve ``X Yᵀ = lu_target(n)`` symbolically over lower-triangular X, Y and exhibit the contradiction.

    Examples
    --------
    >>> proof = lu_no_factorization_proof(2)
    >>> proof.solutions, proof.groebner, proof.verified
    ((), ('1',), True)
    >>> proof.identity
    '1 = x21*y21*(x11*y11) - (x11*y21 - 1)*(x21*y11 - 1) - (x11*y21 - 1) - (x21*y11 - 1)'

    Notes
    -----
    Builds the n² equations in ``n(n+1)`` unknowns (``O(n³)`` terms), then works on the four equations
    of the 2×2 corner: ``sympy.solve`` and a Gröbner basis of four quadratics, both instantaneous.
    """
    import sympy

    n = check_n(n)
    A = lu_target(n)
    xs = {(i, j): sympy.Symbol(f"x{i + 1}{j + 1}") for i in range(n) for j in range(i + 1)}
    ys = {(i, j): sympy.Symbol(f"y{i + 1}{j + 1}") for i in range(n) for j in range(i + 1)}
    X = sympy.Matrix(n, n, lambda i, j: xs.get((i, j), 0))
    Y = sympy.Matrix(n, n, lambda i, j: ys.get((i, j), 0))
    F = (X * Y.T - sympy.Matrix(A.astype(int).tolist())).applyfunc(sympy.expand)
    corner = [F[0, 0], F[0, 1], F[1, 0], F[1, 1]]
    x11, x21, x22 = xs[0, 0], xs[1, 0], xs[1, 1]
    y11, y21, y22 = ys[0, 0], ys[1, 0], ys[1, 1]
    solutions = sympy.solve(corner, [x11, x21, x22, y11, y21, y22], dict=True)
    basis = sympy.groebner(corner, x11, x21, x22, y11, y21, y22, order="lex")
    f1, f2, f3 = F[0, 0], F[0, 1], F[1, 0]
    combo = x21 * y21 * f1 - f2 * f3 - f2 - f3
    verified = sympy.expand(combo) == 1 and sympy.expand(f1 - x11 * y11) == 0
    identity = f"1 = x21*y21*({f1}) - ({f2})*({f3}) - ({f2}) - ({f3})"
    argument = ("(XYᵀ)₁₁ = x11·y11 = 0 forces x11 = 0 or y11 = 0; x11 = 0 contradicts (XYᵀ)₁₂ = x11·y21 = 1, "
                "and y11 = 0 contradicts (XYᵀ)₂₁ = x21·y11 = 1.")
    return LUProof(
        n,
        tuple(f"{sympy.sstr(f + int(A[i, j]))} = {int(A[i, j])}" for f, (i, j) in
              zip(corner, [(0, 0), (0, 1), (1, 0), (1, 1)], strict=True)),
        tuple(solutions),
        tuple(str(g) for g in basis.exprs),
        identity,
        bool(verified),
        argument,
    )


# ---------------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class TrainingPaths:
    """Loss and parameter norms of gradient descent runs (one row per seed, one column per record)."""

    pattern: SupportPattern
    steps: np.ndarray
    loss: np.ndarray
    x_norms: np.ndarray
    y_norms: np.ndarray
    lr: float

    @property
    def final_loss(self) -> np.ndarray:
        """Loss of each run after the last step."""
        return self.loss[:, -1]


def _check_training(A: Any, pattern: SupportPattern, steps: Any, lr: Any, seeds: Any) -> tuple[
        np.ndarray, int, float, list[int]]:
    if not isinstance(pattern, SupportPattern):
        raise InvalidSpecError(f"pattern = {pattern!r} must be a SupportPattern (e.g. lu_pattern(2)).")
    arr = np.asarray(A, dtype=float)
    if arr.shape != (pattern.m, pattern.n) or not np.all(np.isfinite(arr)):
        raise InvalidMatrixError(f"A must be a finite {pattern.m}×{pattern.n} array for pattern "
                                 f"{pattern!r}; got shape {arr.shape}.")
    steps = validate.integer(steps, "steps", low=1)
    lr = validate.number(lr, "lr", low=0, high=1, open_low=True, open_high=True, hint="a step size, e.g. 0.01")
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list:
        raise InvalidSpecError(f"seeds = {seeds!r} must be an integer or a non-empty list of integers.")
    return arr, steps, lr, [validate.integer(s, "seeds[i]", hint="each seed an integer") for s in seed_list]


def _initial_factors(pattern: SupportPattern, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = 0.5 * rng.standard_normal((pattern.m, pattern.r)) * pattern.x_support
    Y = 0.5 * rng.standard_normal((pattern.n, pattern.r)) * pattern.y_support
    return X, Y


def _record_steps(steps: int, records: int) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, records).round().astype(int)]))


def gradient_descent(A: Any, pattern: SupportPattern, *, steps: int = 20000, lr: float = 0.01,
                     seeds: int | Sequence[int] = (0, 1, 2), records: int = 60) -> TrainingPaths:
    """Plain gradient descent on the FSMF loss ``‖A − XYᵀ‖²_F`` (supports enforced), several seeds at once.

    Each seed draws ``X, Y`` with N(0, 1/4) entries on the support. The loss and ``‖X‖_F``, ``‖Y‖_F`` are
    recorded at about ``records`` log-spaced steps (step 0 is the initial point).

    Examples
    --------
    >>> run = gradient_descent(lu_target(2), contrast_pattern(2), steps=2000, seeds=[0])
    >>> round(float(run.final_loss[0]), 6)   # the rank-1 optimum σ₂² = 1 is reached
    1.0

    Notes
    -----
    Batched over seeds with stacked matmuls: ``O(steps · seeds · m n r)``. The loop runs over steps only;
    :func:`gradient_descent_reference` is the one-seed plain-loop oracle.
    """
    arr, steps, lr, seed_list = _check_training(A, pattern, steps, lr, seeds)
    I = pattern.x_support.astype(float)
    J = pattern.y_support.astype(float)
    init = [_initial_factors(pattern, s) for s in seed_list]
    X = np.stack([x for x, _ in init])
    Y = np.stack([y for _, y in init])
    marks = _record_steps(steps, records)
    loss = np.empty((len(seed_list), marks.size))
    xn = np.empty_like(loss)
    yn = np.empty_like(loss)
    col = 0
    for t in range(steps + 1):
        R = X @ np.swapaxes(Y, 1, 2) - arr
        if col < marks.size and t == marks[col]:
            loss[:, col] = (R**2).sum(axis=(1, 2))
            xn[:, col] = np.sqrt((X**2).sum(axis=(1, 2)))
            yn[:, col] = np.sqrt((Y**2).sum(axis=(1, 2)))
            col += 1
        if t == steps:
            break
        gX = 2.0 * (R @ Y) * I
        gY = 2.0 * (np.swapaxes(R, 1, 2) @ X) * J
        X -= lr * gX
        Y -= lr * gY
    return TrainingPaths(pattern, marks, loss, xn, yn, lr)


def gradient_descent_reference(A: Any, pattern: SupportPattern, *, steps: int, lr: float,
                               seed: int) -> tuple[float, float, float]:
    """Plain-loop oracle of :func:`gradient_descent` for one seed: final ``(loss, ‖X‖_F, ‖Y‖_F)``.

    >>> loss, _, _ = gradient_descent_reference(lu_target(2), contrast_pattern(2), steps=2000, lr=0.01, seed=0)
    >>> round(loss, 6)
    1.0
    """
    arr, steps, lr, (seed,) = _check_training(A, pattern, steps, lr, [seed])
    target = arr.tolist()
    x0, y0 = _initial_factors(pattern, seed)
    m, n, r = pattern.shape
    X = [[float(x0[i, k]) for k in range(r)] for i in range(m)]
    Y = [[float(y0[j, k]) for k in range(r)] for j in range(n)]
    I, J = pattern.x_support, pattern.y_support

    def residual() -> list[list[float]]:
        return [[sum(X[i][k] * Y[j][k] for k in range(r)) - target[i][j] for j in range(n)] for i in range(m)]

    for _ in range(steps):
        R = residual()
        gX = [[2 * sum(R[i][j] * Y[j][k] for j in range(n)) if I[i, k] else 0.0 for k in range(r)]
              for i in range(m)]
        gY = [[2 * sum(R[i][j] * X[i][k] for i in range(m)) if J[j, k] else 0.0 for k in range(r)]
              for j in range(n)]
        for i in range(m):
            for k in range(r):
                X[i][k] -= lr * gX[i][k]
        for j in range(n):
            for k in range(r):
                Y[j][k] -= lr * gY[j][k]
    R = residual()
    loss = sum(v * v for row in R for v in row)
    return (loss, math.sqrt(sum(v * v for row in X for v in row)), math.sqrt(sum(v * v for row in Y for v in row)))


# ---------------------------------------------------------------------------------------------- contrast
@dataclass(frozen=True)
class Contrast:
    """The closed contrast: rank ≤ n − 1 approximation of the same ``A`` by truncated SVD.

    ``X``, ``Y`` attain ``loss == infimum`` (= sum of the discarded squared singular values).
    """

    pattern: SupportPattern
    target: np.ndarray
    singular_values: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    loss: float
    infimum: float


def closed_contrast(n: int = 2) -> Contrast:
    """Best rank-(n−1) approximation of ``lu_target(n)``: a minimizer exists and the SVD finds it.

    Examples
    --------
    >>> c = closed_contrast(2)
    >>> c.singular_values.tolist(), round(c.loss, 12), c.infimum
    ([1.0, 1.0], 1.0, 1.0)

    Notes
    -----
    One SVD of an n×n matrix, ``O(n³)``. The set of rank ≤ r matrices is closed (Eckart–Young gives the
    minimizer), unlike the LU set.
    """
    n = check_n(n)
    A = lu_target(n)
    U, s, Vt = np.linalg.svd(A)
    r = n - 1
    X = U[:, :r] * np.sqrt(s[:r])
    Y = Vt[:r].T * np.sqrt(s[:r])
    loss = float(((A - X @ Y.T) ** 2).sum())
    return Contrast(contrast_pattern(n), A, s, X, Y, loss, float((s[r:] ** 2).sum()))
