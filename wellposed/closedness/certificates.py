"""Not-closed certificates: an exact limit matrix, a Laurent curve reaching it, and a proof it is not in P.

A certificate for "P_{I,J} is not closed" is a matrix ``A*`` with rational entries together with

1. a curve ``X(ε), Y(ε)`` whose entries are Laurent polynomials in ε with rational coefficients,
   supported in ``I`` and ``J``, such that ``X(ε) Y(ε)ᵀ = A* + O(ε)`` (so ``A*`` lies in the closure), and
2. a proof that ``A* ∉ P``: either the system ``X Yᵀ = A*`` is unsatisfiable over the reals (z3,
   nonlinear real arithmetic), or a *private minor*: three or four entries of ``A*`` that only one
   component can reach and whose values no rank-one matrix takes.

This module holds the certificate data (:class:`LimitMatrix`, :class:`NotClosedCertificate`), its JSON
form and its lift to a larger pattern. :meth:`NotClosedCertificate.verify` re-checks both parts with exact
arithmetic (python-flint) and a fresh z3 query, independently of the search that found the certificate:
see :mod:`wellposed.closedness.verify`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CertificateError
from ..support import SupportPattern
from .budget import BASE, Budget

__all__ = ["Laurent", "LimitMatrix", "NotClosedCertificate", "DENSE_JSON_ENTRIES", "PROOF_KINDS",
           "WHOLE_PATTERN_CHECK_ENTRIES"]

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


def checked_index(value: Any, size: int, what: str) -> int:
    """``value`` as an index in ``range(size)``, or :class:`CertificateError` (bools, floats and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CertificateError(f"{what} = {value!r} is not an integer index.")
    if not 0 <= int(value) < size:
        raise CertificateError(f"{what} = {value!r} is outside range({size}).")
    return int(value)


def checked_indices(value: Any, size: int, what: str, count: int | None = None) -> list[int]:
    """A list of distinct indices in ``range(size)`` (exactly ``count`` of them when given, else at least one)."""
    if not isinstance(value, (list, tuple)):
        raise CertificateError(f"{what} = {value!r} is not a list of indices.")
    out = [checked_index(v, size, f"{what}[{t}]") for t, v in enumerate(value)]
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
        """Re-check the certificate from scratch, independently of the search that found it; return a summary
        or raise :class:`CertificateError`. See :func:`wellposed.closedness.verify.verify_certificate`."""
        from .verify import verify_certificate

        return verify_certificate(self, z3_check=z3_check, rlimit=rlimit, budget=budget)

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
