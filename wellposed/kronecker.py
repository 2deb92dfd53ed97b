"""The Kronecker-sparse model: factor supports ``I_a ⊗ 1_{b×c} ⊗ I_d``, chains of them, chainability and products.

A :class:`KSPattern` ``(a, b, c, d)`` is the support of one factor. A chain is a sequence of patterns,
leftmost factor first: a plain tuple (what the builders :func:`dyadic_butterfly`, :func:`monarch` and
:func:`debut` return) or a :class:`KSChain`, which also carries the name and description of the spec it
was parsed from. :func:`check_chain` is the one validity and chainability check; :func:`product_pattern`
the pattern of a chainable product. The spec grammar (``butterfly:N``, ``monarch:m``, ``ks:...``) is
:mod:`wellposed.kronecker_spec`, the closed-form analysis of two-factor chains
:mod:`wellposed.kronecker_analysis`, and numeric factors (data on a pattern) :mod:`wellposed.solvers.butterfly`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from . import validate
from .errors import InvalidChainError
from .memory import check_memory
from .support import SupportPattern

__all__ = [
    "KSPattern",
    "KSChain",
    "check_chain",
    "is_chainable",
    "chain_shape",
    "product_pattern",
    "dyadic_butterfly",
    "monarch",
    "debut",
]


def _positive(value: object, name: str) -> int:
    return validate.integer(value, name, low=1, error=InvalidChainError)


@dataclass(frozen=True)
class KSPattern:
    """The support ``I_a ⊗ 1_{b×c} ⊗ I_d`` of a Kronecker-sparse factor, shape ``(a·b·d) × (a·c·d)``.

    Row ``i_a·b·d + i_b·d + i_d`` meets column ``i_a·c·d + i_c·d + i_d`` for every ``i_b < b``, ``i_c < c``:
    ``a·d`` dense ``b×c`` blocks, whose ``a·b·c·d`` entries are stored naturally as an ``(a, b, c, d)``
    array. Nothing is allocated until :meth:`mask` or :meth:`indices` is called.

    Parameters
    ----------
    a, b, c, d : int
        Positive integers.

    Examples
    --------
    >>> p = KSPattern(1, 2, 2, 2)
    >>> p.shape, p.nnz, str(p)
    ((4, 4), 8, '(1,2,2,2)')
    >>> p.mask().astype(int).tolist()
    [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    >>> KSPattern(1, 0, 2, 2)
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidChainError: KSPattern.b = 0 must be an integer ≥ 1.
    """

    a: int
    b: int
    c: int
    d: int

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d"):
            object.__setattr__(self, name, _positive(getattr(self, name), f"KSPattern.{name}"))

    @property
    def abcd(self) -> tuple[int, int, int, int]:
        """The tuple ``(a, b, c, d)``."""
        return (self.a, self.b, self.c, self.d)

    @property
    def shape(self) -> tuple[int, int]:
        """``(a·b·d, a·c·d)``."""
        return (self.a * self.b * self.d, self.a * self.c * self.d)

    @property
    def nnz(self) -> int:
        """Number of allowed entries, ``a·b·c·d``."""
        return self.a * self.b * self.c * self.d

    @property
    def mask_bytes(self) -> int:
        """Peak bytes of :meth:`mask`: the inner Kronecker product and the result, twice each (temporaries)."""
        a, b, c, d = self.abcd
        return 2 * (a * b * a * c + a * b * d * a * c * d) + a * a + d * d

    def mask(self) -> np.ndarray:
        """The boolean mask ``I_a ⊗ 1_{b×c} ⊗ I_d``.

        Raises :class:`~wellposed.errors.ResourceLimitError` before allocating when it does not fit the
        memory budget (:func:`wellposed.memory.max_bytes`).
        """
        rows, cols = self.shape
        check_memory(self.mask_bytes, f"the {rows}×{cols} mask", f"Kronecker-sparse pattern {self}",
                     "Use smaller factor parameters")
        eye_a, eye_d = np.eye(self.a, dtype=bool), np.eye(self.d, dtype=bool)
        return np.kron(np.kron(eye_a, np.ones((self.b, self.c), dtype=bool)), eye_d)

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column index arrays of shape ``(a, b, c, d)``: entry ``data[ia, ib, ic, id]`` sits at
        ``(rows[ia, ib, ic, id], cols[ia, ib, ic, id])``."""
        ia, ib, ic, id_ = np.meshgrid(np.arange(self.a), np.arange(self.b), np.arange(self.c), np.arange(self.d),
                                      indexing="ij")
        rows = ia * (self.b * self.d) + ib * self.d + id_
        cols = ia * (self.c * self.d) + ic * self.d + id_
        return rows.astype(np.int64), cols.astype(np.int64)

    def transpose(self) -> KSPattern:
        """Pattern of the transposed matrix, ``(a, c, b, d)``."""
        return KSPattern(self.a, self.c, self.b, self.d)

    def __str__(self) -> str:
        return f"({self.a},{self.b},{self.c},{self.d})"


# ---------------------------------------------------------------- validity and chainability
def _as_patterns(patterns: object, name: str = "patterns") -> tuple[KSPattern, ...]:
    if isinstance(patterns, (KSPattern, str)) or not isinstance(patterns, Sequence):
        raise InvalidChainError(f"{name} must be a sequence of KSPattern, got {patterns!r}; build one with "
                                "dyadic_butterfly(N), monarch(m) or wellposed.kronecker_spec.parse_chain_spec(spec).")
    out = tuple(patterns)
    if not out:
        raise InvalidChainError(f"{name} is empty; a chain needs at least one KSPattern.")
    for i, p in enumerate(out):
        if not isinstance(p, KSPattern):
            raise InvalidChainError(f"{name}[{i}] = {p!r} must be a KSPattern; write KSPattern(a, b, c, d).")
    return out


def _defect(p: KSPattern, q: KSPattern, i: int, chainable: bool) -> str | None:
    """Why factor ``i`` (``p``) and factor ``i+1`` (``q``) do not chain, or None."""
    if p.a * p.c * p.d != q.a * q.b * q.d:
        return (f"chain is not valid at factors {i} and {i + 1}: {p} has a·c·d = {p.shape[1]} columns but {q} has "
                f"a·b·d = {q.shape[0]} rows; make a·c·d of factor {i} equal a·b·d of factor {i + 1}.")
    if not chainable:
        return None
    head = f"chain is not chainable at factors {i} and {i + 1} ({p} then {q}): "
    if q.a % p.a:
        return head + f"a_{i} = {p.a} does not divide a_{i + 1} = {q.a}; chainable chains need a_l | a_(l+1)."
    if p.d % q.d:
        return head + f"d_{i + 1} = {q.d} does not divide d_{i} = {p.d}; chainable chains need d_(l+1) | d_l."
    if (p.a * p.c) % q.a:
        return head + f"r = a_{i}·c_{i} / a_{i + 1} = {p.a * p.c}/{q.a} is not an integer."
    return None


def check_chain(patterns: Sequence[KSPattern], *, chainable: bool = True) -> tuple[KSPattern, ...]:
    """Check that consecutive patterns can be multiplied (valid) and, by default, are chainable.

    Valid: ``a_l·c_l·d_l = a_(l+1)·b_(l+1)·d_(l+1)`` (columns of factor l = rows of factor l+1).
    Chainable: also ``a_l | a_(l+1)``, ``d_(l+1) | d_l`` and ``r_l = a_l·c_l / a_(l+1)`` an integer (then
    ``r_l = b_(l+1)·d_(l+1) / d_l`` is one too). Products of consecutive chainable factors are again
    Kronecker-sparse (:func:`product_pattern`).

    Parameters
    ----------
    patterns : sequence of KSPattern
        Leftmost factor first.
    chainable : bool, default True
        Also require chainability (needed by the factorization algorithms).

    Returns
    -------
    tuple of KSPattern

    Raises
    ------
    InvalidChainError
        Naming the first offending pair, the failed condition and the fix.

    Examples
    --------
    >>> len(check_chain(dyadic_butterfly(8)))
    3
    >>> check_chain([KSPattern(1, 2, 2, 2), KSPattern(1, 3, 3, 1)])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidChainError: chain is not valid at factors 0 and 1: (1,2,2,2) has a·c·d = 4 columns \
but (1,3,3,1) has a·b·d = 3 rows; make a·c·d of factor 0 equal a·b·d of factor 1.
    >>> check_chain([KSPattern(2, 2, 2, 1), KSPattern(1, 2, 2, 2)])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidChainError: chain is not chainable at factors 0 and 1 ((2,2,2,1) then (1,2,2,2)): \
a_0 = 2 does not divide a_1 = 1; chainable chains need a_l | a_(l+1).

    Notes
    -----
    ``O(L)`` for ``L`` patterns.
    """
    pats = _as_patterns(patterns)
    for i in range(len(pats) - 1):
        defect = _defect(pats[i], pats[i + 1], i, chainable)
        if defect is not None:
            raise InvalidChainError(defect)
    return pats


def is_chainable(patterns: Sequence[KSPattern]) -> bool:
    """True when :func:`check_chain` accepts ``patterns`` as a chainable chain.

    >>> is_chainable(monarch(4)), is_chainable([KSPattern(2, 2, 2, 1), KSPattern(1, 2, 2, 2)])
    (True, False)
    """
    pats = _as_patterns(patterns)
    return all(_defect(pats[i], pats[i + 1], i, True) is None for i in range(len(pats) - 1))


def chain_shape(patterns: Sequence[KSPattern]) -> tuple[int, int]:
    """Shape of the product of a valid chain.

    >>> chain_shape(debut([(2, 3), (4, 5)]))
    (8, 15)
    """
    pats = check_chain(patterns, chainable=False)
    return (pats[0].shape[0], pats[-1].shape[1])


def product_pattern(patterns: Sequence[KSPattern]) -> KSPattern:
    """Kronecker-sparse pattern containing the product of a chainable chain: ``(a_1, ., ., d_L)``.

    Examples
    --------
    >>> product_pattern(dyadic_butterfly(16)[:2])
    KSPattern(a=1, b=4, c=4, d=4)

    Notes
    -----
    ``O(L)``. For a chainable chain the product's support is exactly ``I_{a_1} ⊗ 1 ⊗ I_{d_L}`` (each dense
    block is a sum of rank-``r`` terms). For two factors with ``p = a_r/a_l``, ``q = d_l/d_r``: ``(a_l,
    b_l·q, p·c_r, d_r)``.
    """
    pats = check_chain(patterns)
    a, d = pats[0].a, pats[-1].d
    m, n = pats[0].shape[0], pats[-1].shape[1]
    return KSPattern(a, m // (a * d), n // (a * d), d)


# ---------------------------------------------------------------- named chains
@dataclass(frozen=True)
class KSChain(Sequence[KSPattern]):
    """A valid chain of Kronecker-sparse patterns, leftmost factor first, with the name and description of
    the spec it comes from (:func:`wellposed.kronecker_spec.parse_chain_spec`). It is a sequence of
    :class:`KSPattern` (``len``, iteration, indexing), so it goes wherever a chain of patterns does.

    A two-factor chain is an FSMF support pattern: ``X`` (m×r) on the first factor, ``Yᵀ`` (r×n) on the
    second (:attr:`r`, :meth:`pattern`).

    Parameters
    ----------
    patterns : sequence of KSPattern
        A valid chain (columns of each factor = rows of the next); chainability is not required.
    name, description : str

    Examples
    --------
    >>> c = KSChain((KSPattern(1, 2, 2, 2), KSPattern(2, 2, 2, 1)), name="butterfly:4:1")
    >>> c.shape, c.r, c.nnz, c.chainable, len(c), c[1]
    ((4, 4), 4, 16, True, 2, KSPattern(a=2, b=2, c=2, d=1))
    >>> c.pattern().shape
    (4, 4, 4)
    """

    patterns: tuple[KSPattern, ...]
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", check_chain(self.patterns, chainable=False))
        for field in ("name", "description"):
            if not isinstance(getattr(self, field), str):
                raise InvalidChainError(f"KSChain.{field} = {getattr(self, field)!r} must be a string.")

    def __len__(self) -> int:
        return len(self.patterns)

    def __iter__(self) -> Iterator[KSPattern]:
        return iter(self.patterns)

    @overload
    def __getitem__(self, index: int) -> KSPattern: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[KSPattern, ...]: ...

    def __getitem__(self, index: int | slice) -> KSPattern | tuple[KSPattern, ...]:
        return self.patterns[index]

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(m, n)`` of the product."""
        return (self.patterns[0].shape[0], self.patterns[-1].shape[1])

    @property
    def m(self) -> int:
        """Rows of the product: ``a·b·d`` of the first factor."""
        return self.shape[0]

    @property
    def n(self) -> int:
        """Columns of the product: ``a·c·d`` of the last factor."""
        return self.shape[1]

    @property
    def nnz(self) -> int:
        """Allowed entries of all factors together (for two factors, ``|I| + |J|``)."""
        return sum(p.nnz for p in self.patterns)

    @property
    def chainable(self) -> bool:
        """Whether the chain is chainable (:func:`is_chainable`)."""
        return is_chainable(self.patterns)

    @property
    def r(self) -> int:
        """Rank-one components of a two-factor chain: ``a1·c1·d1 = a2·b2·d2``."""
        return self._pair("r").shape[1]

    def pattern(self) -> SupportPattern:
        """The FSMF pattern ``SupportPattern(first.mask(), second.mask().T)`` of a two-factor chain
        (``O(m r + r n)`` memory)."""
        first = self._pair("pattern()")
        return SupportPattern(first.mask(), self.patterns[1].mask().T, name=self.name, description=self.description)

    def _pair(self, what: str) -> KSPattern:
        if len(self.patterns) != 2:
            raise InvalidChainError(f"KSChain.{what} needs two factors (X on the first, Yᵀ on the second), but "
                                    f"{self.name or 'the chain'} has {len(self.patterns)}; group it into two, e.g. "
                                    "with product_pattern.")
        return self.patterns[0]


# ---------------------------------------------------------------- chain builders
def dyadic_butterfly(N: int) -> tuple[KSPattern, ...]:
    """Square dyadic butterfly chain for ``N = 2^L``: ``(2^(l-1), 2, 2, 2^(L-l))``, ``l = 1..L``.

    Examples
    --------
    >>> [p.abcd for p in dyadic_butterfly(8)]
    [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)]
    >>> dyadic_butterfly(12)
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidChainError: N = 12 must be a power of two ≥ 2 (the dyadic butterfly), e.g. 1024.
    """
    N = _positive(N, "N")
    if N < 2 or N & (N - 1):
        raise InvalidChainError(f"N = {N!r} must be a power of two ≥ 2 (the dyadic butterfly), e.g. 1024.")
    levels = N.bit_length() - 1
    return tuple(KSPattern(2 ** (ell - 1), 2, 2, 2 ** (levels - ell)) for ell in range(1, levels + 1))


def monarch(m: int, s: int | None = None) -> tuple[KSPattern, ...]:
    """Monarch chain ``(1, m, m, s) · (m, s, s, 1)`` of size ``N×N``, ``N = m·s`` (``s = m``: ``N = m²``).

    The right factor is block diagonal with ``m`` dense ``s×s`` blocks; the left one is ``s`` dense ``m×m``
    blocks spread with stride ``s`` (block diagonal after a stride permutation).

    Parameters
    ----------
    m : int
        Number of diagonal blocks of the right factor.
    s : int, optional
        Their size (default ``m``).

    Examples
    --------
    >>> [p.abcd for p in monarch(4)]
    [(1, 4, 4, 4), (4, 4, 4, 1)]
    >>> [p.abcd for p in monarch(3, 4)]
    [(1, 3, 3, 4), (3, 4, 4, 1)]
    """
    m = _positive(m, "m")
    s = m if s is None else _positive(s, "s")
    return (KSPattern(1, m, m, s), KSPattern(m, s, s, 1))


def debut(block_sizes: Sequence[tuple[int, int]]) -> tuple[KSPattern, ...]:
    """Deformable-butterfly style chain of rank one from per-factor block sizes ``(b_l, c_l)``.

    Factor ``l`` gets ``a_l = c_1·…·c_(l-1)`` and ``d_l = b_(l+1)·…·b_L``; the product has shape
    ``(b_1·…·b_L) × (c_1·…·c_L)``, so rectangular and non-power-of-two shapes are covered.

    Examples
    --------
    >>> [p.abcd for p in debut([(2, 3), (4, 5)])]
    [(1, 2, 3, 4), (3, 4, 5, 1)]
    >>> debut([(2, 2)] * 3) == dyadic_butterfly(8)
    True
    """
    if isinstance(block_sizes, (str, bytes)) or not isinstance(block_sizes, Sequence) or not block_sizes:
        raise InvalidChainError(f"block_sizes = {block_sizes!r} must be a non-empty sequence of (b, c) pairs, e.g. "
                                "[(2, 3), (4, 5)].")
    pairs: list[tuple[int, int]] = []
    for i, pair in enumerate(block_sizes):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidChainError(f"block_sizes[{i}] = {pair!r} must be a (b, c) pair of positive integers.")
        pairs.append((_positive(pair[0], f"block_sizes[{i}][0]"), _positive(pair[1], f"block_sizes[{i}][1]")))
    out = [KSPattern(math.prod(c for _, c in pairs[:ell]), b, c, math.prod(b2 for b2, _ in pairs[ell + 1:]))
           for ell, (b, c) in enumerate(pairs)]
    return check_chain(out)
