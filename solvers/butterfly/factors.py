"""Kronecker-sparse factors stored as (a, b, c, d) arrays, factor chains and their fast apply."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wellposed.solvers.butterfly import compiled as _compiled
from wellposed.solvers.butterfly.blocks import combine
from wellposed.solvers.butterfly.chain_file import NPZ_FORMAT, PERMUTATION_KEYS, read_chain_arrays, write_npz

from wellposed.errors import BackendNotAvailableError, InvalidChainError, InvalidMatrixError, InvalidSpecError
from wellposed.kronecker import KSPattern, chain_shape, check_chain, dyadic_butterfly, is_chainable

__all__ = ["KSFactor", "FactorChain", "ks_apply", "ks_apply_reference"]


def _check_numeric(x: np.ndarray, name: str) -> np.ndarray:
    if x.dtype.kind not in "biufc":
        raise InvalidMatrixError(f"{name} must hold real or complex numbers, got dtype {x.dtype!r}.")
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if x.dtype.kind == "f" and x.dtype != np.float64 and x.dtype != np.float32:
        x = x.astype(np.float64)
    if x.dtype.kind == "c" and x.dtype != np.complex128 and x.dtype != np.complex64:
        x = x.astype(np.complex128)
    if not np.isfinite(x).all():
        raise InvalidMatrixError(f"{name} has non-finite entries (nan or inf); replace them before use.")
    return x


@dataclass(frozen=True)
class KSFactor:
    """One Kronecker-sparse factor: a :class:`KSPattern` and its ``(a, b, c, d)`` data array.

    Parameters
    ----------
    pattern : KSPattern
    data : numpy.ndarray
        Real or complex array of shape ``(a, b, c, d)``; entry ``data[ia, ib, ic, id]`` sits at row
        ``ia*b*d + ib*d + id`` and column ``ia*c*d + ic*d + id``.

    Examples
    --------
    >>> f = KSFactor(KSPattern(1, 2, 2, 1), np.array([[[[1.0], [2.0]], [[3.0], [4.0]]]]))
    >>> f.to_dense()
    array([[1., 2.],
           [3., 4.]])
    >>> f.to_scipy().nnz
    4
    """

    pattern: KSPattern
    data: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, KSPattern):
            raise InvalidChainError(f"pattern must be a KSPattern, got {self.pattern!r}.")
        data = np.asarray(self.data)
        if data.shape != self.pattern.abcd:
            raise InvalidMatrixError(
                f"data must have shape (a, b, c, d) = {self.pattern.abcd} for pattern {self.pattern}, "
                f"got shape {data.shape!r}; reshape it or fix the pattern."
            )
        data = np.ascontiguousarray(_check_numeric(data, "data"))
        if data.flags.writeable and isinstance(self.data, np.ndarray) and np.may_share_memory(data, self.data):
            data = data.copy()  # freeze a copy, never the caller's array (nor let its later edits change the factor)
        data.setflags(write=False)
        object.__setattr__(self, "data", data)

    @property
    def shape(self) -> tuple[int, int]:
        """Matrix shape ``(a*b*d, a*c*d)``."""
        return self.pattern.shape

    @property
    def dtype(self) -> np.dtype:
        """Data type of the stored values."""
        return self.data.dtype

    def to_dense(self) -> np.ndarray:
        """Dense matrix (``O(rows*cols)`` memory)."""
        out = np.zeros(self.shape, dtype=self.data.dtype)
        rows, cols = self.pattern.indices()
        out[rows, cols] = self.data
        return out

    def to_scipy(self) -> Any:
        """``scipy.sparse.csr_matrix`` with exactly ``a*b*c*d`` stored entries (zeros kept)."""
        import scipy.sparse as sp

        rows, cols = self.pattern.indices()
        return sp.csr_matrix((self.data.ravel(), (rows.ravel(), cols.ravel())), shape=self.shape)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """``self @ X`` for ``X`` of shape ``(cols,)`` or ``(cols, batch)`` (see :func:`ks_apply`)."""
        return ks_apply(self.pattern, self.data, X)

    def transpose(self, conjugate: bool = False) -> KSFactor:
        """The transposed factor (conjugated if ``conjugate``): pattern ``(a, c, b, d)``, data
        ``data.transpose(0, 2, 1, 3)`` (one ``O(nnz)`` copy).

        Examples
        --------
        >>> f = KSFactor(KSPattern(1, 2, 3, 1), np.arange(6.0).reshape(1, 2, 3, 1))
        >>> bool(np.array_equal(f.transpose().to_dense(), f.to_dense().T))
        True
        """
        data = self.data.transpose(0, 2, 1, 3)
        return KSFactor(self.pattern.transpose(), np.conj(data) if conjugate else data)

    def __repr__(self) -> str:
        m, n = self.shape
        return f"KSFactor({self.pattern}, {m}×{n}, nnz={self.pattern.nnz}, {self.dtype})"


def ks_apply(pattern: KSPattern, data: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Multiply one Kronecker-sparse factor by a block of vectors: one reshape + one batched matmul.

    Parameters
    ----------
    pattern : KSPattern
    data : numpy.ndarray of shape (a, b, c, d)
    X : numpy.ndarray of shape (a*c*d,) or (a*c*d, batch)

    Returns
    -------
    numpy.ndarray of shape (a*b*d,) or (a*b*d, batch)

    Examples
    --------
    >>> p = KSPattern(2, 1, 1, 1)
    >>> ks_apply(p, np.array([2.0, 3.0]).reshape(2, 1, 1, 1), np.array([1.0, 1.0]))
    array([2., 3.])

    Notes
    -----
    ``O(a*b*c*d*batch)`` time. The factor acts on the view ``X[(ia, ic, id), k]`` as ``a*d`` independent
    ``b×c`` blocks; numpy's batched matmul reads the strided views directly and writes into a strided
    view of the output, so no transposed copy is made. :func:`ks_apply_reference` is the plain-loop
    version used as the test oracle.
    """
    a, b, c, d = pattern.abcd
    data, X = np.asarray(data), np.asarray(X)
    if data.shape != pattern.abcd:
        raise InvalidMatrixError(f"data must have shape (a, b, c, d) = {pattern.abcd} for pattern {pattern}, got "
                                 f"shape {data.shape!r}.")
    vec = X.ndim == 1
    if X.ndim not in (1, 2) or X.shape[0] != a * c * d:
        raise InvalidMatrixError(
            f"X must have shape ({a * c * d},) or ({a * c * d}, batch) for pattern {pattern}, got {X.shape!r}."
        )
    X2 = np.ascontiguousarray(X.reshape(a * c * d, -1))
    out = np.empty((a * b * d, X2.shape[1]), dtype=np.result_type(data.dtype, X2.dtype))
    _ks_apply_into(pattern, data, X2, out)
    return out[:, 0] if vec else out


def _ks_apply_into(pattern: KSPattern, data: np.ndarray, X2: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = factor @ X2`` for C-contiguous ``X2`` (cols, k) and ``out`` (rows, k): one batched matmul
    over the ``a*d`` blocks, reading and writing strided views (no transposed copies)."""
    a, b, c, d = pattern.abcd
    k = X2.shape[1]
    np.matmul(
        data.transpose(0, 3, 1, 2),
        X2.reshape(a, c, d, k).transpose(0, 2, 1, 3),
        out=out.reshape(a, b, d, k).transpose(0, 2, 1, 3),
    )


_WORKSPACE = threading.local()


def _buffers(dtype: np.dtype, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two reusable flat work buffers per thread (fresh multi-megabyte arrays cost more in page faults
    than the arithmetic of one factor)."""
    cache = getattr(_WORKSPACE, "cache", None)
    if cache is None:
        cache = _WORKSPACE.cache = {}
    key = np.dtype(dtype).str
    bufs = cache.get(key)
    if bufs is None or bufs[0].size < size:
        bufs = (np.empty(size, dtype=dtype), np.empty(size, dtype=dtype))
        cache[key] = bufs
    return bufs


def ks_apply_reference(pattern: KSPattern, data: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Plain-loop oracle for :func:`ks_apply` (``O(a*b*c*d*batch)``, slow: tests only).

    Examples
    --------
    >>> p = KSPattern(1, 2, 2, 1)
    >>> D = np.arange(4.0).reshape(1, 2, 2, 1)
    >>> ks_apply_reference(p, D, np.ones((2, 1)))
    array([[1.],
           [5.]])
    """
    a, b, c, d = pattern.abcd
    X = np.asarray(X)
    X2 = X.reshape(X.shape[0], -1)
    out = np.zeros((a * b * d, X2.shape[1]), dtype=np.result_type(data.dtype, X2.dtype))
    for ia in range(a):
        for ib in range(b):
            for ic in range(c):
                for id_ in range(d):
                    row = ia * b * d + ib * d + id_
                    col = ia * c * d + ic * d + id_
                    for j in range(X2.shape[1]):
                        out[row, j] += data[ia, ib, ic, id_] * X2[col, j]
    return out[:, 0] if X.ndim == 1 else out


def _check_permutation(value: object, n: int, name: str) -> np.ndarray | None:
    """``value`` as a read-only int64 permutation of ``range(n)`` (None stays None), else InvalidMatrixError."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise InvalidMatrixError(f"{name} must be a 1-D integer array, a permutation of range({n}); got dtype "
                                 f"{arr.dtype} and shape {arr.shape!r}.")
    if arr.size != n:
        raise InvalidMatrixError(f"{name} must be a permutation of range({n}), got {arr.size} entries; give one "
                                 f"index per {'column' if name.startswith('column') else 'row'} of the chain.")
    if n and (arr.min() < 0 or arr.max() >= n or np.bincount(arr.astype(np.int64), minlength=n).max() > 1):
        raise InvalidMatrixError(f"{name} is not a permutation of range({n}): it has repeated or out-of-range "
                                 "entries; use e.g. numpy.argsort or bit_reversal_permutation to build one.")
    out = arr.astype(np.int64)
    out.setflags(write=False)
    return out


def _permutation_matrix(perm: np.ndarray, dtype: np.dtype) -> Any:
    """CSR matrix ``P`` with ``P @ x == x[perm]`` (``P[i, perm[i]] = 1``)."""
    import scipy.sparse as sp

    n = perm.size
    return sp.csr_matrix((np.ones(n, dtype=dtype), (np.arange(n), perm)), shape=(n, n))


def _as_operand(X: object, what: str) -> np.ndarray:
    """``X`` as a numeric numpy array for a product with a chain, else InvalidMatrixError naming the fix."""
    if type(X).__module__.startswith("scipy.sparse"):
        raise InvalidMatrixError(f"{what}: X is a sparse {type(X).__name__}; the product of a chain with a block "
                                 "is dense: pass X.toarray() (or convert the chain with to_scipy()).")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot read is bad input
        raise InvalidMatrixError(f"{what}: X must be a real or complex array, got {type(X).__name__}: {exc}") from None
    if arr.dtype.kind not in "biufc":
        raise InvalidMatrixError(f"{what}: X must be a real or complex array, got {type(X).__name__} (dtype "
                                 f"{arr.dtype}); convert it with numpy.asarray(X, dtype=float).")
    return arr


def _optional_module(name: str, method: str) -> Any:
    """Import an optional interop package, or raise BackendNotAvailableError naming the install command."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(name) is None:
        raise BackendNotAvailableError(f"FactorChain.{method} needs {name}, which is not installed; run: pip install "
                                       f"{name}  (or: pip install \"wellposed[interop]\")")
    return importlib.import_module(name)


def _is_dyadic_butterfly(patterns: tuple[KSPattern, ...]) -> bool:
    m, n = chain_shape(patterns)
    return m == n >= 2 and n & (n - 1) == 0 and patterns == dyadic_butterfly(n)


@dataclass(frozen=True)
class FactorChain:
    """The matrix ``F_1 @ F_2 @ ... @ F_L`` of Kronecker-sparse factors (``F_1`` leftmost), optionally with its
    columns and rows permuted; a linear operator (``@``, ``.T``, ``.H``, scipy, torch, lazylinop, FAµST).

    Parameters
    ----------
    factors : tuple of KSFactor
        Columns of ``F_l`` must equal rows of ``F_(l+1)`` (a valid chain; chainability is not required
        to hold a chain, only to compute one with :func:`~wellposed.solvers.butterfly.factorize`).
    column_permutation, row_permutation : array of int, optional
        Permutations of ``range(n)`` and ``range(m)``. The chain is the matrix ``M`` with
        ``M @ x = (F_1 ⋯ F_L @ x[column_permutation])[row_permutation]``, i.e. column ``column_permutation[i]``
        of ``M`` is column ``i`` of ``F_1 ⋯ F_L`` (a bit-reversed factorization of ``A`` has factors
        ``≈ A[:, perm]`` and ``column_permutation = perm``), and row ``i`` of ``M`` is row
        ``row_permutation[i]`` of the factors' product (transposing a chain turns one into the other).
        Every method (``apply``, ``@``, ``to_dense``, ``to_scipy``, ``to_torch``, ``save``, ...) means ``M``.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> rng = np.random.default_rng(0)
    >>> chain = FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(8)))
    >>> chain
    FactorChain(8×8, 3 butterfly factors, nnz=48, float64)
    >>> X = rng.standard_normal((8, 3))
    >>> bool(np.allclose(chain @ X, chain.to_dense() @ X))
    True
    >>> x = rng.standard_normal(8)
    >>> bool(np.allclose(x @ chain, chain.T @ x)), bool(np.allclose(chain.T.to_dense(), chain.to_dense().T))
    (True, True)
    >>> P = FactorChain(chain.factors, column_permutation=[7, 6, 5, 4, 3, 2, 1, 0])
    >>> bool(np.allclose(P.to_dense(), chain.to_dense()[:, ::-1]))
    True
    """

    factors: tuple[KSFactor, ...]
    column_permutation: np.ndarray | None = None
    row_permutation: np.ndarray | None = None
    _plan: Any = field(default=None, init=False, repr=False, compare=False)
    _adjoints: dict[str, FactorChain] = field(default_factory=dict, init=False, repr=False, compare=False)
    _packed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    #: ``ndarray @ chain`` is left to :meth:`__rmatmul__` instead of numpy's element-wise machinery.
    __array_ufunc__ = None

    def __post_init__(self) -> None:
        facs = self.factors
        if isinstance(facs, KSFactor) or not isinstance(facs, Sequence) or not facs:
            raise InvalidChainError(f"factors must be a non-empty tuple of KSFactor, got {facs!r}.")
        facs = tuple(facs)
        for i, f in enumerate(facs):
            if not isinstance(f, KSFactor):
                raise InvalidChainError(f"factors[{i}] must be a KSFactor, got {type(f).__name__}.")
        check_chain([f.pattern for f in facs], chainable=False)
        object.__setattr__(self, "factors", facs)
        m, n = facs[0].shape[0], facs[-1].shape[1]
        object.__setattr__(self, "column_permutation",
                           _check_permutation(self.column_permutation, n, "column_permutation"))
        object.__setattr__(self, "row_permutation", _check_permutation(self.row_permutation, m, "row_permutation"))

    def __len__(self) -> int:
        return len(self.factors)

    def __iter__(self) -> Iterator[KSFactor]:
        return iter(self.factors)

    def __repr__(self) -> str:
        m, n = self.shape
        L = len(self.factors)
        kind = "butterfly" if _is_dyadic_butterfly(self.patterns) else "Kronecker-sparse"
        parts = [f"{m}×{n}", f"{L} {kind} factor{'s' if L != 1 else ''}", f"nnz={self.nnz}", str(self.dtype)]
        parts += ["row permutation"] if self.row_permutation is not None else []
        parts += ["column permutation"] if self.column_permutation is not None else []
        return f"FactorChain({', '.join(parts)})"

    @property
    def patterns(self) -> tuple[KSPattern, ...]:
        """The factors' patterns, leftmost first."""
        return tuple(f.pattern for f in self.factors)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the product."""
        return (self.factors[0].shape[0], self.factors[-1].shape[1])

    @property
    def nnz(self) -> int:
        """Total number of stored entries (permutations not counted)."""
        return sum(f.pattern.nnz for f in self.factors)

    @property
    def dtype(self) -> np.dtype:
        """Common result type of the factors."""
        return np.result_type(*[f.data.dtype for f in self.factors])

    def with_factors(self, factors: Sequence[KSFactor]) -> FactorChain:
        """A chain with new factors (same patterns or not) and this chain's permutations (e.g. after quantizing
        the factors)."""
        return FactorChain(tuple(factors), self.column_permutation, self.row_permutation)

    # ------------------------------------------------------------------------------------------------------
    # products
    # ------------------------------------------------------------------------------------------------------

    def _shape_error(self, shape: tuple[int, ...], what: str) -> InvalidMatrixError:
        m, n = self.shape
        hint = ""
        if len(shape) == 2 and shape[1] == n and shape[0] != n:
            hint = "; X looks like a batch of rows (one vector per row): use X @ chain.T, or (chain @ X.T).T"
        elif len(shape) in (1, 2) and shape[0] == m != n:
            hint = "; X has as many rows as the chain: did you mean chain.T @ X (or chain.H @ X)?"
        elif len(shape) > 2:
            hint = f"; a stack of blocks has shape (..., {n}, batch), as for numpy's @"
        return InvalidMatrixError(f"{what}: the chain has shape ({m}, {n}), so X must have shape ({n},) or "
                                  f"({n}, batch), got {tuple(shape)!r}{hint}.")

    def apply(self, X: np.ndarray, kernel: str = "auto") -> np.ndarray:
        """``M @ X`` for ``X`` of shape ``(n,)`` or ``(n, batch)`` (the same as ``chain @ X``).

        Parameters
        ----------
        X : array of shape (n,) or (n, batch)
            The vector or block of column vectors to multiply.
        kernel : {"auto", "compiled", "numpy"}
            ``"compiled"``: the numba kernels of :mod:`~wellposed.solvers.butterfly.apply_kernels` (numba must
            be installed); ``"numpy"``: one batched matmul per factor; ``"auto"`` (default): compiled when numba
            is installed and ``nnz × columns of X`` exceeds
            :data:`~wellposed.solvers.butterfly.compiled.AUTO_APPLY_WORK` (``2**14``), else numpy (a smaller
            apply takes tens of µs, and loading numba's cached kernels into a new process about 0.4 s; the
            same names as ``factorize(kernel=...)``). Both are deterministic and agree up to rounding.

        Notes
        -----
        ``O(nnz * batch)``. Pairs of factors whose product is not denser than the pair are merged once (e.g.
        two 2×2-block butterfly factors make one 4×4-block factor: half the passes over ``X`` at equal
        arithmetic; see ``_apply_plan``). The numpy kernel runs one reshape + one batched matmul per factor,
        rightmost first, into two reusable buffers; a permutation is one gather of the rows of ``X``
        (columns) or of the result (rows). The numba kernel applies runs of factors slab by slab within
        the cache (a factor ``(a, b, c, d)`` acts on ``a`` independent slabs and never mixes rows whose
        index differs modulo ``d``) and folds the permutations into its first and last pass.
        :meth:`apply_reference` is the plain-loop oracle.
        """
        X = _as_operand(X, "FactorChain.apply")
        n = self.shape[1]
        if X.ndim not in (1, 2) or X.shape[0] != n:
            raise self._shape_error(X.shape, "FactorChain.apply")
        if kernel not in ("auto", "compiled", "numpy"):
            raise InvalidSpecError(f"kernel must be 'auto', 'compiled' or 'numpy', got {kernel!r}; 'auto' picks "
                                   "'compiled' when numba is installed.")
        vec = X.ndim == 1
        X2 = X.reshape(n, -1)
        compiled, _ = _compiled.resolve(kernel, "FactorChain.apply", self.nnz * X2.shape[1],
                                        _compiled.AUTO_APPLY_WORK, "nnz × columns")
        Y = self._apply_compiled(X2) if compiled and X2.size else self._apply_numpy(X2)
        return Y[:, 0] if vec else Y

    def _apply_compiled(self, X2: np.ndarray) -> np.ndarray:
        """``M @ X2`` with the numba kernels (``X2`` of shape ``(n, k)``, ``k ≥ 1``); the plan is packed once
        per dtype."""
        from wellposed.solvers.butterfly.apply_kernels import apply_packed, pack_plan

        dtype = np.result_type(self.dtype, X2.dtype)
        packed = self._packed.get(dtype.str)
        if packed is None:
            plan = self._apply_plan()[::-1]
            packed = pack_plan([f.pattern for f in plan], [f.data for f in plan], dtype, self.column_permutation,
                               self.row_permutation)
            self._packed[dtype.str] = packed
        X2 = np.ascontiguousarray(X2, dtype=dtype)
        return apply_packed(packed, X2)

    def _apply_numpy(self, X2: np.ndarray) -> np.ndarray:
        """``M @ X2`` with one batched matmul per factor of the plan (``X2`` of shape ``(n, k)``)."""
        n = self.shape[1]
        cp, rp = self.column_permutation, self.row_permutation
        k = X2.shape[1]
        dtype = np.result_type(self.dtype, X2.dtype)
        facs = self._apply_plan()[::-1]
        size = max(max(f.shape[0] for f in facs), n) * k
        bufs = _buffers(dtype, size) if len(facs) > 1 or rp is not None or cp is not None else None
        if cp is None:
            X2 = np.ascontiguousarray(X2)
        elif bufs is not None and X2.dtype == dtype:  # into the buffer the first factor does not write
            X2 = np.take(X2, cp, axis=0, out=bufs[1][: n * k].reshape(n, k), mode="clip")
        else:
            X2 = np.take(X2, cp, axis=0)
        Y = X2
        for i, f in enumerate(facs):
            rows = f.shape[0]
            if bufs is None or (i == len(facs) - 1 and rp is None):
                out = np.empty((rows, k), dtype=dtype)
            else:
                out = bufs[i % 2][: rows * k].reshape(rows, k)
            _ks_apply_into(f.pattern, f.data, Y, out)
            Y = out
        if rp is not None:
            Y = np.take(Y, rp, axis=0)
        return Y

    def __matmul__(self, other: object) -> Any:
        """``chain @ X`` (:meth:`apply`) for ``X`` of shape ``(n,)`` or ``(n, k)``, or a stack ``(..., n, k)``
        as numpy's ``@`` reads it (the chain applied to each matrix of the stack); ``chain @ other_chain`` is the
        chain of both factor lists (see :meth:`compose`)."""
        if isinstance(other, FactorChain):
            return self.compose(other)
        X = _as_operand(other, "chain @ X")
        if X.ndim > 2 and X.shape[-2] == self.shape[1]:  # a stack of (n, k) blocks: one apply on (n, stack·k)
            Y = self.apply(np.moveaxis(X, -2, 0).reshape(X.shape[-2], -1))
            return np.moveaxis(Y.reshape(self.shape[0], *X.shape[:-2], X.shape[-1]), 0, -2)
        if X.ndim not in (1, 2) or X.shape[0] != self.shape[1]:
            raise self._shape_error(X.shape, "chain @ X")
        return self.apply(X)

    def __rmatmul__(self, other: object) -> np.ndarray:
        """``X @ chain`` for ``X`` of shape ``(m,)`` or ``(k, m)``, or a stack ``(..., k, m)``:
        ``(chain.T @ X.T).T`` (fast, through :attr:`T`)."""
        X = _as_operand(other, "X @ chain")
        m, n = self.shape
        if X.ndim > 2 and X.shape[-1] == m:  # every row of the stack times the chain
            return self.T.apply(X.reshape(-1, m).T).T.reshape(*X.shape[:-1], n)
        if X.ndim not in (1, 2) or X.shape[-1] != m:
            hint = f"; for a block of column vectors use chain @ X (X of shape ({n}, batch))" if X.ndim == 2 and \
                X.shape[0] == n else ""
            raise InvalidMatrixError(f"X @ chain: the chain has shape ({m}, {n}), so X must have shape ({m},) or "
                                     f"(batch, {m}), got {X.shape!r}{hint}.")
        return self.T.apply(X) if X.ndim == 1 else self.T.apply(X.T).T

    def compose(self, other: FactorChain) -> FactorChain:
        """The chain of ``self @ other``: both factor lists, one after the other (no arithmetic).

        Raises :class:`~wellposed.errors.InvalidChainError` if the shapes differ or if a permutation would sit
        between the two factor lists (this chain's column permutation and ``other``'s row permutation, unless
        they cancel): apply them one after the other instead, ``self @ (other @ X)``.

        Examples
        --------
        >>> from wellposed.kronecker import dyadic_butterfly
        >>> rng = np.random.default_rng(1)
        >>> A = FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(4)))
        >>> AtA = A.T @ A
        >>> len(AtA), bool(np.allclose(AtA.to_dense(), A.to_dense().T @ A.to_dense()))
        (4, True)
        """
        if not isinstance(other, FactorChain):
            raise InvalidChainError(f"other must be a FactorChain, got {type(other).__name__}; for arrays use @.")
        if self.shape[1] != other.shape[0]:
            raise InvalidChainError(f"cannot compose a chain of shape {self.shape} with one of shape {other.shape}: "
                                    f"{self.shape[1]} columns against {other.shape[0]} rows.")
        cp, rp = self.column_permutation, other.row_permutation
        if cp is not None or rp is not None:
            inner = np.arange(self.shape[1])
            inner = inner[rp] if rp is not None else inner
            inner = inner[cp] if cp is not None else inner
            if not np.array_equal(inner, np.arange(inner.size)):
                raise InvalidChainError("a permutation sits between the two chains (the left one's column_permutation "
                                        "or the right one's row_permutation) and a FactorChain keeps permutations "
                                        "only at its ends; apply the chains one after the other: A @ (B @ X).")
        return FactorChain(self.factors + other.factors, other.column_permutation, self.row_permutation)

    def _adjoint(self, conjugate: bool) -> FactorChain:
        """Transposed (conjugated) chain, built once and cached both ways (``chain.T.T is chain``); its apply
        plan is this chain's, transposed, so ``chain.T @ X`` costs what ``chain @ X`` costs."""
        key = "H" if conjugate and self.dtype.kind == "c" else "T"
        cached = self._adjoints.get(key)
        if cached is None:
            cp, rp = self.column_permutation, self.row_permutation
            cached = FactorChain(
                tuple(f.transpose(conjugate) for f in reversed(self.factors)),
                column_permutation=None if rp is None else np.argsort(rp),
                row_permutation=None if cp is None else np.argsort(cp),
            )
            # the merged pairs of the apply plan, transposed (reversed chains are rarely chainable themselves)
            plan = tuple(f.transpose(conjugate) for f in reversed(self._apply_plan()))
            object.__setattr__(cached, "_plan", plan)
            self._adjoints[key] = cached
            cached._adjoints[key] = self
        return cached

    @property
    def T(self) -> FactorChain:
        """The transpose ``Mᵀ``: the transposed factors in reverse order, permutations swapped and inverted
        (``O(nnz)`` once, then cached; applies with the same fast kernel)."""
        return self._adjoint(False)

    @property
    def H(self) -> FactorChain:
        """The conjugate transpose ``Mᴴ`` (``T`` for real chains); cached like :attr:`T`."""
        return self._adjoint(True)

    # scipy.sparse.linalg.aslinearoperator(chain) reads these (an object with shape, dtype, matvec, ...)
    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``M @ x`` (for :func:`scipy.sparse.linalg.aslinearoperator`)."""
        return self.apply(x)

    def rmatvec(self, x: np.ndarray) -> np.ndarray:
        """``Mᴴ @ x`` (for :func:`scipy.sparse.linalg.aslinearoperator`)."""
        return self.H.apply(x)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """``M @ X`` for a block ``X``."""
        return self.apply(X)

    def rmatmat(self, X: np.ndarray) -> np.ndarray:
        """``Mᴴ @ X`` for a block ``X`` (for :func:`scipy.sparse.linalg.aslinearoperator`)."""
        return self.H.apply(X)

    def as_linear_operator(self) -> Any:
        """A :class:`scipy.sparse.linalg.LinearOperator` with fast ``matvec``, ``rmatvec``, ``matmat`` and
        ``rmatmat`` (``scipy.sparse.linalg.aslinearoperator(chain)`` works too, but scipy then multiplies blocks
        column by column).

        Examples
        --------
        >>> from scipy.sparse.linalg import lsqr
        >>> from wellposed.kronecker import dyadic_butterfly
        >>> H = FactorChain(tuple(KSFactor(p, np.array([1.0, 1, 1, -1]).reshape(1, 2, 2, 1).repeat(p.a, 0)
        ...                                .repeat(p.d, 3)) for p in dyadic_butterfly(8)))
        >>> b = H @ np.arange(8.0)
        >>> np.round(lsqr(H.as_linear_operator(), b, atol=1e-12, btol=1e-12)[0], 6)
        array([0., 1., 2., 3., 4., 5., 6., 7.])
        """
        from scipy.sparse.linalg import LinearOperator

        H = self.H
        return LinearOperator(self.shape, matvec=self.apply, rmatvec=H.apply, matmat=self.apply, rmatmat=H.apply,
                              dtype=self.dtype)

    def _apply_plan(self) -> tuple[KSFactor, ...]:
        """Factors used by :meth:`apply`: consecutive chainable pairs whose product has no more stored
        entries than the pair (e.g. two 2×2-block butterfly factors make one 4×4-block factor) are merged
        once and cached, which halves the passes over ``X`` at equal arithmetic cost."""
        if self._plan is None:
            plan: list[KSFactor] = []
            i = 0
            facs = self.factors
            while i < len(facs):
                if i + 1 < len(facs):
                    p, q = facs[i].pattern, facs[i + 1].pattern
                    if is_chainable((p, q)):
                        P, D = combine(p, facs[i].data, q, facs[i + 1].data)
                        if P.nnz <= p.nnz + q.nnz:
                            plan.append(KSFactor(P, D))
                            i += 2
                            continue
                plan.append(facs[i])
                i += 1
            object.__setattr__(self, "_plan", tuple(plan))
        return self._plan

    def apply_reference(self, X: np.ndarray) -> np.ndarray:
        """Plain-loop oracle for :meth:`apply` (tests only)."""
        Y = np.asarray(X)
        if self.column_permutation is not None:
            Y = Y[self.column_permutation]
        for f in reversed(self.factors):
            Y = ks_apply_reference(f.pattern, f.data, Y)
        if self.row_permutation is not None:
            Y = Y[self.row_permutation]
        return Y

    # ------------------------------------------------------------------------------------------------------
    # conversions
    # ------------------------------------------------------------------------------------------------------

    def to_dense(self) -> np.ndarray:
        """Dense matrix ``M``, computed as ``apply(identity)`` (``O(nnz * n)``)."""
        return self.apply(np.eye(self.shape[1], dtype=self.dtype))

    def to_scipy(self) -> list[Any]:
        """The factors of ``M`` as a list of ``scipy.sparse.csr_matrix``, leftmost first, whose product is ``M``:
        one per Kronecker-sparse factor, preceded by the row permutation matrix and followed by the column
        permutation matrix when the chain has them.

        Examples
        --------
        >>> from functools import reduce
        >>> chain = FactorChain((KSFactor(KSPattern(1, 2, 2, 1), np.arange(4.0).reshape(1, 2, 2, 1)),),
        ...                     column_permutation=[1, 0])
        >>> mats = chain.to_scipy()
        >>> len(mats), bool(np.array_equal(reduce(lambda A, B: A @ B, mats).toarray(), chain.to_dense()))
        (2, True)
        """
        mats = [f.to_scipy() for f in self.factors]
        if self.row_permutation is not None:
            mats.insert(0, _permutation_matrix(self.row_permutation, self.dtype))
        if self.column_permutation is not None:
            mats.append(_permutation_matrix(self.column_permutation, self.dtype))
        return mats

    def to_torch(self, dtype: Any = None) -> Any:
        """A trainable :class:`torch.nn.Module` holding this chain (parameters: the ``(a, b, c, d)`` data of each
        factor, so training never leaves the supports); ``module(x)`` maps ``x`` of shape ``(..., n)`` to
        ``x @ Mᵀ`` of shape ``(..., m)`` like :class:`torch.nn.Linear`. See
        :class:`~wellposed.solvers.butterfly.torch_module.FactorChainModule`.

        Parameters
        ----------
        dtype : torch.dtype, optional
            Parameter type; default: the chain's (``float64`` stays ``torch.float64``).

        Raises
        ------
        BackendNotAvailableError
            torch is not installed (``pip install "wellposed[torch]"``).
        """

        if importlib.util.find_spec("torch") is None:
            from wellposed.io.masks import TORCH_INSTALL_HINT

            raise BackendNotAvailableError(f"FactorChain.to_torch needs torch, which is not installed; run: "
                                           f"{TORCH_INSTALL_HINT}")
        from wellposed.solvers.butterfly.torch_module import FactorChainModule

        return FactorChainModule(self, dtype=dtype)

    def to_lazylinop(self) -> Any:
        """A ``lazylinop.LazyLinOp`` of ``M`` whose products run this chain's fast apply (``M`` and ``Mᴴ``).

        Raises :class:`~wellposed.errors.BackendNotAvailableError` if lazylinop is not installed
        (``pip install lazylinop``).
        """
        lazylinop = _optional_module("lazylinop", "to_lazylinop")
        H = self.H
        return lazylinop.LazyLinOp(self.shape, matmat=self.apply, rmatmat=H.apply)

    def to_faust(self) -> Any:
        """A ``pyfaust.Faust`` of ``M``: the sparse factors of :meth:`to_scipy` (permutation matrices included),
        in ``float32``, ``float64`` or ``complex128`` (FAµST's types; ``complex64`` is widened).

        Raises :class:`~wellposed.errors.BackendNotAvailableError` if pyfaust is not installed
        (``pip install pyfaust``).
        """
        pyfaust = _optional_module("pyfaust", "to_faust")
        dtype = np.dtype(np.complex128) if self.dtype.kind == "c" else self.dtype
        return pyfaust.Faust([M.astype(dtype) for M in self.to_scipy()])

    # ------------------------------------------------------------------------------------------------------
    # files
    # ------------------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], **metadata: np.ndarray) -> str:
        """Write the chain as an ``.npz`` file; return the file name written.

        Keys: ``format`` (the string :data:`~wellposed.solvers.butterfly.NPZ_FORMAT`, layout and version),
        ``num_factors``, then ``pattern_i`` (int64 ``[a, b, c, d]``) and ``factor_i`` (the data) for
        ``i = 0 … L−1``, leftmost factor first; ``column_permutation`` and ``row_permutation`` (int64) when
        set; extra ``metadata`` arrays under ``meta_<name>``
        (:func:`~wellposed.solvers.butterfly.load_metadata`). As with :func:`numpy.savez`, ``.npz`` is appended
        to a name without it. The file is written atomically (temporary file, then rename);
        :class:`~wellposed.errors.OutputError` if it cannot be.
        """
        arrays: dict[str, Any] = {"num_factors": np.int64(len(self.factors)), "format": np.array(NPZ_FORMAT)}
        for i, f in enumerate(self.factors):
            arrays[f"pattern_{i}"] = np.array(f.pattern.abcd, dtype=np.int64)
            arrays[f"factor_{i}"] = f.data
        for key in PERMUTATION_KEYS:
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key)
        for key, value in metadata.items():
            arrays[f"meta_{key}"] = np.asarray(value)
        return write_npz(path, arrays, "path")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FactorChain:
        """Read a chain written by :meth:`save` (metadata keys are ignored; see
        :func:`~wellposed.solvers.butterfly.load_metadata`).

        Also reads version-1 files (their ``meta_column_permutation``, written for a bit-reversed
        factorization, becomes the column permutation) and files without the ``format`` key in the same
        layout (written by ``wellposed quantize`` and by :meth:`save` before the key was checked).

        Raises
        ------
        InvalidSpecError
            Not a chain file, an unknown ``format``, malformed keys (see
            :func:`~wellposed.solvers.butterfly.chain_file.read_chain_arrays`).
        InvalidMatrixError, InvalidChainError
            Factor data of the wrong shape or not finite, factors that do not chain, or a permutation that is
            not one; the message names the file and the factor.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from wellposed.kronecker import dyadic_butterfly
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "chain.npz"
        >>> chain = FactorChain(tuple(KSFactor(p, np.ones(p.abcd)) for p in dyadic_butterfly(4)),
        ...                     column_permutation=[0, 2, 1, 3])
        >>> back = FactorChain.load(chain.save(path))
        >>> back.patterns == chain.patterns, back.column_permutation
        (True, array([0, 2, 1, 3]))
        """
        where = f"FactorChain file {os.fspath(path)!r}"
        arrays = read_chain_arrays(path, where)
        factors = []
        for i, (pattern, d) in enumerate(zip(arrays.patterns, arrays.data, strict=True)):
            try:
                factors.append(KSFactor(pattern, d))
            except (InvalidMatrixError, InvalidChainError) as exc:
                raise type(exc)(f"{where}: factor_{i}: {exc}") from None
        try:
            return cls(tuple(factors), arrays.column_permutation, arrays.row_permutation)
        except (InvalidMatrixError, InvalidChainError) as exc:
            raise type(exc)(f"{where}: {exc}") from None

    def _repr_svg_(self) -> str:
        """Notebook display: the supports of the factors side by side (small grids, see :mod:`wellposed.render`)."""
        from wellposed.render import chain_picture

        return chain_picture(self.patterns)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Notebook display: the picture and a one-line summary as text (not the factors' data)."""
        text = (f"FactorChain: {len(self)} factors, {self.shape[0]}×{self.shape[1]}, {self.nnz} stored entries, "
                f"{self.dtype}")
        return {"text/plain": text, "image/svg+xml": self._repr_svg_()}

