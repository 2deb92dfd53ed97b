"""Random cancelling curves: exact Laurent curves whose blow-up terms cancel, with a limit outside P.

Every curve through the closure can be rescaled component by component (``x_k ↦ ε^c x_k``,
``y_k ↦ ε^{−c} y_k`` leaves the product unchanged) so that X has only non-negative powers of ε. A curve
of order D is therefore

    X(ε) = X_0 + ε X_1 + … + ε^D X_D,      Y(ε) = Y_0 + ε⁻¹ Y_{−1} + … + ε^{−D} Y_{−D},

and ``X(ε) Y(ε)ᵀ`` has no negative power of ε iff, for ``e = 1, …, D``,
``Σ_{b − a = e} X_a Y_{−b}ᵀ = 0``. With the X coefficients fixed these cancellation conditions are
*linear* in the Y coefficients: :func:`random_cancelling_curve` draws sparse random integer X
coefficients (supported on I), solves the conditions exactly (an integer null space, python-flint),
draws Y from that null space and reads off the limit ``A* = Σ_a X_a Y_{−a}ᵀ``. Each such ``A*`` lies in
the closure of P; :func:`random_curve_search` keeps the first whose non-membership z3 proves
(``X Yᵀ = A*`` unsat), after a cheap exact filter (``A* = X_0 Y′ᵀ`` solvable for some Y′ on J means
``A* ∈ P``). All randomness comes from a generator seeded by the pattern's masks and every limit is a count
(trials, z3 resource units), so the outcome is the same on every machine.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np

from ..backends.answer import Answer
from ..support import SupportPattern
from .budget import Budget
from .certificates import Laurent, LimitMatrix, NotClosedCertificate
from .curves import membership_z3

__all__ = ["random_cancelling_curve", "random_curve_search", "pattern_seed"]

#: Densities of the random X coefficients (one is drawn per trial).
_DENSITIES = (0.35, 0.5, 0.7)
#: Nonzero integer values of the random coefficients.
_VALUES = np.array([-2, -1, 1, 2])


def pattern_seed(pattern: SupportPattern, salt: int = 0) -> int:
    """A seed that depends only on the pattern's masks (and ``salt``): the same on every machine and run.

    Examples
    --------
    >>> from wellposed.families import family
    >>> pattern_seed(family("lu:2")) == pattern_seed(family("lu:2"))
    True
    """
    h = hashlib.sha256()
    h.update(f"{pattern.m},{pattern.n},{pattern.r},{salt}".encode())
    h.update(np.packbits(pattern.x_support).tobytes())
    h.update(np.packbits(pattern.y_support).tobytes())
    return int.from_bytes(h.digest()[:8], "little")


def _null_space(rows: list[list[int]], ncols: int) -> np.ndarray:
    """An integer basis (columns) of ``{v : M v = 0}`` for the integer matrix ``M`` (python-flint)."""
    import flint

    if ncols == 0:
        return np.zeros((0, 0), dtype=object)
    if not rows:
        return np.eye(ncols, dtype=np.int64).astype(object)
    basis, nullity = flint.fmpz_mat(rows).nullspace()
    out = np.empty((ncols, nullity), dtype=object)
    for a in range(ncols):
        for b in range(nullity):
            out[a, b] = int(basis[a, b])
    return out


def random_cancelling_curve(pattern: SupportPattern, rng: np.random.Generator, order: int,
                            ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray] | None:
    """One random curve of ``order`` D with cancelling blow-up terms: ``(X_0..X_D, Y_0..Y_{−D}, A*)``.

    The X coefficients are sparse random integers on I; the Y coefficients of negative order are a
    random integer combination of an exact null-space basis of the cancellation conditions (see the module
    docstring), Y_0 sparse random on J. Integer (object) arrays; ``A* = Σ_a X_a Y_{−a}ᵀ``. None when the
    conditions force ``Y_{−1} = … = Y_{−D} = 0`` (no blow-up).

    Examples
    --------
    >>> from wellposed.families import family
    >>> xs, ys, limit = random_cancelling_curve(family("lu:2"), np.random.default_rng(0), 1)
    >>> sum(x.astype(object) @ y.T.astype(object) for x, y in zip(xs, ys)).tolist() == limit.tolist()
    True
    """
    m, n, r = pattern.shape
    x_mask, y_mask = pattern.x_support, pattern.y_support
    density = float(rng.choice(_DENSITIES))
    xs = []
    for _ in range(order + 1):
        keep = x_mask & (rng.random((m, r)) < density)
        xs.append(np.where(keep, rng.choice(_VALUES, size=(m, r)), 0).astype(object))
    cells = [(int(j), int(k)) for j, k in np.argwhere(y_mask)]
    nvar = order * len(cells)  # unknowns: Y_{−b}[j, k], b = 1..D
    index = {(b, j, k): (b - 1) * len(cells) + t for b in range(1, order + 1) for t, (j, k) in enumerate(cells)}
    rows: list[list[int]] = []
    for e in range(1, order + 1):  # coefficient of ε^{−e} of entry (i, j): Σ_{b − a = e} Σ_k X_a[i, k] Y_{−b}[j, k]
        for i in range(m):
            for j in range(n):
                row = [0] * nvar
                for b in range(e, order + 1):
                    xa = xs[b - e]
                    for k in np.flatnonzero(y_mask[j]):
                        if xa[i, k] != 0:
                            row[index[b, j, int(k)]] += int(xa[i, k])
                if any(row):
                    rows.append(row)
    basis = _null_space(rows, nvar)
    if basis.shape[1] == 0:
        return None
    pick: np.ndarray = np.asarray(rng.random(basis.shape[1]) < 0.5)
    if not pick.any():
        pick[int(rng.integers(basis.shape[1]))] = True
    weights = np.where(pick, rng.choice(_VALUES, size=basis.shape[1]), 0).astype(object)
    values = basis.dot(weights)
    if not any(values):
        return None
    ys = [np.where(y_mask & (rng.random((n, r)) < density), rng.choice(_VALUES, size=(n, r)), 0).astype(object)]
    for b in range(1, order + 1):
        yb = np.zeros((n, r), dtype=object)
        for jj, kk in cells:
            yb[jj, kk] = int(values[index[b, jj, kk]])
        ys.append(yb)
    limit = sum((xs[a].dot(ys[a].T) for a in range(order + 1)), np.zeros((m, n), dtype=object))
    return xs, ys, limit


def _in_slice(pattern: SupportPattern, x0: np.ndarray, limit: np.ndarray) -> bool:
    """Whether ``limit = X_0 Y′ᵀ`` for some Y′ supported on J (then ``limit ∈ P``): exact linear algebra."""
    import flint

    y_mask = pattern.y_support
    for j in range(pattern.n):
        ks = np.flatnonzero(y_mask[j])
        column = [Fraction(int(v)) for v in limit[:, j]]
        if not ks.size:
            if any(column):
                return False
            continue
        a = flint.fmpq_mat([[int(x0[i, k]) for k in ks] for i in range(pattern.m)])
        aug = flint.fmpq_mat([[int(x0[i, k]) for k in ks] + [int(limit[i, j])] for i in range(pattern.m)])
        if a.rank() != aug.rank():
            return False
    return True


def _laurent_entries(coeffs: list[np.ndarray], sign: int) -> dict[tuple[int, int], Laurent]:
    out: dict[tuple[int, int], list[tuple[int, Fraction]]] = {}
    for power, mat in enumerate(coeffs):
        for i, k in zip(*np.nonzero(mat != 0), strict=True):
            out.setdefault((int(i), int(k)), []).append((sign * power, Fraction(int(mat[i, k]))))
    return {key: tuple(sorted(terms)) for key, terms in out.items()}


def random_curve_search(pattern: SupportPattern, *, budget: Budget | None = None,
                        max_trials: int | None = None) -> tuple[NotClosedCertificate | None, dict[str, int]]:
    """Draw random cancelling curves (orders 1, 2, 3 in turn) until z3 proves a limit outside P.

    Parameters
    ----------
    pattern : SupportPattern
    budget : Budget, optional
        ``random_curve_trials`` curves at most (``max_trials`` overrides), ``query_rlimit`` z3 resource
        units per membership query and ``random_curve_rlimit`` units in all.

    Returns
    -------
    (certificate or None, counts)
        The certificate (proof ``"z3-unsat"``, to be re-verified by the caller) and what was spent:
        ``trials``, ``curves`` (trials with a blow-up), ``queries`` and ``units``.

    Examples
    --------
    >>> from wellposed.support import SupportPattern
    >>> p = SupportPattern(["10", "11", "01"], ["11", "11"])  # X supports {0,1}, {1,2}; Y free: not closed
    >>> cert, spent = random_curve_search(p)
    >>> cert.verify()["proof"], cert.max_blowup() >= 1
    ('z3-unsat', True)

    Notes
    -----
    Each trial costs one exact null space of ``D m n × D |J|`` integers and, unless the linear filter
    settles it, one z3 membership query (nlsat, bounded by its resource units). Sound, not complete.
    """
    budget = budget if budget is not None else Budget()
    trials_max = budget.count("random_curve_trials") if max_trials is None else max_trials
    rlimit, total = budget.count("query_rlimit"), budget.count("random_curve_rlimit")
    rng = np.random.default_rng(pattern_seed(pattern))
    spent = {"trials": 0, "curves": 0, "queries": 0, "units": 0}
    seen: set[tuple[tuple[int, ...], ...]] = set()
    while spent["trials"] < trials_max and spent["units"] < total:
        order = 1 + spent["trials"] % 3
        spent["trials"] += 1
        drawn = random_cancelling_curve(pattern, rng, order)
        if drawn is None:
            continue
        xs, ys, limit = drawn
        spent["curves"] += 1
        key = tuple(tuple(int(v) for v in row) for row in limit)
        if key in seen or not any(any(row) for row in key) or _in_slice(pattern, xs[0], limit):
            seen.add(key)
            continue
        seen.add(key)
        units: list[int] = []
        answer = membership_z3(pattern, limit.tolist(), rlimit=rlimit, budget=budget, spent=units)
        spent["queries"] += 1
        spent["units"] += sum(units)
        if answer is Answer.FALSE:
            target = LimitMatrix.from_any({(i, j): Fraction(int(limit[i, j])) for i in range(pattern.m)
                                           for j in range(pattern.n)}, (pattern.m, pattern.n))
            cert = NotClosedCertificate(pattern, target, _laurent_entries(xs, 1), _laurent_entries(ys, -1),
                                        {"kind": "z3-unsat"}, "random-curve")
            return cert, spent
    return None, spent
