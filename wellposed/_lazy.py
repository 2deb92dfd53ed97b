"""Lazy public names of a package: each is imported from its home sub-module on first use.

Packages whose names live in heavy sub-modules (numpy, sympy, z3) export them this way, so that importing
the package, or a light sibling such as the CLI, stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``homes`` maps each lazy name to its sub-module (relative
    to the package, e.g. ``"fsmf"`` or ``"io.outputs"``); a name is imported once, then cached on the package.

    >>> getattr_, dir_ = lazy_exports("wellposed", {"SupportPattern": "support"})
    >>> getattr_("SupportPattern").__name__
    'SupportPattern'
    """
    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return __getattr__, __dir__
