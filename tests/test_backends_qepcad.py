"""QEPCAD B backend: known answers, and cross-checks against z3 sentence by sentence (never disagree)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from wellposed import SupportPattern
from wellposed.backends import Answer, decide_by_qe, everything_by_qe, member_by_qe
from wellposed.backends.qepcad_backend import QepcadBackend
from wellposed.backends.z3_backend import Z3Backend
from wellposed.families import family
from wellposed.formulas import closedness_sentences, everything_sentence, membership_sentence

pytestmark = pytest.mark.requires_qepcad


@pytest.mark.parametrize("name,expected", [
    ("lu:2", Answer.NOT_CLOSED),
    ("full:2,2,1", Answer.CLOSED),
    ("diag:2", Answer.CLOSED),
    ("full:1,3,1", Answer.CLOSED),
    ("full:1,2,2", Answer.CLOSED),
])
def test_qepcad_known_answers(name, expected):
    result = decide_by_qe(family(name), backend="qepcad", timeout=60.0)
    assert result.answer is expected, result.transcript[-3000:]
    assert all("An equivalent quantifier-free formula" in d.transcript for d in result.decisions)


@pytest.mark.slow
def test_qepcad_column_pattern():
    assert decide_by_qe(family("full:3,1,1"), backend="qepcad", timeout=120.0).answer is Answer.CLOSED


def test_qepcad_membership_and_everything():
    assert member_by_qe(family("lu:2"), [[0, 1], [1, 0]], backend="qepcad").value is False
    assert member_by_qe(family("lu:2"), [["1/2", 1], [1, 0]], backend="qepcad").value is True
    assert everything_by_qe(family("diag:2"), backend="qepcad").value is True
    assert everything_by_qe(family("full:2,2,1"), backend="qepcad").value is False


def _agree(sentences, timeout):
    """Run both backends on every sentence; return (both decided, z3 only, qepcad only, neither)."""
    z3, qe = Z3Backend(), QepcadBackend()
    counts = [0, 0, 0, 0]
    for s in sentences:
        a = z3.decide(s, timeout).answer
        b = qe.decide(s, timeout).answer
        if a.decided and b.decided:
            assert a is b, f"z3 says {a}, QEPCAD says {b} on {s.name}: {s.info}"
            counts[0] += 1
        else:
            counts[1 if a.decided else (2 if b.decided else 3)] += 1
    return counts


def test_cross_check_every_sentence_of_small_patterns():
    sentences = [s for name in ["diag:2", "full:1,2,2"] for s in closedness_sentences(family(name))]
    sentences += [everything_sentence(family("lu:2")), membership_sentence(family("lu:2"), [[1, 1], [1, 0]])]
    both, *_ = _agree(sentences, 30.0)
    assert both == len(sentences)


def _small_patterns(m, n, rmax):
    seen = {}
    for r in range(1, rmax + 1):
        for bits in range(2 ** ((m + n) * r)):
            v = np.array([(bits >> q) & 1 for q in range((m + n) * r)], dtype=bool)
            p = SupportPattern(v[: m * r].reshape(m, r), v[m * r:].reshape(n, r))
            if not p.empty_components().any():
                seen.setdefault(p.canonical_key(transpose=True), p)
    return list(seen.values())


@pytest.mark.slow
def test_cross_check_all_2x2_patterns_up_to_symmetry():
    """Every closedness sentence of every 2×2 pattern with r ≤ 2: z3 and QEPCAD never disagree."""
    start = time.monotonic()
    sentences = [s for p in _small_patterns(2, 2, 2) for s in closedness_sentences(p)]
    both, z3_only, qepcad_only, neither = _agree(sentences, 20.0)
    assert both >= len(sentences) // 2, (both, z3_only, qepcad_only, neither, time.monotonic() - start)


def test_qepcad_rejects_nothing_we_print():
    """Every printed construct (≠, ¬, ∨, ⇒-free prenex, rationals, powers) is accepted by the binary."""
    s = closedness_sentences(family("full:1,2,1"))[-1]
    d = QepcadBackend().decide(s, 30.0)
    assert d.answer is Answer.FALSE
    raw = QepcadBackend().run("[bad]\n(x)\n0\n(E x)[x * x = 1].\nfinish\n", 10.0)
    with pytest.raises(Exception, match="rejected"):
        QepcadBackend().parse(raw.stdout)
