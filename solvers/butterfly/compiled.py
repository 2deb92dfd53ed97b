"""Compiled (numba) one-pass kernels of the left-to-right tree: the fused split of blocks with a few rows (the
grouped kernel also reads the energy each split drops, which gives the error of the orthonormalized tree without
a pass of its own) and the residual of rank-one blocks, each one pass over its data with no temporaries; and
the rule by which ``kernel='auto'`` picks them (:func:`resolve`: numba installed and the problem above a size).

numba is optional: :func:`available` checks for it without importing it, the kernels are compiled on first use
(``cache=True``: later processes load them from numba's cache), and every caller keeps the numpy kernels of
:mod:`wellposed.solvers.butterfly.truncated_svd` as fallback and as the oracle of the tests.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np
from wellposed.solvers.butterfly.blocks import PairBlocks, l2r_pair

from wellposed.errors import BackendNotAvailableError
from wellposed.kronecker import KSPattern

__all__ = ["available", "resolve", "default_threads", "NO_NUMBA", "MAX_ROWS", "AUTO_FACTORIZE_ENTRIES",
           "AUTO_APPLY_WORK"]

# Blocks with at most this many rows go through the compiled split (Gram matrix by plain loops, closed-form
# eigenvectors for two rows); taller blocks are left to the numpy kernel, whose Gram products are BLAS calls.
MAX_ROWS = 4
# Bytes of one group of rows of the grouped left-to-right kernel (it and the scratch nodes stay in the L2 cache).
_GROUP_BYTES = 1 << 18

_KERNELS: Any = None
# A thread of the grouped kernel gets at least this many bytes of the node: below, starting it costs more than
# it saves.
_MIN_THREAD_BYTES = 1 << 21


def _workers(n: int) -> ThreadPoolExecutor:
    """``n`` worker threads for one pass, ended with it (used as a context manager). No thread outlives a call:
    a process that forks later has nothing half-inherited, and a lasting thread would make the batch pool of
    :mod:`wellposed.executors` use a fork server instead of fork."""
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="wellposed-kernel")


def default_threads() -> int:
    """Threads of the compiled kernels when the caller does not say: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


#: Why ``kernel='auto'`` runs numpy, and what to install.
NO_NUMBA = "numba is not installed: pip install 'wellposed[fast]'"

# The size rule of kernel='auto'. Loading numba and the cached kernels in a new process costs about 0.4 s, once;
# below these sizes the numpy kernels' whole run is a few milliseconds or less and the compiled ones would save
# at most about a millisecond per call, so auto runs numpy (measured with benchmarks/bench_butterfly.py's
# first-call line and the dyadic butterflies; see docs/butterfly.md, "Fused kernels").
#: ``factorize(kernel='auto')`` runs the numpy kernels when ``A`` has at most this many entries (N ≤ 256 for
#: N×N): there they take about 2 ms and the compiled ones save at most about 1.5 ms (at N = 512: 7–15 ms
#: and 6–12 ms).
AUTO_FACTORIZE_ENTRIES = 1 << 16
#: ``FactorChain.apply(kernel='auto')`` runs the numpy kernel when ``nnz × columns of X`` is at most this (the
#: butterfly of size 64 on 16 columns, of size 256 on a vector): there it takes about 20 µs and the compiled one
#: saves at most about 10 µs per call.
AUTO_APPLY_WORK = 1 << 14


def available() -> bool:
    """Whether numba can be imported (checked without importing it; the import happens on first use).

    Called on every ``FactorChain.apply``: a module already imported (or blocked as ``None``) is read from
    ``sys.modules``, otherwise the search of the import path (about 35 µs when numba is missing) runs once."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None
    return _installed()


@lru_cache(maxsize=1)
def _installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def resolve(kernel: str, caller: str, size: int = 0, small: int = -1, what: str = "") -> tuple[bool, str | None]:
    """Whether the compiled kernels run for ``kernel`` (``'auto'``, ``'compiled'`` or the name of a numpy
    kernel), and why not when ``'auto'`` falls back to numpy; one rule for ``factorize`` and
    ``FactorChain.apply``. ``'auto'`` runs numpy when the problem is small (``size ≤ small``, ``what`` names
    ``size`` in the reason: :data:`AUTO_FACTORIZE_ENTRIES`, :data:`AUTO_APPLY_WORK`; a count, so the choice
    depends on the problem only) or numba is missing. ``'compiled'`` without numba raises
    :class:`BackendNotAvailableError` naming ``caller`` and the install."""
    if kernel == "compiled":
        if not available():
            raise BackendNotAvailableError(f"kernel='compiled' needs numba ({NO_NUMBA}) for {caller}; "
                                           "or pass kernel='numpy'.")
        return True, None
    if kernel == "auto":
        if size <= small:
            return False, (f"auto: {what} {size} <= {small}, too small for loading the compiled kernels to pay "
                           "off")
        return (True, None) if available() else (False, NO_NUMBA)
    return False, None


def _jit() -> Any:
    """The module of compiled kernels, imported on first use (numba is never imported with the package)."""
    global _KERNELS
    if _KERNELS is None:
        from wellposed.solvers.butterfly import _numba_kernels

        _KERNELS = _numba_kernels
    return _KERNELS


def _loop_order(B: np.ndarray) -> tuple[int, ...]:
    """Batch axes of a ``(…4…, m, n)`` block view from the largest stride to the smallest (memory order)."""
    return tuple(sorted(range(4), key=lambda i: (-abs(B.strides[i]), i)))


def split(
    B: np.ndarray,
    r: int,
    balanced: bool,
    W_out: np.ndarray,
    U: np.ndarray,
    tail: np.ndarray,
    pi_perm: np.ndarray | None,
) -> float | None:
    """Compiled :func:`~wellposed.solvers.butterfly.truncated_svd._split_fused` on blocks of at most
    :data:`MAX_ROWS` rows: writes ``W_out`` (rows ``k..`` left as they are), ``U`` (columns ``k..`` left) and
    ``tail`` at the true block indices (``pi_perm`` on axis 2). Returns the energy, or None when a Gram matrix
    is not finite."""
    K = _jit()
    order = _loop_order(B)
    perms = [np.arange(B.shape[ax], dtype=np.int64) for ax in order]
    if pi_perm is not None:
        perms[order.index(2)] = np.ascontiguousarray(pi_perm, dtype=np.int64)
    Bt = B.transpose(*order, 4, 5)
    # the outputs are indexed at (p0[i0], …): keep their axes in the loop order too
    Wt, Ut, Tt = W_out.transpose(*order, 4, 5), U.transpose(*order, 4, 5), tail.transpose(*order)
    energy, ok = K.split_small(Bt, r, balanced, Wt, Ut, Tt, *perms)
    return float(energy) if ok else None


def _halving(pr: PairBlocks) -> bool:
    """A split that the grouped kernel takes: blocks of two rows, rank one, two column blocks, ``d_r = 1``."""
    return pr.bl == 2 and pr.r == 1 and pr.p == 2 and pr.dr == 1


def fusable_levels(pats: Sequence[KSPattern], node: np.ndarray) -> int:
    """How many leading splits of the left-to-right tree on ``node`` (the data of ``product_pattern(pats)``) one
    pass of :func:`fused_levels` does: consecutive halving splits, as many as keep a group of rows
    (``2^k`` rows of the node) within :data:`_GROUP_BYTES`. 0 when the first split is not halving."""
    if not node.flags.c_contiguous:
        return 0
    k = 0
    row_bytes = node.shape[2] * node.itemsize
    pats = tuple(pats)
    while k < len(pats) - 1 and (k == 0 or (row_bytes << k) <= _GROUP_BYTES):
        if not _halving(l2r_pair(pats, k)):
            break
        k += 1
    return k


def fused_levels(
    pats: Sequence[KSPattern], node: np.ndarray, k: int, colrev: bool, balanced: bool, threads: int = 1
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], float | None, float]:
    """The first ``k`` splits of the left-to-right tree on ``node`` in one pass (see :func:`fusable_levels`):
    returns the node after them (the data of ``product_pattern(pats[k:])``), the left blocks ``U`` and the
    discarded energies of each split (as :func:`~wellposed.solvers.butterfly.truncated_svd._split_fused`), the
    energy of the first split (None when a Gram matrix is not finite) and the dropped energy
    ``Σ_j ‖node_j − U_j U_jᴴ node_j‖²`` of the ``k`` splits, each read directly on its blocks (meaningful for
    unit ``U``, i.e. ``balanced=False``). Complex nodes go to the kernel as float views. The groups of rows are
    shared among up to ``threads`` threads (at least :data:`_MIN_THREAD_BYTES` of the node each); the outputs,
    including both sums, are the same bytes for every number of threads."""
    a, b, c, _ = node.shape
    q = b  # the blocks of level j: (2^j diagonal blocks, 1, 2, b / 2^(j+1)) for a node (a, b, c) with a = 1
    out = np.empty((a << k, b >> k, c >> k, 1), dtype=node.dtype)
    Us, tails = [], []
    for j in range(k):
        q >>= 1
        Us.append(np.zeros((a << j, 1, 2, q, 2, 1), dtype=node.dtype))
        tails.append(np.zeros((a << j, 1, 2, q)))
    cplx = node.dtype.kind == "c"
    flat, flat_out = node.reshape(-1), out.reshape(-1)
    if cplx:
        flat, flat_out = flat.view(flat.real.dtype), flat_out.view(flat.real.dtype)
    groups = a * (b >> k)
    egrp, rgrp = np.zeros(groups), np.zeros(groups)
    eps = float(np.finfo(node.dtype).eps)
    args: tuple[Any, ...] = (flat, a, b, c, k, colrev, balanced, flat_out, tuple(Us), tuple(tails), cplx, eps)
    n_thr = min(threads, groups, max(1, node.nbytes // _MIN_THREAD_BYTES))
    K = _jit()

    def groups_from(lo: int, hi: int) -> bool:
        return bool(K.fused_levels(*args, lo, hi, egrp, rgrp))

    if n_thr <= 1:
        ok = groups_from(0, groups)
    else:  # contiguous ranges of groups, one per thread, the first in this one (the kernel releases the GIL)
        cuts = [groups * t // n_thr for t in range(n_thr + 1)]
        with _workers(n_thr - 1) as pool:
            futures = [pool.submit(groups_from, lo, hi) for lo, hi in zip(cuts[1:-1], cuts[2:], strict=True)]
            ok = groups_from(cuts[0], cuts[1])
            ok = all([f.result() for f in futures]) and ok
    # per-group sums added in one fixed order: the result does not depend on the number of threads
    return out, Us, tails, (float(egrp.sum()) if ok else None), float(rgrp.sum())


def residual_rank1(D0: np.ndarray, B: np.ndarray, U: np.ndarray, W: np.ndarray) -> float | None:
    """``Σ |B − U W|²`` over a batch of rank-one blocks: ``B`` (``(al, dr, p, q, m, n)``) a block view of the
    contiguous node ``D0``, ``U`` (``(…, m, 1)``), ``W`` (``(…, 1, n)``); one pass over ``D0`` in its memory
    order. None when the ``p·n`` entries of a block row are not contiguous in ``D0`` (the caller falls back to
    numpy)."""
    al, dr, p, q, m, n = B.shape
    st = [s // B.itemsize for s in B.strides]
    if B.strides[0] % B.itemsize or not D0.flags.c_contiguous or B.ctypes.data != D0.ctypes.data:
        return None
    if (st[2] == n or p == 1) and (st[5] == 1 or n == 1):
        p_inner = False
        wq = W[..., 0, :].transpose(0, 1, 3, 2, 4)  # (al, dr, q, p, n)
    elif (st[2] == 1 or p == 1) and (st[5] == p or n == 1):
        p_inner = True
        wq = W[..., 0, :].transpose(0, 1, 3, 4, 2)  # (al, dr, q, n, p)
    else:
        return None
    uq = np.ascontiguousarray(U[..., 0].transpose(0, 1, 3, 4, 2))  # (al, dr, q, m, p)
    wq = np.ascontiguousarray(wq).reshape(al, dr, q, p * n)
    shape = np.array(B.shape, dtype=np.int64)
    return float(_jit().residual_rank1(D0.reshape(-1), shape, np.array(st, dtype=np.int64), uq, wq, p_inner))
