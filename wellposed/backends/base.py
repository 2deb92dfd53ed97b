"""The QE backend interface: answers, raw runs, and a subprocess runner that always times out cleanly."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .. import validate
from ..errors import BackendAnswerError, InvalidSpecError
from ..formulas.nodes import Const, Sentence
from .answer import Answer

__all__ = ["RawRun", "Decision", "Backend", "run_process"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawRun:
    """One process run: what was sent, what came back, how long it took, whether it was killed."""

    argv: tuple[str, ...]
    stdin: str
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool
    returncode: int | None
    pgid: int | None = None

    def transcript(self) -> str:
        """Command, input, output and error streams as one text."""
        status = "killed after timeout" if self.timed_out else f"exit code {self.returncode}"
        return (f"$ {' '.join(self.argv)}   # {status}, {self.seconds:.3f} s\n--- stdin\n{self.stdin}"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


@dataclass(frozen=True)
class Decision:
    """A backend's answer about one sentence, with its timing and transcript."""

    sentence: str
    answer: Answer
    backend: str
    seconds: float
    transcript: str


def run_process(
    argv: Sequence[str], stdin: str, timeout: float | None, env: Mapping[str, str] | None = None
) -> RawRun:
    """Run ``argv`` in a new process group with ``stdin`` as input; kill the whole group on timeout.

    ``timeout`` is a wall-clock safety cap in seconds (None: wait for the tool, whose own counted
    limits must then bound it).

    Never leaves a process behind: on timeout (or any exception while waiting) the process group
    receives SIGKILL and is reaped before returning.

    Examples
    --------
    >>> run_process(["cat"], "hello\\n", 5.0).stdout
    'hello\\n'
    >>> run = run_process(["sh", "-c", "sleep 30"], "", 0.2)
    >>> run.timed_out, run.returncode is not None
    (True, True)
    """
    timeout = validate.timeout(timeout)
    full_env = None if env is None else {**os.environ, **env}
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env=full_env,
    )
    pgid = proc.pid  # start_new_session: the child leads its own group
    timed_out = False
    try:
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(pgid)
            out, err = proc.communicate()
    except BaseException:
        _kill_group(pgid)
        proc.wait()
        raise
    _kill_group(pgid)  # grandchildren that outlived the leader
    seconds = time.monotonic() - start
    logger.debug("%s: %.3f s, timed_out=%s, rc=%s", argv[0], seconds, timed_out, proc.returncode)
    return RawRun(tuple(argv), stdin, out or "", err or "", seconds, timed_out, proc.returncode, pgid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Backend(ABC):
    """A quantifier-elimination tool: ``render`` a sentence, ``run`` the text, ``parse`` the output.

    Subclasses declare their capabilities as class attributes, check availability without importing
    or launching anything, and import or launch lazily.
    """

    #: registry name
    name: ClassVar[str]
    #: printer format used by :meth:`render` (a key of ``wellposed.formulas.FORMATS``)
    fmt: ClassVar[str]
    #: one-line description
    description: ClassVar[str]
    #: installed with wellposed itself (a Python dependency)
    embedded: ClassVar[bool] = False
    #: decides sentences with quantifier alternation (∃∀∃)
    alternation: ClassVar[bool] = True
    #: complete on the sentences it is given (given enough time and memory)
    complete: ClassVar[bool] = True
    #: how to install it
    install_hint: ClassVar[str]

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """Whether the tool is installed (cheap: no import, no launch)."""

    @classmethod
    @abstractmethod
    def version(cls) -> str | None:
        """Version string (may launch the tool; for display), ``None`` if not installed."""

    @abstractmethod
    def render(self, sentence: Sentence) -> str:
        """The tool's input text for ``sentence`` (pure)."""

    @abstractmethod
    def run(self, text: str, timeout: float | None) -> RawRun:
        """Run the tool on ``text`` with a hard wall-clock ``timeout`` in seconds (None: no cap)."""

    @abstractmethod
    def parse(self, text: str) -> Answer:
        """Read the answer from the tool's output (pure); raise :class:`BackendAnswerError` if unreadable."""

    def limited(self, effort: float) -> Backend:
        """This backend with its deterministic resource limits scaled by ``effort`` (a count per sentence:
        z3 resource units and allocations, QEPCAD cells). The default returns ``self``: a backend
        without counted limits is only bounded by the wall-clock ``timeout`` given to :meth:`decide`."""
        return self

    def decide(self, sentence: Sentence, timeout: float | None) -> Decision:
        """Render, run and parse; a wall-clock ``timeout`` (None: no cap) that fires gives
        :attr:`Answer.TIMEOUT`, never an exception.

        A constant sentence (``TRUE``/``FALSE``) is answered without running the tool.
        """
        timeout = validate.timeout(timeout)
        if not isinstance(sentence, Sentence):
            raise InvalidSpecError(f"sentence = {sentence!r} must be a wellposed.formulas.Sentence.")
        if isinstance(sentence.formula, Const):
            answer = Answer.TRUE if sentence.formula.value else Answer.FALSE
            return Decision(sentence.name, answer, "constant", 0.0, f"constant sentence: {answer.value}")
        return self.decide_text(self.render(sentence), sentence.name, timeout)

    def decide_text(self, text: str, name: str, timeout: float | None) -> Decision:
        """Run and parse ``text``, an input already in the tool's syntax (the second half of :meth:`decide`;
        ``name`` labels the decision)."""
        timeout = validate.timeout(timeout)
        raw = self.run(text, timeout)
        if raw.timed_out:
            return Decision(name, Answer.TIMEOUT, self.name, raw.seconds, raw.transcript())
        try:
            answer = self.parse(raw.stdout)
        except BackendAnswerError as exc:
            raise BackendAnswerError(f"{self.name} on sentence {name!r}: {exc}", transcript=raw.transcript()) from None
        return Decision(name, answer, self.name, raw.seconds, raw.transcript())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
