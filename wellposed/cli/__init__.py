"""Command-line interface of wellposed: one module per sub-command, the entry point in :mod:`.app`.

Library modules never import this package; it imports them (inside each command's ``run``).
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["main", "build_parser"]
