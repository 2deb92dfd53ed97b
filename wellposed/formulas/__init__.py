"""Sentences and queries about support patterns: closedness, membership and everything sentences (sympy, for
QE tools, with printers), and the exact ordered queries answered in process (:mod:`.queries`).

Names are imported lazily (on first attribute access): importing :mod:`wellposed.formulas.queries` does not
import sympy.
"""

from __future__ import annotations

from wellposed._lazy import lazy_exports

__all__ = [
    "ALL_ENCODINGS", "EVERYTHING_ENCODING", "NO_ENCODINGS", "Encoding", "automorphisms", "closedness_sentences",
    "everything_sentence", "everything_sentences", "iter_closedness_sentences", "iter_everything_sentences",
    "membership_sentence", "spanning_forest", "zero_patterns", "sign_patterns", "stabilizer",
    "column_space_formula", "membership_formula",
    "FALSE", "TRUE", "And", "Atom", "Const", "Exists", "ForAll", "Formula", "Implies", "Not", "Or",
    "Sentence", "UnsupportedNodeError", "atom", "prenex",
    "FORMAT_NAMES", "FORMATS", "emit", "render", "to_mathematica", "to_qepcad", "to_redlog", "to_smtlib",
]

#: The text formats the sentences are printed in (``wellposed closedness --emit``), in the order of
#: :data:`~wellposed.formulas.printers.FORMATS`, which maps each to its printer.
FORMAT_NAMES = ("smtlib", "qepcad", "mathematica", "redlog")

_WHERE = {
    **dict.fromkeys(["ALL_ENCODINGS", "EVERYTHING_ENCODING", "NO_ENCODINGS", "Encoding", "closedness_sentences",
                     "everything_sentence", "everything_sentences", "iter_closedness_sentences",
                     "iter_everything_sentences", "membership_sentence"], "builder"),
    **dict.fromkeys(["automorphisms", "spanning_forest", "zero_patterns", "sign_patterns", "stabilizer"], "symmetry"),
    **dict.fromkeys(["column_space_formula", "membership_formula"], "elimination"),
    **dict.fromkeys(["FALSE", "TRUE", "And", "Atom", "Const", "Exists", "ForAll", "Formula", "Implies", "Not", "Or",
                     "Sentence", "UnsupportedNodeError", "atom", "prenex"], "nodes"),
    **dict.fromkeys(["FORMATS", "emit", "render", "to_mathematica", "to_qepcad", "to_redlog", "to_smtlib"],
                    "printers"),
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
