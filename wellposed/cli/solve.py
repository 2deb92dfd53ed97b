"""The ``wellposed solve`` sub-command: optimal FSMF of a matrix on a tractable support, or a baseline."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..io.arrays import read_matrix as _load_matrix

__all__ = ["NAME", "add_parser", "run"]

NAME = "solve"

_DESCRIPTION = """\
Factorize A ≈ X Yᵀ with X supported on I and Y on J (the pattern SPEC). On tractable supports (DTO or
relaxed C1+C2) the answer is the global optimum, certified by the theorem's value ‖A off support‖² + SVD
tails. Other supports are refused (exit 2) unless --baseline asks for a local search without certificate.
SPEC is a .json/.npz pattern file, case:NAME or a family spec such as butterfly:64:3 or full:50,40,5;
MATRIX.npy is an m×n array saved with numpy.save."""


def add_parser(subparsers: Any) -> None:
    """Register ``solve`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser(NAME, help="optimal FSMF of a matrix on a tractable support",
                              description=_DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="pattern file (.json/.npz), case:NAME or family spec, e.g. monarch:8")
    p.add_argument("matrix", metavar="MATRIX.npy", help="the m×n data matrix A (numpy .npy file)")
    p.add_argument("--out", metavar="F.npz", help="write X, Y and the values to this .npz file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--baseline", choices=["als", "lbfgs"],
                   help="also run a local baseline (the only answer on non-tractable supports)")
    p.add_argument("--restarts", type=int, default=5, help="baseline random restarts (default 5)")
    p.add_argument("--seed", type=int, default=0, help="baseline random seed (default 0)")
    p.set_defaults(func=run)






def run(args: argparse.Namespace) -> int:
    """Execute ``wellposed solve``; return the exit code (failures are raised for ``main`` to map: 2 bad input or
    refusal, 4 an --out that cannot be written, 1 a failed optimality certificate)."""
    import numpy as np

    from wellposed.classify import classify
    from wellposed.errors import CertificateError, InvalidSpecError, NotTractableError, UndecidedError
    from wellposed.families import load_pattern
    from wellposed.io.outputs import atomic_output
    from wellposed.solvers.baselines import fit_fsmf_baseline
    from wellposed.solvers.fsmf import as_data_matrix, solve_fsmf

    from .args import check_output_path

    if args.out is not None and not str(args.out).lower().endswith(".npz"):
        raise InvalidSpecError(f"--out {args.out!r} must end in .npz (numpy.savez archive).")
    check_output_path(args.out, "--out")
    pattern = load_pattern(args.spec)
    A = as_data_matrix(_load_matrix(args.matrix), pattern, parameter="MATRIX")
    cls = classify(pattern)
    try:
        exact = solve_fsmf(A, pattern, classification=cls) if cls.tractable else None
    except CertificateError as exc:  # the solver's own optimality check failed: a bug, not bad input (exit 1)
        raise UndecidedError(f"the optimal factorization could not be certified ({exc}); please report this "
                             "with the pattern and the matrix.") from None
    if exact is None and args.baseline is None:
        raise NotTractableError(f"{args.spec!r} is not tractable: {cls.reason}. Add --baseline als for a "
                                "local solution without optimality certificate.")
    base = (fit_fsmf_baseline(A, pattern, method=args.baseline, restarts=args.restarts, seed=args.seed)
            if args.baseline is not None else None)

    record: dict[str, Any] = {"spec": str(args.spec), "name": pattern.name, "m": pattern.m, "n": pattern.n,
                              "r": pattern.r, "tractable": cls.tractable, "reason": cls.reason}
    if exact is not None:
        record["solution"] = exact.to_json()
    if base is not None:
        record["baseline"] = base.to_json()
    best = exact if exact is not None else base
    assert best is not None  # one of the two ran (guarded above)
    if args.out is not None:
        method = exact.method if exact is not None else f"baseline-{args.baseline}"
        payload: dict[str, Any] = {"X": best.X, "Y": best.Y, "residual": best.residual, "method": method}
        if exact is not None:
            payload["optimal_value"] = exact.optimal_value
        with atomic_output(args.out, "--out") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **payload)
        record["out"] = str(args.out)
    if args.json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return 0
    label = f"{pattern.name} " if pattern.name else ""
    print(f"pattern    {label}(m={pattern.m}, n={pattern.n}, r={pattern.r})")
    if exact is not None:
        info = exact.to_json()
        print(f"method     {exact.method}: {exact.reason}")
        print(f"residual   {exact.residual:.12g}   ‖A − XYᵀ‖²_F, relative error {exact.relative_error:.3g}")
        print(f"optimum    {exact.optimal_value:.12g}   certified: ‖A off support‖² {exact.off_support:.6g}"
              f" + SVD tails {exact.optimal_value - exact.off_support:.6g}")
        shapes = ", ".join(f"{count}× {key}" for key, count in info["svd_block_shapes"].items()) or "none"
        print(f"blocks     {info['num_svd_blocks']} SVD ({shapes}), {info['num_exact_blocks']} exact")
    else:
        print(f"method     none: not tractable ({cls.reason})")
    if base is not None:
        note = "" if exact is not None else ", no optimality certificate"
        print(f"baseline   {base.method}: best residual {base.residual:.12g} over {len(base.values)} "
              f"restarts ({base.seconds:.3g} s){note}")
        if exact is not None:
            print(f"           baseline − optimum = {base.residual - exact.optimal_value:.3g}")
    if args.out is not None:
        print(f"wrote      {args.out}")
    return 0
