"""Command-line interface: ``wellposed analyze | batch | families | ...``.

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
130  interrupted (Ctrl-C); a batch run can be resumed by running the same command again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ._commands import COMMAND_MODULES
from .cli_args import add_budget_options
from .cli_args import positive_int as _positive_int
from .errors import (
    EXIT_BACKEND,
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_PARTIAL,
    EXIT_USAGE,
    WellposedError,
    exit_code_for,
)

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_PARTIAL", "EXIT_OUTPUT",
           "EXIT_CONFLICT", "EXIT_BACKEND", "EXIT_INTERRUPTED"]


_EPILOG = """Convention: A ≈ X Yᵀ, X is m×r with mask I (x_support), Y is n×r with mask J (y_support).
SPEC is a .json case file, a .npz file with arrays x_support/y_support, or a family such as lu:3
(see `wellposed families`). Exit codes: 0 ok, 1 internal failure (a bug), 2 bad input, 3 batch with invalid
records, 4 output not writable, 5 output belongs to another run, 6 tool not installed, 130 interrupted."""






def _print_analysis(rec: dict[str, Any]) -> None:
    title = rec["name"] or "pattern"
    print(f"{title}: A is {rec['m']}×{rec['n']}, r = {rec['r']} components ({rec['free_entries']} free entries)")
    if rec.get("description"):
        print(f"  {rec['description']}")
    if rec["empty_components"]:
        print(f"  empty components (ignored): {rec['empty_components']}")
    print(f"  classes of identical rank-one supports: {rec['num_classes']} "
          f"({rec['num_complete_classes']} complete)")
    for c in rec["classes"][:20]:
        mark = " complete" if c["complete"] else ""
        print(f"    components {c['components']}: rows {c['rows']} × cols {c['cols']}{mark}")
    if rec.get("decided_from"):
        print(f"    (decided from the {rec['decided_from']}; add --full to list the classes)")
    elif rec["num_classes"] > len(rec["classes"][:20]):
        print(f"    ... {rec['num_classes'] - len(rec['classes'][:20])} more")
    g = rec["graph"]
    rel = g["edges_by_relation"]
    print(f"  support graph: {g['nodes']} nodes, {g['edges']} edges (identical {rel['identical']}, nested "
          f"{rel['nested']}, partial {rel['partial']}), {g['connected_components']} connected component(s)")
    verdict = "yes" if rec["tractable"] else "no"
    print(f"  tractable: {verdict} [{rec['tractable_method']}]")
    print(f"    {rec['tractable_reason']}")
    closed = rec.get("closed")
    text = {True: "yes (well-posed for every A)", False: "no (ill-posed for some A)", None: "undecided"}[closed]
    if rec.get("closed_method") is None and closed is None:
        text = "not computed"
    print(f"  closed: {text}" + (f" [{rec['closed_method']}]" if rec.get("closed_method") else ""))
    if rec.get("closed_reason") and rec.get("closed_method"):
        print(f"    {rec['closed_reason']}")
    if rec.get("expected"):
        print(f"  expected (from the case file): {rec['expected']}")
    print(f"  time: {rec['seconds']:.3f} s")


def _check_output_suffix(path: str | None, parameter: str, allowed: tuple[str, ...]) -> None:
    """Refuse an output file name whose extension selects no known format (bad usage: exit 2)."""
    from pathlib import Path

    from .errors import InvalidSpecError

    if path is not None and Path(path).suffix.lower() not in allowed:
        raise InvalidSpecError(f"{parameter} = {path!r}: use a {', '.join(allowed[:-1])} or {allowed[-1]} extension.")


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze, analyze_spec
    from .cli_args import check_output_path
    from .families import load_pattern
    from .graph import GRAPH_SUFFIXES, PICTURE_SUFFIXES, draw_pattern, export_graph, support_graph

    _check_output_suffix(args.graph, "--graph", GRAPH_SUFFIXES)  # before the work, not after it
    _check_output_suffix(args.picture, "--picture", PICTURE_SUFFIXES)
    check_output_path(args.graph, "--graph")
    check_output_path(args.picture, "--picture")
    if args.graph or args.picture:  # pictures and graph files need the masks
        pattern = load_pattern(args.spec)
        rec = analyze(pattern, closedness=not args.no_closedness, backend=args.backend, effort=args.effort,
                      timeout=args.timeout, full=args.full)
    else:  # Kronecker-sparse families are decided from their description, without masks
        rec = analyze_spec(args.spec, closedness=not args.no_closedness, backend=args.backend, effort=args.effort,
                           timeout=args.timeout, full=args.full)
    if args.graph:  # written atomically; an unwritable path is an OutputError (exit 4)
        rec["graph_file"] = str(export_graph(support_graph(pattern), args.graph, "--graph"))
    if args.picture:
        rec["picture_file"] = str(draw_pattern(pattern, args.picture, parameter="--picture"))
    if args.json:
        print(json.dumps(rec, ensure_ascii=False))
    else:
        _print_analysis(rec)
        for key in ("graph_file", "picture_file"):
            if key in rec:
                print(f"  wrote {rec[key]}")
    return EXIT_OK


def _cmd_families(args: argparse.Namespace) -> int:
    from .families import FAMILY_HELP

    print(FAMILY_HELP)
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit="pattern", desc="batch", file=sys.stderr)
    try:
        summary = run_batch(args.input, args.out, jobs=args.jobs, closedness=args.closedness,
                            effort=args.effort, timeout=args.timeout, progress=bar.update if bar is not None else None,
                            scheduler=args.scheduler, restart=args.restart)
    finally:
        if bar is not None:
            bar.close()
    print(f"{summary.processed} processed, {summary.skipped} already done, {summary.errors} invalid; "
          f"output: {summary.out}")
    for err in summary.first_errors:
        print(f"error: {err}", file=sys.stderr)
    if summary.errors > len(summary.first_errors):
        print(f"error: ... {summary.errors - len(summary.first_errors)} more invalid records (rows with "
              '"ok": false in the output)', file=sys.stderr)
    return EXIT_PARTIAL if summary.errors else EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one ``error: ...`` line (the contract of every failure), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wellposed`` command (core commands plus registered modules)."""
    parser = _Parser(
        prog="wellposed",
        description="Is a fixed-support matrix factorization well-posed (closed) and tractable?",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"wellposed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("analyze", help="classify one pattern: classes, graph, tractability, closedness",
                       description="Classify one support pattern and say why.", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="case file (.json/.npz) or family spec such as lu:3")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-closedness", action="store_true", help="skip the closedness engine")
    p.add_argument("--full", action="store_true",
                   help="list every class, component, part and the whole canonical key in --json (default: lists "
                        "cut at 20 items, each cut list with a KEY_total count, so the record stays small)")
    p.add_argument("--backend", default="z3", help="QE backend for the last stage (z3 or qepcad)")
    add_budget_options(p)
    p.add_argument("--graph", metavar="FILE", help="write the rank-one support graph (.graphml or .json)")
    p.add_argument("--picture", metavar="FILE", help="draw the masks and rank-one supports (.png/.svg)")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("batch", help="classify many patterns (JSONL, .npz or directory), resumable",
                       description="Classify every pattern of a JSONL file (one object per line), of an .npz "
                       "file with arrays x_support (B,m,r) and y_support (B,n,r), or of a directory of .json "
                       "case files. Rerunning with the same --out resumes; an --out written from another "
                       "input, with other options or by another command is refused (exit 5) unless --restart "
                       "is given.")
    p.add_argument("input", metavar="INPUT", help="JSONL file, .npz batch, or directory of .json files")
    p.add_argument("--out", required=True, help="output .jsonl or .csv (resumed if it exists)")
    p.add_argument("--restart", action="store_true",
                   help="start --out over (delete its rows) instead of resuming it")
    p.add_argument("--jobs", type=_positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--closedness", action="store_true", help="also decide closedness (slow)")
    add_budget_options(p, "pattern (with --closedness)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://host:8786)")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("families", help="list the named pattern families")
    p.set_defaults(func=_cmd_families)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wellposed`` console script; returns the exit code.

    Exceptions become exit codes here and nowhere else (:func:`wellposed.errors.exit_code_for`): every
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
    except WellposedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except MemoryError:
        print("error: out of memory; the input is too large for this machine (try a smaller pattern or "
              "split the work)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
