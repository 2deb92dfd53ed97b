"""``wellposed report SPEC --out FILE.html``: one self-contained HTML page of a pattern, its verdicts and evidence."""

from __future__ import annotations

import argparse
from typing import Any

from .args import EPILOG, add_backend_option, add_budget_options, check_output_path

__all__ = ["NAME", "add_parser", "run"]

NAME = "report"


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed report``."""
    p = subparsers.add_parser(
        "report", help="write an HTML page: masks, supports by class, support graph, verdicts, certificate curve",
        description="Analyze one pattern and write one self-contained HTML page (inline SVG and CSS, no script,\n"
        "no network): the masks I and J, the rank-one supports coloured by class, the support graph, the\n"
        "verdicts with their evidence and, for a not-closed verdict, the certificate's curve. Grids larger\n"
        "than 128 cells a side are drawn by blocks and graphs over 200 nodes summarised; the page says so.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="case file (.json/.npz) or family spec such as lu:3")
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML page to write (.html or .htm), atomically")
    p.add_argument("--no-closedness", action="store_true", help="skip the closedness engine")
    add_backend_option(p)
    add_budget_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import __version__
    from ..analysis import analyze
    from ..classify import classify
    from ..errors import InvalidSpecError
    from ..families import load_pattern
    from ..io.outputs import atomic_write_text
    from ..render import report_html

    if Path(args.out).suffix.lower() not in (".html", ".htm"):  # before the work, not after it
        raise InvalidSpecError(f"--out = {args.out!r}: use a .html or .htm extension.")
    check_output_path(args.out, "--out")
    pattern = load_pattern(args.spec)  # the pictures need the masks
    result = analyze(pattern, closedness=not args.no_closedness, backend=args.backend, effort=args.effort,
                     timeout=args.timeout)
    page = report_html(pattern, result, classify(pattern), version=__version__)
    out = atomic_write_text(args.out, page, "--out")
    print(f"wrote {out} ({len(page.encode('utf-8'))} bytes)")
    return 0
