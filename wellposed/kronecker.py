"""Kronecker-sparse two-factor patterns described by ``(a, b, c, d)`` pairs, decided without building masks.

A Kronecker-sparse factor ``(a, b, c, d)`` has the support ``I_a ⊗ 1_{b×c} ⊗ I_d`` (shape
``(a·b·d) × (a·c·d)``). The families ``butterfly:N:s``, ``monarch:m`` and ``ks:a,b,c,d;a,b,c,d`` are pairs
``(left, right)`` of such factors, and their FSMF pattern is ``SupportPattern(left.mask(), right.mask().T)``:
``X`` (m×r) lives on ``left`` and ``Yᵀ`` (r×n) on ``right``. This module parses those specs into
:class:`KroneckerPair` (one grammar, shared with :mod:`wellposed.families`) and computes the record of
:func:`wellposed.analysis.analyze` from the eight integers, in ``O(log)`` arithmetic
(:func:`analyze_kronecker`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidSpecError, InvalidSupportError
from .families import _ints, _kron_bytes, kronecker_support
from .support import SupportPattern, check_memory

__all__ = [
    "KroneckerFactor",
    "KroneckerPair",
    "KroneckerClasses",
    "KRONECKER_FAMILIES",
    "is_kronecker_spec",
    "kronecker_pair",
    "kronecker_classes",
    "analyze_kronecker",
    "parse_butterfly",
    "parse_monarch",
    "parse_ks",
]



def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise InvalidSupportError(f"{name} = {value!r} must be a positive integer (≥ 1).")
    return int(value)


@dataclass(frozen=True)
class KroneckerFactor:
    """The support ``I_a ⊗ 1_{b×c} ⊗ I_d`` of a Kronecker-sparse factor, shape ``(a·b·d) × (a·c·d)``.

    Row ``i_a·b·d + i_b·d + i_d`` meets column ``i_a·c·d + i_c·d + i_d`` for every ``i_b < b``, ``i_c < c``:
    ``a·d`` dense ``b×c`` blocks. Nothing is allocated until :meth:`mask` is called.

    Parameters
    ----------
    a, b, c, d : int
        Positive integers.

    Examples
    --------
    >>> f = KroneckerFactor(1, 2, 2, 2)
    >>> f.shape, f.nnz, str(f)
    ((4, 4), 8, '(1,2,2,2)')
    >>> f.mask().astype(int).tolist()
    [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    >>> KroneckerFactor(1, 0, 2, 2)
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: KroneckerFactor.b = 0 must be a positive integer (≥ 1).
    """

    a: int
    b: int
    c: int
    d: int

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d"):
            object.__setattr__(self, name, _positive(getattr(self, name), f"KroneckerFactor.{name}"))

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

    def mask(self) -> np.ndarray:
        """The boolean mask, equal to :func:`wellposed.families.kronecker_support` ``(a, b, c, d)``.

        Raises :class:`~wellposed.errors.ResourceLimitError` before allocating when it does not fit the
        memory budget (:func:`wellposed.support.max_bytes`).
        """
        rows, cols = self.shape
        check_memory(_kron_bytes(*self.abcd), f"the {rows}×{cols} mask", f"Kronecker-sparse factor {self}",
                     "Use smaller factor parameters")
        return kronecker_support(*self.abcd)

    def __str__(self) -> str:
        return f"({self.a},{self.b},{self.c},{self.d})"


@dataclass(frozen=True)
class KroneckerPair:
    """A two-factor Kronecker-sparse pattern: ``X`` on ``left`` (m×r), ``Yᵀ`` on ``right`` (r×n).

    Parameters
    ----------
    left, right : KroneckerFactor
        ``left.shape[1] == right.shape[0]`` (``a1·c1·d1 = a2·b2·d2 = r``).
    name, description : str
        Carried to :meth:`pattern` and to the record of :func:`analyze_kronecker`.

    Examples
    --------
    >>> p = KroneckerPair(KroneckerFactor(1, 2, 2, 2), KroneckerFactor(2, 2, 2, 1))
    >>> p.m, p.n, p.r, p.free_entries, p.chainable
    (4, 4, 4, 16, True)
    >>> p.pattern().shape
    (4, 4, 4)
    """

    left: KroneckerFactor
    right: KroneckerFactor
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        for side in ("left", "right"):
            if not isinstance(getattr(self, side), KroneckerFactor):
                raise InvalidSupportError(f"{side} = {getattr(self, side)!r} must be a KroneckerFactor(a, b, c, d).")
        if self.left.shape[1] != self.right.shape[0]:
            raise InvalidSupportError(f"left {self.left} has {self.left.shape[1]} columns but right {self.right} has "
                                      f"{self.right.shape[0]} rows (need a1·c1·d1 = a2·b2·d2).")

    @property
    def m(self) -> int:
        """Rows of ``A``: ``a1·b1·d1``."""
        return self.left.shape[0]

    @property
    def n(self) -> int:
        """Columns of ``A``: ``a2·c2·d2``."""
        return self.right.shape[1]

    @property
    def r(self) -> int:
        """Number of rank-one components: ``a1·c1·d1 = a2·b2·d2``."""
        return self.left.shape[1]

    @property
    def free_entries(self) -> int:
        """``|I| + |J| = a1·b1·c1·d1 + a2·b2·c2·d2``."""
        return self.left.nnz + self.right.nnz

    @property
    def chainable(self) -> bool:
        """``a1 | a2``, ``d2 | d1`` and ``a1·c1 / a2`` an integer (the product is Kronecker-sparse again)."""
        (a1, _, c1, d1), (a2, _, _, d2) = self.left.abcd, self.right.abcd
        return a2 % a1 == 0 and d1 % d2 == 0 and (a1 * c1) % a2 == 0

    def pattern(self) -> SupportPattern:
        """The materialized pattern ``SupportPattern(left.mask(), right.mask().T)`` (``O(m r + r n)`` memory)."""
        return SupportPattern(self.left.mask(), self.right.mask().T, name=self.name, description=self.description)


# ---------------------------------------------------------------- spec grammar (shared with wellposed.families)
def parse_butterfly(spec: str, args: str) -> KroneckerPair:
    """``butterfly:N:s``: ``args`` is the text after ``butterfly:``; ``spec`` (the whole spec) names errors.

    The split after factor ``s`` of the ``N×N`` dyadic butterfly, ``N = 2^L``: ``(1, 2^s, 2^s, 2^(L−s))``
    (product of factors 1..s) times ``(2^s, 2^(L−s), 2^(L−s), 1)`` (factors s+1..L).

    >>> parse_butterfly("butterfly:16:1", "16:1").right
    KroneckerFactor(a=2, b=8, c=8, d=1)
    >>> parse_butterfly("butterfly:12:1", "12:1")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: 'butterfly:12:1': N = 12 must be a power of two ≥ 4 (the dyadic butterfly).
    """
    parts = args.split(":")
    if len(parts) != 2:
        raise InvalidSpecError(f"{spec!r}: write butterfly:N:s with N a power of two and 1 ≤ s < log2(N).")
    (big_n,) = _ints(spec, parts[0], 1, "N")
    (s,) = _ints(spec, parts[1], 1, "s")
    levels = int(round(math.log2(big_n)))
    if 2**levels != big_n or levels < 2:
        raise InvalidSpecError(f"{spec!r}: N = {big_n} must be a power of two ≥ 4 (the dyadic butterfly).")
    if not 1 <= s < levels:
        raise InvalidSpecError(f"{spec!r}: split s = {s} must satisfy 1 ≤ s ≤ {levels - 1} for N = {big_n}.")
    return KroneckerPair(KroneckerFactor(1, 2**s, 2**s, 2 ** (levels - s)),
                         KroneckerFactor(2**s, 2 ** (levels - s), 2 ** (levels - s), 1),
                         name=f"butterfly:{big_n}:{s}",
                         description=f"two-factor split after factor {s} of the {big_n}×{big_n} dyadic butterfly")


def parse_monarch(spec: str, args: str) -> KroneckerPair:
    """``monarch:m``: ``(1, m, m, m)`` times ``(m, m, m, 1)``, an ``m²×m²`` pattern.

    >>> parse_monarch("monarch:3", "3").name, parse_monarch("monarch:3", "3").r
    ('monarch:3', 9)
    """
    (b,) = _ints(spec, args, 1, "m")
    return KroneckerPair(KroneckerFactor(1, b, b, b), KroneckerFactor(b, b, b, 1), name=f"monarch:{b}",
                         description=f"Monarch product of two {b * b}×{b * b} block factors")


def parse_ks(spec: str, args: str) -> KroneckerPair:
    """``ks:a,b,c,d;a,b,c,d``: any two factors with ``a1·c1·d1 = a2·b2·d2`` (the name keeps ``args`` as written).

    >>> parse_ks("ks:1,2,2,1;1,3,2,1", "1,2,2,1;1,3,2,1")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: 'ks:1,2,2,1;1,3,2,1': the first factor has 2 columns but the second has 3 \
rows (need a1·c1·d1 = a2·b2·d2).
    """
    parts = args.split(";")
    if len(parts) != 2:
        raise InvalidSpecError(f"{spec!r}: write ks:a,b,c,d;a,b,c,d (two Kronecker-sparse factors).")
    a1, b1, c1, d1 = _ints(spec, parts[0], 4, "a,b,c,d")
    a2, b2, c2, d2 = _ints(spec, parts[1], 4, "a,b,c,d")
    if a1 * c1 * d1 != a2 * b2 * d2:
        raise InvalidSpecError(f"{spec!r}: the first factor has {a1 * c1 * d1} columns but the second has "
                               f"{a2 * b2 * d2} rows (need a1·c1·d1 = a2·b2·d2).")
    return KroneckerPair(KroneckerFactor(a1, b1, c1, d1), KroneckerFactor(a2, b2, c2, d2),
                         name=f"ks:{parts[0]};{parts[1]}", description="product of two Kronecker-sparse factors")


_PARSERS = {"butterfly": parse_butterfly, "monarch": parse_monarch, "ks": parse_ks}
#: Family names whose specs are Kronecker-sparse pairs.
KRONECKER_FAMILIES = tuple(_PARSERS)


def _looks_like_file(text: str) -> bool:
    """Would :func:`wellposed.families.load_pattern` read ``text`` as a file (same test)?"""
    path = Path(text)
    try:
        exists = path.exists()
    except OSError:
        exists = False
    return path.suffix.lower() in (".json", ".npz") or exists


def is_kronecker_spec(spec: object) -> bool:
    """True when :func:`~wellposed.families.load_pattern` would build ``spec`` as a ``butterfly``, ``monarch``
    or ``ks`` family (its parameters are not checked; :func:`kronecker_pair` does that).

    >>> is_kronecker_spec("Monarch:4"), is_kronecker_spec("lu:3"), is_kronecker_spec("ks:1.json")
    (True, False, False)
    """
    if not isinstance(spec, str) or ":" not in spec or _looks_like_file(spec):
        return False
    return spec.partition(":")[0].strip().lower() in _PARSERS


def kronecker_pair(spec: str) -> KroneckerPair:
    """Parse a ``butterfly:N:s``, ``monarch:m`` or ``ks:a,b,c,d;a,b,c,d`` spec without allocating masks.

    Same validation and messages as :func:`wellposed.families.family` (which builds these families from
    this parser), except the memory check of the masks, which are not built here.

    Raises
    ------
    InvalidSpecError
        Malformed parameters, or a spec that is not one of these families.

    Examples
    --------
    >>> p = kronecker_pair("butterfly:65536:8")
    >>> p.left, p.m, p.r
    (KroneckerFactor(a=1, b=256, c=256, d=256), 65536, 65536)
    >>> kronecker_pair("lu:3")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: spec = 'lu:3' is not a Kronecker-sparse family spec; use butterfly:N:s, \
monarch:m or ks:a,b,c,d;a,b,c,d.
    """
    if not isinstance(spec, str) or ":" not in spec or spec.partition(":")[0].strip().lower() not in _PARSERS:
        raise InvalidSpecError(f"spec = {spec!r} is not a Kronecker-sparse family spec; use butterfly:N:s, "
                               "monarch:m or ks:a,b,c,d;a,b,c,d.")
    name, _, args = spec.partition(":")
    return _PARSERS[name.strip().lower()](spec, args)


# ---------------------------------------------------------------- classes in closed form
@dataclass(frozen=True)
class KroneckerClasses:
    """The classes of identical rank-one supports of a :class:`KroneckerPair` (counts only).

    Every class is a ``class_rows × class_cols`` rectangle (``b1 × c2``); classes are pairwise disjoint.

    Attributes
    ----------
    num_classes : int
    num_complete : int
        Classes with ``|P| ≥ min(b1, c2)``.
    identical_pairs : int
        ``Σ_P C(|P|, 2)``: pairs of components with identical supports (the edges of the support graph).
    class_rows, class_cols : int
        ``b1`` and ``c2``.
    max_size : int
        Largest ``|P|``.
    """

    num_classes: int
    num_complete: int
    identical_pairs: int
    class_rows: int
    class_cols: int
    max_size: int


def _floor_sums(a: int, b: int, c: int, n: int) -> tuple[int, int, int]:
    """``(Σ q_i, Σ i·q_i, Σ q_i²)`` over ``i = 0..n`` with ``q_i = ⌊(a·i + b)/c⌋`` (``a, b ≥ 0``, ``c ≥ 1``).

    Euclid-like recursion: reduce ``a, b`` modulo ``c``, then swap the roles of ``i`` and ``q``;
    ``O(log max(a, c))`` steps.

    >>> _floor_sums(3, 1, 4, 5) == tuple(sum(w(i) * ((3 * i + 1) // 4) ** p for i in range(6))
    ...                                   for w, p in ((lambda i: 1, 1), (lambda i: i, 1), (lambda i: 1, 2)))
    True
    """
    if n < 0:
        return 0, 0, 0
    s1 = n * (n + 1) // 2
    s2 = n * (n + 1) * (2 * n + 1) // 6
    qa, qb = a // c, b // c
    if a == 0:
        return (n + 1) * qb, qb * s1, (n + 1) * qb * qb
    if qa or qb:
        f, g, h = _floor_sums(a % c, b % c, c, n)
        return (f + qa * s1 + qb * (n + 1),
                g + qa * s2 + qb * s1,
                h + qa * qa * s2 + qb * qb * (n + 1) + 2 * qa * qb * s1 + 2 * qb * f + 2 * qa * g)
    top = (a * n + b) // c
    if top == 0:
        return 0, 0, 0
    f, g, h = _floor_sums(c, c - b - 1, a, top - 1)
    f_out = n * top - f
    return f_out, (top * n * (n + 1) - h - f) // 2, n * top * (top + 1) - 2 * g - 2 * f - f_out


def _sum_clamp(g: int, c: int, lam: int, n: int) -> int:
    """``Σ_{t=0..n} min(max(g·t − c, 0), lam)`` for ``c ≥ 0``, as a difference of two ramp sums."""

    def ramp(c0: int) -> int:  # Σ max(g·t − c0, 0)
        t0 = c0 // g + 1
        if t0 > n:
            return 0
        count = n - t0 + 1
        return g * ((t0 + n) * count // 2) - c0 * count

    return ramp(c) - ramp(c + lam)


def kronecker_classes(pair: KroneckerPair) -> KroneckerClasses:
    """Count the classes of identical rank-one supports of a Kronecker-sparse pair, from ``(a, b, c, d)`` only.

    Parameters
    ----------
    pair : KroneckerPair

    Returns
    -------
    KroneckerClasses

    Examples
    --------
    >>> kronecker_classes(kronecker_pair("butterfly:65536:8"))
    KroneckerClasses(num_classes=65536, num_complete=0, identical_pairs=0, class_rows=256, class_cols=256, max_size=1)
    >>> kronecker_classes(kronecker_pair("ks:1,2,4,1;1,2,2,2"))  # two 2×2 classes of size 2
    KroneckerClasses(num_classes=2, num_complete=2, identical_pairs=2, class_rows=2, class_cols=2, max_size=2)

    Notes
    -----
    Derivation (``A = X Yᵀ``, ``X`` on ``left = (a1,b1,c1,d1)``, ``Yᵀ`` on ``right = (a2,b2,c2,d2)``,
    ``r = a1·c1·d1 = a2·b2·d2``). Write a component as ``k = u·c1·d1 + v·d1 + w``; column k of ``left``
    holds the rows ``u·b1·d1 + i·d1 + w`` (``i < b1``), so ``I_k`` depends only on
    ``(⌊k/A⌋, k mod d1)`` with ``A = c1·d1``, has ``b1`` rows, and two different keys give disjoint row
    sets. Likewise ``J_k`` (row k of ``right``) depends only on ``(⌊k/B⌋, k mod d2)``, ``B = b2·d2``, has
    ``c2`` columns, and different keys give disjoint sets. Hence ``S_k ∩ S_l ≠ ∅`` iff both keys agree iff
    ``S_k = S_l``: **every** valid pair is disjoint-or-identical (chainable or not), and the classes are
    the fibres of ``k ↦ (⌊k/A⌋, ⌊k/B⌋, k mod d1, k mod d2)``, each a ``b1 × c2`` rectangle, complete
    iff ``|P| ≥ μ = min(b1, c2)``.

    ``(⌊k/A⌋, ⌊k/B⌋)`` is constant exactly on the intervals between consecutive multiples of ``A`` or
    ``B``, and ``(k mod d1, k mod d2)`` determines ``k mod Λ``, ``Λ = lcm(d1, d2)`` (Chinese remainders).
    An interval of length ``ℓ`` thus holds ``min(ℓ, Λ)`` classes of sizes ``⌊ℓ/Λ⌋`` or ``⌈ℓ/Λ⌉``:
    ``count(ℓ) = min(ℓ, Λ)``, ``complete(ℓ) = clamp(ℓ − (μ−1)Λ, 0, Λ)``,
    ``pairs(ℓ) = Σ C(|P|, 2) = ℓq − Λq(q+1)/2`` with ``q = ⌊ℓ/Λ⌋``. The interval lengths: with
    ``γ = gcd(A, B)`` and ``α < β`` the coprime numbers ``A/γ``, ``B/γ`` (sorted; or ``α = β = 1``),
    each of the ``r / (γαβ)`` periods of length ``lcm(A, B)`` has ``β − α + 1`` intervals of length
    ``γα`` and two of length ``γt`` for each ``t = 1..α−1`` (the multiples ``jβ``, ``0 < j < α``, fall
    one per ``α``-block at the distinct residues ``t = jβ mod α``). The sums over ``t`` of the floor
    terms are floor sums (:func:`_floor_sums`). Largest class: ``⌈γα/Λ⌉``.

    Chainable pairs (``a1 | a2``, ``d2 | d1``, ``ρ = a1·c1/a2`` an integer) have ``B | A`` and ``Λ = d1``:
    ``a2·d1`` classes of size ``ρ`` each. The ``N = 2^L`` butterfly split at ``s`` has ``N`` classes of
    size 1 (``2^s × 2^(L−s)`` rectangles, none complete); ``monarch:m`` has ``m²`` classes of size 1
    (``m × m``, complete only for ``m = 1``).

    Cost: ``O(log(max parameter))`` integer operations, no array. The plain-loop reference
    ``_class_sizes_by_loop`` (``O(r)``) is the test oracle.
    """
    (_, b1, c1, d1), (_, b2, c2, d2) = pair.left.abcd, pair.right.abcd
    big_a, big_b, lam, mu = c1 * d1, b2 * d2, math.lcm(d1, d2), min(b1, c2)
    gam = math.gcd(big_a, big_b)
    alpha, beta = sorted((big_a // gam, big_b // gam))
    periods = pair.r // (gam * alpha * beta)

    longest = gam * alpha
    q = longest // lam
    long_stats = (min(longest, lam), min(max(longest - (mu - 1) * lam, 0), lam), longest * q - lam * q * (q + 1) // 2)
    t_max = alpha - 1
    f, g, h = _floor_sums(gam, 0, lam, t_max)
    short_stats = (_sum_clamp(gam, 0, lam, t_max), _sum_clamp(gam, (mu - 1) * lam, lam, t_max),
                   gam * g - lam * (h + f) // 2)
    count, complete, pairs = (periods * ((beta - alpha + 1) * lo + 2 * sh)
                              for lo, sh in zip(long_stats, short_stats, strict=True))
    return KroneckerClasses(count, complete, pairs, b1, c2, -(-longest // lam))


def _class_sizes_by_loop(pair: KroneckerPair) -> Counter[tuple[int, int, int, int]]:
    """Plain-loop reference: the size of each class, keyed by ``(⌊k/A⌋, k mod d1, ⌊k/B⌋, k mod d2)``, ``O(r)``."""
    (_, _, c1, d1), (_, b2, _, d2) = pair.left.abcd, pair.right.abcd
    return Counter((k // (c1 * d1), k % d1, k // (b2 * d2), k % d2) for k in range(pair.r))


# ---------------------------------------------------------------- the analyze record
def analyze_kronecker(spec: str | KroneckerPair, *, closedness: bool = True) -> dict[str, Any] | None:
    """The record of :func:`wellposed.analysis.analyze` for a Kronecker-sparse pair, without building masks.

    Parameters
    ----------
    spec : str or KroneckerPair
        A spec (``butterfly:N:s``, ``monarch:m``, ``ks:a,b,c,d;a,b,c,d``) or a parsed pair.
    closedness : bool
        Fill the closedness fields (as ``analyze(..., closedness=True)``); with False they read
        ``None`` / ``"closedness not requested"`` as in ``analyze``.

    Returns
    -------
    dict or None
        None when ``spec`` is a string that is not a Kronecker-sparse family spec (another family, or a
        file path, as :func:`~wellposed.families.load_pattern` would read it): analyze the loaded pattern
        instead. Otherwise the same values as ``analyze(family(spec))`` for ``name``, ``description``,
        ``m``, ``n``, ``r``, ``free_entries``, ``tractable``, ``tractable_method``, ``tractable_reason``,
        ``dto``, ``relaxed``, ``failing_pair``, ``num_classes``, ``num_complete_classes``,
        ``empty_components``, ``graph`` (``nodes``, ``edges``, ``edges_by_relation``,
        ``connected_components``), ``closed``, ``closed_method``, ``closed_reason``, ``certificate``
        and, with closedness, ``key``, ``parts``, ``details``; plus ``kronecker`` (the two factors,
        ``chainable``, the class rectangle and the largest class) and ``seconds``. Left out, because
        their size grows with r: ``classes``, ``components``, ``canonical_key``,
        ``graph.component_sizes`` and ``graph.connected_component_members`` (build
        ``pair.pattern()`` and call ``analyze`` when they are needed).

    Raises
    ------
    InvalidSpecError
        A malformed Kronecker-sparse spec (same message as :func:`wellposed.families.family`).

    Examples
    --------
    >>> rec = analyze_kronecker("monarch:256")
    >>> rec["m"], rec["r"], rec["num_classes"], rec["graph"]["edges"], rec["closed_method"]
    (65536, 65536, 65536, 0, 'theorem:dto')
    >>> analyze_kronecker("ks:1,1,1,1;1,1,1,1")["closed_method"]
    'theorem:vector'
    >>> analyze_kronecker("lu:3") is None
    True

    Notes
    -----
    Which specs are covered: all of them. Every valid pair is disjoint-or-identical (see
    :func:`kronecker_classes`), so the tractability verdict is always DTO, and closedness is decided by the
    first rule of :func:`~wellposed.closedness.theorems.closed_by_theorem` that applies: no component is
    empty and every row and column of A is covered, so the rule is ``theorem:vector`` when
    ``min(m, n) = 1`` and ``theorem:dto`` otherwise. ``None`` is returned only for specs outside these
    three families. Cost: ``O(log)`` integer arithmetic and ``O(1)`` memory, whatever N.
    """
    start = time.perf_counter()
    if not isinstance(closedness, bool):
        raise InvalidSpecError(f"closedness = {closedness!r} must be True or False.")
    if isinstance(spec, KroneckerPair):
        pair = spec
    elif isinstance(spec, str):
        if not is_kronecker_spec(spec):
            return None
        pair = kronecker_pair(spec)
    else:
        raise InvalidSpecError(f"spec = {spec!r} must be a family spec string or a KroneckerPair.")
    from .classify import CLOSED_BY_BLOCKS, REASON_DTO

    cls = kronecker_classes(pair)
    m, n, r = pair.m, pair.n, pair.r
    rec: dict[str, Any] = {
        "name": pair.name,
        "description": pair.description,
        "m": m,
        "n": n,
        "r": r,
        "free_entries": pair.free_entries,
        "tractable": True,
        "tractable_method": "dto",
        "tractable_reason": REASON_DTO,
        "dto": True,
        "relaxed": False,
        "failing_pair": None,
        "num_classes": cls.num_classes,
        "num_complete_classes": cls.num_complete,
        "empty_components": [],
        "graph": {"nodes": r, "edges": cls.identical_pairs,
                  "edges_by_relation": {"identical": cls.identical_pairs, "nested": 0, "partial": 0},
                  "connected_components": cls.num_classes},
        "kronecker": {"left": list(pair.left.abcd), "right": list(pair.right.abcd), "chainable": pair.chainable,
                      "class_rows": cls.class_rows, "class_cols": cls.class_cols, "max_class_size": cls.max_size},
        "closed": None,
        "closed_method": None,
        "closed_reason": "closedness not requested",
        "certificate": None,
    }
    if closedness:
        if min(m, n) == 1:  # every row and column of A is covered by some S_k
            method = "theorem:vector"
            reason = (f"the union of the supports spans {m} row(s) and {n} column(s); with a single row "
                      "or column every component is complete, so P is the space of matrices supported on the union")
            details: dict[str, Any] = {"rows": m, "cols": n}
        else:
            method, reason, details = "theorem:dto", REASON_DTO + CLOSED_BY_BLOCKS, {"classes": cls.num_classes}
        rec.update({"closed": True, "closed_method": method, "closed_reason": reason, "key": "", "parts": [],
                    "details": details})
    rec["seconds"] = round(time.perf_counter() - start, 6)
    return rec
