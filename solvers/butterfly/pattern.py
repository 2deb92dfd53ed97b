"""Kronecker-sparse patterns (a, b, c, d), chain builders, chainability checks and the chain SPEC parser."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wellposed.errors import InvalidChainError, InvalidSpecError

__all__ = [
    "KSPattern",
    "dyadic_butterfly",
    "monarch",
    "debut",
    "check_chain",
    "chain_shape",
    "product_pattern",
    "parse_chain_spec",
    "CHAIN_SPEC_GRAMMAR",
]

CHAIN_SPEC_GRAMMAR = """\
Chain SPEC grammar (case-insensitive, no spaces needed):
  butterfly:N              square dyadic butterfly, N = 2**L (L factors of pattern (2**(l-1), 2, 2, 2**(L-l)))
  monarch:N                Monarch with sqrt(N) blocks, N a perfect square: (1,m,m,m) then (m,m,m,1)
  monarch:N,K              Monarch with K blocks of size N/K: (1,K,K,N/K) then (K,N/K,N/K,1)
  debut:B1xC1,B2xC2,...    deformable-butterfly chain of rank one from block sizes (b_l, c_l);
                           the product has shape (B1*B2*...) x (C1*C2*...)
  ks:a,b,c,d;a,b,c,d;...   any user chain, one (a,b,c,d) per factor, leftmost factor first
                           ('/' may replace ';', which a shell would otherwise split on)"""


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidChainError(
            f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}; "
            "pass a Python or numpy integer >= 1."
        )
    if int(value) < 1:
        raise InvalidChainError(f"{name} must be a positive integer, got {value!r}; pass an integer >= 1.")
    return int(value)


@dataclass(frozen=True)
class KSPattern:
    """Kronecker-sparse support ``I_a ⊗ 1_{b×c} ⊗ I_d`` of shape ``(a*b*d, a*c*d)``.

    Row index ``i_a*b*d + i_b*d + i_d`` meets column index ``i_a*c*d + i_c*d + i_d``; the ``a*b*c*d``
    allowed entries are stored naturally as an ``(a, b, c, d)`` array.

    Parameters
    ----------
    a, b, c, d : int
        Positive integers: ``a`` diagonal blocks, each a ``b×c`` dense block Kronecker-multiplied by ``I_d``.

    Examples
    --------
    >>> p = KSPattern(1, 2, 2, 2)
    >>> p.shape, p.nnz
    ((4, 4), 8)
    >>> p.mask().astype(int)
    array([[1, 0, 1, 0],
           [0, 1, 0, 1],
           [1, 0, 1, 0],
           [0, 1, 0, 1]])
    """

    a: int
    b: int
    c: int
    d: int

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d"):
            object.__setattr__(self, name, _positive_int(getattr(self, name), f"KSPattern.{name}"))

    @property
    def shape(self) -> tuple[int, int]:
        """``(a*b*d, a*c*d)``."""
        return (self.a * self.b * self.d, self.a * self.c * self.d)

    @property
    def nnz(self) -> int:
        """Number of allowed entries ``a*b*c*d``."""
        return self.a * self.b * self.c * self.d

    @property
    def abcd(self) -> tuple[int, int, int, int]:
        """The tuple ``(a, b, c, d)``."""
        return (self.a, self.b, self.c, self.d)

    def mask(self) -> np.ndarray:
        """Dense boolean mask of shape :attr:`shape` (``O(a*b*c*d)`` work plus the dense fill)."""
        rows, cols = self.indices()
        out = np.zeros(self.shape, dtype=bool)
        out[rows, cols] = True
        return out

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column index arrays of shape ``(a, b, c, d)``: entry ``data[ia,ib,ic,id]`` sits at
        ``(rows[ia,ib,ic,id], cols[ia,ib,ic,id])``."""
        ia, ib, ic, id_ = np.meshgrid(
            np.arange(self.a), np.arange(self.b), np.arange(self.c), np.arange(self.d), indexing="ij"
        )
        rows = ia * (self.b * self.d) + ib * self.d + id_
        cols = ia * (self.c * self.d) + ic * self.d + id_
        return rows.astype(np.int64), cols.astype(np.int64)

    def transpose(self) -> KSPattern:
        """Pattern of the transposed matrix, ``(a, c, b, d)``."""
        return KSPattern(self.a, self.c, self.b, self.d)

    def __str__(self) -> str:
        return f"({self.a},{self.b},{self.c},{self.d})"


def _as_patterns(patterns: Sequence[KSPattern] | object, name: str = "patterns") -> tuple[KSPattern, ...]:
    if isinstance(patterns, KSPattern) or not isinstance(patterns, Sequence):
        raise InvalidChainError(
            f"{name} must be a sequence of KSPattern, got {patterns!r}; "
            "build one with dyadic_butterfly(N), monarch(N) or parse_chain_spec('ks:1,2,2,2;2,2,2,1')."
        )
    out = tuple(patterns)
    if not out:
        raise InvalidChainError(f"{name} is empty; a chain needs at least one KSPattern.")
    for i, p in enumerate(out):
        if not isinstance(p, KSPattern):
            raise InvalidChainError(f"{name}[{i}] must be a KSPattern, got {p!r}.")
    return out


def check_chain(patterns: Sequence[KSPattern], *, chainable: bool = True) -> tuple[KSPattern, ...]:
    """Check that consecutive patterns can be multiplied (valid) and, by default, are chainable.

    Valid: ``a_l*c_l*d_l == a_{l+1}*b_{l+1}*d_{l+1}`` (columns of factor l = rows of factor l+1).
    Chainable: also ``a_l | a_{l+1}``, ``d_{l+1} | d_l`` and ``r_l = a_l*c_l/a_{l+1} = b_{l+1}*d_{l+1}/d_l``
    is an integer.

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
        Naming the first offending pair and the failed condition.

    Examples
    --------
    >>> len(check_chain(dyadic_butterfly(8)))
    3
    >>> check_chain([KSPattern(1, 2, 2, 2), KSPattern(1, 3, 3, 1)])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidChainError: chain is not valid at factors 0 and 1: ...

    Notes
    -----
    ``O(L)`` for ``L`` patterns.
    """
    pats = _as_patterns(patterns)
    for i in range(len(pats) - 1):
        p, q = pats[i], pats[i + 1]
        if p.a * p.c * p.d != q.a * q.b * q.d:
            raise InvalidChainError(
                f"chain is not valid at factors {i} and {i + 1}: pattern {p} has {p.shape[1]} columns but "
                f"pattern {q} has {q.shape[0]} rows; adjust a*c*d of factor {i} or a*b*d of factor {i + 1}."
            )
        if not chainable:
            continue
        if q.a % p.a != 0:
            raise InvalidChainError(
                f"chain is not chainable at factors {i} and {i + 1}: a_{i}={p.a} does not divide "
                f"a_{i + 1}={q.a}; chainable chains need a_l | a_(l+1)."
            )
        if p.d % q.d != 0:
            raise InvalidChainError(
                f"chain is not chainable at factors {i} and {i + 1}: d_{i + 1}={q.d} does not divide "
                f"d_{i}={p.d}; chainable chains need d_(l+1) | d_l."
            )
        if (p.a * p.c) % q.a != 0 or (q.b * q.d) % p.d != 0:
            raise InvalidChainError(
                f"chain is not chainable at factors {i} and {i + 1} ({p} then {q}): "
                f"r = a_l*c_l/a_(l+1) = {p.a * p.c}/{q.a} is not an integer."
            )
    return pats


def chain_shape(patterns: Sequence[KSPattern]) -> tuple[int, int]:
    """Shape of the product of a valid chain.

    Examples
    --------
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
    ``O(L)``. For a chainable chain the product's support is exactly ``I_{a_1} ⊗ 1 ⊗ I_{d_L}``
    (each dense block is a sum of rank-``r`` terms).
    """
    pats = check_chain(patterns)
    a, d = pats[0].a, pats[-1].d
    m, n = pats[0].shape[0], pats[-1].shape[1]
    return KSPattern(a, m // (a * d), n // (a * d), d)


def _int_power_of_two(n: int, name: str) -> int:
    n = _positive_int(n, name)
    if n < 2 or n & (n - 1):
        raise InvalidChainError(f"{name} must be a power of two >= 2, got {n!r}; e.g. 1024 or 4096.")
    return n.bit_length() - 1


def dyadic_butterfly(N: int) -> tuple[KSPattern, ...]:
    """Square dyadic butterfly chain for ``N = 2**L``: ``(2**(l-1), 2, 2, 2**(L-l))``, ``l = 1..L``.

    Examples
    --------
    >>> [p.abcd for p in dyadic_butterfly(8)]
    [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)]
    """
    L = _int_power_of_two(N, "N")
    return tuple(KSPattern(2 ** (ell - 1), 2, 2, 2 ** (L - ell)) for ell in range(1, L + 1))


def monarch(N: int, nblocks: int | None = None) -> tuple[KSPattern, ...]:
    """Monarch chain (two block-diagonal factors around a stride permutation) of size ``N×N``.

    Parameters
    ----------
    N : int
        Matrix size.
    nblocks : int, optional
        Number of diagonal blocks ``K`` (must divide ``N``); default ``sqrt(N)`` (then ``N`` must be a square).

    Examples
    --------
    >>> [p.abcd for p in monarch(16)]
    [(1, 4, 4, 4), (4, 4, 4, 1)]
    >>> [p.abcd for p in monarch(12, 3)]
    [(1, 3, 3, 4), (3, 4, 4, 1)]
    """
    N = _positive_int(N, "N")
    if nblocks is None:
        m = math.isqrt(N)
        if m * m != N:
            raise InvalidChainError(
                f"N={N!r} is not a perfect square; pass nblocks (a divisor of N), e.g. monarch({N}, nblocks=...)."
            )
        nblocks = m
    K = _positive_int(nblocks, "nblocks")
    if N % K != 0:
        raise InvalidChainError(f"nblocks={K!r} must divide N={N!r}.")
    s = N // K
    return (KSPattern(1, K, K, s), KSPattern(K, s, s, 1))


def debut(block_sizes: Sequence[tuple[int, int]]) -> tuple[KSPattern, ...]:
    """Deformable-butterfly style chain of rank one from per-factor block sizes ``(b_l, c_l)``.

    Factor ``l`` gets ``a_l = c_1*...*c_(l-1)`` and ``d_l = b_(l+1)*...*b_L``; the product has shape
    ``(b_1*...*b_L) × (c_1*...*c_L)``, so rectangular and non-power-of-two shapes are covered.

    Examples
    --------
    >>> [p.abcd for p in debut([(2, 3), (4, 5)])]
    [(1, 2, 3, 4), (3, 4, 5, 1)]
    >>> [p.abcd for p in debut([(2, 2)] * 3)] == [p.abcd for p in dyadic_butterfly(8)]
    True
    """
    if isinstance(block_sizes, (str, bytes)) or not isinstance(block_sizes, Sequence) or not block_sizes:
        raise InvalidChainError(
            f"block_sizes must be a non-empty sequence of (b, c) pairs, got {block_sizes!r}; e.g. [(2, 3), (4, 5)]."
        )
    pairs: list[tuple[int, int]] = []
    for i, pair in enumerate(block_sizes):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidChainError(f"block_sizes[{i}] must be a (b, c) pair, got {pair!r}.")
        pairs.append((_positive_int(pair[0], f"block_sizes[{i}][0]"), _positive_int(pair[1], f"block_sizes[{i}][1]")))
    out = []
    for ell, (b, c) in enumerate(pairs):
        a = math.prod(cc for _, cc in pairs[:ell])
        d = math.prod(bb for bb, _ in pairs[ell + 1 :])
        out.append(KSPattern(a, b, c, d))
    return check_chain(out)


def _parse_ints(text: str, spec: str) -> list[int]:
    try:
        vals = [int(t) for t in text.split(",")]
    except ValueError:
        raise InvalidSpecError(
            f"cannot read integers from {text!r} in chain spec {spec!r}.\n{CHAIN_SPEC_GRAMMAR}"
        ) from None
    return vals


def parse_chain_spec(spec: str) -> tuple[KSPattern, ...]:
    """Parse a chain SPEC string into a checked chainable tuple of :class:`KSPattern`.

    Grammar (see also ``CHAIN_SPEC_GRAMMAR``): ``butterfly:N``, ``monarch:N``, ``monarch:N,K``,
    ``debut:B1xC1,B2xC2,...``, ``ks:a,b,c,d;a,b,c,d;...``.

    Raises
    ------
    InvalidSpecError
        The string does not follow the grammar (the message prints the grammar).
    InvalidChainError
        The string parses but the chain is invalid or not chainable.

    Examples
    --------
    >>> [p.abcd for p in parse_chain_spec("butterfly:4")]
    [(1, 2, 2, 2), (2, 2, 2, 1)]
    >>> [p.abcd for p in parse_chain_spec("ks:1,2,2,2;2,2,2,1")]
    [(1, 2, 2, 2), (2, 2, 2, 1)]
    >>> parse_chain_spec("ks:1,2,2,2/2,2,2,1") == parse_chain_spec("ks:1,2,2,2;2,2,2,1")
    True
    >>> parse_chain_spec("fft:8")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: unknown chain family 'fft' in spec 'fft:8'...
    """
    if not isinstance(spec, str):
        raise InvalidSpecError(f"chain spec must be a string, got {spec!r}.\n{CHAIN_SPEC_GRAMMAR}")
    text = spec.strip().replace(" ", "")
    family, sep, rest = text.partition(":")
    family = family.lower()
    if not sep or not rest:
        raise InvalidSpecError(f"chain spec {spec!r} has no 'family:arguments' form.\n{CHAIN_SPEC_GRAMMAR}")
    if family == "butterfly":
        vals = _parse_ints(rest, spec)
        if len(vals) != 1:
            raise InvalidSpecError(f"'butterfly' takes one integer N, got {rest!r}.\n{CHAIN_SPEC_GRAMMAR}")
        return dyadic_butterfly(vals[0])
    if family == "monarch":
        vals = _parse_ints(rest, spec)
        if len(vals) not in (1, 2):
            raise InvalidSpecError(f"'monarch' takes N or N,K, got {rest!r}.\n{CHAIN_SPEC_GRAMMAR}")
        return monarch(vals[0], vals[1] if len(vals) == 2 else None)
    if family == "debut":
        pairs = []
        for tok in rest.split(","):
            parts = tok.lower().split("x")
            if len(parts) != 2:
                raise InvalidSpecError(f"'debut' block {tok!r} is not of the form BxC.\n{CHAIN_SPEC_GRAMMAR}")
            try:
                pairs.append((int(parts[0]), int(parts[1])))
            except ValueError:
                raise InvalidSpecError(f"'debut' block {tok!r} is not of the form BxC.\n{CHAIN_SPEC_GRAMMAR}") from None
        return debut(pairs)
    if family == "ks":
        pats = []
        for tok in rest.replace("/", ";").strip(";").split(";"):
            vals = _parse_ints(tok, spec)
            if len(vals) != 4:
                raise InvalidSpecError(
                    f"'ks' factor {tok!r} must have four integers a,b,c,d.\n{CHAIN_SPEC_GRAMMAR}"
                )
            pats.append(KSPattern(*vals))
        return check_chain(pats)
    raise InvalidSpecError(f"unknown chain family {family!r} in spec {spec!r}.\n{CHAIN_SPEC_GRAMMAR}")
