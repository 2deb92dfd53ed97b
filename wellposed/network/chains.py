"""Rules for chains of three or more factors: direct sums, restriction curves, and the chain QE stage.

Masks are given first layer first (network order, ``P = {W_L ⋯ W_1}``), like the rest of
:mod:`wellposed.network`. The proofs are in ``docs/chains.md``:

* :func:`direct_sum_blocks` — the layered graph of the masks (one node per index of every dimension, one
  edge per allowed entry) splits into connected blocks; ``P`` is the direct sum of the blocks' linear sets,
  closed iff every block's is;
* :func:`restriction_certificate` — fix one factor to a constant 0/1 matrix (the mask itself for an end
  factor, or a maximal partial permutation inside the mask): the other two form a two-factor pattern whose
  set lies inside ``P``; a not-closed certificate of that pattern gives an explicit curve of the three
  factors, kept when its limit is proved outside ``P`` by z3 (chain membership unsat);
* :func:`chain_qe` — the chain closedness sentences of :mod:`wellposed.formulas.chain_sentences`, decided by
  z3 under counted budgets;
* :func:`chain_determinantal` — ``P`` equals the set ``D`` cut out by the minors of the product that vanish
  identically (z3 proves ``D ⊆ P``), a closed algebraic set (the last stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import permutations
from typing import Any

import numpy as np

from ..errors import CertificateError
from ..support import SupportPattern
from .certificates import _fmt, _Sparse, _split_merged, _verify_factor_curve
from .reduction import ChainReduction

__all__ = ["Block", "direct_sum_blocks", "full_end_factor", "restriction_certificate", "chain_qe",
           "vanishing_minors", "chain_determinantal", "CHAIN_QE_MAX_VARIABLES"]

#: The prime of the exact rank computation of :func:`full_end_factor` (products stay below 2⁶³).
_PRIME = 2_147_483_647

#: Chains whose closedness sentence (without zero patterns) has more variables than this skip the QE stage.
CHAIN_QE_MAX_VARIABLES = 40


@dataclass(frozen=True)
class Block:
    """One connected block of a chain: ``index[t]`` lists the indices of dimension ``t`` it holds
    (``t = 0`` the inputs of layer 1, …, ``t = L`` the outputs of layer L), ``masks`` its restricted masks."""

    index: tuple[tuple[int, ...], ...]
    masks: tuple[np.ndarray, ...]


def direct_sum_blocks(masks: Sequence[np.ndarray]) -> list[Block]:
    """The connected blocks of the layered graph of ``masks`` that hold at least one allowed entry.

    Every allowed entry lies in exactly one block, so ``W_L ⋯ W_1`` is the sum of the blocks' products,
    which live on disjoint rows and columns: ``P`` is their direct sum (a block missing inputs or outputs
    contributes ``{0}``).

    Examples
    --------
    >>> eye = np.eye(2, dtype=bool)
    >>> [b.index for b in direct_sum_blocks([eye, eye])]
    [((0,), (0,), (0,)), ((1,), (1,), (1,))]
    >>> len(direct_sum_blocks([np.ones((2, 2), bool)]))
    1
    """
    dims = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    offset = np.concatenate([[0], np.cumsum(dims)]).astype(int)
    parent = list(range(int(offset[-1])))

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for ell, m in enumerate(masks):
        for o, i in zip(*np.nonzero(m), strict=True):  # W_ℓ[o, i]: input i of level ℓ, output o of level ℓ+1
            a, b = find(int(offset[ell] + i)), find(int(offset[ell + 1] + o))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots: dict[int, None] = {}
    for ell, m in enumerate(masks):
        for _, i in zip(*np.nonzero(m), strict=True):
            roots.setdefault(find(int(offset[ell] + i)))
    blocks = []
    for root in sorted(roots):
        index = tuple(tuple(k for k in range(dims[t]) if find(int(offset[t] + k)) == root) for t in range(len(dims)))
        sub = tuple(np.asarray(m[np.ix_(index[ell + 1], index[ell])], bool) for ell, m in enumerate(masks))
        blocks.append(Block(index, sub))
    return blocks


def embed_certificate(masks: Sequence[np.ndarray], block: Block, cert: dict[str, Any]) -> dict[str, Any]:
    """A block's lifted certificate written on the whole chain (indices mapped back), re-verified exactly."""
    factors: dict[int, _Sparse] = {}
    for key, entries in cert["factors"].items():
        ell = int(key)
        rows, cols = block.index[ell], block.index[ell - 1]
        factors[ell] = {(rows[e["row"]], cols[e["col"]]): {int(x): Fraction(c) for x, c in e["terms"]}
                        for e in entries}
    out_rows, in_cols = block.index[-1], block.index[0]
    limit = {(out_rows[int(i)], in_cols[int(j)]): Fraction(v) for (i, j), v in _limit_entries(cert).items()}
    shape = (masks[-1].shape[0], masks[0].shape[1])
    _verify_factor_curve(masks, factors, [[limit.get((i, j), Fraction(0)) for j in range(shape[1])]
                                          for i in range(shape[0])])
    return {**_record(masks, factors, limit, shape),
            "verified": {**cert.get("verified", {}), "embedded_curve": "ok (exact product on the whole chain)"},
            "block": {"index": [list(ix) for ix in block.index], "certificate": cert}}


def _limit_entries(cert: dict[str, Any]) -> dict[tuple[int, int], Fraction]:
    if cert.get("limit_entries") is not None:
        return {(int(e[0]), int(e[1])): Fraction(e[2]) for e in cert["limit_entries"]}
    return {(i, j): Fraction(v) for i, row in enumerate(cert["limit"]) for j, v in enumerate(row) if Fraction(v) != 0}


def _record(masks: Sequence[np.ndarray], factors: dict[int, _Sparse], limit: dict[tuple[int, int], Fraction],
            shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "limit": [[_fmt(limit.get((i, j), Fraction(0))) for j in range(shape[1])] for i in range(shape[0])],
        "factors": {str(ell): [{"row": i, "col": j, "terms": [[e, _fmt(c)] for e, c in sorted(p.items())]}
                               for (i, j), p in sorted(factors.get(ell, {}).items())]
                    for ell in range(1, len(masks) + 1)},
    }


# ------------------------------------------------------------------------------------------ full end factor
def _rank_mod_p(a: np.ndarray) -> int:
    """Rank over GF(p) of an integer matrix (entries already reduced mod p); a lower bound of its rank over ℚ."""
    m = a.copy() % _PRIME
    rank = 0
    rows, cols = m.shape
    for c in range(cols):
        pivot = next((r for r in range(rank, rows) if m[r, c]), None)
        if pivot is None:
            continue
        m[[rank, pivot]] = m[[pivot, rank]]
        inv = pow(int(m[rank, c]), _PRIME - 2, _PRIME)
        m[rank] = (m[rank] * inv) % _PRIME
        below = np.flatnonzero(m[:, c])
        for r in below:
            if r != rank:
                m[r] = (m[r] - m[r, c] * m[rank]) % _PRIME
        rank += 1
        if rank == rows:
            break
    return rank


def _instance_product(masks: Sequence[np.ndarray], seed: int) -> np.ndarray:
    """``W_k ⋯ W_1 mod p`` for integer weights drawn on the masks (seeded), computed mod p."""
    rng = np.random.default_rng(seed)
    prod = None
    for m in masks:
        w = np.where(m, rng.integers(1, 1 << 20, size=m.shape), 0).astype(np.int64)
        prod = w if prod is None else _mulmod(w, prod)
    assert prod is not None  # at least one mask
    return prod


def _mulmod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0], b.shape[1]), np.int64)
    for k in range(a.shape[1]):  # one rank-one update at a time keeps every product below 2⁶³
        out = (out + np.outer(a[:, k], b[k]) % _PRIME) % _PRIME
    return out


def full_end_factor(masks: Sequence[np.ndarray], max_size: int = 256) -> str | None:
    """The full-end-factor rule (docs/chains.md §2): a reason when it proves ``P`` a linear space, else None.

    If the last layer's mask is a full rectangle ``R × Q`` and some product ``B`` of the earlier layers with
    rows restricted to ``Q`` has rank equal to the number ``|U|`` of nonzero columns of their boolean product,
    then ``P`` is every matrix supported on ``R × U`` (``W_L = A B⁺``). Mirror statement for the first layer.
    The rank is certified exactly: integer weights (seeded), rank over GF(p) ≤ rank over ℚ ≤ ``|U|``.

    >>> up = np.triu(np.ones((2, 2), bool))
    >>> full_end_factor([up, up.T, np.ones((2, 2), bool)]) is not None
    True
    """
    from .masks import bool_product
    from .reduction import _rectangle

    for side in ("last", "first"):
        ms = list(masks) if side == "last" else [m.T for m in reversed(masks)]
        end, rest = ms[-1], [m.copy() for m in ms[:-1]]
        if not _rectangle(end):
            continue
        rest[-1] &= np.asarray(end.any(axis=0))[:, None]  # rows Q of the rest's product
        support = bool_product(rest)
        u = int(support.any(axis=0).sum())
        if u == 0 or max(support.shape) > max_size:
            continue
        for seed in range(2):
            if _rank_mod_p(_instance_product(rest, seed)) == u:
                rows = int(end.any(axis=1).sum())
                layer = len(ms) if side == "last" else 1
                return (f"layer {layer} is a full {rows}×{int(end.any(axis=0).sum())} rectangle and the product of "
                        f"the other layers reaches rank {u} (an exact integer instance, rank checked mod p), the "
                        f"number of columns it can touch: P is every matrix on the boolean product")
    return None


# ------------------------------------------------------------------------------------------ restrictions
def _matchings(mask: np.ndarray, cap: int) -> Iterator[np.ndarray]:
    """Maximal partial permutations inside ``mask`` (0/1 matrices with one 1 per used row and column)."""
    rows, cols = mask.shape
    seen: set[bytes] = set()
    count = 0
    small, large = (rows, cols) if rows <= cols else (cols, rows)
    for perm in permutations(range(large), small):
        c = np.zeros(mask.shape, bool)
        for a, b in enumerate(perm):
            i, j = (a, b) if rows <= cols else (b, a)
            if mask[i, j]:
                c[i, j] = True
        key = c.tobytes()
        if key in seen or not c.any():
            continue
        seen.add(key)
        yield c
        count += 1
        if count >= cap:
            return


def _maximal(cs: list[np.ndarray]) -> list[np.ndarray]:
    return [c for c in cs if not any(d is not c and (d >= c).all() and d.sum() > c.sum() for d in cs)]


@dataclass(frozen=True)
class _Restriction:
    """Fix reduced factor ``fixed`` (0-based, network order) to ``const``; the rest is ``pattern``."""

    fixed: int
    const: np.ndarray
    pattern: SupportPattern
    pairs: tuple[tuple[int, int], ...] = ()  # middle factor: (row, col) of each matched entry = component


def _restrictions(red: ChainReduction, cap: int) -> list[_Restriction]:
    m1, m2, m3 = red.masks
    out: list[_Restriction] = []
    for fixed, mask in ((0, m1), (2, m3)):
        consts = [mask.copy(), *_maximal(list(_matchings(mask, cap)))]
        for c in consts:
            pat = (SupportPattern(m3, m2.T, name="W3·W2") if fixed == 0 else SupportPattern(m2, m1.T, name="W2·W1"))
            out.append(_Restriction(fixed, c, pat))
    for c in _maximal(list(_matchings(m2, cap))):
        pairs = tuple((int(j), int(k)) for j, k in zip(*np.nonzero(c), strict=True))
        x = np.stack([m3[:, j] for j, _ in pairs], axis=1)
        y = np.stack([m1[k, :] for _, k in pairs], axis=1)
        out.append(_Restriction(1, c, SupportPattern(x, y, name="W3·C·W1"), pairs))
    seen: set[tuple[int, bytes, str]] = set()
    unique = []
    for r in out:
        key = (r.fixed, r.const.tobytes(), r.pattern.canonical_key())
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique[:cap]


def _const(c: np.ndarray) -> _Sparse:
    return {(int(i), int(j)): {0: Fraction(1)} for i, j in zip(*np.nonzero(c), strict=True)}


def _curves(r: _Restriction, cert: Any) -> dict[int, _Sparse]:
    """The three reduced factor curves (0-based network order) of a restriction and its pair certificate."""
    xc = {(int(i), int(k)): dict(p) for (i, k), p in cert.x_curve.items()}
    yc = {(int(j), int(k)): dict(p) for (j, k), p in cert.y_curve.items()}
    if r.fixed == 1:
        w3 = {(i, r.pairs[t][0]): p for (i, t), p in xc.items()}
        w1 = {(r.pairs[t][1], j): p for (j, t), p in yc.items()}
        return {0: w1, 1: _const(r.const), 2: w3}
    later = xc  # x_support = the later factor
    earlier = {(k, j): p for (j, k), p in yc.items()}  # y_support = earlierᵀ
    return {0: _const(r.const), 1: earlier, 2: later} if r.fixed == 0 else {0: earlier, 1: later, 2: _const(r.const)}


def _expand(factors: Sequence[_Sparse]) -> dict[tuple[int, int], Fraction]:
    """Constant terms of the product ``F_3 F_2 F_1`` (network order), after checking no negative power is left."""
    from .certificates import _matmul

    prod = factors[0]
    for f in factors[1:]:
        prod = _matmul(f, prod)
    out = {}
    for ij, terms in prod.items():
        if any(e < 0 for e in terms):
            raise CertificateError(f"entry {ij} keeps negative powers of ε")
        if terms.get(0, Fraction(0)) != 0:
            out[ij] = terms[0]
    return out


def restriction_certificate(ms: Sequence[np.ndarray], red: ChainReduction, *, effort: float = 1.0,
                            backend: str = "z3", z3_rlimit: int | None = None,
                            candidates: int = 64) -> dict[str, Any] | None:
    """A not-closed certificate of a three-factor reduced chain found through restrictions, or None.

    Each restriction's two-factor pattern goes to :func:`wellposed.closedness.decide_closedness`
    (without QE); every not-closed certificate gives a curve of the three reduced factors whose limit
    ``A*`` is then tested for membership in ``P`` (z3, counted ``rlimit``). The first ``A* ∉ P`` is lifted
    to the original layers and re-verified exactly (curve) and independently (non-membership, by
    :func:`wellposed.network.chain_verify.verify_chain_certificate`).
    """
    from ..closedness import decide_closedness
    from ..closedness.budget import BASE, Budget, z3_check
    from ..formulas.chain_sentences import chain_membership_query

    rlimit = z3_rlimit if z3_rlimit is not None else Budget(effort).count("query_rlimit")
    reduced_product_order = list(reversed(red.masks))
    tried: set[bytes] = set()
    for r in _restrictions(red, candidates):
        verdict = decide_closedness(r.pattern, backend=backend, effort=effort, use_qe=False)
        cert = verdict.certificate
        if verdict.closed is not False or cert is None:
            continue
        curves = _curves(r, cert)
        try:
            limit = _expand([curves[0], curves[1], curves[2]])
        except CertificateError:
            continue
        key = repr(sorted(limit.items())).encode()
        if not limit or key in tried:
            continue
        tried.add(key)
        answer = z3_check(chain_membership_query(reduced_product_order, limit), rlimit).answer
        if answer.value != "false":
            continue
        factors: dict[int, _Sparse] = {}
        for node, curve in zip(red.nodes, (curves[0], curves[1], curves[2]), strict=True):
            factors.update(_split_merged(node, curve))
        shape = (ms[-1].shape[0], ms[0].shape[1])
        _verify_factor_curve(ms, factors, [[limit.get((i, j), Fraction(0)) for j in range(shape[1])]
                                           for i in range(shape[0])])
        record = {**_record(ms, factors, limit, shape),
                  "proof": {"kind": "chain-membership-unsat", "rlimit": BASE["verify_rlimit"]},
                  "found_by": {"restriction": ["W1", "W2", "W3"][r.fixed] + " of the reduced chain fixed to "
                               + _mask_text(r.const),
                               "pair_method": verdict.method, "reduced_groups": [list(g) for g in red.groups]}}
        from .chain_verify import verify_chain_certificate

        record["verified"] = verify_chain_certificate(ms, record)
        return record
    return None


def _mask_text(c: np.ndarray) -> str:
    return "[" + ", ".join("".join("1" if v else "0" for v in row) for row in c) + "]"


# ------------------------------------------------------------------------------------------ QE
@dataclass(frozen=True)
class ChainQE:
    """The chain QE stage's answer: ``closed`` True/False/None, the sentences run and their answers."""

    closed: bool | None
    answers: tuple[tuple[str, str], ...]
    rlimit: int
    note: str


def chain_qe(ms: Sequence[np.ndarray], *, effort: float = 1.0, timeout: float | None = None,
             max_variables: int = CHAIN_QE_MAX_VARIABLES,
             progress: Callable[[int, int], None] | None = None) -> ChainQE:
    """Decide closedness of ``{W_L ⋯ W_1}`` by the chain closedness sentences, each given to z3 (nlqsat) in a
    fresh process under the counted budget of one QE sentence (``qe_rlimit`` and ``qe_allocations`` scaled by
    ``effort``): closed when every sentence is false, not closed at the first true one, undecided once
    ``qe_unknown_sentences`` sentences ran out of budget (or the chain is too large for the stage)."""
    from ..backends.z3_backend import Z3Backend
    from ..closedness.budget import Budget
    from ..formulas.chain_sentences import chain_closedness_sentences

    factors = list(reversed(ms))
    single = chain_closedness_sentences(factors, zero_patterns=False)
    if not single:
        return ChainQE(True, (), 0, "the boolean product is zero: P = {0}")
    if single[0].num_variables > max_variables:
        return ChainQE(None, (), 0, f"the chain sentence has {single[0].num_variables} variables, above the QE "
                       f"stage's limit of {max_variables}")
    budget = Budget(effort)
    backend = Z3Backend().limited(effort)
    sentences = chain_closedness_sentences(factors)
    answers: list[tuple[str, str]] = []
    unknown = 0
    for done, s in enumerate(sentences, start=1):
        d = backend.decide(s, timeout)
        answers.append((s.name, d.answer.value))
        if progress is not None:
            progress(done, len(sentences))
        if d.answer.value == "true":
            return ChainQE(False, tuple(answers), budget.count("qe_rlimit"),
                           f"z3 (nlqsat) proves the sentence {s.name} true")
        if not d.answer.decided:
            unknown += 1
            if unknown >= budget.count("qe_unknown_sentences"):
                return ChainQE(None, tuple(answers), budget.count("qe_rlimit"),
                               f"{unknown} sentence(s) ran out of the counted z3 budget")
    if unknown:
        return ChainQE(None, tuple(answers), budget.count("qe_rlimit"),
                       f"{unknown} sentence(s) ran out of the counted z3 budget")
    return ChainQE(True, tuple(answers), budget.count("qe_rlimit"),
                   f"z3 (nlqsat) proves all {len(sentences)} sentences false")


# ------------------------------------------------------------------------------------------ determinantal
def vanishing_minors(ms: Sequence[np.ndarray], max_side: int = 4) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The square minors ``(rows, cols)`` (size ≥ 2) of ``W_L ⋯ W_1`` that vanish identically as polynomials in
    the allowed entries (sympy expansion of the symbolic product), i.e. on every product; rows and columns are
    those of the product. Products with more than ``max_side`` rows and columns are not looked at (empty list).

    >>> vanishing_minors([np.ones((1, 2), bool), np.ones((2, 1), bool)])
    [((0, 1), (0, 1))]
    """
    import itertools

    import sympy

    if min(ms[-1].shape[0], ms[0].shape[1]) > max_side:
        return []
    prod = None
    for ell, m in enumerate(ms, start=1):
        w = sympy.Matrix([[sympy.Symbol(f"w{ell}_{i}_{j}") if m[i, j] else sympy.Integer(0)
                           for j in range(m.shape[1])] for i in range(m.shape[0])])
        prod = w if prod is None else w * prod
    assert prod is not None  # at least one mask
    rows, cols = prod.shape
    out = []
    for size in range(2, min(rows, cols) + 1):
        for r in itertools.combinations(range(rows), size):
            for c in itertools.combinations(range(cols), size):
                if sympy.expand(prod.extract(list(r), list(c)).det(method="berkowitz")) == 0:
                    out.append((r, c))
    return out


@dataclass(frozen=True)
class ChainDeterminantal:
    """The determinantal stage's answer: ``closed`` True (``P = D``) or None, the minors and z3's answer."""

    closed: bool | None
    minors: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    answer: str
    rlimit: int


def chain_determinantal(ms: Sequence[np.ndarray], *, effort: float = 1.0, max_minors: int = 64) -> ChainDeterminantal:
    """Is ``P`` the closed set ``D`` of matrices on the boolean product whose identically vanishing minors
    (:func:`vanishing_minors`) vanish? ``P ⊆ D`` always; z3 (fresh process, counted ``determinantal_rlimit``
    and ``determinantal_allocations`` scaled by ``effort``) answering unsat to ``∃A ∈ D ∀X: W_L⋯W_1 ≠ A``
    (:func:`~wellposed.formulas.chain_sentences.chain_determinantal_query`) proves ``D ⊆ P``: then ``P = D`` is
    closed. Any other answer, more than ``max_minors`` minors, or more than ``CHAIN_QE_MAX_VARIABLES`` allowed
    entries (the variables of the inner block) leaves it undecided (docs/chains.md §5)."""
    from ..closedness.budget import Budget, z3_decide
    from ..formulas.chain_sentences import chain_determinantal_query

    budget = Budget(effort)
    rlimit = budget.count("determinantal_rlimit")
    entries = sum(int(m.sum()) for m in ms)
    if entries > CHAIN_QE_MAX_VARIABLES:
        return ChainDeterminantal(None, (), f"not asked ({entries} allowed entries, above {CHAIN_QE_MAX_VARIABLES})",
                                  rlimit)
    minors = tuple(vanishing_minors(ms))
    if len(minors) > max_minors:
        return ChainDeterminantal(None, minors, "not asked (too many minors)", rlimit)
    query = chain_determinantal_query(list(reversed(ms)), minors)
    answer = z3_decide(query, rlimit, budget.count("determinantal_allocations"))
    return ChainDeterminantal(True if answer.value == "false" else None, minors, answer.value, rlimit)
