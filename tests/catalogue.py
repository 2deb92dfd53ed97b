"""Loader of the case catalogue (``cases/*.json``) for parametrized tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from wellposed.families import load_pattern
from wellposed.support import SupportPattern

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.json"))


def load_cases() -> list[SupportPattern]:
    return [load_pattern(p) for p in case_files()]


def case_params(key: str | None = None) -> list:
    """``pytest.param(pattern, id=name)`` for every case (having ``expected[key]`` if key is given)."""
    out = []
    for p in load_cases():
        if key is None or key in p.expected:
            out.append(pytest.param(p, id=p.name))
    return out
