"""One-call analysis of a support pattern: the :class:`Analysis` record behind ``wellposed analyze`` and batch rows.

:func:`analyze` (a pattern) and :func:`analyze_spec` (a spec or case file; Kronecker-sparse families decided
from their description) return an :class:`Analysis`: typed top-level fields, JSON-ready nested parts
(classes, components, graph counts, certificate). :meth:`Analysis.to_json` is the ``wellposed analyze
--json`` record; :meth:`Analysis.to_row` is a ``wellposed batch`` row, whose columns are :data:`ROW_FIELDS`
(and :data:`CLOSEDNESS_FIELDS`) — the vectorized batch path (:mod:`wellposed.batch.rows`) builds its rows
from the same lists.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from .backends.registry import DEFAULT_BACKEND
from .classify import classify
from .support import SupportPattern

__all__ = ["Analysis", "analyze", "analyze_spec", "ROW_FIELDS", "CLOSEDNESS_FIELDS", "MAX_LISTED", "MAX_KEY_CHARS"]

#: The classification fields of a batch row, in column order (after the row's ``line``, ``ok``, ``error``):
#: :meth:`Analysis.to_row` and the vectorized kernel's rows (:mod:`wellposed.batch.rows`) both follow it.
ROW_FIELDS = ("name", "m", "n", "r", "dto", "tractable", "tractable_method", "tractable_reason", "failing_pair",
              "num_classes", "num_complete_classes")
#: Fields added to a batch row by the closedness engine.
CLOSEDNESS_FIELDS = ("closed", "closed_method", "closed_reason", "certificate")
#: The fields of :meth:`wellposed.closedness.ClosednessVerdict.to_json`, all held by :class:`Analysis`.
_VERDICT_FIELDS = frozenset({*CLOSEDNESS_FIELDS, "seconds", "key", "parts", "details"})
#: Marks the record of a Kronecker-sparse family decided from its description (:func:`analyze_spec`).
KRONECKER_DESCRIPTION = "kronecker description (no masks built)"


@dataclass(frozen=True)
class Analysis:
    """Everything wellposed knows about a pattern (the result of :func:`analyze` / :func:`analyze_spec`).

    Scalars are typed; ``classes``, ``components``, ``graph``, ``certificate``, ``parts``, ``details``,
    ``expected`` and ``kronecker`` hold their JSON form. Unless ``full``, lists are cut at
    :data:`MAX_LISTED` items, a cut list ``X`` having its length in ``X_total`` (top level) or in a sibling
    ``"X_total"`` key (nested). ``key``, ``parts`` and ``details`` are ``None`` when closedness was not
    decided (for a Kronecker-sparse family: empty). ``decided_from`` and ``kronecker`` are set for a
    Kronecker-sparse family decided from its description.

    Examples
    --------
    >>> from wellposed.families import family
    >>> a = analyze(family("lu:2"), closedness=False)
    >>> a.tractable, a.failing_pair, a.to_row()["failing_pair"], list(a.to_json())[:3]
    (False, (0, 1), [0, 1], ['name', 'description', 'm'])
    """

    name: str
    description: str
    m: int
    n: int
    r: int
    free_entries: int
    canonical_key: str | None
    canonical_key_sha256: str | None
    tractable: bool
    tractable_method: str
    tractable_reason: str
    dto: bool
    relaxed: bool
    failing_pair: tuple[int, int] | None
    classes: tuple[dict[str, Any], ...]
    num_classes: int
    num_complete_classes: int
    empty_components: tuple[int, ...]
    components: tuple[dict[str, Any], ...]
    graph: dict[str, Any]
    closed: bool | None
    closed_method: str | None
    closed_reason: str
    certificate: dict[str, Any] | None
    seconds: float
    key: str | None = None
    parts: tuple[dict[str, Any], ...] | None = None
    details: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    kronecker: dict[str, Any] | None = None
    decided_from: str | None = None
    classes_total: int | None = None
    empty_components_total: int | None = None
    components_total: int | None = None
    parts_total: int | None = None
    full: bool = False

    @property
    def closedness_decided(self) -> bool:
        """Did the closedness engine run (``closed`` then says its answer, ``None`` for undecided)?"""
        return self.closed_method is not None

    def to_row(self) -> dict[str, Any]:
        """The fields of a ``wellposed batch`` row: :data:`ROW_FIELDS`, then :data:`CLOSEDNESS_FIELDS` when
        closedness was decided (the row's ``line`` and ``ok`` are the batch's).

        >>> from wellposed.families import family
        >>> analyze(family("diag:3"), closedness=False).to_row()["num_classes"]
        3
        """
        fields = ROW_FIELDS + CLOSEDNESS_FIELDS if self.closedness_decided else ROW_FIELDS
        return {f: _json(getattr(self, f)) for f in fields}

    def to_json(self) -> dict[str, Any]:
        """The ``wellposed analyze --json`` record: a JSON-ready dict (key order as printed)."""
        if self.decided_from is not None:
            return self._kronecker_json()
        rec: dict[str, Any] = {
            "name": self.name, "description": self.description, "m": self.m, "n": self.n, "r": self.r,
            "free_entries": self.free_entries, "canonical_key": self.canonical_key,
            "canonical_key_sha256": self.canonical_key_sha256, "tractable": self.tractable,
            "tractable_method": self.tractable_method, "tractable_reason": self.tractable_reason, "dto": self.dto,
            "relaxed": self.relaxed, "failing_pair": _json(self.failing_pair),
        }
        _put(rec, "classes", self.classes, self.classes_total)
        rec.update({"num_classes": self.num_classes, "num_complete_classes": self.num_complete_classes})
        _put(rec, "empty_components", self.empty_components, self.empty_components_total)
        rec.update({"components": list(self.components), "graph": self.graph, "closed": self.closed,
                    "closed_method": self.closed_method, "closed_reason": self.closed_reason})
        if self.full:
            rec["certificate"] = self.certificate
        if self.key is not None:  # the verdict's fields (its seconds are replaced by the analysis' own)
            rec.update({"seconds": self.seconds, "key": self.key})
            _put(rec, "parts", self.parts or (), self.parts_total)
            rec["details"] = self.details
        if self.expected is not None:
            rec["expected"] = self.expected
        if not self.full:  # the certificate comes last: it is whole even when the lists are cut
            rec["certificate"] = self.certificate
        if self.components_total is not None:
            rec["components_total"] = self.components_total
        rec["seconds"] = self.seconds
        return rec

    def _kronecker_json(self) -> dict[str, Any]:
        """The record of a Kronecker-sparse family decided from its description: the closed-form fields of
        :func:`wellposed.kronecker_analysis.analyze_kronecker`, then the listings, empty, with their totals."""
        rec: dict[str, Any] = {
            "name": self.name, "description": self.description, "m": self.m, "n": self.n, "r": self.r,
            "free_entries": self.free_entries, "tractable": self.tractable, "tractable_method": self.tractable_method,
            "tractable_reason": self.tractable_reason, "dto": self.dto, "relaxed": self.relaxed,
            "failing_pair": _json(self.failing_pair), "num_classes": self.num_classes,
            "num_complete_classes": self.num_complete_classes, "empty_components": list(self.empty_components),
            "graph": self.graph, "kronecker": self.kronecker, "closed": self.closed,
            "closed_method": self.closed_method, "closed_reason": self.closed_reason, "certificate": self.certificate,
        }
        verdict = {"key": self.key, "parts": list(self.parts or ()), "details": self.details}
        if self.closedness_decided:
            rec.update(verdict)
        rec["seconds"] = self.seconds
        rec.update({"canonical_key": self.canonical_key, "canonical_key_sha256": self.canonical_key_sha256,
                    "classes": list(self.classes), "classes_total": self.classes_total,
                    "components": list(self.components), "components_total": self.components_total,
                    "decided_from": self.decided_from})
        if not self.closedness_decided:
            rec.update(verdict)
        return rec

    def _repr_html_(self) -> str:
        """Notebook display: the verdict table, the supports picture and the evidence (:mod:`wellposed.render`)."""
        from .render import analysis_html

        return analysis_html(self)


def _json(value: Any) -> Any:
    """A field's JSON form: tuples become lists."""
    return list(value) if isinstance(value, tuple) else value


def _put(rec: dict[str, Any], key: str, items: tuple[Any, ...], total: int | None) -> None:
    rec[key] = list(items)
    if total is not None:
        rec[f"{key}_total"] = total


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


def _listed(items: list[Any], limit: int | None) -> tuple[tuple[Any, ...], int | None]:
    """``items`` cut to ``limit`` (each item's own lists too, see :func:`_capped`), and the length if cut."""
    if limit is None:
        return tuple(items), None
    return tuple(_capped(items, limit)), (len(items) if len(items) > limit else None)


def analyze(
    pattern: SupportPattern,
    *,
    closedness: bool = True,
    backend: str = DEFAULT_BACKEND,
    effort: float = 1.0,
    timeout: float | None = None,
    full: bool = False,
) -> Analysis:
    """Everything wellposed knows about a pattern, as one :class:`Analysis` (``.to_json()`` for the record).

    Fields include ``tractable``, ``tractable_reason``, ``dto``, ``classes``, ``components`` (the rank-one
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
    >>> a = analyze(family("full:3,3,2"), closedness=False)
    >>> a.tractable, a.dto, a.closed
    (True, True, None)
    >>> a.to_json()["closed_reason"]
    'closedness not requested'

    Notes
    -----
    ``classify`` runs once; the support-graph counts and connected parts come from its overlapping
    pairs of classes, and the closedness pipeline reuses it.
    """
    start = time.perf_counter()
    c = classify(pattern)
    key = pattern.canonical_key() if full or pattern.num_free_entries() <= MAX_KEY_FREE_ENTRIES else None
    limit = None if full else MAX_LISTED

    def cut(value: dict[str, Any]) -> dict[str, Any]:
        return value if limit is None else _capped(value, limit)

    cj = c.to_json()
    classes, classes_total = _listed(cj["classes"], limit)
    empty, empty_total = _listed(cj["empty_components"], limit)
    components, _ = _listed([{"index": k, "rows": list(rows), "cols": list(cols), "empty": not rows or not cols}
                             for k, (rows, cols) in enumerate(_supports(pattern, limit))], limit)
    graph = c.graph_summary()
    graph["connected_component_members"] = [list(comps) for _, _, comps in c.parts()]
    verdict: dict[str, Any] = {"closed": None, "closed_method": None, "closed_reason": "closedness not requested",
                               "certificate": None}
    parts: tuple[dict[str, Any], ...] | None = None
    parts_total = None
    if closedness:
        from .closedness import decide_closedness

        verdict = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout,
                                    classification=c).to_json()
        unknown = set(verdict) - _VERDICT_FIELDS
        if unknown:  # pragma: no cover - a new verdict field must become a field of Analysis
            raise TypeError(f"the closedness verdict has fields {sorted(unknown)} that Analysis does not hold")
        parts, parts_total = _listed(verdict["parts"], limit)
    return Analysis(
        name=pattern.name, description=pattern.description, m=pattern.m, n=pattern.n, r=pattern.r,
        free_entries=pattern.num_free_entries(),
        canonical_key=key if key is not None and (full or len(key) <= MAX_KEY_CHARS) else None,
        canonical_key_sha256=hashlib.sha256(key.encode()).hexdigest() if key is not None else None,
        tractable=cj["tractable"], tractable_method=cj["tractable_method"], tractable_reason=cj["tractable_reason"],
        dto=cj["dto"], relaxed=cj["relaxed"], failing_pair=c.failing_pair, classes=classes,
        num_classes=cj["num_classes"], num_complete_classes=cj["num_complete_classes"], empty_components=empty,
        components=components, graph=cut(graph), closed=verdict["closed"], closed_method=verdict["closed_method"],
        closed_reason=verdict["closed_reason"], certificate=verdict["certificate"],
        seconds=round(time.perf_counter() - start, 6), key=verdict.get("key"), parts=parts,
        details=cut(verdict["details"]) if closedness else None,
        expected=cut(dict(pattern.expected)) if pattern.expected else None,
        classes_total=classes_total, empty_components_total=empty_total,
        components_total=pattern.r if limit is not None and pattern.r > limit else None, parts_total=parts_total,
        full=full,
    )


def analyze_spec(spec: Any, *, closedness: bool = True, backend: str = DEFAULT_BACKEND, effort: float = 1.0,
                 timeout: float | None = None, full: bool = False) -> Analysis:
    """:func:`analyze` of a spec or case file (as :func:`wellposed.families.load_pattern` reads it).

    A two-factor Kronecker-sparse spec (``butterfly:N:s``, ``monarch:m``, ``ks:…``) is decided from its (a, b, c, d)
    description without building masks (:func:`wellposed.kronecker_analysis.analyze_kronecker`), unless ``full``
    asks for the listings; the record then has the same keys, its lists empty with their ``*_total``
    counts, and ``decided_from`` says so.

    >>> a = analyze_spec("butterfly:65536:8")
    >>> a.closed, a.closed_method, a.decided_from
    (True, 'theorem:dto', 'kronecker description (no masks built)')
    """
    from .families import load_pattern
    from .kronecker_analysis import analyze_kronecker
    from .kronecker_spec import is_kronecker_spec

    start = time.perf_counter()
    if not full and is_kronecker_spec(spec):
        rec = analyze_kronecker(spec, closedness=closedness)
        if rec is not None:
            graph = dict(rec["graph"])
            graph.update({"component_sizes": [], "component_sizes_total": graph["connected_components"],
                          "connected_component_members": [],
                          "connected_component_members_total": graph["connected_components"]})
            fields = {**rec, "graph": graph, "failing_pair": _pair(rec["failing_pair"]),
                      "empty_components": tuple(rec["empty_components"]), "key": rec.get("key", ""),
                      "parts": tuple(rec.get("parts", ())), "details": rec.get("details", {}),
                      "canonical_key": None, "canonical_key_sha256": None, "classes": (),
                      "classes_total": rec["num_classes"], "components": (), "components_total": rec["r"],
                      "decided_from": KRONECKER_DESCRIPTION, "seconds": round(time.perf_counter() - start, 6)}
            return Analysis(**fields)  # a field analyze_kronecker adds and Analysis lacks is a TypeError here
    return analyze(load_pattern(spec), closedness=closedness, backend=backend, effort=effort, timeout=timeout,
                   full=full)


def _pair(value: Any) -> tuple[int, int] | None:
    return None if value is None else (int(value[0]), int(value[1]))


def _supports(pattern: SupportPattern, limit: int | None) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``rank_one_supports()`` of the first ``limit`` components (all when None)."""
    if limit is None or pattern.r <= limit:
        return pattern.rank_one_supports()
    return pattern.restrict(range(pattern.m), range(pattern.n), range(limit)).rank_one_supports()
