"""Sparse networks before training: layer masks, consecutive two-factor splits, the L-factor linear set.

A network with weight masks ``M_1, …, M_L`` (``M_ℓ`` is ``out_ℓ × in_ℓ``, the torch ``Linear.weight``
layout, first layer first) computes through ``W_L ⋯ W_1`` with ``supp W_ℓ ⊆ M_ℓ``. Its *linear set* is
``P = {W_L ⋯ W_1}``. The two-factor pattern of the pair ``(W_{ℓ+1}, W_ℓ)`` is ``X = W_{ℓ+1}`` (mask
``M_{ℓ+1}``) and ``Yᵀ = W_ℓ`` (``y_support = M_ℓᵀ``), with ``r = out_ℓ`` the hidden width.

What is proven about ``P`` and how (see ``docs/networks.md`` for the proofs):

* **Linear merge (exact).** If every class of identical rank-one supports of a consecutive pair is
  complete, the set of products of that pair is the linear space of matrices supported on the boolean
  product of the two masks; the pair is replaced by one free factor with that mask. Partial permutation
  masks (identity, diagonal, permutations) always merge. The merged chain has *the same* linear set.
* **Two factors left.** Then ``P`` is a two-factor set: its closedness verdict (with certificate) is
  the one of :func:`wellposed.closedness.decide_closedness`; a not-closed certificate is lifted to an
  explicit curve of the original ``L`` factors and re-verified with exact arithmetic.
* **Chainable Kronecker-sparse chains** are closed (Le, Zheng, Riccietti, Gribonval, arXiv:2411.04506).
* Anything else is reported as undecided ("open"). Boolean products of masks are only an upper bound
  of the supports of partial products, so the consecutive *splits* of a deep network are reported for
  tractability only, never as a closedness verdict about ``P``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .classify import Classification, classify
from .closedness.certificates import LimitMatrix
from .errors import CertificateError, InvalidSupportError
from .kronecker import KSPattern, is_chainable
from .support import SupportPattern, as_mask, check_memory, count_product

__all__ = [
    "LayerInfo",
    "PairReport",
    "SplitReport",
    "ChainReduction",
    "LinearSetVerdict",
    "ReluReport",
    "NetworkReport",
    "validate_masks",
    "bool_product",
    "layer_info",
    "pair_pattern",
    "reduce_chain",
    "ks_chain",
    "linear_set_verdict",
    "relu_report",
    "analyze_network",
    "LINEAR_SET_METHODS",
    "RELU_REFERENCE",
    "KS_REFERENCE",
]

RELU_REFERENCE = ("Q.-T. Le, E. Riccietti, R. Gribonval, Does a sparse ReLU network training problem always "
                  "admit an optimum? NeurIPS 2023 (arXiv:2306.02666)")
KS_REFERENCE = ("Q.-T. Le, L. Zheng, E. Riccietti, R. Gribonval, Butterfly factorization with error "
                "guarantees (arXiv:2411.04506)")

#: Methods a linear-set verdict may carry, with their meaning.
LINEAR_SET_METHODS: dict[str, str] = {
    "trivial:zero-factor": "a factor (or a merged block) has an empty mask: P = {0}",
    "reduction:linear": "exact linear merges leave one factor: P is a linear space of matrices",
    "reduction:two-factor": "exact linear merges leave two factors: P is that two-factor set",
    "theorem:ks-chainable": "chainable Kronecker-sparse chain: closed (" + KS_REFERENCE + ")",
    "undecided": "no rule applies: open",
}

#: Pairs with more than this many entries ``m·n·r`` would skip the closedness engine (None: no limit; the
#: engine's stages scale with the size of the masks, and its solver stages are bounded by counts).
DEFAULT_ENGINE_LIMIT: int | None = None


# ---------------------------------------------------------------- masks
def validate_masks(masks: Any, names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Check a list of layer masks (first layer first, each ``out × in``) and return read-only bool arrays.

    Raises :class:`InvalidSupportError` naming the layer if a mask is not a 2-D 0/1 array or if
    consecutive shapes do not chain (``in`` of layer ℓ+1 must equal ``out`` of layer ℓ).

    Examples
    --------
    >>> [m.shape for m in validate_masks([np.ones((3, 2)), np.ones((1, 3))])]
    [(3, 2), (1, 3)]
    >>> validate_masks([np.ones((3, 2)), np.ones((1, 4))])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: masks do not chain: layer 2 ('masks[1]') has shape (1, 4) = \
(out, in), so it expects 4 inputs, but layer 1 ('masks[0]') has 3 outputs (shape (3, 2)); give the \
masks first layer first, each as out × in (the torch Linear.weight layout), or transpose the offending one.
    """
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        masks = [masks]
    if isinstance(masks, (str, bytes)) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise InvalidSupportError(
            f"masks = {masks!r:.80} must be a non-empty list of 2-D 0/1 arrays (first layer first, each "
            "out × in)."
        )
    if names is None:
        names = [f"masks[{i}]" for i in range(len(masks))]
    elif len(names) != len(masks):
        raise InvalidSupportError(f"names has {len(names)} entries for {len(masks)} masks; give one per layer.")
    out = [as_mask(m, str(name)) for m, name in zip(masks, names, strict=True)]
    for ell in range(1, len(out)):
        prev, cur = out[ell - 1], out[ell]
        if cur.shape[1] != prev.shape[0]:
            raise InvalidSupportError(
                f"masks do not chain: layer {ell + 1} ({names[ell]!r}) has shape {cur.shape} = (out, in), so "
                f"it expects {cur.shape[1]} inputs, but layer {ell} ({names[ell - 1]!r}) has {prev.shape[0]} "
                f"outputs (shape {prev.shape}); give the masks first layer first, each as out × in (the torch "
                "Linear.weight layout), or transpose the offending one."
            )
    return out


def bool_product(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean product ``M_L ⋯ M_1`` of masks given first layer first.

    It contains the support of every product ``W_L ⋯ W_1`` (an upper bound: cancellations aside,
    it is the support of a generic product).

    >>> bool_product([np.eye(2, dtype=bool), np.array([[1, 1]], bool)]).astype(int).tolist()
    [[1, 1]]
    """
    if len(masks) == 0:
        raise InvalidSupportError("bool_product needs at least one mask.")
    acc = np.asarray(masks[0], dtype=bool)
    for m in masks[1:]:
        acc = _bool_matmul(np.asarray(m, dtype=bool), acc)
    return acc


def _bool_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean ``a @ b``: sparse when the work ``Σ_k |col_k(a)| |row_k(b)|`` is well below the dense
    BLAS product's, else BLAS on 0/1 floats (exact); memory checked before allocating."""
    sparse_work = int(a.sum(axis=0, dtype=np.int64) @ b.sum(axis=1, dtype=np.int64))
    if 40 * sparse_work >= a.shape[0] * a.shape[1] * b.shape[1]:
        return count_product(a, b, "the boolean product of layer masks") > 0
    from scipy import sparse

    check_memory(12 * sparse_work + a.shape[0] * b.shape[1], "the boolean product of layer masks",
                 f"masks of shapes {a.shape} and {b.shape}", "Use smaller layers")
    product = sparse.csr_matrix(a, dtype=np.int32) @ sparse.csr_matrix(b, dtype=np.int32)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=bool)
    coo = product.tocoo()
    out[coo.row, coo.col] = True
    return out


def pair_pattern(later: np.ndarray, earlier: np.ndarray, name: str = "") -> SupportPattern:
    """The two-factor pattern of ``W_later · W_earlier``: ``x_support = later``, ``y_support = earlierᵀ``.

    >>> pair_pattern(np.tril(np.ones((2, 2))), np.triu(np.ones((2, 2)))).canonical_key()
    '2x2x2:01.11|01.11'
    """
    return SupportPattern(np.asarray(later, bool), np.asarray(earlier, bool).T, name=name)


# ---------------------------------------------------------------- per layer
@dataclass(frozen=True)
class LayerInfo:
    """Shape and sparsity of one layer mask (``out × in``); indices are 0-based neurons."""

    index: int
    name: str
    shape: tuple[int, int]
    nnz: int
    empty_rows: tuple[int, ...]
    empty_cols: tuple[int, ...]
    partial_permutation: bool

    @property
    def density(self) -> float:
        """Fraction of allowed entries."""
        return self.nnz / (self.shape[0] * self.shape[1])

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.index, "name": self.name, "shape": list(self.shape), "nnz": self.nnz,
                "density": round(self.density, 6), "empty_rows": list(self.empty_rows),
                "empty_cols": list(self.empty_cols), "partial_permutation": self.partial_permutation}


def layer_info(mask: np.ndarray, index: int, name: str = "") -> LayerInfo:
    """Per-layer facts: empty rows are output neurons without inputs, empty columns unused inputs.

    >>> layer_info(np.array([[1, 0], [0, 0]], bool), 1).to_json()["empty_rows"]
    [1]
    """
    m = np.asarray(mask, dtype=bool)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    return LayerInfo(index, name, (int(m.shape[0]), int(m.shape[1])), int(m.sum()),
                     tuple(int(i) for i in np.flatnonzero(rows == 0)),
                     tuple(int(j) for j in np.flatnonzero(cols == 0)),
                     bool((rows <= 1).all() and (cols <= 1).all()))


# ---------------------------------------------------------------- chain reduction
@dataclass(frozen=True)
class _Node:
    """A factor of the reduced chain: an original layer, or the merge of two adjacent factors."""

    mask: np.ndarray
    layers: tuple[int, ...]  # 1-based original layers, first applied first
    later: _Node | None = None
    earlier: _Node | None = None


def _classified(pattern: SupportPattern, cache: dict[SupportPattern, Classification] | None) -> Classification:
    """``classify(pattern)``, computed once per distinct pattern when a cache is given."""
    if cache is None:
        return classify(pattern)
    if pattern not in cache:
        cache[pattern] = classify(pattern)
    return cache[pattern]


def _all_complete(later: np.ndarray, earlier: np.ndarray,
                  cache: dict[SupportPattern, Classification] | None = None) -> bool:
    """Is the product set of the pair linear by the complete-classes rule?"""
    p = pair_pattern(later, earlier)
    if p.is_trivial():
        return True
    return bool(_classified(p, cache).classes.complete.all())


@dataclass(frozen=True)
class ChainReduction:
    """Result of exact linear merges: the remaining factors (as groups of original layers) and the steps."""

    groups: tuple[tuple[int, ...], ...]
    masks: tuple[np.ndarray, ...]
    steps: tuple[str, ...]
    nodes: tuple[_Node, ...] = field(repr=False, default=())

    @property
    def length(self) -> int:
        """Number of factors left."""
        return len(self.groups)


def reduce_chain(masks: Sequence[np.ndarray], *,
                 _cache: dict[SupportPattern, Classification] | None = None) -> ChainReduction:
    """Merge adjacent factors whose product set is a linear space, until none is left; same linear set.

    Parameters
    ----------
    masks : list of bool arrays
        First layer first, each ``out × in`` (validated by :func:`validate_masks`).

    Returns
    -------
    ChainReduction
        ``groups[k]`` lists the original layers (1-based) merged into factor k; ``masks[k]`` its mask.

    Examples
    --------
    >>> up, eye = np.triu(np.ones((3, 3), bool)), np.eye(3, dtype=bool)
    >>> reduce_chain([eye, up, up.T, eye]).groups
    ((1, 2), (3, 4))

    Notes
    -----
    Rule: for the pair ``(W_b, W_a)`` with pattern ``x = M_b``, ``y = M_aᵀ``, if every class of identical
    rank-one supports is complete, ``{W_b W_a}`` is the sum of the full spaces on the class rectangles,
    i.e. every matrix supported on ``bool(M_b M_a)``. At most ``L - 1`` merges, each pass ``O(L)``
    classifications: ``O(L²)`` Gram products in the worst case.
    """
    nodes = [_Node(np.asarray(m, dtype=bool), (ell + 1,)) for ell, m in enumerate(masks)]
    steps: list[str] = []
    changed = True
    while changed and len(nodes) > 1:
        changed = False
        for k in range(len(nodes) - 1):
            a, b = nodes[k], nodes[k + 1]
            if _all_complete(b.mask, a.mask, _cache):
                merged = _Node(bool_product([a.mask, b.mask]), a.layers + b.layers, later=b, earlier=a)
                steps.append(
                    f"layers {_span(a.layers)} and {_span(b.layers)}: every class of identical rank-one supports "
                    f"of the pair is complete, so their products are exactly the matrices supported on the "
                    f"boolean product ({merged.mask.shape[0]}×{merged.mask.shape[1]}, {int(merged.mask.sum())} "
                    "entries): merged into one free factor"
                )
                nodes[k:k + 2] = [merged]
                changed = True
                break
    return ChainReduction(tuple(n.layers for n in nodes), tuple(n.mask for n in nodes), tuple(steps),
                          tuple(nodes))


def _span(layers: tuple[int, ...]) -> str:
    return str(layers[0]) if len(layers) == 1 else f"{layers[0]}–{layers[-1]}"


# ---------------------------------------------------------------- Kronecker-sparse chains
def _ks_representations(mask: np.ndarray) -> list[KSPattern]:
    """All patterns ``(a, b, c, d)`` with ``mask == I_a ⊗ 1_{b×c} ⊗ I_d`` exactly.

    The mask is one exactly when it has ``a b c d`` nonzeros and each nonzero ``(i, j)`` has the same
    block index (``i // (b d) == j // (c d)``) and the same position inside the identity
    (``i % d == j % d``): the Kronecker mask holds exactly ``a b c d`` such entries. ``O(nnz)`` per
    candidate, no mask built.
    """
    rows, cols = mask.shape
    ii, jj = np.nonzero(mask)
    nnz = int(ii.size)
    out = []
    g = math.gcd(rows, cols)
    for a in range(1, g + 1):
        if g % a:
            continue
        g2 = math.gcd(rows // a, cols // a)
        for d in range(1, g2 + 1):
            if g2 % d:
                continue
            b, c = rows // (a * d), cols // (a * d)
            if a * b * c * d == nnz and np.array_equal(ii // (b * d), jj // (c * d)) \
                    and np.array_equal(ii % d, jj % d):
                out.append(KSPattern(a, b, c, d))
    return out


def ks_chain(masks: Sequence[np.ndarray]) -> list[KSPattern] | None:
    """A chainable Kronecker-sparse chain matching the masks exactly, leftmost factor (``W_L``) first.

    Each mask may have several ``(a, b, c, d)`` representations (the identity is ``(n,1,1,1)`` and
    ``(1,1,1,n)``); a chainable choice is searched by dynamic programming over the chain.

    Examples
    --------
    >>> from wellposed.kronecker import dyadic_butterfly
    >>> chain = dyadic_butterfly(8)  # leftmost factor first
    >>> [str(p) for p in ks_chain([p.mask() for p in reversed(chain)])]
    ['(1,2,2,4)', '(2,2,2,2)', '(4,2,2,1)']
    >>> ks_chain([np.tril(np.ones((2, 2), bool))]) is None
    True
    """
    order = [np.asarray(m, dtype=bool) for m in reversed(masks)]  # product order K_1 = W_L, ...
    reps = [_ks_representations(m) for m in order]
    if any(not r for r in reps):
        return None
    # back[k][p] = predecessor representation reaching p at factor k through chainable pairs
    reach: list[dict[KSPattern, KSPattern | None]] = [dict.fromkeys(reps[0])]
    for k in range(1, len(reps)):
        cur: dict[KSPattern, KSPattern | None] = {}
        for q in reps[k]:
            for p in reach[-1]:
                if is_chainable((p, q)):
                    cur[q] = p
                    break
        if not cur:
            return None
        reach.append(cur)
    chain = [next(iter(reach[-1]))]
    for k in range(len(reps) - 1, 0, -1):
        prev = reach[k][chain[-1]]
        assert prev is not None  # every entry past the first has a predecessor
        chain.append(prev)
    return chain[::-1]


# ---------------------------------------------------------------- certificate lifting
_Poly = dict[int, Fraction]
_Sparse = dict[tuple[int, int], _Poly]


def _split_merged(node: _Node, value: _Sparse) -> dict[int, _Sparse]:
    """Write a matrix supported on ``node.mask`` as an exact product of its original layers."""
    if node.later is None or node.earlier is None:
        return {node.layers[0]: value}
    b_mask, a_mask = node.later.mask, node.earlier.mask
    classes = classify(pair_pattern(b_mask, a_mask)).classes
    wb: _Sparse = {}
    wa: _Sparse = {}
    one: _Poly = {0: Fraction(1)}
    for (i, j), poly in value.items():
        cls = next((c for c in classes if i in c.rows and j in c.cols), None)
        if cls is None or not cls.complete:
            raise CertificateError(f"entry ({i}, {j}) of a merged factor lies outside its complete classes.")
        if cls.size >= len(cls.rows):
            k = cls.components[cls.rows.index(i)]
            wb[(i, k)] = one
            wa[(k, j)] = _add(wa.get((k, j), {}), poly)
        else:
            k = cls.components[cls.cols.index(j)]
            wa[(k, j)] = one
            wb[(i, k)] = _add(wb.get((i, k), {}), poly)
    out = _split_merged(node.earlier, wa)
    out.update(_split_merged(node.later, wb))
    return out


def _add(p: _Poly, q: _Poly) -> _Poly:
    out = dict(p)
    for e, c in q.items():
        out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c != 0}


def _matmul(left: _Sparse, right: _Sparse) -> _Sparse:
    """Exact product of sparse Laurent matrices (plain loops: a verifier, not a kernel)."""
    by_row: dict[int, list[tuple[int, _Poly]]] = {}
    for (k, j), p in right.items():
        by_row.setdefault(k, []).append((j, p))
    out: _Sparse = {}
    for (i, k), p in left.items():
        for j, q in by_row.get(k, []):
            cell = out.setdefault((i, j), {})
            for e1, c1 in p.items():
                for e2, c2 in q.items():
                    cell[e1 + e2] = cell.get(e1 + e2, Fraction(0)) + c1 * c2
    return {ij: {e: c for e, c in cell.items() if c != 0} for ij, cell in out.items()}


def _verify_factor_curve(masks: Sequence[np.ndarray], factors: Mapping[int, _Sparse],
                         limit: Sequence[Sequence[Fraction]]) -> None:
    """Check supports and ``W_L(ε) ⋯ W_1(ε) = A* + O(ε)`` exactly; raise :class:`CertificateError`."""
    for ell, mask in enumerate(masks, start=1):
        for (i, j) in factors.get(ell, {}):
            if not (0 <= i < mask.shape[0] and 0 <= j < mask.shape[1] and mask[i, j]):
                raise CertificateError(f"curve entry W_{ell}[{i},{j}] is outside the mask of layer {ell}.")
    prod = factors.get(1, {})
    for ell in range(2, len(masks) + 1):
        prod = _matmul(factors.get(ell, {}), prod)
    target = LimitMatrix.from_any(limit, (masks[-1].shape[0], masks[0].shape[1]))
    for i, j in sorted(set(prod) | set(target.entries)):  # elsewhere both sides are 0
        terms = prod.get((i, j), {})
        neg = {e: c for e, c in terms.items() if e < 0}
        if neg:
            raise CertificateError(f"entry ({i}, {j}) of the product keeps negative powers of ε: {neg}.")
        if terms.get(0, Fraction(0)) != target.value(i, j):
            raise CertificateError(f"entry ({i}, {j}): constant term {terms.get(0, 0)} ≠ limit {target.value(i, j)}.")


def _fmt(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _lift_certificate(masks: Sequence[np.ndarray], red: ChainReduction, cert: Any) -> dict[str, Any]:
    """Lift a two-factor not-closed certificate to the original layers and re-verify it."""
    earlier, later = red.nodes
    wb: _Sparse = {(i, k): dict(p) for (i, k), p in cert.x_curve.items()}
    wa: _Sparse = {(k, j): dict(p) for (j, k), p in cert.y_curve.items()}
    factors = _split_merged(earlier, wa)
    factors.update(_split_merged(later, wb))
    _verify_factor_curve(masks, factors, cert.limit)
    summary = cert.verify(z3_check=False) if cert.proof.get("kind") == "private-minor" else cert.verify()
    pair = cert.to_json()
    return {
        **{key: pair[key] for key in ("limit", "limit_entries") if key in pair},
        "factors": {str(ell): [{"row": i, "col": j, "terms": [[e, _fmt(c)] for e, c in sorted(p.items())]}
                               for (i, j), p in sorted(factors.get(ell, {}).items())]
                    for ell in range(1, len(masks) + 1)},
        "pair_certificate": pair,
        "verified": {"curve": "ok (exact product of the L factor curves)", "pair_proof": summary.get("proof"),
                     "z3": summary.get("z3")},
    }


# ---------------------------------------------------------------- the linear set
@dataclass(frozen=True)
class LinearSetVerdict:
    """Is ``P = {W_L ⋯ W_1}`` closed? ``closed`` is True/False/None (open), with method and evidence."""

    closed: bool | None
    method: str
    reason: str
    reduced_groups: tuple[tuple[int, ...], ...]
    steps: tuple[str, ...]
    pair_verdict: dict[str, Any] | None = None
    ks_chain: tuple[KSPattern, ...] | None = None
    certificate: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.method not in LINEAR_SET_METHODS:
            raise ValueError(f"method = {self.method!r} is not one of {sorted(LINEAR_SET_METHODS)}.")
        if self.closed is False and self.certificate is None:
            raise ValueError("a not-closed linear-set verdict needs a lifted certificate.")

    def to_json(self) -> dict[str, Any]:
        return {"closed": self.closed, "method": self.method, "reason": self.reason,
                "reduced_groups": [list(g) for g in self.reduced_groups], "steps": list(self.steps),
                "pair_verdict": self.pair_verdict,
                "ks_chain": [list(p.abcd) for p in self.ks_chain] if self.ks_chain is not None else None,
                "certificate": self.certificate}


def _check_budget(effort: Any, timeout: Any) -> None:
    """Validate the closedness budget options on entry (InvalidSupportError names the parameter)."""
    from .closedness.budget import Budget
    from .errors import InvalidSpecError

    try:
        Budget(effort, timeout)
    except InvalidSpecError as exc:
        raise InvalidSupportError(str(exc)) from None


def _decide_pair(pattern: SupportPattern, *, closedness: bool, backend: str, timeout: float | None, use_qe: bool,
                 engine_limit: int | None, memo: dict[SupportPattern, tuple[dict[str, Any], Any]] | None = None,
                 effort: float = 1.0, cache: dict[SupportPattern, Classification] | None = None,
                 ) -> tuple[dict[str, Any], Any]:
    """Closedness of a two-factor pattern: (verdict JSON, verdict object or None); memoized per report."""
    if memo is not None:
        if pattern not in memo:
            memo[pattern] = _decide_pair(pattern, closedness=closedness, backend=backend, timeout=timeout,
                                         use_qe=use_qe, engine_limit=engine_limit, effort=effort, cache=cache)
        return memo[pattern]
    c = _classified(pattern, cache)
    if c.tractable:  # the cheap closed certificate of the engine's first stage, without its canonical keys
        return {"closed": True, "closed_method": f"theorem:{c.method}",
                "closed_reason": "tractable support (" + c.method + "): P is a zero pattern plus rank bounds "
                "on disjoint blocks, hence closed", "certificate": None}, None
    if not closedness:
        return {"closed": None, "closed_method": "undecided",
                "closed_reason": "not tractable, and the closedness engine was not requested",
                "certificate": None}, None
    if engine_limit is not None and pattern.m * pattern.n * pattern.r > engine_limit:
        return {"closed": None, "closed_method": "undecided",
                "closed_reason": f"m·n·r = {pattern.m * pattern.n * pattern.r} exceeds engine_limit = "
                f"{engine_limit} and no tractability theorem applies; raise engine_limit to run the full "
                "closedness engine", "certificate": None}, None
    try:
        from .closedness import decide_closedness
    except ImportError:
        return {"closed": None, "closed_method": "undecided",
                "closed_reason": "the closedness engine (wellposed.closedness.decide_closedness) is not available",
                "certificate": None}, None
    verdict = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout, use_qe=use_qe,
                                classification=c)
    rec = verdict.to_json()
    return {k: rec.get(k) for k in ("closed", "closed_method", "closed_reason", "certificate")}, verdict


def linear_set_verdict(
    masks: Sequence[np.ndarray],
    *,
    closedness: bool = True,
    backend: str = "z3",
    effort: float = 1.0,
    timeout: float | None = None,
    use_qe: bool = True,
    engine_limit: int | None = DEFAULT_ENGINE_LIMIT,
    _memo: dict[SupportPattern, tuple[dict[str, Any], Any]] | None = None,
    _cache: dict[SupportPattern, Classification] | None = None,
) -> LinearSetVerdict:
    """Decide whether the linear set ``{W_L ⋯ W_1 : supp W_ℓ ⊆ M_ℓ}`` is closed, with evidence.

    Parameters
    ----------
    masks : list of 0/1 arrays
        First layer first, each ``out × in``.
    closedness : bool
        Run the two-factor closedness engine when two factors are left and no tractability theorem
        applies (else those cases stay open).
    backend, effort, timeout, use_qe
        Passed to :func:`wellposed.closedness.decide_closedness` (counted budgets scaled by ``effort``;
        ``timeout`` is an optional wall-clock cap per pair, off by default).
    engine_limit : int or None
        Pairs with ``m·n·r`` above this use the tractability theorems only (default None: every pair
        goes through the engine, whose cost follows the masks).

    Returns
    -------
    LinearSetVerdict

    Examples
    --------
    >>> from wellposed.kronecker import KSPattern
    >>> bf = [KSPattern(*p).mask() for p in [(4, 2, 2, 1), (2, 2, 2, 2), (1, 2, 2, 4)]]
    >>> v = linear_set_verdict(bf)
    >>> v.closed, v.method
    (True, 'theorem:ks-chainable')

    Notes
    -----
    Cost: the reduction (``O(L²)`` pair classifications), a dynamic program over Kronecker-sparse
    representations (``O(L · σ(gcd)²)`` mask comparisons) and at most one closedness-engine call.
    """
    ms = validate_masks(masks)
    _check_budget(effort, timeout)
    if any(not m.any() for m in ms):
        zero = next(ell for ell, m in enumerate(ms, start=1) if not m.any())
        return LinearSetVerdict(True, "trivial:zero-factor", f"layer {zero} has an empty mask: P = {{0}}",
                                tuple((ell,) for ell in range(1, len(ms) + 1)), ())
    red = reduce_chain(ms, _cache=_cache)
    if any(not m.any() for m in red.masks):
        return LinearSetVerdict(True, "trivial:zero-factor", "a merged block has an empty boolean product: P = {0}",
                                red.groups, red.steps)
    if red.length == 1:
        return LinearSetVerdict(True, "reduction:linear",
                                "the exact merges leave one free factor: P is the linear space of matrices "
                                "supported on the boolean product of the masks, hence closed", red.groups, red.steps)
    chain = ks_chain(ms) or ks_chain(list(red.masks))
    if chain is not None:
        return LinearSetVerdict(True, "theorem:ks-chainable",
                                "the masks form a chainable Kronecker-sparse chain "
                                f"{' · '.join(str(p.abcd) for p in chain)}: the set of products is closed "
                                f"({KS_REFERENCE})",
                                red.groups, red.steps, ks_chain=tuple(chain))
    if red.length == 2:
        pattern = pair_pattern(red.masks[1], red.masks[0], name="reduced pair")
        rec, verdict = _decide_pair(pattern, closedness=closedness, backend=backend, timeout=timeout, effort=effort,
                                    use_qe=use_qe, engine_limit=engine_limit, memo=_memo, cache=_cache)
        where = f"layers {_span(red.groups[0])} | {_span(red.groups[1])}"
        if rec["closed"] is True:
            return LinearSetVerdict(True, "reduction:two-factor",
                                    f"P equals the two-factor set of {where}, which is closed: {rec['closed_reason']}",
                                    red.groups, red.steps, pair_verdict=rec)
        if rec["closed"] is False and verdict is not None and verdict.certificate is not None:
            lifted = _lift_certificate(ms, red, verdict.certificate)
            return LinearSetVerdict(False, "reduction:two-factor",
                                    f"P equals the two-factor set of {where}, which is not closed "
                                    f"({rec['closed_method']}); the limit matrix is reached by an explicit "
                                    "curve of the original factors (verified exactly) and lies outside P",
                                    red.groups, red.steps, pair_verdict=rec, certificate=lifted)
        return LinearSetVerdict(None, "undecided",
                                f"P equals the two-factor set of {where}, whose closedness is undecided: "
                                f"{rec['closed_reason']}", red.groups, red.steps, pair_verdict=rec)
    return LinearSetVerdict(None, "undecided",
                            f"{red.length} factors remain after the exact merges and they do not form a chainable "
                            "Kronecker-sparse chain; no proven rule decides closedness of such products",
                            red.groups, red.steps)


# ---------------------------------------------------------------- ReLU report
@dataclass(frozen=True)
class ReluReport:
    """Well-posedness of training the sparse ReLU network: ``status`` is "well-posed", "ill-posed" or "open"."""

    status: str
    proven: tuple[str, ...]
    open: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "proven": list(self.proven), "open": list(self.open),
                "reference": RELU_REFERENCE}


def relu_report(shapes: Sequence[tuple[int, int]], linear: LinearSetVerdict) -> ReluReport:
    """What is proven about training the ReLU network with these masks, and what is open.

    >>> v = LinearSetVerdict(True, "reduction:linear", "", ((1, 2),), ())
    >>> relu_report([(5, 3), (1, 5)], v).status
    'well-posed'
    """
    n_layers = len(shapes)
    out_dim = shapes[-1][0]
    proven: list[str] = []
    open_: list[str] = []
    lin = {True: "closed", False: "not closed", None: "undecided"}[linear.closed]
    if n_layers == 1:
        proven.append("one layer, no hidden ReLU: the model set is a linear space of matrices (closed), so "
                      "least-squares training attains its minimum")
        return ReluReport("well-posed", tuple(proven), ())
    if n_layers == 2 and out_dim == 1:
        proven.append("one hidden layer and output dimension 1: every training problem of this sparse ReLU "
                      "network on a finite data set has a global optimum, whatever the masks (NeurIPS 2023)")
        proven.append(f"linear set: {lin} ({linear.method})")
        return ReluReport("well-posed", tuple(proven), ())
    if linear.closed is False:
        proven.append("the linear set {W_L ⋯ W_1} is not closed (certificate attached); closedness is "
                      "necessary for well-posedness, so some finite data set makes training this ReLU network "
                      "have no optimum (NeurIPS 2023)")
        return ReluReport("ill-posed", tuple(proven), ())
    if linear.closed is True:
        proven.append(f"the necessary condition holds: the linear set is closed ({linear.method})")
        open_.append("whether every data set admits an optimum: closedness of the linear set is necessary, "
                     "not known to be sufficient, for networks with more than one hidden layer or more than one "
                     "output")
    else:
        open_.append("the necessary condition (closedness of the linear set) is undecided; see the linear-set "
                     "verdict for what was tried")
        open_.append("well-posedness of training for every data set")
    return ReluReport("open", tuple(proven), tuple(open_))


# ---------------------------------------------------------------- the full report
@dataclass(frozen=True)
class PairReport:
    """The exact two-factor sub-problem of adjacent layers ``(ℓ+1, ℓ)``: tractability and closedness."""

    layers: tuple[int, int]
    pattern: SupportPattern
    tractable: bool
    tractable_method: str
    tractable_reason: str
    closedness: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        p = self.pattern
        return {"layers": list(self.layers), "m": p.m, "n": p.n, "r": p.r, "tractable": self.tractable,
                "tractable_method": self.tractable_method, "tractable_reason": self.tractable_reason,
                **self.closedness}


@dataclass(frozen=True)
class SplitReport:
    """Tractability of the whole network split after layer ``s``, with boolean-product supports (upper bound)."""

    after_layer: int
    m: int
    n: int
    r: int
    tractable: bool
    tractable_method: str
    tractable_reason: str

    def to_json(self) -> dict[str, Any]:
        return {"after_layer": self.after_layer, "m": self.m, "n": self.n, "r": self.r,
                "tractable": self.tractable, "tractable_method": self.tractable_method,
                "tractable_reason": self.tractable_reason,
                "note": "supports of the partial products are upper-bounded by boolean products of the masks"}


@dataclass(frozen=True)
class NetworkReport:
    """Everything :func:`analyze_network` found, as JSON-ready pieces."""

    layers: tuple[LayerInfo, ...]
    pairs: tuple[PairReport, ...]
    splits: tuple[SplitReport, ...]
    linear_set: LinearSetVerdict
    relu: ReluReport
    dead_neurons: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        first, last = self.layers[0].shape, self.layers[-1].shape
        return {
            "num_layers": len(self.layers),
            "input_dim": first[1],
            "output_dim": last[0],
            "layers": [x.to_json() for x in self.layers],
            "pairs": [x.to_json() for x in self.pairs],
            "splits": [x.to_json() for x in self.splits],
            "dead_hidden_neurons": [list(t) for t in self.dead_neurons],
            "linear_set": self.linear_set.to_json(),
            "relu": self.relu.to_json(),
        }


def analyze_network(
    masks: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    closedness: bool = True,
    backend: str = "z3",
    effort: float = 1.0,
    timeout: float | None = None,
    use_qe: bool = True,
    engine_limit: int | None = DEFAULT_ENGINE_LIMIT,
) -> NetworkReport:
    """Analyze the layer masks of a sparse network before training.

    Parameters
    ----------
    masks : list of 0/1 arrays
        ``M_1, …, M_L``, first layer first, each ``out × in`` (torch ``Linear.weight`` layout).
    names : list of str, optional
        Layer names for messages and the report.
    closedness : bool
        Run the closedness engine on pairs that no tractability theorem decides (otherwise those
        pairs, and a linear set reduced to such a pair, are reported undecided).
    backend, effort, timeout, use_qe
        Passed to :func:`wellposed.closedness.decide_closedness` (counted budgets scaled by ``effort``;
        ``timeout`` is an optional wall-clock cap per pair, off by default).
    engine_limit : int or None
        Two-factor patterns with ``m·n·r`` above this are decided by the tractability theorems only
        (default None: no limit).

    Returns
    -------
    NetworkReport
        Per layer (shape, density, empty rows/columns), per adjacent pair (exact two-factor pattern,
        tractability, closedness), per split of the whole network (tractability, boolean-product supports),
        hidden neurons that can never carry signal, the linear-set verdict and the ReLU report.

    Examples
    --------
    >>> rep = analyze_network([np.ones((4, 3)), np.array([[1, 0, 1, 1]])])
    >>> rep.relu.status, rep.linear_set.closed
    ('well-posed', True)

    Notes
    -----
    Per pair: two Gram products ``O((m + n) r²)`` plus the closedness engine (bounded by ``timeout`` and
    ``engine_limit``); per split a boolean matrix product; the linear set as in :func:`linear_set_verdict`.
    """
    ms = validate_masks(masks, names)
    labels = list(names) if names is not None else [f"layer {ell}" for ell in range(1, len(ms) + 1)]
    _check_budget(effort, timeout)
    layers = tuple(layer_info(m, ell, labels[ell - 1]) for ell, m in enumerate(ms, start=1))
    memo: dict[SupportPattern, tuple[dict[str, Any], Any]] = {}  # the reduced pair is often an adjacent pair
    classified: dict[SupportPattern, Classification] = {}  # each distinct pair pattern is classified once
    pairs = []
    for ell in range(1, len(ms)):
        p = pair_pattern(ms[ell], ms[ell - 1], name=f"layers {ell + 1}·{ell}")
        c = _classified(p, classified)
        rec, _ = _decide_pair(p, closedness=closedness, backend=backend, timeout=timeout, effort=effort, use_qe=use_qe,
                              engine_limit=engine_limit, memo=memo, cache=classified)
        pairs.append(PairReport((ell, ell + 1), p, c.tractable, c.method, c.reason, rec))
    splits = []
    if len(ms) >= 3:  # products of the layers before and after each split, accumulated once each way
        before = [ms[0]]
        for m in ms[1:-1]:
            before.append(_bool_matmul(m, before[-1]))
        after = [ms[-1]]
        for m in reversed(ms[1:-1]):
            after.append(_bool_matmul(after[-1], m))
        for s in range(1, len(ms)):
            left, right = after[len(ms) - 1 - s], before[s - 1]
            c = classify(pair_pattern(left, right))
            splits.append(SplitReport(s, left.shape[0], right.shape[1], right.shape[0], c.tractable, c.method,
                                      c.reason))
    dead: list[tuple[int, int]] = []
    for ell in range(1, len(ms)):
        no_in = ~ms[ell - 1].any(axis=1)
        no_out = ~ms[ell].any(axis=0)
        dead.extend((ell, int(h)) for h in np.flatnonzero(no_in | no_out))
    linear = linear_set_verdict(ms, closedness=closedness, backend=backend, timeout=timeout, effort=effort,
                                use_qe=use_qe, engine_limit=engine_limit, _memo=memo, _cache=classified)
    relu = relu_report([layer.shape for layer in layers], linear)
    return NetworkReport(layers, tuple(pairs), tuple(splits), linear, relu, tuple(dead))
