"""Solver backends: the QE tools of the registry behind one interface, QE decisions, and z3 in process.

Names are imported lazily (on first attribute access) so that ``wellposed.cli.backends`` stays cheap
to import.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Answer", "Backend", "Decision", "RawRun", "run_process",
    "QEResult", "QueryResult", "decide_by_qe", "everything_by_qe", "member_by_qe",
    "BACKENDS", "DEFAULT_PREFERENCE", "backend_classes", "backend_title", "get_backend", "installed_backends",
]

_WHERE = {
    "Answer": "answer",
    **dict.fromkeys(["Backend", "Decision", "RawRun", "run_process"], "base"),
    **dict.fromkeys(["QEResult", "QueryResult", "decide_by_qe", "everything_by_qe", "member_by_qe"], "decide"),
    **dict.fromkeys(["BACKENDS", "DEFAULT_PREFERENCE", "backend_classes", "backend_title", "get_backend",
                     "installed_backends"], "registry"),
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
