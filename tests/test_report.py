"""``wellposed report``: the page parses, holds its sections and pictures, loads nothing from outside, is the same
bytes for the same input, stays bounded for large patterns, and fails with the usual exit codes."""

from __future__ import annotations

import os
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from wellposed.analysis import analyze
from wellposed.classify import classify
from wellposed.cli import main
from wellposed.families import family
from wellposed.render import MAX_CELLS, SECTIONS, report_html
from wellposed.render.pictures import EPSILONS, _eval, _product, block_density, laurent_text
from wellposed.support import SupportPattern


class _Page(HTMLParser):
    """Collects the tags, the section ids, the attributes that load resources and the text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sections: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values.get("id") or "")
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data", "poster") and value is not None:
                self.links.append((name, value))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def report(spec: str, **kwargs: object) -> str:
    pattern = family(spec)
    return report_html(pattern, analyze(pattern, **kwargs), classify(pattern), version="test")  # type: ignore[arg-type]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_not_closed_page_has_every_section_the_pictures_and_the_library_verdicts() -> None:
    pattern = family("lu:3")
    a = analyze(pattern)
    page = report_html(pattern, a, classify(pattern), version="test")
    p = parse(page)
    assert p.sections == list(SECTIONS)
    # masks I and J, the supports, three class panels, the graph, two curve charts
    assert p.tags.count("svg") == 2 + 1 + 3 + 1 + 2
    text = " ".join(p.text)
    assert a.tractable_reason in text and a.closed_reason in text  # rendered, not recomputed
    assert "not closed" in text and "certificate:lu-obstruction" in text
    assert "A* = " in text and "[[0, 1, 0], [1, 0, 0], [0, 0, 0]]" in text
    assert "Nothing was summarised" in text


def test_closed_page_has_no_certificate_section() -> None:
    p = parse(report("full:3,3,2"))
    assert p.sections == [s for s in SECTIONS if s != "certificate"]
    assert "theorem:dto" in " ".join(p.text)


def test_without_closedness_the_page_says_not_computed() -> None:
    text = " ".join(parse(report("lu:2", closedness=False)).text)
    assert "not computed" in text and "closedness not requested" in text


def test_page_is_self_contained_no_script_no_external_url() -> None:
    page = report("lu:3")
    p = parse(page)
    assert p.links == []  # no src/href at all: nothing is loaded
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    for tag in ("http://", "https://"):
        # the only URL is the SVG namespace name (an identifier, never fetched)
        assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count(tag) == 0
    assert "url(" not in page and "@import" not in page


def test_text_from_the_input_is_escaped() -> None:
    x = np.array([[1, 0], [1, 1]], dtype=bool)
    pattern = SupportPattern(x, x, name='<script>alert("x")</script>', description="a & b <i>")
    page = report_html(pattern, analyze(pattern, closedness=False), classify(pattern))
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &amp; b &lt;i&gt;" in page
    assert "script" not in parse(page).tags


def test_same_input_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = tmp_path / "one.html", tmp_path / "two.html"
    assert run(capsys, "report", "lu:3", "--out", str(one))[0] == 0
    assert run(capsys, "report", "lu:3", "--out", str(two))[0] == 0
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes().startswith(b"<!DOCTYPE html>")


def test_large_pattern_is_summarised_and_bounded() -> None:
    page = report("butterfly:1024:5", closedness=False)
    p = parse(page)
    text = " ".join(p.text)
    assert len(page.encode()) < 1_000_000
    assert "blocks of 8×8 entries" in text  # the 1024×1024 grid drawn as 128×128 cells
    assert "support graph has 1024 nodes" in text  # too large to draw: its counts instead
    assert p.sections == [s for s in SECTIONS if s != "certificate"]


def test_graph_over_the_node_limit_becomes_a_table() -> None:
    text = " ".join(parse(report("diag:250", closedness=False)).text)
    assert "support graph has 250 nodes and 0 edges" in text
    assert "connected components" in text


def test_grids_never_exceed_the_cell_limit() -> None:
    for shape in [(1024, 1024), (512, 300), (129, 5), (128, 128)]:
        mask = np.ones(shape, dtype=bool)
        density, block = block_density(mask)
        assert max(density.shape) <= MAX_CELLS
        assert np.allclose(density, 1.0)  # edge blocks are averaged over their own entries
    d, block = block_density(np.eye(300, dtype=bool))
    assert block == (3, 3) and d.shape == (100, 100) and np.allclose(np.diag(d), 1 / 3)


def test_certificate_curve_tends_to_the_limit() -> None:
    from wellposed.closedness.certificates import NotClosedCertificate

    pattern = family("lu:3")
    a = analyze(pattern)
    cert = NotClosedCertificate.from_json(pattern, a.certificate)  # type: ignore[arg-type]
    product = _product(cert)
    small = np.array([1e-9])
    for (i, j), poly in product.items():
        assert all(e >= 0 for e, _ in poly)  # the product has a limit
        assert _eval(poly, small)[0] == pytest.approx(float(cert.limit.value(i, j)), abs=1e-6)
    x_norm = np.sqrt(sum(_eval(p, np.array(EPSILONS)) ** 2 for p in cert.x_curve.values()))
    assert x_norm[0] > 100 * x_norm[-1]  # the factors blow up as ε → 0 (EPSILONS run from 1e-3 to 1)
    assert laurent_text(((-2, Fraction(3, 2)), (1, Fraction(-1)))) == "3/2·ε^-2 - ε"


@pytest.mark.parametrize("argv, code, fragment", [
    (["report", "lu:3", "--out", "{tmp}/page.txt"], 2, "--out = "),
    (["report", "lu:0", "--out", "{tmp}/page.html"], 2, "lu:0"),
    (["report", "nosuchfamily:3", "--out", "{tmp}/page.html"], 2, "nosuchfamily"),
    (["report", "lu:3", "--out", "{tmp}/folder.html"], 4, "is a directory"),
    (["report", "lu:3", "--out", "{tmp}/file/page.html"], 4, "is a file"),
])
def test_errors_use_the_usual_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         code: int, fragment: str) -> None:
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "file").write_text("a file, not a folder")
    got, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert got == code
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["file", "folder.html"]  # nothing written, no temporary file left
    assert os.listdir(tmp_path / "folder.html") == []



def test_undecided_verdict_shows_its_qe_evidence_without_timings() -> None:
    from dataclasses import replace

    pattern = family("lu:2")
    a = replace(analyze(pattern, closedness=False), closed=None, closed_method="qe:z3",
                closed_reason="z3 answered unknown within its budget", certificate=None,
                details={"backend": "z3", "qe_seconds": 1.25, "transcript_tail": "(check-sat) unknown"})
    page = report_html(pattern, a, classify(pattern))
    p = parse(page)
    text = " ".join(p.text)
    assert "certificate" not in p.sections
    assert "undecided" in text and "qe:z3" in text and "z3 answered unknown within its budget" in text
    assert "(check-sat) unknown" in text and "qe_seconds" not in text  # evidence kept, timing left out


def test_a_512_wide_mask_file_gives_a_bounded_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    x = rng.random((512, 300)) < 0.03
    y = rng.random((512, 300)) < 0.03
    np.savez(tmp_path / "masks.npz", x_support=x.astype(np.uint8), y_support=y.astype(np.uint8))
    out = tmp_path / "page.html"
    code, stdout, _ = run(capsys, "report", str(tmp_path / "masks.npz"), "--out", str(out), "--no-closedness")
    assert code == 0 and "wrote" in stdout
    page = out.read_text(encoding="utf-8")
    assert len(page.encode()) < 1_000_000
    text = " ".join(parse(page).text)
    assert "blocks of 4×3 entries" in text  # I is 512×300: 128×100 cells
    assert "blocks of 4×4 entries" in text  # the 512×512 supports picture


def test_details_made_only_of_timings_leave_no_empty_box() -> None:
    from dataclasses import replace

    pattern = family("lu:2")
    a = replace(analyze(pattern, closedness=False), details={"seconds": 0.5, "qe_seconds": 1.25})
    page = report_html(pattern, a, classify(pattern))
    assert "details of the closedness verdict" not in page and "<pre>{}</pre>" not in page
