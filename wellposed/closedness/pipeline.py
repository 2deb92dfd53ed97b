"""The closedness pipeline: reductions, theorems, certificates, QE, else undecided.

Each stage either returns a verdict with evidence or passes on. Not-closed certificates found on a
connected part are lifted to the original indices and re-verified on the original pattern.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..backends.answer import Answer
from ..backends.registry import DEFAULT_BACKEND, check_backend
from ..backends.z3_api import smt_word
from ..classify import Classification, classify
from ..errors import BackendNotAvailableError, CertificateError, InvalidSpecError, WallClockCapError, WellposedError
from ..support import SupportPattern
from .budget import Budget
from .certificates import LimitMatrix, NotClosedCertificate
from .determinantal import determinantal_z3
from .obstruction import block_minor_certificate, find_private_block_minor, lu_obstruction
from .theorems import closed_by_theorem, linear_slice_onto
from .verdict import ClosednessVerdict

__all__ = ["decide_closedness", "connected_parts_fast", "PartContext", "STAGES"]

logger = logging.getLogger(__name__)

def connected_parts_fast(pattern: SupportPattern) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """``[(rows, cols, components)]`` per connected part of the overlap graph (no networkx import).

    The parts of :meth:`wellposed.classify.Classification.parts`, the one home of this computation
    (:func:`wellposed.graph.connected_parts` of the explicit graph is the tests' oracle).

    Examples
    --------
    >>> from wellposed.families import family
    >>> connected_parts_fast(family("diag:2"))
    [((0,), (0,), (0,)), ((1,), (1,), (1,))]
    """
    return classify(pattern).parts()


@dataclass
class PartContext:
    """What the stages of one connected part share: the part, the budget, and what earlier stages
    computed (the classification, the coverage counts), each computed at most once.

    ``notes`` collects what the stages that passed on tried (the reason of an undecided verdict).
    """

    part: SupportPattern
    budget: Budget
    backend: str
    use_qe: bool
    search: bool
    classification: Classification | None = None
    notes: list[str] = field(default_factory=list)
    _cover: np.ndarray | None = None

    def classify(self) -> Classification:
        if self.classification is None:
            self.classification = classify(self.part)
        return self.classification

    def cover(self) -> np.ndarray:
        if self._cover is None:
            self._cover = self.part.coverage()
        return self._cover

    def small(self) -> bool:
        """Whether the whole-part solver stages (determinantal test, curve search, QE) may run."""
        return self.part.num_free_entries() <= self.budget.count("solver_free_entries")


def _validate(pattern: Any, backend: Any, use_qe: Any, cache: Any, search: Any, progress: Any = None) -> None:
    if not isinstance(pattern, SupportPattern):
        raise InvalidSpecError(f"pattern = {pattern!r} must be a SupportPattern; build one with "
                               "SupportPattern(I, J) or wellposed.families.load_pattern(spec).")
    check_backend(backend)
    if not isinstance(use_qe, bool):
        raise InvalidSpecError(f"use_qe = {use_qe!r} must be True or False.")
    if not isinstance(search, bool):
        raise InvalidSpecError(f"search = {search!r} must be True or False.")
    if progress is not None and not callable(progress):
        raise InvalidSpecError(f"progress = {progress!r} must be None or a callable progress(done, total).")
    if cache is not None and not isinstance(cache, MutableMapping):
        raise InvalidSpecError(f"cache = {type(cache).__name__} must be None or a mutable mapping (e.g. a dict).")


def _qe_stage(part: SupportPattern, backend: str, budget: Budget) -> ClosednessVerdict | None | str:
    """Hand the part to the QE layer; a verdict, or a string saying why the stage passed on."""
    try:
        from ..backends import decide_by_qe
    except ImportError:
        return "the QE layer (wellposed.backends) is not available"
    left = budget.remaining()
    try:
        result = decide_by_qe(part, backend=backend, timeout=left, effort=budget.effort)
    except BackendNotAvailableError as exc:
        return f"QE backend {backend!r} not available: {exc}"
    except WellposedError as exc:
        return f"QE backend {backend!r} failed: {exc}"
    transcript = str(result.transcript)
    details = {"backend": str(result.backend), "qe_seconds": result.seconds, "transcript_tail": transcript[-400:]}
    method = f"qe:{backend}"
    everything = result.everything
    if result.answer is Answer.CLOSED and everything is not None and everything.answer is Answer.TRUE:
        details["everything_sentences"] = everything.sentences
        details["everything_encoding"] = everything.encoding
        return ClosednessVerdict(Answer.CLOSED, method, f"{backend} decided all {everything.sentences} split "
                                 "everything sentence(s): true (every matrix supported on the union is a product "
                                 "XYᵀ, so P is that linear space, closed)", details=details)
    if result.answer is Answer.CLOSED:
        return ClosednessVerdict(Answer.CLOSED, method, f"{backend} decided the closedness sentence: false "
                                 "(no matrix in the closure outside P)", details=details)
    if result.answer is Answer.NOT_CLOSED:
        return ClosednessVerdict(Answer.NOT_CLOSED, method, f"{backend} decided the closedness sentence: true "
                                 "(some matrix of the closure is not in P)", details=details)
    if any(d.answer is Answer.TIMEOUT for d in result.decisions):
        raise budget.cap_fired("during QE")
    ran = len(result.decisions)
    spent = sum(1 for d in result.decisions if not d.answer.decided)
    return (f"QE backend {backend!r} ran {ran} of {result.info.get('sentences', ran)} sentence(s); {spent} ran out "
            f"of their resource limit (effort {budget.effort:g})")


def _verified(cert: NotClosedCertificate, budget: Budget) -> dict[str, Any] | None:
    try:
        return cert.verify(rlimit=budget.count("verify_rlimit"), budget=budget)
    except CertificateError as exc:  # a search bug must never become a wrong verdict
        logger.warning("discarding a certificate that failed re-verification: %s", exc)
        return None


def _not_closed(cert: NotClosedCertificate, budget: Budget, method: str, reason: str) -> ClosednessVerdict | None:
    """The not-closed verdict of a certificate that passes re-verification (``{proof}`` in ``reason`` is
    filled from the check), or None when it fails."""
    check = _verified(cert, budget)
    if check is None:
        return None
    return ClosednessVerdict(Answer.NOT_CLOSED, method, reason.replace("{proof}", str(check["proof"])), cert,
                             details={"verification": _stable(check)})


def _stable(check: dict[str, Any]) -> dict[str, Any]:
    """A verification summary without its timing (verdict details must not depend on the machine)."""
    return {k: v for k, v in check.items() if k != "seconds"}


def _stage_theorems(ctx: PartContext) -> ClosednessVerdict | None:
    thm = closed_by_theorem(ctx.part, ctx.classify())
    return None if thm is None else ClosednessVerdict(Answer.CLOSED, thm.method, thm.reason, details=thm.details)


def _stage_private_minor(ctx: PartContext) -> ClosednessVerdict | None:
    cert = lu_obstruction(ctx.part, cover=ctx.cover())
    if cert is None:
        return None
    return _not_closed(cert, ctx.budget, "certificate:lu-obstruction",
                       f"A* = {cert.limit_text()} is the limit of a curve with one factor entry of order ε⁻¹ and is "
                       "not in P ({proof})")


def _stage_block_minor(ctx: PartContext) -> ClosednessVerdict | None:
    found = find_private_block_minor(ctx.part, ctx.classify(), ctx.cover(), ctx.budget.count("block_candidates"))
    if found is None:
        return None
    cert = block_minor_certificate(ctx.part, *found)
    s = len(found[0])
    return _not_closed(cert, ctx.budget, "certificate:block-minor",
                       f"A* = {cert.limit_text()} is the limit of a curve through {s}×{s} identity blocks of a class "
                       f"of {s} identical components, with factor entries of order ε⁻¹, and is not in P "
                       "({proof}: the class alone reaches three of the four blocks)")


def _stage_linear_slice(ctx: PartContext) -> ClosednessVerdict | None:
    onto = linear_slice_onto(ctx.part)
    if onto is None:
        return None
    return ClosednessVerdict(Answer.CLOSED, "theorem:full-space",
                             "with one factor of each component fixed to the integers in the details, the product "
                             "is a linear map onto all matrices supported on the union (exact rank), so P is a "
                             "coordinate subspace, hence closed", details=onto)


def _stage_peeling(ctx: PartContext) -> ClosednessVerdict | None:
    from .peeling import peeling_onto

    evidence = peeling_onto(ctx.part)
    if evidence is None:
        return None
    leaves = sum(len(b["leaves"]) for b in evidence["branches"])
    side, other = ("row", "column") if evidence["orientation"] == "as given" else ("column", "row")
    with_col = sum(1 for b in evidence["branches"] if b["col"] is not None)
    return ClosednessVerdict(Answer.CLOSED, "theorem:peeling",
                             f"scaling {side} {evidence['row']} to the 0/1 vector of each of its "
                             f"{len(evidence['branches'])} possible supports (and, in {with_col} of these branches, "
                             f"a {other} too), a linear slice reaches every such scaled matrix ({leaves} exact rank "
                             "tests in the details), so P is every matrix supported on the union: closed",
                             details=evidence)


def _stage_free_lines(ctx: PartContext) -> ClosednessVerdict | None:
    """Free lines (docs/closedness.md, §3.11): P = ℝ^{lines} × P_rest, so the part's verdict is P_rest's."""
    from .freelines import find_free_lines

    ev = find_free_lines(ctx.part, ctx.budget.count("free_line_subsets"))
    if ev is None:
        return None
    rest = ev["rest"]
    rows, cols, comps = rest["rows"], rest["cols"], rest["components"]
    lines = (f"the {ev['orientation']} {ev['lines']} are written by the components {ev['components']} alone "
             f"(they reach every entry of the union there and, restricted to these {ev['orientation']}, every "
             f"matrix on it: {ev['full']['rule']})")
    if not rows or not cols:
        return ClosednessVerdict(Answer.CLOSED, "theorem:free-lines",
                                 f"{lines}, and they are the whole union, so P = ℝ^union: closed", details=ev)
    reduced = ctx.part.restrict(rows, cols, comps)
    verdict = _decide(reduced, ctx.backend, ctx.budget, ctx.use_qe, None, ctx.search, time.perf_counter())
    details = {**ev, "rest_method": verdict.method}
    what = (f"{lines}, so P = ℝ^lines × P_rest with P_rest the other components on rows {rows} and columns "
            f"{cols}")
    if verdict.answer is Answer.CLOSED:
        return ClosednessVerdict(Answer.CLOSED, "theorem:free-lines",
                                 f"{what}; P_rest is closed ({verdict.method}: {verdict.reason}), so P is closed",
                                 details=details)
    if verdict.answer is Answer.NOT_CLOSED:
        if verdict.certificate is None:  # decided by QE on P_rest: its transcript is the evidence
            return ClosednessVerdict(Answer.NOT_CLOSED, verdict.method,
                                     f"{what}; P_rest is not closed ({verdict.reason}), so neither is P",
                                     details={**details, **verdict.details})
        lifted = verdict.certificate.lift(ctx.part, rows, cols, comps)
        found = _not_closed(lifted, ctx.budget, verdict.method,
                            f"{what}; {verdict.reason} (on P_rest, zero on the free lines)")
        if found is not None:
            return found
    ctx.notes.append(f"free lines: {what}, and P_rest is undecided ({verdict.reason})")
    return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                             f"{what}, so P is closed iff P_rest is; P_rest: {verdict.reason}",
                             details={**details, "notes": ctx.notes})


def _stage_orbits(ctx: PartContext) -> ClosednessVerdict | None:
    if not ctx.search or not ctx.small():
        return None
    from .curves import find_curve
    from .orbits import orbit_test

    res = orbit_test(ctx.part, budget=ctx.budget)
    if res is None:
        return None
    if res.answer is Answer.CLOSED:
        return ClosednessVerdict(Answer.CLOSED, "theorem:orbits",
                                 f"the row supports and the column supports are both nested, so P is a union of "
                                 f"Borel orbits; z3 placed {res.members} of the {res.candidates} partial permutations "
                                 "on the union in P and they form a down-set of the rank order, so P is a union of "
                                 "orbit closures: closed", details=res.details)
    if res.answer is Answer.NOT_CLOSED and res.witness is not None:
        one = Fraction(1)
        target = {cell: one for cell in res.witness}
        for degree in (1, 2):
            curve = find_curve(ctx.part, target, degree, rlimit=ctx.budget.count("query_rlimit"), budget=ctx.budget)
            if curve is None:
                continue
            limit = LimitMatrix.from_any(target, (ctx.part.m, ctx.part.n))
            cert = NotClosedCertificate(ctx.part, limit, curve[0], curve[1], {"kind": "z3-unsat"}, "orbit-witness")
            verdict = _not_closed(cert, ctx.budget, "certificate:orbit-witness",
                                  f"A* = {cert.limit_text()} is a partial permutation below {list(res.above or ())} "
                                  f"in the rank order (so in the closure of P), reached by a Laurent curve of blow-up "
                                  f"order {cert.max_blowup()}, and z3 proves A* ∉ P")
            if verdict is not None:
                return verdict
        ctx.notes.append(f"orbit test: the partial permutation {list(res.witness)} is in the closure of P but not "
                         "in P (not closed), but no Laurent curve of degree ≤ 2 to it was found")
        return None
    ctx.notes.append(f"orbit test: {res.details.get('reason', 'undecided')}")
    return None


def _stage_determinantal(ctx: PartContext) -> ClosednessVerdict | None:
    if not ctx.search:
        return None
    if not ctx.small():
        ctx.notes.append(f"determinantal test, curve search and QE skipped: the part has "
                         f"{ctx.part.num_free_entries()} free entries, above the "
                         f"{ctx.budget.count('solver_free_entries')} of the whole-part solver stages (effort "
                         f"{ctx.budget.effort:g})")
        return None
    for orientation, q in (("as given", ctx.part), ("transposed", ctx.part.transpose())):
        answer, minors = determinantal_z3(q, rlimit=ctx.budget.count("determinantal_rlimit"), budget=ctx.budget)
        if answer is Answer.FALSE:
            what = (f"the {len(minors)} minors that vanish on P (max-flow rank bounds)" if minors
                    else "no rank condition")
            method = "theorem:determinantal" if minors else "theorem:full-space"
            return ClosednessVerdict(Answer.CLOSED, method,
                                     f"z3 proved that every matrix on the union satisfying {what} is in P "
                                     f"(pattern {orientation}); P is that closed algebraic set",
                                     details={"z3": "unsat of ∃A ∈ D ∀X,Y: XYᵀ ≠ A", "orientation": orientation,
                                              "minors": [[list(a), list(b)] for a, b in minors]})
        ctx.notes.append(f"determinantal test ({orientation}): z3 answered "
                         f"{'skipped' if answer is None else smt_word(answer)}")
    return None


def _stage_random_curves(ctx: PartContext) -> ClosednessVerdict | None:
    if not ctx.search or not ctx.small():
        return None
    from .random_curves import random_curve_search

    cert, spent = random_curve_search(ctx.part, budget=ctx.budget)
    if cert is not None:
        verdict = _not_closed(cert, ctx.budget, "certificate:random-curve",
                              f"A* = {cert.limit_text()} is the limit of a random exact Laurent curve whose blow-up "
                              f"terms cancel (blow-up order {cert.max_blowup()}) and z3 proves A* ∉ P")
        if verdict is not None:
            return verdict
    ctx.notes.append(f"random-curve search: no certificate in {spent['trials']} random cancelling curves "
                     f"({spent['queries']} z3 membership queries, {spent['units']} resource units)")
    return None


def _stage_curves(ctx: PartContext) -> ClosednessVerdict | None:
    if not ctx.search or not ctx.small():
        return None
    from .curves import curve_search

    cert = curve_search(ctx.part, budget=ctx.budget)
    if cert is not None:
        verdict = _not_closed(cert, ctx.budget, "certificate:curve-search",
                              f"A* = {cert.limit_text()} is the limit of a Laurent curve (blow-up order "
                              f"{cert.max_blowup()}) and z3 proves A* ∉ P")
        if verdict is not None:
            return verdict
    ctx.notes.append(f"curve search: no certificate within {ctx.budget.count('curve_candidates')} candidates and "
                     f"{ctx.budget.count('curve_rlimit')} z3 resource units")
    return None


def _stage_qe(ctx: PartContext) -> ClosednessVerdict | None:
    if not ctx.use_qe or not ctx.small():
        return None
    qe = _qe_stage(ctx.part, ctx.backend, ctx.budget)
    if isinstance(qe, ClosednessVerdict):
        return qe
    ctx.notes.append(str(qe))
    return None


#: The stages of one connected part, in order: each returns a verdict with evidence or passes on (adding
#: to ``ctx.notes`` what it tried). Polynomial rules first, then the private-minor obstruction, then the
#: z3-backed stages bounded by counted budgets.
STAGES: tuple[tuple[str, Callable[[PartContext], ClosednessVerdict | None]], ...] = (
    ("closed-by-theorem rules", _stage_theorems),
    ("private-minor obstruction", _stage_private_minor),
    ("private block-minor obstruction", _stage_block_minor),
    ("linear slice onto the union", _stage_linear_slice),
    ("scaled lines and linear slices", _stage_peeling),
    ("free lines", _stage_free_lines),
    ("Borel orbits of nested supports", _stage_orbits),
    ("determinantal test", _stage_determinantal),
    ("curve search", _stage_curves),
    ("random cancelling curves", _stage_random_curves),
    ("quantifier elimination", _stage_qe),
)


def _decide_part(part: SupportPattern, backend: str, budget: Budget, use_qe: bool, search: bool,
                 classification: Classification | None = None) -> ClosednessVerdict:
    """Decide one connected part (no empty component, rows/columns restricted to its union)."""
    ctx = PartContext(part, budget, backend, use_qe, search, classification)
    for _, stage in STAGES:
        verdict = stage(ctx)
        if verdict is not None:
            return verdict
    return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                             "no theorem applies and no certificate was found; " + "; ".join(ctx.notes),
                             details={"notes": ctx.notes})


def decide_closedness(
    pattern: SupportPattern,
    *,
    backend: str = DEFAULT_BACKEND,
    effort: float = 1.0,
    timeout: float | None = None,
    use_qe: bool = True,
    cache: MutableMapping[str, ClosednessVerdict] | None = None,
    search: bool = True,
    classification: Classification | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClosednessVerdict:
    """Decide whether ``P_{I,J} = {X Yᵀ}`` is closed (FSMF well-posed for every A), with evidence.

    Parameters
    ----------
    pattern : SupportPattern
    backend : str
        QE backend for the last stage, a name of :data:`wellposed.backends.registry.BACKENDS`.
    effort : float
        Scales every deterministic budget of the solver-backed stages (z3 resource units, candidates,
        queries; see :mod:`wellposed.closedness.budget`). The verdict is a function of the pattern,
        ``backend``, ``effort``, ``use_qe`` and ``search`` (and of the z3 version), never of the machine.
    timeout : float, optional
        Wall-clock safety cap in seconds for the whole pattern (default: none). When it fires the
        verdict is undecided with method ``"cap:wall-clock"``, which says that it depends on the machine.
    use_qe : bool
        Run the QE stage when theorems and certificates do not decide.
    cache : dict, optional
        Maps canonical keys (up to transposition) of connected parts to their verdicts; reused across
        calls (closed verdicts are reused as they are, not-closed ones when the part is identical).
        Canonical keys (``verdict.key``) are only computed when a cache is given.
    search : bool
        Run the solver-based stages (determinantal and full-space tests, curve search). With False only
        the polynomial rules and the private-minor obstruction run.
    classification : Classification, optional
        ``classify(pattern)`` when the caller already has it (it is then not computed again).
    progress : callable(done, total), optional
        Called after each connected part is decided, with the parts done and the number of parts
        (``(1, 1)`` once when a rule decides the whole pattern without splitting it).

    Returns
    -------
    ClosednessVerdict
        ``closed`` True / False / None, the method, a reason and, for not closed, a certificate on
        the original pattern's indices, re-verified.

    Examples
    --------
    >>> from wellposed.families import family
    >>> v = decide_closedness(family("lu:3"))
    >>> v.closed, v.method
    (False, 'certificate:lu-obstruction')
    >>> decide_closedness(family("full:3,3,2")).method
    'theorem:dto'

    Notes
    -----
    Reductions first (drop empty components, split into connected parts of the overlap graph: P is
    the direct sum of the parts' sets, closed iff each is). Then, per part: closed-by-theorem rules
    (polynomial time), the private-minor obstruction (polynomial), then z3-based stages bounded by
    counted budgets, then QE, else undecided.
    """
    _validate(pattern, backend, use_qe, cache, search, progress)
    if classification is not None and (not isinstance(classification, Classification)
                                       or (classification.pattern is not pattern
                                           and classification.pattern != pattern)):
        raise InvalidSpecError("classification must be classify(pattern) of this very pattern, or None.")
    budget = Budget(effort, timeout).started()
    t0 = time.perf_counter()
    try:
        return _decide(pattern, backend, budget, use_qe, cache, search, t0, classification, progress)
    except WallClockCapError as exc:
        return ClosednessVerdict(Answer.UNDECIDED, "cap:wall-clock",
                                 f"{exc}: this verdict depends on the machine's speed and load; rerun without "
                                 "--timeout (or with a larger one) for a machine-independent answer",
                                 seconds=time.perf_counter() - t0, details={"timeout": timeout})


def _decide(pattern: SupportPattern, backend: str, budget: Budget, use_qe: bool,
            cache: MutableMapping[str, ClosednessVerdict] | None, search: bool, t0: float,
            classification: Classification | None = None,
            progress: Callable[[int, int], None] | None = None) -> ClosednessVerdict:
    # canonical keys can be costly for very symmetric patterns: only computed when a cache is used
    key = pattern.canonical_key(transpose=True) if cache is not None else ""
    if pattern.is_trivial():
        thm = closed_by_theorem(pattern)
        assert thm is not None  # the trivial rule always applies
        if progress is not None:
            progress(1, 1)
        return ClosednessVerdict(Answer.CLOSED, thm.method, thm.reason, seconds=time.perf_counter() - t0, key=key)
    cls = classify(pattern) if classification is None else classification
    whole = closed_by_theorem(pattern, cls)
    if whole is not None:  # a rule on the whole pattern: no need to split
        if progress is not None:
            progress(1, 1)
        return ClosednessVerdict(Answer.CLOSED, whole.method, whole.reason, seconds=time.perf_counter() - t0,
                                 key=key, details=whole.details)
    split = cls.parts()  # components in the pattern's own indices (empty ones belong to no part)
    verdicts: list[ClosednessVerdict] = []
    index_maps: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
    for rows, cols, comps in split:
        part = pattern.restrict(rows, cols, comps)
        t_part = time.perf_counter()
        part_key = part.canonical_key(transpose=True) if cache is not None else ""
        verdict = None
        if cache is not None and part_key in cache:
            hit = cache[part_key]
            if hit.answer is not Answer.NOT_CLOSED or (hit.certificate is not None and hit.certificate.pattern == part):
                verdict = hit
        if verdict is None:
            # a part that is the whole pattern (every row, column and component) shares its classification
            whole_part = (len(rows), len(cols), len(comps)) == pattern.shape
            verdict = _decide_part(part, backend, budget, use_qe, search, cls if whole_part else None)
            verdict = verdict.with_timing(time.perf_counter() - t_part, part_key)
            if cache is not None and (part_key not in cache or verdict.answer.decided):
                cache[part_key] = verdict
        verdicts.append(verdict)
        index_maps.append((rows, cols, comps))
        if progress is not None:
            progress(len(verdicts), len(split))
    seconds = time.perf_counter() - t0
    shown = tuple(verdicts) if len(verdicts) > 1 else ()  # a single part is the verdict itself
    discarded: list[tuple[int, ...]] = []  # components of the parts whose lifted certificate failed re-verification
    for verdict, (rows, cols, comps) in zip(verdicts, index_maps, strict=True):
        if verdict.answer is Answer.NOT_CLOSED:
            parts_note = "" if len(verdicts) == 1 else f" (on the connected part with components {list(comps)})"
            if verdict.certificate is None:  # decided by QE: no certificate to lift
                return ClosednessVerdict(Answer.NOT_CLOSED, verdict.method, verdict.reason + parts_note,
                                         parts=shown, seconds=seconds, key=key, details=verdict.details)
            lifted = verdict.certificate.lift(pattern, rows, cols, comps)
            if lifted.pattern == verdict.certificate.pattern and lifted.limit == verdict.certificate.limit \
                    and "verification" in verdict.details:
                check = verdict.details["verification"]  # identical certificate, verified on this very pattern
            else:
                check = _verified(lifted, budget)
            if check is None:
                discarded.append(comps)
                continue
            reason = verdict.reason
            part_text, whole_text = verdict.certificate.limit_text(), lifted.limit_text()
            if whole_text.startswith("entries"):  # a sparse A* names indices: give the pattern's, not the part's
                reason = reason.replace(part_text, whole_text)
            return ClosednessVerdict(Answer.NOT_CLOSED, verdict.method, reason + parts_note, lifted,
                                     shown, time.perf_counter() - t0, key,
                                     {"verification": _stable(check)})
    if all(v.answer is Answer.CLOSED for v in verdicts):
        if len(verdicts) == 1:
            v = verdicts[0]
            return ClosednessVerdict(Answer.CLOSED, v.method, v.reason, seconds=seconds, key=key,
                                     details=v.details)
        methods = sorted({v.method for v in verdicts})
        method = methods[0] if len(methods) == 1 else "theorem:parts"
        return ClosednessVerdict(Answer.CLOSED, method,
                                 f"the overlap graph has {len(verdicts)} connected parts, each closed "
                                 f"({', '.join(methods)}); P is their direct sum", parts=tuple(verdicts),
                                 seconds=seconds, key=key)
    undecided = [i for i, v in enumerate(verdicts) if v.answer is Answer.UNDECIDED]
    if not undecided:  # some part is not closed, but no lifted certificate passed re-verification
        return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                                 f"{len(discarded)} of {len(verdicts)} connected part(s) got a not-closed certificate "
                                 "that failed re-verification on the whole pattern (components "
                                 f"{'; '.join(str(list(c)) for c in discarded)}): no verdict with evidence",
                                 parts=shown, seconds=seconds, key=key)
    return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                             f"{len(undecided)} of {len(verdicts)} connected part(s) undecided: "
                             + verdicts[undecided[0]].reason, parts=shown, seconds=seconds, key=key,
                             details=verdicts[undecided[0]].details)
