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
