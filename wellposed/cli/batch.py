"""``wellposed batch INPUT --out FILE``: classify many patterns, resumable (exit 3 if some records are invalid)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .args import add_budget_options, positive_int
from .exit_codes import EXIT_OK, EXIT_PARTIAL
from .progress import add_progress_options, progress_bar

__all__ = ["NAME", "add_parser", "run"]

NAME = "batch"


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed batch``."""
    p = subparsers.add_parser("batch", help="classify many patterns (JSONL, .npz or directory), resumable",
                       description="Classify every pattern of a JSONL file (one object per line), of an .npz "
                       "file with arrays x_support (B,m,r) and y_support (B,n,r), or of a directory of .json "
                       "case files. Rerunning with the same --out resumes; an --out written from another "
                       "input, with other options or by another command is refused (exit 5) unless --restart "
                       "is given.")
    p.add_argument("input", metavar="INPUT", help="JSONL file, .npz batch, or directory of .json files")
    p.add_argument("--out", required=True, help="output .jsonl or .csv (resumed if it exists)")
    p.add_argument("--restart", action="store_true",
                   help="start --out over (delete its rows) instead of resuming it")
    p.add_argument("--jobs", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--closedness", action="store_true", help="also decide closedness (slow)")
    add_budget_options(p, "pattern (with --closedness)")
    add_progress_options(p)
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://host:8786)")
    p.set_defaults(func=run)



def run(args: argparse.Namespace) -> int:
    from ..batch import run_batch

    with progress_bar(args, "batch", "pattern") as bar:
        summary = run_batch(args.input, args.out, jobs=args.jobs, closedness=args.closedness,
                            effort=args.effort, timeout=args.timeout,
                            progress=bar.advance if bar is not None else None,
                            scheduler=args.scheduler, restart=args.restart)
    print(f"{summary.processed} processed, {summary.skipped} already done, {summary.errors} invalid; "
          f"output: {summary.out}")
    for err in summary.first_errors:
        print(f"error: {err}", file=sys.stderr)
    if summary.errors > len(summary.first_errors):
        print(f"error: ... {summary.errors - len(summary.first_errors)} more invalid records (rows with "
              '"ok": false in the output)', file=sys.stderr)
    return EXIT_PARTIAL if summary.errors else EXIT_OK
