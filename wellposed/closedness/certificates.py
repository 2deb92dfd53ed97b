"""Not-closed certificates: an exact limit matrix, a Laurent curve reaching it, and a proof it is not in P.

A certificate for "P_{I,J} is not closed" is a matrix ``A*`` with rational entries together with

1. a curve ``X(ε), Y(ε)`` whose entries are Laurent polynomials in ε with rational coefficients,
   supported in ``I`` and ``J``, such that ``X(ε) Y(ε)ᵀ = A* + O(ε)`` (so ``A*`` lies in the closure), and
2. a proof that ``A* ∉ P``: either the system ``X Yᵀ = A*`` is unsatisfiable over the reals (z3,
   nonlinear real arithmetic), or a *private minor*: three or four entries of ``A*`` that only one
   component can reach and whose values no rank-one matrix takes.

:meth:`NotClosedCertificate.verify` re-checks both parts with exact arithmetic (python-flint) and a
fresh z3 query, independently of the search that found the certificate.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CertificateError
from ..support import SupportPattern
from .budget import BASE, Budget, z3_check

__all__ = [
    "Laurent",
    "LimitMatrix",
    "NotClosedCertificate",
    "laurent_product",
    "check_not_in_p_z3",
    "private_minor_proof",
    "private_block_minor_proof",
    "smtlib_membership_query",
]

#: A Laurent polynomial in ε: ``((exponent, coefficient), ...)`` sorted by exponent, nonzero coefficients.
Laurent = tuple[tuple[int, Fraction], ...]

#: Certificates of patterns with at most this many entries write their limit as a dense matrix in JSON.
DENSE_JSON_ENTRIES = 1024
#: Kinds of non-membership proof a certificate may carry (``verify`` checks each).
PROOF_KINDS = ("z3-unsat", "private-minor", "private-block-minor")
#: A private-minor proof is re-checked by z3 on the whole pattern up to this many free entries, on its minor above.
WHOLE_PATTERN_CHECK_ENTRIES = 200


class LimitMatrix(Sequence[tuple[Fraction, ...]]):
    """An exact m×n rational matrix stored by its nonzero entries (the limit ``A*`` of a certificate).

    Reads like the dense tuple of rows it stands for (``limit[i][j]``, iteration over rows, equality
    with a list of lists), while its size and every check on it follow the number of nonzero entries.

    >>> a = LimitMatrix.from_any([[0, 1], [1, 0]], (2, 2))
    >>> a.entries, a[0][1], a == [[0, 1], [1, 0]]
    ({(0, 1): Fraction(1, 1), (1, 0): Fraction(1, 1)}, Fraction(1, 1), True)
    """

    __slots__ = ("shape", "entries")

    def __init__(self, shape: tuple[int, int], entries: Mapping[tuple[int, int], Fraction]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.entries = {(int(i), int(j)): v for (i, j), v in sorted(entries.items()) if v != 0}

    @classmethod
    def from_any(cls, value: Any, shape: tuple[int, int]) -> LimitMatrix:
        """From a LimitMatrix, a mapping ``{(i, j): value}`` or a dense sequence of rows; exact rationals,
        shape checked (raises :class:`CertificateError`)."""
        m, n = shape
        if isinstance(value, LimitMatrix):
            if value.shape != (m, n):
                raise CertificateError(f"limit has shape {value.shape[0]}×{value.shape[1]}; the pattern is {m}×{n}.")
            return value
        entries: dict[tuple[int, int], Fraction] = {}
        if isinstance(value, Mapping):
            for key, v in value.items():
                try:
                    i, j = (int(t) for t in key)
                except (TypeError, ValueError):
                    raise CertificateError(f"limit entry key {key!r} is not a pair (row, column).") from None
                if not (0 <= i < m and 0 <= j < n):
                    raise CertificateError(f"limit entry ({i}, {j}) is outside the {m}×{n} pattern.")
                entries[i, j] = _frac(v, f"limit[{i}][{j}]")
            return cls((m, n), entries)
        rows = [list(row) for row in value]
        if len(rows) != m or any(len(row) != n for row in rows):
            raise CertificateError(f"limit has shape {len(rows)}×{len(rows[0]) if rows else 0}; the pattern "
                                   f"is {m}×{n}.")
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                q = _frac(v, f"limit[{i}][{j}]")
                if q != 0:
                    entries[i, j] = q
        return cls((m, n), entries)

    def value(self, i: int, j: int) -> Fraction:
        """Entry ``(i, j)``."""
        return self.entries.get((i, j), _ZERO)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[t] for t in range(*i.indices(self.shape[0]))]
        i = int(i)
        if not -self.shape[0] <= i < self.shape[0]:
            raise IndexError(f"row {i} outside a {self.shape[0]}-row limit")
        i %= self.shape[0]
        return tuple(self.entries.get((i, j), _ZERO) for j in range(self.shape[1]))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LimitMatrix):
            return self.shape == other.shape and self.entries == other.entries
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            try:
                return self == LimitMatrix.from_any(other, self.shape)
            except CertificateError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.shape, tuple(self.entries.items())))

    def __repr__(self) -> str:
        return f"LimitMatrix({self.shape}, {self.entries!r})"

    def restrict(self, rows: Sequence[int], cols: Sequence[int]) -> LimitMatrix:
        """The sub-matrix ``rows × cols`` (in that order)."""
        ri = {int(i): a for a, i in enumerate(rows)}
        cj = {int(j): b for b, j in enumerate(cols)}
        return LimitMatrix((len(ri), len(cj)), {(ri[i], cj[j]): v for (i, j), v in self.entries.items()
                                                 if i in ri and j in cj})


_ZERO = Fraction(0)


def _frac(value: Any, what: str) -> Fraction:
    if isinstance(value, bool):
        raise CertificateError(f"{what} = {value!r} is a bool; give an int, a Fraction or a 'p/q' string.")
    try:
        return Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise CertificateError(f"{what} = {value!r} is not an exact rational (int, Fraction or 'p/q').") from None


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CertificateError(f"{what} = {value!r} is not an integer.")
    return int(value)


def _index(value: Any, size: int, what: str) -> int:
    """``value`` as an index in ``range(size)``, or :class:`CertificateError` (bools, floats and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CertificateError(f"{what} = {value!r} is not an integer index.")
    if not 0 <= int(value) < size:
        raise CertificateError(f"{what} = {value!r} is outside range({size}).")
    return int(value)


def _indices(value: Any, size: int, what: str, count: int | None = None) -> list[int]:
    """A list of distinct indices in ``range(size)`` (exactly ``count`` of them when given, else at least one)."""
    if not isinstance(value, (list, tuple)):
        raise CertificateError(f"{what} = {value!r} is not a list of indices.")
    out = [_index(v, size, f"{what}[{t}]") for t, v in enumerate(value)]
    if len(set(out)) != len(out) or not out or (count is not None and len(out) != count):
        want = f"{count} distinct" if count is not None else "distinct"
        raise CertificateError(f"{what} = {value!r} must hold {want} indices.")
    return out


def _laurent(value: Any, what: str) -> Laurent:
    """Normalize ``{exp: coef}`` or ``[(exp, coef), ...]`` into a sorted tuple without zero terms."""
    items = value.items() if isinstance(value, Mapping) else value
    acc: dict[int, Fraction] = {}
    try:
        pairs = list(items)
    except TypeError:
        raise CertificateError(f"{what} = {value!r} is not a Laurent polynomial {{exponent: coefficient}}.") from None
    for pair in pairs:
        try:
            e, c = pair
        except (TypeError, ValueError):
            raise CertificateError(f"{what}: term {pair!r} is not an (exponent, coefficient) pair.") from None
        if isinstance(e, bool) or not isinstance(e, (int, np.integer)):
            raise CertificateError(f"{what}: exponent {e!r} must be an integer.")
        acc[int(e)] = acc.get(int(e), Fraction(0)) + _frac(c, f"{what} coefficient of ε^{e}")
    return tuple(sorted((e, c) for e, c in acc.items() if c != 0))


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


def check_not_in_p_z3(pattern: SupportPattern, limit: Sequence[Sequence[Fraction]], *,
                      rlimit: int = BASE["query_rlimit"], budget: Budget | None = None,
                      spent: list[int] | None = None) -> str:
    """Ask z3 whether ``X Yᵀ = limit`` has a real solution with the supports; return the z3 answer.

    Returns ``"unsat"`` (the limit is not in P), ``"sat"`` (it is) or ``"unknown"`` (the resource limit
    ``rlimit`` was reached: deterministic, the same on every machine). The z3 resource units spent are
    appended to ``spent`` when given.

    Examples
    --------
    >>> from wellposed.families import family
    >>> one, zero = Fraction(1), Fraction(0)
    >>> check_not_in_p_z3(family("lu:2"), [[zero, one], [one, zero]])
    'unsat'
    >>> check_not_in_p_z3(family("lu:2"), [[one, one], [one, zero]])
    'sat'

    Notes
    -----
    ``|I| + |J|`` real unknowns and ``m n`` bilinear equations, solved by z3's nlsat procedure
    (complete for nonlinear real arithmetic, doubly exponential in the worst case), in a fresh
    ``z3.Context`` under :func:`~wellposed.closedness.budget.z3_check`.
    """
    import z3

    m, n, r = pattern.shape
    target = LimitMatrix.from_any(limit, (m, n))
    union = pattern.union_mask()
    if any(not union[i, j] for i, j in target.entries):
        return "unsat"  # an entry no component reaches is nonzero
    ctx = z3.Context()
    xs = {(i, k): z3.Real(f"x_{i}_{k}", ctx) for i, k in zip(*np.nonzero(pattern.x_support), strict=True)}
    ys = {(j, k): z3.Real(f"y_{j}_{k}", ctx) for j, k in zip(*np.nonzero(pattern.y_support), strict=True)}
    solver = z3.SolverFor("QF_NRA", ctx=ctx)
    for i, j in zip(*np.nonzero(union), strict=True):
        terms = [xs[i, k] * ys[j, k] for k in range(r) if (i, k) in xs and (j, k) in ys]
        val = target.value(int(i), int(j))
        solver.add(z3.Sum(terms) == z3.Q(val.numerator, val.denominator, ctx))
    answer, units = z3_check(solver, rlimit, budget)
    if spent is not None:
        spent.append(units)
    return answer


def smtlib_membership_query(pattern: SupportPattern, limit: Sequence[Sequence[Fraction]]) -> str:
    """SMT-LIB 2 text of ``∃X, Y: X Yᵀ = limit`` (QF_NRA), written independently of the z3 API.

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


def _z3_on_smtlib(text: str, rlimit: int = BASE["verify_rlimit"], budget: Budget | None = None) -> str:
    import z3

    ctx = z3.Context()
    solver = z3.SolverFor("QF_NRA", ctx=ctx)
    solver.from_string(text.replace("(check-sat)", ""))
    return z3_check(solver, rlimit, budget)[0]


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
        k = _index(component, pattern.r, "component")
        r0, r1 = _indices(rows, pattern.m, "rows", 2)
        c0, c1 = _indices(cols, pattern.n, "cols", 2)
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
        comps = _indices(proof.get("components"), pattern.r, "components")
        rows, cols = proof.get("rows"), proof.get("cols")
        if not (isinstance(rows, (list, tuple)) and len(rows) == 2 and isinstance(cols, (list, tuple))
                and len(cols) == 2):
            raise CertificateError("rows must be [A1, A2] and cols [B1, B2]")
        s = len(comps)
        a1, a2 = (_indices(v, pattern.m, f"rows[{t}]", s) for t, v in enumerate(rows))
        b1, b2 = (_indices(v, pattern.n, f"cols[{t}]", s) for t, v in enumerate(cols))
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


def _fmt(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


@dataclass(frozen=True)
class NotClosedCertificate:
    """Evidence that ``P_{I,J}`` is not closed (see the module docstring).

    Parameters
    ----------
    pattern : SupportPattern
        The pattern the indices refer to.
    limit : LimitMatrix, mapping ``(i, j) -> value`` or m×n rows
        ``A*``, exact rationals; stored as a :class:`LimitMatrix` (its nonzero entries), so a certificate
        on a large pattern costs the size of its support.
    x_curve, y_curve : mapping ``(row, component) -> Laurent``
        Nonzero entries of ``X(ε)`` and ``Y(ε)``.
    proof : dict
        ``{"kind": "z3-unsat"}`` (optionally with ``"rows"``/``"cols"``: the region on which z3 proves
        ``A*[rows, cols] ∉ P(rows, cols)``) or ``{"kind": "private-minor", "component": k, "rows": [i, i'],
        "cols": [j, j']}``; ``verify`` re-checks it.
    found_by : str
        The search that produced it (``"lu-obstruction"``, ``"curve-search"``).

    Examples
    --------
    >>> from wellposed.families import family
    >>> from wellposed.closedness.obstruction import lu_obstruction
    >>> cert = lu_obstruction(family("lu:2"))
    >>> cert.limit_as_strings()
    [['0', '1'], ['1', '0']]
    >>> cert.verify()["proof"]
    'private-minor'
    """

    pattern: SupportPattern
    limit: LimitMatrix
    x_curve: Mapping[tuple[int, int], Laurent]
    y_curve: Mapping[tuple[int, int], Laurent]
    proof: Mapping[str, Any] = field(default_factory=lambda: {"kind": "z3-unsat"})
    found_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", LimitMatrix.from_any(self.limit, (self.pattern.m, self.pattern.n)))
        object.__setattr__(self, "x_curve", {(int(i), int(k)): _laurent(p, f"X[{i},{k}]")
                                             for (i, k), p in dict(self.x_curve).items()})
        object.__setattr__(self, "y_curve", {(int(j), int(k)): _laurent(p, f"Y[{j},{k}]")
                                             for (j, k), p in dict(self.y_curve).items()})
        if not isinstance(self.proof, Mapping):
            raise CertificateError(f"proof = {self.proof!r} must be a mapping with a 'kind' key.")
        object.__setattr__(self, "proof", dict(self.proof))

    def limit_as_strings(self) -> list[list[str]]:
        """``A*`` with entries as ``"p/q"`` strings (dense: m rows of n strings)."""
        return [[_fmt(v) for v in row] for row in self.limit]

    def limit_entries(self) -> list[list[Any]]:
        """The nonzero entries of ``A*`` as ``[row, column, "p/q"]`` (its sparse form)."""
        return [[i, j, _fmt(v)] for (i, j), v in self.limit.entries.items()]

    def limit_text(self) -> str:
        """``A*`` for people: ``[[0, 1], [1, 0]]`` (exact rationals as ``p/q``); for a pattern of more
        than 100 entries, its nonzero entries: ``entries (3, 5) = 1, (7, 2) = 1 of the 512×512 zero matrix``."""
        m, n = self.limit.shape
        if m * n <= 100:
            return "[" + ", ".join("[" + ", ".join(row) + "]" for row in self.limit_as_strings()) + "]"
        shown = ", ".join(f"({i}, {j}) = {v}" for i, j, v in self.limit_entries()[:8])
        more = f" and {len(self.limit.entries) - 8} more" if len(self.limit.entries) > 8 else ""
        return f"entries {shown}{more} of the {m}×{n} zero matrix"

    def max_blowup(self) -> int:
        """Largest negative exponent (in absolute value) in the curve: how fast factors blow up."""
        exps = [e for p in (*self.x_curve.values(), *self.y_curve.values()) for e, _ in p]
        return max([0] + [-e for e in exps])

    def verify(self, *, z3_check: bool = True, rlimit: int = BASE["verify_rlimit"],
               budget: Budget | None = None) -> dict[str, Any]:
        """Re-check the certificate from scratch; return a summary or raise :class:`CertificateError`.

        Checks that the curve respects the supports, that ``X(ε) Y(ε)ᵀ`` has no negative power of ε
        and constant term ``A*`` (exact rationals), and the non-membership proof: a fresh z3 query
        (``unsat`` required) for ``"z3-unsat"``, built as SMT-LIB text independently of the z3-API
        encoding used by the searches; for ``"private-minor"`` the combinatorial argument,
        plus (if ``z3_check``) a z3 query that must not answer ``sat``; for ``"private-block-minor"`` the
        combinatorial argument and an exact rank, and no z3 query (on block minors z3 only runs to its
        resource limit, so asking would cost much and prove nothing more). The summary's ``"z3"`` key
        holds z3's answer (``"skipped"`` when not asked). The z3 query is bounded by ``rlimit`` (a
        count, so the outcome does not depend on the machine) and by ``budget``'s wall-clock cap if any.
        """
        t0 = time.perf_counter()
        p = self.pattern
        for (i, k) in self.x_curve:
            if not (0 <= i < p.m and 0 <= k < p.r and p.x_support[i, k]):
                raise CertificateError(f"curve entry X[{i},{k}] is outside x_support.")
        for (j, k) in self.y_curve:
            if not (0 <= j < p.n and 0 <= k < p.r and p.y_support[j, k]):
                raise CertificateError(f"curve entry Y[{j},{k}] is outside y_support.")
        prod = laurent_product(p, self.x_curve, self.y_curve)
        # entries outside the curve's product and the limit's support are 0 = 0: check only the others
        for i, j in sorted(set(prod) | set(self.limit.entries)):
            terms = prod.get((i, j), {})
            neg = {e: c for e, c in terms.items() if e < 0}
            if neg:
                raise CertificateError(f"entry ({i}, {j}) of X(ε)Y(ε)ᵀ keeps negative powers {neg}.")
            if terms.get(0, Fraction(0)) != self.limit.value(i, j):
                raise CertificateError(f"entry ({i}, {j}): constant term {terms.get(0, 0)} differs from "
                                       f"the limit {self.limit.value(i, j)}.")
        kind = self.proof.get("kind")
        if kind not in PROOF_KINDS:
            raise CertificateError(f"unknown proof kind {kind!r}; expected one of {list(PROOF_KINDS)}.")
        if kind == "private-minor":
            why = private_minor_proof(p, self.limit, self.proof.get("component"), self.proof.get("rows"),
                                      self.proof.get("cols"))
            if why:
                raise CertificateError(f"private-minor proof rejected: {why}.")
        if kind == "private-block-minor":
            why = private_block_minor_proof(p, self.limit, self.proof)
            if why:
                raise CertificateError(f"private block-minor proof rejected: {why}.")
        # an encoding path independent of the searches: SMT-LIB text parsed by z3, on the proof's region
        if kind == "private-block-minor" or not (z3_check or kind == "z3-unsat"):
            answer = "skipped"  # for a block minor the exact rank argument above is the proof: z3 runs to its limit
        else:
            region_pattern, region_limit = self._proof_region()
            answer = _z3_on_smtlib(smtlib_membership_query(region_pattern, region_limit), rlimit, budget)
        if answer == "sat":
            raise CertificateError("z3 found X, Y with X Yᵀ = A*: the limit lies in P.")
        if kind == "z3-unsat" and answer != "unsat":
            raise CertificateError(f"z3 answered {answer!r} to 'exists X, Y with X Yᵀ = A*' (need unsat).")
        return {"curve": "ok", "proof": kind, "z3": answer, "max_blowup": self.max_blowup(),
                "seconds": time.perf_counter() - t0}  # information only

    def _proof_region(self) -> tuple[SupportPattern, LimitMatrix]:
        """The (sub-)pattern and limit on which non-membership is checked by z3.

        A proof may name a region ``rows × cols`` (keys ``"rows"``/``"cols"`` of a ``"z3-unsat"`` proof;
        the minor of a ``"private-minor"`` proof on a pattern of more than
        :data:`WHOLE_PATTERN_CHECK_ENTRIES` free entries): if ``A* = X Yᵀ`` then
        ``A*[rows, cols] = X[rows] Y[cols]ᵀ`` with the restricted supports, so ``A*[rows, cols] ∉
        P(rows, cols)`` proves ``A* ∉ P``, at a cost that follows the region, not the pattern.
        """
        p = self.pattern
        kind = self.proof.get("kind")
        has_region = "rows" in self.proof and "cols" in self.proof
        if not has_region or (kind == "private-minor" and p.num_free_entries() <= WHOLE_PATTERN_CHECK_ENTRIES):
            return p, self.limit
        try:
            rows = _indices(self.proof["rows"], p.m, "rows")
            cols = _indices(self.proof["cols"], p.n, "cols")
        except CertificateError as exc:
            raise CertificateError(f"proof region rows × cols of the {p.m}×{p.n} pattern is malformed: {exc}") from None
        sub = p.restrict(rows, cols, range(p.r))
        return sub, self.limit.restrict(rows, cols)

    def lift(self, pattern: SupportPattern, rows: Sequence[int], cols: Sequence[int],
             comps: Sequence[int]) -> NotClosedCertificate:
        """The same certificate on a larger ``pattern`` of which this one is the part ``rows × cols``
        with components ``comps`` (other entries of the limit and other components are zero).

        A direct sum with zero is again a valid certificate: entries outside the part are reached by
        other components only, which the curve leaves at zero; the proof is re-checked by ``verify``.
        Indices of a proof are mapped to ``pattern``'s; a ``"z3-unsat"`` proof without region gets the part's
        ``rows × cols`` as its region when ``pattern`` has more than :data:`WHOLE_PATTERN_CHECK_ENTRIES` free
        entries (so that re-verification costs the part, not the pattern).
        """
        rows, cols, comps = list(rows), list(cols), list(comps)
        limit = LimitMatrix((pattern.m, pattern.n), {(rows[a], cols[b]): v for (a, b), v in self.limit.entries.items()})
        x = {(rows[i], comps[k]): poly for (i, k), poly in self.x_curve.items()}
        y = {(cols[j], comps[k]): poly for (j, k), poly in self.y_curve.items()}
        proof = dict(self.proof)
        if proof.get("kind") == "private-minor":
            proof["component"] = comps[int(proof["component"])]
        if proof.get("kind") == "private-block-minor":
            proof["components"] = [comps[int(k)] for k in proof["components"]]
            proof["rows"] = [[rows[int(t)] for t in part] for part in proof["rows"]]
            proof["cols"] = [[cols[int(t)] for t in part] for part in proof["cols"]]
        elif "rows" in proof and "cols" in proof:
            proof["rows"] = [rows[int(t)] for t in proof["rows"]]
            proof["cols"] = [cols[int(t)] for t in proof["cols"]]
        elif proof.get("kind") == "z3-unsat" and pattern.num_free_entries() > WHOLE_PATTERN_CHECK_ENTRIES:
            # A* = XYᵀ implies A*[rows, cols] = X[rows] Y[cols]ᵀ: the part's rows × cols is a sound region,
            # where z3 is asked at the cost of the part (the whole pattern may be huge)
            proof["rows"], proof["cols"] = rows, cols
        return NotClosedCertificate(pattern, limit, x, y, proof, self.found_by)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: limit (``p/q`` strings), curve terms, proof and searcher."""
        def curve(c: Mapping[tuple[int, int], Laurent]) -> list[dict[str, Any]]:
            return [{"row": i, "component": k, "terms": [[e, _fmt(v)] for e, v in poly]}
                    for (i, k), poly in sorted(c.items())]

        m, n = self.limit.shape
        limit: dict[str, Any] = ({"limit": self.limit_as_strings()} if m * n <= DENSE_JSON_ENTRIES
                                 else {"limit_entries": self.limit_entries()})
        return {**limit, "x_curve": curve(self.x_curve), "y_curve": curve(self.y_curve),
                "proof": dict(self.proof), "found_by": self.found_by, "max_blowup": self.max_blowup()}

    @classmethod
    def from_json(cls, pattern: SupportPattern, data: Mapping[str, Any]) -> NotClosedCertificate:
        """Rebuild a certificate written by :meth:`to_json` for ``pattern``; a malformed record raises
        :class:`CertificateError`."""
        if not isinstance(data, Mapping):
            raise CertificateError(f"certificate record {data!r} is not a mapping.")
        try:
            x, y = ({(_integer(t["row"], "row"), _integer(t["component"], "component")):
                     tuple((_integer(e, "exponent"), _frac(v, "coefficient")) for e, v in t["terms"])
                     for t in data[side]} for side in ("x_curve", "y_curve"))
            if "limit_entries" in data:
                limit: Any = {(_integer(i, "row"), _integer(j, "column")): _frac(v, "limit entry")
                              for i, j, v in data["limit_entries"]}
            else:
                limit = data["limit"]
            return cls(pattern, limit, x, y, data.get("proof", {"kind": "z3-unsat"}), str(data.get("found_by", "")))
        except (KeyError, TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise CertificateError(f"certificate record {dict(data)!r} is malformed: {exc!r}") from None
