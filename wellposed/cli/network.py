"""The ``wellposed network MASKS...`` sub-command: per-layer, per-pair and linear-set report of a sparse network."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .args import add_backend_option, add_budget_options
from .progress import add_progress_options, progress_bar

__all__ = ["add_parser", "run", "format_report", "NAME"]

NAME = "network"

_DESCRIPTION = """Analyze the layer masks of a sparse network before training.
MASKS: one .npz (numpy.savez: arrays in order arr_0, arr_1, ... or in archive order), several .npy or
scipy.sparse .npz files (one layer each, in the order given), a .json file {"masks": [...]}, or a torch
state_dict (.pt/.pth) with *.weight_mask buffers (torch.nn.utils.prune) or explicit masks.
Masks are out × in (torch Linear.weight layout), first layer first.
Exit codes: 0 ok, 1 internal failure (a bug), 2 bad input, 6 torch not installed (for a torch file)."""


def add_parser(subparsers: Any) -> None:
    """Register the ``network`` sub-command."""
    p = subparsers.add_parser(NAME, help="analyze the layer masks of a sparse network (before training)",
                              description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("masks", nargs="+", metavar="MASKS", help="mask file(s), see above")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_budget_options(p, "pair of layers")
    add_backend_option(p)
    p.add_argument("--no-closedness", action="store_true", help="skip the closedness engine (theorems only)")
    p.add_argument("--from-weights", action="store_true",
                   help="torch files without masks: use the nonzero pattern of the *.weight tensors")
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the masks, analyze, print; returns the exit code (failures are raised for ``main`` to map)."""
    from ..api import analyze
    from ..io.masks import load_masks

    loaded = load_masks(args.masks, from_weights=args.from_weights, parameter="MASKS")
    with progress_bar(args, "network", "step") as bar:
        report = analyze(loaded, closedness=not args.no_closedness, backend=args.backend, effort=args.effort,
                         timeout=args.timeout, progress=bar)
    rec = report.to_json()
    rec["files"] = list(dict.fromkeys(loaded.sources))
    if args.json:
        print(json.dumps(rec, ensure_ascii=False))
    else:
        print(format_report(rec))
    return 0


def _yn(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "undecided"}[value]


def format_report(rec: dict[str, Any]) -> str:
    """Readable text of a network report (the JSON of :meth:`NetworkReport.to_json`).

    >>> import numpy as np
    >>> from wellposed.network import analyze_network
    >>> text = format_report(analyze_network([np.eye(2), np.ones((1, 2))], closedness=False).to_json())
    >>> print(text.splitlines()[0])
    network: 2 layers, 2 inputs → 1 outputs
    """
    out = [f"network: {rec['num_layers']} layers, {rec['input_dim']} inputs → {rec['output_dim']} outputs"]
    out.append("layers (mask out × in):")
    for lay in rec["layers"]:
        extra = []
        if lay["empty_rows"]:
            extra.append(f"{len(lay['empty_rows'])} output neuron(s) without inputs")
        if lay["empty_cols"]:
            extra.append(f"{len(lay['empty_cols'])} unused input(s)")
        if lay["partial_permutation"]:
            extra.append("at most one entry per row and column")
        shape = f"{lay['shape'][0]}×{lay['shape'][1]}"
        out.append(f"  {lay['layer']}. {lay['name']}: {shape}, {lay['nnz']} allowed entries "
                   f"(density {lay['density']:.3f})" + (f"; {'; '.join(extra)}" if extra else ""))
    if rec["dead_hidden_neurons"]:
        out.append(f"  hidden neurons that never carry signal (no input or no output weight): "
                   f"{len(rec['dead_hidden_neurons'])}")
    if rec["pairs"]:
        out.append("adjacent pairs W_{l+1}·W_l as A ≈ X Yᵀ (X = W_{l+1}, Yᵀ = W_l, r = hidden width):")
    for pr in rec["pairs"]:
        a, b = pr["layers"]
        out.append(f"  layers {b}·{a}: m={pr['m']} n={pr['n']} r={pr['r']}; tractable: {_yn(pr['tractable'])} "
                   f"[{pr['tractable_method']}]; closed: {_yn(pr['closed'])}"
                   + (f" [{pr['closed_method']}]" if pr.get("closed_method") else ""))
        if not pr["tractable"]:
            out.append(f"    {pr['tractable_reason']}")
        if pr["closed"] is False and pr.get("closed_reason"):  # the witness: which limit is missing from P
            out.append(f"    ill-posed: {pr['closed_reason']}")
    if rec["splits"]:
        out.append("splits of the whole network after layer s (boolean-product supports, an upper bound):")
        for sp in rec["splits"]:
            out.append(f"  after layer {sp['after_layer']}: r={sp['r']}; tractable: {_yn(sp['tractable'])} "
                       f"[{sp['tractable_method']}]")
    lin = rec["linear_set"]
    out.append(f"linear set {{W_L ⋯ W_1}}: closed: {_yn(lin['closed'])} [{lin['method']}]")
    out.append(f"  {lin['reason']}")
    for step in lin["steps"]:
        out.append(f"  - {step}")
    cert = lin.get("certificate")
    if cert and cert.get("limit") is not None:
        limit = "[" + ", ".join("[" + ", ".join(row) + "]" for row in cert["limit"]) + "]"
        verified = cert.get("verified", {})
        out.append(f"  limit matrix A* = {limit}: reached by an explicit curve of the {rec['num_layers']} factors "
                   f"(exact check passed), not in P (proof: {verified.get('pair_proof') or verified.get('proof')})")
    elif cert and cert.get("qe"):
        out.append(f"  evidence: {cert['qe']['backend']} on {cert['qe']['on']}: "
                   + ", ".join(f"{name} {answer}" for name, answer in cert["qe"]["answers"][-3:]))
    elif cert and cert.get("determinantal"):
        det = cert["determinantal"]
        out.append(f"  evidence: vanishing minors (rows, cols) {det['minors']}; z3 answered {det['z3']} to "
                   f"∃A ∈ D ∀W: product ≠ A (rlimit {det['rlimit']})")
    if cert and cert.get("merge"):
        merge = cert["merge"]
        out.append(f"  merge evidence: layers {merge['layers']} by {merge['method']} (re-checked exactly)")
    relu = rec["relu"]
    out.append(f"ReLU network training: {relu['status'].upper()}")
    for line in relu["proven"]:
        out.append(f"  proven: {line}")
    for line in relu["open"]:
        out.append(f"  open: {line}")
    out.append(f"  reference: {relu['reference']}")
    return "\n".join(out)
