"""``wellposed chain-census --out FILE``: closedness of every three-factor chain X1·X2·X3 with small dimensions."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .args import add_effort_option, check_output_path, positive_int
from .progress import add_progress_options, progress_bar

__all__ = ["NAME", "add_parser", "run"]

NAME = "chain-census"


def _dims(text: str) -> tuple[int, int, int, int]:
    parts = text.split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--dims {text!r} must be four positive integers d0,d1,d2,d3 (e.g. 2,3,2,2)")
    return values[0], values[1], values[2], values[3]


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed chain-census``."""
    c = subparsers.add_parser(
        NAME, help="closedness of every three-factor chain X1·X2·X3 up to a size, up to symmetry",
        description="Decide closedness of P = {X1 X2 X3 : supp Xi ⊆ Mi} for every chain of masks with all "
                    "dimensions ≤ --max-dim (or with exactly --dims), one class per orbit of the symmetries "
                    "(permutations of each dimension, reversal-transposition); write JSON lines to --out (a header "
                    "with the options, then one record per class) and print the counts by method.")
    c.add_argument("--out", required=True, help="JSONL output file (rewritten atomically)")
    c.add_argument("--max-dim", type=positive_int, default=2, help="largest dimension d0..d3 (default 2)")
    c.add_argument("--dims", type=_dims, help="only chains of these dimensions d0,d1,d2,d3 (and their reversal)")
    c.add_argument("--cross-check", action="store_true",
                   help="also run the chain QE stage on every class decided by a rule and record its answer")
    add_effort_option(c)
    add_progress_options(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed chain-census``."""
    from ..network.chain_census import run_chain_census, summarize_chain_census

    check_output_path(args.out, "--out")
    t0 = time.perf_counter()
    with progress_bar(args, NAME, "class") as bar:
        records = run_chain_census(args.out, max_dim=args.max_dim, dims=args.dims, effort=args.effort,
                                   cross_check=args.cross_check, progress=bar)
    s = summarize_chain_census(records)
    print(f"{s['total']} classes: {s['closed']} closed, {s['not_closed']} not closed, {len(s['undecided'])} "
          f"undecided in {time.perf_counter() - t0:.1f} s")
    for (method, answer), count in s["by_method"]:
        print(f"  {method:28s} {answer:11s} {count}")
    if args.cross_check:
        print(f"cross-checked by chain QE: {s['cross_checked']} classes, {len(s['disagreements'])} disagreement(s)")
    return 0
