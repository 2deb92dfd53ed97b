"""The one progress bar of the long commands (batch, census, closedness, factor, network), on stderr.

A bar is shown when stderr is a terminal, or when ``--progress`` asks for it (a log file, a pipe);
``--quiet`` turns it off. Standard output is never touched, so pipes and pinned outputs stay the same.
The libraries know nothing of it: they take an optional ``progress(done, total)`` callback, and
:func:`progress_bar` gives the CLI one (tqdm is imported only when a bar is shown).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["add_progress_options", "progress_bar", "wants_progress", "ProgressBar"]


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--quiet`` (mutually exclusive): force the progress bar on stderr, or turn it off."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", action="store_true",
                       help="show a progress bar on stderr even when it is not a terminal")
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def wants_progress(args: argparse.Namespace, stream: IO[str] | None = None) -> bool:
    """Whether to show a bar: ``--progress`` given, or ``stream`` (default stderr) a terminal and no ``--quiet``.

    >>> wants_progress(argparse.Namespace(progress=True, quiet=False))
    True
    >>> wants_progress(argparse.Namespace(progress=False, quiet=True))
    False
    """
    if getattr(args, "quiet", False):
        return False
    if getattr(args, "progress", False):
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class ProgressBar:
    """A tqdm bar driven by the libraries' callbacks: call it with ``(done, total)`` (absolute counts), or
    :meth:`advance` it by a number of finished items (the batch runner's callback)."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def advance(self, count: int = 1) -> None:
        """``count`` more items are finished."""
        self._bar.update(count)


@contextmanager
def progress_bar(args: argparse.Namespace, desc: str, unit: str, total: int | None = None,
                 stream: IO[str] | None = None) -> Iterator[ProgressBar | None]:
    """A :class:`ProgressBar` on ``stream`` (default stderr) if :func:`wants_progress`, else ``None``; closed on exit.

    Examples
    --------
    >>> import io
    >>> err = io.StringIO()
    >>> with progress_bar(argparse.Namespace(progress=True, quiet=False), "demo", "step", stream=err) as bar:
    ...     for i in range(1, 4):
    ...         bar(i, 3)
    >>> "3/3" in err.getvalue()
    True
    >>> with progress_bar(argparse.Namespace(progress=False, quiet=True), "demo", "step") as bar:
    ...     bar is None
    True
    """
    stream = sys.stderr if stream is None else stream
    if not wants_progress(args, stream):
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True, leave=True)
    try:
        yield ProgressBar(bar)
    finally:
        bar.close()
