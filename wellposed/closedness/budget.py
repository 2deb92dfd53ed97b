"""Deterministic budgets of the closedness engine, the user's wall-clock safety cap, and the two gateways
through which the engine asks z3 (:func:`z3_check`, :func:`z3_decide`: queries built by
:mod:`wellposed.formulas.queries`, answered by :mod:`wellposed.backends.z3_api`).

A verdict must be a function of the input and of the options the user gave, never of how fast or how
busy the machine is. Every solver-backed stage is therefore bounded by *counts*:

* each in-process z3 query runs in a fresh ``z3.Context`` (so nothing of earlier queries — term ids,
  caches — can change its course) with a resource limit ``rlimit``: z3 counts its own elementary steps
  and gives up with ``unknown`` at the same point on every machine;
* each quantified query (a QE sentence, the determinantal test) runs in a fresh z3 process with an
  ``rlimit`` and a cap on the number of memory allocations (``memory_max_alloc_count``: polynomial
  arithmetic on huge coefficients can run long between two ``rlimit`` steps, never without
  allocating); QEPCAD B gets a number of cells;
* searches stop after a number of candidates, queries or summed ``rlimit`` units.

``effort`` scales all of these counts (2.0 tries twice as hard). Wall-clock time appears in exactly one
place: the user's optional safety cap ``timeout`` (seconds for the whole pattern). When it fires, the
verdict says so with its own method ``"cap:wall-clock"``, so that nobody mistakes it for a
machine-independent "undecided"; without it (the default) no clock is read to decide anything.

The base counts were calibrated once on the census of m, n, r ≤ 3: one z3 resource unit is roughly
0.2 µs of solver time on a 2020s CPU core (5 million ≈ 1 s), which keeps the budgets of the earlier
time-based engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import validate
from ..backends.answer import Answer
from ..errors import WallClockCapError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.z3_api import Check
    from ..formulas.queries import Query

__all__ = ["Budget", "BASE", "z3_check", "z3_decide", "z3_version"]

#: Base counts at ``effort = 1`` (see the module docstring).
BASE: dict[str, int] = {
    "query_rlimit": 5_000_000,  # one z3 membership / curve query in the searches
    "determinantal_rlimit": 30_000_000,  # one determinantal / full-space test (∃∀ sentence)
    "determinantal_allocations": 10_000_000,  # memory allocations of that test (z3 executable)
    "curve_candidates": 512,  # limit candidates of the curve search that reach z3
    "curve_enumerated": 20_000,  # limit candidates the curve search enumerates (most are settled by exact filters)
    "curve_rlimit": 60_000_000,  # rlimit units spent by the whole curve search
    "orbit_candidates": 2_000,  # partial permutations tested for membership by the Borel-orbit test
    "random_curve_trials": 300,  # random cancelling curves drawn by the random-curve search
    "random_curve_rlimit": 40_000_000,  # rlimit units spent by the random-curve search's membership queries
    "verify_rlimit": 50_000_000,  # the independent re-check of a certificate's non-membership proof
    "qe_rlimit": 20_000_000,  # one QE sentence (z3 executable)
    "qe_allocations": 10_000_000,  # memory allocations of one QE sentence (z3 executable)
    "qe_unknown_sentences": 3,  # the QE stage of a part gives up after this many sentences ran out of budget
    "qepcad_cells": 10_000_000,  # QEPCAD B +N (garbage-collected cells)
    "qepcad_max_cells": 160_000_000,
    "block_candidates": 4096,  # (class, class, row group) triples of the private block-minor search
    "free_line_subsets": 4096,  # component subsets the free-lines reduction looks at (both orientations)
    "solver_free_entries": 64,  # parts with more free entries skip the whole-part solver stages (curves, QE)
}


@dataclass(frozen=True)
class Budget:
    """How hard the engine tries (``effort``) and the user's optional wall-clock cap.

    Parameters
    ----------
    effort : float
        Multiplier of every count in :data:`BASE` (> 0; default 1).
    timeout : float or None
        Safety cap in seconds for the whole pattern (None: no cap, the default). Only this makes a
        verdict depend on the machine, and a verdict stopped by it says so.
    start : float
        ``time.monotonic()`` when the clock started (set by :meth:`started`).

    Examples
    --------
    >>> b = Budget(effort=2.0)
    >>> b.count("curve_candidates"), b.timeout is None
    (1024, True)
    """

    effort: float = 1.0
    timeout: float | None = None
    start: float = 0.0

    def __post_init__(self) -> None:
        validate.effort(self.effort)
        validate.timeout(self.timeout)

    def started(self) -> Budget:
        """A copy whose clock starts now (only matters with a ``timeout``)."""
        return Budget(self.effort, self.timeout, time.monotonic())

    def count(self, name: str) -> int:
        """The base count ``name`` of :data:`BASE` scaled by ``effort`` (at least 1)."""
        return max(1, int(BASE[name] * self.effort))

    def remaining(self) -> float | None:
        """Seconds left before the cap (None without cap); raises :class:`WallClockCapError` when none."""
        if self.timeout is None:
            return None
        left = self.timeout - (time.monotonic() - self.start)
        if left <= 0:
            raise WallClockCapError(f"the wall-clock safety cap of {self.timeout:g} s (timeout) fired")
        return left

    def cap_fired(self, where: str) -> WallClockCapError:
        """The error reporting that the wall-clock cap fired ``where`` (e.g. ``"inside a z3 query"``)."""
        cap = "" if self.timeout is None else f" of {self.timeout:g} s"
        return WallClockCapError(f"the wall-clock safety cap{cap} (timeout) fired {where}")

    def to_json(self) -> dict[str, Any]:
        """The options that determine verdicts (for fingerprints and reports)."""
        return {"effort": self.effort, "timeout": self.timeout}


def z3_version() -> str:
    """The z3 version string (verdicts are reproducible for a given z3 version and budget)."""
    from ..backends import z3_api

    return z3_api.version()


def z3_check(query: Query, rlimit: int, budget: Budget | None = None, *, model: bool = False) -> Check:
    """Answer a quantifier-free ``query`` in process under ``rlimit`` z3 resource units (a count) and
    ``budget``'s wall-clock cap, if any: when the cap fires, :class:`WallClockCapError` is raised instead of
    returning an answer that depends on the machine. The gateway of the engine's in-process z3 queries.

    Examples
    --------
    >>> from fractions import Fraction
    >>> from wellposed.families import family
    >>> from wellposed.formulas.queries import membership_query
    >>> z3_check(membership_query(family("lu:2"), {(0, 0): Fraction(2)}), 1_000_000).answer
    <Answer.TRUE: 'true'>
    """
    from ..backends import z3_api

    result = z3_api.check(query, rlimit, timeout=budget.remaining() if budget is not None else None, model=model)
    if result.answer is Answer.TIMEOUT:
        raise (budget or Budget()).cap_fired("inside a z3 query")
    return result


def z3_decide(query: Query, rlimit: int, allocations: int, budget: Budget | None = None) -> Answer:
    """Answer a quantified ``query`` in a fresh z3 process bounded by ``rlimit`` resource units and
    ``allocations`` memory allocations (both counts), and by ``budget``'s wall-clock cap, if any (which raises
    :class:`WallClockCapError`). ``RESOURCE_OUT`` (allocations spent) counts as ``UNKNOWN``.

    For quantified queries: their polynomial arithmetic can run for minutes between two resource steps, and
    only the allocation count — a process-wide counter, hence a fresh process — bounds it deterministically.

    Examples
    --------
    >>> from wellposed.families import family
    >>> from wellposed.formulas.queries import determinantal_query
    >>> z3_decide(determinantal_query(family("diag:2"), None), 10**7, 10**7)
    <Answer.FALSE: 'false'>
    """
    from ..backends import z3_api

    decision = z3_api.decide_in_subprocess(query, rlimit, allocations,
                                           timeout=budget.remaining() if budget is not None else None)
    if decision.answer is Answer.TIMEOUT:
        raise (budget or Budget()).cap_fired("inside a z3 query")
    return decision.answer.group
