"""Batch classification throughput: random 16×16 patterns with r = 16 (issue target: ≥ 100 000 patterns/s).

Rows, all measured in this run on the same patterns:
- ``one-by-one``: ``classify()`` per pattern (the baseline the ratios refer to);
- ``kernel``: ``classify_batch()`` on in-memory arrays, 1 process and 2 processes;
- ``end-to-end``: ``run_batch()`` JSONL in → JSONL out (parsing, classification, writing), jobs 1 and 2,
  and the same from an ``.npz`` batch (no JSON parsing).

Usage: ``python benchmarks/bench_batch.py [--count N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np

from wellposed.batch import run_batch
from wellposed.batch_kernel import classify_batch
from wellposed.classify import classify
from wellposed.support import SupportPattern


def _kernel(args: tuple[int, int, int, int]) -> int:
    seed, count, size, chunk = args
    rng = np.random.default_rng(seed)
    x = rng.random((count, size, size)) < 0.5
    y = rng.random((count, size, size)) < 0.5
    t = time.perf_counter()
    for s in range(0, count, chunk):
        classify_batch(x[s:s + chunk], y[s:s + chunk])
    return int((time.perf_counter() - t) * 1e9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="patterns for kernel/end-to-end rows")
    parser.add_argument("--size", type=int, default=16, help="m = n = r")
    parser.add_argument("--json", action="store_true", help="also print one JSON object per row")
    args = parser.parse_args()
    size, count = args.size, args.count
    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []

    # baseline: one pattern at a time
    nb = min(count, 5000)
    xs = rng.random((nb, size, size)) < 0.5
    ys = rng.random((nb, size, size)) < 0.5
    t = time.perf_counter()
    for b in range(nb):
        classify(SupportPattern(xs[b], ys[b]))
    base = nb / (time.perf_counter() - t)
    rows.append({"method": "one-by-one classify()", "jobs": 1, "patterns": nb, "patterns_per_s": base})

    # kernel, in memory
    chunk = 4096
    ns = _kernel((1, count, size, chunk))
    rows.append({"method": "kernel classify_batch()", "jobs": 1, "patterns": count,
                 "patterns_per_s": count / (ns / 1e9)})
    with mp.get_context("fork").Pool(2) as pool:
        # both halves run at the same time; each worker times its own classification (not data generation)
        times = pool.map(_kernel, [(2, count // 2, size, chunk), (3, count // 2, size, chunk)])
    rows.append({"method": "kernel classify_batch() (2 workers at once)", "jobs": 2, "patterns": count,
                 "patterns_per_s": count / (max(times) / 1e9)})

    # end to end JSONL → JSONL
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        gx = rng.random((count, size, size)) < 0.5
        gy = rng.random((count, size, size)) < 0.5
        with src.open("w") as fh:
            for b in range(count):
                fh.write(json.dumps(SupportPattern(gx[b], gy[b]).to_json(), separators=(",", ":")) + "\n")
        npz = Path(tmp) / "in.npz"
        np.savez(npz, x_support=gx, y_support=gy)
        for label, source in (("JSONL", src), (".npz", npz)):
            for jobs in (1, 2):
                t = time.perf_counter()
                run_batch(source, Path(tmp) / f"{source.suffix[1:]}{jobs}.jsonl", jobs=jobs)
                wall = time.perf_counter() - t
                rows.append({"method": f"end-to-end run_batch() {label}→JSONL", "jobs": jobs, "patterns": count,
                             "patterns_per_s": count / wall})
        # the rows after each output's header line (the headers name their input, so they differ by design)
        outputs = [(Path(tmp) / f).read_bytes().split(b"\n", 1)[1]
                   for f in ("jsonl1.jsonl", "jsonl2.jsonl", "npz1.jsonl", "npz2.jsonl")]
        same = all(o == outputs[0] for o in outputs)

    print(f"random {size}×{size} masks, r = {size}, density 0.5; 2 cores; target ≥ 100 000 patterns/s")
    print(f"{'method':50s} {'jobs':>4s} {'patterns':>9s} {'patterns/s':>12s} {'× one-by-one':>13s}")
    for row in rows:
        pps = float(row["patterns_per_s"])  # type: ignore[arg-type]
        row["ratio"] = pps / base
        print(f"{row['method']:50s} {row['jobs']:>4} {row['patterns']:>9} {pps:>12,.0f} {pps / base:>12.1f}×")
    print(f"all end-to-end output rows identical (JSONL/.npz input, jobs 1/2): {same}")
    if args.json:
        for row in rows:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
