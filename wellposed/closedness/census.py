"""Census: decide closedness for every support pattern up to a size, up to symmetry; resumable JSONL.

Patterns are enumerated as multisets of rows of ``I`` and of ``J`` (row permutations), then deduplicated
by the canonical key up to component permutations and transposition. Each record of the output file
holds the key, the masks, the verdict and (for not closed) the certificate, so the file can be
re-verified independently; restarting with the same file skips the keys already present.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidSpecError
from ..support import SupportPattern

__all__ = ["enumerate_patterns", "run_census", "read_records", "summarize", "render_markdown", "census_record"]

logger = logging.getLogger(__name__)


def _check_size(name: str, value: Any, upper: int = 4) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= upper:
        raise InvalidSpecError(f"{name} = {value!r} must be an integer between 1 and {upper} (the census grows "
                               "doubly exponentially; 3 is the published range).")
    return int(value)


def enumerate_patterns(max_m: int = 3, max_n: int = 3, max_r: int = 3) -> Iterator[tuple[str, SupportPattern]]:
    """Yield ``(key, pattern)`` once per pattern with m ≤ max_m, n ≤ max_n, r ≤ max_r up to symmetry.

    Symmetry: row permutations of I and J, component permutations, dropping empty components and
    transposition (``canonical_key(transpose=True)``). Keys come out in first-seen order.

    Examples
    --------
    >>> len(list(enumerate_patterns(1, 1, 1)))
    2
    >>> sorted(k for k, _ in enumerate_patterns(2, 2, 1))[:3]
    ['T1x1x0:', 'T1x1x1:1|1', 'T1x2x0:']

    Notes
    -----
    ``Σ C(2^r + m - 1, m) C(2^r + n - 1, n)`` candidates, one canonical key each.
    """
    max_m, max_n, max_r = (_check_size(nm, v) for nm, v in (("max_m", max_m), ("max_n", max_n), ("max_r", max_r)))
    seen: set[str] = set()
    for m in range(1, max_m + 1):
        for n in range(1, max_n + 1):
            for r in range(1, max_r + 1):
                bits = ((np.arange(2**r)[:, None] >> np.arange(r)[None, :]) & 1).astype(bool)
                for rows_i in itertools.combinations_with_replacement(range(2**r), m):
                    x = bits[list(rows_i)]
                    for rows_j in itertools.combinations_with_replacement(range(2**r), n):
                        p = SupportPattern(x, bits[list(rows_j)])
                        key = p.canonical_key(transpose=True)
                        if key not in seen:
                            seen.add(key)
                            yield key, p


def census_record(key: str, pattern: SupportPattern, timeout: float, backend: str = "z3",
                  use_qe: bool = True) -> dict[str, Any]:
    """Decide one pattern and return its JSON record (used by the workers)."""
    from .pipeline import decide_closedness

    t0 = time.perf_counter()
    v = decide_closedness(pattern, backend=backend, timeout=timeout, use_qe=use_qe)
    rec: dict[str, Any] = {
        "key": key, "m": pattern.m, "n": pattern.n, "r": pattern.r,
        "x_support": pattern.to_json()["x_support"], "y_support": pattern.to_json()["y_support"],
        "closed": v.closed, "method": v.method, "reason": v.reason,
        "part_methods": sorted({pv.method for pv in v.parts}) or [v.method],
        "seconds": round(time.perf_counter() - t0, 4),
    }
    if v.certificate is not None:
        rec["certificate"] = v.certificate.to_json()
    return rec


def _worker(args: tuple[str, list[str], list[str], float, str, bool]) -> dict[str, Any]:
    key, xs, ys, timeout, backend, use_qe = args
    pattern = SupportPattern.from_json({"x_support": xs, "y_support": ys})
    return census_record(key, pattern, timeout, backend, use_qe)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records of a census JSONL file (a truncated last line, from an interrupted run, is skipped)."""
    out: list[dict[str, Any]] = []
    p = Path(path)
    if not p.exists():
        return out
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("%s:%d: skipping an unreadable (truncated?) record", p, lineno)
    return out


def run_census(out: str | Path, *, max_m: int = 3, max_n: int = 3, max_r: int = 3, timeout: float = 5.0,
               jobs: int = 1, backend: str = "z3", use_qe: bool = True, retry_undecided: bool = False,
               progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the census, appending one JSON record per pattern to ``out``.

    Parameters
    ----------
    out : path
        JSONL file; existing records are kept and their keys skipped.
    max_m, max_n, max_r : int
        Size bounds (1..4).
    timeout : float
        Per-stage solver timeout passed to :func:`~wellposed.closedness.decide_closedness`.
    jobs : int
        Worker processes.
    retry_undecided : bool
        Run the undecided keys again (a new record for a key supersedes the older one).
    progress : callable(done, total), optional

    Returns
    -------
    list of dict
        All records (old and new) for keys of this enumeration.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidSpecError(f"jobs = {jobs!r} must be a positive integer (number of worker processes).")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidSpecError(f"timeout = {timeout!r} must be a positive number of seconds.")
    path = Path(out)
    patterns = dict(enumerate_patterns(max_m, max_n, max_r))
    old = {rec["key"]: rec for rec in read_records(path) if "key" in rec}  # the last record of a key wins
    if retry_undecided:
        old = {k: rec for k, rec in old.items() if rec.get("closed") is not None}
    todo = [k for k in sorted(patterns) if k not in old]
    path.parent.mkdir(parents=True, exist_ok=True)
    # drop a truncated trailing line before appending
    if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: text.rfind("\n") + 1], encoding="utf-8")
    tasks = [(k, patterns[k].to_json()["x_support"], patterns[k].to_json()["y_support"], float(timeout), backend,
              use_qe) for k in todo]
    done = len(patterns) - len(todo)
    new: dict[str, dict[str, Any]] = {}
    with path.open("a", encoding="utf-8") as fh:
        results: Iterator[dict[str, Any]]
        if jobs == 1:
            results = map(_worker, tasks)
            pool = None
        else:
            pool = ProcessPoolExecutor(max_workers=jobs)
            results = pool.map(_worker, tasks, chunksize=4)
        try:
            for rec in results:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                new[rec["key"]] = rec
                done += 1
                if progress is not None:
                    progress(done, len(patterns))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    merged = {**old, **new}
    _compact(path)
    return [merged[k] for k in sorted(patterns) if k in merged]


def _compact(path: Path) -> None:
    """Rewrite ``path`` with one record per key (the last one), sorted by key; atomic replace."""
    latest: dict[str, dict[str, Any]] = {}
    for rec in read_records(path):
        if "key" in rec:
            latest[rec["key"]] = rec
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for key in sorted(latest):
            fh.write(json.dumps(latest[key], ensure_ascii=False) + "\n")
    tmp.replace(path)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by answer and by method, decided fraction and the undecided keys.

    Examples
    --------
    >>> s = summarize([{"key": "a", "closed": True, "method": "theorem:dto", "seconds": 0.1},
    ...                {"key": "b", "closed": None, "method": "undecided", "seconds": 1.0}])
    >>> s["decided_fraction"], s["undecided"]
    (0.5, ['b'])
    """
    by_answer = Counter({True: "closed", False: "not closed", None: "undecided"}[r["closed"]] for r in records)
    by_method = Counter((r["method"], {True: "closed", False: "not closed", None: "undecided"}[r["closed"]])
                        for r in records)
    total = len(records)
    decided = by_answer["closed"] + by_answer["not closed"]
    secs = [float(r.get("seconds", 0.0)) for r in records]
    return {
        "total": total,
        "closed": by_answer["closed"],
        "not_closed": by_answer["not closed"],
        "undecided_count": by_answer["undecided"],
        "decided_fraction": decided / total if total else 1.0,
        "by_method": sorted(([m, a, c] for (m, a), c in by_method.items()), key=lambda t: (-t[2], t[0])),
        "by_shape": sorted(Counter(r["key"].lstrip("T~").split(":")[0] for r in records).items()),
        "undecided": sorted(r["key"] for r in records if r["closed"] is None),
        "seconds_total": sum(secs),
        "seconds_max": max(secs) if secs else 0.0,
    }


def render_markdown(summary: dict[str, Any], command: str, wall_seconds: float, records: list[dict[str, Any]],
                    note: str = "") -> str:
    """The census table as Markdown (docs/census.md); ``note`` is printed under the command."""
    lines = [
        "# Closedness census",
        "",
        "Every support pattern (I, J) with m, n ≤ 3 and r ≤ 3, up to row, column and component permutations,",
        "dropping empty components and transposition (one canonical key each), run through the closedness",
        "pipeline (`wellposed.closedness.decide_closedness`). Every not-closed verdict carries a certificate",
        "(limit matrix, Laurent curve, non-membership proof) stored in the data file and re-verified.",
        "",
        f"Command: `{command}`  ",
        f"Wall-clock time of the last run: {wall_seconds:.1f} s (sum of per-pattern times "
        f"{summary['seconds_total']:.1f} s, slowest pattern {summary['seconds_max']:.2f} s).",
        *([note] if note else []),
        "",
        "## Summary",
        "",
        "| answer | patterns |",
        "|---|---:|",
        f"| closed | {summary['closed']} |",
        f"| not closed | {summary['not_closed']} |",
        f"| undecided | {summary['undecided_count']} |",
        f"| **total** | **{summary['total']}** |",
        "",
        f"Decided with evidence: **{100 * summary['decided_fraction']:.2f} %**.",
        "",
        "## By method",
        "",
        "| method | answer | patterns |",
        "|---|---|---:|",
    ]
    lines += [f"| `{m}` | {a} | {c} |" for m, a, c in summary["by_method"]]
    lines += ["", "`theorem:parts` means the pattern splits into connected parts closed by different rules.", ""]
    lines += ["## Undecided patterns", ""]
    if summary["undecided"]:
        lines += ["Key format `T<m>x<n>x<r>:<rows of I>|<rows of J>` (rows as 0/1 strings, one character per",
                  "component).", "", "| key | reason |", "|---|---|"]
        by_key = {r["key"]: r for r in records}
        for k in summary["undecided"]:
            reason = str(by_key[k].get("reason", ""))
            reason = reason.split("no certificate was found; ", 1)[-1].replace("|", "\\|")
            lines.append(f"| `{k}` | {reason[:260]} |")
    else:
        lines.append("None.")
    lines.append("")
    return "\n".join(lines)
