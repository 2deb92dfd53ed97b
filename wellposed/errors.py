"""Exception hierarchy of wellposed: one root, leaves with a mathematical meaning."""

from __future__ import annotations

__all__ = [
    "WellposedError",
    "InvalidSupportError",
    "InvalidMatrixError",
    "InvalidChainError",
    "InvalidSpecError",
    "NotTractableError",
    "BackendNotAvailableError",
    "BackendAnswerError",
    "UndecidedError",
    "CertificateError",
    "OutputError",
    "OutputConflictError",
    "ResourceLimitError",
    "WallClockCapError",
    "exit_code_for",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_PARTIAL",
    "EXIT_OUTPUT",
    "EXIT_CONFLICT",
    "EXIT_BACKEND",
    "EXIT_INTERRUPTED",
]


class WellposedError(Exception):
    """Root of every error raised on purpose by wellposed and solvers."""


class InvalidSupportError(WellposedError, ValueError):
    """A support mask (x_support / y_support) is malformed: message names parameter, value and fix."""


class InvalidMatrixError(WellposedError, ValueError):
    """A numeric matrix argument is malformed (shape, dtype, non-finite entries)."""


class InvalidChainError(WellposedError, ValueError):
    """A Kronecker-sparse pattern or chain is invalid or not chainable."""


class InvalidSpecError(WellposedError, ValueError):
    """A pattern specification (family name, file path, JSON record) cannot be read."""


class NotTractableError(WellposedError, ValueError):
    """The exact FSMF solver was asked to solve a support outside the tractability theorems."""


class BackendNotAvailableError(WellposedError, RuntimeError):
    """A QE backend is not installed; the message says how to install it."""


class BackendAnswerError(WellposedError, RuntimeError):
    """A backend produced output that could not be parsed; ``transcript`` holds it."""

    def __init__(self, message: str, transcript: str = "") -> None:
        super().__init__(message)
        self.transcript = transcript


class UndecidedError(WellposedError, RuntimeError):
    """A question was asked whose answer the engine could not establish with evidence."""


class CertificateError(WellposedError, ValueError):
    """A certificate failed its independent re-verification."""


class OutputError(WellposedError, OSError):
    """An output file cannot be written (unwritable path, a directory, a symlink loop, a full disk).

    The message names the parameter (e.g. ``--out``), the path, the operating-system reason and the fix.
    Nothing half-written is left behind: outputs are written to a temporary file and renamed.
    """


class OutputConflictError(WellposedError, RuntimeError):
    """An output file belongs to another run: another process is writing it (it is locked), or it was
    written from another input or with other options (its fingerprint differs), or by another command.
    The message says which and how to proceed (``--restart`` or another ``--out``)."""


class ResourceLimitError(WellposedError, ValueError):
    """An input is too large for the engine's limits (checked before allocating): the message says what
    would be needed and what the limit is."""


class WallClockCapError(WellposedError, RuntimeError):
    """The user's wall-clock safety cap fired (``--timeout``). Never raised by a deterministic budget."""


#: Exit code of every kind of failure; the CLI maps exceptions here and nowhere else.
#: (0 success; 3 = a batch finished but some input records were invalid; 130 = interrupted.)
EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected internal failure: a bug, please report it
EXIT_USAGE = 2  # bad input or usage: unreadable or malformed file, bad option value, input over a size limit
EXIT_PARTIAL = 3  # batch finished; some records were invalid (each has an error row)
EXIT_OUTPUT = 4  # an output cannot be written (permissions, a directory, full disk)
EXIT_CONFLICT = 5  # the output belongs to another run (locked, other input/options, other command)
EXIT_BACKEND = 6  # a required external tool is not installed (e.g. qepcad)
EXIT_INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> int:
    """The CLI exit code for an exception (the one mapping from failures to exit codes).

    Examples
    --------
    >>> exit_code_for(InvalidSpecError("bad"))
    2
    >>> exit_code_for(OutputError("disk full"))
    4
    >>> exit_code_for(KeyboardInterrupt())
    130
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, OutputConflictError):
        return EXIT_CONFLICT
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    if isinstance(exc, BackendNotAvailableError):
        return EXIT_BACKEND
    if isinstance(exc, WellposedError) and isinstance(exc, ValueError):
        return EXIT_USAGE
    return EXIT_FAILURE
