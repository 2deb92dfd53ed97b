"""The vectorized classification kernel: classes, DTO and the relaxed condition for a batch of equal-shape patterns.

Same predicates, and the same first failures, as :func:`wellposed.classify.classify`, computed on bit sets for a
whole stack of patterns at once; :mod:`wellposed.batch.rows` turns its arrays into batch rows.
"""

from __future__ import annotations

import enum

import numpy as np

from ..errors import InvalidSupportError
from ..memory import check_memory, max_bytes

__all__ = ["classify_batch", "pattern_bytes", "Relaxed"]

#: Peak bytes per pair of components and per pattern of :func:`classify_batch` (bit-set products and tables).
_BATCH_BYTES_PER_PAIR = 24
#: Peak bytes per 64-bit word of a coverage row of the relaxed condition, per pattern (m rows each):
#: ``S_T``, its complement, the union of the classes checked so far, one class's ``Ω_P`` and its clashes,
#: the gathered copies and the sorted rows.
_RELAXED_BYTES_PER_WORD = 8 * 10
#: The complete classes are merged into ``S_T`` a block of classes at a time, with at most this many coverage
#: words per pattern in a block.
_RELAXED_BLOCK_WORDS = 1024
#: The pair tables are built a block of rows at a time, with word temporaries of at most this many bytes.
_PAIR_BLOCK_BYTES = 2**20
#: :func:`classify_batch` works on slices of the batch whose tables fit in this many bytes.
_BATCH_SLICE_BYTES = 2**30


class Relaxed(enum.IntEnum):
    """Outcome of the relaxed condition for one pattern of a batch (the ``relaxed`` array of :func:`classify_batch`).

    The failures are those :func:`wellposed.classify.classify` reports, in the same order of precedence.
    """

    #: DTO holds (or every component is empty): the relaxed condition is not consulted.
    NOT_NEEDED = 0
    #: Not DTO, but C1 and C2 hold: tractable by the relaxed condition.
    HOLDS = 1
    #: Not DTO and no complete class: the relaxed condition reduces to DTO.
    NO_COMPLETE_CLASS = 2
    #: C1 fails: a non-complete class meets an earlier one outside the complete classes.
    C1_FAILS = 3
    #: C2 fails: outside the complete classes, a non-complete class is not a union of full bicliques.
    C2_FAILS = 4


if hasattr(np, "bitwise_count"):  # numpy >= 2.0

    def _popcount(a: np.ndarray) -> np.ndarray:
        return np.bitwise_count(a)

else:  # pragma: no cover - numpy < 2.0
    _BYTE_COUNTS = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint8)

    def _popcount(a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a)
        return _BYTE_COUNTS[a.view(np.uint8).reshape(*a.shape, a.itemsize)].sum(axis=-1, dtype=np.uint8)


def _word_dtype(bits: int) -> tuple[np.dtype[np.unsignedinteger], int]:
    """The unsigned word for bit sets of ``bits`` elements (16, 32 or 64 bits) and the words per set."""
    for size in (2, 4):
        if bits <= 8 * size:
            return np.dtype(f"<u{size}"), 1
    return np.dtype("<u8"), -(-bits // 64)


#: Weights of 16 rows: a float32 product with them packs 16 rows into one exact 16-bit number.
_CHUNK_WEIGHTS = np.ldexp(np.float32(1), np.arange(16)).astype(np.float32)


def _words(mask: np.ndarray) -> np.ndarray:
    """(B, rows, r) bool → (r, words, B) unsigned bit sets: bit ``p`` of word ``w`` of component k is row ``64 w + p``.

    The batch is the last axis (here and in every table of the kernel), so that numpy's inner loops run
    over the patterns rather than over a handful of components or rows.

    >>> _words(np.array([[[1, 0], [0, 1], [1, 1]]], bool))[:, 0, 0].tolist()
    [5, 6]

    Rows are packed 16 at a time by a float32 matrix product with powers of two (exact below 2**24, and
    faster than ``np.packbits`` on this layout), then the 16-bit chunks are read as words.
    """
    bsz, rows, r = mask.shape
    dtype, nwords = _word_dtype(rows)
    chunks = nwords * dtype.itemsize // 2
    padded = mask if rows == 16 * chunks else np.concatenate(
        [mask, np.zeros((bsz, 16 * chunks - rows, r), bool)], axis=1)
    packed = np.matmul(_CHUNK_WEIGHTS, padded.reshape(bsz, chunks, 16, r).astype(np.float32))  # (B, chunks, r)
    words = np.ascontiguousarray(np.swapaxes(packed.astype("<u2"), 1, 2)).view(dtype)  # (B, r, words)
    return np.ascontiguousarray(words.transpose(1, 2, 0))


def _set_sizes(words: np.ndarray, axis: int = 1) -> np.ndarray:
    """Number of elements of each bit set of a stack whose words run along ``axis``, as int64."""
    return _popcount(words).sum(axis=axis, dtype=np.int64)


def _pair_tables(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, r, B) bool tables of (r, words, B) bit sets: sets k and l meet; sets k and l are equal.

    Built a block of rows k at a time, so that the word-sized temporaries stay in cache.
    """
    r, nwords, bsz = words.shape
    meet = np.empty((r, r, bsz), bool)
    same = np.empty((r, r, bsz), bool)
    step = max(1, _PAIR_BLOCK_BYTES // (r * bsz * words.itemsize))
    for k0 in range(0, r, step):
        block = words[k0:k0 + step, 0, None]  # (K, 1, B) against (r, B)
        meet[k0:k0 + step] = (block & words[:, 0]) != 0
        same[k0:k0 + step] = block == words[:, 0]
        for w in range(1, nwords):  # ceil(rows / 64) words
            block = words[k0:k0 + step, w, None]
            meet[k0:k0 + step] |= (block & words[:, w]) != 0
            same[k0:k0 + step] &= block == words[:, w]
    return meet, same


def _lowest_bit(words: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each non-zero word."""
    return _popcount(words ^ (words - np.ones(1, words.dtype))).astype(np.int64) - 1


def _first_entry(clash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the first (row-major) entry of each (words, m) bit table of a (words, m, G) stack of
    non-empty ones. Row ``i`` of table g is the bit set ``clash[:, i, g]`` over the columns.

    >>> _first_entry(np.array([[[0], [6], [1]]], np.uint8))  # rows {}, {1, 2}, {0}
    (array([1]), array([1]))
    """
    g = np.arange(clash.shape[2])
    i = np.argmax(clash.any(axis=0), axis=0)
    words = clash[:, i, g]  # (words, G): the first non-empty row
    w = np.argmax(words != 0, axis=0)
    return i, w * (8 * clash.itemsize) + _lowest_bit(words[w, g])


def _equal_or_disjoint(tables: np.ndarray) -> np.ndarray:
    """For each (words, m) bit table of a (words, m, F) stack: are any two of its m rows equal or disjoint?

    Sorted rows put equal rows side by side; the distinct non-empty rows are pairwise disjoint iff their
    sizes add up to the size of their union. ``O(m log m)`` per table.

    >>> _equal_or_disjoint(np.array([[[3, 3], [3, 1], [4, 4], [0, 0]]], np.uint8)).tolist()
    [True, False]
    """
    if tables.shape[0] == 1:
        t = np.sort(tables[0], axis=0)  # (m, F)
        new = t[1:] != t[:-1]  # row i differs from row i - 1: a new value (an empty row has size 0)
        sizes = _popcount(t)
        union = _popcount(np.bitwise_or.reduce(t, axis=0))
    else:  # rows of several words: sort them lexicographically
        order = np.lexsort(tuple(tables[w] for w in range(tables.shape[0])), axis=0)
        s = np.take_along_axis(tables, order[None], axis=1)  # (words, m, F)
        new = (s[:, 1:] != s[:, :-1]).any(axis=0)
        sizes = _popcount(s).sum(axis=0, dtype=np.int32)
        union = _popcount(np.bitwise_or.reduce(s, axis=1)).sum(axis=0, dtype=np.int32)
    return sizes[0] + (sizes[1:] * new).sum(axis=0, dtype=np.int32) == union


def _bits(words: np.ndarray, count: int) -> np.ndarray:
    """(r, words, F) bit sets → (r, count, F) bool: element i of set k.

    >>> _bits(np.array([[[5]], [[6]]], np.uint16), 3)[:, :, 0].astype(int).tolist()
    [[1, 0, 1], [0, 1, 1]]
    >>> _bits(np.array([[[5]], [[2**40]]], "<u8"), 41)[:, [0, 2, 40], 0].astype(int).tolist()
    [[1, 1, 0], [0, 0, 1]]
    """
    r, nwords, f = words.shape
    size = 8 * words.itemsize
    if size > 16:  # wide words: unpack their bytes (shifting 32 or 64 bit planes costs more)
        octets = np.ascontiguousarray(words.transpose(0, 2, 1)).view(np.uint8)  # (r, F, bytes), little-endian
        return np.ascontiguousarray(np.unpackbits(octets, axis=2, count=count, bitorder="little")
                                    .transpose(0, 2, 1)).view(bool)
    shifts = np.arange(size, dtype=words.dtype)[:, None]
    return ((words[:, :, None, :] >> shifts) & np.ones(1, words.dtype)).astype(bool).reshape(
        r, nwords * size, f)[:, :count]


def _relaxed(wx: np.ndarray, wy: np.ndarray, m: int, cec: np.ndarray, noncec: np.ndarray) -> dict[str, np.ndarray]:
    """C1 and C2, class by class in class order, for patterns that are not DTO and have a complete class.

    ``wx`` (r, words, F), ``wy`` (r, words, F): bit sets of the ``I_k`` (m rows) and ``J_k``; ``cec`` and
    ``noncec`` (r, F) mark the representative (first component) of each complete / non-complete class.
    Coverage tables are (words, m, F) bit sets: row ``i`` of ``S_T`` is the union of the ``J_P`` of the
    complete classes whose ``R_P`` holds ``i``, and row ``i`` of ``Ω_P`` is ``J_P \\ S_T[i]`` for
    ``i ∈ R_P``. One numpy pass per class position k, over the patterns whose class at k is non-complete
    and which have not failed yet (most patterns that fail do so within their first few classes).
    """
    r, nsel = cec.shape
    nwords = wy.shape[1]
    shape = (nwords, m, nsel)
    xt = _bits(wx, m)  # (r, m, F): row i of Ω_P may be non-empty iff i ∈ I_k
    zero = np.zeros(1, wy.dtype)
    s_t = np.zeros(shape, wy.dtype)
    step = max(1, _RELAXED_BLOCK_WORDS // (m * nwords))  # classes per block: bounded memory (pattern_bytes)
    for k0 in range(0, r, step):
        rows = xt[k0:k0 + step] & cec[k0:k0 + step, None]  # (K, m, F): rows of the complete classes
        s_t |= np.bitwise_or.reduce(rows[:, None] * wy[k0:k0 + step, :, None], axis=0)
    outside = ~s_t
    seen = np.zeros(shape, wy.dtype)  # union of the Ω_P of the non-complete classes checked so far
    code = np.full(nsel, int(Relaxed.HOLDS), np.int8)
    fail_class = np.full(nsel, -1, np.int64)
    row = np.full(nsel, -1, np.int64)
    col = np.full(nsel, -1, np.int64)
    other = np.full(nsel, -1, np.int64)
    alive = np.ones(nsel, bool)  # no class has failed yet
    bits = 8 * wy.itemsize
    for k in range(r):
        idx = np.flatnonzero(noncec[k] & alive)
        if idx.size == 0:
            continue
        omega = np.where(xt[k][:, idx][None], wy[k][:, idx][:, None] & outside[:, :, idx], zero)  # (words, m, F)
        before = seen[:, :, idx]
        clash = omega & before
        c1 = np.asarray(clash.any(axis=(0, 1)))
        failed = c1 | ~_equal_or_disjoint(omega)
        seen[:, :, idx] = before | omega
        if not failed.any():
            continue
        f = idx[failed]
        alive[f] = False
        fail_class[f] = k
        code[f] = np.where(c1[failed], int(Relaxed.C1_FAILS), int(Relaxed.C2_FAILS))
        if c1.any():
            g = idx[c1]
            i, j = _first_entry(clash[:, :, c1])
            # the clashing entry is outside S_T, so the earlier class that owns it is the one covering it
            in_j = (wy[:k, j // bits, g] >> (j % bits).astype(wy.dtype)) & np.ones(1, wy.dtype)
            owners = xt[:k, i, g] & (in_j != 0) & noncec[:k, g]
            row[g], col[g], other[g] = i, j, np.argmax(owners, axis=0)
    return {"relaxed": code, "fail_class": fail_class, "clash_row": row, "clash_col": col, "clash_other": other}


def pattern_bytes(m: int, n: int, r: int) -> int:
    """Peak memory of :func:`classify_batch` per m×n pattern with r components, in bytes.

    A batch is classified in slices that fit :func:`~wellposed.memory.max_bytes`; one pattern whose
    tables alone do not fit is refused.

    >>> pattern_bytes(16, 16, 16)
    16640
    """
    row_words = m * _word_dtype(n)[1]  # words of one m×n coverage table
    block = min(r, max(1, _RELAXED_BLOCK_WORDS // row_words))  # complete classes merged into S_T at once
    return (_BATCH_BYTES_PER_PAIR * r * r + 10 * (m + n) * r
            + _RELAXED_BYTES_PER_WORD * row_words + 2 * 8 * block * row_words)


def classify_batch(x_supports: np.ndarray, y_supports: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorized classification (classes, DTO, relaxed condition) over a batch of patterns of equal shape.

    Parameters
    ----------
    x_supports : bool array, shape (B, m, r)
    y_supports : bool array, shape (B, n, r)

    Returns
    -------
    dict of arrays of length B
        ``dto`` (bool), ``num_classes`` (int), ``num_complete`` (int); ``pair_k``, ``pair_l`` (first
        failing DTO pair of live components, -1 when DTO; indices into the given components);
        ``pair_counts`` (int, shape (B, 6): ``|I_k|, |J_k|, |I_l|, |J_l|, |I_k ∩ I_l|, |J_k ∩ J_l|`` of that
        pair, zeros when DTO);
        ``relaxed`` (int8 codes of :class:`Relaxed`); ``fail_class`` (first component of the first
        non-complete class failing C1 or C2, else -1); ``clash_row``, ``clash_col`` (first entry, row-major,
        where C1 fails) and ``clash_other`` (first component of the earlier class covering it), else -1.

    Raises
    ------
    InvalidSupportError
        The arrays are not (B, m, r) and (B, n, r) stacks with the same B and r.

    Examples
    --------
    >>> import numpy as np
    >>> lu = np.tril(np.ones((3, 3), bool))
    >>> out = classify_batch(np.stack([lu, np.eye(3, dtype=bool)]), np.stack([lu, np.eye(3, dtype=bool)]))
    >>> out["dto"].tolist(), out["pair_k"].tolist(), out["pair_l"].tolist()
    ([False, True], [0, -1], [1, -1])
    >>> [Relaxed(v).name for v in out["relaxed"]], out["fail_class"].tolist()
    (['C2_FAILS', 'NOT_NEEDED'], [0, -1])
    >>> nested_row = classify_batch(np.array([[[1, 1], [1, 0]]], bool), np.array([[[1, 1], [1, 1]]], bool))
    >>> Relaxed(nested_row["relaxed"][0]).name, nested_row["num_complete"].tolist()
    ('HOLDS', [1])

    Notes
    -----
    The Gram entries ``(IᵀI)_kl`` are only compared with 0 and with the diagonal, so the batch path
    computes the same predicates on bit sets: ``I_k ∩ I_l ≠ ∅`` and ``I_k = I_l`` with machine words. The
    relaxed condition follows :func:`wellposed.classify._relaxed` class by class: row ``i`` of each
    ``Ω_P = S_P \\ S_T`` is the bit set ``J_P \\ S_T[i]`` for ``i ∈ R_P``; C1 meets it with the union of the
    earlier classes' ``Ω``, C2 asks that its rows be pairwise equal or disjoint (its bipartite graph is
    then a union of full bicliques), tested by sorting the rows. One numpy pass per component position
    covers every pattern whose class there is non-complete and which has not failed yet. The one-pattern
    :func:`wellposed.classify.classify` is the plain reference this kernel is tested against
    (``tests/test_batch_kernel.py``). Cost ``O(B r² ⌈(m + n)/64⌉)`` word operations for the classes and
    DTO, plus ``O(B r m log m ⌈n/64⌉)`` for the relaxed condition; memory ``O(B (r² + m ⌈n/64⌉))``,
    bounded by working on slices of the batch.
    """
    x = np.asarray(x_supports, dtype=bool)
    y = np.asarray(y_supports, dtype=bool)
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise InvalidSupportError(f"x_supports has shape {x.shape} and y_supports {y.shape}; need (B, m, r) and "
                                  "(B, n, r) stacks with the same B and r.")
    bsz, m, r = x.shape
    n = y.shape[1]
    per_pattern = pattern_bytes(m, n, r)
    check_memory(per_pattern, f"the r×r pair tables and {m}×{n} coverage tables of one pattern (r = {r})",
                 f"a batch of {m}×{n} patterns with r = {r} components", "Use patterns with fewer components")
    step = max(1, min(max_bytes(), _BATCH_SLICE_BYTES) // per_pattern)
    if bsz > step:  # same answers, bounded memory: classify slices of the batch one after the other
        parts = [classify_batch(x[s:s + step], y[s:s + step]) for s in range(0, bsz, step)]
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    wx, wy = _words(x), _words(y)  # (r, words, B) bit sets of I_k, J_k
    di, dj = _set_sizes(wx), _set_sizes(wy)  # (r, B): |I_k|, |J_k|
    live = (di > 0) & (dj > 0)
    meet_i, same_i = _pair_tables(wx)
    meet_j, same_j = _pair_tables(wy)
    same = same_i & same_j
    # components meeting in I and in J are both live, and a live component is identical only to live ones
    bad = meet_i & meet_j & ~same  # (r, r, B)
    bi = np.arange(bsz)
    # the lexicographically first failing pair (k, l): the first k whose row has one, then the first l in
    # that row (a min over the first axis is vectorized over the batch; an argmax there is not)
    k_arr = np.where(bad.any(axis=1), np.arange(r)[:, None], r).min(axis=0)
    dto = k_arr == r
    k_arr[dto] = 0
    l_arr = np.argmax(bad[k_arr, :, bi], axis=1)
    pair_k = np.where(dto, -1, k_arr)
    pair_l = np.where(dto, -1, l_arr)
    counts = np.stack([di[k_arr, bi], dj[k_arr, bi], di[l_arr, bi], dj[l_arr, bi],
                       _set_sizes(wx[k_arr, :, bi] & wx[l_arr, :, bi], axis=1),
                       _set_sizes(wy[k_arr, :, bi] & wy[l_arr, :, bi], axis=1)], axis=1)
    counts[dto] = 0
    # class representative = first identical component; a class is counted at its (live) representative
    is_rep = live & ~(same & np.tri(r, r, -1, dtype=bool)[:, :, None]).any(axis=1)  # no identical l < k
    sizes = same.sum(axis=1, dtype=np.int64)  # class size seen from each member
    complete = is_rep & (sizes >= np.minimum(di, dj))
    num_complete = np.count_nonzero(complete, axis=0)
    out = {
        "dto": dto,
        "num_classes": np.count_nonzero(is_rep, axis=0),
        "num_complete": num_complete,
        "pair_k": pair_k,
        "pair_l": pair_l,
        "pair_counts": counts,
        "relaxed": np.where(dto, int(Relaxed.NOT_NEEDED), int(Relaxed.NO_COMPLETE_CLASS)).astype(np.int8),
        "fail_class": np.full(bsz, -1, np.int64),
        "clash_row": np.full(bsz, -1, np.int64),
        "clash_col": np.full(bsz, -1, np.int64),
        "clash_other": np.full(bsz, -1, np.int64),
    }
    sel = np.flatnonzero(~dto & (num_complete > 0))
    if sel.size:
        part = _relaxed(wx[:, :, sel], wy[:, :, sel], m, complete[:, sel], is_rep[:, sel] & ~complete[:, sel])
        for key, values in part.items():
            out[key][sel] = values
    return out
