"""Census of three-factor chains ``X₁X₂X₃`` with small dimensions, one class per symmetry orbit.

Two chains are equivalent when one is obtained from the other by permuting the indices of any of the four
dimensions ``d₀`` (rows of ``X₁``), ``d₁``, ``d₂`` (the inner ones) and ``d₃`` (columns of ``X₃``), or by
reversal-transposition ``(X₃ᵀ, X₂ᵀ, X₁ᵀ)``: each maps ``P`` onto ``P`` (or ``Pᵀ``) by a linear isometry, so
closedness is the same. Every class is decided by :func:`wellposed.network.linear_set_verdict` (the rules,
then the chain QE stage), and optionally cross-checked by the chain QE stage run on the unreduced chain.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import permutations, product
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidSpecError

__all__ = ["ChainClass", "chain_classes", "run_chain_census", "summarize_chain_census", "chain_census_table", "MAX_RAW"]

#: Dimension tuples with more raw chains than this are refused (the orbit enumeration visits each one).
MAX_RAW = 1 << 18


@dataclass(frozen=True)
class ChainClass:
    """One class: dimensions ``(d₀, d₁, d₂, d₃)``, its canonical factors (product order) and its orbit size."""

    dims: tuple[int, int, int, int]
    factors: tuple[np.ndarray, np.ndarray, np.ndarray]
    orbit: int  #: raw chains in the class (both dimension orders when the reversal changes them)

    def text(self) -> list[list[str]]:
        """The factors as rows of 0/1 strings."""
        return [["".join("1" if v else "0" for v in row) for row in f] for f in self.factors]


def _decode(code: int, d: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shapes = ((d[0], d[1]), (d[1], d[2]), (d[2], d[3]))
    out, shift = [], 0
    for r, c in shapes:
        s = r * c
        out.append(np.array([(code >> (shift + t)) & 1 for t in range(s)], bool).reshape(r, c))
        shift += s
    return out[0], out[1], out[2]


def _encode(fs: tuple[np.ndarray, ...]) -> int:
    bits = np.concatenate([f.ravel() for f in fs])
    return int(sum(1 << t for t in np.flatnonzero(bits).tolist()))


def _images(fs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every image of a chain under the permutations of its four dimensions (reversal not included)."""
    d0, d1 = fs[0].shape
    d2, d3 = fs[2].shape
    for p0 in permutations(range(d0)):
        a = fs[0][list(p0)]
        for p1 in permutations(range(d1)):
            b, c = a[:, list(p1)], fs[1][list(p1)]
            for p2 in permutations(range(d2)):
                c2, e = c[:, list(p2)], fs[2][list(p2)]
                for p3 in permutations(range(d3)):
                    yield b, c2, e[:, list(p3)]


def chain_classes(max_dim: int = 2, dims: tuple[int, int, int, int] | None = None) -> list[ChainClass]:
    """Every class of three-factor chains with all dimensions ≤ ``max_dim`` (or with exactly ``dims`` and its
    reversal), in a fixed order (dimensions, then canonical bits).

    Examples
    --------
    >>> len(chain_classes(1))
    6
    >>> sum(c.orbit for c in chain_classes(1))
    8
    """
    if dims is not None:
        if (not isinstance(dims, tuple) or len(dims) != 4
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims)):
            raise InvalidSpecError(f"dims = {dims!r} must be four positive integers (d0, d1, d2, d3).")
        tuples = sorted({dims, dims[::-1]})
    else:
        if not isinstance(max_dim, int) or isinstance(max_dim, bool) or max_dim < 1:
            raise InvalidSpecError(f"max_dim = {max_dim!r} must be a positive integer (e.g. 2).")
        tuples = [(a, b, c, d) for a, b, c, d in product(range(1, max_dim + 1), repeat=4)]
    for d in tuples:  # refuse before enumerating anything, not after the smaller dimensions
        raw = 1 << (d[0] * d[1] + d[1] * d[2] + d[2] * d[3])
        if raw > MAX_RAW:
            raise InvalidSpecError(f"dimensions {d} give {raw} raw chains, above the enumeration limit {MAX_RAW}; "
                                   "choose smaller dimensions.")
    classes: list[ChainClass] = []
    done: set[tuple[int, int, int, int]] = set()
    for d in tuples:
        rev = (d[3], d[2], d[1], d[0])
        if d in done or rev in done:
            continue
        done.update({d, rev})
        base = min(d, rev)
        raw = 1 << (d[0] * d[1] + d[1] * d[2] + d[2] * d[3])
        seen: dict[tuple[int, int, int, int], set[int]] = {base: set(), rev if base == d else d: set()}
        for code in range(raw):  # orbit elimination: each orbit is expanded once, from its smallest code
            if code in seen[base]:
                continue
            fs = _decode(code, base)
            orbit: set[tuple[tuple[int, int, int, int], int]] = set()
            for g in (fs, (fs[2].T, fs[1].T, fs[0].T)):
                for img in _images(g):
                    dd = (img[0].shape[0], img[0].shape[1], img[2].shape[0], img[2].shape[1])
                    orbit.add((dd, _encode(img)))
            for dd, c in orbit:
                seen[dd].add(c)
            classes.append(ChainClass(base, fs, len(orbit)))
    return sorted(classes, key=lambda c: (c.dims, _encode(c.factors)))


def run_chain_census(out: str | Path, *, max_dim: int = 2, dims: tuple[int, int, int, int] | None = None,
                     effort: float = 1.0, cross_check: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Decide every class of :func:`chain_classes` and write the JSON lines file ``out`` (a header line with
    the options, then one record per class); returns the records. Budgets are counts, so a run with the same
    options and z3 version reproduces the file byte for byte."""
    from .. import __version__, validate
    from ..backends import z3_api
    from ..io.outputs import atomic_write_text
    from .chains import chain_qe
    from .linear_set import linear_set_verdict

    validate.effort(effort)
    if not isinstance(cross_check, bool):
        raise InvalidSpecError(f"cross_check = {cross_check!r} must be True or False.")
    classes = chain_classes(max_dim, dims)
    records = []
    for n, c in enumerate(classes, start=1):
        masks = [c.factors[2], c.factors[1], c.factors[0]]  # network order: W_1 = X₃
        v = linear_set_verdict(masks, effort=effort)
        rec: dict[str, Any] = {"dims": list(c.dims), "factors": c.text(), "orbit": c.orbit, "closed": v.closed,
                               "method": v.method, "reason": v.reason, "certificate": v.certificate}
        if cross_check and not v.method.startswith("qe:"):
            qe = chain_qe(masks, effort=effort)
            rec["qe_check"] = {True: "closed", False: "not closed", None: "undecided"}[qe.closed]
        records.append(rec)
        if progress is not None:
            progress(n, len(classes))
    header = {"header": {"command": "chain-census", "max_dim": max_dim, "dims": list(dims) if dims else None,
                         "effort": effort, "cross_check": cross_check, "classes": len(records),
                         "wellposed": __version__, "z3": z3_api.version(),
                         "symmetry": "permutations of d0, d1, d2, d3 and reversal-transposition"}}
    text = "".join(json.dumps(r, sort_keys=False) + "\n" for r in [header, *records])
    atomic_write_text(out, text, "--out")
    return records


def summarize_chain_census(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by answer and method, by dimensions, the undecided classes and the cross-check disagreements."""
    by_method = Counter((r["method"], {True: "closed", False: "not closed", None: "undecided"}[r["closed"]])
                        for r in records)
    by_dims: dict[str, Counter[str]] = {}
    for r in records:
        key = "×".join(str(d) for d in r["dims"])
        by_dims.setdefault(key, Counter())[{True: "closed", False: "not closed", None: "undecided"}[r["closed"]]] += 1
    disagreements = [r for r in records if "qe_check" in r and r["qe_check"] != "undecided" and r["closed"] is not None
                     and (r["qe_check"] == "closed") != r["closed"]]
    return {"total": len(records), "closed": sum(r["closed"] is True for r in records),
            "not_closed": sum(r["closed"] is False for r in records),
            "undecided": [r for r in records if r["closed"] is None],
            "by_method": sorted(by_method.items()), "by_dims": {k: dict(v) for k, v in sorted(by_dims.items())},
            "cross_checked": sum("qe_check" in r for r in records), "disagreements": disagreements}


def chain_census_table(records: list[dict[str, Any]]) -> str:
    """The Markdown table of a census: one row per dimension tuple, counts of closed / not closed / undecided
    classes and the classes decided by each method (docs/chains.md shows it for the shipped files).

    Examples
    --------
    >>> print(chain_census_table([{"dims": [1, 1, 1, 1], "closed": True, "method": "reduction:linear"}]))
    | dims d0×d1×d2×d3 | classes | closed | not closed | open | by method |
    |---|---:|---:|---:|---:|---|
    | 1×1×1×1 | 1 | 1 | 0 | 0 | reduction:linear 1 |
    | all | 1 | 1 | 0 | 0 | reduction:linear 1 |
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault("×".join(str(d) for d in r["dims"]), []).append(r)
    lines = ["| dims d0×d1×d2×d3 | classes | closed | not closed | open | by method |", "|---|---:|---:|---:|---:|---|"]
    for key, rs in [*sorted(groups.items()), ("all", records)]:
        methods = Counter(r["method"] for r in rs)
        lines.append(f"| {key} | {len(rs)} | {sum(r['closed'] is True for r in rs)} | "
                     f"{sum(r['closed'] is False for r in rs)} | {sum(r['closed'] is None for r in rs)} | "
                     + ", ".join(f"{m} {n}" for m, n in sorted(methods.items())) + " |")
    return "\n".join(lines)
