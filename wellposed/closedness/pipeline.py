"""The closedness pipeline: reductions, theorems, certificates, QE, else undecided.

Each stage either returns a verdict with evidence or passes on. Not-closed certificates found on a
connected part are lifted to the original indices and re-verified on the original pattern.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import MutableMapping
from typing import Any

import numpy as np

from ..errors import BackendNotAvailableError, CertificateError, InvalidSpecError, WellposedError
from ..support import SupportPattern
from .certificates import NotClosedCertificate
from .obstruction import lu_obstruction
from .theorems import closed_by_theorem, determinantal_z3, linear_slice_onto
from .verdict import Answer, ClosednessVerdict

__all__ = ["decide_closedness", "BACKENDS", "connected_parts_fast"]

logger = logging.getLogger(__name__)

#: QE backends the pipeline can hand a part to (implemented in :mod:`wellposed.backends`).
BACKENDS = ("z3", "qepcad")


def connected_parts_fast(pattern: SupportPattern) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """``[(rows, cols, components)]`` per connected part of the overlap graph (no networkx import).

    Same output as :func:`wellposed.graph.connected_parts` (which the tests use as the oracle) for a
    pattern without empty components: components k and l are adjacent when ``(IᵀI)_kl (JᵀJ)_kl > 0``;
    the transitive closure is taken by repeated boolean squaring, ``O(r³ log r)``.

    Examples
    --------
    >>> from wellposed.families import family
    >>> connected_parts_fast(family("diag:2"))
    [((0,), (0,), (0,)), ((1,), (1,), (1,))]
    """
    x = pattern.x_support.astype(np.int64)
    y = pattern.y_support.astype(np.int64)
    reach = ((x.T @ x) * (y.T @ y)) > 0
    reach |= np.eye(pattern.r, dtype=bool)
    while True:
        nxt = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
        if np.array_equal(nxt, reach):
            break
        reach = nxt
    labels = np.argmax(reach, axis=1)  # smallest component reachable = part label
    parts = []
    for lab in np.unique(labels):
        comps = np.flatnonzero(labels == lab)
        rows = np.flatnonzero(pattern.x_support[:, comps].any(axis=1))
        cols = np.flatnonzero(pattern.y_support[:, comps].any(axis=1))
        parts.append((tuple(int(t) for t in rows), tuple(int(t) for t in cols), tuple(int(t) for t in comps)))
    parts.sort(key=lambda t: t[2])
    return parts


def _validate(pattern: Any, backend: Any, timeout: Any, use_qe: Any, cache: Any, search: Any) -> None:
    if not isinstance(pattern, SupportPattern):
        raise InvalidSpecError(f"pattern = {pattern!r} must be a SupportPattern; build one with "
                               "SupportPattern(I, J) or wellposed.families.load_pattern(spec).")
    if backend not in BACKENDS:
        raise InvalidSpecError(f"backend = {backend!r} is not a QE backend; use one of {list(BACKENDS)}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise InvalidSpecError(f"timeout = {timeout!r} must be a positive finite number of seconds, e.g. 10.0.")
    if not isinstance(use_qe, bool):
        raise InvalidSpecError(f"use_qe = {use_qe!r} must be True or False.")
    if not isinstance(search, bool):
        raise InvalidSpecError(f"search = {search!r} must be True or False.")
    if cache is not None and not isinstance(cache, MutableMapping):
        raise InvalidSpecError(f"cache = {type(cache).__name__} must be None or a mutable mapping (e.g. a dict).")


def _qe_stage(part: SupportPattern, backend: str, timeout: float) -> ClosednessVerdict | None | str:
    """Hand the part to the QE layer; a verdict, or a string saying why the stage passed on."""
    try:
        from ..backends import decide_by_qe
    except ImportError:
        return "the QE layer (wellposed.backends) is not available"
    try:
        result = decide_by_qe(part, backend=backend, timeout=timeout)
    except BackendNotAvailableError as exc:
        return f"QE backend {backend!r} not available: {exc}"
    except WellposedError as exc:
        return f"QE backend {backend!r} failed: {exc}"
    name = getattr(getattr(result, "answer", None), "name", "UNKNOWN")
    transcript = str(getattr(result, "transcript", ""))
    details = {"backend": str(getattr(result, "backend", backend)), "qe_seconds": getattr(result, "seconds", None),
               "transcript_tail": transcript[-400:]}
    method = "qe:qepcad" if backend == "qepcad" else "qe:z3"
    if name == "CLOSED":
        return ClosednessVerdict(Answer.CLOSED, method, f"{backend} decided the closedness sentence: false "
                                 "(no matrix in the closure outside P)", details=details)
    if name == "NOT_CLOSED":
        return ClosednessVerdict(Answer.NOT_CLOSED, method, f"{backend} decided the closedness sentence: true "
                                 "(some matrix of the closure is not in P)", details=details)
    return f"QE backend {backend!r} answered unknown within {timeout:g} s"


def _verified(cert: NotClosedCertificate, timeout: float) -> dict[str, Any] | None:
    try:
        return cert.verify(timeout=timeout)
    except CertificateError as exc:  # a search bug must never become a wrong verdict
        logger.warning("discarding a certificate that failed re-verification: %s", exc)
        return None


def _not_closed(cert: NotClosedCertificate, timeout: float, method: str, reason: str) -> ClosednessVerdict | None:
    """The not-closed verdict of a certificate that passes re-verification (``{proof}`` in ``reason`` is
    filled from the check), or None when it fails."""
    check = _verified(cert, timeout)
    if check is None:
        return None
    return ClosednessVerdict(Answer.NOT_CLOSED, method, reason.replace("{proof}", str(check["proof"])), cert,
                             details={"verification": check})


def _decide_part(part: SupportPattern, backend: str, timeout: float, use_qe: bool,
                 search: bool) -> ClosednessVerdict:
    """Decide one connected part (no empty component, rows/columns restricted to its union)."""
    thm = closed_by_theorem(part)
    if thm is not None:
        return ClosednessVerdict(Answer.CLOSED, thm.method, thm.reason, details=thm.details)
    notes: list[str] = []
    cert = lu_obstruction(part, use_z3=False)
    if cert is None and search:
        cert = lu_obstruction(part, use_z3=True, timeout=min(1.0, timeout))
    if cert is not None:
        verdict = _not_closed(cert, timeout, "certificate:lu-obstruction",
                              f"A* = {cert.limit_text()} is the limit of a curve with one factor entry of order "
                              "ε⁻¹ and is not in P ({proof})")
        if verdict is not None:
            return verdict
    onto = linear_slice_onto(part)
    if onto is not None:
        return ClosednessVerdict(Answer.CLOSED, "theorem:full-space",
                                 "with one factor of each component fixed to the integers in the details, the "
                                 "product is a linear map onto all matrices supported on the union (exact "
                                 "rank), so P is a coordinate subspace, hence closed", details=onto)
    if search:
        for orientation, q in (("as given", part), ("transposed", part.transpose())):
            answer, minors = determinantal_z3(q, timeout=min(20.0, timeout / 2))
            if answer == "unsat":
                what = (f"the {len(minors)} minors that vanish on P (max-flow rank bounds)" if minors
                        else "no rank condition")
                method = "theorem:determinantal" if minors else "theorem:full-space"
                return ClosednessVerdict(Answer.CLOSED, method,
                                         f"z3 proved that every matrix on the union satisfying {what} is in P "
                                         f"(pattern {orientation}); P is that closed algebraic set",
                                         details={"z3": "unsat of ∃A ∈ D ∀X,Y: XYᵀ ≠ A", "orientation": orientation,
                                                  "minors": [[list(a), list(b)] for a, b in minors]})
            notes.append(f"determinantal test ({orientation}): z3 answered {answer}")
        from .curves import curve_search

        cert = curve_search(part, time_budget=timeout, query_timeout=min(1.0, timeout))
        if cert is not None:
            verdict = _not_closed(cert, timeout, "certificate:curve-search",
                                  f"A* = {cert.limit_text()} is the limit of a Laurent curve (blow-up order "
                                  f"{cert.max_blowup()}) and z3 proves A* ∉ P")
            if verdict is not None:
                return verdict
        notes.append("curve search: no certificate within the budget")
    if use_qe:
        qe = _qe_stage(part, backend, timeout)
        if isinstance(qe, ClosednessVerdict):
            return qe
        notes.append(str(qe))
    return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                             "no theorem applies and no certificate was found; " + "; ".join(notes),
                             details={"notes": notes})


def decide_closedness(
    pattern: SupportPattern,
    *,
    backend: str = "z3",
    timeout: float = 10.0,
    use_qe: bool = True,
    cache: MutableMapping[str, ClosednessVerdict] | None = None,
    search: bool = True,
) -> ClosednessVerdict:
    """Decide whether ``P_{I,J} = {X Yᵀ}`` is closed (FSMF well-posed for every A), with evidence.

    Parameters
    ----------
    pattern : SupportPattern
    backend : {"z3", "qepcad"}
        QE backend for the last stage.
    timeout : float
        Seconds allowed to each solver stage (curve search, QE) of each connected part.
    use_qe : bool
        Run the QE stage when theorems and certificates do not decide.
    cache : dict, optional
        Maps canonical keys (up to transposition) of connected parts to their verdicts; reused across
        calls (closed verdicts are reused as they are, not-closed ones when the part is identical).
        Canonical keys (``verdict.key``) are only computed when a cache is given.
    search : bool
        Run the solver-based stages (z3 obstruction, full-space test, curve search). With False only
        the polynomial rules and the private-minor obstruction run.

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
    ``timeout``, then QE, else undecided.
    """
    _validate(pattern, backend, timeout, use_qe, cache, search)
    t0 = time.perf_counter()
    # canonical keys can be costly for very symmetric patterns: only computed when a cache is used
    key = pattern.canonical_key(transpose=True) if cache is not None else ""
    if pattern.is_trivial():
        thm = closed_by_theorem(pattern)
        assert thm is not None  # the trivial rule always applies
        return ClosednessVerdict(Answer.CLOSED, thm.method, thm.reason, seconds=time.perf_counter() - t0, key=key)
    whole = closed_by_theorem(pattern)
    if whole is not None:  # a rule on the whole pattern: no need to split
        return ClosednessVerdict(Answer.CLOSED, whole.method, whole.reason, seconds=time.perf_counter() - t0,
                                 key=key, details=whole.details)
    live = np.flatnonzero(~pattern.empty_components())
    reduced = pattern.drop_empty()
    split = connected_parts_fast(reduced)
    verdicts: list[ClosednessVerdict] = []
    index_maps: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
    for rows, cols, comps in split:
        part = reduced.restrict(rows, cols, comps)
        t_part = time.perf_counter()
        part_key = part.canonical_key(transpose=True) if cache is not None else ""
        verdict = None
        if cache is not None and part_key in cache:
            hit = cache[part_key]
            if hit.answer is not Answer.NOT_CLOSED or (hit.certificate is not None and hit.certificate.pattern == part):
                verdict = hit
        if verdict is None:
            verdict = _decide_part(part, backend, timeout, use_qe, search)
            verdict = verdict.with_timing(time.perf_counter() - t_part, part_key)
            if cache is not None and (part_key not in cache or verdict.answer.decided):
                cache[part_key] = verdict
        verdicts.append(verdict)
        index_maps.append((rows, cols, tuple(int(live[c]) for c in comps)))
    seconds = time.perf_counter() - t0
    shown = tuple(verdicts) if len(verdicts) > 1 else ()  # a single part is the verdict itself
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
                check = _verified(lifted, timeout)
            if check is None:
                continue
            return ClosednessVerdict(Answer.NOT_CLOSED, verdict.method, verdict.reason + parts_note, lifted,
                                     shown, time.perf_counter() - t0, key,
                                     {"verification": check})
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
    return ClosednessVerdict(Answer.UNDECIDED, "undecided",
                             f"{len(undecided)} of {len(verdicts)} connected part(s) undecided: "
                             + verdicts[undecided[0]].reason, parts=shown, seconds=seconds, key=key,
                             details=verdicts[undecided[0]].details)
