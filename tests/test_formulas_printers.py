"""Golden-file tests of the SMT-LIB, QEPCAD B, Mathematica and Redlog printers, and refusal of unknown nodes.

Regenerate the golden files with ``WELLPOSED_UPDATE_GOLDEN=1 pytest tests/test_formulas_printers.py``
after an intended change, and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import sympy

from wellposed.errors import InvalidSpecError
from wellposed.families import family
from wellposed.formulas import (
    FORMATS,
    NO_ENCODINGS,
    And,
    Encoding,
    Exists,
    Sentence,
    UnsupportedNodeError,
    atom,
    closedness_sentences,
    emit,
    everything_sentence,
    membership_sentence,
    render,
    to_qepcad,
    to_smtlib,
)

GOLDEN = Path(__file__).parent / "golden" / "formulas"
SUFFIX = {"smtlib": "smt2", "qepcad": "qepcad", "mathematica": "m", "redlog": "red"}


def _sentences() -> dict[str, Sentence]:
    lu = {s.info["zero_pattern"] == [[0, 1], [1, 0]]: s for s in closedness_sentences(family("lu:2"))}[True]
    return {
        "lu2_witness_pattern": lu,
        "full121_unencoded": closedness_sentences(family("full:1,2,1"), NO_ENCODINGS)[0],
        "full121_sumsq": closedness_sentences(family("full:1,2,1"), Encoding(box=False, zero_patterns=False))[0],
        "diag2_everything": everything_sentence(family("diag:2")),
        "lu2_membership_rational": membership_sentence(family("lu:2"), [["1/3", 0], [-2, "5/2"]]),
    }


CASES = [(name, fmt) for name in _sentences() for fmt in FORMATS]


def _check_golden(path: Path, text: str) -> None:
    if os.environ.get("WELLPOSED_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with WELLPOSED_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name,fmt", CASES)
def test_printer_matches_golden_file(name, fmt):
    _check_golden(GOLDEN / f"{name}.{SUFFIX[fmt]}", render(_sentences()[name], fmt))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_emit_matches_golden_file(fmt):
    _check_golden(GOLDEN / f"emit_lu2.{SUFFIX[fmt]}", emit(family("lu:2"), fmt))


@dataclass(frozen=True)
class Mystery:
    """A node no printer knows."""

    payload: str = "?"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_printers_refuse_unknown_nodes(fmt):
    x = sympy.Symbol("x")
    body = And((atom(x, ">"), Mystery()))  # type: ignore[arg-type]
    with pytest.raises(UnsupportedNodeError, match="Mystery"):
        Sentence(Exists((x,), body), "membership", "bad", "")  # the free-variable walk already refuses
    sentence = object.__new__(Sentence)
    object.__setattr__(sentence, "formula", Exists((x,), body))
    object.__setattr__(sentence, "kind", "membership")
    object.__setattr__(sentence, "name", "bad")
    object.__setattr__(sentence, "meaning", "")
    object.__setattr__(sentence, "info", {})
    with pytest.raises(UnsupportedNodeError, match="Mystery"):
        render(sentence, fmt)
    with pytest.raises(UnsupportedNodeError):
        render("not a sentence", fmt)  # type: ignore[arg-type]


def test_render_and_emit_reject_unknown_formats():
    s = everything_sentence(family("diag:2"))
    with pytest.raises(InvalidSpecError, match="fmt"):
        render(s, "latex")
    with pytest.raises(InvalidSpecError, match="fmt"):
        emit(family("diag:2"), "smt")


def test_printer_options_are_validated():
    s = everything_sentence(family("diag:2"))
    with pytest.raises(InvalidSpecError, match="tactic"):
        to_smtlib(s, tactic="nlqsat) (exit")
    with pytest.raises(InvalidSpecError, match="commands"):
        to_qepcad(s, commands=("finish\ngo",))
    constant = membership_sentence(family("diag:2"), [[0, 1], [0, 0]])
    with pytest.raises(UnsupportedNodeError, match="no variable"):
        to_qepcad(constant)
    assert "(assert false)" in to_smtlib(constant)


def test_qepcad_variable_order_is_the_prefix_order():
    s = _sentences()["lu2_witness_pattern"]
    lines = to_qepcad(s).splitlines()
    variables = lines[1].strip("()").split(",")
    quantified = [tok.split(")")[0].split()[1] for tok in lines[3].split("(")[1:] if tok[:2] in ("E ", "A ")]
    assert variables == quantified
    assert lines[2] == "0" and lines[-1] == "finish"
