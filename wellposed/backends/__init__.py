"""Solver backends: the QE tools of the registry behind one interface, QE decisions, and z3 in process.

Names are imported lazily (on first attribute access) so that ``wellposed.cli.backends`` stays cheap
to import.
"""

from __future__ import annotations

from wellposed._lazy import lazy_exports

__all__ = [
    "Answer", "Backend", "Decision", "RawRun", "run_process",
    "QEResult", "QueryResult", "EverythingResult", "decide_by_qe", "everything_by_qe",
    "everything_split_by_qe", "member_by_qe",
    "BACKENDS", "DEFAULT_PREFERENCE", "backend_classes", "backend_title", "get_backend", "installed_backends",
]

_WHERE = {
    "Answer": "answer",
    **dict.fromkeys(["Backend", "Decision", "RawRun", "run_process"], "base"),
    **dict.fromkeys(["QEResult", "QueryResult", "EverythingResult", "decide_by_qe", "everything_by_qe",
                     "everything_split_by_qe", "member_by_qe"], "decide"),
    **dict.fromkeys(["BACKENDS", "DEFAULT_PREFERENCE", "backend_classes", "backend_title", "get_backend",
                     "installed_backends"], "registry"),
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
