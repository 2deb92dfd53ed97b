"""The command lines whose outputs are pinned in ``tests/golden/cli/`` (byte for byte).

The outputs were recorded before the package was restructured; ``tests/test_golden_cli.py`` reruns every
command and compares. To re-record after a deliberate change of output: ``python -m tests.golden_cli``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "cli"

_CASES = sorted(p.name for p in (ROOT / "cases").glob("*.json"))
_FAMILIES = ["lu:3", "butterfly:8:1", "monarch:4", "ks:1,2,2,2;2,2,1,1", "mcp:110,011,101", "random:5,4,3,0.5,7",
             "full:2,3,1", "diag:3"]
_NETWORK = sorted(p.name for p in (ROOT / "cases" / "networks").glob("*") if p.suffix in {".json", ".npz"})


def commands() -> list[tuple[str, list[str]]]:
    """(golden file name, argv after ``wellposed``) for every pinned command."""
    out: list[tuple[str, list[str]]] = []
    for name in _CASES:
        stem = name.removesuffix(".json")
        out.append((f"analyze-{stem}.txt", ["analyze", f"cases/{name}"]))
        out.append((f"analyze-{stem}.json", ["analyze", "--json", f"cases/{name}"]))
        out.append((f"closedness-{stem}.txt", ["closedness", f"cases/{name}"]))
    for spec in _FAMILIES:
        tag = spec.replace(":", "-").replace(",", "_").replace(";", "_")
        out.append((f"family-{tag}.json", ["analyze", "--json", spec]))
    for name in _NETWORK:
        out.append((f"network-{name}.txt", ["network", f"cases/networks/{name}"]))
    out.append(("families.txt", ["families"]))
    out.append(("cases.txt", ["cases"]))
    out.append(("cases-lu-2.txt", ["cases", "lu-2"]))
    for cmd in ["analyze", "batch", "families", "cases", "solve", "backends", "demo", "quantize", "network", "factor",
                "closedness", "census", "chain-census", "report"]:
        out.append((f"help-{cmd}.txt", [cmd, "--help"]))
    out.append(("help.txt", ["--help"]))
    return out


_TIMINGS = [(re.compile(r'"seconds": [0-9.e+-]+'), '"seconds": T'), (re.compile(r"time: [0-9.]+ s"), "time: T s"),
             (re.compile(r"\([0-9.]+ s\)"), "(T s)")]


def normalize(text: str) -> str:
    """The output with wall-clock timings masked (the only part that may differ between runs)."""
    for pattern, repl in _TIMINGS:
        text = pattern.sub(repl, text)
    return text


def run(argv: list[str]) -> tuple[int, str]:
    """Run ``python -m wellposed ARGV`` from the repository root; (exit code, stdout + stderr)."""
    env = dict(os.environ, COLUMNS="100", PYTHONHASHSEED="0")
    proc = subprocess.run([sys.executable, "-m", "wellposed", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    return proc.returncode, normalize(f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for fname, argv in commands():
        _, text = run(argv)
        (GOLDEN / fname).write_text(text, encoding="utf-8")
        print(fname)


if __name__ == "__main__":
    main()
