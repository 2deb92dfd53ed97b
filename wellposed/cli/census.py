"""``wellposed census``: closedness of every pattern up to a size, up to symmetry (resumable); re-verify a
census file from its records alone (``--verify``); render docs/census.md from census files (``--summarize``)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .args import add_backend_option, add_budget_options, check_output_path, positive_int
from .progress import add_progress_options, progress_bar

__all__ = ["NAME", "add_parser", "run"]

NAME = "census"


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed census``."""
    c = subparsers.add_parser(
        NAME, help="closedness of every pattern up to a size, up to symmetry (resumable)",
        description="Run the closedness pipeline over every support pattern with m ≤ max-m, n ≤ max-n, "
                    "r ≤ max-r up to symmetry; append JSON lines to --out (restarting skips done keys) and "
                    "optionally write the Markdown summary. --verify FILE re-checks every record of a census "
                    "file from the file alone (exit 7 if one fails); --summarize FILE... writes the Markdown "
                    "page of one or more census files without re-running them.")
    mode = c.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", help="JSONL output file (resumable)")
    mode.add_argument("--verify", metavar="FILE",
                      help="re-verify every record of this census file: certificates exactly, closed verdicts by "
                           "their theorem's condition; prints counts by method, exit 7 if a record fails")
    mode.add_argument("--summarize", nargs="+", metavar="FILE",
                      help="render the Markdown page of these census files (to --markdown, else stdout)")
    c.add_argument("--max-m", type=positive_int, default=3)
    c.add_argument("--max-n", type=positive_int, default=3)
    c.add_argument("--max-r", type=positive_int, default=3)
    add_budget_options(c)
    c.add_argument("--jobs", type=positive_int, default=1, help="worker processes")
    add_backend_option(c)
    c.add_argument("--no-qe", action="store_true", help="skip the QE stage")
    c.add_argument("--retry-undecided", action="store_true", help="run the undecided keys of --out again")
    c.add_argument("--restart", action="store_true",
                   help="start --out over (delete its records) instead of resuming it")
    c.add_argument("--markdown", help="also write the summary page to this Markdown file")
    add_progress_options(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed census``."""
    from ..io.outputs import atomic_write_text

    check_output_path(args.markdown, "--markdown")  # before the census, not after it
    if args.verify is not None:
        return _verify(args)
    if args.summarize is not None:
        from ..closedness.census import render_page

        page = render_page(args.summarize)
        if args.markdown:
            atomic_write_text(args.markdown, page, "--markdown")
        else:
            print(page, end="")
        return 0
    return _run_census(args)


def _verify(args: argparse.Namespace) -> int:
    from ..closedness.census import verify_census
    from .exit_codes import EXIT_OK, EXIT_REFUTED

    t0 = time.perf_counter()
    with progress_bar(args, "verify", "record") as bar:
        res = verify_census(args.verify, jobs=args.jobs, progress=bar)
    print(f"{res['records']} records: {res['verified']} verified, {res['undecided']} undecided (no claim), "
          f"{res['refuted']} refuted in {time.perf_counter() - t0:.1f} s")
    for method, status, count in res["by_method"]:
        print(f"  {method:30s} {status:10s} {count}")
    for problem in res["problems"]:
        print(f"refused: {problem}")
    return EXIT_REFUTED if res["problems"] else EXIT_OK


def _run_census(args: argparse.Namespace) -> int:
    from ..closedness.census import read_timings, render_page, run_census, summarize
    from ..errors import WellposedError
    from ..io.outputs import atomic_write_text, output_error

    t0 = time.perf_counter()
    try:
        with progress_bar(args, "census", "pattern") as bar:
            records = run_census(args.out, max_m=args.max_m, max_n=args.max_n, max_r=args.max_r,
                                 effort=args.effort, timeout=args.timeout, jobs=args.jobs, backend=args.backend,
                                 use_qe=not args.no_qe, retry_undecided=args.retry_undecided, progress=bar,
                                 restart=args.restart)
    except OSError as exc:  # writing --out; errors of wellposed.io.outputs are already OutputError (exit 4)
        if isinstance(exc, WellposedError):
            raise
        raise output_error("--out", args.out, exc) from None
    wall = time.perf_counter() - t0
    summary = summarize(records, read_timings(args.out))
    print(f"{summary['total']} patterns: {summary['closed']} closed, {summary['not_closed']} not closed, "
          f"{summary['undecided_count']} undecided ({100 * summary['decided_fraction']:.2f} % decided) "
          f"in {wall:.1f} s")
    for method, answer, count in summary["by_method"]:
        print(f"  {method:30s} {answer:11s} {count}")
    if args.markdown:
        # atomic: a failed write leaves no truncated page (OutputError, exit 4)
        atomic_write_text(args.markdown, render_page([args.out]), "--markdown")
    return 0
