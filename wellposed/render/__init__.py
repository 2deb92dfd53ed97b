"""Pictures and pages: the SVG drawings and the HTML report of a pattern, its verdicts and its certificate.

:mod:`~wellposed.render.svg` holds the drawing primitives (escaped, deterministic SVG strings),
:mod:`~wellposed.render.pictures` the pictures (masks, supports by class, support graph, certificate curves,
factor chains) and :mod:`~wellposed.render.page` the HTML report of ``wellposed report`` and the notebook
displays. No matplotlib: a picture is a string.
"""

from .page import SECTIONS, analysis_html, report_html, verdict_table
from .pictures import MAX_CELLS, MAX_GRAPH_EDGES, MAX_GRAPH_NODES, chain_picture, pattern_figure, pattern_svg

__all__ = ["report_html", "analysis_html", "verdict_table", "pattern_figure", "pattern_svg", "chain_picture",
           "SECTIONS", "MAX_CELLS", "MAX_GRAPH_NODES", "MAX_GRAPH_EDGES"]
