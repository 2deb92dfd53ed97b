"""The ``wellposed quantize`` sub-command: t-bit quantization of Kronecker-sparse factors from a .npz file."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wellposed.cli_args import usage_error as _error

__all__ = ["NAME", "add_parser", "run", "load_factor_file", "save_factor_file"]

NAME = "quantize"

_DESCRIPTION = """\
Quantize the factors F_1, ..., F_L of a Kronecker-sparse (butterfly) chain to floating point with t-bit
significands so that the product F_1 ⋯ F_L changes as little as possible. Consecutive factors are paired:
each inner index gives a rank-one term solved exactly by a breakpoint search; pairs with disjoint rank-one
supports (every consecutive dyadic butterfly pair) are quantized optimally. For L > 2 factors --method
chooses the pairwise or left-to-right heuristic. The report compares with rounding every entry.
FACTORS.npz holds num_factors, pattern_0 (int64 [a,b,c,d]), factor_0 (data of shape (a,b,c,d)),
pattern_1, factor_1, ... (the format written by the butterfly solver)."""

_DENSE_LIMIT = 1 << 24


def add_parser(subparsers: Any) -> None:
    """Register ``quantize`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser(NAME, help="optimal t-bit quantization of butterfly factors",
                              description=_DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("factors", metavar="FACTORS.npz",
                   help="factor chain file (num_factors, pattern_i, factor_i)")
    p.add_argument("--bits", type=int, metavar="t",
                   help="significand bits t including the implicit bit (1..24); unbounded exponents")
    p.add_argument("--format", dest="fmt", metavar="NAME",
                   help="a bounded preset instead of --bits: fp16, bf16, fp32, fp8_e4m3, fp8_e5m2")
    p.add_argument("--method", choices=["pairwise", "l2r"], default="pairwise",
                   help="heuristic for chains of more than two factors (default pairwise)")
    p.add_argument("--out", metavar="Q.npz", help="write the quantized factors to this file (same layout)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def load_factor_file(path: str) -> tuple[list[tuple[int, int, int, int]], list[Any]]:
    """Read patterns and factor data from a chain .npz file (keys num_factors, pattern_i, factor_i)."""
    import numpy as np

    from wellposed.errors import InvalidSpecError

    if not path.lower().endswith(".npz"):
        raise InvalidSpecError(
            f"FACTORS = {path!r} must be a .npz factor file, as written by `wellposed factor ... --out F.npz` "
            "(keys num_factors, pattern_0, factor_0, ...)."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = set(npz.files)
            if "num_factors" not in files:
                raise InvalidSpecError(
                    f"FACTORS file {path!r} has no 'num_factors' entry: expected keys num_factors, "
                    "pattern_0, factor_0, ..."
                )
            count = int(npz["num_factors"])
            if count < 1:
                raise InvalidSpecError(f"FACTORS file {path!r} has num_factors={count!r}: at least 1 needed")
            missing = [k for i in range(count) for k in (f"pattern_{i}", f"factor_{i}") if k not in files]
            if missing:
                raise InvalidSpecError(f"FACTORS file {path!r} lacks {missing!r}")
            patterns = [tuple(int(v) for v in npz[f"pattern_{i}"].reshape(-1)) for i in range(count)]
            data = [np.array(npz[f"factor_{i}"]) for i in range(count)]
    except FileNotFoundError:
        raise InvalidSpecError(f"FACTORS file {path!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise InvalidSpecError(f"cannot read FACTORS {path!r} as a .npz chain file: {exc}") from None
    return patterns, data  # type: ignore[return-value]


def save_factor_file(path: str, patterns: Any, factors: Any) -> None:
    """Write a chain .npz file in the layout read by :func:`load_factor_file`."""
    import numpy as np

    arrays: dict[str, Any] = {"num_factors": np.int64(len(factors))}
    for i, (p, f) in enumerate(zip(patterns, factors, strict=True)):
        arrays[f"pattern_{i}"] = np.asarray(p, dtype=np.int64)
        arrays[f"factor_{i}"] = np.asarray(f)
    np.savez(path, **arrays)


def _product_error(patterns: Any, exact: Any, approx: Any) -> tuple[float, bool]:
    """Relative Frobenius error of the product: dense when small, else a 64-probe estimate."""
    import numpy as np

    from solvers.quantize.butterfly import chain_to_dense, ks_apply

    rows = patterns[0][0] * patterns[0][1] * patterns[0][3]
    cols = patterns[-1][0] * patterns[-1][2] * patterns[-1][3]
    if rows * cols <= _DENSE_LIMIT:
        p = chain_to_dense(patterns, exact)
        q = chain_to_dense(patterns, approx)
        return float(np.linalg.norm(p - q) / max(np.linalg.norm(p), np.finfo(float).tiny)), True
    probes = np.random.default_rng(0).standard_normal((cols, 64))
    pe, qe = probes, probes
    for abcd, fe, fq in zip(reversed(patterns), reversed(exact), reversed(approx), strict=True):
        pe, qe = ks_apply(abcd, np.asarray(fe, dtype=float), pe), ks_apply(abcd, fq, qe)
    return float(np.linalg.norm(pe - qe) / max(np.linalg.norm(pe), np.finfo(float).tiny)), False


def run(args: argparse.Namespace) -> int:
    """Execute ``wellposed quantize``; return the exit code (0 ok, 2 bad input, 1 failure)."""
    import time
    import warnings

    from solvers.quantize import FloatFormat, quantize_factors
    from wellposed.errors import WellposedError

    if (args.bits is None) == (args.fmt is None):
        return _error("give exactly one of --bits t or --format NAME (e.g. --bits 8 or --format bf16)")
    try:
        fmt = FloatFormat.preset(args.fmt) if args.fmt is not None else FloatFormat(t=args.bits)
        if fmt.t > 24:
            return _error(f"--bits/--format gives t={fmt.t}: the exhaustive search supports t <= 24")
        patterns, data = load_factor_file(args.factors)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            res = quantize_factors(patterns, data, fmt, args.method)
            elapsed = time.perf_counter() - start
            naive = quantize_factors(patterns, data, fmt.saturating(), "naive")
        err, exact_eval = _product_error(patterns, data, res.factors)
        naive_err, _ = _product_error(patterns, data, naive.factors)
        if args.out:
            save_factor_file(args.out, patterns, res.factors)
    except WellposedError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write --out {args.out!r}: {exc}")
    method = args.method if len(patterns) > 2 else "optimal pair" if len(patterns) == 2 else "rounding"
    record = {
        "file": args.factors,
        "num_factors": len(patterns),
        "patterns": [list(p) for p in patterns],
        "format": fmt.name,
        "t": fmt.t,
        "method": method,
        "relative_error": err,
        "naive_relative_error": naive_err,
        "error_is_estimate": not exact_eval,
        "optimal": res.optimal,
        "pairs_disjoint": list(res.pair_disjoint),
        "seconds": elapsed,
        "warnings": [str(w.message) for w in caught],
        "out": args.out,
    }
    if args.json:
        print(json.dumps(record))
        return 0
    print(f"{args.factors}: {len(patterns)} factors, format {fmt.name}, method {method}")
    how = "estimated from 64 random probes" if not exact_eval else "exact"
    print(f"  relative error of the product: {err:.4e}  (rounding every entry: {naive_err:.4e}; {how})")
    if naive_err > 0:
        print(f"  error ratio quantized / rounded: {err / naive_err:.3f}")
    status = "proven optimal (two factors, disjoint rank-one supports)" if res.optimal else "heuristic"
    if len(patterns) == 1:
        status = "single factor: rounding is optimal entrywise"
    print(f"  {status}; {elapsed:.3f} s")
    for w in caught:
        print(f"  warning: {w.message}")
    if args.out:
        print(f"  quantized factors written to {args.out}")
    return 0
