"""The ``wellposed factor`` sub-command: Kronecker-sparse (butterfly) factorization of a .npy matrix."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..io.arrays import read_matrix as _load_matrix
from .args import positive_int
from .progress import add_progress_options, progress_bar

__all__ = ["NAME", "add_parser", "run"]

NAME = "factor"

_DESCRIPTION = """\
Approximate a matrix A (saved with numpy.save) by a product F_1 F_2 ... F_L of Kronecker-sparse factors
with the patterns of a chain SPEC, by hierarchical batched truncated SVDs. Every run reports the relative
error and a certificate: the optimal two-factor errors E_s are lower bounds on the best error E* of the
whole chain, so error / max_s E_s is an upper bound on error / E*.

{grammar}

Without options the tree is chosen by cost (left-to-right for square butterflies, with the fused one-pass
kernels) and orthonormalized: the fastest of the methods and within rounding of the best error on exact and
noisy targets.

Examples:
  wellposed factor H.npy --chain butterfly:1024 --out H_factors.npz
  wellposed factor dft.npy --chain butterfly:512 --bit-reversal --json
  wellposed factor big.npy --chain butterfly:8192 --dtype float32"""


def add_parser(subparsers: Any) -> None:
    """Register ``factor`` on an ``argparse`` sub-parser collection."""
    from ..kronecker_spec import CHAIN_SPEC_GRAMMAR  # the one grammar text (also `wellposed families`)

    p = subparsers.add_parser(
        NAME,
        help="butterfly / Kronecker-sparse factorization of a matrix, with an error certificate",
        description=_DESCRIPTION.format(grammar=CHAIN_SPEC_GRAMMAR),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("matrix", metavar="MATRIX.npy", help="the m×n matrix A (numpy .npy file, real or complex)")
    p.add_argument("--chain", metavar="SPEC", required=True, help="chain of patterns, e.g. butterfly:1024")
    p.add_argument(
        "--order",
        choices=["auto", "balanced", "left-to-right", "right-to-left"],
        default="auto",
        help="tree over the split points (default auto: the cheaper of left-to-right and right-to-left, "
        "both O(N²) for square butterflies; balanced is O(N^2.5))",
    )
    p.add_argument(
        "--orthonormalize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="orthonormalized variant: certificate at every split, stays at the noise level on noisy data "
        "(default on; --no-orthonormalize for the plain tree)",
    )
    p.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="working precision (float32: half the memory traffic, errors near 1e-7; complex stays complex)",
    )
    p.add_argument(
        "--bit-reversal",
        action="store_true",
        help="permute the columns of A by bit reversal first (the DFT is then an exact butterfly product)",
    )
    p.add_argument(
        "--exact-certificate",
        action="store_true",
        help="also compute the optimal two-factor error at every split point (slower, tighter certificate)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="threads of the compiled kernels (default: the cores this process may use; the result is the "
        "same for every N)",
    )
    p.add_argument("--out", metavar="F.npz", help="write the factors (keys num_factors, pattern_i, factor_i)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_progress_options(p)
    p.set_defaults(func=run)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3e}"


def run(args: argparse.Namespace) -> int:
    """Execute ``wellposed factor``; return the exit code (failures are raised for ``main`` to map: 2 bad input,
    4 an --out that cannot be written)."""
    import math

    from wellposed.errors import OutputError, ResourceLimitError, WellposedError
    from wellposed.kronecker_spec import check_spec_shape, parse_chain_spec
    from wellposed.solvers.butterfly import factorize

    from .args import check_output_path

    check_output_path(args.out, "--out")  # before the factorization, not after it
    try:
        chain = parse_chain_spec(args.chain)
        A = _load_matrix(args.matrix)
        check_spec_shape(chain, A.shape)
        with progress_bar(args, "factor", "split") as bar:
            res = factorize(
                A,
                chain,
                order=args.order,
                orthonormalize=args.orthonormalize,
                bit_reversal=args.bit_reversal,
                certificate="exact" if args.exact_certificate else "free",
                dtype=args.dtype,
                threads=args.threads,
                progress=bar,
            )
    except WellposedError as exc:  # keep the one-line error convention: first line plus a pointer to --help
        lines = str(exc).splitlines()
        if len(lines) <= 1:
            raise
        raise type(exc)(lines[0] + " (see `wellposed factor --help` for the chain grammar)") from None
    except MemoryError:
        raise ResourceLimitError(f"MATRIX {args.matrix!r} with --chain {args.chain!r}: out of memory while "
                                 "factorizing; try --dtype float32 or a smaller matrix.") from None
    written = None
    if args.out:
        try:
            res.save(args.out)
        except OutputError as exc:  # FactorChain.save names its parameter 'path'; on the command line it is --out
            raise OutputError(str(exc).replace("path = ", "--out = ", 1)) from None
        written = args.out if args.out.endswith(".npz") else args.out + ".npz"
    rec = res.to_json()
    rec["chain_spec"] = args.chain
    rec["matrix"] = args.matrix
    rec["out"] = written
    if args.json:
        print(json.dumps(rec))
        return 0
    m, n = res.chain.shape
    print(f"{args.matrix}: {m}×{n} {rec['dtype']} ≈ product of {len(res.chain)} Kronecker-sparse factors")
    print(f"  chain {args.chain}: " + " ".join(str(p) for p in res.chain.patterns))
    dense = m * n
    print(f"  stored entries: {res.chain.nnz} ({res.chain.nnz / dense:.2%} of the dense matrix)")
    flags = [res.order] + (["orthonormalized"] if res.orthonormalized else [])
    flags += ["bit-reversed columns"] if res.column_permutation is not None else []
    print(f"  method: hierarchical, {', '.join(flags)}; {res.seconds:.3f} s")
    print(f"  error ‖A − Â‖_F = {res.error:.3e} (relative {res.rel_error:.3e})")
    known = int(sum(1 for x in res.split_errors if math.isfinite(x)))
    print(
        f"  certificate: best possible error E* ≥ {res.lower_bound:.3e} (max of {known} of "
        f"{len(res.split_errors)} two-factor optima E_s)"
    )
    ratio = res.certificate_ratio
    if math.isinf(ratio):
        print("  error / E* ≤ ∞ (the lower bound is 0: A is, up to rounding, an exact product, or use "
              "--exact-certificate)")
    else:
        print(f"  error / E* ≤ {ratio:.4f}")
    if written:
        print(f"  factors written to {written} (load with wellposed.solvers.butterfly.FactorChain.load)")
    return 0
