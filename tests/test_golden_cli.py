"""CLI outputs are byte-identical to the recorded ones (timings masked): ``tests/golden_cli.py`` lists them."""

from __future__ import annotations

import contextlib
import io

import pytest

from tests.golden_cli import GOLDEN, ROOT, commands, normalize
from wellposed.cli import main


@pytest.mark.parametrize(("fname", "argv"), [pytest.param(f, a, id=f) for f, a in commands()])
def test_cli_output_is_unchanged(fname: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    got = normalize(f"exit {code}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}")
    assert got == (GOLDEN / fname).read_text(encoding="utf-8")
