"""Frobenius error ``‖x yᵀ − x̂ ŷᵀ‖`` of a quantized rank-one matrix, without forming the matrices."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wellposed.errors import InvalidMatrixError

__all__ = ["rank_one_error"]


def rank_one_error(
    x: ArrayLike, y: ArrayLike, x_hat: ArrayLike, y_hat: ArrayLike
) -> NDArray[np.float64] | float:
    """Frobenius error ``‖x yᵀ − x̂ ŷᵀ‖`` without forming the m×n matrices; batched over leading axes.

    Uses the orthogonal split ``x = α x̂ + r`` (``α = xᵀx̂/‖x̂‖²``, ``r ⊥ x̂``), which gives
    ``‖r‖²‖y‖² + ‖x̂‖²‖α y − ŷ‖²``: both terms are computed without the cancellation of the expanded
    identity ``‖x‖²‖y‖² − 2(xᵀx̂)(yᵀŷ) + ‖x̂‖²‖ŷ‖²``.

    Notes
    -----
    O(m + n) per term.

    Examples
    --------
    >>> x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    >>> x_hat, y_hat = np.array([1.0, 2.0]), np.array([3.0, -1.5])
    >>> float(rank_one_error(x, y, x_hat, y_hat))
    1.118033988749895
    >>> float(np.linalg.norm(np.outer(x, y) - np.outer(x_hat, y_hat)))
    1.118033988749895
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xh, yh = np.asarray(x_hat, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)
    if xa.shape != xh.shape or ya.shape != yh.shape or xa.shape[:-1] != ya.shape[:-1]:
        raise InvalidMatrixError(
            f"shapes x {xa.shape!r}, x_hat {xh.shape!r}, y {ya.shape!r}, y_hat {yh.shape!r} do not match: "
            "x and x_hat (resp. y and y_hat) must have equal shapes and the same leading axes"
        )
    norm_xh = np.sum(xh * xh, axis=-1)
    safe = np.where(norm_xh > 0, norm_xh, 1.0)
    alpha = np.where(norm_xh > 0, np.sum(xa * xh, axis=-1) / safe, 0.0)
    resid = xa - alpha[..., None] * xh
    gap = alpha[..., None] * ya - yh
    sq = np.sum(resid * resid, axis=-1) * np.sum(ya * ya, axis=-1) + norm_xh * np.sum(gap * gap, axis=-1)
    out = np.sqrt(np.maximum(sq, 0.0))
    return float(out) if out.ndim == 0 else out
