"""Notebook displays: patterns, analyses and factor chains draw themselves as SVG/HTML, cheaply at any size."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from html import escape

import numpy as np
from wellposed.solvers.butterfly import FactorChain, KSFactor

from wellposed.analysis import analyze, analyze_spec
from wellposed.families import family
from wellposed.kronecker import dyadic_butterfly
from wellposed.render.svg import PALETTE

SVG = "{http://www.w3.org/2000/svg}svg"


def test_pattern_svg_shows_masks_and_classes() -> None:
    svg = family("lu:3")._repr_svg_()
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == SVG and len(root.findall(SVG)) == 3  # I, J, the supports by class
    assert all(colour in svg for colour in PALETTE[:3])  # the three classes of lu:3
    assert "I (mask of X)" in svg and "J (mask of Y)" in svg


def test_pattern_display_is_cheap_and_small_for_a_large_pattern() -> None:
    pattern = family("butterfly:1024:5")
    start = time.perf_counter()
    svg = pattern._repr_svg_()
    assert time.perf_counter() - start < 20  # generous: a shared machine; about 0.1 s alone
    assert len(svg) < 200_000
    ET.fromstring(svg)
    assert "blocks of 16×16" in svg  # 1024 rows drawn on 64 cells


def test_analysis_html_has_the_verdict_table_and_the_picture() -> None:
    a = analyze(family("lu:3"))
    html = a._repr_html_()
    assert "<table>" in html and "not closed" in html and "certificate:lu-obstruction" in html
    assert html.count("<svg") == 1 and all(colour in html for colour in PALETTE[:3])
    assert escape(a.closed_reason) in html and escape(a.tractable_reason) in html


def test_analysis_html_without_listed_classes_has_no_picture() -> None:
    a = analyze_spec("butterfly:65536:8")  # decided from its description: no classes listed, no masks
    html = a._repr_html_()
    assert "<svg" not in html and "theorem:dto" in html


def test_chain_display_is_a_picture_and_a_one_line_text() -> None:
    chain = FactorChain(tuple(KSFactor(p, np.ones(p.abcd)) for p in dyadic_butterfly(256)))
    bundle = chain._repr_mimebundle_()
    assert bundle["text/plain"] == "FactorChain: 8 factors, 256×256, 4096 stored entries, float64"
    root = ET.fromstring(bundle["image/svg+xml"])
    assert len(root.findall(SVG)) == 8  # one panel per factor
    assert bundle["image/svg+xml"] == chain._repr_svg_()
