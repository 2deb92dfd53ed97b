"""The connectives shared by both formula languages of :mod:`wellposed.formulas`: constants, ∧, ∨, ¬, ∃, ∀.

The closedness sentences (:mod:`~wellposed.formulas.nodes`, atoms over sympy polynomials, printed for QE
tools) and the exact queries (:mod:`~wellposed.formulas.queries`, ordered terms handed to a solver's API)
combine their atoms with these same classes; they are generic in the formulas they combine. This module
imports nothing heavy, so the queries stay free of sympy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..errors import WellposedError

__all__ = ["UnsupportedNodeError", "Const", "TRUE", "FALSE", "And", "Or", "Not", "Exists", "ForAll"]

F = TypeVar("F", covariant=True)  # frozen: an And of Eq is an And of formulas
V = TypeVar("V", covariant=True)  # the variables of a quantifier block (sympy Symbols, or query Vars)


class UnsupportedNodeError(WellposedError, TypeError):
    """A formula contains a node (or polynomial term) that a printer or the builder does not know."""


@dataclass(frozen=True)
class Const:
    """The constant formula TRUE or FALSE."""

    value: bool


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class And(Generic[F]):
    """Conjunction of formulas, in order."""

    args: tuple[F, ...]


@dataclass(frozen=True)
class Or(Generic[F]):
    """Disjunction of formulas, in order."""

    args: tuple[F, ...]


@dataclass(frozen=True)
class Not(Generic[F]):
    """Negation."""

    arg: F


def _check_block(variables: Any, kind: str) -> None:
    if not isinstance(variables, tuple) or not variables:
        raise UnsupportedNodeError(f"{kind}.vars = {variables!r} must be a non-empty tuple of variables.")
    if any(isinstance(v, str) or not isinstance(getattr(v, "name", None), str) for v in variables):
        raise UnsupportedNodeError(f"{kind}.vars = {variables!r} must contain variables only (sympy Symbols, or "
                                   "Vars of a query), not names.")
    if len(set(variables)) != len(variables):
        raise UnsupportedNodeError(f"{kind}.vars = {variables!r} repeats a variable.")


@dataclass(frozen=True)
class Exists(Generic[V, F]):
    """``∃ vars: body`` (a block of real variables)."""

    vars: tuple[V, ...]
    body: F

    def __post_init__(self) -> None:
        _check_block(self.vars, "Exists")


@dataclass(frozen=True)
class ForAll(Generic[V, F]):
    """``∀ vars: body`` (a block of real variables)."""

    vars: tuple[V, ...]
    body: F

    def __post_init__(self) -> None:
        _check_block(self.vars, "ForAll")
