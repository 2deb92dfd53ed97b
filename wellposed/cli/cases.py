"""``wellposed cases [NAME]``: the case catalogue (named patterns with their expected verdicts and provenance)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["NAME", "add_parser", "run"]

NAME = "cases"

_DESCRIPTION = """\
List the case catalogue: the named support patterns shipped with wellposed, each with its shape, the
verdicts it is expected to get (tractable, closed), a one-line description and its provenance. Any SPEC
argument accepts case:NAME (e.g. `wellposed analyze case:lu-2`). With NAME, show that case in full: its
masks I and J, expected verdicts and source. --path prints where the files are, e.g. to classify the whole
catalogue: wellposed batch "$(wellposed cases --path)" --out cases.jsonl"""


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed cases``."""
    p = subparsers.add_parser(NAME, help="list the case catalogue (named patterns, spec case:NAME)",
                              description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", nargs="?", default=None,
                   help="show this case in full (its masks, expected verdicts and source)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--path", action="store_true",
                   help="print only the catalogue folder (with NAME: the case file), wherever it is installed")
    p.set_defaults(func=run)


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else "?"


def _summary(p: Any) -> dict[str, Any]:
    expected = dict(p.expected)
    return {"name": p.name, "spec": f"case:{p.name}", "m": p.m, "n": p.n, "r": p.r,
            "tractable": expected.get("tractable"), "closed": expected.get("closed"),
            "description": p.description, "source": p.source}


def _show_one(name: str, as_json: bool) -> None:
    from ..catalogue import load_case

    p = load_case(name.removeprefix("case:"), parameter="NAME")
    if as_json:
        print(json.dumps({"spec": f"case:{p.name}", "m": p.m, "n": p.n, "r": p.r, **p.to_json()},
                         ensure_ascii=False, indent=1))
        return
    expected = ", ".join(f"{key} {_yes_no(value)}" for key, value in p.expected.items()) or "none recorded"
    rows_x, rows_y = p.to_json()["x_support"], p.to_json()["y_support"]
    print(f"case:{p.name} — {p.description}")
    print(f"  shape: {p.m}×{p.n}, r = {p.r}")
    print(f"  expected: {expected}")
    print(f"  source: {p.source or 'not recorded'}")
    width = max(p.r, len("I (x_support)"))
    print(f"  {'I (x_support)':<{width}}  J (y_support)")
    for i in range(max(p.m, p.n)):
        left = rows_x[i] if i < p.m else ""
        right = rows_y[i] if i < p.n else ""
        print(f"  {left:<{width}}  {right}".rstrip())
    print(f"  analyze it: wellposed analyze case:{p.name}")


def run(args: argparse.Namespace) -> int:
    from ..catalogue import case_file, catalogue_dir, census_names, load_cases

    if args.path:
        folder = catalogue_dir()  # a folder on disk (an install inside an archive is refused with the fix)
        print(folder if args.name is None else case_file(args.name.removeprefix("case:"), parameter="NAME"))
        return 0
    if args.name is not None:
        _show_one(args.name, args.json)
        return 0
    rows = [_summary(p) for p in load_cases()]
    census = census_names()
    if args.json:
        print(json.dumps({"cases": rows, "census": census}, ensure_ascii=False, indent=1))
        return 0
    width = max(len(row["name"]) for row in rows)
    shapes = [f"{row['m']}×{row['n']}, r={row['r']}" for row in rows]
    shape_width = max(len(s) for s in shapes)
    print(f"{'name':<{width}}  {'shape':<{shape_width}}  tractable  closed  description")
    for row, shape in zip(rows, shapes, strict=True):
        print(f"{row['name']:<{width}}  {shape:<{shape_width}}  {_yes_no(row['tractable']):<9}  "
              f"{_yes_no(row['closed']):<6}  {row['description']}")
    print(f"{len(rows)} cases; tractable and closed are the verdicts each case is expected to get.")
    print("Analyze one with `wellposed analyze case:NAME`; show its masks and source with `wellposed cases NAME`.")
    if census:
        print(f"Census results shipped with the catalogue: {', '.join(census)}.")
    return 0
