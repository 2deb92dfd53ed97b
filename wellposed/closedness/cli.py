"""Sub-commands ``wellposed closedness SPEC`` and ``wellposed census --out FILE`` (cheap to import)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..cli_args import add_budget_options
from ..cli_args import positive_int as _positive_int

__all__ = ["add_parser", "run_closedness", "run_census_command"]

EMIT_FORMATS = ("smtlib", "qepcad", "mathematica", "redlog")






def add_parser(subparsers: Any) -> None:
    """Register ``closedness`` and ``census``."""
    p = subparsers.add_parser(
        "closedness", help="is P = {X Yᵀ} closed (FSMF well-posed for every A)? with evidence",
        description="Decide whether the set of products X Yᵀ with the given supports is closed: theorems, "
                    "not-closed certificates (limit matrix, curve, z3 non-membership proof), QE fallback.")
    p.add_argument("spec", help="pattern file (.json/.npz) or family spec such as lu:3, full:3,3,2")
    p.add_argument("--backend", choices=["z3", "qepcad"], default="z3", help="QE backend of the last stage")
    add_budget_options(p)
    p.add_argument("--no-qe", action="store_true", help="skip the QE stage")
    p.add_argument("--emit", choices=EMIT_FORMATS, metavar="FORMAT",
                   help=f"print the closedness sentence in FORMAT ({', '.join(EMIT_FORMATS)}) and exit")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run_closedness)

    c = subparsers.add_parser(
        "census", help="closedness of every pattern up to a size, up to symmetry (resumable)",
        description="Run the closedness pipeline over every support pattern with m ≤ max-m, n ≤ max-n, "
                    "r ≤ max-r up to symmetry; append JSON lines to --out (restarting skips done keys) and "
                    "optionally write the Markdown summary table.")
    c.add_argument("--out", required=True, help="JSONL output file (resumable)")
    c.add_argument("--max-m", type=_positive_int, default=3)
    c.add_argument("--max-n", type=_positive_int, default=3)
    c.add_argument("--max-r", type=_positive_int, default=3)
    add_budget_options(c)
    c.add_argument("--jobs", type=_positive_int, default=1, help="worker processes")
    c.add_argument("--backend", choices=["z3", "qepcad"], default="z3")
    c.add_argument("--no-qe", action="store_true", help="skip the QE stage")
    c.add_argument("--retry-undecided", action="store_true", help="run the undecided keys of --out again")
    c.add_argument("--restart", action="store_true",
                   help="start --out over (delete its records) instead of resuming it")
    c.add_argument("--markdown", help="also write the summary table to this Markdown file")
    c.set_defaults(func=run_census_command)


def run_closedness(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed closedness``."""
    from ..families import load_pattern
    from ..formulas import emit
    from .pipeline import decide_closedness

    pattern = load_pattern(args.spec)  # bad input raises; wellposed.cli.main maps it to its exit code
    if args.emit:
        print(emit(pattern, args.emit))
        return 0
    verdict = decide_closedness(pattern, backend=args.backend, effort=args.effort, timeout=args.timeout,
                                use_qe=not args.no_qe)
    if args.json:
        out = {"pattern": pattern.name or str(args.spec), "shape": list(pattern.shape), **verdict.to_json()}
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    answer = {True: "closed", False: "NOT closed", None: "undecided"}[verdict.closed]
    print(f"{pattern.name or args.spec}: {answer}  [{verdict.method}]  ({verdict.seconds:.3f} s)")
    print(f"  reason: {verdict.reason}")
    if verdict.certificate is not None:
        cert = verdict.certificate
        print(f"  limit matrix A*: {cert.limit_text()}")
        for name, curve in (("X", cert.x_curve), ("Y", cert.y_curve)):
            terms = ", ".join(f"{name}[{i},{k}] = " + " + ".join(f"{c}·ε^{e}" for e, c in poly)
                              for (i, k), poly in sorted(curve.items()))
            print(f"  curve {name}(ε): {terms}")
        print(f"  proof that A* ∉ P: {cert.proof.get('kind')} "
              f"(re-verified: {verdict.details.get('verification', {}).get('z3', 'n/a')} from z3)")
    return 0


def run_census_command(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed census``."""
    from ..cli_args import check_output_path
    from ..errors import WellposedError
    from ..fileio import atomic_write_text, output_error
    from .census import read_timings, render_markdown, run_census, summarize

    check_output_path(args.markdown, "--markdown")  # before the census, not after it

    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or done == total:
            last[0] = now
            print(f"census: {done}/{total} patterns ({now - t0:.0f} s)", file=sys.stderr)

    try:
        records = run_census(args.out, max_m=args.max_m, max_n=args.max_n, max_r=args.max_r, effort=args.effort,
                             timeout=args.timeout, jobs=args.jobs, backend=args.backend, use_qe=not args.no_qe,
                             retry_undecided=args.retry_undecided, progress=progress,
                             restart=args.restart)
    except OSError as exc:  # writing --out; errors of wellposed.fileio are already OutputError (exit 4)
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
