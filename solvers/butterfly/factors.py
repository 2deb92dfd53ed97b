"""Kronecker-sparse factors stored as (a, b, c, d) arrays, factor chains and their fast apply."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wellposed.solvers.butterfly.blocks import combine
from wellposed.solvers.butterfly.chain_file import NPZ_FORMAT, read_chain_arrays, write_npz

from wellposed.errors import InvalidChainError, InvalidMatrixError
from wellposed.kronecker import KSPattern, check_chain, is_chainable

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
        data = _check_numeric(data, "data")
        data = np.ascontiguousarray(data)
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


@dataclass(frozen=True)
class FactorChain:
    """The product ``F_1 @ F_2 @ ... @ F_L`` of Kronecker-sparse factors (``F_1`` leftmost).

    Parameters
    ----------
    factors : tuple of KSFactor
        Columns of ``F_l`` must equal rows of ``F_(l+1)`` (a valid chain; chainability is not required
        to hold a chain, only to compute one with :func:`~wellposed.solvers.butterfly.factorize`).

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> rng = np.random.default_rng(0)
    >>> chain = FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in dyadic_butterfly(8)))
    >>> chain.shape, chain.nnz
    ((8, 8), 48)
    >>> X = rng.standard_normal((8, 3))
    >>> bool(np.allclose(chain.apply(X), chain.to_dense() @ X))
    True
    """

    factors: tuple[KSFactor, ...]
    _plan: Any = field(default=None, init=False, repr=False, compare=False)

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

    def __len__(self) -> int:
        return len(self.factors)

    def __iter__(self) -> Iterator[KSFactor]:
        return iter(self.factors)

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
        """Total number of stored entries."""
        return sum(f.pattern.nnz for f in self.factors)

    @property
    def dtype(self) -> np.dtype:
        """Common result type of the factors."""
        return np.result_type(*[f.data.dtype for f in self.factors])

    def apply(self, X: np.ndarray) -> np.ndarray:
        """``product @ X`` for ``X`` of shape ``(n,)`` or ``(n, batch)``.

        Notes
        -----
        ``O(nnz * batch)``: one reshape + one batched matmul per factor, rightmost factor first, into two
        reusable buffers; pairs of factors whose product is not denser than the pair are merged once
        (see ``_apply_plan``). :meth:`apply_reference` is the plain-loop oracle.
        """
        X = np.asarray(X)
        n = self.shape[1]
        if X.ndim not in (1, 2) or X.shape[0] != n:
            raise InvalidMatrixError(f"X must have shape ({n},) or ({n}, batch), got {X.shape!r}.")
        vec = X.ndim == 1
        X2 = np.ascontiguousarray(X.reshape(n, -1))
        k = X2.shape[1]
        dtype = np.result_type(self.dtype, X2.dtype)
        facs = self._apply_plan()[::-1]
        size = max(f.shape[0] for f in facs) * k
        bufs = _buffers(dtype, size) if len(facs) > 1 else None
        Y = X2
        for i, f in enumerate(facs):
            rows = f.shape[0]
            if i == len(facs) - 1 or bufs is None:
                out = np.empty((rows, k), dtype=dtype)
            else:
                out = bufs[i % 2][: rows * k].reshape(rows, k)
            _ks_apply_into(f.pattern, f.data, Y, out)
            Y = out
        return Y[:, 0] if vec else Y

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
        for f in reversed(self.factors):
            Y = ks_apply_reference(f.pattern, f.data, Y)
        return Y

    def to_dense(self) -> np.ndarray:
        """Dense product, computed as ``apply(identity)`` (``O(nnz * n)``)."""
        return self.apply(np.eye(self.shape[1], dtype=self.dtype))

    def to_scipy(self) -> list[Any]:
        """List of ``scipy.sparse.csr_matrix``, one per factor, leftmost first."""
        return [f.to_scipy() for f in self.factors]

    def save(self, path: str | os.PathLike[str], **metadata: np.ndarray) -> str:
        """Write the chain as an ``.npz`` file; return the file name written.

        Keys: ``format`` (the string :data:`~wellposed.solvers.butterfly.NPZ_FORMAT`, layout and version),
        ``num_factors``, then ``pattern_i`` (int64 ``[a, b, c, d]``) and ``factor_i`` (the data) for
        ``i = 0 … L−1``, leftmost factor first; extra ``metadata`` arrays under ``meta_<name>``
        (:func:`~wellposed.solvers.butterfly.load_metadata`). As with :func:`numpy.savez`, ``.npz`` is appended
        to a name without it. The file is written atomically (temporary file, then rename);
        :class:`~wellposed.errors.OutputError` if it cannot be.
        """
        arrays: dict[str, Any] = {"num_factors": np.int64(len(self.factors)), "format": np.array(NPZ_FORMAT)}
        for i, f in enumerate(self.factors):
            arrays[f"pattern_{i}"] = np.array(f.pattern.abcd, dtype=np.int64)
            arrays[f"factor_{i}"] = f.data
        for key, value in metadata.items():
            arrays[f"meta_{key}"] = np.asarray(value)
        return write_npz(path, arrays, "path")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FactorChain:
        """Read a chain written by :meth:`save` (metadata keys are ignored; see
        :func:`~wellposed.solvers.butterfly.load_metadata`).

        Also reads files without the ``format`` key in the same layout (written by ``wellposed quantize``
        and by :meth:`save` before the key was checked).

        Raises
        ------
        InvalidSpecError
            Not a chain file, an unknown ``format``, malformed keys (see
            :func:`~wellposed.solvers.butterfly.chain_file.read_chain_arrays`).
        InvalidMatrixError, InvalidChainError
            Factor data of the wrong shape or not finite, or factors that do not chain; the message names
            the file and the factor.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from wellposed.kronecker import dyadic_butterfly
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "chain.npz"
        >>> chain = FactorChain(tuple(KSFactor(p, np.ones(p.abcd)) for p in dyadic_butterfly(4)))
        >>> FactorChain.load(chain.save(path)).patterns == chain.patterns
        True
        """
        where = f"FactorChain file {os.fspath(path)!r}"
        patterns, data = read_chain_arrays(path, where)
        factors = []
        for i, (pattern, d) in enumerate(zip(patterns, data, strict=True)):
            try:
                factors.append(KSFactor(pattern, d))
            except (InvalidMatrixError, InvalidChainError) as exc:
                raise type(exc)(f"{where}: factor_{i}: {exc}") from None
        try:
            return cls(tuple(factors))
        except InvalidChainError as exc:
            raise InvalidChainError(f"{where}: {exc}") from None

    def _repr_svg_(self) -> str:
        """Notebook display: the supports of the factors side by side (small grids, see :mod:`wellposed.render`)."""
        from wellposed.render import chain_picture

        return chain_picture(self.patterns)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Notebook display: the picture and a one-line summary as text (not the factors' data)."""
        text = (f"FactorChain: {len(self)} factors, {self.shape[0]}×{self.shape[1]}, {self.nnz} stored entries, "
                f"{self.dtype}")
        return {"text/plain": text, "image/svg+xml": self._repr_svg_()}

