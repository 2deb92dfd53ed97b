"""One-call analysis of a support pattern: the record behind ``wellposed analyze`` and batch rows."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .classify import Classification, classify
from .support import SupportPattern

__all__ = ["analyze", "analyze_spec", "batch_record", "BATCH_FIELDS", "CLOSEDNESS_FIELDS", "MAX_LISTED",
           "MAX_KEY_CHARS"]

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


#: Lists in the default ``analyze`` record are capped at this many items (``--full`` lists everything).
MAX_LISTED = 20
#: The canonical key is given in full up to this many characters; its SHA-256 digest always.
MAX_KEY_CHARS = 200
#: Above this many free entries the canonical key (a colour refinement in Python) is computed only with ``full``.
MAX_KEY_FREE_ENTRIES = 200_000


def _capped(value: Any, limit: int) -> Any:
    """``value`` with every list longer than ``limit`` cut to its first ``limit`` items (dicts recursively);
    a cut list ``key`` gets a sibling ``key_total`` with its length."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = _capped(item, limit)
            if isinstance(item, list) and len(item) > limit:
                out[f"{key}_total"] = len(item)
        return out
    if isinstance(value, list):
        return [_capped(item, limit) for item in value[:limit]]
    return value


def analyze(
    pattern: SupportPattern,
    *,
    closedness: bool = True,
    backend: str = "z3",
    effort: float = 1.0,
    timeout: float | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Everything wellposed knows about a pattern, as one JSON-ready dict.

    Keys include ``tractable``, ``tractable_reason``, ``dto``, ``classes``, ``components`` (the rank-one
    components with their row/column supports), ``graph`` (counts of the rank-one support graph with
    its ``connected_components``), ``canonical_key`` (``None`` when longer than :data:`MAX_KEY_CHARS`)
    and ``canonical_key_sha256`` (both ``None`` above :data:`MAX_KEY_FREE_ENTRIES` free entries unless
    ``full``), and the closedness fields ``closed`` (``True``/``False``/``None`` when
    undecided or not requested), ``closed_method``, ``closed_reason``, ``certificate`` and ``seconds``.
    ``effort`` and ``timeout`` are passed to :func:`wellposed.closedness.decide_closedness` (counted
    budgets; optional wall-clock cap).

    By default the record stays small for any size: lists (classes, components, parts, evidence) are
    cut at :data:`MAX_LISTED` items, each cut list ``key`` with a ``key_total``; ``full=True`` lists
    everything and gives the canonical key in full.

    Examples
    --------
    >>> from wellposed.families import family
    >>> rec = analyze(family("full:3,3,2"), closedness=False)
    >>> rec["tractable"], rec["dto"], rec["closed"]
    (True, True, None)

    Notes
    -----
    ``classify`` runs once; the support-graph counts and connected parts come from its overlapping
    pairs of classes, and the closedness pipeline reuses it.
    """
    start = time.perf_counter()
    c = classify(pattern)
    key = pattern.canonical_key() if full or pattern.num_free_entries() <= MAX_KEY_FREE_ENTRIES else None
    rec: dict[str, Any] = {
        "name": pattern.name,
        "description": pattern.description,
        "m": pattern.m,
        "n": pattern.n,
        "r": pattern.r,
        "free_entries": pattern.num_free_entries(),
        "canonical_key": key if key is not None and (full or len(key) <= MAX_KEY_CHARS) else None,
        "canonical_key_sha256": hashlib.sha256(key.encode()).hexdigest() if key is not None else None,
    }
    rec.update(c.to_json())
    rec["components"] = [
        {"index": k, "rows": list(rows), "cols": list(cols), "empty": not rows or not cols}
        for k, (rows, cols) in enumerate(_supports(pattern, None if full else MAX_LISTED))
    ]
    summary = c.graph_summary()
    summary["connected_component_members"] = [list(comps) for _, _, comps in c.parts()]
    rec["graph"] = summary
    rec.update({"closed": None, "closed_method": None, "closed_reason": "closedness not requested",
                "certificate": None})
    if closedness:
        from .closedness import decide_closedness

        verdict = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout, classification=c)
        rec.update(verdict.to_json())
    if pattern.expected:
        rec["expected"] = dict(pattern.expected)
    if not full:  # the certificate stays whole: it is small (its support) and must stay re-verifiable
        certificate = rec.pop("certificate")
        rec = _capped(rec, MAX_LISTED)
        rec["certificate"] = certificate
        if rec["r"] > MAX_LISTED:
            rec["components_total"] = pattern.r
    rec["seconds"] = round(time.perf_counter() - start, 6)
    return rec


def analyze_spec(spec: Any, *, closedness: bool = True, backend: str = "z3", effort: float = 1.0,
                 timeout: float | None = None, full: bool = False) -> dict[str, Any]:
    """:func:`analyze` of a spec or case file (as :func:`wellposed.families.load_pattern` reads it).

    A two-factor Kronecker-sparse spec (``butterfly:N:s``, ``monarch:m``, ``ks:…``) is decided from its (a, b, c, d)
    description without building masks (:func:`wellposed.kronecker_analysis.analyze_kronecker`), unless ``full``
    asks for the listings; the record then has the same keys, its lists empty with their ``*_total``
    counts, and ``decided_from`` says so.

    >>> rec = analyze_spec("butterfly:65536:8")
    >>> rec["closed"], rec["closed_method"], rec["decided_from"]
    (True, 'theorem:dto', 'kronecker description (no masks built)')
    """
    from .families import load_pattern
    from .kronecker_analysis import analyze_kronecker
    from .kronecker_spec import is_kronecker_spec

    start = time.perf_counter()
    if not full and is_kronecker_spec(spec):
        rec = analyze_kronecker(spec, closedness=closedness)
        if rec is not None:
            graph = rec["graph"]
            graph.update({"component_sizes": [], "component_sizes_total": graph["connected_components"],
                          "connected_component_members": [],
                          "connected_component_members_total": graph["connected_components"]})
            rec.update({"canonical_key": None, "canonical_key_sha256": None, "classes": [],
                        "classes_total": rec["num_classes"], "components": [], "components_total": rec["r"],
                        "decided_from": "kronecker description (no masks built)"})
            for key in ("key", "parts", "details"):
                rec.setdefault(key, [] if key == "parts" else ({} if key == "details" else ""))
            rec["seconds"] = round(time.perf_counter() - start, 6)
            return rec
    return analyze(load_pattern(spec), closedness=closedness, backend=backend, effort=effort, timeout=timeout,
                   full=full)


def _supports(pattern: SupportPattern, limit: int | None) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``rank_one_supports()`` of the first ``limit`` components (all when None)."""
    if limit is None or pattern.r <= limit:
        return pattern.rank_one_supports()
    return pattern.restrict(range(pattern.m), range(pattern.n), range(limit)).rank_one_supports()
