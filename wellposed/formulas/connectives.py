"""The connectives shared by both formula languages of :mod:`wellposed.formulas`: constants, ∧, ∨, ¬.

The closedness sentences (:mod:`~wellposed.formulas.nodes`, atoms over sympy polynomials, printed for QE
tools) and the exact queries (:mod:`~wellposed.formulas.queries`, ordered terms handed to a solver's API)
combine their atoms with these same classes; they are generic in the formulas they combine. This module
imports nothing heavy, so the queries stay free of sympy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Const", "TRUE", "FALSE", "And", "Or", "Not"]

F = TypeVar("F", covariant=True)  # frozen: an And of Eq is an And of formulas


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
