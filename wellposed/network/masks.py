"""Layer masks of a sparse network: validation, boolean products, per-layer facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidSupportError
from ..memory import check_memory, count_product
from ..support import as_mask

__all__ = ["LayerInfo", "validate_masks", "bool_product", "layer_info"]


def validate_masks(masks: Any, names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Check a list of layer masks (first layer first, each ``out × in``) and return read-only bool arrays.

    Raises :class:`InvalidSupportError` naming the layer if a mask is not a 2-D 0/1 array or if
    consecutive shapes do not chain (``in`` of layer ℓ+1 must equal ``out`` of layer ℓ).

    Examples
    --------
    >>> [m.shape for m in validate_masks([np.ones((3, 2)), np.ones((1, 3))])]
    [(3, 2), (1, 3)]
    >>> validate_masks([np.ones((3, 2)), np.ones((1, 4))])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: masks do not chain: layer 2 ('masks[1]') has shape (1, 4) = \
(out, in), so it expects 4 inputs, but layer 1 ('masks[0]') has 3 outputs (shape (3, 2)); give the \
masks first layer first, each as out × in (the torch Linear.weight layout), or transpose the offending one.
    """
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        masks = [masks]
    if isinstance(masks, (str, bytes)) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise InvalidSupportError(
            f"masks = {masks!r:.80} must be a non-empty list of 2-D 0/1 arrays (first layer first, each "
            "out × in)."
        )
    if names is None:
        names = [f"masks[{i}]" for i in range(len(masks))]
    elif len(names) != len(masks):
        raise InvalidSupportError(f"names has {len(names)} entries for {len(masks)} masks; give one per layer.")
    out = [as_mask(m, str(name)) for m, name in zip(masks, names, strict=True)]
    for ell in range(1, len(out)):
        prev, cur = out[ell - 1], out[ell]
        if cur.shape[1] != prev.shape[0]:
            raise InvalidSupportError(
                f"masks do not chain: layer {ell + 1} ({names[ell]!r}) has shape {cur.shape} = (out, in), so "
                f"it expects {cur.shape[1]} inputs, but layer {ell} ({names[ell - 1]!r}) has {prev.shape[0]} "
                f"outputs (shape {prev.shape}); give the masks first layer first, each as out × in (the torch "
                "Linear.weight layout), or transpose the offending one."
            )
    return out


def bool_product(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean product ``M_L ⋯ M_1`` of masks given first layer first.

    It contains the support of every product ``W_L ⋯ W_1`` (an upper bound: cancellations aside,
    it is the support of a generic product).

    >>> bool_product([np.eye(2, dtype=bool), np.array([[1, 1]], bool)]).astype(int).tolist()
    [[1, 1]]
    """
    if len(masks) == 0:
        raise InvalidSupportError("bool_product needs at least one mask.")
    acc = np.asarray(masks[0], dtype=bool)
    for m in masks[1:]:
        acc = _bool_matmul(np.asarray(m, dtype=bool), acc)
    return acc


def _bool_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean ``a @ b``: sparse when the work ``Σ_k |col_k(a)| |row_k(b)|`` is well below the dense
    BLAS product's, else BLAS on 0/1 floats (exact); memory checked before allocating."""
    sparse_work = int(a.sum(axis=0, dtype=np.int64) @ b.sum(axis=1, dtype=np.int64))
    if 40 * sparse_work >= a.shape[0] * a.shape[1] * b.shape[1]:
        return count_product(a, b, "the boolean product of layer masks") > 0
    from scipy import sparse

    check_memory(12 * sparse_work + a.shape[0] * b.shape[1], "the boolean product of layer masks",
                 f"masks of shapes {a.shape} and {b.shape}", "Use smaller layers")
    product = sparse.csr_matrix(a, dtype=np.int32) @ sparse.csr_matrix(b, dtype=np.int32)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=bool)
    coo = product.tocoo()
    out[coo.row, coo.col] = True
    return out


@dataclass(frozen=True)
class LayerInfo:
    """Shape and sparsity of one layer mask (``out × in``); indices are 0-based neurons."""

    index: int
    name: str
    shape: tuple[int, int]
    nnz: int
    empty_rows: tuple[int, ...]
    empty_cols: tuple[int, ...]
    partial_permutation: bool

    @property
    def density(self) -> float:
        """Fraction of allowed entries."""
        return self.nnz / (self.shape[0] * self.shape[1])

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.index, "name": self.name, "shape": list(self.shape), "nnz": self.nnz,
                "density": round(self.density, 6), "empty_rows": list(self.empty_rows),
                "empty_cols": list(self.empty_cols), "partial_permutation": self.partial_permutation}


def layer_info(mask: np.ndarray, index: int, name: str = "") -> LayerInfo:
    """Per-layer facts: empty rows are output neurons without inputs, empty columns unused inputs.

    >>> layer_info(np.array([[1, 0], [0, 0]], bool), 1).to_json()["empty_rows"]
    [1]
    """
    m = np.asarray(mask, dtype=bool)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    return LayerInfo(index, name, (int(m.shape[0]), int(m.shape[1])), int(m.sum()),
                     tuple(int(i) for i in np.flatnonzero(rows == 0)),
                     tuple(int(j) for j in np.flatnonzero(cols == 0)),
                     bool((rows <= 1).all() and (cols <= 1).all()))

