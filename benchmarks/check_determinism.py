"""Same input, same verdict: ``wellposed batch --closedness`` idle, under CPU load and with ``--jobs 2``.

Input: every case of the catalogue (``cases/*.json``) plus ``--random`` random small patterns
(m, n ∈ {2, 3}, r ∈ {1, 2, 3}, each mask entry 1 with probability 1/2, seed ``--seed``), written as
JSON lines. The batch runs three times — in-process, in-process with two
CPU-burning processes alongside, and with ``--jobs 2`` with the burners still running — and the
verdict fields (``closed``, ``closed_method``, ``closed_reason``, ``certificate``) of every row are
compared. Prints a table; exits 1 if any row differs.

    python benchmarks/check_determinism.py --random 300
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("closed", "closed_method", "closed_reason", "certificate")


def write_input(path: Path, count: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    lines = []
    for case in sorted((ROOT / "cases").glob("*.json")):
        data = json.loads(case.read_text(encoding="utf-8"))
        lines.append({"x_support": data["x_support"], "y_support": data["y_support"], "name": case.stem})
    for k in range(count):
        m, n, r = (int(v) for v in (rng.integers(2, 4), rng.integers(2, 4), rng.integers(1, 4)))
        x = rng.random((m, r)) < 0.5
        y = rng.random((n, r)) < 0.5
        lines.append({"x_support": ["".join("01"[int(b)] for b in row) for row in x],
                      "y_support": ["".join("01"[int(b)] for b in row) for row in y], "name": f"random-{k}"})
    path.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    return len(lines)


def run_batch(src: Path, out: Path, jobs: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wellposed", "batch", str(src), "--out", str(out), "--closedness",
                    "--quiet", "--jobs", str(jobs)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def verdicts(out: Path) -> dict[int, tuple]:
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["line"]: tuple(json.dumps(r.get(k), sort_keys=True) for k in FIELDS) for r in rows if "line" in r}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=300, help="number of random patterns (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        total = write_input(d / "in.jsonl", args.random, args.seed)
        runs = [("in-process", 1, False), ("in-process + 2 CPU burners", 1, True),
                ("--jobs 2 + 2 CPU burners", 2, True)]
        results = []
        for label, jobs, load in runs:
            burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 if load else 0)]
            try:
                out = d / f"out-{len(results)}.jsonl"
                secs = run_batch(d / "in.jsonl", out, jobs)
            finally:
                for b in burners:
                    b.kill()
                    b.wait()
            results.append((label, secs, verdicts(out)))
        base = results[0][2]
        decided = sum(1 for v in base.values() if v[0] != "null")
        print(f"{total} patterns ({total - args.random} catalogue cases + {args.random} random, seed {args.seed}); "
              f"{decided} decided in the first run")
        print("| run | seconds | rows | verdict rows differing from the first run |")
        print("|---|---:|---:|---:|")
        worst = 0
        for label, secs, got in results:
            diff = sum(1 for k in base if got.get(k) != base[k]) + len(set(got) ^ set(base))
            worst = max(worst, diff)
            print(f"| {label} | {secs:.1f} | {len(got)} | {diff} |")
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
