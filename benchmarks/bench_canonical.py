"""Canonical key cost: refinement, graph canonization (bliss through python-igraph) and the '~' fallback.

Tables, all measured in this run:

- ``random``: m = n = r = SIZE masks with i.i.d. Bernoulli(density) entries (numpy ``default_rng`` seeded with
  ``[seed, SIZE, round(1000 density)]``): seconds of one key by the default path (refinement, then bliss only if
  needed), and by bliss alone (``CANONICAL_GRAPH_THRESHOLD = 0``), with the mask's nnz;
- ``symmetric``: families whose refinement leaves many orderings (diag, butterfly splits, Monarch, LU for
  comparison): seconds of one key with igraph (exact ``G`` key) and without it (``~`` key, igraph import
  blocked), and whether 20 random relabellings got one key (``distinct`` = number of distinct keys);
- ``small``: keys per second on census-sized patterns (3×3×3 random) and on 8×8 2-regular patterns, by
  refinement and by bliss alone.

Usage: ``python benchmarks/bench_canonical.py [--size 512] [--densities 0.01,0.05,0.1,0.2,0.3] [--seed S]``.
Times are wall-clock on a possibly shared machine: compare rows of one run.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

import wellposed.canonical as canonical
from wellposed.families import family
from wellposed.support import SupportPattern

#: Relabellings per symmetric pattern (the ``distinct`` columns count their distinct keys).
RELABELLINGS = 20


@contextmanager
def _graph_only() -> Iterator[None]:
    saved = canonical.CANONICAL_GRAPH_THRESHOLD
    canonical.CANONICAL_GRAPH_THRESHOLD = 0
    try:
        yield
    finally:
        canonical.CANONICAL_GRAPH_THRESHOLD = saved


@contextmanager
def _without_igraph() -> Iterator[None]:
    saved = sys.modules.get("igraph")
    sys.modules["igraph"] = None  # type: ignore[assignment]  # `import igraph` raises ImportError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if saved is None:
            del sys.modules["igraph"]
        else:
            sys.modules["igraph"] = saved


def _seconds(func: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best


def _relabelled(p: SupportPattern, rng: np.random.Generator) -> SupportPattern:
    return p.permute(*(rng.permutation(s).tolist() for s in p.shape))


def _random_table(size: int, densities: list[float], seed: int) -> None:
    print(f"random {size}x{size}, r = {size}: seconds per key")
    print(f"{'density':>8} {'nnz':>8} {'default':>9} {'bliss':>9}  key")
    for d in densities:
        rng = np.random.default_rng([seed, size, round(1000 * d)])
        p = SupportPattern(rng.random((size, size)) < d, rng.random((size, size)) < d)
        nnz = int(p.x_support.sum() + p.y_support.sum())
        default = _seconds(p.canonical_key)
        with _graph_only():
            bliss = _seconds(p.canonical_key)
        print(f"{d:8.2f} {nnz:8d} {default:9.4f} {bliss:9.4f}  {p.canonical_key()[:1]}...")


def _symmetric_table(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    half = int(np.log2(size)) // 2
    specs = [f"diag:{size}", f"butterfly:{size}:1", f"butterfly:{size}:{half}", f"monarch:{int(np.sqrt(size))}",
             f"lu:{size}", "diag:8", "butterfly:16:2", "monarch:4"]
    print(f"\nsymmetric patterns: seconds per key; distinct keys over {RELABELLINGS} relabellings")
    print(f"{'pattern':>16} {'nnz':>8} {'igraph':>9} {'distinct':>8} {'no igraph':>10} {'distinct':>8}")
    eye = np.eye(8, dtype=bool)
    cycle = eye | np.roll(eye, 1, axis=1)  # X and Y: one 16-cycle each (rows - components)
    named = [(spec, family(spec)) for spec in specs] + [("2-regular 8x8", SupportPattern(cycle, cycle))]
    for spec, p in named:
        nnz = int(p.x_support.sum() + p.y_support.sum())
        relabelled = [_relabelled(p, rng) for _ in range(RELABELLINGS)]
        with_ig = _seconds(p.canonical_key)
        distinct = len({q.canonical_key() for q in relabelled})
        with _without_igraph():
            without = _seconds(p.canonical_key)
            distinct_without = len({q.canonical_key() for q in relabelled})
        print(f"{spec:>16} {nnz:8d} {with_ig:9.4f} {distinct:8d} {without:10.4f} {distinct_without:8d}")


def _two_regular(rng: np.random.Generator, size: int = 8) -> SupportPattern:
    eye = np.eye(size, dtype=bool)
    masks = []
    for _ in range(2):
        a, b = rng.permutation(size), rng.permutation(size)
        masks.append(eye[a] | np.roll(eye, 1, axis=1)[b][:, a])  # a 2-regular relabelled 2k-cycle union
    return SupportPattern(*masks)


def _small_table(seed: int, count: int = 2000) -> None:
    rng = np.random.default_rng(seed)
    sets = {"3x3x3 random": [SupportPattern(rng.random((3, 3)) < 0.5, rng.random((3, 3)) < 0.5)
                             for _ in range(count)],
            "8x8x8 2-regular": [_two_regular(rng) for _ in range(count // 4)]}
    print("\nsmall patterns: keys per second")
    print(f"{'patterns':>16} {'default':>9} {'bliss':>9}")
    for name, pats in sets.items():
        pats = [p for p in pats if not p.is_trivial()]
        default = _seconds(lambda: [p.canonical_key() for p in pats], repeat=1)  # noqa: B023
        with _graph_only():
            bliss = _seconds(lambda: [p.canonical_key() for p in pats], repeat=1)  # noqa: B023
        print(f"{name:>16} {len(pats) / default:9.0f} {len(pats) / bliss:9.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--densities", default="0.01,0.05,0.1,0.2,0.3")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import igraph  # noqa: F401  # imported once before timing (about 0.4 s)

    _random_table(args.size, [float(d) for d in args.densities.split(",")], args.seed)
    _symmetric_table(args.size, args.seed)
    _small_table(args.seed)


if __name__ == "__main__":
    main()
