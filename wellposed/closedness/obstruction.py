"""The generalized LU obstruction: a two-component curve through a 2×2 minor of one rank-one support.

If component k has rows i ≠ i′ in I_k and columns j ≠ j′ in J_k, and entry (i, j) is also reached by
another component l, then ``A* = e_{ij′} + e_{i′j}`` is the limit of the curve
``x_k = e_i + ε e_{i′}``, ``y_k = e_{j′} + ε⁻¹ e_j``, ``x_l = −ε⁻¹ e_i``, ``y_l = e_j``
(product ``A* + ε e_{i′j′}``). When the three entries (i, j′), (i′, j′), (i′, j) are reached by k only,
``A* ∉ P`` (a rank-one product cannot be 1, 0, 1 on three corners of a 2×2 minor), else z3 is asked.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..support import SupportPattern
from .budget import Budget
from .certificates import NotClosedCertificate, check_not_in_p_z3

__all__ = ["private_obstruction_candidates", "private_obstruction_candidates_reference", "lu_obstruction"]


def private_obstruction_candidates(pattern: SupportPattern) -> np.ndarray:
    """Boolean array (r, m, n): ``[k, i, j]`` is True when the private-minor obstruction fires at
    component k with the shared corner (i, j).

    Examples
    --------
    >>> from wellposed.families import family
    >>> np.argwhere(private_obstruction_candidates(family("lu:2"))).tolist()
    [[0, 1, 1]]

    Notes
    -----
    With ``P_k`` the entries reached by k only and ``O_k`` the entries of ``S_k`` reached by another
    component too, the shared corner (i, j) works iff ``O_k[i, j]`` and ``(P_k P_kᵀ P_k)[i, j] > 0``:
    one batched product, ``O(r m n (m + n))``. The plain-loop oracle is
    :func:`private_obstruction_candidates_reference`.
    """
    x = pattern.x_support.astype(np.int64)
    y = pattern.y_support.astype(np.int64)
    cover = x @ y.T  # (m, n)
    s = (x.T[:, :, None] * y.T[:, None, :]).astype(bool)  # (r, m, n)
    priv = (s & (cover == 1)[None]).astype(np.int64)
    other = s & (cover >= 2)[None]
    w = priv @ np.swapaxes(priv, 1, 2) @ priv
    return other & (w > 0)


def private_obstruction_candidates_reference(pattern: SupportPattern) -> np.ndarray:
    """Plain-loop oracle for :func:`private_obstruction_candidates`."""
    m, n, r = pattern.shape
    x, y = pattern.x_support, pattern.y_support
    out = np.zeros((r, m, n), dtype=bool)
    cover = [[sum(int(x[i, k] and y[j, k]) for k in range(r)) for j in range(n)] for i in range(m)]
    for k in range(r):
        def priv(i: int, j: int, k: int = k) -> bool:
            return bool(x[i, k] and y[j, k] and cover[i][j] == 1)
        for i in range(m):
            for j in range(n):
                if not (x[i, k] and y[j, k] and cover[i][j] >= 2):
                    continue
                out[k, i, j] = any(priv(i, j2) and priv(i2, j2) and priv(i2, j)
                                   for i2 in range(m) for j2 in range(n))
    return out


def _certificate(pattern: SupportPattern, k: int, l: int, i: int, i2: int, j: int, j2: int,
                 proof: dict[str, object]) -> NotClosedCertificate:
    one = Fraction(1)
    limit = [[Fraction(0)] * pattern.n for _ in range(pattern.m)]
    limit[i][j2] = one
    limit[i2][j] = one
    x = {(i, k): ((0, one),), (i2, k): ((1, one),), (i, l): ((-1, -one),)}
    y = {(j2, k): ((0, one),), (j, k): ((-1, one),), (j, l): ((0, one),)}
    return NotClosedCertificate(pattern, tuple(tuple(r) for r in limit), x, y, proof, "lu-obstruction")


def lu_obstruction(pattern: SupportPattern, *, use_z3: bool = True, budget: Budget | None = None,
                   max_z3_queries: int | None = None) -> NotClosedCertificate | None:
    """Find a not-closed certificate of the generalized LU kind, or return None.

    First the private-minor case (no solver needed); then, if ``use_z3``, other 2×2 minors whose
    limit z3 proves to lie outside P: at most ``max_z3_queries`` queries (default: ``budget``'s
    ``obstruction_queries``), each bounded by ``budget``'s ``query_rlimit`` z3 resource units, so the
    result is the same on every machine.

    Examples
    --------
    >>> from wellposed.families import family
    >>> cert = lu_obstruction(family("lu:4"))
    >>> cert.proof["kind"], cert.verify()["curve"]
    ('private-minor', 'ok')
    >>> lu_obstruction(family("full:3,3,2")) is None
    True
    """
    x, y = pattern.x_support, pattern.y_support
    cand = private_obstruction_candidates(pattern)
    if cand.any():
        k, i, j = (int(t) for t in np.argwhere(cand)[0])
        cover = x.astype(np.int64) @ y.T.astype(np.int64)
        priv = x[:, k][:, None] & y[:, k][None, :] & (cover == 1)
        for i2 in np.flatnonzero(priv[:, j]):
            for j2 in np.flatnonzero(priv[i, :] & priv[int(i2), :]):
                l = next(c for c in range(pattern.r) if c != k and x[i, c] and y[j, c])
                proof = {"kind": "private-minor", "component": k, "rows": [i, int(i2)], "cols": [j, int(j2)]}
                return _certificate(pattern, k, l, i, int(i2), j, int(j2), proof)
    if not use_z3:
        return None
    budget = budget if budget is not None else Budget()
    if max_z3_queries is None:
        max_z3_queries = budget.count("obstruction_queries")
    rlimit = budget.count("query_rlimit")
    queries = 0
    seen: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for k in range(pattern.r):
        rows, cols = np.flatnonzero(x[:, k]), np.flatnonzero(y[:, k])
        for i in (int(t) for t in rows):
            for j in (int(t) for t in cols):
                others = [c for c in range(pattern.r) if c != k and x[i, c] and y[j, c]]
                if not others:
                    continue
                for i2 in rows[rows != i]:
                    for j2 in cols[cols != j]:
                        a_star = ((int(i), int(j2)), (int(i2), int(j)))
                        if a_star in seen:
                            continue
                        seen.add(a_star)
                        cert = _certificate(pattern, k, others[0], int(i), int(i2), int(j), int(j2),
                                            {"kind": "z3-unsat"})
                        queries += 1
                        if check_not_in_p_z3(pattern, cert.limit, rlimit=rlimit, budget=budget) == "unsat":
                            return cert
                        if queries >= max_z3_queries:
                            return None
    return None
