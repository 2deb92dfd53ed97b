"""Is the linear set ``{W_L ⋯ W_1}`` of a sparse network closed? The verdict, its method and its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.registry import DEFAULT_BACKEND
from ..classify import Classification
from ..kronecker import KSPattern
from ..support import SupportPattern
from .certificates import _lift_certificate
from .kronecker_chains import KS_REFERENCE, ks_chain
from .masks import validate_masks
from .pairs import DEFAULT_ENGINE_LIMIT, _check_budget, _decide_pair, pair_pattern
from .reduction import _span, reduce_chain

__all__ = ["LinearSetVerdict", "linear_set_verdict", "LINEAR_SET_METHODS"]

#: Methods a linear-set verdict may carry, with their meaning.
LINEAR_SET_METHODS: dict[str, str] = {
    "trivial:zero-factor": "a factor (or a merged block) has an empty mask: P = {0}",
    "reduction:linear": "exact linear merges leave one factor: P is a linear space of matrices",
    "reduction:two-factor": "exact linear merges leave two factors: P is that two-factor set",
    "theorem:ks-chainable": "chainable Kronecker-sparse chain: closed (" + KS_REFERENCE + ")",
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
    return LinearSetVerdict(None, "undecided",
                            f"{red.length} factors remain after the exact merges and they do not form a chainable "
                            "Kronecker-sparse chain; no proven rule decides closedness of such products",
                            red.groups, red.steps)

