"""Argument types and helpers shared by the sub-command modules (cheap to import: no numpy at import)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .. import validate
from ..errors import WellposedError

__all__ = ["EPILOG", "positive_float", "positive_int", "timeout_seconds", "check_output_path",
           "add_budget_options", "add_backend_option", "int_type", "effort_factor"]

#: The epilog shared by the main help and the commands that take a SPEC.
EPILOG = """Convention: A ≈ X Yᵀ, X is m×r with mask I (x_support), Y is n×r with mask J (y_support).
SPEC is a .json case file, a .npz file with arrays x_support/y_support, a case such as case:lu-2 (see
`wellposed cases`) or a family such as lu:3 (see `wellposed families`). Exit codes: 0 ok, 1 internal failure
(a bug), 2 bad input, 3 batch with invalid records, 4 output not writable, 5 output belongs to another run,
6 tool not installed, 130 interrupted."""

def _argtype(convert: Callable[[str], Any], check: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the text, then ``check`` the value with :mod:`wellposed.validate`."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if convert is int else 'a number'}"
                                             ) from None
        try:
            return check(value)
        except WellposedError as exc:  # the message without a parameter name: argparse prefixes the option
            raise argparse.ArgumentTypeError(str(exc).replace(repr(value), repr(text), 1).rstrip(".")) from None

    return parse


def int_type(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in ``[low, high]``.

    >>> int_type(2, 8)("9")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '9' must be an integer from 2 to 8
    """
    return _argtype(int, lambda v: validate.integer(v, "", low=low, high=high))


#: argparse type: an integer ≥ 1 (counts, jobs, sizes).
positive_int = int_type(low=1)
#: argparse type: a finite number > 0 (tolerances, scales).
positive_float = _argtype(float, lambda v: validate.number(v, "", low=0, open_low=True))
#: argparse type: a wall-clock cap in seconds, > 0 and ≤ :data:`wellposed.validate.MAX_TIMEOUT`.
timeout_seconds = _argtype(float, lambda v: validate.timeout(v, ""))
#: argparse type: the factor on the closedness engine's counted budgets, in (0, 1000].
effort_factor = _argtype(float, lambda v: validate.effort(v, ""))


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """The ``--backend`` option of every command that decides closedness: a name of the backend registry."""
    from ..backends.registry import BACKENDS, DEFAULT_BACKEND

    parser.add_argument("--backend", choices=list(BACKENDS), default=DEFAULT_BACKEND,
                        help=f"QE backend for the last stage of the closedness engine (default {DEFAULT_BACKEND})")


def add_effort_option(parser: argparse.ArgumentParser) -> None:
    """``--effort``: the deterministic scale of the closedness engine's counted budgets."""
    parser.add_argument("--effort", type=effort_factor, default=1.0,
                        help="scale the closedness engine's counted budgets (z3 resource units, candidates); "
                        "verdicts depend on it, never on machine speed (default 1)")


def add_budget_options(parser: argparse.ArgumentParser, what: str = "pattern") -> None:
    """The closedness budget options shared by every command that decides closedness:
    ``--effort`` (deterministic) and ``--timeout`` (the user's wall-clock safety cap, off by default)."""
    add_effort_option(parser)
    parser.add_argument("--timeout", type=timeout_seconds, default=None, metavar="SECONDS",
                        help=f"wall-clock safety cap per {what} (default: none); a verdict stopped by it is "
                        "reported as 'cap:wall-clock', which depends on the machine")


def check_output_path(path: str | None, parameter: str = "--out") -> None:
    """Refuse, before the work starts, an output path that can never be written as a file.

    A directory, a symbolic link loop, a parent that is a file, or a folder without write permission
    raises :class:`~wellposed.errors.OutputError` (exit 4) naming ``parameter``. The write itself is
    atomic (:func:`wellposed.io.outputs.atomic_output`) and reports later failures such as a full disk.
    ``None`` (no output requested) passes.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_output_path(None), check_output_path(d + "/new/out.npz")
    (None, None)
    >>> check_output_path(d)
    Traceback (most recent call last):
    ...
    wellposed.errors.OutputError: --out = '...' is a directory; give a file name inside it, e.g. '.../out'.
    """
    if path is None:
        return
    import errno
    import os

    from ..errors import OutputError
    from ..io.outputs import output_error

    try:
        os.stat(path)
    except FileNotFoundError:
        pass  # a new file; missing parent folders are created on write
    except OSError as exc:  # ELOOP (symbolic link loop), ENOTDIR (a parent is a file), EACCES, ...
        raise output_error(parameter, path, exc) from None
    else:
        if os.path.isdir(path):
            example = os.path.join(path, "out" + os.path.splitext(path.rstrip(os.sep))[1])
            raise OutputError(f"{parameter} = {path!r} is a directory; give a file name inside it, e.g. {example!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
        raise output_error(parameter, path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
