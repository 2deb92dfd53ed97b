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

__all__ = ["verify_chain_certificate", "chain_nonmembership_smtlib", "check_pair_merge",
           "check_vanishing_minors"]


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


def _slice_reaches_union(later: np.ndarray, earlier: np.ndarray, evidence: dict[str, Any]) -> bool:
    """Does the linear slice of the evidence (one side of each component fixed to its integers) map onto every
    matrix supported on ``bool(later · earlier)``? Built here from the masks alone, exact rank in python-flint."""
    import flint

    rows, inner = later.shape
    cols = earlier.shape[1]
    sides = evidence["sides"]
    fx = [[int(v) for v in row] for row in evidence["fixed_x"]]  # later[i, k] fixed to fx[i][k]
    fy = [[int(v) for v in row] for row in evidence["fixed_y"]]  # earlier[k, j] fixed to fy[j][k]
    if len(sides) != inner or len(fx) != rows or len(fy) != cols or any(s not in ("vary X", "vary Y") for s in sides):
        return False
    cells = [(i, j) for i in range(rows) for j in range(cols)
             if any(later[i, k] and earlier[k, j] for k in range(inner))]
    columns = []
    for k in range(inner):
        if sides[k] == "vary Y":  # later[:, k] fixed, earlier[k, j] free
            columns += [[fx[i][k] if later[i, k] and jj == j else 0 for i, jj in cells]
                        for j in range(cols) if earlier[k, j]]
        else:  # earlier[k, :] fixed, later[i, k] free
            columns += [[fy[j][k] if earlier[k, j] and ii == i else 0 for ii, j in cells]
                        for i in range(rows) if later[i, k]]
    if not cells or len(columns) < len(cells):
        return False
    mat = flint.fmpz_mat([[columns[c][t] for c in range(len(columns))] for t in range(len(cells))])
    return bool(mat.rank() == len(cells))


def check_pair_merge(merge: dict[str, Any]) -> bool:
    """Re-check the evidence that an adjacent pair multiplies to every matrix on its boolean product.

    ``merge`` holds the pair's ``masks`` (earlier, later; rows of 0/1 text), the ``method`` and its
    ``evidence``: ``theorem:full-space`` is re-checked by this module's own exact rank of the linear slice,
    ``theorem:peeling`` by :func:`wellposed.closedness.peeling.check_peeling`. Malformed records give False.
    """
    from ..closedness.peeling import check_peeling
    from ..support import SupportPattern

    try:
        earlier, later = (np.array([[c == "1" for c in row] for row in m], bool) for m in merge["masks"])
        if earlier.ndim != 2 or later.ndim != 2 or later.shape[1] != earlier.shape[0]:
            return False
        if merge["method"] == "theorem:full-space":
            return _slice_reaches_union(later, earlier, merge["evidence"])
        if merge["method"] == "theorem:peeling":
            return check_peeling(SupportPattern(later, earlier.T), merge["evidence"])
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    return False


def check_vanishing_minors(masks: Sequence[np.ndarray], minors: Sequence[Sequence[Sequence[int]]]) -> bool:
    """Re-check that every listed minor ``(rows, cols)`` of ``W_L ⋯ W_1`` (masks first layer first) vanishes
    identically: the entries are built here as sums over index paths of monomials in fresh symbols, and each
    determinant is expanded by permutations (Leibniz), independently of the stage that found the minors."""
    import itertools

    import sympy

    symbols = [{(int(o), int(i)): sympy.Symbol(f"v{ell}_{o}_{i}") for o, i in zip(*np.nonzero(m), strict=True)}
               for ell, m in enumerate(masks)]
    paths: list[list[int]] = [[i] for i in range(masks[0].shape[1])]
    for mask in masks:
        paths = [p + [o] for p in paths for o in range(mask.shape[0]) if mask[o, p[-1]]]
    entry: dict[tuple[int, int], Any] = {}
    for p in paths:
        mono = sympy.Mul(*[symbols[ell][(p[ell + 1], p[ell])] for ell in range(len(masks))])
        entry[(p[-1], p[0])] = entry.get((p[-1], p[0]), sympy.Integer(0)) + mono
    try:
        for rows, cols in minors:
            rows, cols = [int(r) for r in rows], [int(c) for c in cols]
            if len(rows) != len(cols) or len(rows) < 1:
                return False
            total = sympy.Integer(0)
            for perm in itertools.permutations(range(len(cols))):
                sign = (-1) ** sum(1 for a, b in itertools.combinations(perm, 2) if a > b)
                total += sign * sympy.Mul(*[entry.get((rows[t], cols[perm[t]]), sympy.Integer(0))
                                            for t in range(len(rows))])
            if sympy.expand(total) != 0:
                return False
    except (TypeError, ValueError, IndexError):
        return False
    return True
