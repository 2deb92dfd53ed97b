"""Decide closedness, membership and "P is everything" by quantifier elimination, with transcripts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .. import validate
from ..errors import InvalidSpecError
from ..formulas.builder import (
    ALL_ENCODINGS,
    EVERYTHING_ENCODING,
    Encoding,
    _check_encoding,
    everything_sentence,
    iter_closedness_sentences,
    iter_everything_sentences,
    membership_sentence,
)
from ..formulas.nodes import Sentence
from ..formulas.symmetry import MAX_PATTERN_ENTRIES, check_pattern, zero_patterns
from .answer import Answer
from .base import Decision
from .registry import DEFAULT_BACKEND, get_backend

__all__ = ["QEResult", "QueryResult", "decide_by_qe", "member_by_qe", "everything_by_qe", "everything_split_by_qe"]


@dataclass(frozen=True)
class QEResult:
    """Closedness by QE: the verdict and its evidence (every sentence's answer and transcript).

    Attributes
    ----------
    answer : Answer
        ``CLOSED`` iff every sentence was answered false; ``NOT_CLOSED`` as soon as one was answered true;
        else ``UNDECIDED``.
    backend : str
    seconds : float
        Wall-clock time of the whole decision.
    decisions : tuple of Decision
        One per sentence that was run, in order.
    skipped : int
        Number of sentences not run (budget exhausted, or not needed once one was true).
    witness : list of list of int or None
        The nonzero pattern of ``A`` whose sentence is true (NOT_CLOSED with zero-pattern splitting).
    encoding : str
        Encodings used (see :class:`wellposed.formulas.Encoding`).
    everything : EverythingResult or None
        The "P is every matrix on the union" phase run before the closedness sentences (``everything_first``);
        when it proved P to be everything, the answer is ``CLOSED`` and ``decisions`` is empty.
    """

    answer: Answer
    backend: str
    seconds: float
    decisions: tuple[Decision, ...]
    skipped: int = 0
    witness: list[list[int]] | None = None
    encoding: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    everything: EverythingResult | None = None

    @property
    def transcript(self) -> str:
        """Every sentence's transcript, in order."""
        first = () if self.everything is None else self.everything.decisions
        parts = [f"=== {d.sentence}: {d.answer.value} ({d.backend}, {d.seconds:.3f} s)\n{d.transcript}"
                 for d in (*first, *self.decisions)]
        if self.skipped:
            parts.append(f"=== {self.skipped} sentence(s) not run\n")
        return "\n".join(parts)


@dataclass(frozen=True)
class QueryResult:
    """Answer to one sentence (membership or everything) with its evidence."""

    question: str
    answer: Answer
    backend: str
    seconds: float
    transcript: str
    sentence: Sentence

    @property
    def value(self) -> bool | None:
        """True / False when decided, ``None`` when unknown."""
        return {Answer.TRUE: True, Answer.FALSE: False}.get(self.answer.group)


@dataclass(frozen=True)
class EverythingResult:
    """"P is every matrix supported on the union" decided by the split everything sentences, with evidence.

    Attributes
    ----------
    answer : Answer
        ``TRUE`` when every sentence was answered true (P is that linear space, hence closed), ``FALSE`` as
        soon as one was answered false (some matrix on the union is not a product), else ``UNKNOWN``.
    backend : str
    seconds : float
    decisions : tuple of Decision
        One per sentence run, in order.
    sentences : int
        Number of sentences of the split.
    witness : list of list of int or None
        With ``FALSE``: the nonzero pattern of the ``A`` whose sentence is false.
    encoding : str
    """

    answer: Answer
    backend: str
    seconds: float
    decisions: tuple[Decision, ...]
    sentences: int
    witness: list[list[int]] | None = None
    encoding: str = ""

    @property
    def value(self) -> bool | None:
        """True / False when decided, ``None`` when unknown."""
        return {Answer.TRUE: True, Answer.FALSE: False}.get(self.answer.group)


def _engine(backend: Any, effort: float) -> Any:
    engine = get_backend(backend)
    return engine.limited(effort) if isinstance(backend, (str, list, tuple)) else engine


def everything_split_by_qe(
    pattern: Any,
    backend: Any = DEFAULT_BACKEND,
    timeout: float | None = None,
    encoding: Encoding = EVERYTHING_ENCODING,
    sentence_timeout: float | None = None,
    effort: float = 1.0,
) -> EverythingResult:
    """Is every matrix supported on the union a product? The split everything sentences, one by one.

    Parameters are those of :func:`decide_by_qe`; the default ``encoding`` splits by nonzero pattern
    (with scaling and symmetry) and eliminates the larger factor (``eliminate``), which is what decides
    the 3×3×3 census classes (``docs/qe.md``).

    Returns
    -------
    EverythingResult
        ``TRUE`` iff every sentence is true; stops at the first false sentence, or after
        ``qe_unknown_sentences`` sentences ran out of their counted limits (scaled by ``effort``).

    Examples
    --------
    >>> from wellposed.families import family
    >>> everything_split_by_qe(family("diag:2")).answer
    <Answer.TRUE: 'true'>
    >>> r = everything_split_by_qe(family("lu:2"))
    >>> r.answer, r.witness
    (<Answer.FALSE: 'false'>, [[0, 1], [1, 0]])
    """
    from ..closedness.budget import Budget

    start = time.monotonic()
    p = check_pattern(pattern)
    budget = validate.timeout(timeout)
    cap = validate.timeout(sentence_timeout, "sentence_timeout")
    enc = _check_encoding(encoding)
    give_up = Budget(effort).count("qe_unknown_sentences")
    engine = _engine(backend, effort)
    decisions: list[Decision] = []
    total = len(zero_patterns(p, enc.symmetry, True)) if (enc.zero_patterns and not p.is_trivial()) else 1
    answer = Answer.TRUE
    witness = None
    exhausted = 0
    for s in iter_everything_sentences(p, enc):
        limit = cap
        if budget is not None:
            remaining = budget - (time.monotonic() - start)
            if remaining <= 0.01:
                decisions.append(Decision(s.name, Answer.TIMEOUT, engine.name, 0.0, "wall-clock cap reached"))
                answer = Answer.UNKNOWN
                break
            limit = remaining if cap is None else min(remaining, cap)
        d = engine.decide(s, limit)
        decisions.append(d)
        if d.answer is Answer.FALSE:
            answer, witness = Answer.FALSE, s.info.get("zero_pattern")
            break
        if d.answer.group is Answer.UNKNOWN:
            answer = Answer.UNKNOWN
            exhausted += 1
            if exhausted >= give_up or d.answer is Answer.TIMEOUT:
                break
    if enc.signs:
        total = max(total, len(decisions))
    return EverythingResult(answer, engine.name, time.monotonic() - start, tuple(decisions), total, witness,
                            enc.label())


def decide_by_qe(
    pattern: Any,
    backend: Any = DEFAULT_BACKEND,
    timeout: float | None = None,
    encoding: Encoding = ALL_ENCODINGS,
    sentence_timeout: float | None = None,
    effort: float = 1.0,
    everything_first: bool = True,
) -> QEResult:
    """Decide whether ``P_{I,J}`` is closed by quantifier elimination.

    Parameters
    ----------
    pattern : SupportPattern
    backend : str, list of str or Backend
        A name of :data:`~wellposed.backends.registry.BACKENDS`, a preference list of names, or an instance.
    timeout : float, optional
        Wall-clock safety cap in seconds for all sentences (default: none). Sentences stopped by it
        answer :attr:`Answer.TIMEOUT`; that is the only way the result can depend on the machine.
    encoding : Encoding
        Encodings of the closedness sentence (default: all).
    sentence_timeout : float, optional
        Wall-clock cap per sentence (default: the remaining cap).
    effort : float
        Scales the deterministic limits of a backend given by name (z3: resource units and
        allocations per sentence; QEPCAD: cells) and the number of sentences that may run out of
        them before the decision gives up (see :mod:`wellposed.closedness.budget`).
    everything_first : bool
        First ask whether P is every matrix supported on the union (:func:`everything_split_by_qe`, under the
        same counted limits); if so, P is closed and no closedness sentence is run. A false or undecided
        everything phase passes on to the closedness sentences. Skipped when the union has more than
        ``MAX_PATTERN_ENTRIES`` entries (too many nonzero patterns to split).

    Returns
    -------
    QEResult
        P is not closed iff some sentence is true; unknown on any sentence gives UNDECIDED unless
        another one is true. Sentences are built on demand and run in order of increasing nonzero
        pattern size.

    Examples
    --------
    >>> from wellposed.families import family
    >>> decide_by_qe(family("lu:2")).answer
    <Answer.NOT_CLOSED: 'not closed'>
    >>> r = decide_by_qe(family("full:2,2,1"))
    >>> r.answer, len(r.decisions)
    (<Answer.CLOSED: 'closed'>, 5)

    Notes
    -----
    Each sentence costs one process launch plus the backend's QE time, which is doubly exponential
    in the number of variables in the worst case.
    """
    from ..closedness.budget import Budget

    start = time.monotonic()
    p = check_pattern(pattern)
    budget = validate.timeout(timeout)
    cap = validate.timeout(sentence_timeout, "sentence_timeout")
    give_up = Budget(effort).count("qe_unknown_sentences")
    enc = _check_encoding(encoding)
    if not isinstance(everything_first, bool):
        raise InvalidSpecError(f"everything_first = {everything_first!r} must be True or False.")
    engine = _engine(backend, effort)
    everything = None
    if everything_first and not p.is_trivial() and int(p.union_mask().sum()) <= MAX_PATTERN_ENTRIES:
        everything = everything_split_by_qe(p, engine, timeout, sentence_timeout=sentence_timeout, effort=effort)
        if everything.answer is Answer.TRUE:
            return QEResult(Answer.CLOSED, engine.name, time.monotonic() - start, (), 0, None, enc.label(),
                            {"sentences": 0, "everything": True}, everything)
    total = len(zero_patterns(p, enc.symmetry, enc.zero_outside)) if (enc.zero_patterns and not p.is_trivial()) \
        else int(not p.is_trivial())
    decisions: list[Decision] = []
    skipped = 0
    witness = None
    undecided = False
    exhausted = 0
    for s in iter_closedness_sentences(p, enc):  # smallest nonzero pattern first, built on demand
        limit = cap
        if budget is not None:
            remaining = budget - (time.monotonic() - start)
            if remaining <= 0.01:
                undecided = True
                decisions.append(Decision(s.name, Answer.TIMEOUT, engine.name, 0.0, "wall-clock cap reached"))
                break
            limit = remaining if cap is None else min(remaining, cap)
        d = engine.decide(s, limit)
        decisions.append(d)
        if d.answer is Answer.TRUE:
            witness = s.info.get("zero_pattern")
            break
        if d.answer.group is Answer.UNKNOWN:
            undecided = True
            exhausted += 1
            if exhausted >= give_up or d.answer is Answer.TIMEOUT:
                break
    skipped = total - len(decisions)
    if witness is not None or any(d.answer is Answer.TRUE for d in decisions):
        answer = Answer.NOT_CLOSED
    elif undecided:
        answer = Answer.UNDECIDED
    else:
        answer = Answer.CLOSED
    info = {"sentences": total, "everything": None if everything is None else everything.value}
    return QEResult(answer, engine.name, time.monotonic() - start, tuple(decisions), skipped,
                    witness, enc.label(), info, everything)


def _query(sentence: Sentence, question: str, backend: Any, timeout: float | None) -> QueryResult:
    budget = validate.timeout(timeout)
    engine = get_backend(backend)
    if isinstance(backend, (str, list, tuple)):
        engine = engine.limited(1.0)
    start = time.monotonic()
    d = engine.decide(sentence, budget)
    return QueryResult(question, d.answer, d.backend, time.monotonic() - start, d.transcript, sentence)


def member_by_qe(pattern: Any, a0: Any, backend: Any = DEFAULT_BACKEND, timeout: float | None = None) -> QueryResult:
    """Is the rational matrix ``A0`` in ``P`` (``∃X,Y: XYᵀ = A0``)?

    Examples
    --------
    >>> from wellposed.families import family
    >>> member_by_qe(family("lu:2"), [[0, 1], [1, 0]]).value
    False
    >>> member_by_qe(family("lu:2"), [[1, 2], [3, 4]]).value
    True
    """
    p = check_pattern(pattern)
    return _query(membership_sentence(p, a0), "membership", backend, timeout)


def everything_by_qe(pattern: Any, backend: Any = DEFAULT_BACKEND, timeout: float | None = None) -> QueryResult:
    """Is every matrix supported on the union of the rank-one supports a product (``∀A ∃X,Y``)?

    True implies that ``P`` is a linear space, hence closed.

    Examples
    --------
    >>> from wellposed.families import family
    >>> everything_by_qe(family("diag:2")).value
    True
    >>> everything_by_qe(family("full:2,2,1")).value
    False
    """
    p = check_pattern(pattern)
    return _query(everything_sentence(p), "everything", backend, timeout)
