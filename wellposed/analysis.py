"""One-call analysis of a support pattern: the record behind ``wellposed analyze`` and batch rows."""

from __future__ import annotations

import time
from typing import Any

from .classify import Classification, classify
from .graph import graph_summary, support_graph
from .support import SupportPattern

__all__ = ["analyze", "batch_record", "BATCH_FIELDS", "CLOSEDNESS_FIELDS"]

#: Fields of a batch row (a subset of the ``analyze`` record), in CSV column order.
BATCH_FIELDS = (
    "line", "name", "m", "n", "r", "dto", "tractable", "tractable_method", "tractable_reason",
    "failing_pair", "num_classes", "num_complete_classes",
)
#: Fields added by the closedness engine.
CLOSEDNESS_FIELDS = ("closed", "closed_method", "closed_reason", "certificate")


def batch_record(c: Classification) -> dict[str, Any]:
    """The classification fields of a batch row for one pattern (no line number, no closedness).

    >>> from wellposed.families import family
    >>> rec = batch_record(classify(family("diag:3")))
    >>> rec["dto"], rec["tractable"], rec["num_classes"]
    (True, True, 3)
    """
    p = c.pattern
    return {
        "name": p.name,
        "m": p.m,
        "n": p.n,
        "r": p.r,
        "dto": c.dto,
        "tractable": c.tractable,
        "tractable_method": c.method,
        "tractable_reason": c.reason,
        "failing_pair": list(c.failing_pair) if c.failing_pair is not None else None,
        "num_classes": len(c.classes),
        "num_complete_classes": sum(k.complete for k in c.classes),
    }


def analyze(
    pattern: SupportPattern,
    *,
    closedness: bool = True,
    backend: str = "z3",
    effort: float = 1.0,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Everything wellposed knows about a pattern, as one JSON-ready dict.

    Keys include ``tractable``, ``tractable_reason``, ``dto``, ``classes``, ``components`` (the rank-one
    components with their row/column supports), ``graph`` (summary of the rank-one support graph with
    its ``connected_components``), ``canonical_key`` and the closedness fields ``closed``
    (``True``/``False``/``None`` when undecided or not requested), ``closed_method``, ``closed_reason``,
    ``certificate`` and ``seconds``. ``effort`` and ``timeout`` are passed to
    :func:`wellposed.closedness.decide_closedness` (counted budgets; optional wall-clock cap).

    Examples
    --------
    >>> from wellposed.families import family
    >>> rec = analyze(family("full:3,3,2"), closedness=False)
    >>> rec["tractable"], rec["dto"], rec["closed"]
    (True, True, None)
    """
    start = time.perf_counter()
    c = classify(pattern)
    g = support_graph(pattern, c)
    rec: dict[str, Any] = {
        "name": pattern.name,
        "description": pattern.description,
        "m": pattern.m,
        "n": pattern.n,
        "r": pattern.r,
        "free_entries": pattern.num_free_entries(),
        "canonical_key": pattern.canonical_key(),
    }
    rec.update(c.to_json())
    rec["components"] = [
        {"index": k, "rows": list(rows), "cols": list(cols), "empty": not rows or not cols}
        for k, (rows, cols) in enumerate(pattern.rank_one_supports())
    ]
    summary = graph_summary(g)
    import networkx as nx

    summary["connected_component_members"] = sorted(
        (sorted(int(k) for k in comp) for comp in nx.connected_components(g)), key=lambda v: v[0]
    )
    rec["graph"] = summary
    rec.update({"closed": None, "closed_method": None, "closed_reason": "closedness not requested",
                "certificate": None})
    if closedness:
        from .closedness import decide_closedness

        verdict = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout)
        rec.update(verdict.to_json())
    if pattern.expected:
        rec["expected"] = dict(pattern.expected)
    rec["seconds"] = round(time.perf_counter() - start, 6)
    return rec
