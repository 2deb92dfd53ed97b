"""``wellposed families``: the named pattern families and their spec grammar."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["NAME", "add_parser", "run"]

NAME = "families"


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed families``."""
    p = subparsers.add_parser("families", help="list the named pattern families")
    p.set_defaults(func=run)



def run(args: argparse.Namespace) -> int:
    from ..families import FAMILY_HELP

    print(FAMILY_HELP)
    return 0
