"""The z3 backend: SMT-LIB 2 with ``(check-sat-using nlqsat)``, run in a killable subprocess."""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import sys
from pathlib import Path

from .. import validate
from ..errors import BackendAnswerError, BackendNotAvailableError, InvalidSpecError
from ..formulas.nodes import Sentence
from ..formulas.printers import to_smtlib
from .answer import Answer
from .base import Backend, RawRun, run_process

__all__ = ["Z3Backend"]

# Fallback when the z3 executable is not installed but the Python package is: evaluate the script
# through the z3 API in a child interpreter (still a killable subprocess).
_RUNNER = (
    "import sys, z3\n"
    "text = sys.stdin.read()\n"
    "try:\n"
    "    out = z3.Z3_eval_smtlib2_string(z3.main_ctx().ref(), text)\n"
    "except z3.Z3Exception as exc:\n"
    "    msg = exc.value.decode() if isinstance(exc.value, bytes) else str(exc.value)\n"
    "    out = msg if msg.startswith('(error') else '(error \"' + msg + '\")'\n"
    "sys.stdout.write(out if out.endswith('\\n') else out + '\\n')\n"
)


def _z3_executable() -> str | None:
    found = shutil.which("z3")
    if found:
        return found
    beside = Path(sys.executable).parent / "z3"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return None


class Z3Backend(Backend):
    """z3's ``nlqsat`` tactic (QSAT over nonlinear real arithmetic) on SMT-LIB 2 scripts.

    Parameters
    ----------
    tactic : str
        The z3 tactic given to ``check-sat-using`` (default ``nlqsat``, the z3 procedure that
        decides quantified nonlinear real sentences).
    memory_mb : int or None
        Memory cap passed to z3 (``-memory:``), ``None`` for no cap.
    rlimit : int or None
        z3 resource limit per sentence (``rlimit=``: z3 counts its elementary steps and answers
        ``unknown`` when the count is reached, at the same point on every machine).
    allocations : int or None
        Cap on z3's memory allocations per sentence (``memory_max_alloc_count=``): also a count, it
        bounds polynomial arithmetic that runs long between two resource steps.

    Examples
    --------
    >>> Z3Backend().parse("unsat\\n")
    <Answer.FALSE: 'false'>
    >>> Z3Backend().parse("timeout\\n")
    <Answer.TIMEOUT: 'timeout'>
    """

    name = "z3"
    fmt = "smtlib"
    description = "z3 SMT solver, tactic nlqsat (quantified nonlinear real arithmetic)"
    embedded = True
    alternation = True
    complete = True
    install_hint = "pip install z3-solver"

    def __init__(self, tactic: str = "nlqsat", memory_mb: int | None = 4096, rlimit: int | None = None,
                 allocations: int | None = None) -> None:
        if not isinstance(tactic, str) or not tactic.replace("-", "").replace("_", "").isalnum():
            raise InvalidSpecError(f"tactic = {tactic!r} must be a z3 tactic name such as 'nlqsat'.")
        for label, value, low in (("memory_mb", memory_mb, 16), ("rlimit", rlimit, 1), ("allocations", allocations, 1)):
            if value is not None:
                validate.integer(value, label, low=low, hint="or None")
        self.tactic = tactic
        self.memory_mb = memory_mb
        self.rlimit = rlimit
        self.allocations = allocations

    def limited(self, effort: float) -> Z3Backend:
        from ..closedness.budget import Budget

        b = Budget(effort)
        return Z3Backend(self.tactic, self.memory_mb, b.count("qe_rlimit"), b.count("qe_allocations"))

    @classmethod
    def available(cls) -> bool:
        return _z3_executable() is not None or importlib.util.find_spec("z3") is not None

    @classmethod
    def version(cls) -> str | None:
        if importlib.util.find_spec("z3") is not None:
            import z3

            return str(z3.get_version_string())
        exe = _z3_executable()
        if exe is None:
            return None
        run = run_process([exe, "--version"], "", 10.0)
        return run.stdout.strip().removeprefix("Z3 version ") or None

    def render(self, sentence: Sentence) -> str:
        return to_smtlib(sentence, tactic=self.tactic)

    def command(self, timeout: float | None) -> list[str]:
        """The command line used by :meth:`run`."""
        exe = _z3_executable()
        if exe is None:
            if importlib.util.find_spec("z3") is None:
                raise BackendNotAvailableError(f"z3 is not installed; install it with: {self.install_hint}")
            return [sys.executable, "-c", _RUNNER]
        argv = [exe, "-smt2", "-in"]
        if timeout is not None:
            argv.append(f"-T:{math.ceil(timeout) + 1}")
        if self.memory_mb is not None:
            argv.append(f"-memory:{self.memory_mb}")
        if self.allocations is not None:
            argv.append(f"memory_max_alloc_count={self.allocations}")
        return argv

    def run(self, text: str, timeout: float | None) -> RawRun:
        timeout = validate.timeout(timeout)
        if self.rlimit is not None:  # an SMT-LIB option: honoured by the executable and by the API fallback
            text = f"(set-option :rlimit {self.rlimit})\n" + text
        return run_process(self.command(timeout), text, timeout)

    def parse(self, text: str) -> Answer:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if any("out of memory" in ln.lower() or "allocation counts" in ln.lower() for ln in lines):
            return Answer.RESOURCE_OUT
        errors = [ln for ln in lines if ln.startswith("(error")]
        if errors:
            raise BackendAnswerError(f"z3 reported an error: {errors[0]}", transcript=text)
        for ln in lines:
            if ln in ("sat", "unsat", "unknown", "timeout"):
                return {"sat": Answer.TRUE, "unsat": Answer.FALSE, "unknown": Answer.UNKNOWN,
                        "timeout": Answer.TIMEOUT}[ln]
        raise BackendAnswerError("z3 output has no sat/unsat/unknown line.", transcript=text)
