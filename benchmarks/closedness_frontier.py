"""The closedness frontier: how many random small patterns does the engine leave undecided?

Samples ``--count`` random support patterns (seed ``--seed``): m, n uniform in {2, 3, 4}, r uniform in
{1, …, 4}, a density d uniform in [0.3, 0.85], each entry of I and J equal to 1 with probability d. Runs
:func:`wellposed.closedness.decide_closedness` (default options: effort 1, QE on, no wall-clock cap) on
each, one pattern at a time, and prints the table of undecided patterns by max(m, n) and by (m, n, r).
Verdicts are functions of the pattern and the budget (counts, never seconds), so the same seed gives the
same table on every machine; the timings are information only.

``--out FILE`` writes one JSON line per pattern (index, masks, answer, method, seconds) and resumes from
it; ``--cross-check`` re-decides each decided pattern of at most ``--cross-max-free`` free entries by QE
alone (z3) and reports disagreements (there must be none); ``--cross-methods`` restricts that to the
verdicts of the given methods. ``--compare OLD`` compares the answers with another run's file (e.g. of an
older engine) on every pattern both decided.

    python benchmarks/closedness_frontier.py --seed 20261202 --count 300 --out frontier.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

SIZES = (2, 3, 4)
RANKS = (1, 2, 3, 4)
DENSITY = (0.3, 0.85)


def sample(count: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """``count`` random patterns ``(I rows, J rows)`` as 0/1 strings (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        m, n = (int(rng.choice(SIZES)) for _ in range(2))
        r = int(rng.choice(RANKS))
        d = float(rng.uniform(*DENSITY))
        x = rng.random((m, r)) < d
        y = rng.random((n, r)) < d
        out.append((["".join("01"[int(b)] for b in row) for row in x],
                    ["".join("01"[int(b)] for b in row) for row in y]))
    return out


def _decide(rows_i: list[str], rows_j: list[str]) -> dict[str, object]:
    from wellposed.closedness import decide_closedness
    from wellposed.support import SupportPattern

    t0 = time.perf_counter()
    v = decide_closedness(SupportPattern(rows_i, rows_j))
    return {"answer": v.answer.value, "method": v.method, "seconds": round(time.perf_counter() - t0, 3)}


def _cross_check(rows_i: list[str], rows_j: list[str], max_free: int) -> str | None:
    """QE's answer (z3 backend, no other stage) when the pattern is small enough, else None."""
    from wellposed.backends import decide_by_qe
    from wellposed.support import SupportPattern

    p = SupportPattern(rows_i, rows_j)
    if p.num_free_entries() > max_free:
        return None
    res = decide_by_qe(p, backend="z3", effort=1.0)
    return res.answer.value


def table(records: list[dict[str, object]]) -> str:
    """Markdown table of undecided patterns by max(m, n) and overall."""
    total: Counter[int] = Counter()
    undecided: Counter[int] = Counter()
    for rec in records:
        size = max(len(rec["x_support"]), len(rec["y_support"]))  # type: ignore[arg-type]
        total[size] += 1
        undecided[size] += rec["answer"] == "undecided"
    lines = ["| max(m, n) | patterns | undecided | % |", "|---:|---:|---:|---:|"]
    for size in sorted(total):
        lines.append(f"| {size} | {total[size]} | {undecided[size]} | {100 * undecided[size] / total[size]:.1f} |")
    t, u = sum(total.values()), sum(undecided.values())
    lines.append(f"| all | {t} | {u} | {100 * u / max(t, 1):.1f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines, one per pattern (resumed when present)")
    ap.add_argument("--cross-check", action="store_true", help="re-decide small decided patterns by QE alone")
    ap.add_argument("--cross-max-free", type=int, default=16, help="free-entry limit of the QE cross-check")
    ap.add_argument("--cross-methods", nargs="*", default=None, help="only cross-check verdicts of these methods")
    ap.add_argument("--compare", type=Path, default=None, help="another run's --out file to compare answers with")
    args = ap.parse_args()
    patterns = sample(args.count, args.seed)
    done: dict[int, dict[str, object]] = {}
    if args.out is not None and args.out.exists():
        for line in args.out.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                done[int(rec["index"])] = rec
    sink = args.out.open("a", encoding="utf-8") if args.out is not None else None
    print(f"seed {args.seed}, {args.count} patterns, m, n in {SIZES}, r in {RANKS}, density in {DENSITY}")
    records = []
    disagreements = 0
    checked = 0
    for index, (rows_i, rows_j) in enumerate(patterns):
        rec = done.get(index)
        if rec is None or rec["x_support"] != rows_i or rec["y_support"] != rows_j:
            rec = {"index": index, "x_support": rows_i, "y_support": rows_j, **_decide(rows_i, rows_j)}
            if sink is not None:
                sink.write(json.dumps(rec) + "\n")
                sink.flush()
        wanted = args.cross_methods is None or rec["method"] in args.cross_methods
        if args.cross_check and wanted and rec["answer"] != "undecided" and "qe" not in rec:
            rec["qe"] = _cross_check(rows_i, rows_j, args.cross_max_free)
        if args.cross_check and rec.get("qe") in ("closed", "not closed"):
            checked += 1
            if rec["qe"] != rec["answer"]:
                disagreements += 1
                print(f"DISAGREEMENT at pattern {index}: engine {rec['answer']} ({rec['method']}), QE {rec['qe']}")
        records.append(rec)
    if sink is not None:
        sink.close()
    methods = Counter(str(r["method"]) for r in records)
    print(table(records))
    print("methods: " + ", ".join(f"{m} {c}" for m, c in sorted(methods.items(), key=lambda t: (-t[1], t[0]))))
    print(f"sum of per-pattern seconds: {sum(float(r['seconds']) for r in records):.1f} (information only)")
    if args.cross_check:
        print(f"QE cross-check: {checked} decided patterns re-decided by QE alone, {disagreements} disagreements")
    if args.compare is not None:
        old: dict[int, dict[str, object]] = {}
        for line in args.compare.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                old[int(r["index"])] = r
        both = [(rec, old[int(rec["index"])]) for rec in records if int(rec["index"]) in old]
        decided = [(a, b) for a, b in both if "undecided" not in (a["answer"], b["answer"])]
        differ = [(a, b) for a, b in decided if a["answer"] != b["answer"]]
        for a, b in differ:
            print(f"DISAGREEMENT with {args.compare.name} at pattern {a['index']}: {a['answer']} ({a['method']}) "
                  f"vs {b['answer']} ({b['method']})")
        print(f"compared with {args.compare.name}: {len(decided)} patterns decided by both, {len(differ)} "
              "disagreements")
        print(table([b for _, b in both]).replace("| max(m, n) |", f"| max(m, n), {args.compare.name} |"))
        disagreements += len(differ)
    for rec in records:
        if rec["answer"] == "undecided":
            print(f"undecided: {rec['index']} I={'.'.join(rec['x_support'])} J={'.'.join(rec['y_support'])}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
