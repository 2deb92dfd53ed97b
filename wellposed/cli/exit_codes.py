"""Exit codes of the ``wellposed`` command: the one mapping from exceptions to exit codes.

Exit codes
----------
0  success.
1  an unexpected internal failure (please report it with the command line).
2  bad input or usage: unknown family, unreadable file, malformed mask, bad option value.
3  ``batch`` finished but some input records were invalid (each has an error row in the output).
4  an output cannot be written (permissions, a directory, a symlink loop, full disk); nothing half-written
   is left behind.
5  the output belongs to another run: another process is writing it, or it was written from another
   input, with other options or by another command (use --restart or another --out).
6  a required external tool is not installed (the message says how to install it).
7  ``census --verify``: a record of the census file does not verify (each is listed on stdout).
130  interrupted (Ctrl-C); a batch run can be resumed by running the same command again.

Library code raises the exceptions of :mod:`wellposed.errors`; only :func:`wellposed.cli.app.main` (and the
docs tool's entry point) turn them into exit codes, through :func:`exit_code_for`.
"""

from __future__ import annotations

from ..errors import BackendNotAvailableError, OutputConflictError, OutputError, WellposedError

__all__ = ["exit_code_for", "message_for", "HANDLED", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_PARTIAL",
           "EXIT_OUTPUT", "EXIT_CONFLICT", "EXIT_BACKEND", "EXIT_REFUTED", "EXIT_INTERRUPTED"]

#: Exit code of every kind of failure; this module is the only mapping from failures to exit codes.
#: (0 success; 3 = a batch finished but some input records were invalid; 130 = interrupted.)
EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected internal failure: a bug, please report it
EXIT_USAGE = 2  # bad input or usage: unreadable or malformed file, bad option value, input over a size limit
EXIT_PARTIAL = 3  # batch finished; some records were invalid (each has an error row)
EXIT_OUTPUT = 4  # an output cannot be written (permissions, a directory, full disk)
EXIT_CONFLICT = 5  # the output belongs to another run (locked, other input/options, other command)
EXIT_BACKEND = 6  # a required external tool is not installed (e.g. qepcad)
EXIT_REFUTED = 7  # census --verify: a record's claim does not verify
EXIT_INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> int:
    """The CLI exit code for an exception (the one mapping from failures to exit codes).

    Examples
    --------
    >>> from wellposed.errors import InvalidSpecError
    >>> exit_code_for(InvalidSpecError("bad"))
    2
    >>> exit_code_for(OutputError("disk full"))
    4
    >>> exit_code_for(KeyboardInterrupt())
    130
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):  # the reader of our output went away (e.g. `| head`): not a failure
        return EXIT_OK
    if isinstance(exc, MemoryError):  # the input is too large for this machine: a usage limit, like the budget
        return EXIT_USAGE
    if isinstance(exc, OutputConflictError):
        return EXIT_CONFLICT
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    if isinstance(exc, BackendNotAvailableError):
        return EXIT_BACKEND
    if isinstance(exc, WellposedError) and isinstance(exc, ValueError):
        return EXIT_USAGE
    return EXIT_FAILURE


def message_for(exc: BaseException) -> str | None:
    """The one line printed on stderr for a failure that :func:`exit_code_for` maps (None: print nothing).

    >>> message_for(KeyboardInterrupt())
    'interrupted'
    >>> message_for(BrokenPipeError()) is None
    True
    """
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, BrokenPipeError):
        return None
    if isinstance(exc, MemoryError):
        return ("error: out of memory; the input is too large for this machine (try a smaller pattern or split "
                "the work)")
    return f"error: {exc}"


#: The exceptions the entry point turns into exit codes (anything else is a bug: a traceback and exit 1).
HANDLED = (WellposedError, KeyboardInterrupt, BrokenPipeError, MemoryError)
