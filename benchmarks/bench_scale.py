"""Real-size analysis: ``analyze`` (with closedness) of structured and random families at 64 … 4096 units.

Each case runs in a fresh process (imports done before the clock starts) and reports the wall time of
``wellposed.analysis.analyze_spec`` (what ``wellposed analyze SPEC --json`` does), the peak resident memory of
that process, the size of the JSON record and the verdict; then a least-squares fit of log(time) against
log(N) over the sizes N ≥ 256 gives each family's growth exponent.

Families (N = side length, r = N unless said):

- ``butterfly split``: ``butterfly:N:log2(N)/2``, decided from its Kronecker description (no masks);
- ``butterfly split (masks)``: the same pattern with its masks built and analysed entry by entry;
- ``monarch``: ``monarch:√N`` (N a square: 64, 256, 1024, 4096), from its description;
- ``lu``: ``lu:N`` (all N²/2 pairs of components overlap: the worst case of nested supports);
- ``random 1 %`` and ``random 5 %``: ``random:N,N,N,density,0``, i.i.d. Bernoulli(density) masks;
- ``pruned MLP pair``: two N×N layers of Gaussian weights with log-normal row and column scales, pruned to
  10 % by magnitude; the pair pattern of the product W2 · W1.

A second table runs ``wellposed.network.analyze_network`` (what ``wellposed network`` reports) on layer masks
of real networks:

- ``MLP 784-300-100-10, 10 %``: Gaussian weights with log-normal row/column scales, pruned by magnitude;
- ``MLP 1024×4, 10 %``: four 1024-wide layers, the same pruning;
- ``block-sparse 1024×3, 32×32 blocks, 10 %``: masks ``B ⊗ 1_{32×32}`` with B i.i.d. Bernoulli(0.1);
- ``flat block butterfly 1024×3`` (pixelfly-style): the union of the 5 butterfly factor supports of a 32×32
  block grid, ⊗ 1_{32×32};
- ``2:4 768-3072-768``: two of every four consecutive weights of each row kept, uniformly at random;
- ``butterfly chain 4096, 12 factors``: the dyadic butterfly factors I_{2^{s-1}} ⊗ 1_{2×2} ⊗ I_{2^{12-s}}.

Run: ``python benchmarks/bench_scale.py [--sizes 64 256 1024 4096] [--families ...] [--networks ...]``. The
machine may be shared: each row is one run, compare rows within one table.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap

FAMILIES = ("butterfly split", "butterfly split (masks)", "monarch", "lu", "random 1 %", "random 5 %",
            "pruned MLP pair")

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from wellposed.analysis import analyze, analyze_spec
    from wellposed.families import family
    from wellposed.network import pair_pattern
    import wellposed.closedness, z3  # imports before the clock

    kind, n = sys.argv[1], int(sys.argv[2])

    def pruned_pair(n):
        rng = np.random.default_rng(0)
        masks = []
        for _ in range(2):
            w = rng.standard_normal((n, n)) * rng.lognormal(0, 0.5, (n, 1)) * rng.lognormal(0, 0.5, (1, n))
            masks.append(np.abs(w) >= np.quantile(np.abs(w), 0.9))
        return pair_pattern(masks[1], masks[0], name=f"pruned MLP pair {n}")

    s = int(round(np.log2(n))) // 2
    specs = {"butterfly split": f"butterfly:{n}:{s}", "monarch": f"monarch:{int(round(n ** 0.5))}",
             "lu": f"lu:{n}", "random 1 %": f"random:{n},{n},{n},0.01,0", "random 5 %": f"random:{n},{n},{n},0.05,0"}
    start = time.perf_counter()
    if kind == "butterfly split (masks)":
        rec = analyze(family(f"butterfly:{n}:{s}"))
    elif kind == "pruned MLP pair":
        rec = analyze(pruned_pair(n))
    else:
        rec = analyze_spec(specs[kind])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak": peak, "json": len(json.dumps(rec.to_json())),
                      "closed": rec.closed, "method": rec.closed_method, "tractable": rec.tractable_method}))
""")


NETWORKS = ("MLP 784-300-100-10, 10 %", "MLP 1024x4, 10 %", "block-sparse 1024x3, 32x32 blocks, 10 %",
            "flat block butterfly 1024x3", "2:4 768-3072-768", "butterfly chain 4096, 12 factors")

_NETWORK_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from wellposed.kronecker import KSPattern
    from wellposed.network import analyze_network
    import wellposed.closedness, z3  # imports before the clock

    def pruned(widths, density, seed):
        rng = np.random.default_rng(seed)
        out = []
        for a, b in zip(widths[:-1], widths[1:]):
            w = rng.standard_normal((b, a)) * rng.lognormal(0, 0.5, (b, 1)) * rng.lognormal(0, 0.5, (1, a))
            out.append(np.abs(w) >= np.quantile(np.abs(w), 1 - density))
        return out

    def block_sparse(width, layers, block, density, seed):
        rng = np.random.default_rng(seed)
        nb = width // block
        return [np.kron(rng.random((nb, nb)) < density, np.ones((block, block), bool)) for _ in range(layers)]

    def flat_butterfly(width, layers, block):
        nb = width // block
        levels = int(np.log2(nb))
        flat = np.zeros((nb, nb), bool)
        for s in range(1, levels + 1):
            flat |= KSPattern(2 ** (s - 1), 2, 2, 2 ** (levels - s)).mask()
        return [np.kron(flat, np.ones((block, block), bool))] * layers

    def two_four(widths, seed):
        rng = np.random.default_rng(seed)
        out = []
        for a, b in zip(widths[:-1], widths[1:]):
            m = np.zeros((b, a // 4, 4), bool)
            np.put_along_axis(m, np.argsort(rng.random((b, a // 4, 4)), axis=2)[:, :, :2], True, axis=2)
            out.append(m.reshape(b, a))
        return out

    kind = sys.argv[1]
    masks = {
        "MLP 784-300-100-10, 10 %": lambda: pruned([784, 300, 100, 10], 0.1, 0),
        "MLP 1024x4, 10 %": lambda: pruned([1024] * 5, 0.1, 1),
        "block-sparse 1024x3, 32x32 blocks, 10 %": lambda: block_sparse(1024, 3, 32, 0.1, 0),
        "flat block butterfly 1024x3": lambda: flat_butterfly(1024, 3, 32),
        "2:4 768-3072-768": lambda: two_four([768, 3072, 768], 0),
        "butterfly chain 4096, 12 factors": lambda: [KSPattern(2 ** (s - 1), 2, 2, 2 ** (12 - s)).mask()
                                                     for s in range(12, 0, -1)],
    }[kind]()
    start = time.perf_counter()
    rep = analyze_network(masks)
    seconds = time.perf_counter() - start
    js = rep.to_json()
    pairs = [p.get("closed") for p in js["pairs"]]
    methods = sorted({p.get("closed_method") for p in js["pairs"]})
    print(json.dumps({"seconds": seconds, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "json": len(json.dumps(js)), "pairs": len(pairs), "closed": pairs.count(True),
                      "not_closed": pairs.count(False), "undecided": pairs.count(None), "methods": methods}))
""")


def run_case(kind: str, n: int, timeout: float, child: str = _CHILD) -> dict:
    try:
        out = subprocess.run([sys.executable, "-c", child, kind, str(n)], capture_output=True, text=True,
                             timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:g} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def growth(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(N) over N ≥ 256."""
    pts = [(math.log(n), math.log(max(t, 1e-4))) for n, t in points if n >= 256]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES, metavar="FAMILY")
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=NETWORKS, metavar="NETWORK")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per case (a safety valve)")
    args = parser.parse_args()
    print(f"{'family':26} {'N':>5} {'seconds':>9} {'peak MB':>8} {'JSON kB':>8}  verdict")
    fits = {}
    for kind in args.families:
        points = []
        for n in args.sizes:
            res = run_case(kind, n, args.timeout)
            if "error" in res:
                print(f"{kind:26} {n:>5} {'—':>9} {'—':>8} {'—':>8}  {res['error']}")
                continue
            points.append((n, res["seconds"]))
            verdict = {True: "closed", False: "not closed", None: "undecided"}[res["closed"]]
            print(f"{kind:26} {n:>5} {res['seconds']:>9.3f} {res['peak'] / 2**20:>8.0f} {res['json'] / 1000:>8.1f}  "
                  f"{verdict} [{res['method']}]", flush=True)
        fits[kind] = growth(points)
    print("\ngrowth exponent of the time in N (fit over N ≥ 256):")
    for kind, slope in fits.items():
        print(f"  {kind:26} {'—' if slope is None else f'{slope:.2f}'}")
    if args.networks:
        print(f"\n{'network':42} {'seconds':>8} {'peak MB':>8} {'JSON kB':>8}  pairs: closed / not closed / undecided")
    for kind in args.networks:
        res = run_case(kind, 0, args.timeout, _NETWORK_CHILD)
        if "error" in res:
            print(f"{kind:42} {'—':>8} {'—':>8} {'—':>8}  {res['error']}")
            continue
        print(f"{kind:42} {res['seconds']:>8.2f} {res['peak'] / 2**20:>8.0f} {res['json'] / 1000:>8.1f}  "
              f"{res['closed']} / {res['not_closed']} / {res['undecided']} of {res['pairs']} "
              f"[{', '.join(res['methods'])}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
