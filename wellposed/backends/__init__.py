"""Quantifier-elimination backends (z3, QEPCAD B) behind one interface, and QE decisions."""

from .base import Answer, Backend, Decision, RawRun, run_process
from .decide import QEAnswer, QEResult, QueryResult, decide_by_qe, everything_by_qe, member_by_qe
from .registry import DEFAULT_PREFERENCE, backend_classes, get_backend, installed_backends

__all__ = [
    "Answer", "Backend", "Decision", "RawRun", "run_process",
    "QEAnswer", "QEResult", "QueryResult", "decide_by_qe", "everything_by_qe", "member_by_qe",
    "DEFAULT_PREFERENCE", "backend_classes", "get_backend", "installed_backends",
]
