"""The ``wellposed`` command: the parser of every sub-command and the entry point.

Each sub-command lives in its own module of this package (``NAME``, ``add_parser``, ``run``); :data:`COMMANDS`
lists them in the order of ``wellposed --help``. Modules are cheap to import: heavy imports sit inside ``run``.
Exceptions become exit codes in :func:`main` and nowhere else (:mod:`wellposed.cli.exit_codes`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import (
    analyze,
    backends,
    batch,
    cases,
    census,
    chain_census,
    closedness,
    demo,
    factor,
    families,
    network,
    quantize,
    report,
    solve,
)
from .args import EPILOG
from .exit_codes import EXIT_USAGE, HANDLED, exit_code_for, message_for

__all__ = ["main", "build_parser", "COMMANDS"]

#: The sub-command modules, in the order ``wellposed --help`` lists them.
COMMANDS = (analyze, batch, families, cases, solve, backends, demo, quantize, network, factor, closedness, census,
            chain_census, report)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one ``error: ...`` line (the contract of every failure), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wellposed`` command, every sub-command registered."""
    parser = _Parser(
        prog="wellposed",
        description="Is a fixed-support matrix factorization well-posed (closed) and tractable?",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"wellposed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wellposed`` console script; returns the exit code.

    Exceptions become exit codes here and nowhere else (:func:`wellposed.cli.exit_codes.exit_code_for`): every
    expected failure prints one ``error: ...`` line naming the input, the value and the fix.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (2) or the help/version (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        print("error: no COMMAND given; choose one of the commands listed above, e.g. `wellposed analyze lu:3`.",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except HANDLED as exc:
        message = message_for(exc)
        if message is not None:
            print(message, file=sys.stderr)
        return exit_code_for(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
