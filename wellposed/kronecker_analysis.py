"""Two-factor Kronecker-sparse chains decided without building masks: the classes of identical rank-one supports
in closed form and the record of :func:`wellposed.analysis.analyze`, in ``O(log)`` arithmetic.

A two-factor :class:`~wellposed.kronecker.KSChain` ``(left, right)`` is the FSMF pattern
``SupportPattern(left.mask(), right.mask().T)``: ``X`` (m×r) lives on ``left`` and ``Yᵀ`` (r×n) on
``right``. Specs are parsed by :mod:`wellposed.kronecker_spec`.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .errors import InvalidChainError, InvalidSpecError
from .kronecker import KSChain
from .kronecker_spec import is_kronecker_spec, kronecker_pair

__all__ = ["KroneckerClasses", "kronecker_classes", "analyze_kronecker"]

_ABCD = tuple[int, int, int, int]


def _pair(chain: KSChain) -> tuple[_ABCD, _ABCD]:
    """The two factors ``(a, b, c, d)`` of a two-factor chain."""
    if not isinstance(chain, KSChain) or len(chain) != 2:
        raise InvalidChainError(f"chain = {chain!r} must be a two-factor KSChain (X on the first factor, Yᵀ on the "
                                "second); parse one with wellposed.kronecker_spec.kronecker_pair(spec).")
    return chain[0].abcd, chain[1].abcd


# ---------------------------------------------------------------- classes in closed form
@dataclass(frozen=True)
class KroneckerClasses:
    """The classes of identical rank-one supports of a two-factor :class:`~wellposed.kronecker.KSChain` (counts only).

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


def kronecker_classes(pair: KSChain) -> KroneckerClasses:
    """Count the classes of identical rank-one supports of a Kronecker-sparse pair, from ``(a, b, c, d)`` only.

    Parameters
    ----------
    pair : KSChain
        Two factors.

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
    (_, b1, c1, d1), (_, b2, c2, d2) = _pair(pair)
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


def _class_sizes_by_loop(pair: KSChain) -> Counter[tuple[int, int, int, int]]:
    """Plain-loop reference: the size of each class, keyed by ``(⌊k/A⌋, k mod d1, ⌊k/B⌋, k mod d2)``, ``O(r)``."""
    (_, _, c1, d1), (_, b2, _, d2) = _pair(pair)
    return Counter((k // (c1 * d1), k % d1, k // (b2 * d2), k % d2) for k in range(pair.r))


# ---------------------------------------------------------------- the analyze record
def analyze_kronecker(spec: str | KSChain, *, closedness: bool = True) -> dict[str, Any] | None:
    """The record of :func:`wellposed.analysis.analyze` for a Kronecker-sparse pair, without building masks.

    Parameters
    ----------
    spec : str or KSChain
        A spec that gives two factors (``butterfly:N:s``, ``monarch:m``, ``ks:a,b,c,d;a,b,c,d``, ...) or a
        parsed two-factor chain.
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
    ``min(m, n) = 1`` and ``theorem:dto`` otherwise. ``None`` is returned only for specs outside the
    grammar of :mod:`wellposed.kronecker_spec`. Cost: ``O(log)`` integer arithmetic and ``O(1)`` memory, whatever N.
    """
    start = time.perf_counter()
    if not isinstance(closedness, bool):
        raise InvalidSpecError(f"closedness = {closedness!r} must be True or False.")
    if isinstance(spec, KSChain):
        _pair(spec)
        pair = spec
    elif isinstance(spec, str):
        if not is_kronecker_spec(spec):
            return None
        pair = kronecker_pair(spec)
    else:
        raise InvalidSpecError(f"spec = {spec!r} must be a family spec string or a two-factor KSChain.")
    from .classify import CLOSED_BY_BLOCKS, REASON_DTO

    cls = kronecker_classes(pair)
    m, n, r = pair.m, pair.n, pair.r
    rec: dict[str, Any] = {
        "name": pair.name,
        "description": pair.description,
        "m": m,
        "n": n,
        "r": r,
        "free_entries": pair.nnz,
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
        "kronecker": {"left": list(pair[0].abcd), "right": list(pair[1].abcd), "chainable": pair.chainable,
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
