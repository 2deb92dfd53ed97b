"""The executed lesson notebook runs without error and its stored text outputs match a fresh run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wellposed.docs_tools import execute_notebook, notebook_texts

if os.environ.get("WELLPOSED_REQUIRE_ALL_BACKENDS") == "1":  # CI installs the test extra: never skip there
    import ipykernel  # noqa: F401
    import nbclient  # noqa: F401
    import nbformat
else:
    pytest.importorskip("nbclient", reason="nbclient not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel not installed (pip install -e '.[test]')")
    nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "lesson.ipynb"


@pytest.fixture(scope="module")
def stored():
    return nbformat.read(str(NOTEBOOK), as_version=4)


def test_stored_notebook_has_every_output_and_no_error(stored) -> None:
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert len(code) >= 8
    assert all(c.outputs for c in code[1:])  # every cell after the imports shows something
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    kinds = {k for c in code for o in c.outputs for k in o.get("data", {})}
    assert {"image/svg+xml", "text/html", "text/plain"} <= kinds  # the pattern, analysis and chain displays


def test_fresh_run_matches_the_stored_outputs(stored) -> None:
    fresh = execute_notebook(NOTEBOOK)  # raises CellExecutionError, naming the cell, if a cell fails
    assert notebook_texts(fresh) == notebook_texts(stored), (
        "docs/lesson.ipynb is stale: run `python -m wellposed.docs_tools notebook`")
