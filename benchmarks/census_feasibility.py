"""Feasibility of a census: decide a seeded random sample of its classes and project the full run.

Enumerates the classes of ``wellposed census --max-m M --max-n N --max-r R`` (up to symmetry, as the
census does), draws ``--count`` of them uniformly without replacement (numpy ``default_rng(--seed)``),
and decides each with the census's own record function (:func:`wellposed.closedness.census.census_record`,
the census defaults: effort 1, QE on, no wall-clock cap) on ``--jobs`` worker processes. Prints the
distribution of seconds per pattern (wall clock and CPU, the CPU including the z3 child processes), the
undecided fraction with its methods, and the projection of the full census: the mean per class of each
(m, n, r) cell times the cell's class count (cells without a sampled class take the overall mean),
divided by the number of cores for the wall time. Timings are information only (a possibly shared
machine); verdicts are functions of the pattern and the counted budgets.

``--out FILE`` writes one JSON line per sampled class (key, masks, answer, method, seconds) and resumes
from it.

    python benchmarks/census_feasibility.py --max-m 4 --max-n 4 --max-r 3 --count 300 --seed 14 \\
        --jobs 2 --out feasibility-m4n4r3.jsonl
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def _decide(task: tuple[str, list[str], list[str]]) -> dict[str, Any]:
    from wellposed.closedness.census import census_record
    from wellposed.support import SupportPattern

    key, xs, ys = task
    t0, c0 = time.perf_counter(), time.process_time()
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec = census_record(key, SupportPattern.from_json({"x_support": xs, "y_support": ys}))
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + (k1.ru_utime - k0.ru_utime) + (k1.ru_stime - k0.ru_stime)
    return {"key": key, "m": rec["m"], "n": rec["n"], "r": rec["r"], "x_support": xs, "y_support": ys,
            "closed": rec["closed"], "method": rec["method"], "seconds": round(time.perf_counter() - t0, 3),
            "cpu": round(cpu, 3)}


def _cell(key: str) -> str:
    return key.lstrip("T~G").split(":")[0]


def main() -> int:
    from wellposed.closedness.census import enumerate_patterns
    from wellposed.executors import ordered_map

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-m", type=int, default=4)
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--max-r", type=int, default=3)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cores", type=int, default=2, help="cores of the projected full run")
    ap.add_argument("--out", type=Path, default=None, help="JSON lines, one per sampled class (resumed)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    classes = dict(enumerate_patterns(args.max_m, args.max_n, args.max_r))
    t_enum = time.perf_counter() - t0
    keys = sorted(classes)
    cells = Counter(_cell(k) for k in keys)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(keys[i] for i in rng.choice(len(keys), size=min(args.count, len(keys)), replace=False))
    print(f"{len(keys)} classes (m ≤ {args.max_m}, n ≤ {args.max_n}, r ≤ {args.max_r}) enumerated in "
          f"{t_enum:.1f} s; sample of {len(chosen)} (seed {args.seed}), "
          f"{sum(1 for k in chosen if '4' in _cell(k).split('x')[:2])} with m or n = 4")
    done: dict[str, dict[str, Any]] = {}
    if args.out is not None and args.out.exists():
        for line in args.out.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
                done[rec["key"]] = rec
            except (ValueError, KeyError):
                continue
    todo = [k for k in chosen if k not in done]
    tasks = [(k, classes[k].to_json()["x_support"], classes[k].to_json()["y_support"]) for k in todo]
    sink = args.out.open("a", encoding="utf-8") if args.out is not None else None
    t_run = time.perf_counter()
    for i, rec in enumerate(ordered_map(_decide, tasks, jobs=args.jobs, max_in_flight=4 * args.jobs), 1):
        done[rec["key"]] = rec
        if sink is not None:
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
        if i % 25 == 0:
            print(f"  {i}/{len(tasks)} in {time.perf_counter() - t_run:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t_run
    recs = [done[k] for k in chosen]
    secs = np.array([r["seconds"] for r in recs])
    cpu = np.array([r.get("cpu", r["seconds"]) for r in recs])
    print(f"ran {len(tasks)} in {wall:.0f} s wall on {args.jobs} job(s)")
    for name, arr in (("wall", secs), ("cpu", cpu)):
        q = np.quantile(arr, [0.5, 0.9, 0.99])
        top = np.sort(arr)[-max(1, len(arr) // 10):].sum() / max(arr.sum(), 1e-9)
        print(f"{name} s/pattern: mean {arr.mean():.2f}, median {q[0]:.2f}, p90 {q[1]:.2f}, p99 {q[2]:.2f}, "
              f"max {arr.max():.1f}, sum {arr.sum():.0f}; share of the 10 % slowest {top:.0%}")
    undecided = [r for r in recs if r["closed"] is None]
    print(f"undecided: {len(undecided)}/{len(recs)} = {100 * len(undecided) / len(recs):.1f} %")
    answer = {True: "closed", False: "not closed", None: "undecided"}
    methods = Counter((r["method"], answer[r["closed"]]) for r in recs)
    for (m, a), c in methods.most_common():
        print(f"  {m:32s} {a:11s} {c}")
    by_cell: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        by_cell[_cell(r["key"])].append(float(r.get("cpu", r["seconds"])))
    mean_all = float(cpu.mean())
    projected = sum(n * (float(np.mean(by_cell[c])) if c in by_cell else mean_all) for c, n in cells.items())
    undecided_cells = Counter(_cell(r["key"]) for r in undecided)
    print("| cell | classes | sampled | mean cpu s | undecided |")
    print("|---|---:|---:|---:|---:|")
    for c, n in sorted(cells.items(), key=lambda t: -t[1]):
        if c in by_cell:
            print(f"| {c} | {n} | {len(by_cell[c])} | {np.mean(by_cell[c]):.2f} | {undecided_cells[c]} |")
    print(f"projected full census: {projected:.0f} cpu s, {projected / args.cores / 60:.0f} min wall on "
          f"{args.cores} cores (ideal split); undecided ≈ {100 * len(undecided) / len(recs):.1f} % of "
          f"{len(keys)} ≈ {round(len(undecided) / len(recs) * len(keys))} classes")
    slow = sorted(recs, key=lambda r: -float(r.get("cpu", r["seconds"])))[:8]
    print("slowest:", ", ".join(f"{r['key']} {r['method']} {r.get('cpu', r['seconds']):.0f}s" for r in slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
