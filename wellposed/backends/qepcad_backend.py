"""The QEPCAD B backend: prenex input on stdin, answer read after "An equivalent quantifier-free formula"."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

from .. import validate
from ..errors import BackendAnswerError, BackendNotAvailableError
from ..formulas.nodes import Sentence
from ..formulas.printers import to_qepcad
from .answer import Answer
from .base import Backend, Decision, RawRun, run_process

__all__ = ["QepcadBackend", "qepcad_home"]

_ANSWER_MARK = "An equivalent quantifier-free formula:"
_RESOURCE_MARKS = ("Too few cells reclaimed", "prime list", "Failure occurred in")


def qepcad_home(executable: str | None = None) -> str | None:
    """The directory QEPCAD B expects in the environment variable ``qe`` (holds ``bin/qepcad.help``).

    Upstream builds need ``qe`` set; the Debian package falls back to ``/usr/lib/qepcad`` by itself.
    Returns ``$qe`` if set, else the first existing candidate: the installation prefix of the
    executable, ``<prefix>/lib/qepcad``, ``/usr/lib/qepcad``, ``/usr/local/lib/qepcad``.
    """
    if os.environ.get("qe"):
        return os.environ["qe"]
    candidates = []
    if executable:
        prefix = Path(executable).resolve().parent.parent
        candidates += [prefix, prefix / "lib" / "qepcad"]
    candidates += [Path("/usr/lib/qepcad"), Path("/usr/local/lib/qepcad")]
    for c in candidates:
        if (c / "bin" / "qepcad.help").is_file():
            return str(c)
    return None


class QepcadBackend(Backend):
    """QEPCAD B (partial cylindrical algebraic decomposition), run as a subprocess.

    Parameters
    ----------
    cells : int
        Garbage-collected memory in cells (``+N`` flag, 4 bytes each; QEPCAD's own default is
        2,000,000). Larger values cost start-up time.
    max_cells : int
        When QEPCAD runs out of cells, :meth:`decide` retries with four times as many, up to this
        many, while the time budget lasts.

    Examples
    --------
    >>> QepcadBackend().parse("Before Normalization >\\nAn equivalent quantifier-free formula:\\n\\nFALSE\\n")
    <Answer.FALSE: 'false'>
    """

    name = "qepcad"
    fmt = "qepcad"
    description = "QEPCAD B, partial cylindrical algebraic decomposition"
    embedded = False
    alternation = True
    complete = True
    install_hint = "apt-get install qepcad  (Debian/Ubuntu package; upstream: set $qe to the install dir)"

    def __init__(self, cells: int = 10_000_000, max_cells: int = 160_000_000) -> None:
        for name, value in (("cells", cells), ("max_cells", max_cells)):
            validate.integer(value, name, low=100_000, high=1_073_741_822, hint="QEPCAD's +N flag")
        self.cells = cells
        self.max_cells = max(cells, max_cells)
        self._cells = cells  # current +N value (raised temporarily by decide)

    @classmethod
    def available(cls) -> bool:
        return shutil.which("qepcad") is not None

    @classmethod
    def version(cls) -> str | None:
        exe = shutil.which("qepcad")
        if exe is None:
            return None
        home = qepcad_home(exe)
        run = run_process([exe, "-v"], "", 10.0, env={"qe": home} if home else None)
        text = (run.stdout + run.stderr).strip()
        return text.split("Version", 1)[1].strip(" -") if "Version" in text else (text or None)

    def render(self, sentence: Sentence) -> str:
        return to_qepcad(sentence)

    def limited(self, effort: float) -> QepcadBackend:
        from ..closedness.budget import Budget

        b = Budget(effort)
        return QepcadBackend(min(b.count("qepcad_cells"), 1_073_741_822),
                             min(b.count("qepcad_max_cells"), 1_073_741_822))

    def command(self, timeout: float | None) -> list[str]:
        """The command line used by :meth:`run`."""
        exe = shutil.which("qepcad")
        if exe is None:
            raise BackendNotAvailableError(f"qepcad is not installed; install it with: {self.install_hint}")
        argv = [exe, "-noecho"]
        if timeout is not None:
            argv += ["-t", str(math.ceil(timeout) + 1)]
        return argv + [f"+N{self._cells}"]

    def decide(self, sentence: Sentence, timeout: float | None) -> Decision:
        """As :meth:`Backend.decide`, retrying with 4× the cells after a memory failure, up to ``max_cells``
        (a count, so the outcome is the same on every machine; ``timeout`` is only a wall-clock cap)."""
        timeout = validate.timeout(timeout)
        start = time.monotonic()
        self._cells = self.cells
        tries = []
        while True:
            left = None if timeout is None else timeout - (time.monotonic() - start)
            if left is not None and left <= 0:
                d = Decision(sentence.name, Answer.TIMEOUT, self.name, time.monotonic() - start,
                             "wall-clock cap reached before the retry")
                break
            d = super().decide(sentence, left)
            tries.append(d.transcript)
            if d.answer is not Answer.RESOURCE_OUT or self._cells >= self.max_cells:
                break
            self._cells = min(4 * self._cells, self.max_cells)
        self._cells = self.cells
        return Decision(d.sentence, d.answer, d.backend, time.monotonic() - start, "\n".join(tries))

    def run(self, text: str, timeout: float | None) -> RawRun:
        timeout = validate.timeout(timeout)
        argv = self.command(timeout)
        home = qepcad_home(argv[0])
        return run_process(argv, text, timeout, env={"qe": home} if home else None)

    def parse(self, text: str) -> Answer:
        if _ANSWER_MARK in text:
            after = [ln.strip() for ln in text.split(_ANSWER_MARK, 1)[1].splitlines() if ln.strip()]
            if after and after[0] in ("TRUE", "FALSE"):
                return Answer.TRUE if after[0] == "TRUE" else Answer.FALSE
            raise BackendAnswerError(
                f"QEPCAD answered {after[0] if after else '(nothing)'!r} where TRUE or FALSE was expected "
                "(was the sentence closed?).", transcript=text)
        if "Exiting QEPCADB due to timeout" in text:
            return Answer.TIMEOUT
        errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Error ")]
        if errors:
            raise BackendAnswerError(f"QEPCAD rejected its input: {errors[0]}", transcript=text)
        if any(mark in text for mark in _RESOURCE_MARKS):
            return Answer.RESOURCE_OUT
        raise BackendAnswerError(f"QEPCAD output has no line {_ANSWER_MARK!r}.", transcript=text)
