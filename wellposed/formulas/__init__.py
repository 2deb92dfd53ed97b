"""Closedness, membership and everything sentences of support patterns, and printers for QE tools."""

from .builder import (
    ALL_ENCODINGS,
    NO_ENCODINGS,
    Encoding,
    automorphisms,
    closedness_sentences,
    everything_sentence,
    iter_closedness_sentences,
    membership_sentence,
    spanning_forest,
    zero_patterns,
)
from .nodes import (
    FALSE,
    TRUE,
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
    atom,
    prenex,
)
from .printers import FORMATS, emit, render, to_mathematica, to_qepcad, to_redlog, to_smtlib

__all__ = [
    "ALL_ENCODINGS", "NO_ENCODINGS", "Encoding", "automorphisms", "closedness_sentences",
    "everything_sentence", "iter_closedness_sentences", "membership_sentence", "spanning_forest", "zero_patterns",
    "FALSE", "TRUE", "And", "Atom", "Const", "Exists", "ForAll", "Formula", "Implies", "Not", "Or",
    "Sentence", "UnsupportedNodeError", "atom", "prenex",
    "FORMATS", "emit", "render", "to_mathematica", "to_qepcad", "to_redlog", "to_smtlib",
]
