"""Pictures of a pattern, of its classes and support graph, of a certificate's curve and of a factor chain (SVG).

Each function returns an SVG string and, when it had to summarise (a grid of blocks instead of entries, a
graph too large to draw, curves left out), a sentence saying what it did: pages list those sentences.
Grids never exceed :data:`MAX_CELLS` cells a side (density per block of entries).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .svg import OVERLAP, PALETTE, Series, Svg, graph_picture, grid, line_chart, mix

if TYPE_CHECKING:  # pragma: no cover
    from ..classify import Classification, ClassTable
    from ..closedness.certificates import NotClosedCertificate
    from ..kronecker import KSPattern
    from ..support import SupportPattern

__all__ = ["pattern_svg", "pattern_figure", "listed_classes_picture", "MAX_CELLS", "MAX_GRAPH_NODES",
           "MAX_GRAPH_EDGES", "MAX_PANELS", "block_density", "mask_picture", "class_cover", "supports_picture",
           "class_panels", "class_edges", "support_graph_picture", "curve_pictures", "chain_picture", "hstack",
           "laurent_text", "class_colour"]

#: Largest grid side drawn: bigger masks are drawn by blocks of entries, coloured by density.
MAX_CELLS = 128
#: The support graph is drawn up to this many nodes (classes); beyond, pages give its counts.
MAX_GRAPH_NODES = 200
#: ... and up to this many edges (overlapping pairs of classes).
MAX_GRAPH_EDGES = 3000
#: Classes drawn one panel each (small patterns only).
MAX_PANELS = 16
#: Work (m·n·classes multiply-adds) up to which the class coverage of every entry is computed exactly.
EXACT_COVER_WORK = 2**30
#: Shades of a colour by density (a cell with density d gets shade ceil(d·SHADES)).
SHADES = 6
#: ε samples of a certificate's curve (log-spaced from 1e-3 to 1).
EPSILONS = tuple(float(e) for e in np.logspace(-3, 0, 61))
#: Curves of product entries drawn at most.
MAX_CURVES = 8


def class_colour(c: int) -> str:
    """The colour of class ``c``."""
    return PALETTE[c % len(PALETTE)]


def _shades(colour: str) -> list[str]:
    return [mix("#ffffff", colour, (s + 1) / SHADES) for s in range(SHADES)]


def _blocks(h: int, w: int, max_cells: int) -> tuple[int, int, int, int]:
    bh, bw = math.ceil(h / max_cells), math.ceil(w / max_cells)
    return bh, bw, math.ceil(h / bh), math.ceil(w / bw)


def _block_sum(a: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Sums of ``a`` over blocks of ``bh × bw`` entries (the last blocks may be smaller)."""
    h, w = a.shape
    hh, ww = math.ceil(h / bh), math.ceil(w / bw)
    pad = np.zeros((hh * bh, ww * bw), dtype=np.float64)
    pad[:h, :w] = a
    return pad.reshape(hh, bh, ww, bw).sum(axis=(1, 3))


def _block_area(h: int, w: int, bh: int, bw: int) -> np.ndarray:
    rows = np.minimum(bh, h - bh * np.arange(math.ceil(h / bh)))
    cols = np.minimum(bw, w - bw * np.arange(math.ceil(w / bw)))
    return np.outer(rows, cols).astype(np.float64)


def block_density(mask: np.ndarray, max_cells: int = MAX_CELLS) -> tuple[np.ndarray, tuple[int, int]]:
    """The fraction of true entries in each block of ``mask``, blocks chosen so the grid has at most ``max_cells``
    cells a side; returns the densities and the block shape (``(1, 1)``: one cell per entry).

    >>> d, block = block_density(np.eye(4, dtype=bool), 2)
    >>> d.tolist(), block
    ([[0.5, 0.0], [0.0, 0.5]], (2, 2))
    """
    h, w = mask.shape
    bh, bw, _, _ = _blocks(h, w, max_cells)
    if (bh, bw) == (1, 1):
        return mask.astype(np.float64), (1, 1)
    return _block_sum(mask, bh, bw) / _block_area(h, w, bh, bw), (bh, bw)


def _shade_index(density: np.ndarray, relative: bool = False) -> np.ndarray:
    """Shade per cell (``-1`` for an empty cell); ``relative``: the densest cell gets the darkest shade."""
    top = float(density.max()) if relative and density.size and density.max() > 0 else 1.0
    idx = np.ceil(density / top * SHADES - 1e-9).astype(np.int64) - 1
    return np.clip(idx, -1, SHADES - 1)


def _cell_size(h: int, w: int, target: float = 300) -> float:
    return max(1.5, min(40.0, target / max(h, w)))


def _block_note(what: str, shape: tuple[int, int], block: tuple[int, int]) -> str | None:
    if block == (1, 1):
        return None
    return (f"{what} ({shape[0]}×{shape[1]}) is drawn by blocks of {block[0]}×{block[1]} entries, each cell shaded "
            "by the fraction of its entries that are set (the densest block darkest).")


def _framed(cells: np.ndarray, palette: Sequence[str], title: str, subtitle: str, target: float = 300,
            stripes: Sequence[tuple[int, int, Sequence[int]]] = ()) -> str:
    """A titled grid; ``stripes`` ``(i, j, classes)`` split cell ``(i, j)`` into vertical stripes of the classes'
    colours when the cells are large enough to show them (else the cell keeps its own colour)."""
    h, w = cells.shape
    cell = _cell_size(h, w, target)
    width = max(w * cell + 12, 6.5 * max(len(title), 0.85 * len(subtitle)) + 12)
    svg = Svg(width, h * cell + 42, title)
    svg.text(6, 14, title, 12, extra=' font-weight="bold"')
    svg.text(6, 28, subtitle, 10, extra=' fill="#555"')
    grid(svg, 6, 36, cell, cells, palette)
    if cell >= 6:
        for i, j, classes in stripes:
            shown = list(classes)[:4]
            width_k = cell / len(shown)
            for t, c in enumerate(shown):
                svg.rect(6 + j * cell + t * width_k, 36 + i * cell, width_k, cell, class_colour(c))
            svg.rect(6 + j * cell, 36 + i * cell, cell, cell, "none", ' stroke="#111" stroke-width="1"')
    return svg.render()


def mask_picture(mask: np.ndarray, title: str, colour: str = "#1f3b73", max_cells: int = MAX_CELLS,
                 target: float = 300) -> tuple[str, str | None]:
    """A 0/1 mask as a grid (density per block when larger than ``max_cells``); the SVG and the summary note."""
    density, block = block_density(mask, max_cells)
    subtitle = f"{mask.shape[0]}×{mask.shape[1]}, {int(mask.sum())} set" + (
        f" (blocks of {block[0]}×{block[1]}, darkest {density.max():.0%} set)" if block != (1, 1) else "")
    return (_framed(_shade_index(density, relative=True), _shades(colour), title, subtitle, target),
            _block_note(title, mask.shape, block))


def _class_masks(m: int, n: int, classes: ClassTable) -> tuple[np.ndarray, np.ndarray]:
    """Row mask (m×c) and column mask (n×c) of the classes."""
    c = len(classes)
    xc = np.zeros((m, c), dtype=bool)
    yc = np.zeros((n, c), dtype=bool)
    xc[classes.rows, np.repeat(np.arange(c), np.diff(classes.row_ptr))] = True
    yc[classes.cols, np.repeat(np.arange(c), np.diff(classes.col_ptr))] = True
    return xc, yc


class ClassCover:
    """Which class covers each cell of the m×n grid (per entry, or per block of entries).

    ``cells[i, j]`` indexes :attr:`palette`: a class's colour (shaded by the covered fraction of a block), the
    overlap colour, or ``-1`` (uncovered). ``exact_overlap`` says whether overlaps were located entry by entry.
    """

    def __init__(self, cells: np.ndarray, block: tuple[int, int], exact_overlap: bool, overlapped: int | None,
                 label: np.ndarray | None, stripes: Sequence[tuple[int, int, Sequence[int]]] = ()) -> None:
        self.cells, self.block, self.exact_overlap, self.overlapped = cells, block, exact_overlap, overlapped
        #: per entry (block (1, 1) only): class index, -1 uncovered, -2 covered by two classes or more
        self.label = label
        #: per entry covered by several classes (block (1, 1) only): ``(i, j, classes covering it)``
        self.stripes = stripes

    palette: tuple[str, ...] = tuple(s for c in PALETTE for s in _shades(c)) + (OVERLAP, "#d0d0d0")
    overlap_index = len(PALETTE) * SHADES
    other_index = overlap_index + 1


def class_cover(pattern: SupportPattern, classification: Classification, max_cells: int = MAX_CELLS,
                exact_work: int = EXACT_COVER_WORK) -> ClassCover:
    """Colour every entry (or block of entries) of the m×n grid by the class of identical rank-one supports
    covering it; entries covered by two classes or more get the overlap colour.

    Exact entry by entry while ``m·n·classes ≤`` :data:`EXACT_COVER_WORK`; above, each block takes the
    colour of the class with most entries in it and overlaps are not located (the note says so).
    """
    m, n = pattern.m, pattern.n
    classes = classification.classes
    c = len(classes)
    bh, bw, hh, ww = _blocks(m, n, max_cells)
    cells = np.full((hh, ww), -1, dtype=np.int64)
    if c == 0:
        return ClassCover(cells, (bh, bw), True, 0, np.full((m, n), -1) if (bh, bw) == (1, 1) else None)
    xc, yc = _class_masks(m, n, classes)
    colour_of = (np.arange(c) % len(PALETTE)) * SHADES
    if m * n * c <= exact_work:
        xf = xc.astype(np.float32)
        cover = np.rint(xf @ yc.T.astype(np.float32)).astype(np.int64)
        ids = np.rint(xf @ (yc * np.arange(1, c + 1, dtype=np.float32)).T).astype(np.int64) - 1
        label = np.where(cover == 1, ids, np.where(cover == 0, -1, -2))
        overlapped = int((cover >= 2).sum())
        if (bh, bw) == (1, 1):
            cells = np.where(label >= 0, colour_of[np.maximum(label, 0)] + SHADES - 1,
                             np.where(label == -2, ClassCover.overlap_index, -1))
            stripes = [(i, j, np.flatnonzero(xc[i] & yc[j]).tolist()) for i, j in np.argwhere(label == -2).tolist()]
            return ClassCover(cells, (1, 1), True, overlapped, label, stripes)
        area = _block_area(m, n, bh, bw)
        covered = _block_sum(cover > 0, bh, bw) / area
        over = _block_sum(cover >= 2, bh, bw) / area
        single = np.flatnonzero(label.ravel() >= 0)
        rows, cols = np.divmod(single, n)
        block_of = (rows // bh) * ww + cols // bw
        keys, counts = np.unique(block_of * c + label.ravel()[single], return_counts=True)
        blocks, cls = np.divmod(keys, c)
        order = np.lexsort((-counts, blocks))  # per block, the class with most entries first
        first = np.r_[True, blocks[order][1:] != blocks[order][:-1]]
        flat = np.full(hh * ww, -1, dtype=np.int64)
        flat[blocks[order][first]] = cls[order][first]
        dominant = flat.reshape(hh, ww)
        shade = _shade_index(covered, relative=True)
        cells = np.where(dominant >= 0, colour_of[np.maximum(dominant, 0)] + np.maximum(shade, 0), -1)
        cells = np.where((over > 0) & (over >= 0.5 * covered), ClassCover.overlap_index, cells)
        return ClassCover(cells, (bh, bw), True, overlapped, None)
    # too large to locate overlaps: class mass per block from the binned rows and columns of each class
    rb = np.add.reduceat(xc.astype(np.float32), np.arange(0, m, bh), axis=0)
    cb = np.add.reduceat(yc.astype(np.float32), np.arange(0, n, bw), axis=0)
    best = np.zeros((hh, ww), dtype=np.float32)
    dominant = np.full((hh, ww), -1, dtype=np.int64)
    for start in range(0, c, 128):
        mass = np.einsum("ik,jk->kij", rb[:, start:start + 128], cb[:, start:start + 128])
        arg = mass.argmax(axis=0)
        top = np.take_along_axis(mass, arg[None], axis=0)[0]
        better = top > best
        best = np.where(better, top, best)
        dominant = np.where(better, arg + start, dominant)
    total = rb @ cb.T
    shade = _shade_index(np.minimum(1.0, total / _block_area(m, n, bh, bw)), relative=True)
    cells = np.where(dominant >= 0, colour_of[np.maximum(dominant, 0)] + np.maximum(shade, 0), -1)
    return ClassCover(cells, (bh, bw), False, None, None)


def supports_picture(pattern: SupportPattern, cover: ClassCover, num_classes: int,
                     target: float = 340) -> tuple[str, str | None]:
    """The rank-one supports on the m×n grid coloured by class, overlaps in the overlap colour."""
    block = cover.block
    sub = f"{pattern.m}×{pattern.n}, {num_classes} class{'es' * (num_classes != 1)}"
    if cover.overlapped is not None:
        sub += f", {cover.overlapped} entr{'ies' if cover.overlapped != 1 else 'y'} in two classes or more"
    if block != (1, 1):
        sub += f" (blocks of {block[0]}×{block[1]})"
    svg = _framed(cover.cells, cover.palette, "rank-one supports S_k by class", sub, target, cover.stripes)
    note = None
    if block != (1, 1):
        how = ("a block is black when at least half of its covered entries lie in two classes or more"
               if cover.exact_overlap else "overlaps are not located at this size (the class coverage of every "
               "entry would cost more than 2^30 operations)")
        note = (f"The supports picture ({pattern.m}×{pattern.n}) is drawn by blocks of {block[0]}×{block[1]} entries: "
                f"each block takes the colour of the class with most entries in it, shaded by coverage; {how}.")
    return svg, note


def class_panels(cover: ClassCover, classification: Classification) -> list[str]:
    """One small grid per class (patterns drawn entry by entry with at most :data:`MAX_PANELS` classes): the
    class's support in its colour, its entries shared with other classes black, other covered entries grey."""
    label = cover.label
    classes = classification.classes
    if label is None or len(classes) > MAX_PANELS or len(classes) == 0:
        return []
    m, n = label.shape
    out = []
    for c, cl in enumerate(classes):
        own = np.zeros((m, n), dtype=bool)
        own[np.ix_(list(cl.rows), list(cl.cols))] = True
        cells = np.where(label >= 0, ClassCover.other_index, -1)
        cells = np.where(label == -2, ClassCover.other_index, cells)
        cells = np.where(own & (label == c), (c % len(PALETTE)) * SHADES + SHADES - 1, cells)
        cells = np.where(own & (label == -2), ClassCover.overlap_index, cells)
        comps = ", ".join(map(str, cl.components))
        out.append(_framed(cells, cover.palette, f"class {c}", f"components {comps}", 140))
    return out


def class_edges(classification: Classification) -> list[tuple[int, int, str]]:
    """The overlapping pairs of classes ``(a, b, relation)``, relation ``"nested"`` or ``"partial"``."""
    ov = classification.overlaps
    classes = classification.classes
    area = classes.num_rows * classes.num_cols
    out = []
    for a, b, sr, sc in zip(ov.a.tolist(), ov.b.tolist(), ov.shared_rows.tolist(), ov.shared_cols.tolist(),
                            strict=True):
        shared = sr * sc
        out.append((int(a), int(b), "nested" if shared in (int(area[a]), int(area[b])) else "partial"))
    return out


def support_graph_picture(classification: Classification) -> tuple[str | None, str | None]:
    """The support graph on classes (nodes coloured like the supports picture, edges by relation), laid out by
    networkx's spring layout with a fixed seed; ``(None, note)`` when it has more than :data:`MAX_GRAPH_NODES`
    nodes or :data:`MAX_GRAPH_EDGES` edges."""
    nodes = len(classification.classes)
    edges = int(len(classification.overlaps.a))
    if nodes > MAX_GRAPH_NODES or edges > MAX_GRAPH_EDGES:
        return None, (f"The support graph has {nodes} nodes and {edges} edges between classes (drawn up to "
                      f"{MAX_GRAPH_NODES} nodes and {MAX_GRAPH_EDGES} edges): its counts are given instead.")
    import networkx as nx

    pairs = class_edges(classification)
    g = nx.Graph()
    g.add_nodes_from(range(nodes))
    g.add_edges_from((a, b) for a, b, _ in pairs)
    pos = nx.spring_layout(g, seed=7) if nodes > 1 else {0: np.zeros(2)} if nodes else {}
    positions = [(round(float(pos[u][0]), 4), round(float(pos[u][1]), 4)) for u in range(nodes)]
    colours = [class_colour(u) for u in range(nodes)]
    labels = [str(u) for u in range(nodes)]
    picture = graph_picture(positions, pairs, colours, labels, title="support graph on classes",
                            edge_colours={"nested": "#444444", "partial": "#d62728"},
                            size=240 if nodes <= 6 else 340 if nodes <= 40 else 480)
    return picture, None


def laurent_text(poly: Sequence[tuple[int, Fraction]]) -> str:
    """A Laurent polynomial for people: ``((-1, 1), (0, -2))`` is ``ε^-1 - 2``.

    >>> laurent_text(((-1, Fraction(1)), (0, Fraction(-2))))
    'ε^-1 - 2'
    """
    if not poly:
        return "0"
    out = ""
    for e, c in poly:
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        coef = "" if mag == 1 and e != 0 else str(mag)
        term = coef + ("" if e == 0 else ("·" if coef else "") + ("ε" if e == 1 else f"ε^{e}"))
        out += (f"-{term}" if sign == "-" else term) if not out else f" {sign} {term}"
    return out


def _eval(poly: Sequence[tuple[int, Fraction]], eps: np.ndarray) -> np.ndarray:
    out = np.zeros_like(eps)
    for e, c in poly:
        out = out + float(c) * eps ** e
    return out


def _product(cert: NotClosedCertificate) -> dict[tuple[int, int], tuple[tuple[int, Fraction], ...]]:
    """The entries of X(ε)Y(ε)ᵀ reached by the curve, as exact Laurent polynomials."""
    xs: dict[int, list[tuple[int, Any]]] = {}
    ys: dict[int, list[tuple[int, Any]]] = {}
    for (i, k), p in cert.x_curve.items():
        xs.setdefault(k, []).append((i, p))
    for (j, k), p in cert.y_curve.items():
        ys.setdefault(k, []).append((j, p))
    acc: dict[tuple[int, int], dict[int, Fraction]] = {}
    for k in sorted(set(xs) & set(ys)):
        for i, px in xs[k]:
            for j, py in ys[k]:
                terms = acc.setdefault((i, j), {})
                for e1, c1 in px:
                    for e2, c2 in py:
                        terms[e1 + e2] = terms.get(e1 + e2, Fraction(0)) + c1 * c2
    return {key: tuple(sorted((e, c) for e, c in t.items() if c != 0)) for key, t in sorted(acc.items())}


def curve_pictures(cert: NotClosedCertificate) -> tuple[list[str], list[tuple[str, str]], str | None]:
    """Two charts of a not-closed certificate's curve, evaluated at :data:`EPSILONS` from its exact Laurent
    polynomials: the entries of X(ε)Y(ε)ᵀ against ε (each tends to its entry of A*), and the Frobenius norms
    ‖X(ε)‖, ‖Y(ε)‖ (and ‖X(ε)Y(ε)ᵀ‖) on log axes. Also the product entries as text ``(entry, formula)`` and a
    note when entries were left out of the chart."""
    eps = np.array(EPSILONS)
    product = _product(cert)
    chosen = sorted(product, key=lambda key: (cert.limit.value(*key) == 0, key))
    series = []
    for t, (i, j) in enumerate(chosen[:MAX_CURVES]):
        limit = cert.limit.value(i, j)
        series.append(Series(f"({i},{j}) → {limit}", eps, _eval(product[i, j], eps), PALETTE[t % len(PALETTE)]))
    entries_chart = line_chart(series, title="entries of X(ε)Y(ε)ᵀ → A*", xlabel="ε (log scale)",
                               ylabel="entry value", xlog=True)

    def frob(curve: Mapping[tuple[int, int], Any]) -> np.ndarray:
        return np.sqrt(sum((_eval(p, eps) ** 2 for p in curve.values()), np.zeros_like(eps)))

    norms = [Series("‖X(ε)‖_F", eps, frob(cert.x_curve), "#d62728"),
             Series("‖Y(ε)‖_F", eps, frob(cert.y_curve), "#1f77b4"),
             Series("‖X(ε)Y(ε)ᵀ‖_F", eps, frob(product), "#2ca02c", dashed=True)]
    norms_chart = line_chart(norms, title="the factors blow up while the product converges", xlabel="ε (log scale)",
                             ylabel="Frobenius norm (log scale)", xlog=True, ylog=True)
    texts = [(f"(X Yᵀ)[{i},{j}]", laurent_text(product[i, j])) for i, j in chosen[:24]]
    note = None
    if len(chosen) > MAX_CURVES:
        note = (f"The curve reaches {len(chosen)} entries of the product; the chart draws {MAX_CURVES} of them "
                "(the nonzero entries of A* first) and the formulas list " + f"{min(24, len(chosen))}.")
    return [entries_chart, norms_chart], texts, note


def _ks_density(pattern: KSPattern, max_cells: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Block densities of a Kronecker-sparse pattern from its index arrays (no dense mask)."""
    h, w = pattern.shape
    bh, bw, hh, ww = _blocks(h, w, max_cells)
    rows, cols = pattern.indices()
    counts = np.bincount(((rows // bh) * ww + cols // bw).ravel(), minlength=hh * ww).reshape(hh, ww)
    return counts / _block_area(h, w, bh, bw), (bh, bw)


def chain_picture(patterns: Sequence[KSPattern], max_cells: int = 48, max_factors: int = 16) -> str:
    """The supports of a chain's factors side by side (small grids, density per block)."""
    panels = []
    for t, p in enumerate(patterns[:max_factors]):
        density, block = _ks_density(p, max_cells)
        sub = f"{p.shape[0]}×{p.shape[1]} ({p.a},{p.b},{p.c},{p.d})"
        panels.append(_framed(_shade_index(density, relative=True), _shades("#1f3b73"), f"F{t + 1}", sub, 120))
    if len(patterns) > max_factors:
        svg = Svg(160, 60, "more factors")
        svg.text(6, 30, f"… {len(patterns) - max_factors} more factors", 11)
        panels.append(svg.render())
    return hstack(panels)


def _size(svg: str) -> tuple[float, float]:
    head = svg[:300]
    w = float(head.split('width="', 1)[1].split('"', 1)[0])
    h = float(head.split('height="', 1)[1].split('"', 1)[0])
    return w, h


def hstack(svgs: Sequence[str], gap: float = 10, title: str = "") -> str:
    """SVG pictures side by side in one SVG (each nested at its offset)."""
    sizes = [_size(s) for s in svgs]
    width = sum(w for w, _ in sizes) + gap * max(0, len(svgs) - 1)
    height = max((h for _, h in sizes), default=0)
    out = Svg(width, height, title)
    x = 0.0
    for s, (w, _) in zip(svgs, sizes, strict=True):
        out.parts.append(s.replace("<svg ", f'<svg x="{x:.2f}" y="0" ', 1))
        x += w + gap
    return out.render()


def pattern_figure(pattern: SupportPattern, classification: Classification | None, max_cells: int = 64,
                   exact_work: int = 2**26) -> tuple[str, list[str]]:
    """Masks I and J and (given the classification) the supports coloured by class, side by side, on grids of at
    most ``max_cells`` cells a side (a notebook display: cheap for any size); and the summary notes."""
    notes = []
    pics = []
    for mask, title in ((pattern.x_support, "I (mask of X)"), (pattern.y_support, "J (mask of Y)")):
        svg, note = mask_picture(mask, title, max_cells=max_cells, target=200)
        pics.append(svg)
        notes += [note] if note else []
    if classification is not None:
        cover = class_cover(pattern, classification, max_cells, exact_work)
        svg, note = supports_picture(pattern, cover, len(classification.classes), target=260)
        pics.append(svg)
        notes += [note] if note else []
    return hstack(pics, 16, pattern.name or "support pattern"), notes



def listed_classes_picture(m: int, n: int, classes: Sequence[Mapping[str, Any]], max_cells: int = MAX_CELLS
                           ) -> str | None:
    """The supports picture from listed classes (``{"rows": [...], "cols": [...]}`` as in an analysis record), or
    ``None`` when the grid is larger than ``max_cells`` a side or a list was cut (the picture would be partial)."""
    if m > max_cells or n > max_cells or any(k.endswith("_total") for c in classes for k in c):
        return None
    cover = np.zeros((m, n), dtype=np.int64)
    label = np.full((m, n), -1, dtype=np.int64)
    for c, cl in enumerate(classes):
        rows, cols = list(cl["rows"]), list(cl["cols"])
        cover[np.ix_(rows, cols)] += 1
        label[np.ix_(rows, cols)] = c
    label = np.where(cover >= 2, -2, label)
    colour_of = (np.arange(max(1, len(classes))) % len(PALETTE)) * SHADES + SHADES - 1
    cells = np.where(label >= 0, colour_of[np.maximum(label, 0)], np.where(label == -2, ClassCover.overlap_index, -1))
    stripes = [(i, j, [c for c, cl in enumerate(classes) if i in cl["rows"] and j in cl["cols"]])
               for i, j in np.argwhere(label == -2).tolist()]
    sub = f"{m}×{n}, {len(classes)} class{'es' * (len(classes) != 1)}"
    return _framed(cells, ClassCover.palette, "rank-one supports S_k by class", sub, 220, stripes)


#: A notebook display classifies a pattern (for its class colours) up to this many free entries.
DISPLAY_CLASSIFY_ENTRIES = 2_000_000


def pattern_svg(pattern: SupportPattern) -> str:
    """The notebook display of a pattern: :func:`pattern_figure` at most 64 cells a side, classes coloured when
    the pattern has at most :data:`DISPLAY_CLASSIFY_ENTRIES` free entries (else the masks only)."""
    from ..classify import classify

    cls = classify(pattern) if pattern.num_free_entries() <= DISPLAY_CLASSIFY_ENTRIES else None
    return pattern_figure(pattern, cls)[0]
