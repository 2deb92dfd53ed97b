"""The vectorized classification kernel: the DTO test (and class counts) for a batch of equal-shape patterns.

Same predicates as :func:`wellposed.classify.classify`, computed on 64-bit bit sets for a whole stack of
patterns at once; :mod:`wellposed.batch` turns its arrays into batch rows.
"""

from __future__ import annotations

import numpy as np

from .support import check_memory, max_bytes

__all__ = ["classify_batch"]

#: Peak bytes per pair of components and per pattern of :func:`classify_batch` (bit-set products and tables).
_BATCH_BYTES_PER_PAIR = 24
#: :func:`classify_batch` works on slices of the batch whose tables fit in this many bytes.
_BATCH_SLICE_BYTES = 2**30


def _column_words(mask: np.ndarray) -> np.ndarray:
    """(B, rows, r) bool → (B, words, r) uint64: column k's rows as a bit set."""
    bsz, rows, r = mask.shape
    nbytes = -(-rows // 64) * 8
    packed = np.packbits(mask, axis=1, bitorder="little")  # (B, ceil(rows/8), r)
    if packed.shape[1] != nbytes:
        packed = np.concatenate([packed, np.zeros((bsz, nbytes - packed.shape[1], r), np.uint8)], axis=1)
    words = np.ascontiguousarray(np.swapaxes(packed, 1, 2)).view("<u8")  # (B, r, words)
    return np.swapaxes(words, 1, 2)


def classify_batch(x_supports: np.ndarray, y_supports: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorized DTO test over a batch of patterns of equal shape.

    Parameters
    ----------
    x_supports : bool array, shape (B, m, r)
    y_supports : bool array, shape (B, n, r)

    Returns
    -------
    dict of arrays of length B
        ``dto`` (bool), ``num_classes`` (int), ``num_complete`` (int), ``pair_k``, ``pair_l`` (first
        failing pair among live components, -1 when DTO; indices into the given components),
        ``needs_relaxed`` (bool: not DTO and has a complete class, so the relaxed condition must be
        checked one pattern at a time with :func:`classify`).

    Examples
    --------
    >>> import numpy as np
    >>> lu = np.tril(np.ones((3, 3), bool))
    >>> out = classify_batch(np.stack([lu, np.eye(3, dtype=bool)]), np.stack([lu, np.eye(3, dtype=bool)]))
    >>> out["dto"].tolist(), out["pair_k"].tolist(), out["pair_l"].tolist()
    ([False, True], [0, -1], [1, -1])

    Notes
    -----
    The Gram entries ``(IᵀI)_kl`` are only compared with 0 and with the diagonal, so the batch path
    computes the same predicates on bit sets: ``I_k ∩ I_l ≠ ∅`` and ``I_k = I_l`` with 64-bit words.
    Cost ``O(B r² ⌈(m + n)/64⌉)`` word operations, memory ``O(B r²)``.
    """
    x = np.asarray(x_supports, dtype=bool)
    y = np.asarray(y_supports, dtype=bool)
    bsz, m, r = x.shape
    n = y.shape[1]
    per_pattern = _BATCH_BYTES_PER_PAIR * r * r + 2 * (m + n) * r
    check_memory(per_pattern, f"the r×r pair tables of one pattern (r = {r})",
                 f"a batch of {m}×{n} patterns with r = {r} components", "Use patterns with fewer components")
    step = max(1, min(max_bytes(), _BATCH_SLICE_BYTES) // per_pattern)
    if bsz > step:  # same answers, bounded memory: classify slices of the batch one after the other
        parts = [classify_batch(x[s:s + step], y[s:s + step]) for s in range(0, bsz, step)]
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    wx, wy = _column_words(x), _column_words(y)  # (B, words, r) uint64 bit sets of I_k, J_k
    di, dj = x.sum(axis=1), y.sum(axis=1)  # |I_k|, |J_k|
    live = (di > 0) & (dj > 0)
    meet_i = np.zeros((bsz, r, r), dtype=bool)
    meet_j = np.zeros((bsz, r, r), dtype=bool)
    same = np.ones((bsz, r, r), dtype=bool)
    for w in range(wx.shape[1]):  # a handful of 64-bit words: (m + 63) // 64
        a = wx[:, w]
        meet_i |= (a[:, :, None] & a[:, None, :]) != 0
        same &= a[:, :, None] == a[:, None, :]
    for w in range(wy.shape[1]):
        a = wy[:, w]
        meet_j |= (a[:, :, None] & a[:, None, :]) != 0
        same &= a[:, :, None] == a[:, None, :]
    both_live = live[:, :, None] & live[:, None, :]
    overlap = meet_i & meet_j & both_live
    identical = same & both_live
    bad = overlap & ~identical
    dto = ~bad.reshape(bsz, -1).any(axis=1)
    flat = np.argmax(bad.reshape(bsz, -1), axis=1)
    pair_k = np.where(dto, -1, flat // r)
    pair_l = np.where(dto, -1, flat % r)
    # class representative = first identical live component; a class is counted at its representative
    first = np.argmax(identical, axis=2)
    is_rep = live & (first == np.arange(r)[None, :])
    sizes = identical.sum(axis=2)  # class size seen from each member
    complete = is_rep & (sizes >= np.minimum(di, dj))
    num_complete = complete.sum(axis=1)
    return {
        "dto": dto,
        "num_classes": is_rep.sum(axis=1),
        "num_complete": num_complete,
        "pair_k": pair_k,
        "pair_l": pair_l,
        "needs_relaxed": ~dto & (num_complete > 0),
    }
