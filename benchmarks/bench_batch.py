"""Batch classification throughput per density and shape (targets: 100 000 patterns/s in the kernel, 50 000 end to end).

Patterns: m = n = r = SIZE masks whose entries are i.i.d. Bernoulli(density) (numpy ``default_rng`` seeded with
``[seed, SIZE, round(1000 density)]``), so that each density has its own mix of verdicts (DTO, relaxed C1+C2, not
tractable). Rows of each table, all measured in this run on the same patterns:

- ``one-by-one``: ``classify(p)`` per pattern (the baseline the ratios refer to); the oracle: the batch rows of
  these patterns must be equal to ``analyze(p, closedness=False).to_row()`` (computed apart, not timed);
- ``kernel``: in-memory arrays to batch rows (``classify_batch()`` and the row texts), one process, chunks of
  4096 patterns as in ``wellposed batch``;
- ``JSONL jobs 1`` / ``JSONL jobs 2``: ``run_batch()`` from a JSONL file to a JSONL output (reading, decoding,
  classifying, writing), in-process and with 2 worker processes (``wellposed batch --jobs 2``);
- ``.npz jobs 2``: the same from an ``.npz`` batch (no JSON decoding).

A last table (16×16 only) gives the CPU time of the chunk work (``classify_lines`` then ``format_rows``,
JSONL) per record, for 16 384 of the density-0.2 patterns written compactly and with ``json.dumps``' default
separators, with and without the plain-record reader and orjson (the json module alone is the reference).

A table of the in-memory entry point (``--tables api``): ``wellposed.classify_many(X, Y)`` on stacks of masks,
and on the same patterns given as a list of pairs, against the loops a user would write, ``wellposed.analyze((I, J),
closedness=False)`` and ``classify(SupportPattern(I, J))`` per pattern: 10 000 patterns 16×16, r = 16, density 0.1
(``--api-count``), and 512-wide layers (m = n = r = 512, ``--api-wide``) at densities 1-30 % (``--api-densities``,
``--api-wide-count`` patterns each). Its rows must equal the loop's ``to_row()`` (checked, not timed).

``fallback`` counts the patterns classified one by one: more than ``KERNEL_MAX_R`` = 512 components, or the
kernel's tables of one pattern exceed the memory budget (``pattern_bytes(m, n, r) > max_bytes()``). Each table is
printed twice: patterns per second of wall-clock time, and per CPU second (of this process and its worker
processes), which depends less on other work running on a shared machine. Compare ratios within one run.

Usage: ``python benchmarks/bench_batch.py [--count N] [--sizes 16,64] [--densities ...] [--seed S] [--json]
[--tables all|throughput|api] [--api-count N] [--api-wide W] [--api-wide-count N] [--api-densities ...]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import wellposed
from wellposed.analysis import analyze
from wellposed.batch import CHUNK, run_batch
from wellposed.batch import rows as batch_rows
from wellposed.batch.kernel import pattern_bytes
from wellposed.classify import classify
from wellposed.io import records as batch_records
from wellposed.memory import max_bytes
from wellposed.support import SupportPattern

DENSITIES = (0.05, 0.1, 0.2, 0.3, 0.5)


def _masks(seed: int, size: int, density: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, size, round(1000 * density)])
    return rng.random((count, size, size)) < density, rng.random((count, size, size)) < density


def _rows_text(masks: np.ndarray) -> list[str]:
    """Each pattern's mask as the JSON text of its list of '0'/'1' row strings."""
    count, m, r = masks.shape
    chars = np.where(masks, np.uint8(49), np.uint8(48))
    rows = chars.view(f"S{r}").reshape(count, m)
    return ['["' + '","'.join(row.decode() for row in pattern) + '"]' for pattern in rows.tolist()]


def _write_jsonl(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w") as fh:
        for xs, ys in zip(_rows_text(x), _rows_text(y), strict=True):
            fh.write(f'{{"x_support":{xs},"y_support":{ys}}}\n')


def _timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process and of its finished children)."""
    def cpu() -> float:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime

    wall, used = time.perf_counter(), cpu()
    result = func()
    return result, time.perf_counter() - wall, cpu() - used


def _measure(size: int, density: float, count: int, base_count: int, seed: int, tmp: Path) -> dict[str, object]:
    x, y = _masks(seed, size, density, count)
    names = [""] * count
    row: dict[str, object] = {"size": size, "density": density, "patterns": count}

    # baseline (and oracle): one pattern at a time
    nb = min(count, base_count)
    _, wall, cpu = _timed(lambda: [classify(SupportPattern(x[b], y[b])) for b in range(nb)])
    row["one_by_one"], row["one_by_one_cpu"] = nb / wall, nb / cpu
    expected = [analyze(SupportPattern(x[b], y[b]), closedness=False).to_row() for b in range(nb)]
    methods = [rec["tractable_method"] for rec in expected]
    for method in ("dto", "relaxed", "none"):
        row[f"share_{method}"] = methods.count(method) / nb

    # kernel: arrays in memory → rows, in chunks as run_batch makes them
    fallbacks = 0
    one_by_one = batch_rows._one_by_one

    def counting(xb, yb, nm, ln):  # type: ignore[no-untyped-def]
        nonlocal fallbacks
        fallbacks += len(xb)
        return one_by_one(xb, yb, nm, ln)

    def kernel() -> list[dict[str, Any]]:
        rows = []
        for s in range(0, count, CHUNK):
            rows += batch_rows._vector_records(x[s:s + CHUNK], y[s:s + CHUNK], names[s:s + CHUNK],
                                              list(range(s + 1, min(count, s + CHUNK) + 1)))
        return rows

    batch_rows._one_by_one = counting
    try:
        rows, wall, cpu = _timed(kernel)
    finally:
        batch_rows._one_by_one = one_by_one
    row["kernel"], row["kernel_cpu"] = count / wall, count / cpu
    row["fallback"] = fallbacks
    row["rows_equal_classify"] = all(
        {k: v for k, v in got.items() if k not in ("line", "ok")} == want
        for got, want in zip(rows, expected, strict=False))

    # end to end
    src, npz = tmp / f"in-{size}-{density}.jsonl", tmp / f"in-{size}-{density}.npz"
    _write_jsonl(src, x, y)
    np.savez(npz, x_support=x, y_support=y)
    outputs = []
    for label, source, jobs in (("jsonl_jobs1", src, 1), ("jsonl_jobs2", src, 2), ("npz_jobs2", npz, 2)):
        out = tmp / f"{label}.jsonl"
        _, wall, cpu = _timed(lambda source=source, out=out, jobs=jobs: run_batch(source, out, jobs=jobs))
        row[label], row[f"{label}_cpu"] = count / wall, count / cpu
        outputs.append(out.read_bytes().split(b"\n", 1)[1])  # the rows after the header line
        out.unlink()
    src.unlink()
    npz.unlink()
    row["outputs_identical"] = all(o == outputs[0] for o in outputs)
    return row


CODECS = {  # name: (plain-record reader on, orjson on)
    "plain reader + orjson": (True, True),
    "plain reader + json module": (True, False),
    "orjson": (False, True),
    "json module only": (False, False),
}


def _codec_rows(x: np.ndarray, y: np.ndarray, lines: int = 16384) -> dict[str, dict[str, float]]:
    """CPU µs per record of the chunk work, for compact and default-separator JSONL, per reader/writer."""
    from wellposed.batch import classify_lines
    from wellposed.batch.rows import columns as batch_columns
    from wellposed.batch.rows import format_rows

    x, y = x[:lines], y[:lines]
    texts = {"compact": [f'{{"x_support":{a},"y_support":{b}}}' for a, b in zip(_rows_text(x), _rows_text(y),
                                                                              strict=True)]}
    texts["default separators"] = [json.dumps(json.loads(t)) for t in texts["compact"]]
    saved = batch_records._LAYOUTS, batch_records._orjson
    columns = batch_columns(False)
    result: dict[str, dict[str, float]] = {}
    try:
        for style, records in texts.items():
            items = list(enumerate(records, start=1))
            best = dict.fromkeys(CODECS, float("inf"))
            for _ in range(3):  # interleaved, best of 3: the machine may be shared
                for name, (plain, fast) in CODECS.items():
                    batch_records._LAYOUTS = saved[0] if plain else ()
                    batch_records._orjson = batch_rows._orjson = saved[1] if fast else None
                    t = time.process_time()
                    for s0 in range(0, len(items), CHUNK):
                        format_rows(classify_lines(items[s0:s0 + CHUNK]), "jsonl", columns)
                    best[name] = min(best[name], time.process_time() - t)
            result[style] = {name: 1e6 * v / len(items) for name, v in best.items()}
    finally:
        batch_records._LAYOUTS, batch_records._orjson = saved
        batch_rows._orjson = saved[1]
    return result


def _print_codecs(result: dict[str, dict[str, float]]) -> None:
    print("\nchunk work (decode, classify, encode JSONL), CPU µs per 16×16 record, density 0.2:\n")
    print("| records written | " + " | ".join(CODECS) + " |")
    print("|---|" + "---:|" * len(CODECS))
    for style, row in result.items():
        ref = row["json module only"]
        print(f"| {style} | " + " | ".join(f"{v:.1f} ({ref / v:.1f}×)" for v in row.values()) + " |")


def _print_table(size: int, count: int, base_count: int, seed: int, rows: list[dict[str, object]]) -> None:
    print(f"\n{size}×{size} masks, r = {size}, entries i.i.d. Bernoulli(density), seed {seed}; {count} patterns per "
          f"density ({min(count, base_count)} for one-by-one)")
    for suffix, what in (("", "patterns per second of wall-clock time (× one-by-one)"),
                         ("_cpu", "patterns per CPU second, all processes of the run (× one-by-one)")):
        print(f"\n{what}:\n")
        print("| density | DTO / relaxed / none | one-by-one | kernel, 1 process | JSONL, jobs 1 | JSONL, jobs 2 "
              "| .npz, jobs 2 | fallback |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            base = float(r["one_by_one" + suffix])  # type: ignore[arg-type]

            def cell(key: str, base: float = base, r: dict[str, object] = r, suffix: str = suffix) -> str:
                value = float(r[key + suffix])  # type: ignore[arg-type]
                return f"{value:,.0f} ({value / base:.0f}×)"

            mix = " / ".join(f"{float(r[f'share_{k}']):.0%}" for k in ("dto", "relaxed", "none"))  # type: ignore[arg-type]
            print(f"| {r['density']} | {mix} | {base:,.0f} | {cell('kernel')} | {cell('jsonl_jobs1')} | "
                  f"{cell('jsonl_jobs2')} | {cell('npz_jobs2')} | {r['fallback']} |")
    same = all(r["rows_equal_classify"] for r in rows)
    identical = all(r["outputs_identical"] for r in rows)
    print(f"\nbatch rows equal analyze(p).to_row() on the one-by-one patterns: {same}; end-to-end outputs "
          f"identical (JSONL jobs 1/2, .npz): {identical}")


def _api_row(x: np.ndarray, y: np.ndarray, density: float, loop_count: int) -> dict[str, object]:
    """classify_many (stacks, list of pairs) against per-pattern loops of wellposed.analyze and classify()."""
    count, m, r = x.shape
    row: dict[str, object] = {"m": m, "n": y.shape[1], "r": r, "density": density, "patterns": count}
    table, wall, cpu = _timed(lambda: wellposed.classify_many(x, y))
    row["many"], row["many_cpu"] = count / wall, count / cpu
    pairs = list(zip(x, y, strict=True))
    _, wall, cpu = _timed(lambda: wellposed.classify_many(pairs))
    row["many_pairs"], row["many_pairs_cpu"] = count / wall, count / cpu
    nb = min(count, loop_count)
    expected, wall, cpu = _timed(lambda: [wellposed.analyze((x[b], y[b]), closedness=False).to_row()
                                          for b in range(nb)])
    row["analyze_loop"], row["analyze_loop_cpu"] = nb / wall, nb / cpu
    _, wall, cpu = _timed(lambda: [classify(SupportPattern(x[b], y[b])) for b in range(nb)])
    row["classify_loop"], row["classify_loop_cpu"] = nb / wall, nb / cpu
    row["loop_patterns"] = nb
    row["rows_equal_analyze"] = all({k: v for k, v in got.items() if k not in ("line", "ok")} == want
                                    for got, want in zip(table, expected, strict=False))
    methods = list(table["tractable_method"])
    for method in ("dto", "relaxed", "none"):
        row[f"share_{method}"] = methods.count(method) / count
    return row


def _print_api(rows: list[dict[str, object]], seed: int) -> None:
    print(f"\nwellposed.classify_many against per-pattern loops, one process, seed {seed}:")
    for suffix, what in (("", "patterns per second of wall-clock time (× the wellposed.analyze loop)"),
                         ("_cpu", "patterns per CPU second (× the wellposed.analyze loop)")):
        print(f"\n{what}:\n")
        print("| m×n×r | density | patterns (loops) | DTO / relaxed / none | classify_many(X, Y) "
              "| classify_many(pairs) | analyze() loop | classify() loop |")
        print("|---|---:|---:|---|---:|---:|---:|---:|")
        for r in rows:
            base = float(r["analyze_loop" + suffix])  # type: ignore[arg-type]

            def cell(key: str, base: float = base, r: dict[str, object] = r, suffix: str = suffix) -> str:
                value = float(r[key + suffix])  # type: ignore[arg-type]
                return f"{value:,.1f} ({value / base:.1f}×)" if value < 100 else f"{value:,.0f} ({value / base:.0f}×)"

            mix = " / ".join(f"{float(r[f'share_{k}']):.0%}" for k in ("dto", "relaxed", "none"))  # type: ignore[arg-type]
            print(f"| {r['m']}×{r['n']}×{r['r']} | {r['density']} | {r['patterns']} ({r['loop_patterns']}) | {mix} | "
                  f"{cell('many')} | {cell('many_pairs')} | {cell('analyze_loop')} | {cell('classify_loop')} |")
    same = all(r["rows_equal_analyze"] for r in rows)
    print(f"\nclassify_many rows equal wellposed.analyze((I, J), closedness=False).to_row(): {same}")


def _api_rows(args: argparse.Namespace) -> list[dict[str, object]]:
    wellposed.classify_many(*_masks(args.seed, 4, 0.5, 8))  # imports and first-call set-up, not timed
    wellposed.analyze("lu:2", closedness=False)
    rows = [_api_row(*_masks(args.seed, 16, 0.1, args.api_count), 0.1, args.api_count)]
    for d in (float(t) for t in args.api_densities.split(",")):
        rows.append(_api_row(*_masks(args.seed, args.api_wide, d, args.api_wide_count), d, args.api_wide_count))
    _print_api(rows, args.seed)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="patterns per density for 16×16 (larger "
                        "sizes get count × 16 / size², at least 1000)")
    parser.add_argument("--base-count", type=int, default=3000, help="patterns for the one-by-one baseline")
    parser.add_argument("--sizes", default="16,64", help="comma-separated m = n = r")
    parser.add_argument("--densities", default=",".join(map(str, DENSITIES)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print one JSON object per measurement")
    parser.add_argument("--tables", choices=("all", "throughput", "api"), default="all",
                        help="the batch throughput tables, the classify_many table, or both (default)")
    parser.add_argument("--api-count", type=int, default=10_000, help="16×16 patterns for the classify_many table")
    parser.add_argument("--api-wide", type=int, default=512, help="m = n = r of the wide layers")
    parser.add_argument("--api-wide-count", type=int, default=8, help="wide patterns per density")
    parser.add_argument("--api-densities", default="0.01,0.05,0.1,0.3", help="densities of the wide layers")
    args = parser.parse_args()
    if args.tables == "api":
        rows = _api_rows(args)
        if args.json:
            for row in rows:
                print(json.dumps(row))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    densities = [float(d) for d in args.densities.split(",")]
    print(f"memory budget {max_bytes() / 2**30:.0f} GiB; kernel tables per pattern: "
          + ", ".join(f"{s}×{s}, r = {s}: {pattern_bytes(s, s, s):,} bytes" for s in sizes))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            count = args.count if size <= 16 else max(1000, args.count * 16 * 16 // (size * size))
            base_count = args.base_count if size <= 16 else max(100, args.base_count * 16 // size)
            rows = [_measure(size, d, count, base_count, args.seed, Path(tmp)) for d in densities]
            _print_table(size, count, base_count, args.seed, rows)
            results += rows
        if 16 in sizes:
            codecs = _codec_rows(*_masks(args.seed, 16, 0.2, 16384))
            _print_codecs(codecs)
            results.append({"codecs_us_per_record": codecs})
    if args.tables == "all":
        results += _api_rows(args)
    if args.json:
        for row in results:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
