"""The two-factor sub-problem of a pair of factors: its pattern, its classification and its closedness verdict."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classify import Classification, classify
from ..errors import InvalidSupportError
from ..support import SupportPattern

__all__ = ["pair_pattern", "DEFAULT_ENGINE_LIMIT"]

#: Pairs with more than this many entries ``m·n·r`` would skip the closedness engine (None: no limit; the
#: engine's stages scale with the size of the masks, and its solver stages are bounded by counts).
DEFAULT_ENGINE_LIMIT: int | None = None


def pair_pattern(later: np.ndarray, earlier: np.ndarray, name: str = "") -> SupportPattern:
    """The two-factor pattern of ``W_later · W_earlier``: ``x_support = later``, ``y_support = earlierᵀ``.

    >>> pair_pattern(np.tril(np.ones((2, 2))), np.triu(np.ones((2, 2)))).canonical_key()
    '2x2x2:01.11|01.11'
    """
    return SupportPattern(np.asarray(later, bool), np.asarray(earlier, bool).T, name=name)


def _classified(pattern: SupportPattern, cache: dict[SupportPattern, Classification] | None) -> Classification:
    """``classify(pattern)``, computed once per distinct pattern when a cache is given."""
    if cache is None:
        return classify(pattern)
    if pattern not in cache:
        cache[pattern] = classify(pattern)
    return cache[pattern]


def _check_budget(effort: Any, timeout: Any) -> None:
    """Validate the closedness budget options on entry (InvalidSupportError names the parameter)."""
    from ..closedness.budget import Budget
    from ..errors import InvalidSpecError

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
        from ..closedness import decide_closedness
    except ImportError:
        return {"closed": None, "closed_method": "undecided",
                "closed_reason": "the closedness engine (wellposed.closedness.decide_closedness) is not available",
                "certificate": None}, None
    verdict = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout, use_qe=use_qe,
                                classification=c)
    rec = verdict.to_json()
    return {k: rec.get(k) for k in ("closed", "closed_method", "closed_reason", "certificate")}, verdict

