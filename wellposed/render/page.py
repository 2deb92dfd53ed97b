"""The HTML report of one pattern and the rich displays of notebooks (HTML fragments around the SVG pictures).

:func:`report_html` is the page of ``wellposed report``: self-contained (inline CSS and SVG, no script, no
network), deterministic (the analysis' timings are left out), bounded in size for any pattern (grids of at
most :data:`~wellposed.render.pictures.MAX_CELLS` cells a side; the graph as a table when too large). It
renders what :func:`wellposed.analysis.analyze` returned and recomputes no verdict.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .pictures import (
    MAX_GRAPH_EDGES,
    MAX_GRAPH_NODES,
    class_cover,
    class_panels,
    curve_pictures,
    mask_picture,
    support_graph_picture,
    supports_picture,
)
from .svg import esc

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import Analysis
    from ..classify import Classification
    from ..support import SupportPattern

__all__ = ["report_html", "analysis_html", "verdict_table", "SECTIONS"]

#: The ``id`` of each section of the report, in page order (the certificate section only for a not-closed verdict).
SECTIONS = ("summary", "verdicts", "masks", "supports", "graph", "certificate", "notes")

_CSS = """
body{font-family:sans-serif;margin:24px;max-width:1180px;color:#1a1a1a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:26px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;
vertical-align:top;font-size:13px}th{background:#f2f2f2}
.row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}.muted{color:#555;font-size:13px}
pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.yes{color:#1b7a1b;font-weight:bold}.no{color:#b21f1f;font-weight:bold}.undecided{color:#a36a00;font-weight:bold}
code{font-size:12px}
"""

_VOLATILE = ("seconds", "time")


def _stable(value: Any) -> Any:
    """``value`` without its timing fields (keys containing ``seconds`` or ``time``), so the page is deterministic."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not any(word in str(k) for word in _VOLATILE)}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    return value


def _closed_word(a: Analysis) -> tuple[str, str]:
    if a.closed_method is None:
        return "not computed", "undecided"
    return {True: ("closed", "yes"), False: ("not closed", "no"), None: ("undecided", "undecided")}[a.closed]


def verdict_table(a: Analysis) -> str:
    """The two verdicts with their method and evidence, as an HTML table."""
    tractable = ("tractable", "yes") if a.tractable else ("not tractable", "no")
    closed = _closed_word(a)
    rows = [
        ("tractable", tractable, a.tractable_method, a.tractable_reason),
        ("closed (well-posed)", closed, a.closed_method or "—", a.closed_reason),
    ]
    body = "".join(f'<tr><th>{esc(q)}</th><td class="{cls}">{esc(word)}</td><td><code>{esc(method)}</code></td>'
                   f"<td>{esc(reason)}</td></tr>" for q, (word, cls), method, reason in rows)
    return ("<table><tr><th>question</th><th>verdict</th><th>method</th><th>evidence</th></tr>"
            f"{body}</table>")


def _facts(a: Analysis) -> str:
    g = a.graph
    rel = g.get("edges_by_relation", {})
    items = [("A", f"{a.m}×{a.n}"), ("components r", a.r), ("free entries |I|+|J|", a.free_entries),
             ("classes of identical S_k", f"{a.num_classes} ({a.num_complete_classes} complete)"),
             ("support graph (nodes = components)",
              f"{g.get('nodes')} nodes, {g.get('edges')} edges (identical {rel.get('identical')}, nested "
              f"{rel.get('nested')}, partial {rel.get('partial')}), {g.get('connected_components')} connected "
              "component(s)"),
             ("DTO / relaxed condition", f"{a.dto} / {a.relaxed}")]
    if a.failing_pair is not None:
        items.append(("failing pair of components", str(list(a.failing_pair))))
    if a.empty_components:
        items.append(("empty components (ignored)", str(list(a.empty_components))))
    if a.canonical_key_sha256:
        items.append(("canonical key (SHA-256)", a.canonical_key_sha256))
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items) + "</table>"


def _evidence(a: Analysis) -> str:
    parts = []
    details = _stable(a.details) if a.details else None
    if details:  # nothing left once the timings are taken out: no empty box
        parts.append("<p class=\"muted\">details of the closedness verdict</p>"
                     f"<pre>{esc(json.dumps(details, ensure_ascii=False))}</pre>")
    if a.parts:
        rows = "".join(f"<tr><td>{t}</td><td><pre>{esc(json.dumps(_stable(p), ensure_ascii=False))}</pre></td></tr>"
                       for t, p in enumerate(a.parts))
        more = f" (first {len(a.parts)} of {a.parts_total})" if a.parts_total else ""
        parts.append(f"<p class=\"muted\">parts decided one by one{more}</p><table><tr><th>part</th>"
                     f"<th>verdict</th></tr>{rows}</table>")
    if a.expected:
        parts.append(f"<p class=\"muted\">expected (from the case file)</p><pre>{esc(json.dumps(a.expected))}</pre>")
    return "".join(parts)


def analysis_html(a: Analysis) -> str:
    """An HTML fragment for a notebook: the title, the verdict table, the supports picture (when every class is
    listed and the grid is at most 128 cells a side), the facts and the evidence."""
    from .pictures import listed_classes_picture

    title = esc(a.name or "pattern")
    picture = listed_classes_picture(a.m, a.n, list(a.classes)) if a.classes_total is None and a.classes else None
    figure = f"<div>{picture}</div>" if picture else ""
    return (f"<div><h3>{title}</h3><p>{esc(a.description)}</p>{verdict_table(a)}{figure}{_facts(a)}"
            f"{_evidence(a)}</div>")


def _certificate_section(pattern: SupportPattern, a: Analysis) -> tuple[str, list[str]]:
    from ..closedness.certificates import NotClosedCertificate

    if a.certificate is None:
        return "", []
    cert = NotClosedCertificate.from_json(pattern, a.certificate)
    charts, texts, note = curve_pictures(cert)
    proof = json.dumps(cert.proof, ensure_ascii=False)
    x_rows = sorted(cert.x_curve.items())
    y_rows = sorted(cert.y_curve.items())
    from .pictures import laurent_text

    def curve_table(name: str, rows: list[Any]) -> str:
        body = "".join(f"<tr><td>{name}[{i},{k}]</td><td><code>{esc(laurent_text(p))}</code></td></tr>"
                       for (i, k), p in rows[:24])
        more = f"<tr><td colspan=\"2\">… {len(rows) - 24} more</td></tr>" if len(rows) > 24 else ""
        return f"<table><tr><th>entry</th><th>curve</th></tr>{body}{more}</table>"

    product = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(v)}</code></td></tr>" for k, v in texts)
    html = (f'<section id="certificate"><h2>Certificate of non-closedness</h2>'
            f"<p>A* = <code>{esc(cert.limit_text())}</code> is the limit of the curve below as ε → 0 and is not "
            f"in P: proof <code>{esc(proof)}</code>, found by <code>{esc(cert.found_by)}</code>; the factors grow "
            f"like ε^-{cert.max_blowup()}. The curves are the certificate's exact Laurent polynomials evaluated at "
            "61 values of ε from 1e-3 to 1.</p>"
            f'<div class="row">{"".join(charts)}</div>'
            f'<div class="row"><div><p class="muted">X(ε)</p>{curve_table("X", x_rows)}</div>'
            f'<div><p class="muted">Y(ε)</p>{curve_table("Y", y_rows)}</div>'
            f'<div><p class="muted">X(ε)Y(ε)ᵀ, exactly</p><table><tr><th>entry</th><th>value</th></tr>{product}'
            "</table></div></div></section>")
    return html, [note] if note else []


def _graph_section(a: Analysis, classification: Classification) -> tuple[str, list[str]]:
    picture, note = support_graph_picture(classification)
    g = a.graph
    if picture is not None:
        k = len(classification.classes)
        nodes = "the one class" if k == 1 else f"the {k} classes"
        body = (f'<div class="row">{picture}<p class="muted">nodes: {nodes} of '
                "identical rank-one supports, coloured as in the supports picture; edges: pairs of classes whose "
                "supports overlap (grey: one inside the other, red: partial overlap). Layout: spring layout with a "
                "fixed seed.</p></div>")
    else:
        sizes = g.get("component_sizes", [])
        rel = g.get("edges_by_relation", {})
        rows = [("classes (nodes of this graph)", len(classification.classes)),
                ("overlapping pairs of classes (edges)", len(classification.overlaps.a)),
                ("components / edges between components", f"{g.get('nodes')} / {g.get('edges')}"),
                ("edges by relation", f"identical {rel.get('identical')}, nested {rel.get('nested')}, partial "
                 f"{rel.get('partial')}"),
                ("connected components", g.get("connected_components")),
                ("largest connected components (sizes)", ", ".join(map(str, sorted(sizes, reverse=True)[:10])) or "—")]
        body = ("<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows) + "</table>"
                f"<p class=\"muted\">drawn up to {MAX_GRAPH_NODES} nodes and {MAX_GRAPH_EDGES} edges</p>")
    return f'<section id="graph"><h2>Support graph</h2>{body}</section>', [note] if note else []


def report_html(pattern: SupportPattern, analysis: Analysis, classification: Classification,
                version: str = "") -> str:
    """The report page of ``pattern``: masks, supports by class, support graph, verdicts with evidence and, for a
    not-closed verdict, the certificate's curve. ``analysis`` is what :func:`wellposed.analysis.analyze` returned
    for it and ``classification`` what :func:`wellposed.classify.classify` did (both are drawn, not recomputed).
    """
    a = analysis
    notes: list[str] = []
    title = a.name or pattern.name or "support pattern"
    masks = []
    for mask, name, colour in ((pattern.x_support, "I (mask of X, m×r)", "#1f3b73"),
                               (pattern.y_support, "J (mask of Y, n×r)", "#6b2c7a")):
        svg, note = mask_picture(mask, name, colour)
        masks.append(svg)
        notes += [note] if note else []
    cover = class_cover(pattern, classification)
    supports, note = supports_picture(pattern, cover, len(classification.classes))
    notes += [note] if note else []
    panels = class_panels(cover, classification)
    if not panels and len(classification.classes) > 0:
        notes.append(f"One panel per class is drawn for patterns drawn entry by entry with at most 16 classes; this "
                     f"one has {len(classification.classes)} classes on a {pattern.m}×{pattern.n} grid.")
    graph, graph_notes = _graph_section(a, classification)
    cert, cert_notes = _certificate_section(pattern, a) if a.closed is False else ("", [])
    notes += graph_notes + cert_notes
    legend = "".join(f'<tr><td>{c}</td><td><span style="color:{_colour(c)}">■</span></td><td>'
                     f"{esc(', '.join(map(str, cl.components)))}</td><td>{len(cl.rows)}×{len(cl.cols)}</td>"
                     f"<td>{'yes' if cl.complete else 'no'}</td></tr>"
                     for c, cl in enumerate(classification.classes[:24]))
    more = len(classification.classes) - 24
    legend_more = f"<tr><td colspan=\"5\">… {more} more classes</td></tr>" if more > 0 else ""
    notes_html = ("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else \
        "<p>Nothing was summarised: every entry and every class is drawn.</p>"
    footer = f"wellposed {esc(version)}" if version else "wellposed"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)} — wellposed report</title><style>{_CSS}</style></head><body>"
        f'<section id="summary"><h1>{esc(title)}</h1><p>{esc(a.description)}</p>'
        "<p class=\"muted\">Convention: A ≈ X Yᵀ, X is m×r with mask I, Y is n×r with mask J; component k has the "
        "rank-one support S_k = I_k × J_k.</p>"
        f"{_facts(a)}</section>"
        f'<section id="verdicts"><h2>Verdicts</h2>{verdict_table(a)}{_evidence(a)}</section>'
        f'<section id="masks"><h2>Masks I and J</h2><div class="row">{"".join(masks)}</div></section>'
        f'<section id="supports"><h2>Rank-one supports by class</h2><div class="row">{supports}'
        f"<table><tr><th>class</th><th>colour</th><th>components</th><th>support</th><th>complete</th></tr>"
        f"{legend}{legend_more}</table></div>"
        + "<p class=\"muted\">Each entry takes the colour of the class covering it; an entry covered by several "
        "classes is split into stripes of their colours (outlined), or drawn black when the cells are too small "
        "for stripes. In the panels, a class's entries shared with another class are black, other covered "
        "entries grey.</p>"
        + (f'<div class="row">{"".join(panels)}</div>' if panels else "")
        + f"</section>{graph}{cert}"
        f'<section id="notes"><h2>What was summarised</h2>{notes_html}</section>'
        f'<p class="muted">{footer}</p></body></html>\n'
    )


def _colour(c: int) -> str:
    from .pictures import class_colour

    return class_colour(c)
