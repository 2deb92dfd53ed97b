"""Is the linear set ``{W_L ⋯ W_1}`` of a sparse network closed? The verdict, its method and its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..backends.registry import DEFAULT_BACKEND
from ..classify import Classification
from ..errors import CertificateError
from ..kronecker import KSPattern
from ..support import SupportPattern
from .certificates import _lift_certificate
from .chains import (
    chain_determinantal,
    chain_qe,
    direct_sum_blocks,
    embed_certificate,
    full_end_factor,
    restriction_certificate,
)
from .kronecker_chains import KS_REFERENCE, ks_chain
from .masks import validate_masks
from .pair_merge import everything_pair, split_by_slice
from .pairs import DEFAULT_ENGINE_LIMIT, _check_budget, _decide_pair, pair_pattern
from .reduction import _span, reduce_chain

__all__ = ["LinearSetVerdict", "linear_set_verdict", "LINEAR_SET_METHODS"]

#: Methods a linear-set verdict may carry, with their meaning.
LINEAR_SET_METHODS: dict[str, str] = {
    "trivial:zero-factor": "a factor (or a merged block) has an empty mask: P = {0}",
    "reduction:linear": "exact linear merges leave one factor: P is a linear space of matrices",
    "reduction:two-factor": "exact linear merges leave two factors: P is that two-factor set",
    "theorem:ks-chainable": "chainable Kronecker-sparse chain: closed (" + KS_REFERENCE + ")",
    "theorem:full-end-factor": "an end layer is a full rectangle and the other layers reach full rank: P is a "
                               "linear space",
    "reduction:pair-everything": "an adjacent pair's products are every matrix on its boolean product (the "
                                 "two-factor engine's whole-space proof, re-checked): merged into one free factor, "
                                 "and the shorter chain (same P) decided",
    "reduction:direct-sum": "the layered graph splits into blocks: P is their direct sum, closed iff every block is",
    "certificate:restriction": "three factors: a factor fixed to a constant leaves a two-factor set inside P whose "
                               "certificate curve has a limit proved outside P (z3), re-verified independently",
    "qe:z3-chain": "the chain closedness sentences decided by z3 (nlqsat) under counted budgets",
    "theorem:chain-determinantal": "P equals the set cut out by the minors of the product that vanish identically "
                                   "(z3 proves every such matrix a product, counted budget): closed",
    "undecided": "no rule applies: open",
}


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


def linear_set_verdict(
    masks: Sequence[np.ndarray],
    *,
    closedness: bool = True,
    backend: str = DEFAULT_BACKEND,
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
    opts = {"closedness": closedness, "backend": backend, "effort": effort, "timeout": timeout, "use_qe": use_qe,
            "engine_limit": engine_limit, "_memo": _memo, "_cache": _cache}
    blocks = direct_sum_blocks(ms)
    if len(blocks) > 1:
        return _direct_sum(ms, blocks, red, opts)
    return _many_factors(ms, red, closedness=closedness, effort=effort, timeout=timeout, use_qe=use_qe,
                         backend=backend)


def _direct_sum(ms: list[np.ndarray], blocks: list[Any], red: Any, opts: dict[str, Any]) -> LinearSetVerdict:
    """Decide each block of a direct sum (docs/chains.md): closed iff every block is closed."""
    parts = [(b, linear_set_verdict(list(b.masks), **opts)) for b in blocks]
    lines = tuple(f"block {n} (inputs {list(b.index[0])}, outputs {list(b.index[-1])}): closed: "
                  f"{ {True: 'yes', False: 'no', None: 'open'}[v.closed]} [{v.method}] {v.reason}"
                  for n, (b, v) in enumerate(parts, start=1))
    steps = (*red.steps, *lines)
    bad = next(((b, v) for b, v in parts if v.closed is False), None)
    if bad is not None:
        b, v = bad
        cert = embed_certificate(ms, b, v.certificate) if v.certificate and "factors" in v.certificate \
            else {**(v.certificate or {}), "block": {"index": [list(ix) for ix in b.index]}}
        return LinearSetVerdict(False, "reduction:direct-sum",
                                f"the layered graph splits into {len(parts)} blocks and P is their direct sum; block "
                                f"{parts.index(bad) + 1} is not closed ({v.method}), so neither is P",
                                red.groups, steps, certificate=cert)
    if all(v.closed for _, v in parts):
        return LinearSetVerdict(True, "reduction:direct-sum",
                                f"the layered graph splits into {len(parts)} blocks and P is their direct sum; every "
                                "block is closed, so P is closed", red.groups, steps)
    return LinearSetVerdict(None, "undecided",
                            f"the layered graph splits into {len(parts)} blocks and P is their direct sum; a block "
                            "stays open", red.groups, steps)


def _many_factors(ms: list[np.ndarray], red: Any, *, closedness: bool, effort: float, timeout: float | None,
                  use_qe: bool, backend: str) -> LinearSetVerdict:
    """Three or more connected factors left after the merges: restriction certificates, then the chain QE."""
    notes: list[str] = []
    full = full_end_factor(list(red.masks))
    if full is not None:
        return LinearSetVerdict(True, "theorem:full-end-factor", f"{full}, hence closed", red.groups, red.steps)
    if closedness:
        merged = _pair_everything(ms, red, notes, {"closedness": closedness, "backend": backend, "effort": effort,
                                                   "timeout": timeout, "use_qe": use_qe})
        if merged is not None:
            return merged
    if red.length == 3 and closedness:
        cert = restriction_certificate(ms, red, effort=effort, backend=backend)
        if cert is not None:
            return LinearSetVerdict(False, "certificate:restriction",
                                    f"{cert['found_by']['restriction']}: the other two factors form a two-factor set "
                                    f"inside P that is not closed ({cert['found_by']['pair_method']}); its curve, "
                                    "lifted to the original layers, reaches a limit matrix that z3 proves outside P "
                                    "(re-verified by independent code)", red.groups, red.steps, certificate=cert)
        notes.append("no restriction of a factor to a constant gave a limit outside P")
    if closedness and use_qe:
        qe = chain_qe(list(red.masks), effort=effort, timeout=timeout)
        evidence = {"qe": {"backend": "z3 (nlqsat)", "rlimit": qe.rlimit, "answers": [list(a) for a in qe.answers],
                           "on": "the reduced chain (same set P)"}}
        if qe.closed is True:
            return LinearSetVerdict(True, "qe:z3-chain", f"{qe.note}: P is closed", red.groups, red.steps,
                                    certificate=None)
        if qe.closed is False:
            return LinearSetVerdict(False, "qe:z3-chain", f"{qe.note}: some matrix of the closure is not in P",
                                    red.groups, red.steps, certificate=evidence)
        notes.append(f"quantifier elimination: {qe.note}")
    if closedness:
        det = chain_determinantal(list(red.masks), effort=effort)
        if det.closed is True:
            from .chain_verify import check_vanishing_minors

            if not check_vanishing_minors(list(red.masks), det.minors):
                raise CertificateError("the minors of the determinantal stage do not re-check")
            return LinearSetVerdict(True, "theorem:chain-determinantal",
                                    f"the {len(det.minors)} minor(s) of the product that vanish identically cut out "
                                    "a closed set D containing P, and z3 proves every matrix of D (scaled) a product "
                                    "(∃A ∈ D ∀X: product ≠ A is unsat): P = D is closed", red.groups, red.steps,
                                    certificate={"determinantal": {
                                        "minors": [[list(r), list(c)] for r, c in det.minors],
                                        "z3": det.answer, "rlimit": det.rlimit,
                                        "on": "the reduced chain (same set P)"}})
        notes.append(f"determinantal test: {len(det.minors)} vanishing minor(s), z3 answered {det.answer}")
    tried = ("; tried: " + "; ".join(notes)) if notes else ""
    return LinearSetVerdict(None, "undecided",
                            f"{red.length} factors remain after the exact merges and they do not form a chainable "
                            f"Kronecker-sparse chain{tried}", red.groups, red.steps)



def _pair_everything(ms: list[np.ndarray], red: Any, notes: list[str], opts: dict[str, Any]
                     ) -> LinearSetVerdict | None:
    """The adjacent-pair merge (docs/chains.md §2): a pair of the reduced chain whose products are every matrix
    on its boolean product is merged into one free factor and the shorter chain (same P) is decided."""
    from .chain_verify import check_pair_merge

    skip = 0
    while (pm := everything_pair(list(red.masks), skip=skip)) is not None:
        skip = pm.k + 1
        layers = red.groups[pm.k] + red.groups[pm.k + 1]
        merge = pm.to_json(layers, red.masks[pm.k], red.masks[pm.k + 1])
        if not check_pair_merge(merge):  # the evidence is re-checked on the original masks before use
            raise CertificateError(f"the whole-space evidence of layers {_span(layers)} does not re-check")
        sub = linear_set_verdict(pm.merged(red.masks), **opts)
        where = (f"layers {_span(layers)} multiply to every matrix on their boolean product ({pm.method}, "
                 "re-checked exactly): merged into one free factor, P is unchanged")
        steps = (*red.steps, where + f"; the merged chain: [{sub.method}] {sub.reason}")
        if sub.closed is True:
            return LinearSetVerdict(True, "reduction:pair-everything", f"{where}; the merged chain is closed "
                                    f"({sub.method}): {sub.reason}", red.groups, steps,
                                    certificate={"merge": merge, "merged_chain": {"method": sub.method}})
        if sub.closed is False and sub.certificate is not None:
            cert = _lift_through_merge(ms, red, pm, sub.certificate)
            if cert is not None:
                return LinearSetVerdict(False, "reduction:pair-everything", f"{where}; the merged chain is not "
                                        f"closed ({sub.method}): {sub.reason}", red.groups, steps,
                                        certificate={**cert, "merge": merge})
            notes.append(f"layers {_span(layers)} merge ({pm.method}) into a chain that is not closed "
                         f"({sub.method}), but its curve does not lift through that proof")
        else:
            notes.append(f"layers {_span(layers)} merge ({pm.method}) into a chain that stays open")
    return None


def _lift_through_merge(ms: list[np.ndarray], red: Any, pm: Any, cert: dict[str, Any]) -> dict[str, Any] | None:
    """A not-closed certificate of the merged chain written on the original layers and re-verified, or None
    when its curve cannot be split (peeling evidence). A certificate without a curve (QE answers on the
    merged chain, same P) is kept as it is."""
    from .certificates import _fmt, _split_merged, _verify_factor_curve
    from .chain_verify import verify_chain_certificate

    if "factors" not in cert:
        return {"merged_chain": cert}
    if pm.method != "theorem:full-space":
        return None
    sub = {int(s): {(int(e["row"]), int(e["col"])): {int(x): Fraction(c) for x, c in e["terms"]} for e in es}
           for s, es in cert["factors"].items()}
    factors: dict[int, Any] = {}
    for s in range(1, red.length):
        curve = sub.get(s, {})
        t = s - 1
        if t == pm.k:
            later, earlier = split_by_slice(red.masks[t + 1], red.masks[t], pm.evidence, curve)
            factors.update(_split_merged(red.nodes[t], earlier))
            factors.update(_split_merged(red.nodes[t + 1], later))
        else:
            factors.update(_split_merged(red.nodes[t if t < pm.k else t + 1], curve))
    limit = [[Fraction(v) for v in row] for row in cert["limit"]]
    _verify_factor_curve(ms, factors, limit)
    out: dict[str, Any] = {key: cert[key] for key in ("limit", "limit_entries", "proof", "pair_certificate")
                           if key in cert}
    out["factors"] = {str(ell): [{"row": i, "col": j, "terms": [[e, _fmt(c)] for e, c in sorted(p.items())]}
                                 for (i, j), p in sorted(factors.get(ell, {}).items())]
                      for ell in range(1, len(ms) + 1)}
    out["verified"] = {**cert.get("verified", {}), "curve": "ok (exact product of the L factor curves, split "
                       "through the linear slice)"}
    if out.get("proof", {}).get("kind") == "chain-membership-unsat":
        out["verified"].update(verify_chain_certificate(ms, out))
    return out
