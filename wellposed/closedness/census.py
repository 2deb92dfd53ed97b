"""Census: decide closedness for every support pattern up to a size, up to symmetry; resumable JSONL.

Patterns are enumerated as multisets of rows of ``I`` and of ``J`` (row permutations), then deduplicated
by the canonical key up to component permutations and transposition. Each record of the output file
holds the key, the masks, the verdict and (for not closed) the certificate, so the file can be
re-verified independently; restarting with the same file skips the keys already present.

The file's first line is a header ``{"wellposed_census": 1, "fingerprint": F, "options": {...}}`` with
the options that change records (``max_m``, ``max_n``, ``max_r``, ``backend``, ``use_qe`` and the
budget) and their SHA-256 ``F``; :func:`read_records` skips it. The file is written by the resumable
writer shared with ``wellposed batch`` (:func:`wellposed.io.resumable.open_resumable`): it is locked while a
census runs, a file of another census, of ``wellposed batch`` or of another program is refused
(:class:`~wellposed.errors.OutputConflictError`; ``restart=True`` starts it over), a torn last line is cut,
and the final compaction replaces the census's own file atomically.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import validate
from ..backends.registry import DEFAULT_BACKEND, check_backend
from ..errors import InvalidSpecError, OutputConflictError, OutputError
from ..executors import check_jobs, ordered_map
from ..io.outputs import output_error
from ..io.resumable import CENSUS_OUTPUT, conflict, make_header, open_resumable
from ..support import SupportPattern

__all__ = ["enumerate_patterns", "run_census", "read_records", "read_header", "summarize", "render_markdown",
           "census_record", "verify_record", "verify_census"]

logger = logging.getLogger(__name__)


def _check_size(name: str, value: Any, upper: int = 4) -> int:
    return validate.integer(value, name, low=1, high=upper,
                            hint="the census grows doubly exponentially; 3 and 4 are the published ranges")


def enumerate_patterns(max_m: int = 3, max_n: int = 3, max_r: int = 3) -> Iterator[tuple[str, SupportPattern]]:
    """Yield ``(key, pattern)`` once per pattern with m ≤ max_m, n ≤ max_n, r ≤ max_r up to symmetry.

    Symmetry: row permutations of I and J, component permutations, dropping empty components and
    transposition (``canonical_key(transpose=True)``). Candidates are visited in the order of
    :func:`_enumerate_patterns_reference` (m, n, r, then the rows of I and of J as sorted multisets) and
    the first candidate of each class is the one yielded, so the pattern of a class does not depend on
    the implementation; keys come out in first-seen order.

    Examples
    --------
    >>> len(list(enumerate_patterns(1, 1, 1)))
    2
    >>> sorted(k for k, _ in enumerate_patterns(2, 2, 1))[:3]
    ['T1x1x0:', 'T1x1x1:1|1', 'T1x2x0:']

    Notes
    -----
    ``Σ C(2^r + m - 1, m) C(2^r + n - 1, n)`` candidates. Classes are told apart by an exact orbit code
    computed for all candidates of a shape at once (numpy): drop the empty components, then the
    smallest of the sorted row codes over the ``r!`` component permutations and the transposition.
    Only the first candidate of each class gets its (costlier) canonical key; the plain loop
    :func:`_enumerate_patterns_reference`, one canonical key per candidate, is the tests' oracle.
    """
    max_m, max_n, max_r = (_check_size(nm, v) for nm, v in (("max_m", max_m), ("max_n", max_n), ("max_r", max_r)))
    seen: set[int] = set()
    for m in range(1, max_m + 1):
        for n in range(1, max_n + 1):
            for r in range(1, max_r + 1):
                bits = ((np.arange(2**r)[:, None] >> np.arange(r)[None, :]) & 1).astype(bool)
                combos_i = np.array(list(itertools.combinations_with_replacement(range(2**r), m)), dtype=np.int64)
                combos_j = np.array(list(itertools.combinations_with_replacement(range(2**r), n)), dtype=np.int64)
                codes = _orbit_codes(m, n, r, combos_i, combos_j)  # (len(combos_i), len(combos_j))
                flat = codes.ravel()
                uniq, first = np.unique(flat, return_index=True)
                fresh = [(int(i), int(c)) for c, i in zip(uniq.tolist(), first.tolist(), strict=True) if c not in seen]
                for index, code in sorted(fresh):
                    seen.add(code)
                    a, b = divmod(index, len(combos_j))
                    p = SupportPattern(bits[combos_i[a]], bits[combos_j[b]])
                    yield p.canonical_key(transpose=True), p


#: ``_PERM_TABLES[r][keep]``: per permutation of the components set in the bit mask ``keep``, the array that
#: maps a row code (bit k = component k) to the code of its kept components, renumbered by the permutation.
_PERM_TABLES: dict[int, dict[int, list[np.ndarray]]] = {}


def _perm_tables(r: int) -> dict[int, list[np.ndarray]]:
    if r not in _PERM_TABLES:
        values = np.arange(2**r)
        tables: dict[int, list[np.ndarray]] = {}
        for keep in range(2**r):
            kept = [k for k in range(r) if keep >> k & 1]
            tables[keep] = [sum(((values >> k) & 1) << pos for pos, k in zip(perm, kept, strict=True))
                            * np.ones(2**r, dtype=np.int64) for perm in itertools.permutations(range(len(kept)))]
        _PERM_TABLES[r] = tables
    return _PERM_TABLES[r]


def _orbit_codes(m: int, n: int, r: int, combos_i: np.ndarray, combos_j: np.ndarray) -> np.ndarray:
    """An integer per candidate ``(combos_i[a], combos_j[b])``, equal exactly when the two candidates are
    one pattern up to row and component permutations, empty components and transposition.

    The code of a candidate with ``r'`` non-empty components is the smallest, over the ``r'!``
    orderings of them, of ``(m, n, r', sorted rows of I, sorted rows of J)`` and of its transpose
    ``(n, m, r', sorted rows of J, sorted rows of I)``, each written as one integer (rows are base-16 digits)."""
    base = 16**4  # a sorted row multiset of at most 4 rows of at most 4 bits, as base-16 digits
    digits = 16 ** np.arange(max(m, n))[::-1]
    or_i = np.bitwise_or.reduce(combos_i, axis=1)
    or_j = np.bitwise_or.reduce(combos_j, axis=1)
    keep = or_i[:, None] & or_j[None, :]
    codes = np.empty(keep.shape, dtype=np.int64)
    tables = _perm_tables(r)
    for mask in np.unique(keep).tolist():
        rows, cols = np.nonzero(keep == mask)
        r_kept = bin(mask).count("1")
        best = np.full(len(rows), np.iinfo(np.int64).max, dtype=np.int64)
        for table in tables[mask]:  # one table (the identity on nothing) when every component is empty
            ci = np.sort(table[combos_i], axis=1) @ digits[-m:]
            cj = np.sort(table[combos_j], axis=1) @ digits[-n:]
            direct = (((m * 5 + n) * 5 + r_kept) * base + ci[rows]) * base + cj[cols]
            swapped = (((n * 5 + m) * 5 + r_kept) * base + cj[cols]) * base + ci[rows]
            best = np.minimum(best, np.minimum(direct, swapped))
        codes[rows, cols] = best
    return codes


def _enumerate_patterns_reference(max_m: int, max_n: int, max_r: int) -> Iterator[tuple[str, SupportPattern]]:
    """The plain loop of :func:`enumerate_patterns` (one canonical key per candidate): the tests' oracle."""
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


def census_record(key: str, pattern: SupportPattern, *, effort: float = 1.0, timeout: float | None = None,
                  backend: str = DEFAULT_BACKEND, use_qe: bool = True,
                  memo: MutableMapping[Any, Any] | None = None) -> dict[str, Any]:
    """Decide one pattern and return its JSON record (used by the workers).

    The record is a function of the pattern and of the options only (counted budgets): it holds no
    timing, so a census file is reproduced byte for byte by the same command. The time spent is
    returned separately by the workers and kept in the timings file (:func:`timings_path`).

    ``memo`` (a dict kept across calls with the same options) holds the verdicts of the connected parts
    decided so far, keyed by the part itself (its masks, exactly: not up to symmetry), so that a part
    met again (e.g. a pattern with an all-zero row has the parts of the pattern without it) is not
    decided twice. A part's verdict is a function of the part and the options, so the record is the one
    a run without ``memo`` gives (:class:`_ExactPartCache`).
    """
    from .pipeline import decide_closedness

    cache = None if memo is None else _ExactPartCache(pattern, memo)
    v = decide_closedness(pattern, backend=backend, effort=effort, timeout=timeout, use_qe=use_qe, cache=cache)
    rec: dict[str, Any] = {
        "key": key, "m": pattern.m, "n": pattern.n, "r": pattern.r,
        "x_support": pattern.to_json()["x_support"], "y_support": pattern.to_json()["y_support"],
        "closed": v.closed, "method": v.method, "reason": v.reason,
        "part_methods": sorted({pv.method for pv in v.parts}) or [v.method],
    }
    if v.certificate is not None:
        rec["certificate"] = v.certificate.to_json()
    return rec


class _ExactPartCache(MutableMapping[str, Any]):
    """The ``cache`` handed to :func:`~wellposed.closedness.pipeline.decide_closedness` for one pattern: a
    view of ``memo`` (exact part masks → part verdict) through the canonical keys the pipeline asks with.

    The pipeline looks parts up by canonical key (up to symmetry), but a verdict's reason and certificate
    are about the exact part it was decided on; so a key is answered only when it names one exact part of
    this pattern, and with that very part's verdict. A key shared by two different parts of the pattern
    is never answered nor stored (both are decided afresh, as without a cache).
    """

    def __init__(self, pattern: SupportPattern, memo: MutableMapping[Any, Any]) -> None:
        from ..classify import classify

        self._memo = memo
        self._exact: dict[str, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
        if pattern.is_trivial():
            return
        for rows, cols, comps in classify(pattern).parts():
            part = pattern.restrict(rows, cols, comps)
            masks = part.to_json()
            exact = (tuple(masks["x_support"]), tuple(masks["y_support"]))
            key = part.canonical_key(transpose=True)
            self._exact[key] = exact if self._exact.get(key, exact) == exact else None

    def _slot(self, key: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        return self._exact.get(key)

    def __contains__(self, key: object) -> bool:
        slot = self._slot(key) if isinstance(key, str) else None
        return slot is not None and slot in self._memo

    def __getitem__(self, key: str) -> Any:
        slot = self._slot(key)
        if slot is None or slot not in self._memo:
            raise KeyError(key)
        return self._memo[slot]

    def __setitem__(self, key: str, value: Any) -> None:
        slot = self._slot(key)
        if slot is not None:
            self._memo[slot] = value

    def __delitem__(self, key: str) -> None:
        slot = self._slot(key)
        if slot is None or slot not in self._memo:
            raise KeyError(key)
        del self._memo[slot]

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, slot in self._exact.items() if slot is not None and slot in self._memo])

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Part verdicts of this worker process, per census options (:func:`census_record`'s ``memo``).
_WORKER_MEMO: dict[tuple[Any, ...], dict[Any, Any]] = {}


def _worker(args: tuple[str, list[str], list[str], float, float | None, str, bool]) -> tuple[dict[str, Any], float]:
    key, xs, ys, effort, timeout, backend, use_qe = args
    pattern = SupportPattern.from_json({"x_support": xs, "y_support": ys})
    memo = _WORKER_MEMO.setdefault((effort, timeout, backend, use_qe), {})
    t0 = time.perf_counter()
    rec = census_record(key, pattern, effort=effort, timeout=timeout, backend=backend, use_qe=use_qe, memo=memo)
    return rec, round(time.perf_counter() - t0, 4)


def timings_path(out: str | Path) -> Path:
    """The file beside a census output that holds the seconds spent per key (``OUT.timings.jsonl``):
    information only, kept out of the records so that they are reproducible."""
    p = Path(out)
    return p.with_name(p.name + ".timings.jsonl")


def read_run(out: str | Path) -> dict[str, Any]:
    """The last run's ``{"wall_seconds", "jobs"}`` noted at the end of the timings file (``{}`` if none)."""
    p = timings_path(out)
    found: dict[str, Any] = {}
    if not p.is_file():
        return found
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("run"), dict):
            found = obj["run"]
    return found


def read_timings(out: str | Path) -> dict[str, float]:
    """Seconds per key of the census ``out`` (the last run of each key), ``{}`` if none were kept."""
    p = timings_path(out)
    found: dict[str, float] = {}
    if not p.is_file():
        return found
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
            found[str(obj["key"])] = float(obj["seconds"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line of an interrupted run
    return found


# ---------------------------------------------------------------- the output file
#: Version of the output header (``{"wellposed_census": FORMAT_VERSION, ...}``).
FORMAT_VERSION = CENSUS_OUTPUT.version
#: Options that only bound how hard each pattern is tried: ``retry_undecided`` may change them.
BUDGET_OPTIONS = ("timeout", "effort")


def _census_header(options: dict[str, Any]) -> dict[str, Any]:
    """The first line of a census file: the options that change records and their SHA-256."""
    return make_header(CENSUS_OUTPUT, options, options=options)


def _refuse_legacy(path: Path, header: dict[str, Any]) -> Callable[[Any], None]:
    """Refuse a census file of an older wellposed (records without a header line), saying how to adopt it."""
    def check(stored: Any) -> None:
        if isinstance(stored, dict) and "key" in stored and "closed" in stored:
            raise OutputConflictError(
                f"--out = {str(path)!r} is a census file of an older wellposed, without the header that names its "
                "options, so resuming it could mix records decided with other options. If it was made with this "
                f"run's options, adopt it by inserting this first line: "
                f"{CENSUS_OUTPUT.encode(header).decode('utf-8').strip()} ; otherwise rerun with --restart (in "
                "Python: restart=True) to start it over, or choose another --out.")
    return check


def _on_mismatch(path: Path, header: dict[str, Any], retry_undecided: bool
                 ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What to do with a census file written with other options: with ``retry_undecided``, keep it when only
    the budget differs (noting the retry budget); otherwise refuse it, naming the options that differ."""
    def decide(stored: dict[str, Any]) -> dict[str, Any]:
        stored_options = stored.get("options")
        old: dict[str, Any] = stored_options if isinstance(stored_options, dict) else {}
        new = header["options"]
        differ = sorted((k for k in set(old) | set(new) if old.get(k) != new.get(k)), key=str)
        if retry_undecided and differ and all(k in BUDGET_OPTIONS for k in differ):
            kept = dict(stored)  # the records of the first run keep their fingerprint; note the retry budget
            budget = {k: new.get(k) for k in BUDGET_OPTIONS if k in new}
            kept["retried_with"] = [*[b for b in stored.get("retried_with", []) if b != budget], budget]
            return kept
        diffs = "; ".join(f"{k}: {old.get(k)!r} in the file, {new.get(k)!r} now" for k in differ) or "its fingerprint"
        hint = (f" (--retry-undecided may change only {', '.join(BUDGET_OPTIONS)})" if retry_undecided else "")
        raise conflict(CENSUS_OUTPUT, path, f"was written with other options ({diffs}){hint}")
    return decide


def _parse_records(lines: list[bytes], path: Path, first_line: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lineno, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):
            logger.warning("%s:%d: skipping an unreadable (truncated?) record", path, lineno)
            continue
        if isinstance(rec, dict) and CENSUS_OUTPUT.key not in rec:
            out.append(rec)
    return out


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records of a census JSONL file, without its header line (a truncated last line, from an
    interrupted run, is skipped).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.jsonl"
    >>> _ = run_census(out, max_m=1, max_n=1, max_r=1, use_qe=False)
    >>> [r["key"] for r in read_records(out)]
    ['T1x1x0:', 'T1x1x1:1|1']
    >>> json.loads(out.read_text().splitlines()[0])["options"]["max_r"]  # the header line
    1
    """
    p = Path(path)
    if not p.exists():
        return []
    return _parse_records(p.read_bytes().split(b"\n"), p, 1)


def run_census(out: str | Path, *, max_m: int = 3, max_n: int = 3, max_r: int = 3, effort: float = 1.0,
               timeout: float | None = None, jobs: int = 1, backend: str = DEFAULT_BACKEND, use_qe: bool = True,
               retry_undecided: bool = False,
               progress: Callable[[int, int], None] | None = None, restart: bool = False) -> list[dict[str, Any]]:
    """Run (or resume) the census, appending one JSON record per pattern to ``out``.

    Parameters
    ----------
    out : path
        JSONL file: a header line ``{"wellposed_census": 1, "fingerprint": ..., "options": {...}}`` (the
        options that change records: max_m, max_n, max_r, backend, use_qe and the budget), then one
        record per pattern. Existing records are kept and their keys skipped when the header matches;
        a file of another census, of ``wellposed batch`` or of another program is refused with
        :class:`~wellposed.errors.OutputConflictError`. The file is locked while the census runs.
    max_m, max_n, max_r : int
        Size bounds (1..4).
    effort : float
        Scales the engine's counted budgets (:mod:`wellposed.closedness.budget`); records depend on it.
    timeout : float, optional
        The user's wall-clock safety cap per pattern (default none). Records it stops say
        ``cap:wall-clock``; a census meant to be reproduced must not use it.
    jobs : int
        Worker processes.
    retry_undecided : bool
        Run the undecided keys again (a new record for a key supersedes the older one). The budget
        (:data:`BUDGET_OPTIONS`) may differ from the file's; the header then lists it under
        ``retried_with``.
    progress : callable(done, total), optional
        Called once with the keys already done, then after each new record (``done`` rises to ``total``).
    restart : bool
        Start ``out`` over (delete its records) instead of resuming it.

    Returns
    -------
    list of dict
        All records (old and new) for keys of this enumeration.

    Notes
    -----
    When the run ends, the file is rewritten atomically with one record per key (the last one), sorted
    by key; an interrupted run leaves the appended records, which the next run resumes from.
    """
    check_jobs(jobs)
    check_backend(backend)  # before the header is written
    if progress is not None and not callable(progress):
        raise InvalidSpecError(f"progress = {progress!r} must be None or a callable progress(done, total).")
    from .budget import Budget, z3_version

    Budget(effort, timeout)  # validates both
    t_start = time.perf_counter()
    path = Path(out)
    if path.is_dir():
        raise OutputError(f"--out = {str(path)!r} is a directory; give a file name inside it (e.g. "
                          f"{str(path / 'census.jsonl')!r}).")
    patterns = dict(enumerate_patterns(max_m, max_n, max_r))
    # the budget options (BUDGET_OPTIONS): retry_undecided may change them
    budget = {"effort": float(effort), "timeout": None if timeout is None else float(timeout)}
    header = _census_header({"max_m": int(max_m), "max_n": int(max_n), "max_r": int(max_r), "backend": str(backend),
                             "use_qe": bool(use_qe), "z3": z3_version(), **budget})
    with open_resumable(path, header, CENSUS_OUTPUT, restart=restart,
                        parse=lambda body: _parse_records(body.split(b"\n"), path, 2),
                        legacy=_refuse_legacy(path, header),
                        mismatch=_on_mismatch(path, header, retry_undecided)) as run:
        records = run.found
        latest = {rec["key"]: rec for rec in records if "key" in rec}  # the last record of a key wins
        old = latest
        if retry_undecided:
            old = {k: rec for k, rec in latest.items() if rec.get("closed") is not None}
        todo = [k for k in sorted(patterns) if k not in old]
        tasks = [(k, patterns[k].to_json()["x_support"], patterns[k].to_json()["y_support"], float(effort),
                  budget["timeout"], backend, use_qe) for k in todo]
        done = len(patterns) - len(todo)
        if progress is not None:  # the keys already in --out count as done
            progress(done, len(patterns))
        # records are tiny and their times very uneven: a deep window keeps every worker busy behind a slow key
        results = ordered_map(_worker, tasks, jobs=jobs, max_in_flight=max(2 * jobs, 512))
        timing_file = timings_path(path)
        try:
            with open(timing_file, "w" if restart else "a", encoding="utf-8") as tf:
                for rec, secs in results:
                    run.output.append(CENSUS_OUTPUT.encode(rec))
                    tf.write(json.dumps({"key": rec["key"], "seconds": secs}) + "\n")
                    latest[rec["key"]] = rec
                    done += 1
                    if progress is not None:
                        progress(done, len(patterns))
                if tasks:  # the wall-clock time of this run (information only: docs/census.md prints it)
                    tf.write(json.dumps({"run": {"wall_seconds": round(time.perf_counter() - t_start, 1),
                                                 "jobs": int(jobs), "patterns": len(tasks)}}) + "\n")
        except OSError as exc:
            raise output_error("--out", timing_file, exc) from None
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
        # one record per key (the last one), sorted by key; still under the lock: nobody appends meanwhile
        run.output.replace(run.header, (latest[key] for key in sorted(latest)))
    return [latest[k] for k in sorted(patterns) if k in latest]


def summarize(records: list[dict[str, Any]], timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Counts by answer and by method, decided fraction and the undecided keys (and, given the
    :func:`read_timings` of the run, the summed and largest seconds per pattern).

    Examples
    --------
    >>> s = summarize([{"key": "a", "closed": True, "method": "theorem:dto"},
    ...                {"key": "b", "closed": None, "method": "undecided"}], {"a": 0.1, "b": 1.0})
    >>> s["decided_fraction"], s["undecided"]
    (0.5, ['b'])
    """
    by_answer = Counter({True: "closed", False: "not closed", None: "undecided"}[r["closed"]] for r in records)
    by_method = Counter((r["method"], {True: "closed", False: "not closed", None: "undecided"}[r["closed"]])
                        for r in records)
    total = len(records)
    decided = by_answer["closed"] + by_answer["not closed"]
    secs = [float((timings or {}).get(r["key"], r.get("seconds", 0.0))) for r in records]
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


def census_command(options: dict[str, Any], out: str, jobs: int | None = None) -> str:
    """The ``wellposed census`` command that writes a census file with ``options`` (its header's) to ``out``.

    >>> census_command({"max_m": 3, "max_n": 3, "max_r": 3, "effort": 1.0, "timeout": None, "use_qe": True,
    ...                 "backend": "z3"}, "c.jsonl", jobs=2)
    'wellposed census --out c.jsonl --max-m 3 --max-n 3 --max-r 3 --effort 1 --jobs 2'
    """
    cmd = (f"wellposed census --out {out} --max-m {options.get('max_m')} --max-n {options.get('max_n')} "
           f"--max-r {options.get('max_r')} --effort {float(options.get('effort', 1.0)):g}")
    if options.get("timeout") is not None:
        cmd += f" --timeout {float(options['timeout']):g}"
    if options.get("backend", DEFAULT_BACKEND) != DEFAULT_BACKEND:
        cmd += f" --backend {options['backend']}"
    if options.get("use_qe") is False:
        cmd += " --no-qe"
    return cmd + (f" --jobs {jobs}" if jobs is not None else "")


def _shape_table(records: list[dict[str, Any]]) -> list[str]:
    """Classes by (m, n, r) as a Markdown table: one row per m × n (m ≤ n), one column per r."""
    counts: Counter[tuple[int, int, int]] = Counter()
    for rec in records:
        shape = str(rec["key"]).lstrip("T~G").split(":")[0].split("x")
        m, n, r = (int(t) for t in shape)
        counts[(m, n, r)] += 1
    ranks = sorted({r for _, _, r in counts})
    lines = ["| m × n | " + " | ".join(f"r = {r}" for r in ranks) + " | all |",
             "|---|" + "---:|" * (len(ranks) + 1)]
    for m, n in sorted({(m, n) for m, n, _ in counts}):
        row = [counts[(m, n, r)] for r in ranks]
        lines.append(f"| {m} × {n} | " + " | ".join(str(c) for c in row) + f" | {sum(row)} |")
    lines.append("| **all** | " + " | ".join(str(sum(c for (_, _, rr), c in counts.items() if rr == r))
                                          for r in ranks) + f" | **{sum(counts.values())}** |")
    return lines


def render_markdown(summary: dict[str, Any], command: str, wall_seconds: float | None,
                    records: list[dict[str, Any]], note: str = "", *, title: str | None = None,
                    level: int = 1, figure: str | None = None) -> str:
    """One census as Markdown: command, timing (if known), classes by (m, n, r), answers, methods and
    the undecided classes with what was tried. ``level`` is the heading level of the census's title
    (``title``, default "Closedness census"); ``figure`` a Markdown image line shown under the answers.
    """
    h = "#" * level
    lines = [f"{h} {title or 'Closedness census'}", "", f"Command: `{command}`  "]
    if wall_seconds is not None:
        lines.append(f"Wall-clock time of the last run: {wall_seconds:.1f} s (sum of per-pattern times "
                     f"{summary['seconds_total']:.1f} s, slowest pattern {summary['seconds_max']:.2f} s; "
                     "information only).")
    elif summary.get("seconds_total"):
        lines.append(f"Sum of per-pattern times {summary['seconds_total']:.1f} s, slowest pattern "
                     f"{summary['seconds_max']:.2f} s (information only).")
    lines += [*([note] if note else []), "", f"{h}# Classes by (m, n, r)", "",
              "r counts the non-empty components (r = 0: the zero pattern); m ≤ n up to transposition.", "",
              *_shape_table(records), "",
              f"{h}# Summary", "", "| answer | patterns |", "|---|---:|",
              f"| closed | {summary['closed']} |",
              f"| not closed | {summary['not_closed']} |",
              f"| undecided | {summary['undecided_count']} |",
              f"| **total** | **{summary['total']}** |",
              "", f"Decided with evidence: **{100 * summary['decided_fraction']:.2f} %**.", ""]
    if figure:
        lines += [figure, ""]
    lines += [f"{h}# By method", "", "| method | answer | patterns |", "|---|---|---:|"]
    lines += [f"| `{m}` | {a} | {c} |" for m, a, c in summary["by_method"]]
    lines += ["", "`theorem:parts` means the pattern splits into connected parts closed by different rules.", ""]
    lines += [f"{h}# Undecided patterns", ""]
    if summary["undecided"]:
        lines += ["Key format `T<m>x<n>x<r>:<rows of I>|<rows of J>` (rows as 0/1 strings, one character per",
                  "component). What was tried: every stage of the pipeline, with the counted budgets of the "
                  "header's effort; the stages that ran to their budget say so.", "",
                  "| key | what was tried |", "|---|---|"]
        by_key = {r["key"]: r for r in records}
        for k in summary["undecided"]:
            reason = str(by_key[k].get("reason", ""))
            reason = reason.split("no certificate was found; ", 1)[-1].replace("|", "\\|")
            shown_key = k.replace("|", "\\|")  # a bar ends a table cell, even inside a code span
            lines.append(f"| `{shown_key}` | {reason} |")
    else:
        lines.append("None.")
    lines.append("")
    return "\n".join(lines)


#: Figures of docs/census.md drawn from a census data file (:mod:`wellposed.docs_figures`), by file name.
CENSUS_FIGURES = {"closedness-m3n3r3.jsonl": "![Census verdicts by method, counted from "
                                             "cases/census/closedness-m3n3r3.jsonl](figures/census-methods.png)"}


def render_page(paths: list[str | Path], shown: list[str] | None = None) -> str:
    """docs/census.md from census data files alone (nothing is re-run): one section per file.

    ``shown`` are the paths printed on the page (default: as given). The timing line of a census is
    printed when its timings file (:func:`timings_path`) is beside it (it is not published: timings are
    information only).
    """
    shown = [str(p) for p in paths] if shown is None else shown
    lines = [
        "# Closedness census",
        "",
        "Every support pattern (I, J) up to a size, up to row, column and component permutations, dropping",
        "empty components and transposition (one canonical key each), run through the closedness pipeline",
        "(`wellposed.closedness.decide_closedness`). Every not-closed verdict carries a certificate (limit",
        "matrix, Laurent curve, non-membership proof) stored in the data file.",
        "",
        "The records are a function of the patterns and of the options in each file's header line (effort,",
        "backend, z3 version): the engine's budgets are counts, not seconds, so the command of a census",
        "reproduces its data file byte for byte on any machine (timings go to the separate",
        "`OUT.timings.jsonl`); to check, run it with another `--out` and compare the two files with `cmp`.",
        "`wellposed census --verify FILE` re-checks every record from the data file alone (certificates",
        "exactly, closed verdicts by the condition of their theorem) and exits with code 7 if one fails.",
        "This page is regenerated from the data files, without re-running anything, by",
        f"`wellposed census --summarize {' '.join(shown)} --markdown docs/census.md`.",
        "",
    ]
    for path, name in zip(paths, shown, strict=True):
        header = read_header(path)
        options = header["options"]
        records = read_records(path)
        latest = {r["key"]: r for r in records if isinstance(r, dict) and "key" in r}
        records = [latest[k] for k in sorted(latest)]
        timings = read_timings(path)
        summary = summarize(records, {k: v for k, v in timings.items() if k in latest})
        run = read_run(path)
        note = ""
        if header.get("retried_with"):
            note = (f"The undecided keys of the first run were re-tried with `--retry-undecided` and the budgets "
                    f"{header['retried_with']}.")
        title = (f"Census m ≤ {options.get('max_m')}, n ≤ {options.get('max_n')}, r ≤ {options.get('max_r')}: "
                 f"{summary['total']} classes")
        lines.append(render_markdown(summary, census_command(options, name, run.get("jobs")),
                                     run.get("wall_seconds") if timings else None, records, note,
                                     title=title, level=2, figure=CENSUS_FIGURES.get(Path(path).name)))
    return "\n".join(lines)


# ---------------------------------------------------------------- re-verification from the data file alone
#: Stages of :data:`wellposed.closedness.pipeline.STAGES` that re-check a closed verdict of a given method
#: (the rules of ``closed_by_theorem`` are re-checked first, on the whole pattern, then on each part). A
#: method not listed here is re-checked by running the stages in order until one answers.
_CLOSED_STAGES: dict[str, tuple[str, ...]] = {
    "theorem:full-space": ("linear slice onto the union", "determinantal test"),
    "theorem:determinantal": ("determinantal test",),
    "theorem:orbits": ("Borel orbits of nested supports",),
    "theorem:peeling": ("scaled lines and linear slices",),
    "theorem:free-lines": ("free lines",),
}
_QE_STAGE = "quantifier elimination"


def _evidence_holds(pattern: SupportPattern, method: str, details: dict[str, Any]) -> bool:
    """Re-check exactly the evidence of the closed-by-rule methods that carry a checker of their own (the
    evidence is re-derived, census records do not store it); True for the other methods."""
    from .theorems import check_free_hyperplanes

    checks = {"theorem:free-hyperplane": check_free_hyperplanes}
    return method not in checks or checks[method](pattern, details)


def read_header(path: str | Path) -> dict[str, Any]:
    """The header line of a census file (its options), or raise :class:`InvalidSpecError` naming the file."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            first = f.readline()
    except OSError as exc:
        raise InvalidSpecError(f"census file = {str(p)!r} cannot be read ({exc.strerror or exc}); give the path of "
                               "a file written by `wellposed census --out`.") from None
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get(CENSUS_OUTPUT.key) != FORMAT_VERSION \
            or not isinstance(header.get("options"), dict):
        raise InvalidSpecError(f"census file = {str(p)!r} does not start with a census header line "
                               f"({{\"{CENSUS_OUTPUT.key}\": {FORMAT_VERSION}, ...}}); give a file written by "
                               "`wellposed census --out`.")
    return header


def _check_record_shape(rec: Any) -> tuple[SupportPattern, str]:
    """The record's pattern and key, or raise ValueError saying what is malformed."""
    if not isinstance(rec, dict):
        raise ValueError("the record is not a JSON object")
    for name in ("key", "x_support", "y_support", "closed", "method"):
        if name not in rec:
            raise ValueError(f"the record has no {name!r}")
    if rec["closed"] not in (True, False, None):
        raise ValueError(f"closed = {rec['closed']!r} is not true, false or null")
    pattern = SupportPattern.from_json({"x_support": rec["x_support"], "y_support": rec["y_support"]})
    key = pattern.canonical_key(transpose=True)
    if key != rec["key"]:
        raise ValueError(f"its masks have the canonical key {key!r}, not the recorded {rec['key']!r}")
    if (rec.get("m"), rec.get("n"), rec.get("r")) != (pattern.m, pattern.n, pattern.r):
        raise ValueError(f"m, n, r = {rec.get('m')!r}, {rec.get('n')!r}, {rec.get('r')!r} do not match the masks "
                         f"({pattern.m}, {pattern.n}, {pattern.r})")
    return pattern, key


def _closed_by_stages(part: SupportPattern, methods: list[str], budget: Any, backend: str,
                      use_qe: bool) -> tuple[str | None, str]:
    """Re-check that ``part`` (connected) is closed by one of ``methods``: ``(method, "")`` when a stage of
    that method proves it closed, ``(None, why)`` otherwise (``why`` starts with "refuted" when a stage
    proves the part not closed).

    The stages asked: the closed-by-theorem rules for every ``theorem:*`` method, the stages of
    :data:`_CLOSED_STAGES`, the QE stage for ``qe:*``; when none of them proves the part closed by one of
    ``methods`` and some method is not one they can give, every stage in order (a method of a stage this
    verifier does not know)."""
    from ..backends.answer import Answer
    from .pipeline import STAGES, PartContext

    stages = dict(STAGES)
    order = list(stages)
    rules = order[0]  # the closed-by-theorem rules come first
    names = {rules} if any(m.startswith("theorem:") for m in methods) else set()
    for method in methods:
        names.update(w for w in ((_QE_STAGE,) if method.startswith("qe:") else _CLOSED_STAGES.get(method, ()))
                     if w in stages)
    ctx = PartContext(part, budget, backend, use_qe, True)
    given: set[str] = set()
    for round_names in ([n for n in order if n in names], [n for n in order if n not in names]):
        for name in round_names:
            verdict = stages[name](ctx)
            if verdict is None:
                continue
            if verdict.answer is Answer.NOT_CLOSED:
                return None, f"refuted: the stage {name!r} proves the part not closed ({verdict.method})"
            if verdict.answer is Answer.CLOSED:
                if verdict.method in methods:
                    if not _evidence_holds(part, verdict.method, verdict.details):
                        return None, f"refuted: the evidence of {verdict.method} does not re-check"
                    return verdict.method, ""
                given.add(verdict.method)
        known = {m for m in methods if m.startswith("qe:") or m in _CLOSED_STAGES or m in given}
        if round_names and all(m in known or m == "theorem:parts" for m in methods):
            break  # every method was asked for by its own stage: no need to run the others
    tried = ", ".join(n for n in order if n in names) or "no stage"
    got = f" (it is closed by {', '.join(sorted(given))})" if given else ""
    return None, f"{tried}: none proves it closed by {', '.join(methods)}{got}"


def verify_record(rec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Re-check one census record from its own content: ``{"key", "method", "status", "detail"}``.

    ``status`` is ``"verified"`` (the claim was re-checked), ``"undecided"`` (nothing is claimed: the
    record says what was tried) or ``"refuted"`` (malformed record, masks that do not give the key, a
    certificate that fails :func:`wellposed.closedness.verify.verify_certificate`, or a closed verdict
    no rule of its method re-proves). A not-closed certificate is re-checked exactly (curve expanded in
    rationals, non-membership proof); a closed verdict by re-checking the condition of its theorem (the
    polynomial rules, or the solver-backed stage of its method with the census's counted budget) on the
    whole pattern or on each connected part; a QE verdict by asking the QE stage again.

    Examples
    --------
    >>> rec = census_record("T2x2x2:01.11|01.11", SupportPattern(["10", "11"], ["10", "11"]), use_qe=False)
    >>> verify_record(rec, {"effort": 1.0})["status"]
    'verified'
    >>> verify_record({**rec, "closed": True}, {"effort": 1.0})["status"]
    'refuted'
    """
    from ..errors import CertificateError
    from .budget import Budget
    from .certificates import NotClosedCertificate
    from .pipeline import connected_parts_fast
    from .theorems import closed_by_theorem

    out: dict[str, Any] = {"key": rec.get("key") if isinstance(rec, dict) else None,
           "method": rec.get("method") if isinstance(rec, dict) else None, "status": "refuted", "detail": ""}
    try:
        pattern, _ = _check_record_shape(rec)
    except (ValueError, TypeError) as exc:
        out["detail"] = f"malformed record: {exc}"
        return out
    effort = float(options.get("effort", 1.0))
    backend = str(options.get("backend", DEFAULT_BACKEND))
    use_qe = bool(options.get("use_qe", True))
    budget = Budget(effort).started()
    method = str(rec["method"])
    if rec["closed"] is None:
        ok = bool(str(rec.get("reason", "")).strip())
        out.update(status="undecided" if ok else "refuted",
                   detail="" if ok else "an undecided record must say what was tried (its reason is empty)")
        return out
    if rec["closed"] is False:
        if "certificate" not in rec:
            if not method.startswith("qe:"):
                out["detail"] = f"a not-closed verdict by {method!r} without its certificate"
                return out
            return _reverify_qe(out, pattern, budget, backend, use_qe)
        try:
            cert = NotClosedCertificate.from_json(pattern, rec["certificate"])
            check = cert.verify(rlimit=budget.count("verify_rlimit"), budget=budget)
        except CertificateError as exc:
            out["detail"] = f"the certificate does not verify: {exc}"
            return out
        if method != f"certificate:{cert.found_by}":
            out["detail"] = (f"the certificate verifies, but it was found by {cert.found_by!r}, so the method is "
                             f"'certificate:{cert.found_by}', not the recorded {method!r}")
            return out
        out.update(status="verified", detail=f"certificate: curve {check.get('curve')}, proof {check.get('proof')}")
        return out
    # closed: the whole pattern by a rule, else every connected part by a method of part_methods
    whole = closed_by_theorem(pattern)
    if whole is not None and whole.method == method:
        if not _evidence_holds(pattern, method, whole.details):
            out["detail"] = f"the evidence of {method} on the whole pattern does not re-check exactly"
            return out
        out.update(status="verified", detail=f"{method} on the whole pattern")
        return out
    methods = rec.get("part_methods") or [method]
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        out["detail"] = f"part_methods = {methods!r} is not a list of method names"
        return out
    used = []
    for rows, cols, comps in connected_parts_fast(pattern):
        got, why = _closed_by_stages(pattern.restrict(rows, cols, comps), methods, budget, backend, use_qe)
        if got is None:
            out["detail"] = f"the part with components {list(comps)}: {why}"
            return out
        used.append(got)
    if method not in ("theorem:parts", *used):
        out["detail"] = f"the parts are closed by {sorted(set(used))}, not by the recorded method {method!r}"
        return out
    out.update(status="verified", detail=f"{len(used)} part(s) closed by {', '.join(sorted(set(used)))}")
    return out


def _reverify_qe(out: dict[str, Any], pattern: SupportPattern, budget: Any, backend: str,
                 use_qe: bool) -> dict[str, Any]:
    """A not-closed QE verdict (no certificate): some connected part must again be proved not closed by QE."""
    from ..backends.answer import Answer
    from .pipeline import STAGES, PartContext, connected_parts_fast

    stage = dict(STAGES).get(_QE_STAGE)
    if stage is None:
        out["detail"] = "this wellposed has no QE stage to re-check a QE verdict"
        return out
    for rows, cols, comps in connected_parts_fast(pattern):
        verdict = stage(PartContext(pattern.restrict(rows, cols, comps), budget, backend, True, True))
        if verdict is not None and verdict.answer is Answer.NOT_CLOSED:
            out.update(status="verified", detail=f"QE ({backend}) again proves the part {list(comps)} not closed")
            return out
    out["detail"] = f"QE ({backend}) does not prove any connected part not closed again"
    return out


def _verify_worker(args: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return verify_record(*args)


def verify_census(path: str | Path, *, jobs: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Re-verify every record of the census file ``path`` from the file alone (:func:`verify_record`).

    Also checks the file as a whole: the header's fingerprint is that of its options, every class of the
    enumeration for the header's sizes has exactly one record, and no record is of another class.

    Returns
    -------
    dict
        ``{"records", "verified", "undecided", "refuted", "by_method": [[method, status, count]],
        "problems": [str]}``; ``problems`` lists the refuted records and the file-level failures (empty
        when everything verifies).
    """
    check_jobs(jobs)
    if progress is not None and not callable(progress):
        raise InvalidSpecError(f"progress = {progress!r} must be None or a callable progress(done, total).")
    header = read_header(path)
    options = header["options"]
    problems: list[str] = []
    if make_header(CENSUS_OUTPUT, options)["fingerprint"] != header.get("fingerprint"):
        problems.append("header: the fingerprint is not the SHA-256 of the options (the header was edited)")
    records = read_records(path)
    keys = Counter(str(r.get("key")) for r in records)
    problems += [f"{k}: {c} records for one class" for k, c in sorted(keys.items(), key=str) if c > 1]
    try:
        sizes = [int(options[k]) for k in ("max_m", "max_n", "max_r")]
        expected = {k for k, _ in enumerate_patterns(*sizes)}
    except (KeyError, TypeError, ValueError, InvalidSpecError) as exc:
        problems.append(f"header: the sizes max_m, max_n, max_r cannot be read ({exc})")
        expected = set(keys)
    expected = {str(k) for k in expected}
    missing = sorted(expected - set(keys))
    if missing:
        problems.append(f"{len(missing)} class(es) of the enumeration have no record (first: {missing[0]})")
    extra = sorted(set(keys) - expected)
    problems += [f"{k}: not a class of this census" for k in extra]
    results: list[dict[str, Any]] = []
    if progress is not None:
        progress(0, len(records))
    for res in ordered_map(_verify_worker, [(r, options) for r in records], jobs=jobs,
                           max_in_flight=max(2 * jobs, 64)):
        results.append(res)
        if progress is not None:
            progress(len(results), len(records))
    problems += [f"{r['key']}: {r['detail']}" for r in results if r["status"] == "refuted"]
    status = Counter(r["status"] for r in results)
    by_method = Counter((str(r["method"]), r["status"]) for r in results)
    return {"records": len(results), "verified": status["verified"], "undecided": status["undecided"],
            "refuted": status["refuted"],
            "by_method": sorted(([m, s, c] for (m, s), c in by_method.items()), key=lambda t: (-t[2], t[0])),
            "problems": problems, "results": results}
