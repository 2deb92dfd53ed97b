"""Named families of support patterns (``lu:3``, ``full:3,3,2``, ``butterfly:16:2``, ...) and spec loading.

A SPEC is either a path to a pattern file (``.json`` case file, ``.npz`` with arrays ``x_support`` and
``y_support``) or a family name with parameters. ``family_names()`` lists the families.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._spec_ints import MAX_FAMILY_INT
from ._spec_ints import spec_ints as _ints
from .errors import InvalidSpecError, InvalidSupportError
from .kronecker_spec import KRONECKER_FAMILIES, family_help_lines, kronecker_pair
from .memory import check_memory
from .support import SupportPattern, as_mask

__all__ = ["family", "family_names", "load_pattern", "FAMILY_HELP", "MAX_FAMILY_INT"]

_MAX_SEED = 2**128 - 1


def _check_masks(spec: str, rows_x: int, rows_y: int, r: int, per_entry: int = 3, extra: int = 0) -> None:
    """Refuse a family whose masks (``rows_x×r`` and ``rows_y×r`` booleans, ``per_entry`` bytes per entry
    while they are built and validated, plus ``extra`` bytes of temporaries) exceed the memory budget."""
    check_memory(per_entry * (rows_x + rows_y) * r + extra,
                 f"the {rows_x}×{r} and {rows_y}×{r} masks", f"{spec!r}",
                 "Use smaller family parameters")


def _lu(spec: str, args: str) -> SupportPattern:
    (n,) = _ints(spec, args, 1, "n")
    _check_masks(spec, n, n, n, per_entry=2, extra=n * n)
    low = np.tril(np.ones((n, n), dtype=bool))
    return SupportPattern(low, low, name=f"lu:{n}",
                          description=f"{n}×{n} LU: X and Y lower triangular, so X Yᵀ is lower times upper")


def _full(spec: str, args: str) -> SupportPattern:
    m, n, r = _ints(spec, args, 3, "m,n,r")
    _check_masks(spec, m, n, r)
    return SupportPattern(np.ones((m, r), bool), np.ones((n, r), bool), name=f"full:{m},{n},{r}",
                          description=f"full supports: {m}×{n} matrices of rank ≤ {r}")


def _diag(spec: str, args: str) -> SupportPattern:
    (n,) = _ints(spec, args, 1, "n")
    _check_masks(spec, n, n, n, per_entry=2, extra=n * n)
    eye = np.eye(n, dtype=bool)
    return SupportPattern(eye, eye, name=f"diag:{n}", description=f"{n}×{n} diagonal matrices")


def _kronecker(spec: str, args: str) -> SupportPattern:
    """A two-factor chain of the Kronecker-sparse grammar (:mod:`wellposed.kronecker_spec`), after the memory
    check of its masks and their temporaries."""
    pair = kronecker_pair(spec)
    _check_masks(spec, pair.m, pair.n, pair.r, per_entry=2, extra=sum(p.mask_bytes for p in pair))
    return pair.pattern()


def _mcp(spec: str, args: str) -> SupportPattern:
    rows = [t.strip() for t in args.split(",") if t.strip()]
    try:
        obs = as_mask(rows, "mcp observation mask")
    except InvalidSupportError as exc:
        raise InvalidSpecError(f"{spec!r}: {exc} Write mcp:110,011 (rows of the 0/1 observation mask).") from None
    m, n = obs.shape
    _check_masks(spec, m, n, 1 + min(m, n), per_entry=2, extra=m * n)
    missing = ~obs
    if m <= n:
        x = np.concatenate([np.ones((m, 1), bool), np.eye(m, dtype=bool)], axis=1)
        y = np.concatenate([np.ones((n, 1), bool), missing.T], axis=1)
    else:
        x = np.concatenate([np.ones((m, 1), bool), missing], axis=1)
        y = np.concatenate([np.ones((n, 1), bool), np.eye(n, dtype=bool)], axis=1)
    return SupportPattern(x, y, name=f"mcp:{','.join(rows)}",
                          description="rank-one completion gadget: one full component plus one complete "
                                      "component per row (column) covering its missing entries")


def _random(spec: str, args: str) -> SupportPattern:
    parts = [t.strip() for t in args.split(",")]
    if len(parts) != 5:
        raise InvalidSpecError(f"{spec!r}: write random:m,n,r,density,seed, e.g. random:4,4,3,0.5,0.")
    m, n, r = _ints(spec, ",".join(parts[:3]), 3, "m,n,r")
    try:
        density = float(parts[3]) if len(parts[3]) <= 40 else float("nan")
    except ValueError:
        raise InvalidSpecError(f"{spec!r}: density = {parts[3]!r} is not a number; give a fraction in [0, 1] such "
                               "as 0.5.") from None
    if not 0.0 <= density <= 1.0:
        raise InvalidSpecError(f"{spec!r}: density = {parts[3]!r} must be a number in [0, 1] (the probability "
                               "of an allowed entry), e.g. 0.5.")
    seed_text = parts[4]
    if not (seed_text.isascii() and seed_text.isdigit()) or len(seed_text) > 39 or int(seed_text) > _MAX_SEED:
        raise InvalidSpecError(f"{spec!r}: seed = {seed_text!r} must be a non-negative integer below 2**128, "
                               "e.g. 0.")
    seed = int(seed_text)
    _check_masks(spec, m, n, r, per_entry=10)  # float64 draws, then the bool masks and their copies
    rng = np.random.default_rng(seed)
    x = rng.random((m, r)) < density
    y = rng.random((n, r)) < density
    return SupportPattern(x, y, name=f"random:{m},{n},{r},{parts[3]},{seed}",
                          description=f"Bernoulli({density}) masks, seed {seed}")


_FAMILIES: dict[str, tuple[Callable[[str, str], SupportPattern], list[str]]] = {
    "lu": (_lu, ["lu:n — n×n LU (I = J = lower-triangular ones)"]),
    "full": (_full, ["full:m,n,r — full supports (rank ≤ r)"]),
    "diag": (_diag, ["diag:n — diagonal (I = J = identity)"]),
    **{name: (_kronecker, family_help_lines(name)) for name in KRONECKER_FAMILIES},
    "mcp": (_mcp, ["mcp:ROW,ROW,... — rank-one completion gadget of a 0/1 observation mask"]),
    "random": (_random, ["random:m,n,r,density,seed — seeded Bernoulli masks"]),
}

FAMILY_HELP = "\n".join(line for _, lines in _FAMILIES.values() for line in lines)


def family_names() -> list[str]:
    """Names of the pattern families."""
    return list(_FAMILIES)


def family(spec: str) -> SupportPattern:
    """Build a pattern from a family spec such as ``"lu:3"`` or ``"full:3,3,2"``.

    Examples
    --------
    >>> family("lu:3").x_support.astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    >>> family("mcp:10,11").shape
    (2, 2, 3)
    >>> family("lux:3")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: unknown family 'lux' in 'lux:3'; known families: lu, full, diag, \
butterfly, monarch, debut, ks, mcp, random.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidSpecError(f"spec = {spec!r} is not a family spec like 'lu:3' nor a .json/.npz pattern file; "
                               f"known families: {', '.join(_FAMILIES)} (see `wellposed families`).")
    name, _, args = spec.partition(":")
    key = name.strip().lower()
    if key not in _FAMILIES:
        raise InvalidSpecError(f"unknown family {name!r} in {spec!r}; known families: {', '.join(_FAMILIES)}.")
    return _FAMILIES[key][0](spec, args)


def load_pattern(spec: str | Path) -> SupportPattern:
    """Load a pattern from a file path (``.json`` or ``.npz``) or a family spec.

    Raises :class:`~wellposed.errors.InvalidSpecError` for unreadable files and unknown families, and
    :class:`~wellposed.errors.InvalidSupportError` for malformed masks. The file readers are in
    :mod:`wellposed.io` (one table of formats: :data:`wellposed.io.formats.FORMATS`).
    """
    from .io.patterns import read_pattern

    return read_pattern(spec)
