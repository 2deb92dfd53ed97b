"""Measure QE decisions: answers and timings per case and backend, encoding ablation, z3/QEPCAD cross-check.

Run ``python -m wellposed.backends.measure [cases|ablation|crosscheck] [--timeout T]``; it prints
markdown tables (the numbers quoted in docs/qe.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable

import numpy as np

from ..families import family
from ..formulas.builder import ALL_ENCODINGS, NO_ENCODINGS, Encoding, closedness_sentences
from ..support import SupportPattern, as_mask
from .decide import decide_by_qe
from .registry import get_backend, installed_backends

__all__ = ["CASES", "measure_cases", "measure_ablation", "measure_crosscheck", "small_patterns", "main"]

CASES: dict[str, SupportPattern] = {
    **{name: family(name) for name in ["full:2,2,1", "lu:2", "diag:2", "full:1,3,1", "full:3,1,1",
                                       "full:1,2,2", "full:2,2,2", "full:3,1,2", "full:2,3,1"]},
    "lu-like:2x3": SupportPattern(as_mask(["10", "11"], "x"), as_mask(["10", "11", "11"], "y")),
    "nested:2x3": SupportPattern(as_mask(["11", "01"], "x"), as_mask(["11", "11", "01"], "y")),
    **{name: family(name) for name in ["diag:3", "lu:3", "full:3,3,2"]},
}


def small_patterns(m: int, n: int, rmax: int) -> list[SupportPattern]:
    """All m×n patterns with 1 ≤ r ≤ rmax and no empty component, one per symmetry class."""
    seen: dict[str, SupportPattern] = {}
    for r in range(1, rmax + 1):
        for bits in range(2 ** ((m + n) * r)):
            v = np.array([(bits >> q) & 1 for q in range((m + n) * r)], dtype=bool)
            p = SupportPattern(v[: m * r].reshape(m, r), v[m * r:].reshape(n, r))
            if not p.empty_components().any():
                seen.setdefault(p.canonical_key(transpose=True), p)
    return list(seen.values())


def _row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def measure_cases(backends: list[str], timeout: float, sentence_timeout: float) -> list[str]:
    """One row per case and backend: answer, sentences run / total, largest sentence, seconds."""
    out = [_row(["case", "backend", "answer", "sentences run/total", "max variables", "seconds"]),
           _row(["---"] * 6)]
    for name, p in CASES.items():
        sentences = closedness_sentences(p)
        for b in backends:
            r = decide_by_qe(p, backend=b, timeout=timeout, sentence_timeout=sentence_timeout)
            out.append(_row([name, b, r.answer.value, f"{len(r.decisions)}/{len(sentences)}",
                             max(s.num_variables for s in sentences), f"{r.seconds:.2f}"]))
            print(out[-1], file=sys.stderr, flush=True)
    return out


def measure_ablation(backend: str, timeout: float, sentence_timeout: float) -> list[str]:
    """Each encoding switched off in turn (and all off, and box only) on small cases."""
    variants: dict[str, Encoding] = {"all": ALL_ENCODINGS}
    for name in ["box", "zero_outside", "gauge", "zero_patterns", "scaling", "symmetry"]:
        variants[f"all − {name}"] = ALL_ENCODINGS.without(name)
    variants["box only"] = Encoding(True, False, False, False, False, False)
    variants["none"] = NO_ENCODINGS
    out = [_row(["case", "encodings", "answer", "sentences", "max variables", "seconds"]), _row(["---"] * 6)]
    for name in ["lu:2", "full:2,2,1", "diag:2", "full:1,2,2"]:
        p = family(name)
        for label, enc in variants.items():
            sentences = closedness_sentences(p, enc)
            r = decide_by_qe(p, backend=backend, timeout=timeout, encoding=enc, sentence_timeout=sentence_timeout)
            out.append(_row([name, label, r.answer.value, f"{len(r.decisions)}/{len(sentences)}",
                             max(s.num_variables for s in sentences), f"{r.seconds:.2f}"]))
            print(out[-1], file=sys.stderr, flush=True)
    return out


def measure_crosscheck(timeout: float) -> list[str]:
    """Every closedness sentence of every 2×2 pattern (r ≤ 2, up to symmetry) with z3 and QEPCAD."""
    z3, qe = get_backend("z3"), get_backend("qepcad")
    tally = {"both": 0, "z3 only": 0, "qepcad only": 0, "neither": 0, "disagree": 0}
    seconds = {"z3": 0.0, "qepcad": 0.0}
    worst = {"z3": 0.0, "qepcad": 0.0}
    patterns = small_patterns(2, 2, 2)
    total = 0
    for p in patterns:
        for s in closedness_sentences(p):
            total += 1
            a, b = z3.decide(s, timeout), qe.decide(s, timeout)
            seconds["z3"] += a.seconds
            seconds["qepcad"] += b.seconds
            worst["z3"] = max(worst["z3"], a.seconds)
            worst["qepcad"] = max(worst["qepcad"], b.seconds)
            if a.answer.decided and b.answer.decided:
                tally["both" if a.answer is b.answer else "disagree"] += 1
            else:
                tally["z3 only" if a.answer.decided else ("qepcad only" if b.answer.decided else "neither")] += 1
    out = [f"{len(patterns)} patterns, {total} sentences, per-sentence timeout {timeout:g} s",
           _row(list(tally)), _row(["---"] * len(tally)), _row(tally.values()),
           f"total seconds: z3 {seconds['z3']:.1f}, qepcad {seconds['qepcad']:.1f}; "
           f"slowest sentence: z3 {worst['z3']:.2f} s, qepcad {worst['qepcad']:.2f} s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", nargs="*", default=["cases", "ablation", "crosscheck"],
                        choices=["cases", "ablation", "crosscheck"])
    parser.add_argument("--timeout", type=float, default=60.0, help="budget per decision (seconds)")
    parser.add_argument("--sentence-timeout", type=float, default=10.0, help="cap per sentence (seconds)")
    args = parser.parse_args(argv)
    backends = installed_backends()
    start = time.monotonic()
    if "cases" in args.what:
        print("\n".join(measure_cases(backends, args.timeout, args.sentence_timeout)) + "\n")
    if "ablation" in args.what:
        print("\n".join(measure_ablation("z3", args.timeout, args.sentence_timeout)) + "\n")
    if "crosscheck" in args.what and "qepcad" in backends:
        print("\n".join(measure_crosscheck(args.sentence_timeout)) + "\n")
    print(f"total wall-clock {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
