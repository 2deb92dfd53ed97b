"""The result records of the FSMF solver: :class:`FSMFResult` (factors, optimal value, certificate) and
its independent pieces :class:`FSMFBlock`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wellposed.classify import Classification

__all__ = ["FSMFBlock", "FSMFResult"]

_Index = tuple[int, ...]
_JSON_BLOCKS = 100  # at most this many blocks are listed by FSMFResult.to_json


@dataclass(frozen=True)
class FSMFBlock:
    """One independent piece of an optimal FSMF: a truncated SVD or an exact fit on a rectangle.

    Attributes
    ----------
    kind : str
        ``"svd"`` (best rank-``rank`` approximation of ``A[rows, cols]``) or ``"exact"`` (a complete
        class fitting its rectangle exactly).
    class_index : int
        Index of the class in ``Classification.classes``.
    components : tuple of int
        Components (columns of X and Y) of the class.
    rows, cols : tuple of int
        The rectangle: a class rectangle (DTO) or a biclique of a non-complete class (relaxed).
    rank : int
        Number of components actually used on this block.
    tail : float
        ``Σ_{i>rank} σ_i(A[rows, cols])²``, the block's share of the optimal value (0 for ``"exact"``).
    """

    kind: str
    class_index: int
    components: _Index
    rows: _Index
    cols: _Index
    rank: int
    tail: float

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(rows), len(cols))``."""
        return (len(self.rows), len(self.cols))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary of the block."""
        return {"kind": self.kind, "class_index": self.class_index, "components": list(self.components),
                "rows": list(self.rows), "cols": list(self.cols), "rank": self.rank, "tail": self.tail}


@dataclass(frozen=True, eq=False)
class FSMFResult:
    """A globally optimal factorization ``A ≈ X @ Y.T`` with its optimality certificate.

    Unpacks like a pair: ``X, Y = solve_fsmf(A, pattern)``.

    Attributes
    ----------
    X, Y : numpy.ndarray
        Factors, ``m×r`` and ``n×r``; entries outside the supports are exact zeros.
    residual : float
        ``‖A − X Yᵀ‖_F²`` recomputed from the factors (with ``check=True``).
    optimal_value : float
        The theorem's value ``‖A off ∪S_k‖² + Σ tails``: no feasible (X, Y) does better.
    off_support : float
        ``‖A off ∪S_k‖²``, the part of the optimum no factorization can touch.
    a_norm2 : float
        ``‖A‖_F²`` (to read errors relatively).
    method : str
        ``"dto"`` or ``"relaxed"``.
    reason : str
        The classification's explanation of why the support is tractable.
    blocks : tuple of FSMFBlock
        The independent sub-problems solved.
    checked : bool
        Whether ``residual`` was recomputed from the factors and compared with ``optimal_value``.
    classification : Classification
        The classification used.
    """

    X: np.ndarray
    Y: np.ndarray
    residual: float
    optimal_value: float
    off_support: float
    a_norm2: float
    method: str
    reason: str
    blocks: tuple[FSMFBlock, ...]
    checked: bool
    classification: Classification = field(repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.X
        yield self.Y

    @property
    def gap(self) -> float:
        """``residual − optimal_value`` (rounding-level for a correct solve)."""
        return self.residual - self.optimal_value

    @property
    def relative_error(self) -> float:
        """``‖A − X Yᵀ‖_F / ‖A‖_F`` (0 when ``A = 0``)."""
        return float(np.sqrt(max(self.residual, 0.0) / self.a_norm2)) if self.a_norm2 > 0 else 0.0

    @property
    def X_sparse(self) -> Any:
        """``X`` as a ``scipy.sparse.csr_array`` (structural nonzeros only)."""
        import scipy.sparse as sp

        return sp.csr_array(self.X)

    @property
    def Y_sparse(self) -> Any:
        """``Y`` as a ``scipy.sparse.csr_array`` (structural nonzeros only)."""
        import scipy.sparse as sp

        return sp.csr_array(self.Y)

    def product(self) -> np.ndarray:
        """The approximation ``X @ Y.T``."""
        return _product(self.X, self.Y)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays; the first 100 blocks are listed)."""
        svd = [b for b in self.blocks if b.kind == "svd"]
        shapes: dict[str, int] = {}
        for b in svd:
            key = f"{b.shape[0]}x{b.shape[1]}:rank{b.rank}"
            shapes[key] = shapes.get(key, 0) + 1
        return {
            "method": self.method, "reason": self.reason, "residual": self.residual,
            "optimal_value": self.optimal_value, "off_support": self.off_support,
            "tails": self.optimal_value - self.off_support, "a_norm2": self.a_norm2,
            "relative_error": self.relative_error, "gap": self.gap, "checked": self.checked,
            "m": int(self.X.shape[0]), "n": int(self.Y.shape[0]), "r": int(self.X.shape[1]),
            "num_svd_blocks": len(svd), "num_exact_blocks": len(self.blocks) - len(svd),
            "svd_block_shapes": shapes,
            "blocks": [b.to_json() for b in self.blocks[:_JSON_BLOCKS]],
            "blocks_listed": min(len(self.blocks), _JSON_BLOCKS),
        }


def _product(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``X @ Y.T``, through scipy.sparse when the factors are sparse enough to save work."""
    work_sparse = float(np.count_nonzero(X, axis=0) @ np.count_nonzero(Y, axis=0))
    if work_sparse < 0.25 * X.shape[0] * Y.shape[0] * max(X.shape[1], 1):
        import scipy.sparse as sp

        return np.asarray((sp.csr_array(X) @ sp.csc_array(Y.T)).toarray())
    return X @ Y.T
