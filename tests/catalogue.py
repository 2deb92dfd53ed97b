"""The case catalogue (:mod:`wellposed.catalogue`, the folder ``cases/``) as parameters of tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from wellposed import catalogue
from wellposed.support import SupportPattern

#: The catalogue folder (``cases/`` of the checkout, through the installed package ``wellposed.cases``).
CASES_DIR = catalogue.catalogue_dir()


def case_files() -> list[Path]:
    return [CASES_DIR / f"{name}.json" for name in catalogue.case_names()]


def load_cases() -> list[SupportPattern]:
    return catalogue.load_cases()


def case_params(key: str | None = None) -> list:
    """``pytest.param(pattern, id=name)`` for every case (having ``expected[key]`` if key is given)."""
    out = []
    for p in load_cases():
        if key is None or key in p.expected:
            out.append(pytest.param(p, id=p.name))
    return out
