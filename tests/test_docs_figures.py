"""The pictures of the docs pages: every referenced image exists, and the generator is deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from wellposed.docs_figures import FIGURES, figure_names_of, markdown_table, write_figures
from wellposed.errors import InvalidSpecError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# the cheap ones (no closedness engine): enough to pin down determinism of the drawing itself
_QUICK = ["butterfly-supports.png", "census-methods.png", "quantization-error-vs-bits.png",
          "closedness-lu-certificate.png", "benchmarks-butterfly.png"]


def test_every_image_of_every_page_exists() -> None:
    missing = []
    for page in sorted(DOCS.glob("*.md")):
        for ref in figure_names_of(page.read_text(encoding="utf-8")):
            if "://" not in ref and not (page.parent / ref).is_file():
                missing.append(f"{page.name}: {ref}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(("name", "page"), [(n, p) for n, (_, p) in FIGURES.items()])
def test_each_generated_figure_is_committed_small_and_shown_on_its_page(name: str, page: str) -> None:
    path = DOCS / "figures" / name
    assert path.is_file(), f"run `python -m wellposed.docs_tools figures` to draw {name}"
    assert path.stat().st_size < 150_000
    assert f"figures/{name}" in figure_names_of((DOCS / page).read_text(encoding="utf-8"))


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = write_figures(tmp_path / "a", _QUICK)
    second = write_figures(tmp_path / "b", _QUICK)
    assert [p.name for p in first] == [p.name for p in second] == _QUICK
    for a, b in zip(first, second, strict=True):
        data = a.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert data == b.read_bytes(), f"{a.name} differs between two runs"
        assert b"Software" not in data and b"matplotlib" not in data  # no tool name or version in the file


def test_unknown_figure_and_missing_table_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError, match="unknown figure"):
        write_figures(tmp_path, ["nope.png"])
    with pytest.raises(InvalidSpecError, match="heading '## Gone' not found"):
        markdown_table("# Page\n\n| a |\n|---|\n| 1 |\n", "## Gone")
    with pytest.raises(InvalidSpecError, match="no Markdown table"):
        markdown_table("## Here\n\ntext only\n", "## Here")


def test_plots_read_the_published_numbers() -> None:
    """The benchmark and quantization plots draw the tables of their pages, not numbers of their own."""
    bench = markdown_table((DOCS / "benchmarks.md").read_text(encoding="utf-8"),
                           "### Butterfly factorization against pyfaust and lazylinop")
    assert {r["N"] for r in bench} == {"1024", "4096"}
    assert any(r["method"].startswith("lazylinop.ksd") for r in bench)
    quant = markdown_table((DOCS / "quantization.md").read_text(encoding="utf-8"),
                           "### Worst observed relative error vs t")
    assert [int(r["t"]) for r in quant] == list(range(3, 12))
