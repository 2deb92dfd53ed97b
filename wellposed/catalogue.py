"""The case catalogue: the named support patterns of ``cases/*.json`` and the census files of ``cases/census/``.

The folder ``cases/`` of the repository installs as the package ``wellposed.cases`` (its files are package
data); this module reads it through :mod:`importlib.resources`, so the same code serves a checkout (an editable
install maps ``wellposed.cases`` to ``cases/``) and an installed wheel. It is the one place that knows where
the catalogue lives: the ``case:NAME`` pattern spec (a row of :data:`wellposed.io.formats.FORMATS`), the
command ``wellposed cases``, the generated catalogue pages and the catalogue-driven tests all read it here.

A case is named after its file (``cases/lu-2.json`` is ``case:lu-2``); each file holds the masks, a
description, its provenance (``source``) and the verdicts it is expected to get (``expected``).

Examples
--------
>>> "lu-2" in case_names()
True
>>> p = load_case("lu-2")
>>> p.shape, dict(p.expected)["closed"]
((2, 2, 2), False)
>>> read_case_spec("case:lu2")
Traceback (most recent call last):
...
wellposed.errors.InvalidSpecError: unknown case 'lu2' in 'case:lu2'; close matches: lu-2 (`wellposed cases` \
lists the ... cases).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidSpecError, WellposedError
from .support import SupportPattern

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["CASE_PREFIX", "CATALOGUE_PACKAGE", "case_names", "case_file", "load_case", "load_cases",
           "read_case_spec", "census_names", "census_file", "catalogue_dir"]

#: The package that holds the catalogue (installed from the folder ``cases/``).
CATALOGUE_PACKAGE = "wellposed.cases"
#: The prefix of a pattern spec naming a case: ``case:NAME``.
CASE_PREFIX = "case:"
_CENSUS = "census"


def _root() -> Traversable:
    try:
        return resources.files(CATALOGUE_PACKAGE)
    except ModuleNotFoundError:
        raise WellposedError(f"the case catalogue (package {CATALOGUE_PACKAGE}) is not installed; reinstall "
                             "wellposed (`pip install wellposed`, or `pip install -e .` in a checkout, which "
                             "maps it to the folder cases/).") from None


def catalogue_dir() -> Path:
    """The folder of the catalogue on disk (``cases/`` in a checkout, ``wellposed/cases/`` once installed), for
    the readers that take a directory (``wellposed batch DIR``).

    >>> sorted(p.name for p in catalogue_dir().glob("lu-*.json"))[:2]
    ['lu-2-with-empty.json', 'lu-2.json']
    """
    root = _root()
    if not isinstance(root, Path):
        raise WellposedError(f"the case catalogue is installed inside an archive ({root!r}), not as a folder; "
                             "read its cases with case:NAME, or install wellposed as a regular (unzipped) package.")
    return root


@lru_cache(maxsize=1)
def _files() -> dict[str, Traversable]:
    """Case name → its ``.json`` file, in file-name order, as a directory lists them (the catalogue does not
    change while we run)."""
    found = sorted((f for f in _root().iterdir() if f.name.endswith(".json") and f.is_file()), key=lambda f: f.name)
    return {f.name[: -len(".json")]: f for f in found}


def case_names() -> list[str]:
    """The names of the cases, in file-name order (``case:NAME`` reads one)."""
    return list(_files())


def _unknown(name: str, given: str, head: str) -> InvalidSpecError:
    """The error for a name that is no case: ``given`` is what the user wrote, ``head`` the opening clause
    (used when ``name`` is not empty); the close matches follow."""
    names = case_names()
    total = f"`wellposed cases` lists the {len(names)} cases"
    if not name:
        return InvalidSpecError(f"{given} names no case; write case:NAME such as case:lu-2 ({total}).")
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    if close:
        return InvalidSpecError(f"{head}; close matches: {', '.join(close)} ({total}).")
    return InvalidSpecError(f"{head}; no case has a similar name ({total}).")


def case_file(name: str, *, parameter: str = "name") -> Traversable:
    """The ``.json`` file of case ``name`` (a :class:`~importlib.resources.abc.Traversable`; in a checkout and
    in an installed wheel it is a file on disk). Names are case-insensitive.

    Raises
    ------
    InvalidSpecError
        ``name`` is not a case; the message names ``parameter`` and lists the close matches.
    """
    key = name.strip().lower()
    files = _files()
    if key not in files:
        raise _unknown(key, f"{parameter} = {name!r}", f"{parameter} = {name!r} is not a case of the catalogue")
    return files[key]


def load_case(name: str, *, parameter: str = "name") -> SupportPattern:
    """The pattern of case ``name``, with its description, source and expected verdicts."""
    from .io.patterns import case_from_bytes

    f = case_file(name, parameter=parameter)
    stem = f.name[: -len(".json")]
    return case_from_bytes(f.read_bytes(), f"{CASE_PREFIX}{stem}", stem)


def load_cases() -> list[SupportPattern]:
    """Every case of the catalogue, in file-name order."""
    return [load_case(name) for name in case_names()]


def read_case_spec(spec: str) -> SupportPattern:
    """The pattern a ``case:NAME`` spec names (the reader of the ``case:`` row of the input formats).

    Raises
    ------
    InvalidSpecError
        ``spec`` does not start with ``case:``, or names no case (the message lists the close matches).
    """
    if not isinstance(spec, str) or not spec.strip().lower().startswith(CASE_PREFIX):
        raise InvalidSpecError(f"spec = {spec!r} is not a case spec; write case:NAME such as case:lu-2.")
    name = spec.strip()[len(CASE_PREFIX):].strip().lower()
    if name not in _files():
        raise _unknown(name, repr(spec), f"unknown case {name!r} in {spec!r}")
    return load_case(name)


def census_names() -> list[str]:
    """The file names of the census results shipped with the catalogue (``cases/census/``), in name order.

    >>> census_names()
    ['closedness-m3n3r3.jsonl', 'closedness-m4n4r3.jsonl']
    """
    folder = _root().joinpath(_CENSUS)
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(".jsonl") and f.is_file())


def census_file(name: str) -> Traversable:
    """The census file ``name`` (one of :func:`census_names`)."""
    names = census_names()
    if name not in names:
        raise InvalidSpecError(f"census = {name!r} is not a census file of the catalogue; use one of "
                               f"{', '.join(names)}.")
    return _root().joinpath(_CENSUS, name)
