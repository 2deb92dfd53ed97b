"""The ``wellposed quantize`` sub-command: t-bit quantization of Kronecker-sparse factors from a .npz file."""

from __future__ import annotations

import argparse
import json
from typing import Any

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
    from wellposed.errors import InvalidSpecError
    from wellposed.solvers.butterfly.factors import read_chain_arrays

    if not path.lower().endswith(".npz"):
        raise InvalidSpecError(
            f"FACTORS = {path!r} must be a .npz factor file, as written by `wellposed factor ... --out F.npz` "
            "(keys num_factors, pattern_0, factor_0, ...)."
        )
    return read_chain_arrays(path, f"FACTORS file {path!r}")


def save_factor_file(path: str, patterns: Any, factors: Any, parameter: str = "path") -> str:
    """Write a chain .npz file in the layout read by :func:`load_factor_file`, atomically; return its name.

    As with :func:`numpy.savez`, ``.npz`` is appended to a name without it; a failed write raises
    :class:`~wellposed.errors.OutputError` naming ``parameter`` and leaves no partial file.
    """
    import numpy as np

    from wellposed.solvers.butterfly.factors import write_npz

    arrays: dict[str, Any] = {"num_factors": np.int64(len(factors))}
    for i, (p, f) in enumerate(zip(patterns, factors, strict=True)):
        arrays[f"pattern_{i}"] = np.asarray(p, dtype=np.int64)
        arrays[f"factor_{i}"] = np.asarray(f)
    return write_npz(path, arrays, parameter)


def _product_error(patterns: Any, exact: Any, approx: Any) -> tuple[float, bool]:
    """Relative Frobenius error of the product: dense when small, else a 64-probe estimate."""
    import numpy as np

    from wellposed.solvers.quantize.butterfly import chain_to_dense, ks_apply

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
    """Execute ``wellposed quantize``; return the exit code (failures are raised for ``main`` to map)."""
    import math
    import time
    import warnings

    import numpy as np

    from wellposed.errors import InvalidMatrixError, InvalidSpecError
    from wellposed.solvers.quantize import FloatFormat, quantize_factors

    from .args import check_output_path

    if (args.bits is None) == (args.fmt is None):
        raise InvalidSpecError("give exactly one of --bits t or --format NAME (e.g. --bits 8 or --format bf16)")
    fmt = FloatFormat.preset(args.fmt) if args.fmt is not None else FloatFormat(t=args.bits)
    if fmt.t > 24:
        raise InvalidSpecError(f"--bits/--format gives t={fmt.t}: the exhaustive search supports t <= 24")
    check_output_path(args.out, "--out")
    patterns, data = load_factor_file(args.factors)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        res = quantize_factors(patterns, data, fmt, args.method)
        elapsed = time.perf_counter() - start
        naive = quantize_factors(patterns, data, fmt.saturating(), "naive")
        err, exact_eval = _product_error(patterns, data, res.factors)
        naive_err, _ = _product_error(patterns, data, naive.factors)
    if not all(np.all(np.isfinite(f)) for f in res.factors):
        raise InvalidMatrixError(f"FACTORS file {args.factors!r}: quantizing to {fmt.name} overflows (values beyond "
                                 f"its largest finite number {fmt.max_finite!r}); rescale the factors (multiply one "
                                 "by 2**-k and the next by 2**k) or use a format with a wider exponent range.")
    if not (math.isfinite(err) and math.isfinite(naive_err)):
        raise InvalidMatrixError(f"FACTORS file {args.factors!r}: the error of the quantized product is not finite "
                                 f"({err!r}): the factors' scale overflows float64; rescale them (multiply one by "
                                 "2**-k and the next by 2**k) so that their product stays below about 1e150.")
    written = save_factor_file(args.out, patterns, res.factors, "--out") if args.out else None
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
