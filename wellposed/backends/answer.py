"""The one answer vocabulary of wellposed: what a solver says about a sentence, what the engine says about P.

Every answer — a QE tool's or an in-process solver's about a sentence, the QE layer's and the closedness
pipeline's about P — is a member of :class:`Answer`; nothing compares names or strings to translate
between layers. The module imports nothing, so every layer can import it.
"""

from __future__ import annotations

import enum

__all__ = ["Answer"]


class Answer(enum.Enum):
    """An answer, grouped by ``group`` into decided and undecided ones.

    About a sentence (``∃…``, a QE sentence, an SMT query): ``TRUE`` (sat), ``FALSE`` (unsat), and the
    undecided ``UNKNOWN`` (the tool said so, or its counted budget ran out), ``TIMEOUT`` (the wall-clock
    cap fired, the process group was killed) and ``RESOURCE_OUT`` (the tool gave up for lack of memory).

    About P_{I,J} (a closedness verdict, a QE decision): ``CLOSED``, ``NOT_CLOSED`` and ``UNDECIDED``.

    Examples
    --------
    >>> Answer.TIMEOUT.group, Answer.NOT_CLOSED.group
    (<Answer.UNKNOWN: 'unknown'>, <Answer.NOT_CLOSED: 'not closed'>)
    >>> Answer.FALSE.decided, Answer.RESOURCE_OUT.decided, Answer.UNDECIDED.decided
    (True, False, False)
    >>> Answer.NOT_CLOSED.closed, Answer.UNDECIDED.closed
    (False, None)
    """

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"  #: the tool answered "unknown", or its counted resource limit was reached
    TIMEOUT = "timeout"  #: the wall-clock cap fired (the process group was killed)
    RESOURCE_OUT = "resource-out"  #: the tool gave up for lack of memory
    CLOSED = "closed"
    NOT_CLOSED = "not closed"
    UNDECIDED = "undecided"

    @property
    def about_closedness(self) -> bool:
        """True for ``CLOSED``, ``NOT_CLOSED`` and ``UNDECIDED`` (answers about P), False for sentence answers."""
        return self in (Answer.CLOSED, Answer.NOT_CLOSED, Answer.UNDECIDED)

    @property
    def group(self) -> Answer:
        """``TRUE``, ``FALSE`` or ``UNKNOWN`` for a sentence answer (timeouts and resource exhaustion are
        unknown); the answer itself for an answer about P."""
        if self in (Answer.TIMEOUT, Answer.RESOURCE_OUT):
            return Answer.UNKNOWN
        return self

    @property
    def decided(self) -> bool:
        """True for ``TRUE``, ``FALSE``, ``CLOSED`` and ``NOT_CLOSED``."""
        return self.group not in (Answer.UNKNOWN, Answer.UNDECIDED)

    @property
    def closed(self) -> bool | None:
        """``True`` / ``False`` / ``None`` for ``CLOSED`` / ``NOT_CLOSED`` / ``UNDECIDED``; a sentence answer says
        nothing about P by itself (``ValueError``)."""
        if not self.about_closedness:
            raise ValueError(f"{self!r} answers a sentence, not whether P is closed.")
        return {Answer.CLOSED: True, Answer.NOT_CLOSED: False}.get(self)
