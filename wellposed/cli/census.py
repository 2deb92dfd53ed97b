"""``wellposed census --out FILE``: closedness of every pattern up to a size, up to symmetry (resumable)."""

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
                    "optionally write the Markdown summary table.")
    c.add_argument("--out", required=True, help="JSONL output file (resumable)")
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
    c.add_argument("--markdown", help="also write the summary table to this Markdown file")
    add_progress_options(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed census``."""
    from ..closedness.census import read_timings, render_markdown, run_census, summarize
    from ..errors import WellposedError
    from ..io.outputs import atomic_write_text, output_error

    check_output_path(args.markdown, "--markdown")  # before the census, not after it

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
        command = (f"wellposed census --out {args.out} --max-m {args.max_m} --max-n {args.max_n} --max-r "
                   f"{args.max_r} --effort {args.effort:g}"
                   + (f" --timeout {args.timeout:g}" if args.timeout is not None else "") + f" --jobs {args.jobs}"
                   + (" --retry-undecided" if args.retry_undecided else "") + (" --restart" if args.restart else "")
                   + f" --markdown {args.markdown}")
        note = ("The undecided keys of a first full run (the same command without `--retry-undecided`, "
                "possibly with another effort) were re-tried by this command." if args.retry_undecided else "")
        # atomic: a failed write leaves no truncated table (OutputError, exit 4)
        atomic_write_text(args.markdown, render_markdown(summary, command, wall, records, note), "--markdown")
    return 0
