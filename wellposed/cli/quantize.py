"""The ``wellposed quantize`` sub-command: t-bit quantization of Kronecker-sparse factors from a .npz file."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["NAME", "add_parser", "run"]

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


def _product_error(exact: Any, approx: Any) -> tuple[float, bool]:
    """Relative Frobenius error of the product of two FactorChains: dense when small, else a 64-probe estimate."""
    import numpy as np

    rows, cols = exact.shape
    if rows * cols <= _DENSE_LIMIT:
        p, q = exact.to_dense(), approx.to_dense()
        return float(np.linalg.norm(p - q) / max(np.linalg.norm(p), np.finfo(float).tiny)), True
    probes = np.random.default_rng(0).standard_normal((cols, 64))
    pe, qe = exact.apply(probes), approx.apply(probes)
    return float(np.linalg.norm(pe - qe) / max(np.linalg.norm(pe), np.finfo(float).tiny)), False


def run(args: argparse.Namespace) -> int:
    """Execute ``wellposed quantize``; return the exit code (failures are raised for ``main`` to map)."""
    import math
    import time
    import warnings

    import numpy as np

    from wellposed.errors import InvalidMatrixError, InvalidSpecError, OutputError
    from wellposed.solvers.butterfly import FactorChain
    from wellposed.solvers.quantize import FloatFormat, quantize_factors

    from .args import check_output_path

    if (args.bits is None) == (args.fmt is None):
        raise InvalidSpecError("give exactly one of --bits t or --format NAME (e.g. --bits 8 or --format bf16)")
    fmt = FloatFormat.preset(args.fmt) if args.fmt is not None else FloatFormat(t=args.bits)
    if fmt.t > 24:
        raise InvalidSpecError(f"--bits/--format gives t={fmt.t}: the exhaustive search supports t <= 24")
    check_output_path(args.out, "--out")
    if not args.factors.lower().endswith(".npz"):
        raise InvalidSpecError(
            f"FACTORS = {args.factors!r} must be a .npz factor file, as written by `wellposed factor ... --out F.npz` "
            "(keys format, num_factors, pattern_0, factor_0, ...)."
        )
    chain = FactorChain.load(args.factors)
    patterns, data = chain.patterns, [f.data for f in chain]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        res = quantize_factors(patterns, data, fmt, args.method)
        elapsed = time.perf_counter() - start
        if not all(np.all(np.isfinite(f)) for f in res.factors):
            raise InvalidMatrixError(f"FACTORS file {args.factors!r}: quantizing to {fmt.name} overflows (values "
                                     f"beyond its largest finite number {fmt.max_finite!r}); rescale the factors "
                                     "(multiply one by 2**-k and the next by 2**k) or use a format with a wider "
                                     "exponent range.")
        # the quantized chains keep the input's permutations (e.g. the bit reversal of `wellposed factor`)
        quantized = chain.with_factors(res.to_chain().factors)
        naive = quantize_factors(patterns, data, fmt.saturating(), "naive")
        err, exact_eval = _product_error(chain, quantized)
        naive_err, _ = _product_error(chain, chain.with_factors(naive.to_chain().factors))
    if not (math.isfinite(err) and math.isfinite(naive_err)):
        raise InvalidMatrixError(f"FACTORS file {args.factors!r}: the error of the quantized product is not finite "
                                 f"({err!r}): the factors' scale overflows float64; rescale them (multiply one by "
                                 "2**-k and the next by 2**k) so that their product stays below about 1e150.")
    written = None
    if args.out:
        try:
            written = quantized.save(args.out)
        except OutputError as exc:  # FactorChain.save names its parameter 'path'; on the command line it is --out
            raise OutputError(str(exc).replace("path = ", "--out = ", 1)) from None
    method = args.method if len(patterns) > 2 else "optimal pair" if len(patterns) == 2 else "rounding"
    record = {
        "file": args.factors,
        "num_factors": len(patterns),
        "patterns": [list(p.abcd) for p in patterns],
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
        "out": written,
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
    if written:
        print(f"  quantized factors written to {written}")
    return 0
