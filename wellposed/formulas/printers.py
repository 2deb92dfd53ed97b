"""Printers of sentences for external QE tools: SMT-LIB 2 (z3), QEPCAD B, Mathematica Resolve, Redlog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy

from ..errors import InvalidSpecError
from . import FORMAT_NAMES
from .builder import ALL_ENCODINGS, Encoding, closedness_sentences
from .nodes import (
    And,
    Atom,
    Const,
    Exists,
    ForAll,
    Formula,
    Implies,
    Not,
    Or,
    Sentence,
    UnsupportedNodeError,
    integer_terms,
    prenex,
)

__all__ = [
    "FORMATS",
    "to_smtlib",
    "to_qepcad",
    "to_mathematica",
    "to_redlog",
    "render",
    "emit",
]


def _refuse(node: Any, printer: str) -> UnsupportedNodeError:
    return UnsupportedNodeError(
        f"the {printer} printer does not know the node {node!r} (type {type(node).__name__}); it prints "
        "Atom, Const, And, Or, Not, Implies, Exists and ForAll only."
    )


def _check_sentence(sentence: Any, printer: str) -> Sentence:
    if not isinstance(sentence, Sentence):
        raise _refuse(sentence, printer)
    return sentence


def _monomial(
    powers: tuple[tuple[sympy.Symbol, int], ...], times: str, power: Callable[[str, int], str]
) -> str:
    return times.join(s.name if e == 1 else power(s.name, e) for s, e in powers)


# ------------------------------------------------------------------------------------------ SMT-LIB 2
def _smt_num(c: int) -> str:
    return f"{c}.0" if c >= 0 else f"(- {-c}.0)"


def _smt_poly(a: Atom) -> str:
    terms = []
    for c, powers in integer_terms(a):
        factors = [s.name for s, e in powers for _ in range(e)]
        if not factors:
            terms.append(_smt_num(c))
        elif c == 1 and len(factors) == 1:
            terms.append(factors[0])
        else:
            head = [] if c == 1 else [_smt_num(c)]
            terms.append("(* " + " ".join(head + factors) + ")")
    if not terms:
        return "0.0"
    return terms[0] if len(terms) == 1 else "(+ " + " ".join(terms) + ")"


_SMT_REL = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _smt(f: Formula) -> str:
    if isinstance(f, Atom):
        if f.rel == "!=":
            return f"(not (= {_smt_poly(f)} 0.0))"
        return f"({_SMT_REL[f.rel]} {_smt_poly(f)} 0.0)"
    if isinstance(f, Const):
        return "true" if f.value else "false"
    if isinstance(f, And):
        return "(and " + " ".join(_smt(a) for a in f.args) + ")"
    if isinstance(f, Or):
        return "(or " + " ".join(_smt(a) for a in f.args) + ")"
    if isinstance(f, Not):
        return f"(not {_smt(f.arg)})"
    if isinstance(f, Implies):
        return f"(=> {_smt(f.lhs)} {_smt(f.rhs)})"
    if isinstance(f, (Exists, ForAll)):
        q = "exists" if isinstance(f, Exists) else "forall"
        decls = " ".join(f"({v.name} Real)" for v in f.vars)
        return f"({q} ({decls}) {_smt(f.body)})"
    raise _refuse(f, "SMT-LIB")


def to_smtlib(sentence: Sentence, tactic: str = "nlqsat", declare_outer: bool = True) -> str:
    """SMT-LIB 2 script deciding ``sentence``: ``sat`` means true, ``unsat`` false.

    The outermost existential block becomes constant declarations (free constants of an assertion
    are existential), the rest is printed with ``exists``/``forall``; the script ends with
    ``(check-sat-using TACTIC)`` (z3 extension; ``nlqsat`` decides quantified nonlinear real
    arithmetic).

    Examples
    --------
    >>> from wellposed.formulas.builder import membership_sentence
    >>> from wellposed.families import family
    >>> print(to_smtlib(membership_sentence(family("full:1,1,1"), [[2]])))
    ; membership: A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P)
    (declare-const x11 Real)
    (declare-const y11 Real)
    (assert (= (+ (* x11 y11) (- 2.0)) 0.0))
    (check-sat-using nlqsat)
    """
    s = _check_sentence(sentence, "SMT-LIB")
    if not isinstance(tactic, str) or not tactic.replace("-", "").replace("_", "").isalnum():
        raise InvalidSpecError(f"tactic = {tactic!r} must be a z3 tactic name such as 'nlqsat'.")
    lines = [f"; {s.name}: {s.meaning}"]
    body = s.formula
    if declare_outer and isinstance(body, Exists):
        lines.extend(f"(declare-const {v.name} Real)" for v in body.vars)
        body = body.body
    lines.append(f"(assert {_smt(body)})")
    lines.append(f"(check-sat-using {tactic})")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ QEPCAD B
def _infix_poly(a: Atom, times: str) -> str:
    """``a``'s polynomial with integer coefficients, ``^`` powers and ``times`` between factors."""
    out = ""
    for c, powers in integer_terms(a):
        mono = _monomial(powers, times, lambda name, e: f"{name}^{e}")
        mag = abs(c)
        text = mono if (mag == 1 and mono) else (f"{mag}{times}{mono}" if mono else str(mag))
        if not out:
            out = ("-" if c < 0 else "") + text
        else:
            out += (" - " if c < 0 else " + ") + text
    return out or "0"


def _qepcad_poly(a: Atom) -> str:
    return _infix_poly(a, " ")


_QEPCAD_REL = {"=": "=", "!=": "/=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _qepcad(f: Formula) -> str:
    if isinstance(f, Atom):
        return f"[{_qepcad_poly(f)} {_QEPCAD_REL[f.rel]} 0]"
    if isinstance(f, Const):
        return "[0 = 0]" if f.value else "[1 = 0]"
    if isinstance(f, And):
        return "[" + r" /\ ".join(_qepcad(a) for a in f.args) + "]"
    if isinstance(f, Or):
        return "[" + r" \/ ".join(_qepcad(a) for a in f.args) + "]"
    if isinstance(f, Not):
        return f"[~{_qepcad(f.arg)}]"
    if isinstance(f, Implies):
        return f"[{_qepcad(f.lhs)} ==> {_qepcad(f.rhs)}]"
    raise _refuse(f, "QEPCAD B (matrix of a prenex formula)")


def to_qepcad(sentence: Sentence, commands: tuple[str, ...] = ("finish",)) -> str:
    """QEPCAD B input (read on stdin) for the prenex form of ``sentence``; answer TRUE or FALSE.

    Lines: ``[description]``, the variable list (quantified variables in prefix order), ``0`` free
    variables, the prenex formula with one ``(E v)``/``(A v)`` per variable and a fully bracketed
    matrix, then ``commands`` (``finish`` prints the equivalent quantifier-free formula and exits).

    Examples
    --------
    >>> from wellposed.formulas.builder import membership_sentence
    >>> from wellposed.families import family
    >>> print(to_qepcad(membership_sentence(family("full:1,1,1"), [[2]])))
    [membership]
    (x11,y11)
    0
    (E x11)(E y11)[x11 y11 - 2 = 0].
    finish
    """
    s = _check_sentence(sentence, "QEPCAD B")
    for c in commands:
        if not isinstance(c, str) or "\n" in c:
            raise InvalidSpecError(f"commands contains {c!r}; give one QEPCAD command per string.")
    prefix, matrix = prenex(s.formula)
    variables = [v for _, vs in prefix for v in vs]
    quants = "".join(f"({q} {v.name})" for q, vs in prefix for v in vs)
    description = s.name.replace("[", "(").replace("]", ")")
    if not variables:
        raise UnsupportedNodeError(
            f"sentence {s.name!r} has no variable (formula {s.formula!r}); QEPCAD needs at least one: "
            "constant sentences are decided without a backend."
        )
    lines = [f"[{description}]", "(" + ",".join(v.name for v in variables) + ")", "0",
             f"{quants}{_qepcad(matrix)}.", *commands]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ Mathematica
@dataclass(frozen=True)
class _InfixSyntax:
    """Tokens of a Mathematica-like infix syntax (both Mathematica and Redlog fit this shape)."""

    tool: str
    rel: dict[str, str]
    true: str
    false: str
    and_: str
    or_: str
    not_: str  # format with {0}
    implies: str  # format with {0}, {1}
    exists: str
    forall: str
    quantifier: str  # format with {q}, {vars}, {body}


def _infix(f: Formula, syn: _InfixSyntax) -> str:
    if isinstance(f, Atom):
        return f"{_infix_poly(f, '*')} {syn.rel[f.rel]} 0"
    if isinstance(f, Const):
        return syn.true if f.value else syn.false
    if isinstance(f, And):
        return "(" + syn.and_.join(_infix(a, syn) for a in f.args) + ")"
    if isinstance(f, Or):
        return "(" + syn.or_.join(_infix(a, syn) for a in f.args) + ")"
    if isinstance(f, Not):
        return syn.not_.format(_infix(f.arg, syn))
    if isinstance(f, Implies):
        return syn.implies.format(_infix(f.lhs, syn), _infix(f.rhs, syn))
    if isinstance(f, (Exists, ForAll)):
        q = syn.exists if isinstance(f, Exists) else syn.forall
        return syn.quantifier.format(q=q, vars=", ".join(v.name for v in f.vars), body=_infix(f.body, syn))
    raise _refuse(f, syn.tool)


_MMA = _InfixSyntax(
    tool="Mathematica", rel={"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="},
    true="True", false="False", and_=" && ", or_=" || ", not_="!({0})", implies="Implies[{0}, {1}]",
    exists="Exists", forall="ForAll", quantifier="{q}[{{{vars}}}, {body}]",
)
_REDLOG = _InfixSyntax(
    tool="Redlog", rel={"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="},
    true="true", false="false", and_=" and ", or_=" or ", not_="not({0})", implies="({0} impl {1})",
    exists="ex", forall="all", quantifier="{q}({{{vars}}}, {body})",
)


def to_mathematica(sentence: Sentence) -> str:
    """Mathematica ``Resolve[sentence, Reals]`` (evaluates to ``True`` or ``False``).

    Examples
    --------
    >>> from wellposed.formulas.builder import membership_sentence
    >>> from wellposed.families import family
    >>> print(to_mathematica(membership_sentence(family("full:1,1,1"), [[2]])))
    (* membership: A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P) *)
    Resolve[Exists[{x11, y11}, x11*y11 - 2 == 0], Reals]
    """
    s = _check_sentence(sentence, "Mathematica")
    return f"(* {s.name}: {s.meaning} *)\nResolve[{_infix(s.formula, _MMA)}, Reals]\n"


# ------------------------------------------------------------------------------------------ Redlog
def to_redlog(sentence: Sentence) -> str:
    """REDUCE/Redlog script: ``rlqe`` of the sentence in the ordered-field context (``true``/``false``).

    Examples
    --------
    >>> from wellposed.formulas.builder import membership_sentence
    >>> from wellposed.families import family
    >>> print(to_redlog(membership_sentence(family("full:1,1,1"), [[2]])))
    % membership: A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P)
    load_package redlog;
    rlset ofsf;
    phi := ex({x11, y11}, x11*y11 - 2 = 0);
    rlqe phi;
    """
    s = _check_sentence(sentence, "Redlog")
    return (f"% {s.name}: {s.meaning}\nload_package redlog;\nrlset ofsf;\n"
            f"phi := {_infix(s.formula, _REDLOG)};\nrlqe phi;\n")


# ------------------------------------------------------------------------------------------ dispatch
FORMATS: dict[str, Callable[[Sentence], str]] = dict(
    zip(FORMAT_NAMES, (to_smtlib, to_qepcad, to_mathematica, to_redlog), strict=True))


def render(sentence: Sentence, fmt: str) -> str:
    """Print one sentence in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise InvalidSpecError(f"fmt = {fmt!r} is not a known format; choose one of {sorted(FORMATS)}.")
    return FORMATS[fmt](sentence)


def emit(pattern: Any, fmt: str, encoding: Encoding = ALL_ENCODINGS) -> str:
    """All closedness sentences of ``pattern`` in format ``fmt``, ready to hand to the tool.

    ``P`` is closed iff every sentence is false. For ``smtlib`` the sentences are wrapped in
    ``(push 1)``/``(pop 1)`` in one script; for ``mathematica`` and ``redlog`` they are consecutive
    statements; for ``qepcad`` the text holds one complete QEPCAD input per sentence (each starts
    with its ``[description]`` line and ends with ``finish``: QEPCAD reads one per run).

    Examples
    --------
    >>> from wellposed.families import family
    >>> text = emit(family("lu:2"), "smtlib")
    >>> text.count("(check-sat-using nlqsat)") == text.count("(push 1)") == 11
    True
    """
    if fmt not in FORMATS:
        raise InvalidSpecError(f"fmt = {fmt!r} is not a known format; choose one of {sorted(FORMATS)}.")
    sentences = closedness_sentences(pattern, encoding)
    header = {
        "smtlib": "; ", "qepcad": None, "mathematica": "(* ", "redlog": "% ",
    }[fmt]
    blocks = []
    if header is not None:
        end = " *)" if fmt == "mathematica" else ""
        blocks.append(f"{header}{len(sentences)} sentence(s); P is closed iff every one is false "
                      f"(encodings: {encoding.label()}){end}\n")
    for s in sentences:
        if isinstance(s.formula, Const) and fmt == "qepcad":
            raise UnsupportedNodeError(
                f"sentence {s.name!r} is the constant {s.formula.value}; nothing to run."
            )
        text = render(s, fmt)
        blocks.append(f"(push 1)\n{text}(pop 1)\n" if fmt == "smtlib" else text)
    return "".join(blocks)
