"""Hierarchical Kronecker-sparse (butterfly) factorization by batched truncated SVDs, with error certificates."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from wellposed.solvers.butterfly import compiled as _compiled
from wellposed.solvers.butterfly.blocks import PairBlocks, bmm, chain_product
from wellposed.solvers.butterfly.blocks import bit_reversal as _bitrev
from wellposed.solvers.butterfly.factors import FactorChain, KSFactor
from wellposed.solvers.butterfly.result import ButterflyResult
from wellposed.solvers.butterfly.trees import (
    ORDERS,
    Order,
    _auto_order,
    _factor_l2r_fused,
    _factor_ortho,
    _factor_plain,
    _fused_ok,
)
from wellposed.solvers.butterfly.truncated_svd import (
    _CHUNK_BYTES,
    _chunk_axis,
    _chunk_step,
    _NonFinite,
    _one_blas_thread,
    _Run,
    _sqnorm,
    _sqnorm_blas,
    _tail_only,
)

from wellposed.errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, chain_shape, check_chain, product_pattern

__all__ = [
    "factorize",
    "split_errors_exact",
    "two_factor_reference",
    "bit_reversal_permutation",
]


def bit_reversal_permutation(n: int) -> np.ndarray:
    """Bit-reversal permutation of ``range(n)`` for ``n`` a power of two (an involution).

    Examples
    --------
    >>> bit_reversal_permutation(8)
    array([0, 4, 2, 6, 1, 5, 3, 7])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
        raise InvalidMatrixError(f"bit reversal needs a power-of-two size, got n={n!r}; pad or drop bit_reversal.")
    return _bitrev(int(n))


KERNELS = ("auto", "compiled", "numpy", "reference")
#: Below this squared norm of A the factorization is re-run on A scaled by a power of two (see factorize).
_TINY_SQNORM = 2.0**-500
_DTYPES = {"float64": np.float64, "float32": np.float32}
# dtype='float32': a squared norm outside (_SINGLE_LOW, _SINGLE_HIGH · entries) triggers the check of the largest
# magnitude against the window of _single_shift (2**±32 on the entries; free when A is well scaled).
_SINGLE_LOW, _SINGLE_HIGH = 2.0**-64, 2.0**64


def _validate_matrix(A: object, scan: bool = True, single: bool = False) -> np.ndarray:
    if isinstance(A, np.ndarray):
        M = A
    else:
        try:
            M = np.asarray(A)
        except Exception as exc:  # noqa: BLE001 - anything numpy cannot read is bad input
            raise InvalidMatrixError(f"A must be a 2-D numeric array, got {type(A).__name__}: {exc}") from exc
    if M.ndim != 2:
        raise InvalidMatrixError(f"A must be a 2-D array, got shape {M.shape!r}; reshape it to (rows, cols).")
    if M.size == 0:
        raise InvalidMatrixError(f"A is empty (shape {M.shape!r}); there is nothing to factorize.")
    if M.dtype.kind not in "biufc":
        raise InvalidMatrixError(f"A must be real or complex, got dtype {M.dtype!r}.")
    if single:
        with np.errstate(over="ignore"):  # beyond 3.4e38: inf, reported by the checks of factorize
            M = M.astype(np.complex64 if M.dtype.kind == "c" else np.float32, copy=False)
    else:
        M = M.astype(np.complex128 if M.dtype.kind == "c" else np.float64, copy=False)
    if scan:
        _require_finite(M)
    return M


def _ldexp(M: np.ndarray, e: int) -> np.ndarray:
    """``M · 2**e``, exact for real and complex ``M`` (``np.ldexp`` takes real arrays only)."""
    if np.iscomplexobj(M):
        out = np.empty_like(M)
        out.real, out.imag = np.ldexp(M.real, e), np.ldexp(M.imag, e)
        return out
    return np.ldexp(M, e)


def _single_shift(W: np.ndarray) -> int:
    """For ``dtype='float32'``: ``e`` with ``2**-e · max|W|`` in [0.5, 1) when the largest magnitude of ``W``
    (A in its own precision) lies outside [2**-32, 2**32], else 0. Outside that window single-precision squares
    and products under- or overflow (errors read 0 from about 1e-18, inf from 1e30; entries below about 1e-38 do
    not survive the cast). Raises InvalidMatrixError beyond 2**±100, where the scaled-back factors would leave
    the single-precision range."""
    amax = float(np.max(np.abs(W)))
    if not (amax > 0.0 and math.isfinite(amax)):
        return 0  # zero, or nan / inf: reported by the checks of factorize
    e = int(np.frexp(amax)[1])
    if -32 <= e <= 32:
        return 0
    if not -100 <= e <= 100:
        raise InvalidMatrixError(
            f"dtype='float32' cannot hold the factors of this A: its largest magnitude is {amax:.3g}, and "
            "single-precision factors keep their digits from about 1e-30 to 1e30; use dtype='float64' or rescale A."
        )
    return e


def _scaled_back(res: ButterflyResult, e: int, t0: float) -> ButterflyResult:
    """The factorization of ``A`` from that of ``2**-e · A``: the first factor and the errors times ``2**e``."""
    first, *rest = res.chain.factors
    scaled = FactorChain((KSFactor(first.pattern, _ldexp(first.data, e).astype(first.data.dtype)), *rest),
                         column_permutation=res.chain.column_permutation)
    return dataclasses.replace(res, chain=scaled, error=math.ldexp(res.error, e),
                               split_errors=np.ldexp(res.split_errors, e),
                               off_support_error=math.ldexp(res.off_support_error, e),
                               seconds=time.perf_counter() - t0)


def _require_finite(M: np.ndarray) -> None:
    """Raise InvalidMatrixError naming the first nan/inf entry, or the overflow, of ``M``."""
    bad = np.argwhere(~np.isfinite(M))
    if bad.size:
        first = tuple(int(i) for i in bad[0])
        raise InvalidMatrixError(
            f"A has non-finite entries (first at {first!r}: {M[first]!r}); replace nan/inf before factorizing."
        )
    if not math.isfinite(_sqnorm(M)):
        raise InvalidMatrixError("A is too large in magnitude: its squared Frobenius norm overflows; rescale A.")


def _permute_columns(M: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """``M[:, perm]`` gathered in row chunks that fit in cache (a plain fancy index walks column by column)."""
    out = np.empty_like(M)
    step = max(1, (1 << 20) // max(1, M.shape[1] * M.itemsize))
    for i in range(0, M.shape[0], step):  # chunks of rows, each one vectorized gather
        np.take(M[i : i + step], perm, axis=1, out=out[i : i + step])
    return out


def _restrict(A: np.ndarray, P: KSPattern) -> tuple[np.ndarray, float]:
    """Entries of A on the Kronecker-sparse pattern P as an (a, b, c, d) array, and the energy off P."""
    a, b, c, d = P.abcd
    if a == 1 and d == 1:
        return A.reshape(1, b, c, 1), 0.0
    A6 = A.reshape(a, b, d, a, c, d)
    ia = np.arange(a)[:, None]
    id_ = np.arange(d)[None, :]
    D = np.ascontiguousarray(A6[ia, :, id_, ia, :, id_].transpose(0, 2, 3, 1))
    rest = A6.copy()
    rest[ia, :, id_, ia, :, id_] = 0
    return D, _sqnorm(rest)


def _residual2(
    pats: tuple[KSPattern, ...],
    datas: Sequence[np.ndarray],
    D0: np.ndarray,
    s: int,
    colrev: bool = False,
    compiled: bool = False,
) -> float:
    """``‖D0 − F_1⋯F_L‖²`` inside the product pattern, computed in the block layout of split point ``s``
    (left and right sub-products multiplied separately, then one batched matmul per block).

    ``colrev``: ``D0`` is ``A`` while the factors approximate ``A[:, bitrev]`` (product pattern
    ``(1, m, n, 1)``); the blocks of ``A`` are read through the bit-reversed block view and the permutation
    is applied to the small sub-products instead of to ``A``. ``compiled``: rank-one blocks go through the
    numba kernel (one pass over ``A`` in its memory order, no scratch); this chunked numpy code is its oracle."""
    if len(pats) == 1:
        diff = D0 - datas[0]
        return _sqnorm(diff)
    Pl, X = chain_product(pats[:s], datas[:s])
    Pr, Y = chain_product(pats[s:], datas[s:])
    pr = PairBlocks.of(Pl, Pr)
    U, W = pr.left_blocks(X), pr.right_blocks(Y)
    if colrev:
        bp = _bitrev(pr.p)
        U, W = U[:, :, bp], W[:, :, bp][..., _bitrev(pr.cr)]
        B = pr.product_blocks_bitrev(D0)
    else:
        B = pr.product_blocks(D0)
    if compiled and pr.r == 1:
        res = _compiled.residual_rank1(D0, B, U, W)
        if res is not None:
            return res
    # Chunks along one batch axis, cut along the block index π too when one κ is more than a chunk, keep the
    # temporaries in cache (one scratch buffer) and read every line of A once. With the columns bit-reversed
    # π' is the fastest axis of A, so the runs along π' are whole cache lines and the product is formed in
    # A's memory order.
    ax = 3 if colrev else _chunk_axis(B.shape)
    step = _chunk_step(B, ax)
    pstep = B.shape[2]
    if ax == 3 and step == 1:
        line = max(1, 64 // B.itemsize)  # entries per cache line
        per_pi = B.size // (B.shape[2] * B.shape[3]) * B.itemsize  # bytes of one (π, κ) block
        pstep = min(B.shape[2], max(line, (_CHUNK_BYTES // per_pi) // line * line))
    dtype = np.result_type(U.dtype, W.dtype, B.dtype)
    if pstep < B.shape[2]:
        most = B.size // (B.shape[2] * B.shape[3]) * pstep
    else:
        most = B.size // B.shape[ax] * step
    scratch = np.empty(most, dtype)
    total = 0.0
    with _one_blas_thread():
        for i in range(0, B.shape[ax], step):
            for j in range(0, B.shape[2], pstep):
                sl: tuple[slice, ...] = (slice(None),) * ax + (slice(i, i + step),)
                if pstep < B.shape[2]:
                    sl = (slice(None), slice(None), slice(j, j + pstep), slice(i, i + step))
                Us, Ws, Bs = U[sl], W[sl], B[sl]
                if pr.r == 1:
                    if colrev:  # walk A in its memory order: (κ, β, γ', π'), π' fastest
                        Us = Us[..., 0].transpose(0, 1, 3, 4, 2)[..., :, None, :]
                        Ws = Ws[..., 0, :].transpose(0, 1, 3, 4, 2)[..., None, :, :]
                        Bs = Bs.transpose(0, 1, 3, 4, 5, 2)
                    R = scratch[: Bs.size].reshape(Bs.shape)
                    np.multiply(Us, Ws, out=R)
                else:
                    R = scratch[: Bs.size].reshape(Bs.shape)
                    R[...] = bmm(Us, Ws)
                np.subtract(Bs, R, out=R)
                total += _sqnorm_blas(R)
    return total


def factorize(
    A: np.ndarray,
    chain: Sequence[KSPattern],
    order: Order = "auto",
    orthonormalize: bool = True,
    bit_reversal: bool = False,
    certificate: Literal["free", "exact"] = "free",
    progress: Callable[[int, int], None] | None = None,
    *,
    dtype: Literal["float64", "float32"] = "float64",
    kernel: Literal["auto", "compiled", "numpy", "reference"] = "auto",
    threads: int | None = None,
) -> ButterflyResult:
    """Approximate ``A`` by a product of Kronecker-sparse factors with the given chainable patterns.

    Hierarchical algorithm: a binary tree over the ``L−1`` split points; each split of a node is a
    two-factor problem whose rank-one supports are disjoint or identical, solved exactly by ONE batched
    truncated SVD of its decoupled blocks.

    Parameters
    ----------
    A : array_like of shape (m, n)
        Real or complex, finite, non-empty; ``(m, n)`` must equal the chain's shape.
    chain : sequence of KSPattern
        Chainable patterns, leftmost first (see :func:`wellposed.kronecker_spec.parse_chain_spec`).
    order : {'auto', 'balanced', 'left-to-right', 'right-to-left'}
        Tree over split points: split in the middle, or peel off the leftmost / rightmost factor first.
        ``'auto'`` (default) takes the cheaper peeling order by the Gram cost of its splits (left-to-right
        on ties, e.g. every square butterfly); the chosen tree is the result's ``order``.
    orthonormalize : bool, default True
        Orthonormalized variant: every node is the projection of ``A`` on block isometries built from the
        factors already fixed. Then ``error² ≤ off² + Σ_s tail_s`` and each recorded split error is at most
        ``E_s(A)``, so the certificate covers every split point at no extra cost and
        ``error ≤ sqrt(L−1) · E*``; on noisy data it stays at the noise level where the plain tree
        amplifies the noise. ``False``: the plain tree (certificate at the root split only).
    bit_reversal : bool, default False
        Factorize ``A[:, perm]`` with ``perm`` the bit-reversal permutation (the DFT matrix is then an exact
        butterfly product); the chain keeps ``perm`` as its ``column_permutation``, so ``result.chain`` is
        the approximation of ``A`` itself.
    certificate : {'free', 'exact'}
        ``'free'``: lower bounds that the algorithm gets for nothing (the root split; every split when
        orthonormalized). ``'exact'``: also compute ``E_s(A)`` at every split point (see
        :func:`split_errors_exact`; costs about ``Σ_s min(b_s, c_s)`` passes over ``A``).
    progress : callable(done, total), optional
        Called after each split of the tree (``L − 1`` of them), and once more after the exact certificate
        when it is asked for, with the steps done and their total (the CLI draws a bar with it).
    dtype : {'float64', 'float32'}, keyword-only
        Working precision. ``'float32'`` (complex input: complex64) halves the memory traffic; errors and
        certificates are then at single-precision level (about 1e-7 relative).
    kernel : {'auto', 'compiled', 'numpy', 'reference'}, keyword-only
        The left-to-right tree runs one fused pass per level over its node (Gram matrices, eigenvectors and
        projection of each block, the right factor written into the next node) and carries the bit reversal
        through the splits instead of permuting a copy of ``A``. ``'compiled'``: with the numba kernels
        (blocks of at most four rows; also the error measurement), one pass and no temporaries;
        ``'numpy'``: with vectorized numpy passes over cache-sized chunks; ``'auto'`` (default): compiled
        when numba is installed and ``A`` has more than
        :data:`~wellposed.solvers.butterfly.compiled.AUTO_FACTORIZE_ENTRIES` (``2**16``) entries, else numpy
        (below that the numpy run takes a few milliseconds, less than loading numba's cached kernels into a
        new process, about 0.4 s; ``result.kernel`` says which ran and why). ``'reference'``:
        the two-pass kernels on an explicitly permuted copy (the oracle of the tests). Other trees always
        use the reference kernels.
    threads : int or None, keyword-only
        Threads of the compiled kernels' grouped levels (the passes over the large nodes; each thread gets at
        least 2 MB of the node). ``None`` (default): the cores this process may run on. The result is the
        same bytes for every value: the threads share independent groups of rows and the sums are added in
        one fixed order.

    Returns
    -------
    ButterflyResult

    Raises
    ------
    InvalidMatrixError
        ``A`` empty, not 2-D, not numeric, non-finite, or of the wrong shape.
    InvalidChainError
        The chain is invalid or not chainable.
    InvalidSpecError
        Unknown ``order``, ``certificate``, ``dtype`` or ``kernel``.
    BackendNotAvailableError
        ``kernel='compiled'`` without numba installed.

    Notes
    -----
    A matrix so small that products of its entries underflow (``‖A‖² < 2**-500``) is factorized as
    ``2**-e · A`` with ``2**e`` its largest magnitude (exact), and the first factor and the errors are scaled
    back, so its factors and errors keep their digits (``progress`` then counts the steps twice). With
    ``dtype='float32'`` the same is done, from ``A`` in its own precision, when the largest magnitude of ``A`` lies
    outside ``[2**-32, 2**32]`` (single-precision squares and products would under- or overflow); it is read only
    when the run's squared norm or a non-finite value points there, so a well-scaled ``A`` costs no extra pass.
    Beyond ``2**±100`` the single-precision factors cannot hold ``A`` and InvalidMatrixError says so.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> H = np.array([[1.0]])
    >>> for _ in range(4):
    ...     H = np.block([[H, H], [H, -H]])
    >>> res = factorize(H, dyadic_butterfly(16))
    >>> res.rel_error < 1e-14, len(res.chain), res.order
    (True, 4, 'left-to-right')
    >>> F = np.fft.fft(np.eye(8))
    >>> factorize(F, dyadic_butterfly(8), bit_reversal=True).rel_error < 1e-14
    True

    Notes
    -----
    Each split of a node with ``n_blocks`` blocks of size ``b×c`` and rank ``r`` costs one batched Gram
    product and eigendecomposition: ``O(n_blocks · b·c·min(b, c))``. For the ``N×N`` dyadic butterfly the
    left-to-right and right-to-left trees cost ``O(N²)`` (blocks ``2×N/2`` at the root, halving after) and
    the balanced tree ``O(N^2.5)`` (blocks ``√N×√N`` at the root). The error is measured on the factors by
    multiplying them back inside the product's Kronecker-sparse pattern (``O(N² r)``), not densely, in
    one more chunked pass over ``A``; the compiled orthonormalized left-to-right tree needs no such pass:
    every split reads the energy it drops on its blocks (``Σ|vᴴB|²``, ``v`` orthogonal to the kept
    direction ``u``), and the terms into which ``A − F_1⋯F_L`` telescopes over the splits are orthogonal
    (block isometries), so the error² is their sum, to rounding (``O(L·eps·‖A‖)`` on the error, as for a
    measured residual). Batches of small ``eigh`` / QR / matmul calls run with one BLAS
    thread (threadpoolctl; the previous limit is restored), so a threaded BLAS on busy cores cannot stall
    them.

    References
    ----------
    L. Zheng, E. Riccietti, R. Gribonval, SIMODS 2023 (arXiv:2110.01230); Q.-T. Le, L. Zheng,
    E. Riccietti, R. Gribonval, arXiv:2411.04506.
    """
    t0 = time.perf_counter()
    if order not in ORDERS:
        raise InvalidSpecError(f"order must be one of {ORDERS!r}, got {order!r}.")
    if certificate not in ("free", "exact"):
        raise InvalidSpecError(f"certificate must be 'free' or 'exact', got {certificate!r}.")
    if not isinstance(orthonormalize, (bool, np.bool_)) or not isinstance(bit_reversal, (bool, np.bool_)):
        raise InvalidSpecError(
            f"orthonormalize and bit_reversal must be booleans, got {orthonormalize!r} and {bit_reversal!r}."
        )
    if progress is not None and not callable(progress):
        raise InvalidSpecError(f"progress = {progress!r} must be None or a callable progress(done, total).")
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise InvalidSpecError(
            f"dtype must be one of {tuple(_DTYPES)!r} (complex input stays complex), got {dtype!r}."
        )
    if kernel not in KERNELS:
        renamed = " (the one-pass numpy kernel once called 'fused' is now kernel='numpy')" if kernel == "fused" else ""
        raise InvalidSpecError(f"kernel must be one of {KERNELS!r}, got {kernel!r}{renamed}.")
    if threads is not None and (isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer))
                                or threads < 1):
        raise InvalidSpecError(f"threads must be None (the cores this process may use) or an integer >= 1, "
                               f"got {threads!r}.")
    n_threads = _compiled.default_threads() if threads is None else int(threads)
    pats = check_chain(chain)
    m_, n_ = chain_shape(pats)
    use_numba, why_not = _compiled.resolve(kernel, "factorize", m_ * n_, _compiled.AUTO_FACTORIZE_ENTRIES,
                                           "entries of A")
    # Finiteness is checked on the fly: the root Gram matrices see every entry on the product pattern, the
    # entries off it are summed in _restrict; anything non-finite triggers a scan that names the entry.
    M = _validate_matrix(A, scan=False, single=dtype == "float32")
    shape = chain_shape(pats)
    if M.shape != shape:
        raise InvalidMatrixError(
            f"A has shape {M.shape!r} but the chain {' '.join(str(p) for p in pats)} multiplies to {shape!r}; "
            "pick a chain of the matrix's shape (e.g. butterfly:N for N×N, N a power of two)."
        )

    def single_shifted() -> ButterflyResult | None:
        """``dtype='float32'`` on an A far from magnitude 1 (single-precision squares and products under- or
        overflow): the factorization of ``2**-e · A`` (exact, from A in its own precision) scaled back; None when
        A is within the window after all. Only called when the run shows the symptoms (a tiny or huge energy, a
        non-finite value), so a well-scaled A costs no extra pass."""
        wide = _validate_matrix(A, scan=False)
        e = _single_shift(wide)  # 0 for nan / inf, named by the caller's checks
        return rescaled(wide, e) if e else None

    def rescaled(W: np.ndarray, e: int) -> ButterflyResult:
        """The factorization of ``2**-e · W`` (exact) with the first factor and the errors scaled back."""
        res = factorize(_ldexp(W, -e), chain, order, orthonormalize, bit_reversal, certificate, progress,
                        dtype=dtype, kernel=kernel, threads=threads)
        return _scaled_back(res, e, t0)

    if order == "auto":
        order = _auto_order(pats)
    Ptot = product_pattern(pats)
    fused = kernel != "reference" and order == "left-to-right" and len(pats) >= 2 and _fused_ok(pats)
    ran = ("compiled" if use_numba else "numpy") if fused else "reference"
    if fused and why_not is not None:
        ran += f" ({why_not})"
    perm = None
    if bit_reversal:
        perm = bit_reversal_permutation(M.shape[1])
    # The fused tree carries the bit reversal through the splits instead of permuting a copy of A.
    colrev = fused and perm is not None and Ptot.a == 1 and Ptot.d == 1
    M_in = M
    try:
        # nan/inf and overflow are reported as InvalidMatrixError below, not as RuntimeWarnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if perm is not None and not colrev:
                M = _permute_columns(M, perm)
            D0, off2 = _restrict(M, Ptot)
            if not math.isfinite(off2):
                raise _NonFinite
            run = _Run(len(pats), progress, len(pats) - 1 + (certificate == "exact"))
            if fused:
                datas = _factor_l2r_fused(pats, D0, run, bool(orthonormalize), colrev, use_numba, n_threads)
            elif orthonormalize:
                datas = _factor_ortho(pats, D0, 0, order, run)
            else:
                datas = _factor_plain(pats, D0, 0, order, run, True)
            on2 = run.energy if run.energy is not None else _sqnorm(D0)
            if not math.isfinite(on2):
                raise _NonFinite
    except _NonFinite:
        if dtype == "float32" and (shifted := single_shifted()) is not None:
            return shifted
        _require_finite(M_in)
        amax = float(np.max(np.abs(M_in)))
        if not amax * amax < _TINY_SQNORM:
            raise InvalidMatrixError("A overflows during the factorization; rescale A.") from None
        normA2 = 0.0  # finite but tiny: a kernel met subnormal squares (nan in an eigenvector); rescaled below
    else:
        normA2 = off2 + on2
    # ‖A‖ outside [2**-32, 2**32·sqrt(mn)]: the largest magnitude may be outside the float32 window
    if dtype == "float32" and not _SINGLE_LOW < normA2 < _SINGLE_HIGH * M.size and \
            (shifted := single_shifted()) is not None:
        return shifted
    if normA2 < _TINY_SQNORM and np.any(M_in):
        # squares of entries below about 1e-154 fall into the subnormal range, and the balanced tree's eigenvector
        # products already from about 1e-125 (factors and errors would lose their digits, or read 0): factorize
        # 2**-e · A, exact, and scale the first factor and the errors back
        return rescaled(M_in, int(np.frexp(np.max(np.abs(M_in)))[1]))
    factors = tuple(KSFactor(p, d) for p, d in zip(pats, datas, strict=True))
    # The middle split keeps both sub-products small (N^1.5 entries each for the dyadic butterfly).
    if run.dropped is not None:
        # every split of the orthonormalized tree read ‖node_j − U_j U_jᴴ node_j‖² on its blocks: the terms of
        # A − F_1⋯F_L telescoped over the splits are orthogonal (each F_1⋯F_j a block isometry), so their sum is
        # the error², with no further pass over A
        err = math.sqrt(off2 + run.dropped)
    else:
        err = math.sqrt(off2 + _residual2(pats, [f.data for f in factors], D0, len(pats) // 2, colrev, use_numba))
    # Certified lower bounds: sums of non-negative terms, lowered by their relative rounding error.
    shrink = max(0.0, 1.0 - 4.0 * M.size * np.finfo(M.dtype).eps)
    lower = np.sqrt((off2 + run.tails) * shrink)
    if certificate == "exact":
        Mp = _permute_columns(M, perm) if perm is not None and colrev else M  # the matrix that was factorized
        lower = np.fmax(lower, split_errors_exact(Mp, pats))
        run.step()
    finite = lower[np.isfinite(lower)]
    lb = float(finite.max()) if finite.size else math.sqrt(off2 * shrink)
    ratio = 1.0 if err == 0.0 and lb == 0.0 else (err / lb if lb > 0 else math.inf)
    normA = math.sqrt(normA2)
    return ButterflyResult(
        chain=FactorChain(factors, column_permutation=perm),
        error=err,
        rel_error=err / normA if normA > 0 else 0.0,
        split_errors=lower,
        certificate_ratio=ratio,
        seconds=time.perf_counter() - t0,
        order=order,
        orthonormalized=bool(orthonormalize),
        off_support_error=math.sqrt(off2),
        kernel=ran,
    )


def split_errors_exact(A: np.ndarray, chain: Sequence[KSPattern]) -> np.ndarray:
    """Optimal two-factor errors ``E_s`` of ``A`` at every split point ``s`` of a chainable chain.

    ``E_s`` is the error of the best product ``(F_1⋯F_s)(F_(s+1)⋯F_L)`` with both sides free inside their
    product patterns; it is a lower bound on the error of any chain (the optimum ``E*`` included).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> rng = np.random.default_rng(1)
    >>> E = split_errors_exact(rng.standard_normal((8, 8)), dyadic_butterfly(8))
    >>> E.shape, bool((E > 0).all())
    ((2,), True)

    Notes
    -----
    One batched eigendecomposition of Gram matrices per split point:
    ``O(Σ_s n_blocks_s · b_s·c_s·min(b_s, c_s))``.
    """
    pats = check_chain(chain)
    M = _validate_matrix(A)
    if M.shape != chain_shape(pats):
        raise InvalidMatrixError(f"A has shape {M.shape!r}, the chain multiplies to {chain_shape(pats)!r}.")
    D0, off2 = _restrict(M, product_pattern(pats))
    out = np.empty(len(pats) - 1)
    for s in range(1, len(pats)):  # one batched call per split point
        pr = PairBlocks.of(product_pattern(pats[:s]), product_pattern(pats[s:]))
        out[s - 1] = math.sqrt(off2 + float(_tail_only(pr.product_blocks(D0), pr.r).sum()))
    return out


def two_factor_reference(A: np.ndarray, left: KSPattern, right: KSPattern) -> float:
    """Optimal two-factor error by the disjoint-or-identical theorem on the masks (plain loops; test oracle).

    Groups the middle indices by their rank-one support (row set of the left column, column set of the
    right row), checks the supports are pairwise disjoint or identical, and sums the SVD tails of each
    class rectangle plus the energy off the union. Independent of the block algebra used by
    :func:`factorize`; slow (``O(m n r)`` Python-level work).

    Examples
    --------
    >>> two_factor_reference(np.eye(4), KSPattern(1, 2, 2, 2), KSPattern(2, 2, 2, 1)) < 1e-12
    True
    """
    check_chain([left, right])
    M = np.asarray(A)
    Lm, Rm = left.mask(), right.mask()
    classes: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
    for k in range(Lm.shape[1]):
        rows = tuple(int(i) for i in np.flatnonzero(Lm[:, k]))
        cols = tuple(int(j) for j in np.flatnonzero(Rm[k, :]))
        if rows and cols:
            classes[(rows, cols)] = classes.get((rows, cols), 0) + 1
    covered = np.zeros(M.shape, dtype=bool)
    total = 0.0
    for (rows, cols), size in classes.items():
        if covered[np.ix_(rows, cols)].any():
            raise InvalidChainError("rank-one supports overlap without being identical; not a chainable pair.")
        covered[np.ix_(rows, cols)] = True
        sv = np.linalg.svd(M[np.ix_(rows, cols)], compute_uv=False)
        total += float(np.sum(sv[size:] ** 2))
    total += float(np.sum(np.abs(M[~covered]) ** 2))
    return math.sqrt(total)
