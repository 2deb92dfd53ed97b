"""Independent re-check of a chain not-closed certificate: its own curve expansion and its own SMT-LIB text.

Nothing here is shared with the search that found the certificate (:mod:`wellposed.network.chains`) nor with
:mod:`wellposed.formulas`: the curve is expanded with sympy (the search uses plain dictionaries), and the
non-membership question ``∃W: W_L ⋯ W_1 = A*`` is written here as SMT-LIB text and handed to z3 through
:func:`wellposed.backends.z3_api.check_smtlib`, so that a bug in the search or in the query builder cannot
confirm itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CertificateError

__all__ = ["verify_chain_certificate", "chain_nonmembership_smtlib"]


def _curve_matrices(masks: Sequence[np.ndarray], cert: dict[str, Any]) -> list[Any]:
    import sympy

    eps = sympy.Symbol("eps", positive=True)
    out = []
    for ell, mask in enumerate(masks, start=1):
        mat = sympy.zeros(*mask.shape)
        for e in cert["factors"].get(str(ell), []):
            i, j = int(e["row"]), int(e["col"])
            if not (0 <= i < mask.shape[0] and 0 <= j < mask.shape[1] and mask[i, j]):
                raise CertificateError(f"curve entry W_{ell}[{i},{j}] lies outside the mask of layer {ell}.")
            mat[i, j] = sum((sympy.Rational(str(Fraction(c))) * eps ** int(x) for x, c in e["terms"]),
                            sympy.Integer(0))
        out.append(mat)
    return out


def _limit(cert: dict[str, Any]) -> list[list[Fraction]]:
    return [[Fraction(v) for v in row] for row in cert["limit"]]


def chain_nonmembership_smtlib(masks: Sequence[np.ndarray], limit: Sequence[Sequence[Fraction]]) -> str:
    """SMT-LIB 2 text of ``∃W_1..W_L supported on the masks: W_L ⋯ W_1 = limit`` (unsat ⇔ limit ∉ P).

    Examples
    --------
    >>> eye = np.eye(1, dtype=bool)
    >>> print(chain_nonmembership_smtlib([eye, eye], [[Fraction(2)]]).strip())
    (declare-const w1_0_0 Real)
    (declare-const w2_0_0 Real)
    (assert (= (+ 0.0 (* w2_0_0 w1_0_0)) (/ 2.0 1.0)))
    (check-sat)
    """
    decl = []
    names: list[dict[tuple[int, int], str]] = []
    for ell, mask in enumerate(masks, start=1):
        cur = {}
        for i in range(mask.shape[0]):
            for j in range(mask.shape[1]):
                if mask[i, j]:
                    cur[(i, j)] = f"w{ell}_{i}_{j}"
                    decl.append(f"(declare-const {cur[(i, j)]} Real)")
        names.append(cur)
    # entry (o, i) of W_L ⋯ W_1: every path i = k_0 → k_1 → … → k_L = o through allowed entries
    paths: list[list[int]] = [[i] for i in range(masks[0].shape[1])]
    for mask in masks:
        paths = [p + [o] for p in paths for o in range(mask.shape[0]) if mask[o, p[-1]]]
    lines = list(decl)
    rows, cols = masks[-1].shape[0], masks[0].shape[1]
    for o in range(rows):
        for i in range(cols):
            monos = [" ".join(names[ell][(p[ell + 1], p[ell])] for ell in reversed(range(len(masks))))
                     for p in paths if p[0] == i and p[-1] == o]
            value = Fraction(limit[o][i])
            rhs = f"(/ {value.numerator}.0 {value.denominator}.0)" if value >= 0 else \
                f"(- (/ {-value.numerator}.0 {value.denominator}.0))"
            lhs = "(+ 0.0 " + " ".join(f"(* {m})" if " " in m else m for m in monos) + ")"
            lines.append(f"(assert (= {lhs} {rhs}))")
    lines.append("(check-sat)")
    return "\n".join(lines) + "\n"


def verify_chain_certificate(masks: Sequence[np.ndarray], cert: dict[str, Any], *,
                             rlimit: int | None = None) -> dict[str, str]:
    """Re-check a chain certificate ``{"limit", "factors", "proof"}`` (masks first layer first).

    1. supports: every curve entry lies in its layer's mask;
    2. the curve: ``W_L(ε) ⋯ W_1(ε) = A* + O(ε)`` (sympy, exact rationals);
    3. the proof: for ``chain-membership-unsat``, z3 answers unsat on this module's own SMT-LIB text of
       ``∃W: W_L ⋯ W_1 = A*`` within ``rlimit`` resource units.

    Raises :class:`~wellposed.errors.CertificateError` when a check fails; returns what was checked.
    """
    import sympy

    from ..backends import z3_api
    from ..closedness.budget import BASE

    if not isinstance(cert, dict) or "limit" not in cert or "factors" not in cert:
        raise CertificateError(f"certificate {cert!r:.80} must be a dict with 'limit' and 'factors'.")
    mats = _curve_matrices(masks, cert)
    prod = mats[0]
    for mat in mats[1:]:
        prod = mat * prod
    eps = sympy.Symbol("eps", positive=True)
    limit = _limit(cert)
    if prod.shape != (len(limit), len(limit[0]) if limit else 0):
        raise CertificateError(f"the limit has shape {len(limit)}×{len(limit[0]) if limit else 0}, the product "
                               f"{prod.shape[0]}×{prod.shape[1]}.")
    for o in range(prod.shape[0]):
        for i in range(prod.shape[1]):
            entry = sympy.expand(prod[o, i])
            at_zero = sympy.limit(entry, eps, 0, "+")
            if at_zero != sympy.Rational(str(limit[o][i])):
                raise CertificateError(f"entry ({o}, {i}) of the product tends to {at_zero}, not to the limit "
                                       f"{limit[o][i]}.")
    proof = cert.get("proof", {})
    if proof.get("kind") != "chain-membership-unsat":
        raise CertificateError(f"proof kind {proof.get('kind')!r} is unknown; expected 'chain-membership-unsat'.")
    check = z3_api.check_smtlib(chain_nonmembership_smtlib(masks, limit), rlimit or BASE["verify_rlimit"])
    if check.answer.value != "false":
        raise CertificateError(f"z3 does not prove A* ∉ P on the verifier's own encoding (answer "
                               f"{check.answer.value}).")
    return {"curve": "ok (sympy expansion, limit as ε → 0+)", "proof": "z3 unsat on the verifier's own encoding"}
