"""The certificate verifier: re-checks a not-closed certificate independently of the search that found it.

This is, on purpose, the one path of the closedness engine that does **not** go through
:mod:`wellposed.formulas`: a certificate is trusted only after code that shares nothing with its search
has checked it.

1. The curve: :func:`laurent_product` expands ``X(ε) Y(ε)ᵀ`` with exact rationals (python-flint) and every
   negative power must vanish and the constant term must equal ``A*``.
2. The proof that ``A* ∉ P``: the combinatorial arguments of a private minor (:func:`private_minor_proof`)
   or a private block minor (:func:`private_block_minor_proof`, with an exact rank), and z3 on
   ``∃X, Y: X Yᵀ = A*`` written here as SMT-LIB text (:func:`smtlib_membership_query`), not by the query
   builders the searches use; z3 (:func:`wellposed.backends.z3_api.check_smtlib`) only reads that text.

:meth:`NotClosedCertificate.verify <wellposed.closedness.certificates.NotClosedCertificate.verify>` calls
:func:`verify_certificate`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..backends.answer import Answer
from ..errors import CertificateError
from ..support import SupportPattern
from .budget import BASE, Budget
from .certificates import (
    PROOF_KINDS,
    WHOLE_PATTERN_CHECK_ENTRIES,
    Laurent,
    LimitMatrix,
    NotClosedCertificate,
    checked_index,
    checked_indices,
)

__all__ = ["verify_certificate", "laurent_product", "private_minor_proof", "private_block_minor_proof",
           "smtlib_membership_query", "proof_region"]


def verify_certificate(cert: NotClosedCertificate, *, z3_check: bool = True, rlimit: int = BASE["verify_rlimit"],
                       budget: Budget | None = None) -> dict[str, Any]:
    """Re-check ``cert`` from scratch; return a summary or raise :class:`CertificateError`.

    Checks that the curve respects the supports, that ``X(ε) Y(ε)ᵀ`` has no negative power of ε and
    constant term ``A*`` (exact rationals), and the non-membership proof: a fresh z3 query (``unsat``
    required) for ``"z3-unsat"``, written as SMT-LIB text here, independently of the query builders used
    by the searches; for ``"private-minor"`` the combinatorial argument, plus (if ``z3_check``) a z3 query
    that must not answer ``sat``; for ``"private-block-minor"`` the combinatorial argument and an exact
    rank, and no z3 query (on block minors z3 only runs to its resource limit, so asking would cost much
    and prove nothing more). The summary's ``"z3"`` key holds z3's answer (``"skipped"`` when not asked).
    The z3 query is bounded by ``rlimit`` resource units (a count, so the outcome does not depend on the
    machine) and by ``budget``'s wall-clock cap if any; the summary's ``"z3_units"`` holds the units spent (0
    when z3 is not asked), the same on every machine.

    Examples
    --------
    >>> from wellposed.families import family
    >>> from wellposed.closedness.obstruction import lu_obstruction
    >>> summary = verify_certificate(lu_obstruction(family("lu:2")))
    >>> summary["curve"], summary["proof"], summary["z3"]
    ('ok', 'private-minor', 'unsat')
    """
    t0 = time.perf_counter()
    p, proof, limit = cert.pattern, cert.proof, cert.limit
    for (i, k) in cert.x_curve:
        if not (0 <= i < p.m and 0 <= k < p.r and p.x_support[i, k]):
            raise CertificateError(f"curve entry X[{i},{k}] is outside x_support.")
    for (j, k) in cert.y_curve:
        if not (0 <= j < p.n and 0 <= k < p.r and p.y_support[j, k]):
            raise CertificateError(f"curve entry Y[{j},{k}] is outside y_support.")
    prod = laurent_product(p, cert.x_curve, cert.y_curve)
    # entries outside the curve's product and the limit's support are 0 = 0: check only the others
    for i, j in sorted(set(prod) | set(limit.entries)):
        terms = prod.get((i, j), {})
        neg = {e: c for e, c in terms.items() if e < 0}
        if neg:
            raise CertificateError(f"entry ({i}, {j}) of X(ε)Y(ε)ᵀ keeps negative powers {neg}.")
        if terms.get(0, Fraction(0)) != limit.value(i, j):
            raise CertificateError(f"entry ({i}, {j}): constant term {terms.get(0, 0)} differs from "
                                   f"the limit {limit.value(i, j)}.")
    kind = proof.get("kind")
    if kind not in PROOF_KINDS:
        raise CertificateError(f"unknown proof kind {kind!r}; expected one of {list(PROOF_KINDS)}.")
    if kind == "private-minor":
        why = private_minor_proof(p, limit, proof.get("component"), proof.get("rows"), proof.get("cols"))
        if why:
            raise CertificateError(f"private-minor proof rejected: {why}.")
    if kind == "private-block-minor":
        why = private_block_minor_proof(p, limit, proof)
        if why:
            raise CertificateError(f"private block-minor proof rejected: {why}.")
    if kind == "private-block-minor" or not (z3_check or kind == "z3-unsat"):
        answer, units = "skipped", 0  # for a block minor the exact rank argument is the proof: z3 runs to its limit
    else:
        answer, units = _z3_not_member(*proof_region(cert), rlimit, budget)
    if answer == "sat":
        raise CertificateError("z3 found X, Y with X Yᵀ = A*: the limit lies in P.")
    if kind == "z3-unsat" and answer != "unsat":
        raise CertificateError(f"z3 answered {answer!r} to 'exists X, Y with X Yᵀ = A*' (need unsat).")
    return {"curve": "ok", "proof": kind, "z3": answer, "z3_units": units, "max_blowup": cert.max_blowup(),
            "seconds": time.perf_counter() - t0}  # seconds: information only


def _z3_not_member(pattern: SupportPattern, limit: LimitMatrix, rlimit: int,
                   budget: Budget | None) -> tuple[str, int]:
    """z3's word (``"sat"``, ``"unsat"``, ``"unknown"``) on :func:`smtlib_membership_query` and the resource units
    it spent."""
    from ..backends import z3_api

    result = z3_api.check_smtlib(smtlib_membership_query(pattern, limit), rlimit,
                                 timeout=budget.remaining() if budget is not None else None)
    if result.answer is Answer.TIMEOUT:
        raise (budget or Budget()).cap_fired("inside a z3 query")
    return z3_api.smt_word(result.answer), result.units


def proof_region(cert: NotClosedCertificate) -> tuple[SupportPattern, LimitMatrix]:
    """The (sub-)pattern and limit on which z3 checks non-membership.

    A proof may name a region ``rows × cols`` (keys ``"rows"``/``"cols"`` of a ``"z3-unsat"`` proof; the
    minor of a ``"private-minor"`` proof on a pattern of more than :data:`WHOLE_PATTERN_CHECK_ENTRIES` free
    entries): if ``A* = X Yᵀ`` then ``A*[rows, cols] = X[rows] Y[cols]ᵀ`` with the restricted supports, so
    ``A*[rows, cols] ∉ P(rows, cols)`` proves ``A* ∉ P``, at a cost that follows the region, not the pattern.
    """
    p, proof = cert.pattern, cert.proof
    has_region = "rows" in proof and "cols" in proof
    if not has_region or (proof.get("kind") == "private-minor" and p.num_free_entries() <= WHOLE_PATTERN_CHECK_ENTRIES):
        return p, cert.limit
    try:
        rows = checked_indices(proof["rows"], p.m, "rows")
        cols = checked_indices(proof["cols"], p.n, "cols")
    except CertificateError as exc:
        raise CertificateError(f"proof region rows × cols of the {p.m}×{p.n} pattern is malformed: {exc}") from None
    return p.restrict(rows, cols, range(p.r)), cert.limit.restrict(rows, cols)


def laurent_product(
    pattern: SupportPattern,
    x_curve: Mapping[tuple[int, int], Laurent],
    y_curve: Mapping[tuple[int, int], Laurent],
) -> dict[tuple[int, int], dict[int, Fraction]]:
    """Exact ``X(ε) Y(ε)ᵀ`` as ``{(i, j): {exponent: coefficient}}`` (python-flint rationals).

    Examples
    --------
    >>> from wellposed.families import family
    >>> x = {(0, 0): ((0, Fraction(1)),), (1, 0): ((1, Fraction(1)),)}
    >>> y = {(0, 0): ((0, Fraction(1)),), (1, 0): ((-1, Fraction(1)),)}
    >>> prod = laurent_product(family("lu:2"), x, y)
    >>> {k: {e: str(c) for e, c in v.items()} for k, v in sorted(prod.items())}
    {(0, 0): {0: '1'}, (0, 1): {-1: '1'}, (1, 0): {1: '1'}, (1, 1): {0: '1'}}

    Notes
    -----
    Plain loops over the nonzero curve entries (this is a verifier, not a kernel): cost
    ``O(Σ_k nnz(X_k) nnz(Y_k) t²)`` for Laurent polynomials with ``t`` terms.
    """
    import flint

    by_comp_x: dict[int, list[tuple[int, Laurent]]] = {}
    by_comp_y: dict[int, list[tuple[int, Laurent]]] = {}
    for (i, k), poly in x_curve.items():
        by_comp_x.setdefault(k, []).append((i, poly))
    for (j, k), poly in y_curve.items():
        by_comp_y.setdefault(k, []).append((j, poly))
    acc: dict[tuple[int, int], dict[int, Any]] = {}
    for k, xs in by_comp_x.items():
        for i, px in xs:
            for j, py in by_comp_y.get(k, []):
                cell = acc.setdefault((i, j), {})
                for ex, cx in px:
                    for ey, cy in py:
                        term = flint.fmpq(cx.numerator, cx.denominator) * flint.fmpq(cy.numerator, cy.denominator)
                        cell[ex + ey] = cell.get(ex + ey, flint.fmpq(0)) + term
    out: dict[tuple[int, int], dict[int, Fraction]] = {}
    for ij, cell in acc.items():
        terms = {e: Fraction(int(c.p), int(c.q)) for e, c in cell.items() if c != 0}
        if terms:
            out[ij] = terms
    return out


def smtlib_membership_query(pattern: SupportPattern, limit: Sequence[Sequence[Fraction]]) -> str:
    """SMT-LIB 2 text of ``∃X, Y: X Yᵀ = limit`` (QF_NRA), written here on purpose, independently of
    :mod:`wellposed.formulas` (whose queries the searches use).

    Examples
    --------
    >>> from wellposed.families import family
    >>> text = smtlib_membership_query(family("full:1,1,1"), [[Fraction(1, 2)]])
    >>> print(text)
    (set-logic QF_NRA)
    (declare-const x_0_0 Real)
    (declare-const y_0_0 Real)
    (assert (= (+ 0.0 (* x_0_0 y_0_0)) (/ 1.0 2.0)))
    (check-sat)
    """
    x, y = pattern.x_support, pattern.y_support
    target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
    lines = ["(set-logic QF_NRA)"]
    lines += [f"(declare-const x_{i}_{k} Real)" for i in range(pattern.m) for k in range(pattern.r) if x[i, k]]
    lines += [f"(declare-const y_{j}_{k} Real)" for j in range(pattern.n) for k in range(pattern.r) if y[j, k]]
    for i in range(pattern.m):
        for j in range(pattern.n):
            q = target.value(i, j)
            terms = " ".join(f"(* x_{i}_{k} y_{j}_{k})" for k in range(pattern.r) if x[i, k] and y[j, k])
            value = f"(/ {abs(q.numerator)}.0 {q.denominator}.0)" if q.denominator != 1 else f"{abs(q.numerator)}.0"
            if q < 0:
                value = f"(- {value})"
            if terms:
                lines.append(f"(assert (= (+ 0.0 {terms}) {value}))")
            elif q != 0:
                lines.append("(assert false)")
    lines.append("(check-sat)")
    return "\n".join(lines)


def private_minor_proof(pattern: SupportPattern, limit: Any, component: Any, rows: Any, cols: Any) -> str:
    """Check a private-minor non-membership proof; return ``""`` if valid, else why not.

    The 2×2 minor ``rows × cols`` must have at least three entries reached by ``component`` only (and
    by no identical component), and their values in ``limit`` must be impossible for a rank-one
    product ``x yᵀ``: either all four private with nonzero determinant, or three private entries
    ``a = (r0, c1), b = (r1, c1), c = (r1, c0)`` with ``a ≠ 0``, ``c ≠ 0`` and ``b = 0``.

    Examples
    --------
    >>> from wellposed.families import family
    >>> one, zero = Fraction(1), Fraction(0)
    >>> private_minor_proof(family("lu:2"), [[zero, one], [one, zero]], 0, (1, 0), (1, 0))
    ''
    """
    x, y = pattern.x_support, pattern.y_support
    try:
        k = checked_index(component, pattern.r, "component")
        r0, r1 = checked_indices(rows, pattern.m, "rows", 2)
        c0, c1 = checked_indices(cols, pattern.n, "cols", 2)
    except CertificateError as exc:
        return f"malformed minor: {exc}"

    def private(i: int, j: int) -> bool:
        covering = [c for c in range(pattern.r) if x[i, c] and y[j, c]]
        return covering == [k]

    target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
    val = {(i, j): target.value(i, j) for i in (r0, r1) for j in (c0, c1)}
    if all(private(i, j) for i in (r0, r1) for j in (c0, c1)):
        det = val[r0, c0] * val[r1, c1] - val[r0, c1] * val[r1, c0]
        return "" if det != 0 else "all four entries are private but the minor is singular"
    if not (private(r0, c1) and private(r1, c1) and private(r1, c0)):
        return "entries (r0,c1), (r1,c1), (r1,c0) are not all private to the component"
    if val[r0, c1] != 0 and val[r1, c0] != 0 and val[r1, c1] == 0:
        return ""
    return "the three private values are not of the form a ≠ 0, b = 0, c ≠ 0"


def private_block_minor_proof(pattern: SupportPattern, limit: Any, proof: Mapping[str, Any]) -> str:
    """Check a private block-minor proof; return ``""`` if valid, else why not.

    ``proof`` names s components K, rows ``[A1, A2]`` and columns ``[B1, B2]`` (s distinct indices each,
    A1 ∩ A2 = B1 ∩ B2 = ∅). Valid when every entry of ``A1×B2``, ``A2×B2`` and ``A2×B1`` is reached by
    exactly the components K, ``A*[A1, B2]`` is nonsingular (exact rank), ``A*[A2, B2] = 0`` and
    ``A*[A2, B1] ≠ 0``. Then ``A* ∉ P``: on those blocks only K contributes, so ``X_K[A1] Y_K[B2]ᵀ`` is
    nonsingular and both s×s factors are invertible; ``X_K[A2] Y_K[B2]ᵀ = 0`` forces ``X_K[A2] = 0``, hence
    ``X_K[A2] Y_K[B1]ᵀ = 0 ≠ A*[A2, B1]``. With s = 1 this is the three-entry private minor.

    Examples
    --------
    >>> from wellposed.families import family
    >>> proof = {"components": [0], "rows": [[1], [0]], "cols": [[1], [0]]}
    >>> private_block_minor_proof(family("lu:2"), [[0, 1], [1, 0]], proof)
    ''
    """
    import flint

    x, y = pattern.x_support, pattern.y_support
    target = LimitMatrix.from_any(limit, (pattern.m, pattern.n))
    try:
        comps = checked_indices(proof.get("components"), pattern.r, "components")
        rows, cols = proof.get("rows"), proof.get("cols")
        if not (isinstance(rows, (list, tuple)) and len(rows) == 2 and isinstance(cols, (list, tuple))
                and len(cols) == 2):
            raise CertificateError("rows must be [A1, A2] and cols [B1, B2]")
        s = len(comps)
        a1, a2 = (checked_indices(v, pattern.m, f"rows[{t}]", s) for t, v in enumerate(rows))
        b1, b2 = (checked_indices(v, pattern.n, f"cols[{t}]", s) for t, v in enumerate(cols))
    except CertificateError as exc:
        return f"malformed block-minor proof ({exc}): need s components, rows [A1, A2] and cols [B1, B2] of s " \
               "indices each"
    if set(a1) & set(a2) or set(b1) & set(b2):
        return "A1 ∩ A2 and B1 ∩ B2 must be empty"
    wanted = np.zeros(pattern.r, dtype=bool)
    wanted[comps] = True
    for rows, cols in ((a1, b2), (a2, b2), (a2, b1)):
        cover = x[rows][:, None, :] & y[cols][None, :, :]  # (rows, cols, r): components reaching each entry
        if not (cover == wanted).all():
            return "an entry of A1×B2, A2×B2 or A2×B1 is reached by other components than K (or not by all of K)"
    m1 = flint.fmpq_mat([[flint.fmpq(v.numerator, v.denominator) for v in
                          (target.value(i, j) for j in b2)] for i in a1])
    if m1.rank() != s:
        return "A*[A1, B2] is singular"
    if any(target.value(i, j) != 0 for i in a2 for j in b2):
        return "A*[A2, B2] is not zero"
    if all(target.value(i, j) == 0 for i in a2 for j in b1):
        return "A*[A2, B1] is zero"
    return ""
