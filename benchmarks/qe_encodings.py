"""Which QE encodings decide what: z3 and QEPCAD B side by side on the catalogue and the undecided patterns.

Run ``python benchmarks/qe_encodings.py [--groups catalogue,undecided,frontier] [--backends z3,qepcad]``.
Every verdict comes from counted budgets (z3: ``rlimit`` and allocations per sentence; QEPCAD B: cells),
scaled by ``--effort``; ``--cap`` is only a wall-clock safety valve per question (seconds). It prints one
markdown row per (case, question, encoding, backend) and, at the end, the z3/QEPCAD agreement counts.

Questions: ``closed`` (the closedness sentences, ``decide_by_qe`` without the everything phase) and
``everything`` (the split everything sentences: true = every matrix on the union is a product).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from wellposed.backends import decide_by_qe, everything_split_by_qe, installed_backends
from wellposed.formulas import ALL_ENCODINGS, Encoding, closedness_sentences, everything_sentences
from wellposed.support import SupportPattern, as_mask

ROOT = Path(__file__).resolve().parent.parent

#: The 3×3×3 census classes the engine leaves undecided (docs/census.md).
UNDECIDED = [
    "T3x3x3:001.110.111|011.111.111", "T3x3x3:001.111.111|011.100.111", "T3x3x3:001.111.111|011.101.110",
    "T3x3x3:001.111.111|011.101.111", "T3x3x3:011.101.110|011.111.111", "T3x3x3:011.101.111|011.101.111",
    "T3x3x3:011.101.111|011.111.111", "T3x3x3:011.101.111|110.111.111",
]
#: Undecided patterns of the random frontier sample (m, n ≤ 4).
FRONTIER = [
    "T4x4x4:1111.1101.1111.1010|1011.0111.1111.1111", "T4x4x4:1011.1100.1111.0111|1011.1111.1100.1101",
    "T4x3x3:101.111.110.111|101.111.111", "T4x4x4:1111.1011.1111.1111|1111.1011.0111.1111",
]
VARIANTS = {
    "default": ALL_ENCODINGS,
    "eliminate": Encoding(eliminate=True),
    "eliminate+signs": Encoding(eliminate=True, signs=True),
    "eliminate+factor_gauge": Encoding(eliminate=True, factor_gauge=True),
}


def pattern_of_key(key: str) -> SupportPattern:
    """The pattern of a census key ``T<m>x<n>x<r>:<rows of I>|<rows of J>``."""
    body = key.split(":", 1)[1]
    xs, ys = body.split("|")
    return SupportPattern(as_mask(xs.split("."), "x"), as_mask(ys.split("."), "y"))


def catalogue(max_side: int) -> dict[str, SupportPattern]:
    """The catalogue cases (cases/*.json) with m, n ≤ max_side."""
    out = {}
    for path in sorted((ROOT / "cases").glob("*.json")):
        data = json.loads(path.read_text())
        p = SupportPattern.from_json(data, where=str(path.name))
        if max(p.m, p.n) <= max_side:
            out[path.stem] = p
    return out


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def run(groups: list[str], backends: list[str], variants: list[str], effort: float, cap: float,
        questions: list[str]) -> list[str]:
    cases: dict[str, SupportPattern] = {}
    if "catalogue" in groups:
        cases.update(catalogue(3))
    if "undecided" in groups:
        cases.update({k: pattern_of_key(k) for k in UNDECIDED})
    if "frontier" in groups:
        cases.update({k: pattern_of_key(k) for k in FRONTIER})
    out = [_row(["case", "question", "encoding", "backend", "answer", "sentences run/total", "max vars", "seconds"]),
           _row(["---"] * 8)]
    verdicts: dict[tuple[str, str], dict[str, str]] = {}
    for name, p in cases.items():
        for question in questions:
            for label in variants:
                enc = VARIANTS[label]
                build = closedness_sentences if question == "closed" else everything_sentences
                try:
                    sentences = build(p, enc)
                except Exception as exc:  # e.g. more than 20 union entries: report, do not stop the table
                    out.append(_row([name, question, label, "-", f"not built: {exc}"[:60], "-", "-", "-"]))
                    continue
                nvars = max((s.num_variables for s in sentences), default=0)
                for b in backends:
                    if b == "qepcad" and nvars > 12:
                        out.append(_row([name, question, label, b, "skipped (> 12 variables)", f"0/{len(sentences)}",
                                         nvars, "-"]))
                        continue
                    start = time.monotonic()
                    if question == "closed":
                        r = decide_by_qe(p, backend=b, timeout=cap, encoding=enc, effort=effort,
                                         everything_first=False)
                        answer, ran = r.answer.value, len(r.decisions)
                    else:
                        e = everything_split_by_qe(p, backend=b, timeout=cap, encoding=enc, effort=effort)
                        answer, ran = e.answer.value, len(e.decisions)
                    seconds = time.monotonic() - start
                    verdicts.setdefault((name, question), {})[f"{label}/{b}"] = answer
                    out.append(_row([name, question, label, b, answer, f"{ran}/{len(sentences)}", nvars,
                                     f"{seconds:.1f}"]))
                    print(out[-1], file=sys.stderr, flush=True)
    decided = {"closed", "not closed", "true", "false"}
    disagree = both = 0
    for (name, question), answers in verdicts.items():
        values = {a for a in answers.values() if a in decided}
        if len(values) > 1:
            disagree += 1
            out.append(f"DISAGREEMENT on {name} ({question}): {answers}")
        z3s = {a for k, a in answers.items() if k.endswith("/z3") and a in decided}
        qes = {a for k, a in answers.items() if k.endswith("/qepcad") and a in decided}
        both += bool(z3s and qes)
    out.append("")
    out.append(f"questions: {len(verdicts)}; decided by both z3 and QEPCAD: {both}; "
               f"disagreements between any two decided answers: {disagree}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", default="catalogue,undecided,frontier")
    parser.add_argument("--backends", default=",".join(installed_backends()))
    parser.add_argument("--variants", default="default,eliminate")
    parser.add_argument("--questions", default="closed,everything")
    parser.add_argument("--effort", type=float, default=1.0, help="scales every counted budget")
    parser.add_argument("--cap", type=float, default=600.0, help="wall-clock safety cap per question (seconds)")
    args = parser.parse_args(argv)
    for v in args.variants.split(","):
        if v not in VARIANTS:
            parser.error(f"--variants: {v!r} is not one of {sorted(VARIANTS)}")
    start = time.monotonic()
    print("\n".join(run(args.groups.split(","), args.backends.split(","), args.variants.split(","), args.effort,
                        args.cap, args.questions.split(","))))
    print(f"\ntotal wall-clock {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
