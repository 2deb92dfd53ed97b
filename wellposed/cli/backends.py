"""The ``wellposed backends`` sub-command: which QE backends are installed and how to install the rest."""

from __future__ import annotations

import argparse
import json
import sys

from ..backends.registry import BACKENDS, backend_title

__all__ = ["NAME", "add_parser", "run"]

NAME = "backends"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``wellposed backends``."""
    parser = subparsers.add_parser(
        NAME,
        help="list the quantifier-elimination backends, installed or not",
        description=f"List each QE backend ({', '.join(backend_title(b) for b in BACKENDS)}): installed or not, "
        "version, capabilities, and how to install it. Also lists the formula formats that `--emit` can write.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--no-version", action="store_true",
                        help="do not launch the tools to read their versions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the backend table; exit code 0."""
    from ..backends.registry import DEFAULT_PREFERENCE, backend_classes
    from ..formulas.printers import FORMATS

    rows = []
    for name, cls in backend_classes().items():
        installed = cls.available()
        version = None
        if installed and not args.no_version:
            try:
                version = cls.version()
            except Exception as exc:  # a broken install must not crash the listing
                version = f"(version unreadable: {exc})"
        rows.append({
            "name": name, "installed": installed, "version": version, "format": cls.fmt,
            "embedded": cls.embedded, "alternation": cls.alternation, "description": cls.description,
            "install": cls.install_hint, "default_rank": DEFAULT_PREFERENCE.index(name)
            if name in DEFAULT_PREFERENCE else None,
        })
    if args.json:
        print(json.dumps({"backends": rows, "emit_formats": sorted(FORMATS)}, indent=2))
        return 0
    out = sys.stdout
    for row in rows:
        status = f"installed, version {row['version']}" if row["installed"] and row["version"] else (
            "installed" if row["installed"] else "NOT installed")
        out.write(f"{row['name']:<8} {status}\n")
        out.write(f"         {row['description']}; input format: {row['format']}"
                  f"{'; embedded default' if row['embedded'] else ''}\n")
        if not row["installed"]:
            out.write(f"         install: {row['install']}\n")
    out.write(f"default preference: {', '.join(DEFAULT_PREFERENCE)}\n")
    out.write(f"formula formats (--emit): {', '.join(sorted(FORMATS))} "
              "(mathematica: Resolve[..., Reals]; redlog: rlqe; run by hand)\n")
    return 0
