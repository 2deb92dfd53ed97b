"""The rank-one support graph: a node per component, an edge per pair of overlapping supports.

Edges carry ``relation`` (``"identical"``, ``"nested"`` or ``"partial"``) and ``overlap`` (number of
shared entries ``|S_k ∩ S_l|``). Its connected components split FSMF and closedness into independent
sub-problems (a direct sum).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .classify import Classification, classify
from .errors import InvalidSpecError
from .io.outputs import atomic_output
from .memory import check_memory
from .support import SupportPattern

__all__ = ["support_graph", "graph_summary", "connected_parts", "export_graph", "draw_pattern", "GRAPH_SUFFIXES",
           "PICTURE_SUFFIXES"]

#: File extensions :func:`export_graph` writes (GraphML, node-link JSON).
GRAPH_SUFFIXES = (".graphml", ".json")
#: File extensions :func:`draw_pattern` writes.
PICTURE_SUFFIXES = (".png", ".svg", ".pdf")
#: Approximate bytes of one edge (with its attributes) in a networkx graph, measured with tracemalloc.
_EDGE_BYTES = 320
#: Approximate peak bytes per edge while a graph is serialized, by format (measured with tracemalloc).
_EXPORT_EDGE_BYTES = {".graphml": 1600, ".json": 1100}
#: Approximate bytes per drawn mask entry in a matplotlib figure (the mask, its float copy, the image).
_PIXEL_BYTES = 16


def support_graph(pattern: SupportPattern, classification: Classification | None = None) -> nx.Graph:
    """Build the rank-one support graph of ``pattern`` (empty components are left out).

    Examples
    --------
    >>> from wellposed.families import family
    >>> g = support_graph(family("lu:3"))
    >>> sorted(g.edges(data="relation"))
    [(0, 1, 'nested'), (0, 2, 'nested'), (1, 2, 'nested')]
    >>> g.edges[0, 1]["overlap"]
    4

    Notes
    -----
    Built from :func:`~wellposed.classify.classify`'s overlapping pairs of classes (sparse Gram products),
    then one edge per pair of overlapping components: memory follows the number of edges, checked first.
    """
    cls = classification if classification is not None else classify(pattern)
    g = nx.Graph(name=pattern.name or "pattern", m=pattern.m, n=pattern.n, r=pattern.r)
    summary = cls.graph_summary()
    edges = int(summary["edges"])
    label = f"pattern {pattern.name!r}" if pattern.name else "the pattern"
    check_memory(_EDGE_BYTES * edges + 16 * 8 * edges, f"the {edges} edges of its rank-one support graph",
                 f"{label} (r = {pattern.r} components)", "Analyze a pattern with fewer overlapping components")
    for idx, c in enumerate(cls.classes):
        for k in c.components:
            g.add_node(k, rows=",".join(map(str, c.rows)), cols=",".join(map(str, c.cols)),
                       size=len(c.rows) * len(c.cols), class_id=idx, complete=c.complete)
        g.add_edges_from(((k, l) for a, k in enumerate(c.components) for l in c.components[a + 1:]),
                         relation="identical", overlap=len(c.rows) * len(c.cols))
    ov = cls.overlaps
    for a, b, sr, sc in zip(ov.a.tolist(), ov.b.tolist(), ov.shared_rows.tolist(), ov.shared_cols.tolist(),
                            strict=True):
        ca, cb = cls.classes[a], cls.classes[b]
        shared = sr * sc
        nested = shared in (len(ca.rows) * len(ca.cols), len(cb.rows) * len(cb.cols))
        relation = "nested" if nested else "partial"
        g.add_edges_from(((k, l) for k in ca.components for l in cb.components), relation=relation, overlap=shared)
    return g


def connected_parts(pattern: SupportPattern) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """Independent sub-problems: ``[(rows, cols, components)]`` per connected component of the graph.

    Rows and columns are those of the union of the parts' supports; rows/columns covered by no
    component are omitted (the entries there are forced to zero).

    >>> from wellposed.families import family
    >>> connected_parts(family("diag:2"))
    [((0,), (0,), (0,)), ((1,), (1,), (1,))]
    """
    g = support_graph(pattern)
    parts = []
    for comp in nx.connected_components(g):
        comps = tuple(sorted(int(k) for k in comp))
        rows = tuple(int(i) for i in np.flatnonzero(pattern.x_support[:, list(comps)].any(axis=1)))
        cols = tuple(int(j) for j in np.flatnonzero(pattern.y_support[:, list(comps)].any(axis=1)))
        parts.append((rows, cols, comps))
    parts.sort(key=lambda t: t[2])
    return parts


def graph_summary(g: nx.Graph) -> dict[str, Any]:
    """Counts of nodes, edges by relation, and connected components."""
    rel: dict[str, int] = {"identical": 0, "nested": 0, "partial": 0}
    for _, _, data in g.edges(data=True):
        rel[data["relation"]] += 1
    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: c[0]) if len(g) else []
    return {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "edges_by_relation": rel,
        "connected_components": len(comps),
        "component_sizes": [len(c) for c in comps],
    }


def export_graph(g: nx.Graph, path: str | Path, parameter: str = "graph path") -> Path:
    """Write the graph as GraphML (``.graphml``) or node-link JSON (``.json``), atomically.

    The file is written to a temporary file and renamed, so a failed write leaves nothing behind;
    ``parameter`` names ``path`` in error messages (e.g. ``--graph``).

    Raises
    ------
    InvalidSpecError
        The extension is neither ``.graphml`` nor ``.json``.
    OutputError
        The file cannot be written (the message says why and what to do).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from wellposed.families import family
    >>> out = export_graph(support_graph(family("lu:2")), pathlib.Path(tempfile.mkdtemp()) / "g.json")
    >>> out.suffix, sorted(p.name for p in out.parent.iterdir())
    ('.json', ['g.json'])
    """
    out = Path(path)
    if out.suffix.lower() not in GRAPH_SUFFIXES:
        raise InvalidSpecError(f"{parameter} = {str(path)!r}: use a .graphml or .json extension.")
    edges = g.number_of_edges()
    check_memory(_EXPORT_EDGE_BYTES[out.suffix.lower()] * edges, f"writing the {edges} edges of the graph",
                 f"{parameter} = {str(path)!r}", "Export the graph of a smaller pattern")
    with atomic_output(out, parameter) as tmp:
        if out.suffix.lower() == ".graphml":
            nx.write_graphml(g, tmp)
        else:
            tmp.write_text(json.dumps(nx.node_link_data(g, edges="links"), indent=1), encoding="utf-8")
    return out


def draw_pattern(pattern: SupportPattern, path: str | Path, max_components: int = 12,
                 parameter: str = "picture path") -> Path:
    """Save a picture of the masks I, J and of the rank-one supports S_k (PNG/SVG/PDF by extension).

    Works without a display (Agg backend). At most ``max_components`` supports are drawn. The file is
    written atomically (temporary file and rename); ``parameter`` names ``path`` in error messages.
    """
    out = Path(path)
    if out.suffix.lower() not in PICTURE_SUFFIXES:
        raise InvalidSpecError(f"{parameter} = {str(path)!r}: use a .png, .svg or .pdf extension.")
    live = np.flatnonzero(~pattern.empty_components())[:max_components]
    pixels = (pattern.m + pattern.n) * pattern.r + len(live) * pattern.m * pattern.n
    label = f"pattern {pattern.name!r}" if pattern.name else "the pattern"
    check_memory(_PIXEL_BYTES * pixels, f"drawing {2 + len(live)} mask panels ({pixels} entries)",
                 f"{label} ({pattern.m}×{pattern.n}, r = {pattern.r})", "Draw a smaller pattern")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ncols = 2 + len(live)
    fig, axes = plt.subplots(1, ncols, figsize=(1.6 * ncols + 1, 2.2), squeeze=False)
    try:
        ax = axes[0]
        panels = [("I (x_support)", pattern.x_support), ("J (y_support)", pattern.y_support)]
        panels += [(f"S_{k}", pattern.support_mask(int(k))) for k in live]
        for a, (title, mask) in zip(ax, panels, strict=True):
            a.imshow(mask, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            a.set_title(title, fontsize=8)
            a.set_xticks([])
            a.set_yticks([])
        fig.suptitle(pattern.name or "support pattern", fontsize=9)
        fig.tight_layout()
        with atomic_output(out, parameter) as tmp:
            fig.savefig(tmp, dpi=110, format=out.suffix.lower()[1:])
    finally:
        plt.close(fig)
    return out
