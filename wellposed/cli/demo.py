"""The ``wellposed demo`` sub-command: educational demos (``demo lu``: the LU pattern is ill-posed)."""

from __future__ import annotations

import argparse
from typing import Any

from .args import int_type

__all__ = ["NAME", "DEMOS", "add_parser", "run"]

NAME = "demo"

#: Largest --n (equal to ``wellposed.demo.MAX_N``; repeated here to keep this module import-cheap).
MAX_N = 8

#: Demo names and their one-line summaries.
DEMOS = {"lu": "[[0,1],[1,0]] is a limit of LU products but has no LU factorization"}

_DESCRIPTION = """\
Educational demos with numbers and figures.

  lu   A = [[0,1],[1,0]] is the limit of products X_k Y_kᵀ of lower-triangular factors, yet has no LU
       factorization: the FSMF loss tends to 0 along the sequence but 0 is never attained, and the factor
       norms must blow up. Prints the sequence table, an exact (sympy) proof that no factorization exists,
       and the contrast with a closed pattern (full supports, rank ≤ n−1) whose minimizer the SVD finds.
       Writes figures (PNG or SVG, no display needed) to --out. With --n > 2 the 2×2 obstruction sits in
       the top-left corner with the identity elsewhere."""


def add_parser(subparsers: Any) -> None:
    """Register ``wellposed demo`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser(NAME, help="educational demos (lu: an ill-posed factorization, with figures)",
                              description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("demo", choices=sorted(DEMOS), metavar="DEMO", help="which demo: " + ", ".join(sorted(DEMOS)))
    p.add_argument("--n", type=int_type(2, MAX_N), default=2,
                   help=f"matrix size, 2 ≤ n ≤ {MAX_N} (default 2)")
    p.add_argument("--out", default="demo-lu", metavar="DIR",
                   help="directory for the figures (created if needed; default ./demo-lu)")
    p.add_argument("--format", choices=["png", "svg"], default="png", help="figure format (default png)")
    p.add_argument("--steps", type=int_type(1, 10**7), default=50000,
                   help="gradient-descent steps of the training comparison (default 50000)")
    p.add_argument("--no-figures", action="store_true", help="print the numbers only, write no file")
    p.set_defaults(func=run)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if v == v else "—"


def run(args: argparse.Namespace) -> int:
    """Execute ``wellposed demo``; return the exit code (failures are raised for ``main`` to map: 2 an --out that
    is a file, 4 an --out that cannot be written)."""
    import stat
    from pathlib import Path

    import numpy as np

    from ..demo import (
        closed_contrast,
        gradient_descent,
        lu_no_factorization_proof,
        lu_pattern,
        lu_sequence,
        lu_target,
    )
    from ..demo_figures import plot_lu_demo
    from ..errors import InvalidSpecError, UndecidedError
    from ..io.outputs import output_error

    n = args.n
    out = Path(args.out)
    if not args.no_figures:  # check the output folder before the (long) computation
        import os

        try:
            is_dir = stat.S_ISDIR(os.stat(out).st_mode)
        except FileNotFoundError:
            is_dir = True  # created when the figures are written
        except OSError as exc:  # a symbolic link loop, a parent that is a file, no permission
            raise output_error("--out", out, exc) from None
        if not is_dir:
            raise InvalidSpecError(f"--out {args.out!r} exists and is not a directory; give a directory path.")
    A = lu_target(n)
    print(f"{n}×{n} LU demo: X and Y lower triangular (X Yᵀ = lower × upper), target A =")
    for row in A.astype(int):
        print("    " + " ".join(f"{v:2d}" for v in row))
    if n > 2:
        print(f"  (n = {n}: the 2×2 obstruction [[0,1],[1,0]] sits in the top-left corner, identity elsewhere;")
        print("   lower-triangular factors make the top-left 2×2 block of X Yᵀ depend on their 2×2 corners only)")
    print()
    print("1. A is a limit of LU products: X_k = [[1/√k, 0], [√k, −√k]], Y_k = [[1/√k, 0], [√k, √k]]"
          + (" (⊕ identity)" if n > 2 else ""))
    seq = lu_sequence(n, [1, 10, 100, 1000, 10000, 100000])
    head = f"{'k':>8}  {'‖X_kY_kᵀ−A‖_F':>14}  {'loss':>10}  {'‖X_k‖_F':>9}  {'‖Y_k‖_F':>9}  {'‖X_k‖‖Y_k‖':>11}  " \
           f"{'bound':>9}"
    print(head)
    for row in seq.rows():
        print(f"{row['k']:>8.0f}  {_fmt(row['error']):>14}  {_fmt(row['error'] ** 2):>10}  "
              f"{_fmt(row['x_norm']):>9}  {_fmt(row['y_norm']):>9}  {_fmt(row['norm_product']):>11}  "
              f"{_fmt(row['lower_bound']):>9}")
    print("  the loss ‖A − X_kY_kᵀ‖²_F → 0 (infimum 0) while the factors blow up. 'bound' = (1−δ)²/δ with")
    print("  δ = ‖X Yᵀ − A‖_F: ANY lower-triangular X, Y that close to A have ‖X‖_F‖Y‖_F ≥ bound, because")
    print("  (XYᵀ)₁₂(XYᵀ)₂₁ = (XYᵀ)₁₁ · x₂₁y₂₁. No rescaling keeps them bounded.")
    print()
    proof = lu_no_factorization_proof(n)
    print("2. A has no LU factorization (exact, sympy): the equations of the top-left 2×2 block")
    for eq in proof.equations:
        print(f"     {eq}")
    print(f"   sympy.solve → {list(proof.solutions)} (no solution); Gröbner basis → {list(proof.groebner)}")
    print(f"   certificate: {proof.identity}   [expanded by sympy: {'verified' if proof.verified else 'FAILED'}]")
    print(f"   in words: {proof.argument}")
    if not proof.verified:  # a bug, not bad input: main maps UndecidedError to exit 1
        raise UndecidedError("the symbolic certificate of the LU demo did not verify; please report this bug.")
    print()
    contrast = closed_contrast(n)
    lu_runs = gradient_descent(A, lu_pattern(n), steps=args.steps, seeds=[0, 1, 2])
    c_runs = gradient_descent(A, contrast.pattern, steps=args.steps, seeds=[0, 1, 2])
    print(f"3. Contrast with a closed pattern: full supports, rank ≤ {n - 1} (every X, Y of size {n}×{n - 1}).")
    print(f"   singular values of A: {np.round(contrast.singular_values, 12).tolist()}; the truncated SVD gives "
          f"loss {contrast.loss:.12g} = infimum {contrast.infimum:.12g}: the minimum is attained.")
    print(f"   gradient descent, {args.steps} steps, lr {lu_runs.lr:g}, seeds 0-2 (same A, same start law):")
    print(f"     {'pattern':<22} {'final loss':>12} {'‖(X,Y)‖_F at steps/10':>22} {'at the end':>11}")
    tenth = int(np.searchsorted(lu_runs.steps, max(args.steps // 10, 1)))
    for label, runs in ((f"LU ({n}×{n}, r = {n})", lu_runs), (f"full, rank ≤ {n - 1}", c_runs)):
        norm = np.hypot(runs.x_norms, runs.y_norms)
        print(f"     {label:<22} {_fmt(float(runs.final_loss.max())):>12} {_fmt(float(norm[:, tenth].max())):>22} "
              f"{_fmt(float(norm[:, -1].max())):>11}")
    print("   LU: the loss creeps towards 0 and the parameters keep growing (no minimizer to converge to);")
    print(f"   rank ≤ {n - 1}: the loss reaches its minimum {contrast.infimum:g} and the parameters settle.")
    if args.no_figures:
        return 0
    paths = plot_lu_demo(out, n=n, fmt=args.format, steps=args.steps, training=(lu_runs, c_runs), parameter="--out")
    print()
    print("figures:")
    for name, path in paths.items():
        print(f"  {name:<15} {path}")
    return 0
