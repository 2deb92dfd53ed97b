"""The one spec grammar of Kronecker-sparse chains (``butterfly:N``, ``monarch:m``, ``ks:...``) and its help text.

:func:`parse_chain_spec` turns a spec into a named :class:`~wellposed.kronecker.KSChain`. Two commands use
it: ``wellposed analyze`` (through :mod:`wellposed.families`), which needs a two-factor chain
(:func:`kronecker_pair`), and ``wellposed factor``, which needs a chain of the matrix's size
(:func:`check_spec_shape`). :data:`CHAIN_SPEC_GRAMMAR` and :func:`family_help_lines` render the one table of
forms below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from ._spec_ints import spec_int, spec_ints
from .errors import InvalidChainError, InvalidMatrixError, InvalidSpecError
from .kronecker import KSChain, KSPattern, check_chain, debut, dyadic_butterfly, monarch, product_pattern

__all__ = [
    "parse_chain_spec",
    "kronecker_pair",
    "is_kronecker_spec",
    "check_spec_shape",
    "family_help_lines",
    "CHAIN_SPEC_GRAMMAR",
    "KRONECKER_FAMILIES",
]

#: The forms of the grammar: (form, meaning, listed by ``wellposed families`` as a two-factor family).
_FORMS: tuple[tuple[str, str, bool], ...] = (
    ("butterfly:N", "square dyadic butterfly, N a power of two: log2(N) factors (2^(l-1),2,2,2^(L-l))", False),
    ("butterfly:N:s", "split after factor s of the N×N dyadic butterfly", True),
    ("monarch:m", "Monarch, N = m², (1,m,m,m)·(m,m,m,1)", True),
    ("monarch:m,s", "Monarch with m blocks of size s, N = m·s, (1,m,m,s)·(m,s,s,1)", False),
    ("debut:B1xC1,B2xC2,...", "deformable butterfly of rank one, shape (B1·B2·…)×(C1·C2·…)", False),
    ("ks:a,b,c,d;a,b,c,d", "product of two Kronecker-sparse factors", True),
    ("ks:a,b,c,d;...;a,b,c,d", "any chain, leftmost factor first ('/' may replace ';', which a shell splits on)",
     False),
)

#: Help text of the grammar: every form, one per line.
CHAIN_SPEC_GRAMMAR = "Kronecker-sparse chain SPEC (case-insensitive):\n" + "\n".join(
    f"  {form:<24} {meaning}" for form, meaning, _ in _FORMS)

_FORM_LIST = ", ".join(form for form, _, _ in _FORMS)


def family_help_lines(family: str) -> list[str]:
    """The ``form — meaning`` lines that ``wellposed families`` lists for ``family`` (maybe none).

    >>> family_help_lines("monarch")
    ['monarch:m — Monarch, N = m², (1,m,m,m)·(m,m,m,1)']
    """
    return [f"{form} — {meaning}" for form, meaning, listed in _FORMS
            if listed and form.partition(":")[0] == family]


# ---------------------------------------------------------------- one parser per family
def _butterfly(spec: str, args: str) -> KSChain:
    parts = args.split(":")
    if len(parts) > 2:
        raise InvalidSpecError(f"{spec!r}: write butterfly:N (the whole chain) or butterfly:N:s (its split after "
                               "factor s into two factors), N a power of two.")
    (big_n,) = spec_ints(spec, parts[0], 1, "N")
    levels = big_n.bit_length() - 1
    if len(parts) == 1:
        if big_n < 2 or big_n & (big_n - 1):
            raise InvalidSpecError(f"{spec!r}: N = {big_n} must be a power of two ≥ 2 (the dyadic butterfly).")
        return KSChain(dyadic_butterfly(big_n), name=f"butterfly:{big_n}",
                       description=f"{big_n}×{big_n} dyadic butterfly, {levels} factors")
    (s,) = spec_ints(spec, parts[1], 1, "s")
    if big_n < 4 or big_n & (big_n - 1):
        raise InvalidSpecError(f"{spec!r}: N = {big_n} must be a power of two ≥ 4 (the dyadic butterfly).")
    if not 1 <= s < levels:
        raise InvalidSpecError(f"{spec!r}: split s = {s} must satisfy 1 ≤ s ≤ {levels - 1} for N = {big_n}.")
    chain = dyadic_butterfly(big_n)
    return KSChain((product_pattern(chain[:s]), product_pattern(chain[s:])), name=f"butterfly:{big_n}:{s}",
                   description=f"two-factor split after factor {s} of the {big_n}×{big_n} dyadic butterfly")


def _monarch(spec: str, args: str) -> KSChain:
    count = len(args.split(","))
    if count > 2:
        raise InvalidSpecError(f"{spec!r}: write monarch:m (N = m²) or monarch:m,s (m blocks of size s, N = m·s).")
    if count == 1:
        (m,) = spec_ints(spec, args, 1, "m")
        s, name = m, f"monarch:{m}"
    else:
        m, s = spec_ints(spec, args, 2, "m,s")
        name = f"monarch:{m},{s}"
    return KSChain(monarch(m, s), name=name, description=f"Monarch product of two {m * s}×{m * s} block factors")


def _debut(spec: str, args: str) -> KSChain:
    pairs = []
    for i, token in enumerate(args.split(","), start=1):
        parts = token.lower().split("x")
        if len(parts) != 2:
            raise InvalidSpecError(f"{spec!r}: block {token.strip()!r} is not of the form BxC (e.g. 2x3).")
        pairs.append((spec_int(spec, f"B{i}", parts[0]), spec_int(spec, f"C{i}", parts[1])))
    rows, cols = math.prod(b for b, _ in pairs), math.prod(c for _, c in pairs)
    return KSChain(debut(pairs), name="debut:" + ",".join(f"{b}x{c}" for b, c in pairs),
                   description=f"deformable butterfly of rank one, {rows}×{cols}, {len(pairs)} factor(s)")


def _ks(spec: str, args: str) -> KSChain:
    tokens = args.replace("/", ";").split(";")
    if len(tokens) > 1 and not tokens[-1].strip():  # one trailing separator
        tokens.pop()
    pats = tuple(KSPattern(*spec_ints(spec, token, 4, "a,b,c,d")) for token in tokens)
    try:
        check_chain(pats, chainable=False)
    except InvalidChainError as exc:
        raise InvalidSpecError(f"{spec!r}: {exc}") from None
    what = "two Kronecker-sparse factors" if len(pats) == 2 else f"{len(pats)} Kronecker-sparse factor(s)"
    return KSChain(pats, name="ks:" + ";".join(tokens), description=f"product of {what}")


_PARSERS: dict[str, Callable[[str, str], KSChain]] = {
    "butterfly": _butterfly, "monarch": _monarch, "debut": _debut, "ks": _ks}
#: Family names of the grammar.
KRONECKER_FAMILIES = tuple(_PARSERS)


def parse_chain_spec(spec: str) -> KSChain:
    """Parse a chain spec (grammar: :data:`CHAIN_SPEC_GRAMMAR`) into a named, valid :class:`KSChain`.

    Chainability is not checked here (the factorization does it; the analysis of two-factor chains
    does not need it).

    Raises
    ------
    InvalidSpecError
        The spec does not follow the grammar, a parameter is out of range, or its factors do not chain
        (the message names the spec, the parameter and the fix).

    Examples
    --------
    >>> c = parse_chain_spec("butterfly:8")
    >>> c.name, [p.abcd for p in c]
    ('butterfly:8', [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)])
    >>> [str(p) for p in parse_chain_spec("BUTTERFLY: 16 :1")]
    ['(1,2,2,8)', '(2,8,8,1)']
    >>> parse_chain_spec("monarch:4").shape, parse_chain_spec("monarch:3,4").shape
    ((16, 16), (12, 12))
    >>> parse_chain_spec("ks:1,2,2,2/2,2,2,1") == parse_chain_spec("ks:1,2,2,2;2,2,2,1")
    True
    >>> parse_chain_spec("butterfly:12:1")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: 'butterfly:12:1': N = 12 must be a power of two ≥ 4 (the dyadic butterfly).
    >>> parse_chain_spec("fft:8")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: unknown chain family 'fft' in 'fft:8'; use butterfly:N, butterfly:N:s, ...
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidSpecError(f"spec = {spec!r} is not a Kronecker-sparse chain spec; use {_FORM_LIST}.")
    family, _, args = spec.partition(":")
    parser = _PARSERS.get(family.strip().lower())
    if parser is None:
        raise InvalidSpecError(f"unknown chain family {family.strip()!r} in {spec!r}; use {_FORM_LIST}.")
    return parser(spec, args)


def kronecker_pair(spec: str) -> KSChain:
    """Parse a spec that must give two factors (an FSMF support pattern), without allocating masks.

    Raises
    ------
    InvalidSpecError
        As :func:`parse_chain_spec`, or a chain of another length.

    Examples
    --------
    >>> p = kronecker_pair("butterfly:65536:8")
    >>> p[0], p.m, p.r
    (KSPattern(a=1, b=256, c=256, d=256), 65536, 65536)
    >>> kronecker_pair("butterfly:16")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: 'butterfly:16' is a chain of 4 Kronecker-sparse factors, but a support \
pattern has two (X on the first, Yᵀ on the second): write butterfly:16:s with 1 ≤ s ≤ 3.
    """
    chain = parse_chain_spec(spec)
    if len(chain) == 2:
        return chain
    family = spec.partition(":")[0].strip().lower()
    levels = chain.m.bit_length() - 1
    if family == "butterfly" and levels >= 2:
        fix = f"write butterfly:{chain.m}:s with 1 ≤ s ≤ {levels - 1}"
    else:
        fix = "write a two-factor spec such as butterfly:N:s, monarch:m or ks:a,b,c,d;a,b,c,d"
    raise InvalidSpecError(f"{spec!r} is a chain of {len(chain)} Kronecker-sparse factor{'s' * (len(chain) > 1)}, "
                           f"but a support pattern has two (X on the first, Yᵀ on the second): {fix}.")


def _looks_like_file(text: str) -> bool:
    """Would :func:`wellposed.families.load_pattern` read ``text`` as a file (same test)?"""
    path = Path(text)
    try:
        exists = path.exists()
    except OSError:
        exists = False
    return path.suffix.lower() in (".json", ".npz") or exists


def is_kronecker_spec(spec: object) -> bool:
    """True when :func:`~wellposed.families.load_pattern` would build ``spec`` from this grammar (its
    parameters are not checked; :func:`kronecker_pair` does that).

    >>> is_kronecker_spec("Monarch:4"), is_kronecker_spec("lu:3"), is_kronecker_spec("ks:1.json")
    (True, False, False)
    """
    if not isinstance(spec, str) or ":" not in spec or _looks_like_file(spec):
        return False
    return spec.partition(":")[0].strip().lower() in _PARSERS


def _divisor_near_sqrt(n: int) -> int:
    """The largest divisor of ``n`` that is at most ``√n``."""
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


def check_spec_shape(chain: KSChain, shape: tuple[int, int]) -> None:
    """Refuse a parsed chain whose product is not ``shape``, naming the spec that would fit.

    Raises
    ------
    InvalidSpecError
        Naming the spec, its size, the matrix size and the fix.
    InvalidMatrixError
        ``shape`` is not that of a 2-D matrix.

    Examples
    --------
    >>> check_spec_shape(parse_chain_spec("monarch:4"), (16, 16))
    >>> check_spec_shape(parse_chain_spec("monarch:16"), (16, 16))
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: monarch:16 is 256×256 (N = m²) but the matrix is 16×16: use monarch:4.
    """
    if chain.shape == tuple(shape):
        return
    if len(shape) != 2:
        raise InvalidMatrixError(f"the matrix has shape {tuple(shape)}, but {chain.name or 'a chain'} factors a 2-D "
                                 f"matrix of shape {chain.shape[0]}×{chain.shape[1]}: save a 2-D array A.")
    rows, cols = shape
    name = chain.name or "the chain " + " ".join(str(p) for p in chain)
    family, _, args = chain.name.partition(":")
    square, power = rows == cols, rows >= 2 and not rows & (rows - 1)
    other = f"write a debut: or ks: chain for a {rows}×{cols} matrix"
    rule = ""
    if family == "butterfly":
        levels = rows.bit_length() - 1
        if not (square and power) or (":" in args and levels < 2):
            fix = f"the dyadic butterfly is square with N a power of two{' ≥ 4' * (':' in args)}; {other}"
        else:
            fix = f"use butterfly:{rows}" + (f":s with 1 ≤ s ≤ {levels - 1}" if ":" in args else "")
    elif family == "monarch":
        rule = " (N = m·s)" if "," in args else " (N = m²)"
        root = math.isqrt(rows)
        if not square:
            fix = f"Monarch chains are square; {other}"
        elif root * root == rows:
            fix = f"use monarch:{root}"
        else:
            d = _divisor_near_sqrt(rows)
            fix = f"{rows} is not a square: use monarch:m,s with m·s = {rows}, e.g. monarch:{d},{rows // d}"
    elif family == "debut":
        rule = " (B1·B2·… × C1·C2·…)"
        fix = f"choose blocks BxC whose B multiply to {rows} and whose C multiply to {cols}"
    else:
        fix = f"the first factor must have a·b·d = {rows} rows and the last a·c·d = {cols} columns"
    raise InvalidSpecError(f"{name} is {chain.m}×{chain.n}{rule} but the matrix is {rows}×{cols}: {fix}.")
