"""Educational demo: the LU pattern is not closed ([[0,1],[1,0]] is a limit of LU products but has none).

Everything here is a pure function returning arrays or small frozen records; the figures are drawn by
:func:`plot_lu_demo` with the Agg backend (no display needed). The ``wellposed demo lu`` command prints
the tables and writes the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidMatrixError, InvalidSpecError
from .support import SupportPattern

__all__ = [
    "MAX_DEMO_N",
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
    "plot_lu_demo",
]

#: Largest n accepted by the demo (the symbolic check and the pictures stay readable up to here).
MAX_DEMO_N = 8


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InvalidSpecError(f"n = {n!r} must be an integer between 2 and {MAX_DEMO_N}.")
    if not 2 <= int(n) <= MAX_DEMO_N:
        raise InvalidSpecError(
            f"n = {n!r} is out of range: the LU demo needs 2 ≤ n ≤ {MAX_DEMO_N} (n = 1 is closed: every "
            "1×1 matrix is a product of scalars)."
        )
    return int(n)


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
    n = _check_n(n)
    A = np.eye(n)
    A[:2, :2] = [[0.0, 1.0], [1.0, 0.0]]
    return A


def lu_pattern(n: int = 2) -> SupportPattern:
    """The LU support pattern: ``I = J = lower-triangular ones`` (so ``X Yᵀ`` is lower × upper).

    >>> lu_pattern(2).x_support.astype(int).tolist()
    [[1, 0], [1, 1]]
    """
    n = _check_n(n)
    low = np.tril(np.ones((n, n), dtype=bool))
    return SupportPattern(low, low, name=f"lu:{n}", description=f"{n}×{n} LU (not closed)")


def contrast_pattern(n: int = 2) -> SupportPattern:
    """The closed contrast: full supports with ``r = n − 1`` (all n×n matrices of rank ≤ n − 1).

    >>> contrast_pattern(2).shape
    (2, 2, 1)
    """
    n = _check_n(n)
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
    n = _check_n(n)
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
    n = _check_n(n)
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

    n = _check_n(n)
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
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InvalidSpecError(f"steps = {steps!r} must be a positive integer.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise InvalidSpecError(f"lr = {lr!r} must be a step size in (0, 1), e.g. 0.01.")
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seed_list):
        raise InvalidSpecError(f"seeds = {seeds!r} must be an integer or a non-empty list of integers.")
    return arr, int(steps), float(lr), [int(s) for s in seed_list]


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
    n = _check_n(n)
    A = lu_target(n)
    U, s, Vt = np.linalg.svd(A)
    r = n - 1
    X = U[:, :r] * np.sqrt(s[:r])
    Y = Vt[:r].T * np.sqrt(s[:r])
    loss = float(((A - X @ Y.T) ** 2).sum())
    return Contrast(contrast_pattern(n), A, s, X, Y, loss, float((s[r:] ** 2).sum()))


# ---------------------------------------------------------------------------------------------- figures
_FORMATS = ("png", "svg")
_MAX_DRAWN = 4


def _draw_mask(ax: Any, mask: np.ndarray, title: str, color: str) -> None:
    from matplotlib.colors import ListedColormap

    ax.imshow(mask.astype(float), cmap=ListedColormap(["white", color]), vmin=0, vmax=1)
    rows, cols = mask.shape
    ax.set_xticks(np.arange(cols))
    ax.set_yticks(np.arange(rows))
    ax.set_xticklabels([str(j + 1) for j in range(cols)], fontsize=6)
    ax.set_yticklabels([str(i + 1) for i in range(rows)], fontsize=6)
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.6", lw=0.6)
    ax.tick_params(which="both", length=0)
    ax.set_title(title, fontsize=8)


def _supports_figure(n: int, plt: Any) -> Any:
    """Masks and rank-one supports of LU (top row) and of the closed contrast (bottom row)."""
    lu, full = lu_pattern(n), contrast_pattern(n)
    shown = min(n, _MAX_DRAWN)
    fig, axes = plt.subplots(2, 2 + shown, figsize=(1.55 * (2 + shown) + 0.6, 3.9), squeeze=False)
    top = [("I: mask of X", lu.x_support), ("J: mask of Y", lu.y_support)]
    top += [(f"S{k + 1} = I{k + 1} × J{k + 1}", lu.support_mask(k)) for k in range(shown)]
    for ax, (title, mask) in zip(axes[0], top, strict=True):
        _draw_mask(ax, mask, title, "#c0392b")
    bottom = [("I: mask of X", full.x_support), ("J: mask of Y", full.y_support),
              ("S1 = ... = S" + str(n - 1) if n > 2 else "S1 = I1 × J1", full.support_mask(0))]
    for ax, (title, mask) in zip(axes[1], bottom, strict=False):
        _draw_mask(ax, mask, title, "#27ae60")
    for ax in axes[1, len(bottom):]:
        ax.axis("off")
    more = f" (first {shown} of {n} shown)" if n > shown else ""
    axes[0, 0].text(-0.25, 1.32, f"LU, r = {n}: supports S_k nested, S1 ⊃ S2 ⊃ …{more} — not closed",
                    transform=axes[0, 0].transAxes, fontsize=9, color="#c0392b")
    axes[1, 0].text(-0.25, 1.32, f"full, r = {n - 1}: all supports identical (rank ≤ {n - 1}) — closed",
                    transform=axes[1, 0].transAxes, fontsize=9, color="#27ae60")
    # n ≥ 2 gives at least 4 columns, so the bottom row always has a free axis for the legend
    axes[1, len(bottom)].text(0.0, 0.5, "X Yᵀ = Σ_k X[:,k] Y[:,k]ᵀ:\ncomponent k writes\nonly inside S_k",
                              fontsize=7, va="center", transform=axes[1, len(bottom)].transAxes)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.06, top=0.84, wspace=0.35, hspace=0.65)
    return fig


def _save(fig: Any, path: Path, fmt: str, parameter: str = "out_dir") -> Path:
    """Write the figure atomically (temporary file, then rename) and close it."""
    import matplotlib.pyplot as plt

    from .io.outputs import atomic_output

    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    try:
        with atomic_output(path, parameter) as tmp:
            fig.savefig(tmp, format=fmt, dpi=90, metadata=meta)
    finally:
        plt.close(fig)
    return path


def plot_lu_demo(out_dir: str | Path, *, n: int = 2, fmt: str = "png", steps: int = 20000,
                 seeds: Sequence[int] = (0, 1, 2),
                 training: tuple[TrainingPaths, TrainingPaths] | None = None,
                 parameter: str = "out_dir") -> dict[str, Path]:
    """Draw the demo's figures into ``out_dir`` and return ``{name: path}``.

    Figures: ``lu-sequence`` (error → 0 while the factor norms blow up, with the lower bound),
    ``lu-training`` (gradient descent on LU vs the closed contrast: loss and parameter norms),
    ``lu-supports`` (masks I, J and rank-one supports S_k of LU and of the contrast, drawn on a grid).
    ``training`` may pass precomputed ``(lu_runs, contrast_runs)`` from :func:`gradient_descent`
    (then ``steps`` and ``seeds`` are ignored). Every figure is written atomically; a folder or file that
    cannot be written raises :class:`~wellposed.errors.OutputError` naming ``parameter`` (the CLI passes
    ``--out``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sorted(plot_lu_demo(d, steps=200))
    ['lu-sequence', 'lu-supports', 'lu-training']

    Notes
    -----
    Uses the Agg backend (works without a display). Cost is dominated by the gradient descent runs,
    ``O(steps · len(seeds) · n³)``.
    """
    n = _check_n(n)
    if fmt not in _FORMATS:
        raise InvalidSpecError(f"fmt = {fmt!r} is not supported; use one of {', '.join(_FORMATS)}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"{parameter} = {str(out_dir)!r} exists and is not a directory; give a directory "
                               "path (it is created if needed).")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .io.outputs import output_error

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(parameter, out, exc) from None
    paths: dict[str, Path] = {}
    seq = lu_sequence(n, np.geomspace(1, 1e4, 41))
    contrast = closed_contrast(n)
    if training is None:
        lu_runs = gradient_descent(lu_target(n), lu_pattern(n), steps=steps, seeds=seeds)
        c_runs = gradient_descent(lu_target(n), contrast.pattern, steps=steps, seeds=seeds)
    else:
        lu_runs, c_runs = training
        if lu_runs.pattern != lu_pattern(n) or c_runs.pattern != contrast.pattern:
            raise InvalidSpecError(f"training = {training!r} must be the (LU, contrast) runs for n = {n}.")
    label = "[[0,1],[1,0]]" if n == 2 else f"diag([[0,1],[1,0]], I_{n - 2})"
    with matplotlib.rc_context({"svg.hashsalt": "wellposed-demo", "font.size": 8}):
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(10.5, 3.2))
        a1.loglog(seq.ks, seq.errors, "C3-", label="‖X_k Y_kᵀ − A‖_F = 1/k")
        a1.loglog(seq.ks, seq.loss, "C3:", label="loss ‖A − X_k Y_kᵀ‖²_F")
        a1.set_xlabel("k")
        a1.set_title("the products converge to A")
        a1.legend(fontsize=7)
        a2.loglog(seq.ks, seq.x_norms, "C0-", label="‖X_k‖_F")
        a2.loglog(seq.ks, seq.y_norms, "C1--", label="‖Y_k‖_F")
        a2.loglog(seq.ks, seq.x_norms * seq.y_norms, "k-", lw=0.8, label="‖X_k‖_F ‖Y_k‖_F")
        good = np.isfinite(seq.lower_bound)
        a2.loglog(seq.ks[good], seq.lower_bound[good], "k:", label="(1−δ)²/δ: bound for ANY LU")
        a2.set_xlabel("k")
        a2.set_title("…while the factors blow up")
        a2.legend(fontsize=7)
        k10 = int(np.argmin(np.abs(seq.ks - 10)))
        show = np.concatenate([seq.products[k10], np.full((n, 1), np.nan), seq.target], axis=1)
        a3.imshow(show, cmap="coolwarm", vmin=-1.2, vmax=1.2)
        for (i, j), v in np.ndenumerate(show):
            if np.isfinite(v):
                a3.text(j, i, f"{round(float(v), 9):g}", ha="center", va="center", fontsize=7)
        a3.set_xticks([])
        a3.set_yticks([])
        a3.set_title(f"X_k Y_kᵀ at k = {seq.ks[k10]:.0f}   |   A (no LU factors)")
        fig.suptitle(f"{n}×{n} LU: A = {label} is a limit of LU products but has no LU factorization")
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.82, wspace=0.25)
        paths["lu-sequence"] = _save(fig, out / f"lu-sequence.{fmt}", fmt, parameter)

        fig, (b1, b2) = plt.subplots(1, 2, figsize=(9, 3.2))
        x = np.maximum(lu_runs.steps, 1)
        for s in range(lu_runs.loss.shape[0]):
            first = s == 0
            b1.loglog(x, lu_runs.loss[s], "C3-", alpha=0.8, label="LU (inf 0, never attained)" if first else None)
            b1.loglog(x, c_runs.loss[s], "C2-", alpha=0.8,
                      label=f"rank ≤ {n - 1} (min {contrast.infimum:g}, attained)" if first else None)
            b2.loglog(x, np.hypot(lu_runs.x_norms[s], lu_runs.y_norms[s]), "C3-", alpha=0.8,
                      label="LU" if first else None)
            b2.loglog(x, np.hypot(c_runs.x_norms[s], c_runs.y_norms[s]), "C2-", alpha=0.8,
                      label=f"rank ≤ {n - 1}" if first else None)
        b1.axhline(contrast.infimum, color="C2", ls=":", lw=0.8)
        b1.set_xlabel("gradient step")
        b1.set_title("training loss ‖A − XYᵀ‖²_F")
        b1.legend(fontsize=7)
        b2.set_xlabel("gradient step")
        b2.set_title("parameter norm ‖(X, Y)‖_F")
        b2.legend(fontsize=7)
        fig.suptitle(f"gradient descent (lr {lu_runs.lr:g}, {lu_runs.loss.shape[0]} seeds) on the same A: "
                     "LU keeps drifting, the closed pattern converges")
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.82, wspace=0.2)
        paths["lu-training"] = _save(fig, out / f"lu-training.{fmt}", fmt, parameter)

        paths["lu-supports"] = _save(_supports_figure(n, plt), out / f"lu-supports.{fmt}", fmt, parameter)
    return paths
