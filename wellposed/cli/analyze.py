"""``wellposed analyze SPEC``: classes, support graph, tractability and closedness of one pattern."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .args import EPILOG, add_backend_option, add_budget_options, check_output_path

if TYPE_CHECKING:  # pragma: no cover - the analysis is imported when the command runs
    from ..analysis import Analysis

__all__ = ["NAME", "add_parser", "run"]

NAME = "analyze"


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed analyze``."""
    p = subparsers.add_parser("analyze", help="classify one pattern: classes, graph, tractability, closedness",
                       description="Classify one support pattern and say why.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="case file (.json/.npz), case:NAME or family spec such as lu:3")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-closedness", action="store_true", help="skip the closedness engine")
    p.add_argument("--full", action="store_true",
                   help="list every class, component, part and the whole canonical key in --json (default: lists "
                        "cut at 20 items, each cut list with a KEY_total count, so the record stays small)")
    add_backend_option(p)
    add_budget_options(p)
    p.add_argument("--graph", metavar="FILE", help="write the rank-one support graph (.graphml or .json)")
    p.add_argument("--picture", metavar="FILE", help="draw the masks and rank-one supports (.png/.svg)")
    p.set_defaults(func=run)



def _listed(record: dict[str, Any], key: str) -> str:
    """``record[key]`` as a list, ending in ``… (N in all)`` when the record cut it (a ``KEY_total`` sibling)."""
    items, total = record[key], record.get(f"{key}_total")
    if total is None or total <= len(items):
        return str(items)
    return f"[{', '.join(map(str, items))}, … ({total} in all)]"


def _print_analysis(a: Analysis) -> None:
    title = a.name or "pattern"
    print(f"{title}: A is {a.m}×{a.n}, r = {a.r} components ({a.free_entries} free entries)")
    if a.description:
        print(f"  {a.description}")
    if a.empty_components:
        print(f"  empty components (ignored): {list(a.empty_components)}")
    print(f"  classes of identical rank-one supports: {a.num_classes} ({a.num_complete_classes} complete)")
    for c in a.classes[:20]:
        mark = " complete" if c["complete"] else ""
        print(f"    components {_listed(c, 'components')}: rows {_listed(c, 'rows')} × cols {_listed(c, 'cols')}{mark}")
    if a.decided_from:
        print(f"    (decided from the {a.decided_from}; add --full to list the classes)")
    elif a.num_classes > len(a.classes[:20]):
        print(f"    ... {a.num_classes - len(a.classes[:20])} more")
    g = a.graph
    rel = g["edges_by_relation"]
    print(f"  support graph: {g['nodes']} nodes, {g['edges']} edges (identical {rel['identical']}, nested "
          f"{rel['nested']}, partial {rel['partial']}), {g['connected_components']} connected component(s)")
    verdict = "yes" if a.tractable else "no"
    print(f"  tractable: {verdict} [{a.tractable_method}]")
    print(f"    {a.tractable_reason}")
    text = {True: "yes (well-posed for every A)", False: "no (ill-posed for some A)", None: "undecided"}[a.closed]
    if a.closed_method is None and a.closed is None:
        text = "not computed"
    print(f"  closed: {text}" + (f" [{a.closed_method}]" if a.closed_method else ""))
    if a.closed_reason and a.closed_method:
        print(f"    {a.closed_reason}")
    if a.expected:
        print(f"  expected (from the case file): {a.expected}")
    print(f"  time: {a.seconds:.3f} s")


def _check_output_suffix(path: str | None, parameter: str, allowed: tuple[str, ...]) -> None:
    """Refuse an output file name whose extension selects no known format (bad usage: exit 2)."""
    from pathlib import Path

    from ..errors import InvalidSpecError

    if path is not None and Path(path).suffix.lower() not in allowed:
        raise InvalidSpecError(f"{parameter} = {path!r}: use a {', '.join(allowed[:-1])} or {allowed[-1]} extension.")


def run(args: argparse.Namespace) -> int:
    from ..api import analyze
    from ..families import load_pattern
    from ..graph import GRAPH_SUFFIXES, PICTURE_SUFFIXES, draw_pattern, export_graph, support_graph

    _check_output_suffix(args.graph, "--graph", GRAPH_SUFFIXES)  # before the work, not after it
    _check_output_suffix(args.picture, "--picture", PICTURE_SUFFIXES)
    check_output_path(args.graph, "--graph")
    check_output_path(args.picture, "--picture")
    # pictures and graph files need the masks; otherwise Kronecker-sparse families are decided from their
    # description, without masks (wellposed.analyze of the spec)
    pattern: Any = load_pattern(args.spec) if args.graph or args.picture else args.spec
    result = analyze(pattern, closedness=not args.no_closedness, backend=args.backend, effort=args.effort,
                     timeout=args.timeout, full=args.full)
    written: dict[str, str] = {}
    if args.graph:  # written atomically; an unwritable path is an OutputError (exit 4)
        written["graph_file"] = str(export_graph(support_graph(pattern), args.graph, "--graph"))
    if args.picture:
        written["picture_file"] = str(draw_pattern(pattern, args.picture, parameter="--picture"))
    if args.json:
        print(json.dumps({**result.to_json(), **written}, ensure_ascii=False))
    else:
        _print_analysis(result)
        for path in written.values():
            print(f"  wrote {path}")
    return 0
