"""Lift a two-factor not-closed certificate to the original layers, and verify the lifted curve exactly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..classify import classify
from ..closedness.certificates import LimitMatrix
from ..errors import CertificateError
from .pairs import pair_pattern
from .reduction import ChainReduction, _Node

_Poly = dict[int, Fraction]
_Sparse = dict[tuple[int, int], _Poly]


def _split_merged(node: _Node, value: _Sparse) -> dict[int, _Sparse]:
    """Write a matrix supported on ``node.mask`` as an exact product of its original layers."""
    if node.later is None or node.earlier is None:
        return {node.layers[0]: value}
    wb: _Sparse = {}
    wa: _Sparse = {}
    one: _Poly = {0: Fraction(1)}
    if node.kind != "complete":  # full-factor merge: copy the entries into the full factor through the matching
        if node.kind == "full-later":  # W_a = the matching (0/1), W_b[i, row(u)] = B[i, u]
            row_of = {col: row for row, col in node.matching}
            for (i, u), poly in value.items():
                if u not in row_of:
                    raise CertificateError(f"entry ({i}, {u}) of a merged factor lies outside its boolean product.")
                wa[(row_of[u], u)] = one
                wb[(i, row_of[u])] = _add(wb.get((i, row_of[u]), {}), poly)
        else:  # W_b = the matching (0/1), W_a[col(v), j] = B[v, j]
            col_of = dict(node.matching)
            for (v, j), poly in value.items():
                if v not in col_of:
                    raise CertificateError(f"entry ({v}, {j}) of a merged factor lies outside its boolean product.")
                wb[(v, col_of[v])] = one
                wa[(col_of[v], j)] = _add(wa.get((col_of[v], j), {}), poly)
        out = _split_merged(node.earlier, wa)
        out.update(_split_merged(node.later, wb))
        return out
    b_mask, a_mask = node.later.mask, node.earlier.mask
    classes = classify(pair_pattern(b_mask, a_mask)).classes
    for (i, j), poly in value.items():
        cls = next((c for c in classes if i in c.rows and j in c.cols), None)
        if cls is None or not cls.complete:
            raise CertificateError(f"entry ({i}, {j}) of a merged factor lies outside its complete classes.")
        if cls.size >= len(cls.rows):
            k = cls.components[cls.rows.index(i)]
            wb[(i, k)] = one
            wa[(k, j)] = _add(wa.get((k, j), {}), poly)
        else:
            k = cls.components[cls.cols.index(j)]
            wa[(k, j)] = one
            wb[(i, k)] = _add(wb.get((i, k), {}), poly)
    out = _split_merged(node.earlier, wa)
    out.update(_split_merged(node.later, wb))
    return out


def _add(p: _Poly, q: _Poly) -> _Poly:
    out = dict(p)
    for e, c in q.items():
        out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c != 0}


def _matmul(left: _Sparse, right: _Sparse) -> _Sparse:
    """Exact product of sparse Laurent matrices (plain loops: a verifier, not a kernel)."""
    by_row: dict[int, list[tuple[int, _Poly]]] = {}
    for (k, j), p in right.items():
        by_row.setdefault(k, []).append((j, p))
    out: _Sparse = {}
    for (i, k), p in left.items():
        for j, q in by_row.get(k, []):
            cell = out.setdefault((i, j), {})
            for e1, c1 in p.items():
                for e2, c2 in q.items():
                    cell[e1 + e2] = cell.get(e1 + e2, Fraction(0)) + c1 * c2
    return {ij: {e: c for e, c in cell.items() if c != 0} for ij, cell in out.items()}


def _verify_factor_curve(masks: Sequence[np.ndarray], factors: Mapping[int, _Sparse],
                         limit: Sequence[Sequence[Fraction]]) -> None:
    """Check supports and ``W_L(ε) ⋯ W_1(ε) = A* + O(ε)`` exactly; raise :class:`CertificateError`."""
    for ell, mask in enumerate(masks, start=1):
        for (i, j) in factors.get(ell, {}):
            if not (0 <= i < mask.shape[0] and 0 <= j < mask.shape[1] and mask[i, j]):
                raise CertificateError(f"curve entry W_{ell}[{i},{j}] is outside the mask of layer {ell}.")
    prod = factors.get(1, {})
    for ell in range(2, len(masks) + 1):
        prod = _matmul(factors.get(ell, {}), prod)
    target = LimitMatrix.from_any(limit, (masks[-1].shape[0], masks[0].shape[1]))
    for i, j in sorted(set(prod) | set(target.entries)):  # elsewhere both sides are 0
        terms = prod.get((i, j), {})
        neg = {e: c for e, c in terms.items() if e < 0}
        if neg:
            raise CertificateError(f"entry ({i}, {j}) of the product keeps negative powers of ε: {neg}.")
        if terms.get(0, Fraction(0)) != target.value(i, j):
            raise CertificateError(f"entry ({i}, {j}): constant term {terms.get(0, 0)} ≠ limit {target.value(i, j)}.")


def _fmt(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _lift_certificate(masks: Sequence[np.ndarray], red: ChainReduction, cert: Any) -> dict[str, Any]:
    """Lift a two-factor not-closed certificate to the original layers and re-verify it."""
    earlier, later = red.nodes
    wb: _Sparse = {(i, k): dict(p) for (i, k), p in cert.x_curve.items()}
    wa: _Sparse = {(k, j): dict(p) for (j, k), p in cert.y_curve.items()}
    factors = _split_merged(earlier, wa)
    factors.update(_split_merged(later, wb))
    _verify_factor_curve(masks, factors, cert.limit)
    summary = cert.verify(z3_check=False) if cert.proof.get("kind") == "private-minor" else cert.verify()
    pair = cert.to_json()
    return {
        **{key: pair[key] for key in ("limit", "limit_entries") if key in pair},
        "factors": {str(ell): [{"row": i, "col": j, "terms": [[e, _fmt(c)] for e, c in sorted(p.items())]}
                               for (i, j), p in sorted(factors.get(ell, {}).items())]
                    for ell in range(1, len(masks) + 1)},
        "pair_certificate": pair,
        "verified": {"curve": "ok (exact product of the L factor curves)", "pair_proof": summary.get("proof"),
                     "z3": summary.get("z3")},
    }

