"""z3 through its Python API: the exact queries of :mod:`wellposed.formulas.queries` under counted budgets.

Beside the QE tools of the registry (which read printed sentences in a subprocess), the closedness engine
asks z3 many small quantifier-free questions in process, and a few quantified ones in a fresh z3 process:

* :func:`check` — a quantifier-free query in a fresh ``z3.Context`` (so that nothing of earlier queries,
  term numbering or caches, can change its course) under ``rlimit`` resource units: z3 counts its own
  elementary steps and answers ``unknown`` at the same point on every machine. It runs the nlsat
  configurations of :data:`NLSAT_STAGES` one after the other, each cut after a number of resource units
  (z3's own QF_NRA strategy cuts them after a number of *seconds*, so that the units it spends, and the
  configuration that gets to answer within a budget, depend on the machine's speed and load);
* :func:`decide_in_subprocess` — a quantified query printed by z3 itself and decided by a fresh z3
  process (:class:`~wellposed.backends.z3_backend.Z3Backend`) bounded by ``rlimit`` units and a number of
  memory allocations (polynomial arithmetic can run long between two resource steps, never without
  allocating; only a fresh process counts its allocations from zero);
* :func:`check_smtlib` — the assertions of an SMT-LIB script written by someone else (the certificate
  verifier's own encoding, kept independent of :mod:`wellposed.formulas` on purpose).

Queries are turned into z3 terms one for one and in order (variables first, then each assertion; never in
an order that Python's string hashing could change), so the terms z3 builds, their numbering and the units
spent are a function of the query. Answers
are :class:`~wellposed.backends.answer.Answer` members: ``TRUE`` (sat), ``FALSE`` (unsat), ``UNKNOWN``
(budget spent), ``RESOURCE_OUT`` and ``TIMEOUT`` (only when the caller's wall-clock ``timeout`` fired).
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .. import validate
from ..errors import InvalidSpecError
from ..formulas.queries import (
    Add,
    And,
    Const,
    Eq,
    Exists,
    ForAll,
    Formula,
    Int,
    Mul,
    Not,
    Num,
    Or,
    Query,
    Ref,
    Term,
    Var,
)
from .answer import Answer

if TYPE_CHECKING:  # pragma: no cover
    from .base import Decision

__all__ = ["Check", "NLSAT_STAGES", "available", "version", "check", "check_smtlib", "decide_in_subprocess", "to_smt2",
           "smt_word"]

#: The stages of an in-process quantifier-free check: (nlsat parameters, resource units), run in this order, each
#: on the query afresh, the last one with what is left of the budget. These are the nlsat configurations of
#: z3's own QF_NRA strategy (tactic ``qfnra``, what ``SolverFor("QF_NRA")`` runs), in its order, for the goal
#: sizes met here ("small": z3 holds 30-80 MB), with each of its wall-clock cuts of t seconds replaced by t·10⁶
#: resource units (z3 spends 0.3–2·10⁶ a second on these queries); its local-search, SMT-core and shuffled-seed
#: stages are left out (one of them is timed inside z3). A budget of at most 2·10⁷ units is spent on the first
#: stage alone. Each stage is a pure function of the query and its units, so the whole check is too.
NLSAT_STAGES: tuple[tuple[tuple[tuple[str, bool | int], ...], int], ...] = (
    ((("simple_check", True),), 20_000_000),
    ((), 5_000_000),
    ((("variable_ordering_strategy", 4),), 5_000_000),
    ((("variable_ordering_strategy", 3),), 10_000_000),
    ((("variable_ordering_strategy", 1),), 15_000_000),
    ((("variable_ordering_strategy", 5),), 15_000_000),
    ((("variable_ordering_strategy", 2),), 20_000_000),
    ((), 0),  # 0: the rest of the budget
)


@dataclass(frozen=True)
class Check:
    """z3's answer to a query, the resource units it spent and, when asked for and satisfiable, a model
    (variable name → exact value, None for an irrational algebraic value)."""

    answer: Answer
    units: int = 0
    model: dict[str, Fraction | None] | None = None


def available() -> bool:
    """Whether the z3 Python package is installed (cheap: nothing is imported)."""
    return importlib.util.find_spec("z3") is not None


def version() -> str:
    """The version of the z3 Python package (imports it)."""
    import z3

    return str(z3.get_version_string())


def smt_word(answer: Answer) -> str:
    """``"sat"``, ``"unsat"`` or ``"unknown"``: an answer in SMT-LIB's words (reasons and notes use them).

    >>> smt_word(Answer.FALSE), smt_word(Answer.RESOURCE_OUT)
    ('unsat', 'unknown')
    """
    return {Answer.TRUE: "sat", Answer.FALSE: "unsat"}.get(answer, "unknown")


class _Translator:
    """Query → z3 terms in a given context: the prelude's definitions are built in order and kept, variables
    are kept, every other node is built where it occurs (z3 shares equal terms) and dropped once used — the
    query, not this translator, decides which terms exist and in which order they are created."""

    def __init__(self, z3: Any, ctx: Any) -> None:
        self.z3, self.ctx = z3, ctx
        self.vars: dict[str, Any] = {}
        self.defined: dict[str, Any] = {}

    def define(self, name: str, node: Term | Formula) -> None:
        self.defined[name] = self.node(node)

    def operand(self, t: Term) -> Any:
        """An operand of ``*`` or the right side of ``=``: an :class:`Int` stays a Python int, which z3 coerces
        (``x == 0`` and ``0 == x`` are different z3 terms, as are ``2 * x`` and ``x * 2``)."""
        return t.value if isinstance(t, Int) else self.node(t)

    def node(self, f: Term | Formula) -> Any:
        z3, ctx = self.z3, self.ctx
        if isinstance(f, Var):
            if f.name not in self.vars:
                self.vars[f.name] = z3.Real(f.name, ctx)
            return self.vars[f.name]
        if isinstance(f, Ref):
            if f.name not in self.defined:
                raise KeyError(f"the query refers to {f.name!r}, which its prelude does not define before")
            return self.defined[f.name]
        if isinstance(f, Num):
            return z3.Q(f.value.numerator, f.value.denominator, ctx)
        if isinstance(f, Int):
            return z3.RealVal(f.value, ctx)
        if isinstance(f, Add):
            return z3.Sum([self.node(a) for a in f.args])
        if isinstance(f, Mul):
            acc = self.operand(f.args[0])
            for a in f.args[1:]:
                acc = acc * self.operand(a)
            return acc
        if isinstance(f, Eq):
            return self.node(f.lhs) == self.operand(f.rhs)
        if isinstance(f, Const):
            return z3.BoolVal(f.value, ctx)
        if isinstance(f, And):
            return z3.And(*[self.node(a) for a in f.args], ctx)
        if isinstance(f, Or):
            return z3.Or(*[self.node(a) for a in f.args], ctx)
        if isinstance(f, Not):
            return z3.Not(self.node(f.arg))
        if isinstance(f, (Exists, ForAll)):
            return (z3.Exists if isinstance(f, Exists) else z3.ForAll)([self.node(v) for v in f.vars],
                                                                        self.node(f.body))
        raise TypeError(f"unknown query node {f!r} (type {type(f).__name__}); the z3 translation knows the nodes of "
                        "wellposed.formulas.queries only")


def _solver(query: Query, make: Callable[[Any], Any] | None = None) -> tuple[Any, Any, _Translator]:
    """A fresh context and a solver holding the query: its prelude and variables built in order, then the solver
    (``make(ctx)``; default: z3's solver for the query's logic), then each assertion built and added in order
    (z3 numbers terms as they are created, and the numbering can steer its search)."""
    import z3

    ctx = z3.Context()
    tr = _Translator(z3, ctx)
    for name, node in query.prelude:
        tr.define(name, node)
    for v in query.variables:
        tr.node(v)
    if make is not None:
        solver = make(ctx)
    else:
        solver = z3.SolverFor(query.logic, ctx=ctx) if query.logic else z3.Solver(ctx=ctx)
    for f in query.assertions:
        solver.add(tr.node(f))
    return solver, ctx, tr


class _Stage:
    """One stage of :data:`NLSAT_STAGES` in a context, built as z3's ``SolverFor("QF_NRA")`` is built, with its
    strategy replaced by one nlsat configuration: every assertion goes to z3's incremental SMT core (which
    rewrites it on arrival, creating terms and spending units; z3 numbers terms as they are created, and the
    numbering steers nlsat) and to the tactic that decides it (``simplify``, ``propagate-values``, then
    ``qfnra-nlsat`` with ``params``). So a query answered within the first stage spends the units, and gets
    the answer and model, that ``SolverFor("QF_NRA")`` gives it when its first nlsat run is not cut by the
    clock."""

    def __init__(self, ctx: Any, params: tuple[tuple[str, bool | int], ...]) -> None:
        import z3

        nlsat = z3.Tactic("qfnra-nlsat", ctx)
        if params:
            nlsat = z3.With(nlsat, **dict(params))
        # as in z3's strategy, nlsat runs inside or-else (on a copy of the goal) and must decide it
        attempt = z3.OrElse(z3.Then(nlsat, z3.Tactic("fail-if-undecided", ctx), ctx=ctx), z3.Tactic("fail", ctx),
                            ctx=ctx)
        self.solver = z3.Then(z3.Tactic("simplify", ctx), z3.Tactic("propagate-values", ctx), attempt,
                              ctx=ctx).solver()
        self.core = z3.SimpleSolver(ctx=ctx)

    def add(self, f: Any) -> None:
        self.solver.add(f)
        self.core.add(f)

    def from_string(self, text: str) -> None:
        self.solver.from_string(text)
        self.core.from_string(text)


def _run(solver: Any, rlimit: int, timeout: float | None) -> tuple[Answer, int]:
    import z3

    solver.set("rlimit", int(rlimit))
    if timeout is not None:
        solver.set("timeout", max(1, int(timeout * 1000)))
    result = solver.check()
    stats = solver.statistics()
    units = int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0
    if result == z3.sat:
        return Answer.TRUE, units
    if result == z3.unsat:
        return Answer.FALSE, units
    reason = solver.reason_unknown()
    if timeout is not None and ("timeout" in reason or "canceled" in reason):
        return Answer.TIMEOUT, units
    return Answer.UNKNOWN, units


def _staged(load: Callable[[Callable[[Any], Any]], tuple[Any, Any]], rlimit: int,
            timeout: float | None) -> tuple[Answer, int, Any]:
    """Run the stages of :data:`NLSAT_STAGES` until one answers or ``rlimit`` units are spent. For each stage,
    ``load(make)`` returns ``(stage, kept)``: a fresh context's :class:`_Stage`, made by ``make(ctx)``, holding
    the question. Each stage's check is capped at its share of the units; the count includes the few units
    (about 10²) the SMT core spends on the assertions before it, as z3's own count does. Return the answer, the
    units spent by all stages and the last stage's ``(solver, kept)``."""
    rlimit = validate.integer(rlimit, "rlimit", low=1, high=2**32 - 1, hint="z3 resource units")
    deadline = None if timeout is None else time.monotonic() + timeout
    spent = 0
    for params, units in NLSAT_STAGES:
        share = rlimit - spent if units == 0 else min(units, rlimit - spent)
        stage, kept = load(functools.partial(_Stage, params=params))
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        answer, used = _run(stage.solver, share, left)
        spent += used
        if answer is not Answer.UNKNOWN or spent >= rlimit:
            return answer, spent, (stage.solver, kept)
    return Answer.UNKNOWN, spent, None


def _rational(value: Any) -> Fraction | None:
    import z3

    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    return None


def check(query: Query, rlimit: int, *, timeout: float | None = None, model: bool = False) -> Check:
    """Decide a quantifier-free ``query`` in process under ``rlimit`` resource units, by the stages of
    :data:`NLSAT_STAGES` (each in a fresh context; ``units`` is their sum).

    ``timeout`` (seconds, None: none) is only the caller's wall-clock safety cap: z3 stopped by it answers
    ``TIMEOUT``. With ``model=True`` a satisfiable query also returns the values of its variables. A
    contradictory query (an assertion FALSE) is answered ``FALSE`` without z3.

    Examples
    --------
    >>> from wellposed.formulas.queries import membership_query
    >>> from wellposed.families import family
    >>> check(membership_query(family("lu:2"), {(0, 1): Fraction(1), (1, 0): Fraction(1)}), 10**6).answer
    <Answer.FALSE: 'false'>
    """
    if query.logic != "QF_NRA":
        raise InvalidSpecError(f"query {query.name!r} has logic {query.logic!r}: check() decides quantifier-free "
                               "QF_NRA queries only; decide a quantified one with decide_in_subprocess().")
    if query.contradictory:
        return Check(Answer.FALSE)

    def load(make: Callable[[Any], Any]) -> tuple[Any, _Translator]:
        stage, _, tr = _solver(query, make)
        return stage, tr

    answer, units, answered = _staged(load, rlimit, timeout)
    values = None
    if model and answer is Answer.TRUE:
        solver, tr = answered
        m = solver.model()
        values = {name: _rational(m.eval(var, model_completion=True)) for name, var in tr.vars.items()}
    return Check(answer, units, values)


def check_smtlib(text: str, rlimit: int, *, timeout: float | None = None) -> Check:
    """Decide the assertions of an SMT-LIB 2 script (quantifier-free nonlinear real arithmetic) in process
    (its ``(check-sat)`` is dropped: the check runs under ``rlimit`` resource units), by the stages of
    :data:`NLSAT_STAGES` (each in a fresh context).

    >>> check_smtlib("(declare-const x Real)(assert (= (* x x) 2.0))(check-sat)", 10**6).answer
    <Answer.TRUE: 'true'>
    """
    import z3

    script = text.replace("(check-sat)", "")

    def load(make: Callable[[Any], Any]) -> tuple[Any, None]:
        stage = make(z3.Context())
        stage.from_string(script)
        return stage, None

    answer, units, _ = _staged(load, rlimit, timeout)
    return Check(answer, units)


def to_smt2(query: Query) -> str:
    """The SMT-LIB 2 script z3 prints for ``query`` (declarations, assertions, ``(check-sat)``)."""
    solver, _, _ = _solver(query)
    return str(solver.to_smt2())


def decide_in_subprocess(query: Query, rlimit: int, allocations: int, *, timeout: float | None = None) -> Decision:
    """Decide ``query`` (quantified) in a fresh z3 process bounded by ``rlimit`` resource units and
    ``allocations`` memory allocations (both counts); ``timeout`` is the caller's wall-clock cap.

    Examples
    --------
    >>> from wellposed.formulas.queries import determinantal_query
    >>> from wellposed.families import family
    >>> decide_in_subprocess(determinantal_query(family("diag:2"), None), 10**7, 10**7).answer
    <Answer.FALSE: 'false'>
    """
    from .z3_backend import Z3Backend

    return Z3Backend(rlimit=int(rlimit), allocations=int(allocations)).decide_text(to_smt2(query), query.name,
                                                                                   timeout)
