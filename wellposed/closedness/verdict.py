"""Closedness verdicts: the answer, the method that produced it, its evidence and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.answer import Answer
from ..backends.registry import BACKENDS, backend_title

if TYPE_CHECKING:  # pragma: no cover
    from .certificates import NotClosedCertificate

__all__ = ["ClosednessVerdict", "METHODS"]

#: Method identifiers a verdict may carry, with a one-line meaning.
METHODS: dict[str, str] = {
    "theorem:trivial": "every component is empty: P = {0}",
    "theorem:vector": "m = 1 or n = 1: P is the space of matrices supported on the union",
    "theorem:dto": "disjoint-or-identical supports: zero pattern plus rank bounds on disjoint blocks",
    "theorem:relaxed": "relaxed C1+C2: zero pattern plus rank bounds on disjoint blocks",
    "theorem:pointed-cones": "iterated absorption of complete blocks, then a pointed sum of closed cones",
    "theorem:parts": "every connected part is closed",
    "theorem:full-space": "every matrix supported on the union is in P (linear slice or z3): P = ℝ^union",
    "theorem:schubert": "one factor free on the union, the other's supports nested: a Schubert-type rank variety",
    "theorem:laminar": "one factor free on the union, the other's supports laminar (nested or disjoint): closed",
    "theorem:free-rank": "one factor free, the other's supports large enough (dimension count): P = {rank ≤ ρ}",
    "theorem:free-hyperplane": "one factor free, every hyperplane of the other's lines inside a span of vectors on its "
                               "supports (exact ranks per type of hyperplane): P = {rank ≤ min(m_u, n_u − 1)} or "
                               "ℝ^union",
    "theorem:peeling": "a row (and a column) of A scaled to the 0/1 vectors of their supports; for every support a "
                       "linear slice, possibly peeling components, is onto (exact ranks): P = ℝ^union",
    "theorem:orbits": "nested row and column supports: P is a union of Borel orbits whose partial permutations "
                      "form a down-set (z3 membership of each)",
    "theorem:free-lines": "rows (columns) written by some components alone, whatever A is: P = ℝ^lines × P_rest, "
                          "and P_rest is closed",
    "theorem:determinantal": "z3 proved P equals the closed set cut out by the zero pattern and rank-bounded minors",
    "certificate:lu-obstruction": "limit of a two-component curve through a private 2×2 minor, not in P",
    "certificate:block-minor": "limit of a curve through s×s identity blocks of a class of s identical components, "
                               "not in P (private block minor)",
    "certificate:curve-search": "limit of a searched Laurent curve, not in P",
    "certificate:orbit-witness": "a partial permutation in an orbit closure inside the closure of P but not in P, "
                                 "reached by a searched Laurent curve",
    "certificate:random-curve": "limit of a random exact Laurent curve whose blow-up terms cancel, not in P",
    **{f"qe:{name}": f"quantifier elimination by {backend_title(name)}" for name in BACKENDS},
    "undecided": "no stage could decide with evidence within the deterministic budgets (effort)",
    "cap:wall-clock": "undecided because the user's wall-clock safety cap (--timeout) fired: machine-dependent",
}


@dataclass(frozen=True)
class ClosednessVerdict:
    """The answer to "is P closed?" with the method, a human reason and the evidence.

    Parameters
    ----------
    answer : Answer
        ``CLOSED``, ``NOT_CLOSED`` or ``UNDECIDED`` (:class:`wellposed.backends.answer.Answer`).
    method : str
        One of :data:`METHODS` (e.g. ``"theorem:dto"``, ``"certificate:lu-obstruction"``).
    reason : str
        Human-readable justification.
    certificate : NotClosedCertificate or None
        For NOT_CLOSED: the limit matrix, the curve and the non-membership proof, on the pattern
        the verdict is about (indices of that pattern).
    parts : tuple of ClosednessVerdict
        Per connected part, when the pattern was split.
    seconds : float
        Wall-clock time spent.
    key : str
        Canonical key (up to transposition) of the pattern.
    details : dict
        Extra evidence (e.g. the absorbed blocks of the pointed-cones rule, QE transcript summary).

    Examples
    --------
    >>> v = ClosednessVerdict(Answer.CLOSED, "theorem:dto", "disjoint supports")
    >>> v.closed, v.to_json()["closed_method"]
    (True, 'theorem:dto')
    """

    answer: Answer
    method: str
    reason: str
    certificate: NotClosedCertificate | None = None
    parts: tuple[ClosednessVerdict, ...] = ()
    seconds: float = 0.0
    key: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.answer, Answer) or not self.answer.about_closedness:
            raise TypeError(f"answer = {self.answer!r} must be Answer.CLOSED, Answer.NOT_CLOSED or Answer.UNDECIDED.")
        if self.method not in METHODS:
            raise ValueError(f"method = {self.method!r} is not a known method id; use one of {sorted(METHODS)}.")
        if self.answer is Answer.NOT_CLOSED and self.certificate is None and not self.method.startswith("qe:"):
            raise ValueError("a NOT_CLOSED verdict needs a certificate (limit matrix, curve, proof) unless a QE "
                             "backend decided it (its transcript is then the evidence).")

    @property
    def closed(self) -> bool | None:
        """``True`` / ``False`` / ``None``."""
        return self.answer.closed

    def with_timing(self, seconds: float, key: str | None = None) -> ClosednessVerdict:
        """A copy with ``seconds`` (and optionally ``key``) replaced."""
        return ClosednessVerdict(self.answer, self.method, self.reason, self.certificate, self.parts,
                                 float(seconds), self.key if key is None else key, dict(self.details))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with keys ``closed``, ``closed_method``, ``closed_reason``, ``certificate``,
        ``seconds``, ``key``, ``parts`` and ``details``."""
        return {
            "closed": self.closed,
            "closed_method": self.method,
            "closed_reason": self.reason,
            "certificate": self.certificate.to_json() if self.certificate is not None else None,
            "seconds": round(self.seconds, 6),
            "key": self.key,
            "parts": [p.to_json() for p in self.parts],
            "details": self.details,
        }
