"""Benchmark: optimal vs naive t-bit quantization of rank-one matrices and butterfly factorizations.

Prints markdown tables:

1. worst observed relative error as a function of t, for scalars and rank-one matrices (naive rounding of
   x and y vs the exact optimum), with the fitted exponent α in err ≈ C · 2**(-α t);
2. time per rank-one quantization (single vectors and batches of butterfly terms), and lazylinop's
   ``qrank_one`` on the same inputs when lazylinop is installed (fp16 target);
3. relative error of the product for butterfly factorizations (orthonormal Hadamard, random butterfly
   products, DCT approximation) at N = 256, 1024, 4096 and t = 3..11: naive, pairwise, left-to-right;
4. storage saving at equal accuracy: the significand width t' that naive rounding needs to match the
   optimum's error at width t (log-linear interpolation in t), saving = 1 - t / t'.

Usage::

    python benchmarks/bench_quantize.py            # full run (several minutes on 2 cores)
    python benchmarks/bench_quantize.py --quick    # N = 256 only, fewer trials
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from wellposed.solvers.butterfly import FactorChain, KSFactor, ks_apply
from wellposed.solvers.quantize import (
    FloatFormat,
    quantize_factors,
    quantize_rank_one,
    quantize_rank_one_batch,
    rank_one_error,
    round_to_format,
)

from wellposed.kronecker import KSPattern

T_RANGE = list(range(3, 12))
T_NAIVE = list(range(2, 17))  # naive curves extend further: they are the reference for equal accuracy


def _log2(v: float) -> str:
    return f"{math.log2(v):6.2f}" if v > 0 else "  -inf"


def _fit_exponent(ts: Sequence[int], errs: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit log2(err) = c - α t; returns (α, c)."""
    t = np.asarray(ts, dtype=float)
    y = np.log2(np.asarray(errs, dtype=float))
    slope, intercept = np.polyfit(t, y, 1)
    return -float(slope), float(intercept)


def _equivalent_bits(t_grid: Sequence[int], naive_err: Sequence[float], target: float) -> float:
    """Fractional t at which the naive error curve reaches ``target`` (log-linear interpolation)."""
    logs = np.log2(np.maximum(np.asarray(naive_err, dtype=float), 1e-300))
    goal = math.log2(max(target, 1e-300))
    for i in range(len(t_grid) - 1):
        if logs[i] >= goal >= logs[i + 1]:
            if logs[i] == logs[i + 1]:
                return float(t_grid[i])
            frac = (logs[i] - goal) / (logs[i] - logs[i + 1])
            return t_grid[i] + frac * (t_grid[i + 1] - t_grid[i])
    return math.nan if goal < logs[-1] else float(t_grid[0])


def _print(lines: list[str], text: str = "") -> None:
    lines.append(text)
    print(text, flush=True)


# ----------------------------------------------------------------------------------------------------------
# 1. worst-case relative errors
# ----------------------------------------------------------------------------------------------------------


def scalar_worst(t: int) -> float:
    """Worst relative rounding error over [1, 2): attained just above the first midpoint; checked on a grid."""
    u = math.ldexp(1.0, -t)
    grid = np.concatenate([np.linspace(1.0, 2.0, 200001)[:-1], np.nextafter(1.0 + u, 0.0) + np.zeros(1)])
    r = round_to_format(grid, t)
    return float(np.max(np.abs(r - grid) / grid))


def rank_one_errors(m: int, n: int, trials: int, seed: int) -> dict[str, np.ndarray]:
    """Relative errors, naive for every t in T_NAIVE, optimal for t in T_RANGE (NaN elsewhere)."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((trials, m)), rng.standard_normal((trials, n))
    norm = np.linalg.norm(X, axis=1) * np.linalg.norm(Y, axis=1)
    out = {"naive": np.empty((len(T_NAIVE), trials)), "optimal": np.full((len(T_NAIVE), trials), np.nan)}
    for i, t in enumerate(T_NAIVE):
        xr, yr = round_to_format(X, t), round_to_format(Y, t)
        out["naive"][i] = rank_one_error(X, Y, xr, yr) / norm
        if t in T_RANGE:
            out["optimal"][i] = quantize_rank_one_batch(X, Y, t).error / norm
    return out


def section_worst_case(lines: list[str], trials: int) -> dict[str, dict[str, np.ndarray]]:
    _print(lines, "## Worst observed relative error vs t (log2)")
    _print(lines)
    _print(lines, f"Scalars: max |fl(x) - x| / |x| over [1, 2). Rank-one: max over {trials} Gaussian pairs of "
           "‖xyᵀ − x̂ŷᵀ‖/‖xyᵀ‖ (observed worst case, a lower bound of the true worst case).")
    _print(lines)
    shapes = [(2, 2), (16, 16), (256, 256)]
    data = {}
    for m, n in shapes:
        tr = trials if m <= 16 else max(10, trials // 20)
        data[f"{m}x{n}"] = rank_one_errors(m, n, tr, seed=m)
    header = "| t | scalar | " + " | ".join(f"{k} naive | {k} optimal" for k in data) + " |"
    _print(lines, header)
    _print(lines, "|" + "---|" * (2 + 2 * len(data)))
    scal = {t: scalar_worst(t) for t in T_RANGE}
    for t in T_RANGE:
        i = T_NAIVE.index(t)
        cells = [_log2(scal[t])]
        for k in data:
            cells += [_log2(float(np.max(data[k]["naive"][i]))), _log2(float(np.max(data[k]["optimal"][i])))]
        _print(lines, f"| {t} | " + " | ".join(cells) + " |")
    alpha, c = _fit_exponent(T_RANGE, [scal[t] for t in T_RANGE])
    fits = [f"scalar α = {alpha:.3f} (C = 2^{c:.2f})"]
    for k in data:
        idx = [T_NAIVE.index(t) for t in T_RANGE]
        for meth in ("naive", "optimal"):
            worst = [float(np.max(data[k][meth][i])) for i in idx]
            a, cc = _fit_exponent(T_RANGE, worst)
            fits.append(f"{k} {meth} α = {a:.3f} (C = 2^{cc:.2f})")
    _print(lines)
    _print(lines, "Fitted worst-case exponent, err ≈ C · 2^(−α t) over t = 3..11: " + "; ".join(fits) + ".")
    _print(lines)
    _print(lines, "Mean relative error (log2):")
    _print(lines)
    _print(lines, "| t | " + " | ".join(f"{k} naive | {k} optimal | ratio" for k in data) + " |")
    _print(lines, "|" + "---|" * (1 + 3 * len(data)))
    for t in T_RANGE:
        i = T_NAIVE.index(t)
        cells = []
        for k in data:
            a, b = float(np.mean(data[k]["naive"][i])), float(np.mean(data[k]["optimal"][i]))
            cells += [_log2(a), _log2(b), f"{b / a:.3f}"]
        _print(lines, f"| {t} | " + " | ".join(cells) + " |")
    _print(lines)
    return data


# ----------------------------------------------------------------------------------------------------------
# 2. timing, lazylinop comparison
# ----------------------------------------------------------------------------------------------------------


def _median_time(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _lazylinop_qrank_one() -> Callable[..., tuple[np.ndarray, np.ndarray, float]] | None:
    if importlib.util.find_spec("lazylinop") is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lazylinop.quantization import qrank_one
    except Exception as exc:  # noqa: BLE001 - optional anchor: any import failure means "not available"
        print(f"(lazylinop installed but not importable: {exc!r})", file=sys.stderr)
        return None
    return qrank_one  # type: ignore[no-any-return]


def section_timing(lines: list[str], quick: bool) -> None:
    _print(lines, "## Time per rank-one quantization")
    _print(lines)
    qrank_one = _lazylinop_qrank_one()
    lazy_max = 256 if quick else 1024
    _print(lines, "Single x yᵀ with m = n, Gaussian entries, median of repeats; fp16 target (t = 11, IEEE half "
           "exponent range). lazylinop's `qrank_one` (same inputs, same run) "
           + (f"is compared up to m = {lazy_max} (its cost grows like m·n·2^t)." if qrank_one else
              "is not installed: column left empty."))
    _print(lines)
    _print(lines, "| m = n | ours t=8 (s) | ours fp16 (s) | lazylinop fp16 (s) | speed-up | rel. error ours | "
           "rel. error lazylinop | naive rel. error |")
    _print(lines, "|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    sizes = [16, 256, 1024] if quick else [16, 256, 1024, 4096]
    fp16 = FloatFormat.preset("fp16")
    for m in sizes:
        x, y = rng.standard_normal(m), rng.standard_normal(m)
        reps = 5 if m <= 256 else 2
        t8 = _median_time(lambda x=x, y=y: quantize_rank_one(x, y, 8), reps)
        t16 = _median_time(lambda x=x, y=y: quantize_rank_one(x, y, fp16), reps)
        ours = quantize_rank_one(x, y, fp16)
        lazy_t = lazy_err = ""
        speed = ""
        if qrank_one is not None and m <= lazy_max:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                xh, yh, _ = qrank_one(x.reshape(-1, 1), y.reshape(-1, 1), "float16")
                elapsed = time.perf_counter() - start
            xh64, yh64 = np.asarray(xh, dtype=float).ravel(), np.asarray(yh, dtype=float).ravel()
            err = np.linalg.norm(np.outer(x, y) - np.outer(xh64, yh64)) / (np.linalg.norm(x) * np.linalg.norm(y))
            lazy_t, lazy_err, speed = f"{elapsed:.4f}", f"{err:.6e}", f"{elapsed / t16:.1f}×"
        _print(lines, f"| {m} | {t8:.4f} | {t16:.4f} | {lazy_t} | {speed} | {ours.relative_error:.6e} | {lazy_err} | "
               f"{ours.naive_relative_error:.6e} |")
    _print(lines)
    _print(lines, "Batched butterfly terms (2048 independent 2×2 rank-one terms, the pairs of one N = 4096 "
           "butterfly split):")
    _print(lines)
    _print(lines, "| t | seconds per batch | µs per term |")
    _print(lines, "|---|---|---|")
    X, Y = rng.standard_normal((2048, 2)), rng.standard_normal((2048, 2))
    for t in (4, 8, 11):
        sec = _median_time(lambda t=t: quantize_rank_one_batch(X, Y, t), 3)
        _print(lines, f"| {t} | {sec:.3f} | {1e6 * sec / 2048:.1f} |")
    _print(lines)


# ----------------------------------------------------------------------------------------------------------
# 3. butterflies
# ----------------------------------------------------------------------------------------------------------


def _family(name: str, N: int) -> tuple[list[KSPattern], list[np.ndarray]]:
    from scipy.fft import dct
    from scipy.linalg import hadamard
    from wellposed.solvers.butterfly import factorize

    from wellposed.kronecker import dyadic_butterfly

    pats = list(dyadic_butterfly(N))
    if name == "hadamard":
        A = hadamard(N).astype(float) / math.sqrt(N)
    elif name == "random":
        rng = np.random.default_rng(N)
        A = FactorChain(tuple(KSFactor(p, rng.standard_normal(p.abcd)) for p in pats)).to_dense()
    elif name == "dct":
        A = dct(np.eye(N), norm="ortho", axis=0)
    else:
        raise ValueError(name)
    res = factorize(A, pats)
    chain = res.chain
    return [f.pattern for f in chain.factors], [np.asarray(f.data, dtype=float) for f in chain.factors]


class _ErrorMeter:
    """Relative Frobenius error of a quantized chain: dense for N <= 1024, else 256 shared Gaussian probes."""

    def __init__(self, pats: list[KSPattern], data: list[np.ndarray]) -> None:
        self.pats = pats
        n = pats[-1].shape[1]
        self.dense = n <= 1024
        self.probe = np.eye(n) if self.dense else np.random.default_rng(1).standard_normal((n, 256))
        self.ref = self._apply(data)
        self.norm = float(np.linalg.norm(self.ref))

    def _apply(self, factors: Sequence[np.ndarray]) -> np.ndarray:
        out = self.probe
        for p, f in zip(reversed(self.pats), reversed(factors), strict=True):
            out = ks_apply(p, f, out)
        return out

    def __call__(self, factors: Sequence[np.ndarray]) -> float:
        return float(np.linalg.norm(self._apply(factors) - self.ref) / self.norm)


def section_butterflies(lines: list[str], sizes: Sequence[int]) -> dict[tuple[str, int], dict[str, list[float]]]:
    _print(lines, "## Butterfly factorizations: relative error of the product")
    _print(lines)
    _print(lines, "Factors from `wellposed.solvers.butterfly.factorize` (dyadic chain, balanced tree) of: the "
           "orthonormal "
           "Hadamard matrix H/√N; a random butterfly product (Gaussian factors); the orthonormal DCT-II "
           "(approximated). Error ‖P − P̂‖_F/‖P‖_F against the product P of the unquantized factors, exact "
           "for N ≤ 1024, estimated with 256 shared Gaussian probes for N = 4096. log2 values; "
           "'ratio' = l2r / naive.")
    _print(lines)
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    for name in ("hadamard", "random", "dct"):
        for N in sizes:
            start = time.perf_counter()
            pats, data = _family(name, N)
            meter = _ErrorMeter(pats, data)
            rec: dict[str, list[float]] = {"naive": [], "pairwise": [], "l2r": [], "seconds": []}
            for t in T_NAIVE:
                rec["naive"].append(meter(quantize_factors(pats, data, t, "naive").factors))
            for t in T_RANGE:
                for method in ("pairwise", "l2r"):
                    s0 = time.perf_counter()
                    q = quantize_factors(pats, data, t, method)
                    if method == "l2r":
                        rec["seconds"].append(time.perf_counter() - s0)
                    rec[method].append(meter(q.factors))
            results[(name, N)] = rec
            _print(lines, f"### {name}, N = {N} (L = {len(pats)} factors; {time.perf_counter() - start:.1f} s)")
            _print(lines)
            _print(lines, "| t | naive | pairwise | l2r | ratio l2r/naive | l2r time (s) |")
            _print(lines, "|---|---|---|---|---|---|")
            for i, t in enumerate(T_RANGE):
                nv = rec["naive"][T_NAIVE.index(t)]
                pw, lr = rec["pairwise"][i], rec["l2r"][i]
                ratio = f"{lr / nv:.3f}" if nv > 0 else "-"
                _print(lines, f"| {t} | {_log2(nv)} | {_log2(pw)} | {_log2(lr)} | {ratio} | {rec['seconds'][i]:.2f} |")
            _print(lines)
    return results


# ----------------------------------------------------------------------------------------------------------
# 4. storage at equal accuracy
# ----------------------------------------------------------------------------------------------------------


def section_storage(lines: list[str], rank_one: dict[str, dict[str, np.ndarray]],
                    chains: dict[tuple[str, int], dict[str, list[float]]]) -> None:
    _print(lines, "## Storage at equal accuracy")
    _print(lines)
    _print(lines, "For each t, t' is the (interpolated) significand width with which naive rounding reaches the "
           "error of the optimized method at width t; saving = 1 − t/t' counts sign + significand bits "
           "(the exponent field, identical for both, is left out; with a 5-bit exponent the saving is "
           "1 − (t+5)/(t'+5)). Rank-one: mean errors. ∞: no naive width up to 16 reaches the error (e.g. "
           "an exact result). Median over t = 4..11 (∞ counts as saving t/16 at most, so the median is a "
           "lower bound there).")
    _print(lines)
    _print(lines, "| case | t=4: t' | t=8: t' | t=11: t' | median saving | median saving with 5-bit exponent |")
    _print(lines, "|---|---|---|---|---|---|")
    rows: list[tuple[str, list[float], list[float]]] = []
    for key, d in rank_one.items():
        naive = [float(np.mean(d["naive"][i])) for i in range(len(T_NAIVE))]
        opt = [float(np.mean(d["optimal"][T_NAIVE.index(t)])) for t in T_RANGE]
        rows.append((f"rank-one {key}, optimal", naive, opt))
    for (name, N), rec in chains.items():
        for method in ("pairwise", "l2r"):
            rows.append((f"{name} N={N}, {method}", rec["naive"], rec[method]))
    for label, naive, opt in rows:
        equiv = [_equivalent_bits(T_NAIVE, naive, e) if e > 0 else math.inf for e in opt]
        equiv = [math.inf if math.isnan(q) else q for q in equiv]
        pick = [T_RANGE.index(t) for t in (4, 8, 11)]
        sel = [(t, q) for t, q in zip(T_RANGE, equiv, strict=True) if t >= 4]
        cap = float(T_NAIVE[-1])
        savings = [1 - t / min(q, cap) for t, q in sel]
        savings5 = [1 - (t + 5) / (min(q, cap) + 5) for t, q in sel]
        med = f"{100 * float(np.median(savings)):.1f} %"
        med5 = f"{100 * float(np.median(savings5)):.1f} %"
        cells = [f"{equiv[i]:.2f}" if math.isfinite(equiv[i]) else "∞" for i in pick]
        _print(lines, f"| {label} | " + " | ".join(cells) + f" | {med} | {med5} |")
    _print(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 256 only, fewer trials")
    parser.add_argument("--sizes", default=None, help="comma-separated butterfly sizes (default 256,1024,4096)")
    parser.add_argument("--trials", type=int, default=None, help="random rank-one pairs per shape")
    parser.add_argument("--markdown", metavar="PATH", help="also write the tables to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([256] if args.quick else
                                                                          [256, 1024, 4096])
    trials = args.trials or (100 if args.quick else 400)
    lines: list[str] = []
    start = time.perf_counter()
    _print(lines, f"# bench_quantize (numpy {np.__version__}; sizes {sizes}; {trials} rank-one trials)")
    _print(lines)
    rank_one = section_worst_case(lines, trials)
    section_timing(lines, args.quick)
    chains = section_butterflies(lines, sizes)
    section_storage(lines, rank_one, chains)
    _print(lines, f"Total benchmark time: {time.perf_counter() - start:.0f} s.")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
