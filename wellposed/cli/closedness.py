"""``wellposed closedness SPEC``: is P = {X Yᵀ} closed? the verdict with its evidence (cheap to import)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..formulas import FORMAT_NAMES
from .args import add_backend_option, add_budget_options
from .progress import add_progress_options, progress_bar

__all__ = ["NAME", "add_parser", "run"]

NAME = "closedness"



def add_parser(subparsers: Any) -> None:
    """Register ``wellposed closedness``."""
    p = subparsers.add_parser(
        NAME, help="is P = {X Yᵀ} closed (FSMF well-posed for every A)? with evidence",
        description="Decide whether the set of products X Yᵀ with the given supports is closed: theorems, "
                    "not-closed certificates (limit matrix, curve, z3 non-membership proof), QE fallback.")
    p.add_argument("spec", help="pattern file (.json/.npz), case:NAME or family spec such as lu:3, full:3,3,2")
    add_backend_option(p)
    add_budget_options(p)
    p.add_argument("--no-qe", action="store_true", help="skip the QE stage")
    p.add_argument("--emit", choices=FORMAT_NAMES, metavar="FORMAT",
                   help=f"print the closedness sentence in FORMAT ({', '.join(FORMAT_NAMES)}) and exit")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``wellposed closedness``."""
    from ..closedness.pipeline import decide_closedness
    from ..families import load_pattern
    from ..formulas import emit

    pattern = load_pattern(args.spec)  # bad input raises; wellposed.cli.app.main maps it to its exit code
    if args.emit:
        print(emit(pattern, args.emit))
        return 0
    with progress_bar(args, "closedness", "part") as bar:
        verdict = decide_closedness(pattern, backend=args.backend, effort=args.effort, timeout=args.timeout,
                                    use_qe=not args.no_qe, progress=bar)
    if args.json:
        out = {"pattern": pattern.name or str(args.spec), "shape": list(pattern.shape), **verdict.to_json()}
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    answer = {True: "closed", False: "NOT closed", None: "undecided"}[verdict.closed]
    print(f"{pattern.name or args.spec}: {answer}  [{verdict.method}]  ({verdict.seconds:.3f} s)")
    print(f"  reason: {verdict.reason}")
    if verdict.certificate is not None:
        cert = verdict.certificate
        print(f"  limit matrix A*: {cert.limit_text()}")
        for name, curve in (("X", cert.x_curve), ("Y", cert.y_curve)):
            terms = ", ".join(f"{name}[{i},{k}] = " + " + ".join(f"{c}·ε^{e}" for e, c in poly)
                              for (i, k), poly in sorted(curve.items()))
            print(f"  curve {name}(ε): {terms}")
        print(f"  proof that A* ∉ P: {cert.proof.get('kind')} "
              f"(re-verified: {verdict.details.get('verification', {}).get('z3', 'n/a')} from z3)")
    return 0
